//! Causal links between findings: which cause explains which other finding, so the report
//! leads with root causes in fix order and folds their consequences under them.
//!
//! A link is declared once here, by check id; it applies between findings about the same node.
//! A cause explained by another cause is not a root cause (kube-proxy crash-looping because
//! ip_vs is missing is fixed by loading ip_vs).

use std::collections::BTreeMap;

use super::finding::Finding;

/// (cause, consequence) by check id.
pub const EXPLAINS: &[(&str, &str)] = &[
    // C01: no ip_vs → kube-proxy cannot program IPVS → no virtual servers, no kube-ipvs0.
    ("ipvs-modules-missing", "ipvs-virtual-server-missing"),
    ("ipvs-modules-missing", "ipvs-real-servers-wrong"),
    ("ipvs-modules-missing", "kube-ipvs0-missing"),
    ("ipvs-modules-missing", "kube-proxy-not-running"),
    // C04: the host lacks the module; kube-proxy's own failed modprobe is why it stayed so.
    ("ipvs-modules-missing", "kube-proxy-cannot-modprobe"),
    (
        "ipvs-scheduler-module-missing",
        "ipvs-virtual-server-missing",
    ),
    ("ipvs-scheduler-module-missing", "ipvs-scheduler-mismatch"),
    ("ipvs-scheduler-module-missing", "kube-proxy-not-running"),
    // C05, C09: kube-proxy's sync stops at the ipsets or at iptables-restore.
    ("ipset-unavailable", "kube-proxy-not-running"),
    ("iptables-restore-failing", "ipvs-real-servers-wrong"),
    ("kube-proxy-not-running", "ipvs-virtual-server-missing"),
    ("kube-proxy-not-running", "ipvs-real-servers-wrong"),
    ("kube-proxy-not-running", "kube-ipvs0-missing"),
    // C41: kube-proxy v1.18.0-2 cannot list real servers on kernels < 3.18, so never syncs them.
    ("ipvs-netlink-api-mismatch", "ipvs-real-servers-wrong"),
    // C16/C17: a Service without usable endpoints has virtual servers without real servers.
    ("service-no-endpoints", "ipvs-real-servers-wrong"),
    ("endpoints-not-ready", "ipvs-real-servers-wrong"),
    // C18: a named targetPort no Pod defines leaves every Pod out of the endpoints.
    ("target-port-mismatch", "service-no-endpoints"),
    // iptables/nftables mode: kube-proxy not running, not syncing (C09) or not in the mode it
    // is configured for leaves the Service rules missing, stale or pointing at old endpoints;
    // a wrong node name (C07) makes it drop traffic for its own local endpoints.
    ("kube-proxy-not-running", "iptables-service-rules-missing"),
    ("kube-proxy-not-running", "iptables-endpoints-wrong"),
    ("kube-proxy-not-running", "iptables-stale-service-rules"),
    ("kube-proxy-not-running", "nftables-service-missing"),
    ("kube-proxy-not-running", "nftables-endpoints-wrong"),
    ("proxy-mode-mismatch", "iptables-service-rules-missing"),
    ("proxy-mode-mismatch", "iptables-endpoints-wrong"),
    ("proxy-mode-mismatch", "iptables-stale-service-rules"),
    ("proxy-mode-mismatch", "nftables-service-missing"),
    ("proxy-mode-mismatch", "nftables-endpoints-wrong"),
    ("iptables-restore-failing", "iptables-service-rules-missing"),
    ("iptables-restore-failing", "iptables-endpoints-wrong"),
    ("iptables-restore-failing", "iptables-stale-service-rules"),
    ("kube-proxy-node-name-mismatch", "iptables-endpoints-wrong"),
    ("kube-proxy-node-name-mismatch", "nftables-endpoints-wrong"),
    // C28: IPIP in the pool → routes via tunl0; after switching it off, tunl0 stays behind.
    ("calico-ipip-on-flat-network", "tunl0-routes-while-ipip-off"),
    // C29: peers dial the wrongly autodetected address → BGP sessions never establish (C30).
    ("calico-autodetect-wrong-address", "calico-bgp-down"),
];

/// Fills `explains`, `explained_by` and `root_cause`, and orders the findings: root causes by
/// layer (packet path) and severity, each followed by what it explains, then the rest.
pub fn link(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(order);
    findings.dedup_by(|a, b| a.key() == b.key() && a.node == b.node);
    let keys: Vec<String> = findings.iter().map(Finding::key).collect();
    let mut explains: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, cause) in findings.iter().enumerate() {
        for (j, effect) in findings.iter().enumerate() {
            if i != j
                && cause.node == effect.node
                && same_service(cause, effect)
                && EXPLAINS
                    .iter()
                    .any(|(c, e)| *c == cause.id && *e == effect.id)
            {
                explains.entry(i).or_default().push(j);
            }
        }
    }
    for (i, effects) in &explains {
        for j in effects {
            findings[*i].explains.push(keys[*j].clone());
            findings[*j].explained_by.push(keys[*i].clone());
        }
    }
    for f in &mut findings {
        f.root_cause = f.is_cause && f.explained_by.is_empty();
    }
    // Roots in order, each followed by its consequences (depth first), then the rest.
    let mut placed = vec![false; findings.len()];
    let mut order_idx = Vec::with_capacity(findings.len());
    fn place(
        i: usize,
        explains: &BTreeMap<usize, Vec<usize>>,
        placed: &mut [bool],
        out: &mut Vec<usize>,
    ) {
        if placed[i] {
            return;
        }
        placed[i] = true;
        out.push(i);
        for j in explains.get(&i).into_iter().flatten() {
            place(*j, explains, placed, out);
        }
    }
    let roots: Vec<usize> = (0..findings.len())
        .filter(|i| findings[*i].root_cause)
        .collect();
    for i in roots {
        place(i, &explains, &mut placed, &mut order_idx);
    }
    for i in 0..findings.len() {
        place(i, &explains, &mut placed, &mut order_idx);
    }
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    order_idx
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

/// Findings about Service ports (subjects `namespace/name[:port]`, a symptom's subject may add
/// the address after a space) are linked only within the same Service port: a Service without
/// endpoints explains its own virtual servers' missing real servers, not another Service's.
fn same_service(cause: &Finding, effect: &Finding) -> bool {
    match (&cause.subject, &effect.subject) {
        (Some(c), Some(e)) if c.contains('/') && e.contains('/') => {
            e == c
                || e.strip_prefix(c.as_str())
                    .is_some_and(|rest| rest.starts_with(' '))
        }
        _ => true,
    }
}

/// Packet-path layer first; within a layer causes before symptoms, then severity, node, id.
fn order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    let key = |f: &Finding| {
        (
            f.layer,
            !f.is_cause,
            f.severity,
            f.node.clone(),
            f.id,
            f.subject.clone(),
        )
    };
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::finding::{Confidence, Layer, Severity};

    fn finding(id: &'static str, subject: &str, cause: bool) -> Finding {
        Finding {
            id,
            catalog: "",
            subject: Some(subject.to_string()),
            node: Some("node1".to_string()),
            severity: Severity::Error,
            layer: if cause { Layer::Service } else { Layer::Proxy },
            root_cause: false,
            explains: Vec::new(),
            explained_by: Vec::new(),
            confidence: Confidence::High,
            summary: String::new(),
            detail: String::new(),
            evidence: Vec::new(),
            fix: Vec::new(),
            verify: Vec::new(),
            references: Vec::new(),
            is_cause: cause,
        }
    }

    #[test]
    fn service_causes_explain_their_own_service_only() {
        let linked = link(vec![
            finding("service-no-endpoints", "default/web:http", true),
            finding(
                "ipvs-real-servers-wrong",
                "default/web:http TCP 10.96.0.5:80",
                false,
            ),
            finding(
                "ipvs-real-servers-wrong",
                "default/web2:http TCP 10.96.0.6:80",
                false,
            ),
            finding(
                "ipvs-real-servers-wrong",
                "default/web:https TCP 10.96.0.5:443",
                false,
            ),
        ]);
        let cause = linked
            .iter()
            .find(|f| f.id == "service-no-endpoints")
            .expect("cause");
        assert_eq!(
            cause.explains,
            ["ipvs-real-servers-wrong[default/web:http TCP 10.96.0.5:80]"]
        );
        assert!(cause.root_cause);
        let unexplained = linked
            .iter()
            .filter(|f| f.id == "ipvs-real-servers-wrong" && f.explained_by.is_empty())
            .count();
        assert_eq!(unexplained, 2);
    }

    #[test]
    fn node_wide_causes_explain_every_service() {
        let mut modules = finding("ipvs-modules-missing", "x", true);
        modules.subject = None;
        let linked = link(vec![
            modules,
            finding("ipvs-virtual-server-missing", "default/web:http", false),
            finding(
                "ipvs-virtual-server-missing",
                "kube-system/kube-dns:dns",
                false,
            ),
        ]);
        assert!(linked
            .iter()
            .filter(|f| f.id == "ipvs-virtual-server-missing")
            .all(|f| f.explained_by == ["ipvs-modules-missing"]));
    }
}
