//! Kernel modules the proxy mode and the CNI need.

use crate::diagnose::Check;

mod ipset_unavailable;
mod iptables_restore_failing;
mod ipvs_built_in;
mod ipvs_modules;
mod ipvs_scheduler_module;
mod kube_proxy_facts;
mod kube_proxy_modprobe;

pub const CHECKS: &[Check] = &[
    ipvs_modules::CHECK,
    ipvs_built_in::CHECK,
    ipvs_scheduler_module::CHECK,
    kube_proxy_modprobe::CHECK,
    ipset_unavailable::CHECK,
    iptables_restore_failing::CHECK,
];
