//! Expected vs actual, nftables mode: the endpoints behind a Service's chains differ from its
//! EndpointSlices (`pkg/proxy/nftables/proxier.go`: `service-<H8>-ns/svc/proto/port` (cluster
//! endpoints) and `local-...` (local ones) pick an `endpoint-<H8>-...__ip/port` chain by
//! `numgen random mod N vmap`, each endpoint chain DNATs to `ip:port`), or kube-proxy's
//! `no-endpoint-services` / `no-endpoint-nodeports` maps turn away a Service port that has
//! endpoints (`goto reject-chain`) or local endpoints (`drop`; the latter is the nftables
//! signature of a kube-proxy node name that is not the Node's, failure catalog C07).

use crate::diagnose::checks::proxy::evidence_rules::{
    applies, endpoints_unknown, expected, fmt_endpoints, kube_proxy_node_name, nft_artifact,
    nft_ruleset, not_applicable, resync_fix, service_evidence, subject, topology_hints,
};
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::expect_nft::{self, nft_family, TABLE};
use crate::diagnose::{Confidence, Context, Evidence, Judgement, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "nftables-endpoints-wrong",
    catalog: "",
    title: "kube-proxy's nftables rules send a Service to the wrong endpoints",
    layer: Layer::Proxy,
    cause: false,
    references: &[
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/nftables/proxier.go",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/topology.go",
    ],
    evidence: "DNAT destinations of the `endpoint-` chains each `service-`/`local-<H8>-ns/svc/proto/port` chain jumps to, against the Service's ready (or serving-terminating) endpoints; `no-endpoint-services`/`no-endpoint-nodeports` elements for Service addresses that have (local) endpoints.",
    fix: "Fix what stops kube-proxy from syncing (or its node name), then restart kube-proxy on the node.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    if !applies(cx, "nftables") {
        return not_applicable(cx, "nftables");
    }
    if cx.cluster.endpoints_known().is_err() {
        return match endpoints_unknown(
            cx,
            &INFO,
            "whether kube-proxy's nftables rules send each Service to its endpoints",
        ) {
            Some(n) => Verdicts::cannot(n),
            None => Verdicts::clear("no Service to judge", Vec::new()),
        };
    }
    // nftables-service-missing says when the ruleset is missing.
    let rs = match nft_ruleset(cx) {
        Ok(rs) => rs,
        Err(m) => {
            return Verdicts::clear(
                format!("nothing to compare: the nftables ruleset was not read ({m})"),
                Vec::new(),
            );
        }
    };
    let mut out = Judgement::new();
    let artifact = nft_artifact();
    let hints = topology_hints(cx);
    for fam in expected(cx) {
        let mut d = expect_nft::diff(&fam.ports, rs, fam.family);
        if hints {
            for e in &mut d.endpoints {
                for c in &mut e.chains {
                    c.1.clear();
                }
                e.chains.retain(|c| !c.2.is_empty());
            }
            d.endpoints
                .retain(|e| !e.chains.is_empty() || !e.turned_away.is_empty());
        }
        let table = format!("{} {TABLE}", nft_family(fam.family));
        for e in &d.endpoints {
            let p = e.port;
            let mut parts = Vec::new();
            let mut severity = Severity::Warning;
            for (chain, missing, extra) in &e.chains {
                if !extra.is_empty() {
                    parts.push(format!(
                        "{chain} sends to {} (not a usable endpoint)",
                        fmt_endpoints(extra)
                    ));
                    severity = Severity::Error;
                }
                if !missing.is_empty() {
                    parts.push(format!("{chain} lacks {}", fmt_endpoints(missing)));
                    if missing.len() == p.cluster_eps.len() {
                        severity = Severity::Error;
                    }
                }
            }
            if !e.turned_away.is_empty() {
                parts.push(format!(
                    "a no-endpoint map turns it away although it has {} endpoints, {} on this \
                     node",
                    p.cluster_eps.len(),
                    p.local_eps.len()
                ));
                severity = Severity::Error;
            }
            let mut f = cx.finding(
                &INFO,
                severity,
                Confidence::High,
                format!(
                    "kube-proxy's nftables rules for Service {}: {}",
                    p.name(),
                    parts.join("; ")
                ),
            );
            f.subject = Some(subject(p, fam.family));
            f.detail = format!(
                "From the EndpointSlices, the Service port has {} usable endpoints ({}), {} of \
                 them on this node (kube-proxy node name {}). The ruleset does not match: \
                 kube-proxy has not synced the current endpoints, or sees this node under \
                 another name.",
                p.cluster_eps.len(),
                fmt_endpoints(&p.cluster_eps.iter().copied().collect::<Vec<_>>()),
                p.local_eps.len(),
                kube_proxy_node_name(cx),
            );
            if let Some(ev) = service_evidence(cx, p) {
                f.evidence.push(ev);
            }
            for (chain, missing, extra) in &e.chains {
                f.evidence.push(Evidence::new(
                    artifact.clone(),
                    format!("table {table} chain {chain}"),
                    format!(
                        "DNAT targets: missing [{}], unexpected [{}]",
                        fmt_endpoints(missing),
                        fmt_endpoints(extra)
                    ),
                ));
            }
            for t in &e.turned_away {
                f.evidence.push(Evidence::new(
                    artifact.clone(),
                    format!("table {table}"),
                    t.clone(),
                ));
            }
            f.fix = resync_fix(cx);
            out.found(f);
        }
    }
    out.or_clear(
        "every Service port's nftables rules send to its endpoints",
        vec![Evidence::new(
            nft_artifact(),
            format!("table {TABLE}"),
            "compared with the expected Service ports",
        )],
    )
}
