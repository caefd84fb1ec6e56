//! kube-proxy: running, configured, and what it programmed against what it should have.

use crate::diagnose::Check;

mod ipvs_real_servers;
mod ipvs_virtual_servers;
mod kube_ipvs0;

pub const CHECKS: &[Check] = &[
    ipvs_virtual_servers::CHECK,
    ipvs_real_servers::CHECK,
    kube_ipvs0::CHECK,
];
