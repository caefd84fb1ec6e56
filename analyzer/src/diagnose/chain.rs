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
