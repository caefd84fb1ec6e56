//! Expected vs actual, nftables mode: a Service address kube-proxy should have put into its
//! verdict maps is not there (`pkg/proxy/nftables/proxier.go` `syncProxyRules`: table
//! `ip kube-proxy`, `service-ips` element `<ip> . <proto> . <port> : goto service-<H8>-ns/svc/
//! proto/port` for ClusterIPs, `... : goto external-...` for externalIPs and LB IPs,
//! `service-nodeports` element `<proto> . <nodePort> : goto external-...`). Without the element
//! the `services` chain's vmap lookups miss and the packet is not DNATed. Only what
//! `nft -j list ruleset` carries is compared (nftables 1.0.6 JSON has no table or chain
//! comments).

use crate::diagnose::checks::proxy::evidence_rules::{
    applies, endpoints_unknown, expected, nft_artifact, nft_ruleset, not_applicable, resync_fix,
    service_evidence, subject,
};
use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::expect_iptables::{proto_lower, Entry, ExpectedPort};
use crate::diagnose::expect_nft::{self, chain_base, hashed, nft_family, TABLE};
use crate::diagnose::{Confidence, Context, Evidence, Judgement, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "nftables-service-missing",
    catalog: "",
    title: "A Service address is missing from kube-proxy's nftables maps",
    layer: Layer::Proxy,
    cause: false,
    references: &[
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/nftables/proxier.go",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/nftables/README.md",
    ],
    evidence: "Expected `service-ips` / `service-nodeports` elements per Service port (ClusterIP, externalIPs, LB IPs, NodePort → the port's `service-`/`local-`/`external-<H8>-ns/svc/proto/port` chain, only with endpoints) against `nft -j list ruleset`; the `ip kube-proxy` table and its maps.",
    fix: "Fix what stops kube-proxy from syncing (its log says), then restart kube-proxy on the node.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// The element kube-proxy writes for an entry, in `nft list` syntax.
fn expected_element(p: &ExpectedPort, e: &Entry) -> String {
    let proto = proto_lower(p.protocol);
    let suffix = hashed(&chain_base(p));
    match e {
        Entry::ClusterIp(ip) => {
            let kind = if p.itp_local { "local" } else { "service" };
            format!(
                "service-ips {{ {ip} . {proto} . {} : goto {kind}-{suffix} }}",
                p.port
            )
        }
        Entry::NodePort(np) => {
            format!("service-nodeports {{ {proto} . {np} : goto external-{suffix} }}")
        }
        Entry::ExternalIp(ip) | Entry::LoadBalancer(ip) => format!(
            "service-ips {{ {ip} . {proto} . {} : goto external-{suffix} }}",
            p.port
        ),
    }
}

fn run(cx: &Context<'_>) -> Verdicts {
    if !applies(cx, "nftables") {
        return not_applicable(cx, "nftables");
    }
    let rs = match nft_ruleset(cx) {
        Ok(rs) => rs,
        Err(m) => {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "whether kube-proxy put every Service address into its nftables maps",
                m.to_string(),
                Some("nft -j list ruleset on the node"),
            ));
        }
    };
    let mut out = Judgement::new();
    // Without endpoints the rules that do not depend on them are still judged.
    if let Some(n) = endpoints_unknown(
        cx,
        &INFO,
        "whether kube-proxy put every Service address into its nftables maps",
    ) {
        out.cannot(n);
    }
    let confidence = if rs.errors.is_empty() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let artifact = nft_artifact();
    for fam in expected(cx) {
        let d = expect_nft::diff(&fam.ports, rs, fam.family);
        let table = format!("{} {TABLE}", nft_family(fam.family));
        if d.no_table {
            let with_eps = fam.ports.iter().filter(|p| p.has_endpoints()).count();
            if with_eps == 0 {
                continue;
            }
            let mut f = cx.finding(
                &INFO,
                Severity::Error,
                confidence,
                format!(
                    "kube-proxy's nftables table {table} is missing: none of {with_eps} Service \
                     ports with endpoints is reachable through its Service addresses"
                ),
            );
            f.subject = Some(table.clone());
            f.detail = "kube-proxy in nftables mode keeps all Service rules in its own table. \
                        Without it kube-proxy is not running, fails to load its rules, or \
                        runs in another mode."
                .to_string();
            f.evidence.push(Evidence::new(
                artifact.clone(),
                "tables",
                format!("no table {table} among {} tables", rs.tables.len()),
            ));
            f.fix = resync_fix(cx);
            out.found(f);
            continue;
        }
        if !d.missing_maps.is_empty() {
            let mut f = cx.finding(
                &INFO,
                Severity::Error,
                confidence,
                format!(
                    "kube-proxy's nftables maps are missing from {table}: {}",
                    d.missing_maps.join(", ")
                ),
            );
            f.subject = Some(format!("{table} maps"));
            f.evidence.push(Evidence::new(
                artifact.clone(),
                format!("table {table}"),
                format!("no map {}", d.missing_maps.join(", no map ")),
            ));
            f.fix = resync_fix(cx);
            out.found(f);
        }
        for m in &d.missing {
            let p = m.port;
            let what: Vec<String> = m.entries.iter().map(|e| e.describe(p)).collect();
            let mut f = cx.finding(
                &INFO,
                Severity::Error,
                confidence,
                format!(
                    "Service {} is missing from kube-proxy's nftables maps for {}",
                    p.name(),
                    list_capped(&what, 3)
                ),
            );
            f.subject = Some(subject(p, fam.family));
            f.detail = format!(
                "The Service port has {} usable endpoint{}, so kube-proxy in nftables mode should \
                 map {} to its chains; the ruleset has no such element, so those packets are \
                 not load-balanced.",
                p.cluster_eps.len(),
                if p.cluster_eps.len() == 1 { "" } else { "s" },
                if m.entries.len() == 1 {
                    "this address"
                } else {
                    "these addresses"
                },
            );
            if !m.turned_away.is_empty() {
                f.detail.push_str(
                    " A no-endpoint element from a time the Service had none is still there: \
                     kube-proxy has not synced since its endpoints appeared.",
                );
            }
            if let Some(ev) = service_evidence(cx, p) {
                f.evidence.push(ev);
            }
            let want: Vec<String> = m.entries.iter().map(|e| expected_element(p, e)).collect();
            f.evidence.push(Evidence::new(
                artifact.clone(),
                format!("table {table}"),
                format!("missing: {}", list_capped(&want, EVIDENCE_ITEMS)),
            ));
            for t in &m.turned_away {
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
        "every expected Service address is in kube-proxy's nftables maps",
        vec![Evidence::new(
            nft_artifact(),
            format!("table {TABLE}"),
            "compared with the expected Service ports",
        )],
    )
}
