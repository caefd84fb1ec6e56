//! What the kernel-layer checks read about kube-proxy — its version (behaviour around kernel
//! modules changed in v1.17, v1.26 and v1.27) and its log lines on this node — comes from the
//! proxy layer's helpers, so both layers read kube-proxy the same way.

pub use crate::diagnose::checks::proxy::kube_proxy::{log_evidence, log_lines, no_log_lines};
pub use crate::diagnose::checks::proxy::versions::{kube_proxy_version, Version};
