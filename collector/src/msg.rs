//! User-facing reasons recorded in the manifest and progress lines, kept together (they are
//! read by people, and may be translated).

use std::time::Duration;

pub const GLOBAL_DEADLINE: &str = "the global deadline (--deadline) ran out";
pub const GLOBAL_DEADLINE_BEFORE: &str =
    "not collected: the global deadline (--deadline) ran out before this probe started";
pub const THREAD_FAILED: &str = "could not start the probe thread";
pub const NOT_REPORTED: &str = "the probe finished without reporting this artifact (collector bug)";
pub const NOT_SELECTED: &str = "not selected (--only)";

pub fn budget_exceeded(probe: &str, budget: Duration) -> String {
    format!(
        "probe {probe} exceeded its budget of {} s",
        budget.as_secs()
    )
}

pub const NO_PROC_MODULES: &str =
    "no /proc/modules: this kernel has no loadable module support, everything is built in";

pub const IPVS_NOT_LOADED: &str = "ip_vs is not loaded (/proc/modules, /sys/module/ip_vs, \
     generic-netlink family dump); reading IPVS over netlink would make the kernel load it";
pub const IPVS_NEEDS_CAP: &str = "IPVS reads need CAP_NET_ADMIN";
pub const IPVS_NO_FAMILY: &str =
    "ip_vs is present but the IPVS generic-netlink family is not in the family dump";
pub const IPVS_NO_FAMILIES: &str = "the generic-netlink family dump was not collected";

pub const DUMP_INTERRUPTED: &str =
    "the dump was interrupted by concurrent changes (NLM_F_DUMP_INTR) on every attempt; kept \
     the last one, it may be inconsistent";

pub const NOT_ON_PATH: &str = "not found on PATH";
pub const MAY_HOLD_CREDENTIALS: &str =
    "not read: the name suggests credentials (kubeconfig, token, key)";
pub const NOT_REGULAR: &str = "not a regular file";

pub fn module_not_present(program: &str, module: &str) -> String {
    format!("{module} is not loaded or built in; running {program} would make the kernel load it")
}

pub fn symlink_to(target: &str) -> String {
    format!("symlink to {target}")
}

pub fn exited(code: Option<i32>) -> String {
    match code {
        Some(c) => format!("exited with status {c}"),
        None => "killed by a signal".to_string(),
    }
}

pub fn command_timeout(budget: Duration) -> String {
    format!(
        "killed after {} ms (its budget or the global deadline); output kept up to that point",
        budget.as_millis()
    )
}

pub const KUBECTL_DISABLED: &str = "--no-kubectl was given";
pub const KUBECTL_NOT_FOUND: &str = "kubectl was not found";
pub const KUBECTL_NO_KUBECONFIG: &str = "no kubeconfig found (--kubeconfig, $KUBECONFIG, \
     ~/.kube/config, /etc/kubernetes/admin.conf, /etc/kubernetes/kubelet.conf)";
pub const KUBECTL_CHECK_TIMEOUT: &str =
    "kubectl get --raw /version did not answer within its budget";

pub fn kubectl_unusable(detail: &str) -> String {
    format!("kubectl cannot reach the API server: {detail}")
}

pub fn spool_failed(e: &std::io::Error) -> String {
    format!("could not write the temporary file next to the output: {e}")
}
