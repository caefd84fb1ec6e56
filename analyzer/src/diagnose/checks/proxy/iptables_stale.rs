//! Expected vs actual, iptables mode: Service chains (`KUBE-SVC-`, `KUBE-SVL-`, `KUBE-EXT-`,
//! `KUBE-FW-`, `KUBE-XLB-` + hash) whose hash belongs to no current Service port. kube-proxy
//! deletes the chains of removed Services on its next sync (`pkg/proxy/iptables/proxier.go`:
//! chains not in the new rule set are flushed and deleted), so leftovers mean it stopped
//! syncing, or they were written by another kube-proxy (a mode switch or a second backend).
//! Leftovers still jumped to from `KUBE-SERVICES`/`KUBE-NODEPORTS` keep DNATing traffic for the
//! old ClusterIP or NodePort to old pods; when that address now belongs to another Service, the
//! leftover rule may take its traffic.

use crate::diagnose::checks::proxy::evidence_rules::{
    applies, compared_evidence, expected, iptables_diff, no_dump_or, not_applicable, resync_fix,
};
use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::expect_iptables::known_hashes;
use crate::diagnose::{Confidence, Context, Evidence, Judgement, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "iptables-stale-service-rules",
    catalog: "",
    title: "iptables rules of Services that no longer exist",
    layer: Layer::Proxy,
    cause: false,
    references: &[
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/iptables/proxier.go",
        "https://github.com/kubernetes/kubernetes/issues/107965",
    ],
    evidence: "nat chains named `KUBE-SVC/SVL/EXT/FW/XLB-<hash>` whose hash is no current Service port's `base32(sha256(ns/name:port + protocol))[:16]`, the `KUBE-SERVICES`/`KUBE-NODEPORTS` rules jumping to them, and current Service addresses those rules also match.",
    fix: "Let kube-proxy resync (fix what stops it, restart it); remove rules another proxy left with `kube-proxy --cleanup` or by flushing those chains.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    if !applies(cx, "iptables") {
        return not_applicable(cx, "iptables");
    }
    let mut out = Judgement::new();
    let mut compared = Vec::new();
    let known = known_hashes(&cx.cluster.state);
    for fam in expected(cx) {
        let Ok((dump, diff)) = iptables_diff(cx, &fam, &known) else {
            continue;
        };
        compared.push(compared_evidence(dump, &fam));
        if diff.stale.is_empty() {
            continue;
        }
        let referenced: Vec<_> = diff
            .stale
            .iter()
            .filter(|s| !s.referenced_by.is_empty())
            .collect();
        let hijacks: Vec<String> = diff
            .stale
            .iter()
            .flat_map(|s| s.hijacks.iter().cloned())
            .collect();
        let chains: Vec<&str> = diff.stale.iter().map(|s| s.chain.as_str()).collect();
        let (severity, summary) = if !hijacks.is_empty() {
            (
                Severity::Error,
                format!(
                    "Leftover iptables rules of removed Services match the addresses of current \
                     Services: {}",
                    list_capped(&hijacks, 3)
                ),
            )
        } else if !referenced.is_empty() {
            (
                Severity::Warning,
                format!(
                    "{} leftover Service chains of removed Services are still jumped to from \
                     KUBE-SERVICES/KUBE-NODEPORTS",
                    referenced.len()
                ),
            )
        } else {
            (
                Severity::Info,
                format!(
                    "{} unused Service chains of removed Services are left in the nat table",
                    chains.len()
                ),
            )
        };
        let mut f = cx.finding(&INFO, severity, Confidence::High, summary);
        f.subject = Some(format!("IPv{}", fam.family));
        f.detail = format!(
            "kube-proxy removes the chains of deleted Services on its next sync; these are \
             still in {} ({} chains: {}). It has not synced since the Services were removed, \
             or another kube-proxy wrote them.",
            dump.artifact,
            chains.len(),
            list_capped(&chains, 5)
        );
        for s in diff.stale.iter().take(EVIDENCE_ITEMS) {
            match s.referenced_by.first() {
                Some(r) => f.evidence.push(Evidence::new(
                    dump.artifact.clone(),
                    format!("line {}", r.line),
                    r.raw.clone(),
                )),
                None => f.evidence.push(Evidence::new(
                    dump.artifact.clone(),
                    format!("line {}", s.line),
                    format!(":{} - declared, not jumped to", s.chain),
                )),
            }
        }
        f.fix = resync_fix(cx);
        out.found(f);
    }
    out.or_clear(
        no_dump_or(
            &compared,
            "no Service rules remain for Services that are gone",
        ),
        compared,
    )
}
