//! C15: before Linux 5.9, IPVS handled a new connection that reuses the source port of a
//! connection still in its table badly in both settings of `net.ipv4.vs.conn_reuse_mode`:
//! with 1 (the kernel default) and `conntrack=1` (set by kube-proxy) the SYN is dropped and
//! the client retries after about a second; with 0 the new connection is sent to the old real
//! server even when it is being removed, so requests fail during rollouts. The kernel fixed it
//! in 5.9 (commit 35dfb013149f); kube-proxy sets conn_reuse_mode=0 on kernels from 4.1 up to
//! 5.9 and leaves it alone from 5.9 on (`pkg/util/kernel/constants.go`,
//! `IPVSConnReuseModeFixedKernelVersion`; kubernetes #93297). Intermittent, not an outage.

use crate::diagnose::checks::proxy::versions::{kernel_version, Version};
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};
use netsnap_bundle::names;

pub const INFO: CheckInfo = CheckInfo {
    id: "ipvs-conn-reuse",
    catalog: "C15",
    title: "IPVS on a kernel before 5.9: connection-reuse stalls or failures on rollouts",
    layer: Layer::Proxy,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/93297",
        "https://raw.githubusercontent.com/DaoCloud/DaoCloud-docs/main/docs/en/docs/network/intro/issues.md",
    ],
    evidence: "kube-proxy mode ipvs; the kernel release (manifest host info); sysctl `net.ipv4.vs.conn_reuse_mode`.",
    fix: "Run a kernel of 5.9 or later, or accept the trade-off (or use iptables/nftables mode).",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// The kernel release that fixed port-reuse handling in IPVS.
pub const FIXED_KERNEL: Version = Version::new(5, 9, 0);
/// The first release with `conn_reuse_mode` (kube-proxy's minimum for setting it).
pub const CONN_REUSE_MIN_KERNEL: Version = Version::new(4, 1, 0);

const SYSCTL: &str = "net.ipv4.vs.conn_reuse_mode";

/// What a kernel and a conn_reuse_mode value mean for Services; None when nothing is wrong.
fn assess(kernel: Version, mode: Option<&str>) -> Option<&'static str> {
    if kernel >= FIXED_KERNEL {
        return None;
    }
    // Distribution kernels backport the sysctl (RHEL 7's 3.10 has it): its value decides.
    if kernel < CONN_REUSE_MIN_KERNEL && mode.is_none() {
        return Some(
            "this kernel predates conn_reuse_mode: a new connection that reuses a source port \
             of a connection IPVS still tracks goes to the old real server, even one being \
             removed",
        );
    }
    match mode.map(str::trim) {
        Some("0") => Some(
            "conn_reuse_mode is 0 (as kube-proxy sets it on kernels before 5.9): connections \
             reusing a source port stick to the old real server, so requests fail while pods \
             roll over",
        ),
        Some(_) => Some(
            "conn_reuse_mode is not 0 on a kernel before 5.9: with IPVS connection tracking on, \
             a connection reusing a source port has its first SYN dropped and stalls for about \
             a second",
        ),
        None => Some(
            "IPVS on this kernel mishandles connections that reuse a source port (1 s stalls \
             or failures during rollouts, depending on conn_reuse_mode)",
        ),
    }
}

fn run(cx: &Context<'_>) -> Verdicts {
    if cx.proxy_mode.as_ref().map(|m| m.mode.as_str()) != Some("ipvs") {
        return cx.not_this_mode("ipvs");
    }
    let Some((kernel, kernel_ev)) = kernel_version(cx) else {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether IPVS's connection-reuse handling is fixed on this kernel",
            format!(
                "the kernel release {:?} in the manifest cannot be read",
                cx.node.host.kernel_release
            ),
            Some("uname -r"),
        ));
    };
    let value = cx.node.sysctl(SYSCTL);
    let Some(what) = assess(kernel, value) else {
        return Verdicts::clear(
            "this kernel (5.9 or later) handles IPVS connection reuse correctly",
            vec![kernel_ev],
        );
    };
    let mut f = cx.finding(
        &INFO,
        Severity::Warning,
        if value.is_some() || kernel < CONN_REUSE_MIN_KERNEL {
            Confidence::High
        } else {
            Confidence::Medium
        },
        format!("kernel {kernel} is older than 5.9 and runs kube-proxy's IPVS: {what}"),
    );
    f.detail = "Linux 5.9 changed how IPVS treats a new connection that matches an entry still \
        in its connection table; before it, the two conn_reuse_mode settings trade a one-second \
        stall for failures to terminating pods. Not a hard outage: it shows as intermittent \
        latency or errors, most during rolling updates."
        .to_string();
    f.evidence.push(kernel_ev);
    f.evidence.push(Evidence::new(
        names::SYSCTLS,
        SYSCTL,
        value.map_or_else(
            || format!("{SYSCTL} was not read"),
            |v| format!("{SYSCTL} = {v}"),
        ),
    ));
    f.fix.push(FixStep::manual(
        "Move the node to a kernel of 5.9 or later; until then, expect short stalls or \
         failures during rollouts, or run kube-proxy in iptables or nftables mode.",
    ));
    Verdicts::found(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_thresholds() {
        assert_eq!(assess(Version::new(5, 9, 0), Some("1")), None);
        assert_eq!(assess(Version::new(6, 1, 0), Some("0")), None);
        assert!(assess(Version::new(5, 8, 18), Some("1")).is_some_and(|s| s.contains("second")));
        assert!(assess(Version::new(5, 4, 0), Some("0")).is_some_and(|s| s.contains("roll")));
        assert!(assess(Version::new(4, 0, 9), None).is_some_and(|s| s.contains("predates")));
        assert!(assess(Version::new(4, 19, 0), None).is_some());
        assert!(assess(Version::new(3, 10, 0), Some("1")).is_some_and(|s| s.contains("second")));
    }
}
