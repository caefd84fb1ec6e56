//! C41: kernels before 3.18 send no `IPVS_DEST_ATTR_ADDR_FAMILY` in destination dumps (the
//! attribute was added in 3.18). kube-proxy v1.18.0 to v1.18.2 took a destination's family from
//! that attribute alone, so on such kernels (CentOS/RHEL 7's 3.10) every real server failed to
//! parse (`parseIP Error`), kube-proxy could not list or sync real servers, and Services
//! answered intermittently or not at all. v1.18.3 infers the family from the service
//! (kubernetes #89520, PR #90678; moby/ipvs PR #15).

use crate::diagnose::checks::proxy::kube_proxy::{log_evidence, log_lines};
use crate::diagnose::checks::proxy::versions::{kernel_version, kube_proxy_version, Version};
use crate::diagnose::checks::{restart_kube_proxy, Check, CheckInfo};
use crate::diagnose::Evidence;
use crate::diagnose::{Confidence, Context, FixStep, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "ipvs-netlink-api-mismatch",
    catalog: "C41",
    title: "kube-proxy v1.18.0-v1.18.2 cannot read IPVS real servers on kernels before 3.18",
    layer: Layer::Proxy,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/89520",
        "https://github.com/kubernetes/kubernetes/pull/90678",
        "https://github.com/moby/ipvs/pull/15",
    ],
    evidence: "kube-proxy version from the DaemonSet image tag (else the Node's kubeProxyVersion); kernel release from the manifest; kube-proxy log lines `Failed to list IPVS destinations, error: parseIP Error`.",
    fix: "Upgrade kube-proxy to v1.18.3 or later (or the kernel to 3.18 or later), restart kube-proxy, verify real servers with ipvsadm -Ln.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const BROKEN_FIRST: Version = Version::new(1, 18, 0);
const BROKEN_LAST: Version = Version::new(1, 18, 2);
/// The first kernel that sends the destination's address family.
const FAMILY_ATTR_KERNEL: Version = Version::new(3, 18, 0);

/// Whether this pair of versions hits the bug.
fn affected(kube_proxy: Version, kernel: Version) -> bool {
    (BROKEN_FIRST..=BROKEN_LAST).contains(&kube_proxy) && kernel < FAMILY_ATTR_KERNEL
}

fn run(cx: &Context<'_>) -> Verdicts {
    let mode = cx.proxy_mode.as_ref().map(|m| m.mode.as_str());
    if mode.is_some_and(|m| m != "ipvs") {
        return cx.not_this_mode("ipvs");
    }
    let logs = log_lines(cx, &["parseIP Error"]);
    let kp = kube_proxy_version(cx);
    let kernel = kernel_version(cx);
    let versions_match = matches!((&kp, &kernel), (Some((k, _)), Some((r, _))) if affected(*k, *r));
    if !versions_match && logs.is_empty() {
        let mut ev: Vec<Evidence> = Vec::new();
        ev.extend(kp.as_ref().map(|(_, e)| e.clone()));
        ev.extend(kernel.as_ref().map(|(_, e)| e.clone()));
        return Verdicts::clear(
            "kube-proxy's version and the kernel are not the pair with the v1.18.0-v1.18.2 \
             real-server bug, and its log shows no parseIP error",
            ev,
        );
    }
    if mode.is_none() && logs.is_empty() {
        // Right versions, but IPVS mode not shown: worth a question, not a finding.
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether kube-proxy runs in IPVS mode with the v1.18.0-v1.18.2 real-server bug",
            "kube-proxy's version and the kernel match the bug, but its proxy mode is unknown",
            Some("kubectl -n kube-system get configmap kube-proxy -o yaml (mode:)"),
        ));
    }
    let confidence = if versions_match && !logs.is_empty() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let summary = match (&kp, &kernel) {
        (Some((k, _)), Some((r, _))) if versions_match => format!(
            "kube-proxy v{k} cannot read IPVS real servers on kernel {r} (older than 3.18): \
             endpoints are not synced"
        ),
        _ => {
            "kube-proxy fails to parse IPVS real servers (parseIP Error): endpoints are not synced"
                .to_string()
        }
    };
    let mut f = cx.finding(&INFO, Severity::Error, confidence, summary);
    f.detail = "Kernels before 3.18 leave the address family out of IPVS destination dumps; \
        kube-proxy v1.18.0 to v1.18.2 needed it to parse each real server's address, so every \
        listing failed and real servers were never updated. Virtual servers keep stale or no \
        real servers and Services answer intermittently or not at all."
        .to_string();
    if let Some((_, ev)) = kp {
        f.evidence.push(ev);
    }
    if let Some((_, ev)) = kernel {
        f.evidence.push(ev);
    }
    for (n, line) in logs.iter().take(2) {
        f.evidence.push(log_evidence(*n, line));
    }
    f.fix.push(FixStep::manual(
        "Upgrade kube-proxy to v1.18.3 or later (the DaemonSet's image tag), or move the node \
         to a kernel of 3.18 or later.",
    ));
    f.fix.push(restart_kube_proxy(
        cx,
        "Restart kube-proxy on this node, then check real servers with ipvsadm -Ln.",
    ));
    Verdicts::found(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affected_range() {
        let old = Version::new(3, 10, 0);
        assert!(affected(Version::new(1, 18, 0), old));
        assert!(affected(Version::new(1, 18, 2), old));
        assert!(!affected(Version::new(1, 18, 3), old));
        assert!(!affected(Version::new(1, 17, 9), old));
        assert!(!affected(Version::new(1, 18, 1), Version::new(3, 18, 0)));
        assert!(affected(Version::new(1, 18, 1), Version::new(3, 17, 8)));
    }
}
