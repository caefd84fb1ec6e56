//! Expected vs actual, iptables mode: a Service address kube-proxy should steer into the
//! Service's chains has no rule doing so (`pkg/proxy/iptables/proxier.go` `syncProxyRules`:
//! `KUBE-SERVICES -d <clusterIP> -p <proto> --dport <port> -j KUBE-SVC-<hash>`, `KUBE-NODEPORTS
//! --dport <nodePort> -j KUBE-EXT-<hash>`, externalIPs and LoadBalancer IPs → `KUBE-EXT-`/
//! `KUBE-FW-`; chain hash `base32(sha256(servicePortName + protocol))[:16]`). Without it, packets
//! to that address are not DNATed: they time out or reach whatever else listens there. Older
//! layouts (`KUBE-XLB-`, NodePorts straight to `KUBE-SVC-`) count as present. Also reported: no
//! `KUBE-SERVICES` chain at all, and missing jumps into it from the nat base chains.

use crate::diagnose::checks::proxy::evidence_rules::{
    applies, compared_evidence, endpoints_unknown, expected, expected_rule, iptables_diff,
    no_dump_or, not_applicable, resync_fix, service_evidence, subject,
};
use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::expect_iptables::known_hashes;
use crate::diagnose::{Confidence, Context, Evidence, Judgement, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "iptables-service-rules-missing",
    catalog: "",
    title: "A Service address has no kube-proxy iptables rule",
    layer: Layer::Proxy,
    cause: false,
    references: &[
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/iptables/proxier.go",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/iptables/proxier_test.go",
    ],
    evidence: "Expected nat rules per Service port (ClusterIP, NodePort, externalIPs, LB IPs → the Service's `KUBE-SVC/SVL/EXT/FW/XLB-<hash>` chain, only when it has endpoints) against the iptables dump kube-proxy writes to, compared on decoded fields; the `KUBE-SERVICES` chain and its jumps from PREROUTING/OUTPUT.",
    fix: "Fix what stops kube-proxy from syncing (its log says), then restart kube-proxy on the node.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    if !applies(cx, "iptables") {
        return not_applicable(cx, "iptables");
    }
    let mut out = Judgement::new();
    // Without endpoints the rules that do not depend on them are still judged.
    if let Some(n) = endpoints_unknown(
        cx,
        &INFO,
        "whether kube-proxy programmed an iptables rule for every Service address",
    ) {
        out.cannot(n);
    }
    let mut compared = Vec::new();
    let known = known_hashes(&cx.cluster.state);
    for fam in expected(cx) {
        let (dump, diff) = match iptables_diff(cx, &fam, &known) {
            Ok(x) => x,
            Err(missing) => {
                let why: Vec<String> = missing.iter().map(ToString::to_string).collect();
                out.cannot(cx.not_concluded(
                    &INFO,
                    "whether kube-proxy programmed an iptables rule for every Service address",
                    if why.is_empty() {
                        "no iptables dump was collected".to_string()
                    } else {
                        why.join("; ")
                    },
                    Some("iptables-save (or iptables-legacy-save / iptables-nft-save) on the node"),
                ));
                continue;
            }
        };
        compared.push(compared_evidence(dump, &fam));
        let confidence = if dump.save.table("nat").is_some_and(|t| t.committed) {
            Confidence::High
        } else {
            Confidence::Medium
        };
        if diff.no_kube_services {
            let with_eps = fam.ports.iter().filter(|p| p.has_endpoints()).count();
            if with_eps == 0 {
                continue;
            }
            let mut f = cx.finding(
                &INFO,
                Severity::Error,
                confidence,
                format!(
                    "kube-proxy's nat KUBE-SERVICES chain is missing: none of {with_eps} Service \
                     ports with endpoints is reachable through its Service addresses"
                ),
            );
            f.subject = Some("KUBE-SERVICES".to_string());
            f.detail = "kube-proxy in iptables mode DNATs Service traffic from the nat chain \
                        KUBE-SERVICES. Its absence means kube-proxy has not written its rules \
                        into this iptables backend: it is not running, fails to restore its \
                        rules, or writes to the other backend."
                .to_string();
            f.evidence.push(Evidence::new(
                dump.artifact.clone(),
                "nat table",
                match dump.save.table("nat") {
                    Some(t) => format!("no KUBE-SERVICES chain among {} chains", t.chains.len()),
                    None => "no nat table".to_string(),
                },
            ));
            f.fix = resync_fix(cx);
            out.found(f);
            continue;
        }
        if !diff.missing_hooks.is_empty() {
            let mut f = cx.finding(
                &INFO,
                Severity::Error,
                confidence,
                format!(
                    "kube-proxy's iptables entry rules are missing: {}",
                    diff.missing_hooks.join(", ")
                ),
            );
            f.subject = Some("entry rules".to_string());
            f.detail = "Packets reach kube-proxy's Service rules only through jumps from the nat \
                        PREROUTING and OUTPUT chains into KUBE-SERVICES, and NodePorts only \
                        through KUBE-SERVICES' last rule into KUBE-NODEPORTS; without them the \
                        per-Service rules are never consulted."
                .to_string();
            f.evidence.push(Evidence::new(
                dump.artifact.clone(),
                "nat table",
                format!("missing: {}", diff.missing_hooks.join("; ")),
            ));
            f.fix = resync_fix(cx);
            out.found(f);
        }
        for m in &diff.missing {
            let p = m.port;
            let what: Vec<String> = m.entries.iter().map(|e| e.describe(p)).collect();
            let mut f = cx.finding(
                &INFO,
                Severity::Error,
                confidence,
                format!(
                    "Service {} has no kube-proxy iptables rule for {}",
                    p.name(),
                    list_capped(&what, 3)
                ),
            );
            f.subject = Some(subject(p, fam.family));
            f.detail = format!(
                "The Service port has {} usable endpoint{}, so kube-proxy in iptables mode \
                 should steer {} into its chains ({}); the dump has no such rule, so those \
                 packets are not load-balanced.",
                p.cluster_eps.len(),
                if p.cluster_eps.len() == 1 { "" } else { "s" },
                if m.entries.len() == 1 {
                    "this address"
                } else {
                    "these addresses"
                },
                format_args!("hash {}", p.hash),
            );
            if !m.rejects.is_empty() {
                f.detail.push_str(
                    " Instead, a REJECT rule from a time the Service had no endpoints is still \
                     there: kube-proxy has not synced since its endpoints appeared.",
                );
            }
            if let Some(ev) = service_evidence(cx, p) {
                f.evidence.push(ev);
            }
            let rules: Vec<String> = m.entries.iter().map(|e| expected_rule(p, e)).collect();
            f.evidence.push(Evidence::new(
                dump.artifact.clone(),
                "nat table",
                format!("missing: {}", list_capped(&rules, EVIDENCE_ITEMS)),
            ));
            f.verify = m.entries.iter().map(|e| e.verify(p, fam.family)).collect();
            for r in &m.rejects {
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
            "every expected Service address has its iptables rule",
        ),
        compared,
    )
}
