//! C03: ip_vs is there, but not the scheduler module kube-proxy is configured for
//! (`ipvs.scheduler`, `rr` by default). Adding a virtual server with a scheduler the kernel
//! does not have fails with ENOENT (`ip_vs_scheduler_get` in net/netfilter/ipvs/ip_vs_sched.c
//! tries `request_module("ip_vs_%s")` first, so the module is missing or cannot be loaded).
//! kube-proxy v1.20 to v1.26 checked for `ip_vs_<scheduler>` at start-up (PR #93040) and
//! fell back to iptables (exited in v1.26); v1.27 and later test with a dummy virtual server
//! of that scheduler and exit when it fails ("Dummy VS not created"); older releases started
//! and failed each Service with "Failed to add IPVS service ... no such file or directory".
//! That error text has other triggers too (kubernetes#121042), so the module evidence decides.

use netsnap_bundle::names;

use crate::decode::modules::ModuleStatus;
use crate::diagnose::checks::kernel::kube_proxy_facts::{log_evidence, log_lines};
use crate::diagnose::checks::module_status_evidence;
use crate::diagnose::checks::{
    ipvs_table_or_empty, module_absence_evidence, restart_kube_proxy, Check, CheckInfo,
};
use crate::diagnose::expect::DEFAULT_SCHEDULER;
use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_CONFIGMAP_YAML};
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "ipvs-scheduler-module-missing",
    catalog: "C03",
    title: "IPVS scheduler module for kube-proxy's `ipvs.scheduler` missing",
    layer: Layer::Kernel,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/pull/93040",
        "https://github.com/kubernetes/kubernetes/pull/92715",
        "https://github.com/kubernetes/kubernetes/issues/121042",
    ],
    evidence: "kube-proxy ConfigMap `ipvs.scheduler` (default rr); ip_vs loaded or built in but `ip_vs_<scheduler>` neither in `/proc/modules` nor built in; the IPVS table; kube-proxy log `Failed to add IPVS service`, `Dummy VS not created`, `no such file or directory`.",
    fix: "`modprobe ip_vs_<scheduler>` and persist it in a modules-load.d file of our own (or choose a scheduler the kernel has); restart kube-proxy on the node.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// kube-proxy's log lines when a virtual server with that scheduler cannot be created.
const LOG_NEEDLES: &[&str] = &[
    "Failed to add IPVS service",
    "Dummy VS not created",
    "Could not create dummy VS",
    "can't use the IPVS proxier",
    "required kernel modules are not loaded",
];

fn run(cx: &Context<'_>) -> Verdicts {
    if cx.proxy_mode.as_ref().is_none_or(|m| m.mode != "ipvs") {
        return cx.not_this_mode("ipvs");
    }
    if let Some(v) = stated_by_kube_proxy(cx) {
        return v;
    }
    // Without ip_vs this is ipvs-modules-missing's finding.
    if !matches!(
        cx.node.module("ip_vs"),
        ModuleStatus::Loaded { .. } | ModuleStatus::BuiltIn { .. }
    ) {
        return Verdicts::clear(
            "ip_vs itself is not present: that is ipvs-modules-missing's to judge",
            vec![module_status_evidence(cx, "ip_vs")],
        );
    }
    let configured = cx
        .cluster
        .kube_proxy()
        .map(|c| c.ipvs.scheduler.as_str())
        .filter(|s| !s.is_empty());
    let scheduler = configured.unwrap_or(DEFAULT_SCHEDULER);
    let module = format!("ip_vs_{scheduler}");
    let not_in_kernel = match cx.node.module(&module) {
        ModuleStatus::Loaded { .. } | ModuleStatus::BuiltIn { .. } => {
            return Verdicts::clear(
                format!("the scheduler module {module} is present"),
                vec![module_status_evidence(cx, &module)],
            );
        }
        ModuleStatus::NotLoaded { .. } => false,
        ModuleStatus::NotAvailable => true,
        ModuleStatus::Unknown => {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                format!("whether the IPVS scheduler module {module} is loaded"),
                "no module evidence (/proc/modules) was collected",
                Some("grep ip_vs /proc/modules /lib/modules/$(uname -r)/modules.builtin"),
            ));
        }
    };
    // A virtual server with this scheduler proves the kernel has it (a module list that
    // missed it would be wrong, not the node).
    let table = ipvs_table_or_empty(cx).ok();
    if let Some((t, ev)) = &table {
        if t.services
            .iter()
            .any(|vs| vs.service.scheduler.as_deref() == Some(scheduler))
        {
            return Verdicts::clear(
                format!(
                    "an IPVS virtual server uses the {scheduler} scheduler: the kernel has it, \
                     whatever the module list says"
                ),
                vec![ev.clone()],
            );
        }
    }
    let lines = log_lines(cx, LOG_NEEDLES);
    let no_vs = table.as_ref().is_some_and(|(t, _)| t.services.is_empty());
    let confidence = if !lines.is_empty() || no_vs || not_in_kernel {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        confidence,
        format!(
            "kube-proxy schedules IPVS with {scheduler}, but {module} is {} on this node",
            if not_in_kernel {
                "not in this kernel at all"
            } else {
                "not loaded"
            }
        ),
    );
    f.detail = format!(
        "Every virtual server kube-proxy creates uses the {scheduler} scheduler; the kernel \
         refuses one whose scheduler module is missing (no such file or directory). kube-proxy \
         v1.27 and later test this at start-up with a dummy virtual server and exit; v1.20 to \
         v1.26 checked for {module} and fell back to iptables (exited in v1.26); older ones \
         failed every Service. Either way no Service gets a virtual server on this node."
    );
    let (locator, excerpt) = match configured {
        Some(_) => scheduler_line(cx, scheduler),
        None => (
            "data.config.conf ipvs.scheduler".to_string(),
            format!("scheduler not set: kube-proxy uses {DEFAULT_SCHEDULER}"),
        ),
    };
    f.evidence.push(Evidence::new(
        ClusterFacts::artifact(KUBE_PROXY_CONFIGMAP_YAML),
        locator,
        excerpt,
    ));
    f.evidence
        .extend(module_absence_evidence(cx, std::slice::from_ref(&module)));
    if let Some((t, ev)) = &table {
        let mut ev = ev.clone();
        if t.services.is_empty() {
            ev.excerpt = format!("{}: no virtual server at all", ev.excerpt);
        }
        f.evidence.push(ev);
    } else if let Some(a) = cx.node.bundle.evidence(names::IPVS_SERVICES).absence() {
        f.evidence.push(Evidence::new(
            "manifest.json",
            names::IPVS_SERVICES,
            format!("no IPVS table: {a}"),
        ));
    }
    for (n, line) in lines.iter().take(3) {
        f.evidence.push(log_evidence(*n, line));
    }
    if not_in_kernel {
        f.fix.push(FixStep::manual(format!(
            "This kernel was built without {module}: set ipvs.scheduler in the kube-proxy \
             ConfigMap (kubectl -n kube-system edit configmap kube-proxy) to a scheduler the \
             kernel has, such as rr, or install a kernel with it."
        )));
    } else {
        let modules = vec![module.clone()];
        f.fix.extend(FixStep::load_modules(&modules));
    }
    f.fix.push(restart_kube_proxy(
        cx,
        "Restart kube-proxy on this node so it creates the virtual servers.",
    ));
    Verdicts::found(f)
}

/// Where no module list was pasted: kube-proxy configured with a scheduler other than rr whose
/// every "add IPVS service" fails with ENOENT. kube-proxy got as far as adding virtual servers,
/// so the IPVS netlink family (ip_vs) answers; the kernel's `ip_vs_add_service` returns ENOENT
/// when `ip_vs_scheduler_get` finds no `ip_vs_<name>` (net/netfilter/ipvs/ip_vs_ctl.c,
/// ip_vs_sched.c), and kube-proxy sets no persistence engine, the other lookup that fails that
/// way. With rr the same text has other causes (kubernetes#121042), so only a configured
/// scheduler counts (kubernetes#92033: `scheduler: sed`, ip_vs_sed not loaded).
fn stated_by_kube_proxy(cx: &Context<'_>) -> Option<Verdicts> {
    if !cx.node.bundle.is_pasted() {
        return None;
    }
    let scheduler = cx
        .cluster
        .kube_proxy()
        .map(|c| c.ipvs.scheduler.as_str())
        .filter(|s| !s.is_empty() && *s != DEFAULT_SCHEDULER)?;
    let module = format!("ip_vs_{scheduler}");
    if !matches!(cx.node.module(&module), ModuleStatus::Unknown) {
        return None;
    }
    let failed: Vec<_> = cx
        .node
        .observed(crate::observe::FactKind::ComponentError)
        .filter(|o| {
            o.signature
                .is_some_and(|s| s.starts_with("kube-proxy-ipvs-add-service-failed"))
                && o.value.ends_with("no such file or directory")
        })
        .collect();
    if failed.is_empty() {
        return None;
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::High,
        format!(
            "kube-proxy schedules IPVS with {scheduler}, and the kernel refuses every virtual \
             server with it: {module} is missing"
        ),
    );
    f.detail = format!(
        "kube-proxy adds each Service as an IPVS virtual server with the {scheduler} scheduler. \
         The kernel answers \"no such file or directory\" when it has no ip_vs_{scheduler} \
         module to schedule with (ip_vs_scheduler_get finds none and request_module could not \
         load it), so no Service gets a virtual server on this node."
    );
    let (locator, excerpt) = scheduler_line(cx, scheduler);
    f.evidence.push(Evidence::new(
        ClusterFacts::artifact(KUBE_PROXY_CONFIGMAP_YAML),
        locator,
        excerpt,
    ));
    f.evidence
        .extend(failed.iter().take(3).map(|o| o.evidence.clone()));
    let mut step = FixStep::manual(format!(
        "Load {module} (and persist it in a modules-load.d file of our own), or set \
         ipvs.scheduler in the kube-proxy ConfigMap to a scheduler the kernel has, such as rr."
    ));
    step.commands = vec![
        format!("grep -w {module} /proc/modules /lib/modules/$(uname -r)/modules.builtin"),
        format!("modprobe {module}"),
    ];
    f.fix.push(step);
    f.fix.push(restart_kube_proxy(
        cx,
        "Restart kube-proxy on this node so it creates the virtual servers.",
    ));
    Some(Verdicts::found(f))
}
/// Where the kube-proxy ConfigMap sets the scheduler: (locator, excerpt).
fn scheduler_line(cx: &Context<'_>, scheduler: &str) -> (String, String) {
    cx.cluster
        .find_line(KUBE_PROXY_CONFIGMAP_YAML, Some("ipvs:"), &["scheduler:"])
        .map_or_else(
            || {
                (
                    "data.config.conf ipvs.scheduler".to_string(),
                    format!("scheduler: {scheduler}"),
                )
            },
            |(n, l)| (format!("line {n} (ipvs.scheduler)"), l),
        )
}
