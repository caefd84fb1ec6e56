//! C04: kube-proxy's container could not run `modprobe` (no binary in the image, or no
//! `/lib/modules` from the host), and the module it tried is indeed not loaded on the host.
//! Up to v1.26 kube-proxy loaded the IPVS modules itself with modprobe inside its container
//! (kubernetes PR #51874) and then required them in `/proc/modules`; without the host's
//! `/lib/modules` mounted that fails (rancher/rke2#1455, kops#4544), so IPVS was declared
//! unavailable unless the host had loaded them. Since v1.27 (PR #114669) kube-proxy loads
//! nothing itself: its IPVS netlink library still runs `modprobe -va ip_vs` and logs a warning
//! when that fails, which is harmless when the host has the module — the kernel loads modules
//! on demand from the host side. Then the line is only a pointer to the host.

use crate::decode::modules::ModuleStatus;
use crate::diagnose::checks::kernel::kube_proxy_facts::no_log_lines;
use crate::diagnose::checks::kernel::kube_proxy_facts::{
    kube_proxy_version, log_evidence, log_lines, Version,
};
use crate::diagnose::checks::module_status_evidence;
use crate::diagnose::checks::{module_absence_evidence, restart_kube_proxy, Check, CheckInfo};
use crate::diagnose::{Confidence, Context, FixStep, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "kube-proxy-cannot-modprobe",
    catalog: "C04",
    title: "kube-proxy's container cannot load kernel modules",
    layer: Layer::Kernel,
    cause: true,
    references: &[
        "https://github.com/rancher/rke2/issues/4120",
        "https://github.com/rancher/rke2/issues/1455",
        "https://github.com/kubernetes/kops/issues/4544",
        "https://github.com/kubernetes/kubernetes/pull/51874",
        "https://github.com/kubernetes/kubernetes/pull/114669",
    ],
    evidence: "kube-proxy log lines of this node's pod: `Running modprobe ip_vs failed`, `Failed to load kernel module ... with modprobe`, `executable file not found in $PATH`, `could not open moddep file`, `Failed to read file /lib/modules/...`; the named modules absent from `/proc/modules` and not built in; kube-proxy's version.",
    fix: "Load the modules on the host and persist them in a modules-load.d file of our own; for kube-proxy before v1.27 also mount `/lib/modules` read-only into its pod; restart kube-proxy.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// Since this release kube-proxy does not load modules itself (PR #114669).
const NO_MODULE_CHECK: Version = Version::new(1, 27, 0);

/// Log lines of a failed module load inside the container (failure catalog C04 and 1.4).
const NEEDLES: &[&str] = &[
    "Running modprobe",
    "with modprobe",
    "could not open moddep file",
    "Failed to read file /lib/modules",
    "not found in directory /lib/modules",
];

/// Kernel module names a log line mentions (`ip_vs`, `ip_vs_rr`, `nf_conntrack_ipv4` ...).
pub fn modules_in_line(line: &str) -> Vec<String> {
    let mut out: Vec<String> = line
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| {
            [
                "ip_vs",
                "nf_conntrack",
                "ip_set",
                "xt_",
                "iptable_",
                "br_netfilter",
            ]
            .iter()
            .any(|p| w.starts_with(p))
        })
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn run(cx: &Context<'_>) -> Verdicts {
    let lines = log_lines(cx, NEEDLES);
    if lines.is_empty() {
        return no_log_lines(cx, "failed modprobe");
    }
    let mut named: Vec<String> = lines.iter().flat_map(|(_, l)| modules_in_line(l)).collect();
    named.sort();
    named.dedup();
    let missing: Vec<String> = named
        .into_iter()
        .filter(|m| {
            matches!(
                cx.node.module(m),
                ModuleStatus::NotLoaded { .. } | ModuleStatus::NotAvailable
            )
        })
        .collect();
    if missing.is_empty() {
        // The host has what kube-proxy tried to load: the failed modprobe did no harm.
        let mut ev = vec![log_evidence(lines[0].0, &lines[0].1)];
        ev.extend(
            lines
                .iter()
                .flat_map(|(_, l)| modules_in_line(l))
                .take(3)
                .map(|m| module_status_evidence(cx, &m)),
        );
        return Verdicts::clear(
            "kube-proxy's modprobe failed, but the host has the modules it tried to load",
            ev,
        );
    }
    let version = kube_proxy_version(cx);
    let modern = version.as_ref().is_some_and(|(v, _)| *v >= NO_MODULE_CHECK);
    let list = missing.join(", ");
    let mut f = if modern {
        let mut f = cx.finding(
            &INFO,
            Severity::Info,
            Confidence::High,
            format!(
                "kube-proxy's modprobe of {list} failed inside its container; since v1.27 that \
                 is expected, and the module must come from the host"
            ),
        );
        f.is_cause = false;
        f.detail = format!(
            "kube-proxy v1.27 and later do not load kernel modules: the failed modprobe is its \
             IPVS library's attempt, logged and ignored. The kernel loads modules on demand \
             from the host when they are installed and not blocked; {list} is still not loaded \
             here, so the host must load it (see ipvs-modules-missing). Mounting /lib/modules \
             into the pod is not needed."
        );
        f
    } else {
        let confidence = if version.is_some() {
            Confidence::High
        } else {
            Confidence::Medium
        };
        let mut f = cx.finding(
            &INFO,
            Severity::Error,
            confidence,
            format!(
                "kube-proxy could not load {list} from inside its container, and the host has \
                 not loaded {}",
                if missing.len() == 1 { "it" } else { "them" }
            ),
        );
        f.detail = "kube-proxy before v1.27 loads the IPVS modules itself with modprobe inside \
            its container, then requires them in /proc/modules. Without the host's \
            /lib/modules mounted (or without a modprobe binary in the image) that load fails, \
            and unless the host loaded the modules kube-proxy declares IPVS unavailable: up to \
            v1.25 it silently uses iptables, v1.26 exits."
            .to_string();
        f
    };
    if let Some((_, ev)) = &version {
        f.evidence.push(ev.clone());
    }
    for (n, line) in lines.iter().take(3) {
        f.evidence.push(log_evidence(*n, line));
    }
    f.evidence.extend(module_absence_evidence(cx, &missing));
    let loadable: Vec<String> = missing
        .iter()
        .filter(|m| matches!(cx.node.module(m), ModuleStatus::NotLoaded { .. }))
        .cloned()
        .collect();
    if !modern && !loadable.is_empty() {
        f.fix.extend(FixStep::load_modules(&loadable));
        f.fix.push(FixStep::manual(
            "Or let kube-proxy load them: mount the host's /lib/modules read-only into the \
             kube-proxy DaemonSet (hostPath /lib/modules, mountPath /lib/modules, readOnly: \
             true), in an image that has modprobe.",
        ));
        f.fix.push(restart_kube_proxy(
            cx,
            "Restart kube-proxy on this node so it detects IPVS again.",
        ));
    }
    Verdicts::found(f)
}

#[cfg(test)]
mod tests {
    use super::modules_in_line;

    #[test]
    fn module_names_are_read_from_log_lines() {
        let l = "[pod/kube-proxy-t5d6r/kube-proxy] time=\"2026-11-20T08:19:31Z\" level=warning \
                 msg=\"Running modprobe ip_vs failed with message: `modprobe: WARNING: Module \
                 ip_vs not found in directory /lib/modules/6.1.0-56-amd64`, error: exit status 1\"";
        assert_eq!(modules_in_line(l), vec!["ip_vs"]);
        let l = "W0514 13:55:14.5 1 proxier.go:480] Failed to load kernel module ip_vs_sh with \
                 modprobe. You can ignore this message when kube-proxy is running inside \
                 container without mounting /lib/modules";
        assert_eq!(modules_in_line(l), vec!["ip_vs_sh"]);
        assert!(modules_in_line("Failed to read file /lib/modules/5.4/modules.builtin").is_empty());
    }
}
