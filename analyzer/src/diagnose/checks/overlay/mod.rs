//! CNI and overlay: tunnels, routes, MTU, addresses.

use crate::diagnose::Check;

mod calico_ipip;
mod tunl0_stale;

pub const CHECKS: &[Check] = &[calico_ipip::CHECK, tunl0_stale::CHECK];
