//! CNI and overlay: tunnels, routes, MTU, addresses.

use crate::diagnose::Check;

mod calico_ipip;
mod tunl0_stale;
// CNI checks (C29-C31, C33, C36-C39) and their shared evidence helpers.
mod calico_autodetect;
mod calico_bgp;
mod calico_nodeport_range;
mod cilium_kpr;
mod cni_evidence;
mod flannel_iface;
mod flannel_lease;
mod flannel_masq;
mod networkmanager;
mod vxlan_offload;
// C32, C34, C35, C40.
mod calico_vxlan_device;
mod cidr_mismatch;
mod cidr_overlap;
mod mtu_mismatch;

pub const CHECKS: &[Check] = &[
    calico_ipip::CHECK,
    tunl0_stale::CHECK,
    calico_autodetect::CHECK,
    calico_bgp::CHECK,
    vxlan_offload::CHECK,
    networkmanager::CHECK,
    calico_nodeport_range::CHECK,
    flannel_iface::CHECK,
    flannel_masq::CHECK,
    cilium_kpr::CHECK,
    mtu_mismatch::CHECK,
    calico_vxlan_device::CHECK,
    cidr_overlap::CHECK,
    cidr_mismatch::CHECK,
    flannel_lease::CHECK,
];
