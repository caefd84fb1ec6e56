//! Kernel modules the proxy mode and the CNI need.

use crate::diagnose::Check;

mod ipvs_modules;

pub const CHECKS: &[Check] = &[ipvs_modules::CHECK];
