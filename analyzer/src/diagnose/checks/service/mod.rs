//! Services, endpoints and pods.

use crate::diagnose::Check;

mod endpoints_not_ready;
mod etp_local;
mod no_endpoints;
mod nodeport_range;
mod service_facts;
mod target_port;

pub const CHECKS: &[Check] = &[
    no_endpoints::CHECK,
    endpoints_not_ready::CHECK,
    target_port::CHECK,
    etp_local::CHECK,
    nodeport_range::CHECK,
];
