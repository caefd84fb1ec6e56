//! C05: kube-proxy in IPVS mode cannot use ipset. IPVS mode keeps every Service address in
//! ipsets (KUBE-CLUSTER-IP, KUBE-NODE-PORT-TCP ...; `pkg/proxy/ipvs/ipset.go`) that its
//! iptables rules match on; it runs the `ipset` binary of its own image, which needs the
//! kernel's ip_set (auto-loaded through nfnetlink when a set is created). kube-proxy checks the
//! ipset version at start-up ("error getting ipset version": no usable binary) and creates the
//! sets on every sync ("error creating ipset": the kernel refused, e.g. no ip_set or a set
//! type module missing); a failure aborts the sync (kubernetes#68974, #65611, #67292).
//! The host's own `ipset` command is not what kube-proxy uses: its absence alone is no fault.

use netsnap_bundle::names;

use crate::decode::modules::ModuleStatus;
use crate::diagnose::checks::kernel::kube_proxy_facts::{log_evidence, log_lines};
use crate::diagnose::checks::module_status_evidence;
use crate::diagnose::checks::{
    ipvs_table_or_empty, module_absence_evidence, restart_kube_proxy, Check, CheckInfo,
};
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "ipset-unavailable",
    catalog: "C05",
    title: "IPVS mode without usable ipset (kernel ip_set or kube-proxy's ipset binary)",
    layer: Layer::Kernel,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/68974",
        "https://github.com/kubernetes/kubernetes/issues/65611",
        "https://github.com/kubernetes/kubernetes/issues/67292",
        "https://github.com/kubernetes/kubernetes/issues/56116",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/ipvs/ipset.go",
    ],
    evidence: "kube-proxy mode `ipvs`; ip_set in `/proc/modules`, `modules.builtin` or the kernel config; the `ipset save` artifact and why it is missing; kube-proxy log `error getting ipset version`, `error creating ipset`, `Failed to make sure ip set`.",
    fix: "Load ip_set and the set types kube-proxy uses (persisted in a modules-load.d file of our own); for a version error, use a kube-proxy image with ipset 6.0 or later; restart kube-proxy.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// The set types IPVS-mode kube-proxy creates (`pkg/proxy/ipvs/ipset.go`).
const SET_MODULES: &[&str] = &[
    "ip_set",
    "ip_set_hash_ip",
    "ip_set_hash_ipport",
    "ip_set_hash_ipportip",
    "ip_set_hash_ipportnet",
    "ip_set_bitmap_port",
];

const VERSION_ERRORS: &[&str] = &["error getting ipset version", "ipset version"];
const CREATE_ERRORS: &[&str] = &["error creating ipset", "Failed to make sure ip set"];

fn run(cx: &Context<'_>) -> Verdicts {
    if cx.proxy_mode.as_ref().is_none_or(|m| m.mode != "ipvs") {
        return cx.not_this_mode("ipvs");
    }
    // Without ip_vs, kube-proxy never gets as far as ipset: ipvs-modules-missing says so.
    if !matches!(
        cx.node.module("ip_vs"),
        ModuleStatus::Loaded { .. } | ModuleStatus::BuiltIn { .. }
    ) {
        return Verdicts::clear(
            "ip_vs is not present, so kube-proxy never gets as far as ipset: that is \
             ipvs-modules-missing's to judge",
            vec![module_status_evidence(cx, "ip_vs")],
        );
    }
    let version_lines: Vec<(usize, String)> = log_lines(cx, VERSION_ERRORS)
        .into_iter()
        .filter(|(_, l)| l.contains("error") || l.contains("Error"))
        .collect();
    let create_lines = log_lines(cx, CREATE_ERRORS);
    let ip_set = cx.node.module("ip_set");
    let kernel_lacks = matches!(ip_set, ModuleStatus::NotAvailable);
    let not_loaded = matches!(ip_set, ModuleStatus::NotLoaded { .. });
    let ipset_save = cx.node.text(&names::command_artifact("ipset-save"));

    if matches!(ip_set, ModuleStatus::Unknown)
        && version_lines.is_empty()
        && create_lines.is_empty()
    {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether the kernel's ip_set, which IPVS-mode kube-proxy needs, is available",
            "no module evidence (/proc/modules) was collected",
            Some("grep ip_set /proc/modules; ipset list -n"),
        ));
    }
    // Without a log line, ip_set missing only means something once kube-proxy has synced:
    // it creates virtual servers before it ensures its sets, so virtual servers with no ip_set
    // show a sync that stopped at the sets. Before any sync another cause is at work.
    let synced = ipvs_table_or_empty(cx).is_ok_and(|(t, _)| !t.services.is_empty());
    if version_lines.is_empty()
        && create_lines.is_empty()
        && !kernel_lacks
        && !(not_loaded && synced)
    {
        let why = if not_loaded {
            "kube-proxy's log shows no ipset error, and ip_set not being loaded means nothing \
             before kube-proxy's first sync (no IPVS virtual server yet)"
        } else {
            "the kernel has ip_set and kube-proxy's log shows no ipset error"
        };
        return Verdicts::clear(why, vec![module_status_evidence(cx, "ip_set")]);
    }
    let (summary, confidence) = if kernel_lacks {
        (
            "kube-proxy runs in IPVS mode, but this kernel has no ip_set (CONFIG_IP_SET not \
             set): it cannot create its ipsets"
                .to_string(),
            Confidence::High,
        )
    } else if !version_lines.is_empty() {
        (
            "kube-proxy cannot run ipset (error getting ipset version), which IPVS mode needs"
                .to_string(),
            Confidence::High,
        )
    } else if !create_lines.is_empty() {
        (
            format!(
                "kube-proxy fails to create its ipsets{}",
                if not_loaded {
                    ", and ip_set is not loaded on this node"
                } else {
                    ""
                }
            ),
            Confidence::High,
        )
    } else {
        (
            "kube-proxy programmed IPVS virtual servers here, but ip_set is not loaded: its \
             ipsets, which the Service iptables rules match on, cannot exist"
                .to_string(),
            Confidence::High,
        )
    };
    let mut f = cx.finding(&INFO, Severity::Error, confidence, summary);
    f.detail = "In IPVS mode kube-proxy matches Service traffic with ipsets (KUBE-CLUSTER-IP, \
        KUBE-NODE-PORT-TCP, KUBE-LOOP-BACK ...) in its iptables rules. It checks the ipset \
        version at start-up and creates the sets on every sync; when either fails, the sync \
        stops, so Service rules (masquerading, NodePort acceptance) are missing or stale. Once \
        kube-proxy has created a set the kernel keeps ip_set loaded, so an IPVS node without \
        ip_set has never had working sets."
        .to_string();
    if let Some(m) = &cx.proxy_mode {
        f.evidence.push(m.evidence.clone());
    }
    if kernel_lacks || not_loaded {
        f.evidence
            .extend(module_absence_evidence(cx, &["ip_set".to_string()]));
    }
    match &ipset_save {
        Ok(t) => {
            let kube_sets = t.lines().filter(|l| l.starts_with("create KUBE-")).count();
            f.evidence.push(Evidence::new(
                names::command_artifact("ipset-save"),
                "whole output",
                format!("{kube_sets} KUBE-* sets"),
            ));
        }
        Err(m) => f.evidence.push(Evidence::new(
            "manifest.json",
            m.artifact.clone(),
            format!("ipset save output {}", m.why),
        )),
    }
    for (n, line) in version_lines.iter().chain(&create_lines).take(3) {
        f.evidence.push(log_evidence(*n, line));
    }
    if kernel_lacks {
        f.fix.push(FixStep::manual(
            "This kernel was built without ip_set: install a kernel with CONFIG_IP_SET and the \
             hash:ip,port / bitmap:port set types, or switch kube-proxy to iptables or nftables \
             mode.",
        ));
    } else {
        let load: Vec<String> = SET_MODULES
            .iter()
            .filter(|m| matches!(cx.node.module(m), ModuleStatus::NotLoaded { .. }))
            .map(|m| m.to_string())
            .collect();
        if !load.is_empty() {
            f.fix.extend(FixStep::load_modules(&load));
        }
    }
    if !version_lines.is_empty() {
        f.fix.push(FixStep::manual(
            "kube-proxy could not run its ipset binary: use the upstream kube-proxy image (it \
             ships ipset 6.x or later), or, for kube-proxy run on the host, install ipset 6.0 \
             or later.",
        ));
    }
    f.fix.push(restart_kube_proxy(
        cx,
        "Restart kube-proxy on this node so it creates its ipsets.",
    ));
    Verdicts::found(f)
}
