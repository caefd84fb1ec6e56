//! C02: IPVS is built into the kernel (`CONFIG_IP_VS=y`), so `lsmod` never lists ip_vs, and
//! that is fine. Built-in code is listed in `/lib/modules/$(uname -r)/modules.builtin`, not
//! in `/proc/modules`. Old kube-proxy misread this: v1.10 looked only at loaded modules and
//! fell back to iptables (kubernetes#63801); from v1.11 (PR #63850) it also read
//! `modules.builtin`, but inside a container without `/lib/modules` mounted it could not, and
//! still reported the modules missing (kubernetes#69006, #77493; PR #82223 in v1.17 checks
//! built-ins first). Up to v1.25 that meant a silent fallback to iptables, in v1.26 an exit
//! (PR #111806); since v1.27 kube-proxy no longer checks modules (PR #114669).

use netsnap_bundle::names;

use crate::decode::modules::ModuleStatus;
use crate::diagnose::checks::kernel::kube_proxy_facts::{
    kube_proxy_version, log_evidence, log_lines, Version,
};
use crate::diagnose::checks::module_status_evidence;
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::expect::DEFAULT_SCHEDULER;
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "ipvs-built-in",
    catalog: "C02",
    title: "IPVS built into the kernel: lsmod shows nothing (not a fault)",
    layer: Layer::Kernel,
    cause: false,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/63801",
        "https://github.com/kubernetes/kubernetes/issues/69006",
        "https://github.com/kubernetes/kubernetes/issues/77493",
        "https://github.com/kubernetes/kubernetes/pull/82223",
    ],
    evidence: "kube-proxy mode `ipvs`; ip_vs absent from `/proc/modules` but listed in `modules.builtin` (or `CONFIG_IP_VS=y`, or `/sys/module/ip_vs` without initstate); `/proc/net/ip_vs`; kube-proxy version and log lines saying the modules are not loaded.",
    fix: "Nothing on the host. Only if an old kube-proxy (before v1.27) reported the modules missing: mount `/lib/modules` read-only into its pod, or upgrade kube-proxy.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// kube-proxy stopped checking kernel modules at all (PR #114669).
const NO_MODULE_CHECK: Version = Version::new(1, 27, 0);
/// kube-proxy exits instead of falling back to iptables (PR #111806).
const NO_FALLBACK: Version = Version::new(1, 26, 0);

/// What kube-proxy logged when its module check failed (failure catalog part 1.4).
const MISDETECTION: &[&str] = &[
    "required kernel modules are not loaded",
    "modules.builtin",
    "can't determine whether to use ipvs proxy",
];

fn run(cx: &Context<'_>) -> Verdicts {
    if cx.proxy_mode.as_ref().is_none_or(|m| m.mode != "ipvs") {
        return cx.not_this_mode("ipvs");
    }
    let ModuleStatus::BuiltIn { evidence: how } = cx.node.module("ip_vs") else {
        return Verdicts::clear(
            "ip_vs is not built into this kernel: nothing to explain about an empty lsmod",
            vec![module_status_evidence(cx, "ip_vs")],
        );
    };
    let scheduler = cx
        .cluster
        .kube_proxy()
        .map(|c| c.ipvs.scheduler.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_SCHEDULER);
    let sched_module = format!("ip_vs_{scheduler}");
    let version = kube_proxy_version(cx);
    let old = version.as_ref().is_some_and(|(v, _)| *v < NO_MODULE_CHECK);
    let complaints = if version.as_ref().is_some_and(|(v, _)| *v >= NO_MODULE_CHECK) {
        Vec::new()
    } else {
        log_lines(cx, MISDETECTION)
    };
    let misdetected = !complaints.is_empty();

    let (severity, confidence, summary) = if misdetected {
        let outcome = match &version {
            Some((v, _)) if *v >= NO_FALLBACK => "exits",
            Some(_) => "falls back to iptables",
            None => "falls back to iptables (before v1.26) or exits (v1.26)",
        };
        (
            Severity::Error,
            Confidence::High,
            format!(
                "ip_vs is built into this kernel, but kube-proxy reports the IPVS modules as \
                 not loaded and {outcome}"
            ),
        )
    } else {
        (
            Severity::Info,
            Confidence::High,
            "ip_vs is built into this kernel: lsmod does not list it, and nothing needs \
             loading"
                .to_string(),
        )
    };
    let mut f = cx.finding(&INFO, severity, confidence, summary);
    f.is_cause = misdetected;
    f.detail = if misdetected {
        "Built-in kernel code never appears in /proc/modules; it is listed in \
         /lib/modules/<release>/modules.builtin. kube-proxy before v1.27 checked for the IPVS \
         modules, and inside a container without /lib/modules mounted it could not read \
         modules.builtin, so it declared IPVS unavailable although the kernel has it: up to \
         v1.25 it silently used iptables instead, v1.26 exits. v1.17 and later check built-ins \
         first, but still need the file."
            .to_string()
    } else {
        let era = if old {
            " This kube-proxy (before v1.27) reads modules.builtin to see that; it found it, \
             as its log shows no complaint."
        } else {
            " kube-proxy v1.27 and later no longer check for modules at all."
        };
        format!(
            "Built-in kernel code never appears in /proc/modules (what lsmod prints), so \
             `lsmod | grep ip_vs` is empty and `modprobe ip_vs` has nothing to do. IPVS works; \
             do not chase the empty lsmod output.{era}"
        )
    };
    if let Some(m) = &cx.proxy_mode {
        f.evidence.push(m.evidence.clone());
    }
    if let Some(p) = &cx.node.modules.proc_modules {
        f.evidence.push(Evidence::new(
            names::PROC_MODULES,
            "whole file",
            format!("no ip_vs among {} loaded modules", p.len()),
        ));
    }
    f.evidence.push(builtin_evidence(cx, "ip_vs", how));
    if let ModuleStatus::BuiltIn { evidence: how } = cx.node.module(&sched_module) {
        f.evidence.push(builtin_evidence(cx, &sched_module, how));
    }
    if cx
        .node
        .bundle
        .evidence(names::PROC_NET_IP_VS)
        .bytes()
        .is_some()
    {
        f.evidence.push(Evidence::new(
            names::PROC_NET_IP_VS,
            "file",
            "/proc/net/ip_vs exists: IPVS is active in this kernel",
        ));
    }
    if let Some((_, ev)) = &version {
        f.evidence.push(ev.clone());
    }
    for (n, line) in complaints.iter().take(3) {
        f.evidence.push(log_evidence(*n, line));
    }
    if misdetected {
        f.fix.push(FixStep::manual(
            "Mount the host's /lib/modules read-only into the kube-proxy DaemonSet \
             (hostPath /lib/modules, mountPath /lib/modules, readOnly: true) so it can read \
             modules.builtin, then restart kube-proxy; or upgrade kube-proxy to v1.27 or later, \
             which no longer checks modules.",
        ));
    }
    Verdicts::found(f)
}

/// Where the built-in status was read: the `modules.builtin` line, the config symbol, or
/// `/sys/module`.
fn builtin_evidence(cx: &Context<'_>, module: &str, how: &str) -> Evidence {
    match how {
        "modules.builtin" => {
            let needle = format!("/{module}.ko");
            let line = cx.node.text(names::MODULES_BUILTIN).ok().and_then(|t| {
                t.lines()
                    .enumerate()
                    .find(|(_, l)| l.ends_with(&needle))
                    .map(|(i, l)| (i + 1, l.to_string()))
            });
            match line {
                Some((n, l)) => Evidence::new(names::MODULES_BUILTIN, format!("line {n}"), l),
                None => Evidence::new(
                    names::MODULES_BUILTIN_MODINFO,
                    module.to_string(),
                    format!("{module} is listed as built in"),
                ),
            }
        }
        "kernel config" => {
            let sym = format!("CONFIG_{}", module.to_ascii_uppercase());
            Evidence::new(names::KERNEL_CONFIG, sym.clone(), format!("{sym}=y"))
        }
        other => Evidence::new(
            names::SYS_MODULE,
            module.to_string(),
            format!("{module}: built in ({other})"),
        ),
    }
}
