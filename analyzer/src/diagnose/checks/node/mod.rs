//! Node sysctls, conntrack and host firewall.

use crate::diagnose::Check;

pub const CHECKS: &[Check] = &[];
