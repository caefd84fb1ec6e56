//! C08: iptables rules live in two kernel interfaces, the legacy xtables tables and nf_tables,
//! and iptables 1.8 picks one per binary (`iptables-legacy` / `iptables-nft`). The kernel
//! evaluates both, but each `iptables-save` shows only its own, and kube-proxy (whose image
//! picks a backend, iptables-wrappers by heuristics) may write to the other one than the host's
//! tools and firewall. Then stale kube-proxy chains in one backend keep DNATing to old pod IPs
//! while the live ones sit in the other, or a DROP in one backend is not lifted by the
//! ACCEPTs kube-proxy wrote into the other (kubernetes #71305, #82361, #107965; iptables-nft
//! prints `# Warning: iptables-legacy tables present` when both hold tables). iptables 1.8.0
//! to 1.8.2 in nft mode duplicated rules on every sync (kubernetes #71305, website PR #16271).

use std::collections::BTreeSet;

use crate::decode::iptables::{Backend, IptablesSave};
use crate::diagnose::checks::{list_capped, restart_kube_proxy, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::facts::IptablesDump;
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "iptables-backend-mismatch",
    catalog: "C08",
    title: "kube-proxy's iptables rules split across the legacy and nf_tables backends",
    layer: Layer::Proxy,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/71305",
        "https://github.com/kubernetes/kubernetes/issues/75418",
        "https://github.com/kubernetes/kubernetes/issues/82361",
        "https://github.com/kubernetes/kubernetes/issues/107965",
        "https://github.com/kubernetes/kubernetes/issues/109811",
        "https://github.com/kubernetes/kubernetes/issues/112477",
        "https://github.com/kubernetes/website/pull/16271",
    ],
    evidence: "KUBE-* chains of kube-proxy in `iptables-legacy-save` and `iptables-nft-save` (and the backend of plain `iptables-save`), DROP policies and CNI chains in the other backend, the `iptables-legacy tables present` warning, the iptables version in the dump header.",
    fix: "Make the host and kube-proxy use one backend, flush the stale backend's KUBE-* chains, restart kube-proxy; avoid iptables 1.8.0-1.8.2.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// Chains only kube-proxy creates (kubelet also makes KUBE-FIREWALL, KUBE-MARK-DROP,
/// KUBE-KUBELET-CANARY and, in old releases, KUBE-POSTROUTING, so those prove nothing).
const KUBE_PROXY_CHAINS: &[&str] = &[
    "KUBE-SERVICES",
    "KUBE-PROXY-CANARY",
    "KUBE-NODEPORTS",
    "KUBE-NODE-PORT",
    "KUBE-FORWARD",
    "KUBE-LOAD-BALANCER",
    "KUBE-EXTERNAL-SERVICES",
    "KUBE-PROXY-FIREWALL",
];
const KUBE_PROXY_PREFIXES: &[&str] = &[
    "KUBE-SVC-",
    "KUBE-SEP-",
    "KUBE-EXT-",
    "KUBE-SVL-",
    "KUBE-FW-",
];
/// Chains of CNIs and firewalls that program iptables themselves.
const OTHER_PREFIXES: &[&str] = &[
    "cali-",
    "FLANNEL-",
    "KUBE-ROUTER-",
    "CILIUM_",
    "ufw-",
    "f2b-",
];

const LEGACY_WARNING: &str = "iptables-legacy tables present";

/// One backend's view of the IPv4 rules.
struct View<'a> {
    backend: Backend,
    dump: &'a IptablesDump,
    kube: Vec<String>,
    endpoints: BTreeSet<String>,
    other: Vec<String>,
}

fn is_kube_proxy_chain(name: &str) -> bool {
    KUBE_PROXY_CHAINS.contains(&name) || KUBE_PROXY_PREFIXES.iter().any(|p| name.starts_with(p))
}

fn view(dump: &IptablesDump) -> View<'_> {
    let save: &IptablesSave = &dump.save;
    let backend = save.header.as_ref().map_or(
        if dump.artifact.contains("-nft-") {
            Backend::NfTables
        } else {
            Backend::Legacy
        },
        |h| h.backend,
    );
    let mut kube = BTreeSet::new();
    let mut endpoints = BTreeSet::new();
    let mut other = BTreeSet::new();
    for t in &save.tables {
        for c in &t.chains {
            if is_kube_proxy_chain(&c.name) {
                kube.insert(c.name.clone());
                if c.name.starts_with("KUBE-SEP-") {
                    endpoints.insert(c.name.clone());
                }
            }
            if OTHER_PREFIXES.iter().any(|p| c.name.starts_with(p)) {
                other.insert(format!("{} chain {}", t.name, c.name));
            }
            if t.name == "filter"
                && matches!(c.name.as_str(), "INPUT" | "FORWARD")
                && c.policy.as_deref().is_some_and(|p| p != "ACCEPT")
            {
                other.insert(format!(
                    "filter {} policy {}",
                    c.name,
                    c.policy.as_deref().unwrap_or("")
                ));
            }
        }
    }
    View {
        backend,
        dump,
        kube: kube.into_iter().collect(),
        endpoints,
        other: other.into_iter().collect(),
    }
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Legacy => "legacy",
        Backend::NfTables => "nf_tables",
    }
}

fn run(cx: &Context<'_>) -> Verdicts {
    let mode = cx.proxy_mode.as_ref().map(|m| m.mode.as_str());
    if mode == Some("nftables") {
        return Verdicts::clear(
            "does not apply: kube-proxy runs in nftables mode, not with iptables",
            cx.proxy_mode_evidence(),
        );
    }
    let mut out = Judgement::new();
    let dumps: Vec<&IptablesDump> = cx
        .node
        .iptables()
        .iter()
        .filter(|d| d.family == 4)
        .collect();
    // One view per backend; the backend-specific tool wins over plain iptables-save.
    let mut views: Vec<View<'_>> = Vec::new();
    for d in &dumps {
        let v = view(d);
        match views.iter().position(|o| o.backend == v.backend) {
            Some(i) if views[i].dump.artifact.ends_with("/iptables-save.txt") => views[i] = v,
            Some(_) => {}
            None => views.push(v),
        }
    }
    let warning = legacy_warning(cx, &dumps);
    let legacy = views.iter().find(|v| v.backend == Backend::Legacy);
    let nft = views.iter().find(|v| v.backend == Backend::NfTables);

    match (legacy, nft) {
        (Some(l), Some(n)) if !l.kube.is_empty() && !n.kube.is_empty() => both(cx, l, n, &mut out),
        (Some(l), Some(n)) => {
            let (with, without) = if l.kube.is_empty() { (n, l) } else { (l, n) };
            if !with.kube.is_empty() && !without.other.is_empty() {
                split(cx, with, without, &mut out);
            }
        }
        (None, Some(n)) if warning.is_some() && mode.is_some() => {
            out.cannot(cx.not_concluded(
                &INFO,
                "whether kube-proxy's rules sit in the legacy iptables backend",
                format!(
                    "{} warns that legacy tables are present, but iptables-legacy-save was not \
                     collected{}",
                    n.dump.artifact,
                    if n.kube.is_empty() {
                        " and the nf_tables side has no kube-proxy chains"
                    } else {
                        ""
                    }
                ),
                Some("iptables-legacy-save | grep -c KUBE-"),
            ));
        }
        _ => {}
    }
    if let Some(n) = nft {
        old_nft_release(cx, n, &mut out);
    }
    if cx.node.bundle.is_pasted() && !out.has_found() {
        pasted_backends(cx, &dumps, &mut out);
    }
    let why = match views.len() {
        0 => "no IPv4 iptables dump was read: nothing shows rules split between backends",
        1 => "one iptables backend holds the rules",
        _ => "kube-proxy's rules and the host's other rules are in the same iptables backend",
    };
    out.or_clear(why, views.iter().map(chains_evidence).collect())
}

/// The legacy-tables warning: in the nft dump's text (iptables before 1.8.9) or in the stderr
/// the collector kept in the manifest.
fn legacy_warning(cx: &Context<'_>, dumps: &[&IptablesDump]) -> Option<Evidence> {
    for d in dumps {
        if let Some(w) = d
            .save
            .warnings
            .iter()
            .find(|w| w.text.contains(LEGACY_WARNING))
        {
            return Some(Evidence::new(
                d.artifact.clone(),
                format!("line {}", w.line),
                w.text.clone(),
            ));
        }
        let stderr = cx
            .node
            .bundle
            .manifest()
            .artifact(&d.artifact)
            .and_then(|a| a.stderr.as_deref());
        if let Some(l) = stderr.and_then(|s| s.lines().find(|l| l.contains(LEGACY_WARNING))) {
            return Some(Evidence::new(
                "manifest.json",
                format!("{} stderr", d.artifact),
                l.trim().to_string(),
            ));
        }
    }
    None
}

fn chains_evidence(v: &View<'_>) -> Evidence {
    Evidence::new(
        v.dump.artifact.clone(),
        format!("{} backend", backend_name(v.backend)),
        format!(
            "{} kube-proxy chains: {}",
            v.kube.len(),
            list_capped(&v.kube, EVIDENCE_ITEMS)
        ),
    )
}

fn both(cx: &Context<'_>, l: &View<'_>, n: &View<'_>, out: &mut Judgement) {
    let differ = l.endpoints != n.endpoints && !(l.endpoints.is_empty() && n.endpoints.is_empty());
    let (severity, summary) = if differ {
        (
            Severity::Error,
            "kube-proxy chains exist in both the legacy and the nf_tables iptables backend, \
             with different endpoints: one set is stale and still DNATs to old pods"
                .to_string(),
        )
    } else {
        (
            Severity::Warning,
            "kube-proxy chains exist in both the legacy and the nf_tables iptables backend: one \
             copy is stale"
                .to_string(),
        )
    };
    let mut f = cx.finding(&INFO, severity, Confidence::High, summary);
    f.detail = "The kernel runs the rules of both backends, but kube-proxy updates only the \
        backend its own iptables binary uses. The other copy stays as it was when the backend \
        changed (image upgrade, host switch of iptables alternatives) and keeps matching \
        Service traffic."
        .to_string();
    f.evidence.push(chains_evidence(l));
    f.evidence.push(chains_evidence(n));
    if differ {
        let only_l: Vec<&String> = l.endpoints.difference(&n.endpoints).collect();
        let only_n: Vec<&String> = n.endpoints.difference(&l.endpoints).collect();
        f.evidence.push(Evidence::new(
            l.dump.artifact.clone(),
            "KUBE-SEP-* chains",
            format!(
                "only in legacy: {}; only in nf_tables: {}",
                list_capped(&only_l, 5),
                list_capped(&only_n, 5)
            ),
        ));
    }
    fix(cx, &mut f);
    out.found(f);
}

fn split(cx: &Context<'_>, with: &View<'_>, without: &View<'_>, out: &mut Judgement) {
    let mut f = cx.finding(
        &INFO,
        Severity::Warning,
        Confidence::Medium,
        format!(
            "kube-proxy writes the {} iptables backend while the host's firewall or CNI rules \
             are in the {} backend",
            backend_name(with.backend),
            backend_name(without.backend)
        ),
    );
    f.detail = "Both backends' rules run, each on its own: kube-proxy's ACCEPT rules in one \
        backend do not lift a DROP policy or a CNI rule in the other, and each backend's \
        iptables-save shows only half of the picture."
        .to_string();
    f.evidence.push(chains_evidence(with));
    f.evidence.push(Evidence::new(
        without.dump.artifact.clone(),
        format!("{} backend", backend_name(without.backend)),
        format!(
            "no kube-proxy chains; {}",
            list_capped(&without.other, EVIDENCE_ITEMS)
        ),
    ));
    fix(cx, &mut f);
    out.found(f);
}

fn fix(cx: &Context<'_>, f: &mut crate::diagnose::Finding) {
    f.fix.push(FixStep::manual(
        "Pick one backend for the host, the CNI and kube-proxy: check `iptables -V` on the host \
         and in the kube-proxy container, and use update-alternatives --set iptables \
         /usr/sbin/iptables-legacy (or -nft) so they agree.",
    ));
    f.fix.push(FixStep::manual(
        "Remove the stale backend's kube-proxy chains, e.g. for legacy: iptables-legacy-save | \
         grep -v KUBE- | iptables-legacy-restore (or run kube-proxy --cleanup with that \
         backend), after checking nothing else lives in those tables.",
    ));
    f.fix.push(restart_kube_proxy(
        cx,
        "Restart kube-proxy on this node so it rewrites its rules in the chosen backend.",
    ));
}

/// iptables 1.8.0 to 1.8.2 with nf_tables, with kube-proxy rules in it.
fn old_nft_release(cx: &Context<'_>, n: &View<'_>, out: &mut Judgement) {
    if n.kube.is_empty() {
        return;
    }
    let Some(h) = &n.dump.save.header else { return };
    let Some(v) = h.version.as_deref() else {
        return;
    };
    if !matches!(v, "1.8.0" | "1.8.1" | "1.8.2") {
        return;
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Warning,
        Confidence::Medium,
        format!("kube-proxy's rules are managed with iptables {v} in nf_tables mode, a release with known rule-duplication bugs"),
    );
    f.subject = Some(format!("iptables-{v}"));
    f.detail = "iptables-nft 1.8.0 to 1.8.2 mis-handled rule deletion and checks, so kube-proxy \
        and kubelet added duplicate rules on every sync until the tables grew without bound."
        .to_string();
    f.evidence.push(Evidence::new(
        n.dump.artifact.clone(),
        format!("line {}", h.line),
        h.text.clone(),
    ));
    f.fix.push(FixStep::manual(
        "Upgrade iptables on the host (1.8.3 or later) or switch the host to iptables-legacy, \
         then restart kube-proxy.",
    ));
    out.found(f);
}

/// What pasted listings show of two backends, where no whole dump per backend was pasted:
///
/// - the same built-in chain listed by plain `iptables` and by `iptables-legacy` (or
///   `iptables-nft`) with different policies: the two commands read different backends, so
///   plain iptables uses the other one, and both hold filter rules. A DROP policy in one is not
///   lifted by ACCEPT rules written into the other (k3s#1114: Docker's nft FORWARD DROP, the
///   CNI's ACCEPTs in legacy).
/// - iptables-nft's own warning that legacy tables are present (it prints it only when the
///   legacy interface holds tables, `nft_check_xt_legacy` in iptables' xshared.c) beside a
///   listing of the nf_tables side without any kube-proxy chain: kube-proxy's rules, if any,
///   are in the legacy tables the host's tools do not show (kubernetes#107965).
fn pasted_backends(cx: &Context<'_>, dumps: &[&IptablesDump], out: &mut Judgement) {
    let listed = |d: &IptablesDump| {
        d.save
            .header
            .as_ref()
            .filter(|h| h.version.is_none())
            .map(|h| (h.program.clone(), h.backend))
    };
    for named in dumps.iter().filter(|d| listed(d).is_some()) {
        let Some((program, backend)) = listed(named) else {
            continue;
        };
        for plain in dumps.iter().filter(|d| d.save.header.is_none()) {
            for t in &named.save.tables {
                let Some(pt) = plain.save.table(&t.name) else {
                    continue;
                };
                for c in &t.chains {
                    let Some(pc) = pt.chains.iter().find(|x| x.name == c.name) else {
                        continue;
                    };
                    let (Some(a), Some(b)) = (&pc.policy, &c.policy) else {
                        continue;
                    };
                    if a == b {
                        continue;
                    }
                    let other = match backend {
                        Backend::Legacy => Backend::NfTables,
                        Backend::NfTables => Backend::Legacy,
                    };
                    let mut f = cx.finding(
                        &INFO,
                        Severity::Warning,
                        Confidence::High,
                        format!(
                            "iptables and {program} show different {} {} chains (policy {a} \
                             and {b}): the host's iptables uses the {} backend, and rules sit \
                             in both",
                            t.name,
                            c.name,
                            backend_name(other)
                        ),
                    );
                    f.subject = Some(format!("{} {}", t.name, c.name));
                    f.detail = "Each iptables binary reads and writes one kernel interface. \
                        Both interfaces' chains run, each on its own: the ACCEPT rules kube-proxy \
                        or the CNI wrote with one binary do not lift a DROP policy (Docker's, a \
                        firewall's) set with the other, so forwarded pod and Service traffic is \
                        dropped although one listing shows it accepted."
                        .to_string();
                    f.evidence.push(Evidence::new(
                        plain.artifact.clone(),
                        format!("chain {}", pc.name),
                        format!("iptables: Chain {} (policy {a})", pc.name),
                    ));
                    f.evidence.push(Evidence::new(
                        named.artifact.clone(),
                        format!("chain {}", c.name),
                        format!("{program}: Chain {} (policy {b})", c.name),
                    ));
                    fix(cx, &mut f);
                    out.found(f);
                    return;
                }
            }
        }
    }
    let Some(w) = cx
        .node
        .observed(crate::observe::FactKind::IptablesLegacyTablesPresent)
        .next()
    else {
        return;
    };
    // The listing the warning was printed with is the nf_tables side (plain iptables being
    // iptables-nft there); a pasted dump of it without kube-proxy chains.
    let Some(n) = dumps.iter().find(|d| {
        d.artifact.split(" + ").any(|a| a == w.evidence.artifact)
            && d.save
                .header
                .as_ref()
                .is_none_or(|h| h.backend == Backend::NfTables)
    }) else {
        return;
    };
    // No kube-proxy chain declared, and no rule jumping to one (a listing of one chain,
    // `iptables -t nat -L PREROUTING`, shows the jump kube-proxy adds, not the chain).
    let v = view(n);
    let jumps = n
        .save
        .tables
        .iter()
        .flat_map(|t| &t.rules)
        .any(|r| r.args.iter().any(|a| is_kube_proxy_chain(a)));
    if !v.kube.is_empty() || jumps {
        return;
    }
    let shown: Vec<String> = n
        .save
        .tables
        .iter()
        .flat_map(|t| {
            t.chains
                .iter()
                .map(move |c| format!("{} {}", t.name, c.name))
        })
        .collect();
    let mut f = cx.finding(
        &INFO,
        Severity::Warning,
        Confidence::Medium,
        "the host's iptables (nf_tables) warns that legacy tables are present, and the \
         nf_tables side shows no kube-proxy chain: kube-proxy's rules are in the legacy backend",
    );
    f.detail = "iptables-nft prints this warning only when the legacy kernel interface also \
        holds tables. The nf_tables listing has no KUBE-* chain of kube-proxy, so kube-proxy \
        (its image's iptables) writes the legacy backend: the host's tools show neither its \
        rules nor a DROP the host's firewall sets against them."
        .to_string();
    f.evidence.push(w.evidence.clone());
    f.evidence.push(Evidence::new(
        n.artifact.clone(),
        "nf_tables backend",
        format!(
            "no kube-proxy chain among, and no jump to one from: {}",
            list_capped(&shown, EVIDENCE_ITEMS)
        ),
    ));
    fix(cx, &mut f);
    out.found(f);
}
