//! Expected vs actual, iptables mode: the endpoints behind a Service's chains differ from its
//! EndpointSlices (`pkg/proxy/iptables/proxier.go`: `KUBE-SVC-<hash>` jumps to one
//! `KUBE-SEP-<hash>` per cluster endpoint, `KUBE-SVL-`/old `KUBE-XLB-` to the local ones, each
//! `KUBE-SEP-` DNATs `--to-destination ip:port`; endpoint choice per `pkg/proxy/topology.go`
//! `CategorizeEndpoints`), or kube-proxy turns traffic away that it should pass: a filter
//! `REJECT` "has no endpoints" for a Service port that has endpoints, or a `DROP` "has no local
//! endpoints" (old releases: `KUBE-XLB-` → `KUBE-MARK-DROP`) although an endpoint runs on this
//! node — the signature of a kube-proxy node name that is not the Node's (failure catalog C07).

use crate::diagnose::checks::proxy::evidence_rules::{
    applies, compared_evidence, endpoints_unknown, expected, fmt_endpoints, iptables_diff,
    kube_proxy_node_name, no_dump_or, not_applicable, resync_fix, service_evidence, subject,
    topology_hints,
};
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::expect_iptables::known_hashes;
use crate::diagnose::{Confidence, Context, Evidence, Judgement, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "iptables-endpoints-wrong",
    catalog: "",
    title: "kube-proxy's iptables rules send a Service to the wrong endpoints",
    layer: Layer::Proxy,
    cause: false,
    references: &[
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/iptables/proxier.go",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/topology.go",
        "https://github.com/kubernetes/kubernetes/issues/57518",
    ],
    evidence: "DNAT destinations reached from each `KUBE-SVC-`/`KUBE-SVL-`/`KUBE-XLB-<hash>` chain against the Service's ready (or serving-terminating) endpoints, local ones by kube-proxy's node name; filter REJECT/DROP rules for Service addresses that have (local) endpoints.",
    fix: "Fix what stops kube-proxy from syncing (or its node name), then restart kube-proxy on the node.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    if !applies(cx, "iptables") {
        return not_applicable(cx, "iptables");
    }
    if cx.cluster.endpoints_known().is_err() {
        return match endpoints_unknown(
            cx,
            &INFO,
            "whether kube-proxy's iptables rules send each Service to its endpoints",
        ) {
            Some(n) => Verdicts::cannot(n),
            None => Verdicts::clear("no Service to judge", Vec::new()),
        };
    }
    let mut out = Judgement::new();
    let mut compared = Vec::new();
    let known = known_hashes(&cx.cluster.state);
    let hints = topology_hints(cx);
    for fam in expected(cx) {
        // iptables-service-rules-missing says when there is no dump.
        let Ok((dump, mut diff)) = iptables_diff(cx, &fam, &known) else {
            continue;
        };
        compared.push(compared_evidence(dump, &fam));
        if hints {
            for e in &mut diff.endpoints {
                for c in &mut e.chains {
                    c.missing.clear();
                }
                e.chains.retain(|c| !c.extra.is_empty());
            }
            diff.endpoints
                .retain(|e| !e.chains.is_empty() || !e.rejects.is_empty() || !e.drops.is_empty());
        }
        for e in &diff.endpoints {
            let p = e.port;
            let mut parts = Vec::new();
            let mut severity = Severity::Warning;
            for c in &e.chains {
                if !c.extra.is_empty() {
                    parts.push(format!(
                        "{} sends to {} (not a usable endpoint)",
                        c.chain,
                        fmt_endpoints(&c.extra)
                    ));
                    severity = Severity::Error;
                }
                if !c.missing.is_empty() {
                    parts.push(format!("{} lacks {}", c.chain, fmt_endpoints(&c.missing)));
                    if c.missing.len() == p.cluster_eps.len() {
                        severity = Severity::Error;
                    }
                }
            }
            if !e.rejects.is_empty() {
                parts.push(format!(
                    "REJECTs it as having no endpoints although it has {}",
                    p.cluster_eps.len()
                ));
                severity = Severity::Error;
            }
            if !e.drops.is_empty() {
                parts.push(format!(
                    "DROPs external traffic as having no local endpoint although {} runs on \
                     this node",
                    fmt_endpoints(&p.local_eps.iter().copied().collect::<Vec<_>>())
                ));
                severity = Severity::Error;
            }
            let mut f = cx.finding(
                &INFO,
                severity,
                Confidence::High,
                format!(
                    "kube-proxy's iptables rules for Service {}: {}",
                    p.name(),
                    parts.join("; ")
                ),
            );
            f.subject = Some(subject(p, fam.family));
            f.detail = format!(
                "From the EndpointSlices, the Service port has {} usable endpoints ({}), {} of \
                 them on this node (kube-proxy node name {}). The rules in the dump do not \
                 match: kube-proxy has not synced the current endpoints, or sees this node \
                 under another name.",
                p.cluster_eps.len(),
                fmt_endpoints(&p.cluster_eps.iter().copied().collect::<Vec<_>>()),
                p.local_eps.len(),
                kube_proxy_node_name(cx),
            );
            if let Some(ev) = service_evidence(cx, p) {
                f.evidence.push(ev);
            }
            for c in &e.chains {
                let line = dump
                    .save
                    .table("nat")
                    .and_then(|t| t.chain(&c.chain))
                    .map_or(0, |ch| ch.line);
                f.evidence.push(Evidence::new(
                    dump.artifact.clone(),
                    format!("line {line} (nat {})", c.chain),
                    format!(
                        "DNAT targets: missing [{}], unexpected [{}]",
                        fmt_endpoints(&c.missing),
                        fmt_endpoints(&c.extra)
                    ),
                ));
            }
            for r in e.rejects.iter().chain(&e.drops) {
                f.evidence.push(Evidence::new(
                    dump.artifact.clone(),
                    format!("line {}", r.line),
                    r.raw.clone(),
                ));
            }
            f.fix = resync_fix(cx);
            out.found(f);
        }
    }
    out.or_clear(
        no_dump_or(
            &compared,
            "every Service port's rules send to its endpoints",
        ),
        compared,
    )
}
