//! Causes a component states in its own words. Some messages prove a catalog cause by
//! themselves, because upstream prints them only on that failure: kube-proxy's "error getting
//! ipset version" (C05, `pkg/proxy/ipvs`), iptables-restore's "Couldn't load target" (C09), a
//! component's `nodes "x" not found` (C07), flannel choosing VirtualBox's NAT address (C37),
//! calico-node autodetecting an address on a bridge or dummy device (C29). The signature
//! library ties each message to its upstream source and catalog entry; this check turns the
//! decisive ones into findings, citing the line. A dedicated check that reached the same
//! cause from the node's state keeps the finding (the analysis folds this one into it).

use crate::decode::modules::ModuleStatus;
use crate::diagnose::catalog;
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::verdict::{Judgement, Verdicts};
use crate::diagnose::{Confidence, Context, FixStep, Layer, Severity};
use crate::observe::{Certainty, FactKind, Observation};
use crate::signatures;

pub const INFO: CheckInfo = CheckInfo {
    id: "component-reported-cause",
    catalog: "",
    title: "A component's own message states the cause",
    layer: Layer::Proxy,
    cause: true,
    references: &["https://github.com/kubernetes/kubernetes/tree/master/pkg/proxy"],
    evidence: "Lines of kube-proxy, kubelet, flannel, Calico, k3s/rke2, kernel and tool messages that the signature library (`docs/signatures.md`) ties to a catalog entry and that upstream prints only on that failure.",
    fix: "The fix of the catalog entry the message names (the dedicated check's, in `docs/checks.md`).",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// Interfaces an uplink address is never on: bridges, dummies and tunnels of container
/// runtimes, kube-proxy, CNIs and node-local DNS (Calico's first-found method takes the first
/// interface it sees unless told otherwise, calico#1628, #6910).
const NOT_UPLINKS: &[&str] = &[
    "docker",
    "cni",
    "nodelocaldns",
    "kube-ipvs",
    "virbr",
    "br-",
    "veth",
    "cali",
    "flannel",
    "tunl",
    "vxlan",
    "lo",
    "weave",
    "cilium",
    "kube-bridge",
    "dummy",
];

/// The severity of a message that proves its cause, or None when the message alone does not.
fn decisive(o: &Observation) -> Option<Severity> {
    use FactKind as K;
    // A tool's own failure (ipvsadm, modprobe) is a fact about the node that the dedicated
    // checks weigh (is IPVS wanted at all?); only the components on the Service path, and the
    // kernel, state causes.
    if !matches!(o.certainty, Certainty::Component | Certainty::Kernel) {
        return None;
    }
    match o.kind {
        K::IpsetFailed
        | K::IptablesRestoreFailed
        | K::IptablesTableMissing
        | K::IptablesExtensionMissing
        | K::NftablesFailed
        | K::NodeNotFound
        | K::ModuleLoadFailed
        | K::IpvsUnavailable
        | K::ProxyModeFallback
        | K::IpvsNetlinkMismatch
        | K::ConntrackTableFull
        | K::BgpNotEstablished
        | K::KernelTooOld => Some(Severity::Error),
        K::IptablesLegacyTablesPresent | K::MartianSource => Some(Severity::Warning),
        K::Sysctl if o.value == "not-1" || o.value == "0" => Some(Severity::Error),
        K::CalicoAutodetected => {
            // The value is `cidr dev iface` (the signatures' Join of the two captures).
            let v = o.value.to_ascii_lowercase();
            let iface = v.rsplit(" dev ").next().unwrap_or_default();
            NOT_UPLINKS
                .iter()
                .any(|p| iface.starts_with(p))
                .then_some(Severity::Error)
        }
        // VirtualBox's NAT gives every VM 10.0.2.15: a node that reports it as its public
        // address shares it with every other node (flannel#535).
        K::FlannelInterface | K::NodeAddress if o.value.contains("10.0.2.15") => {
            Some(Severity::Error)
        }
        _ => None,
    }
}

fn run(cx: &Context<'_>) -> Verdicts {
    // A native bundle's logs hold every node's kube-proxy and CNI pods, and its node state is
    // collected whole: the dedicated checks judge them, knowing which node's pod printed a
    // line and whether the state the message speaks of still holds. A paste has neither.
    if !cx.node.bundle.is_pasted() {
        return Verdicts::clear(
            "not a paste: the dedicated checks read this bundle's logs and state",
            Vec::new(),
        );
    }
    let mut j = Judgement::new();
    let mut seen: Vec<(&'static str, &str)> = Vec::new();
    let signature_of = |o: &Observation| {
        o.signature
            .and_then(|id| signatures::all().find(|s| s.id == id))
    };
    // Entries a message names alone. A message that upstream prints for several causes
    // ("can't use the IPVS proxier: <why>", "Can't use ipvs proxier, trying iptables": modules,
    // ipset, modprobe...) proves none of them by itself when the paste also holds the message
    // that names which: kube-proxy logs the ipset failure, then gives up on IPVS.
    let named_alone: Vec<&str> = cx
        .node
        .observations
        .iter()
        .filter(|o| decisive(o).is_some())
        .filter_map(signature_of)
        .filter(|s| s.catalog.len() == 1)
        .map(|s| s.catalog[0])
        .collect();
    for o in &cx.node.observations {
        let Some(sig) = signature_of(o) else {
            continue;
        };
        let Some(entry) = sig.catalog.first().copied() else {
            continue;
        };
        let Some(severity) = decisive(o) else {
            continue;
        };
        if sig.catalog.len() > 1 && sig.catalog.iter().any(|c| named_alone.contains(c)) {
            continue;
        }
        // kube-proxy logs modprobe failures it may ignore (no /lib/modules in its container):
        // only a module that is not there now makes one decisive.
        let module_there = |m: &str| {
            matches!(
                cx.node.module(m),
                ModuleStatus::Loaded { .. } | ModuleStatus::BuiltIn { .. }
            )
        };
        let about_modules = matches!(
            o.kind,
            FactKind::ModuleLoadFailed | FactKind::IpvsUnavailable | FactKind::ProxyModeFallback
        );
        let module = if o.kind == FactKind::ModuleLoadFailed {
            o.subject.as_str()
        } else {
            "ip_vs"
        };
        if about_modules && module_there(module) {
            continue;
        }
        // Without a module list, kube-proxy's "not loaded" may mean built in: releases before
        // the fix of kubernetes#63801 read only the loaded modules.
        let unsure = about_modules && matches!(cx.node.module(module), ModuleStatus::Unknown);
        let severity = if unsure { Severity::Warning } else { severity };
        if seen.contains(&(entry, sig.id)) {
            continue;
        }
        seen.push((entry, sig.id));
        let title = catalog::CATALOG
            .iter()
            .find(|c| c.id == entry)
            .map_or(entry, |c| c.title);
        let dedicated = crate::diagnose::checks::infos().find(|i| i.catalog == entry);
        let mut f = cx.finding(
            &INFO,
            severity,
            Confidence::High,
            if unsure {
                format!(
                    "{title}: {} says so (unless the modules are built into the kernel, which \
                     older releases did not look for)",
                    sig.component.name()
                )
            } else {
                format!("{title}: {} says so", sig.component.name())
            },
        );
        f.catalog = entry;
        f.subject = Some(format!("{entry} {}", sig.id));
        if let Some(d) = dedicated {
            f.layer = d.layer;
            f.fix.push(FixStep::manual(d.fix));
        }
        f.detail = format!(
            "The message is printed by {} ({}) only on this failure; see {}.",
            sig.component.name(),
            sig.versions,
            sig.sources.first().copied().unwrap_or("docs/signatures.md")
        );
        f.evidence.push(o.evidence.clone());
        f.references.extend(sig.sources.iter().copied());
        j.found(f);
    }
    j.or_clear(
        "no component message that proves a cause by itself",
        Vec::new(),
    )
}
