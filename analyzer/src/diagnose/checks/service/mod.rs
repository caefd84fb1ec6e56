//! Services, endpoints and pods.

use crate::diagnose::Check;

pub const CHECKS: &[Check] = &[];
