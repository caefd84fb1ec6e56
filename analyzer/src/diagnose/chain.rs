//! Causal links between findings: which cause explains which other finding, so the report
//! leads with root causes in fix order and folds their consequences under them.
//!
//! Links are declared here by check id: what each cause keeps kube-proxy from programming and
//! what each symptom shows unprogrammed ([`STOPS`], [`SHOWS`]), and other pairs
//! ([`EXPLAINS`]); they apply between findings about the same node.
//! A cause explained by another cause is not a root cause (kube-proxy crash-looping because
//! ip_vs is missing is fixed by loading ip_vs).

use std::collections::BTreeMap;

use super::finding::Finding;

/// What kube-proxy programs on a node. A symptom shows one of these missing or stale; a
/// cause that stops kube-proxy before it explains every such symptom, whichever cause it is
/// (missing modules, a missing scheduler, ipset, a crash...): the consequence folds under
/// whatever root was found, and carries no catalog entry of one particular cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Programmed {
    /// IPVS virtual servers, and the Service addresses bound to kube-ipvs0 with them
    /// (`pkg/proxy/ipvs/proxier.go` `syncService`: the address is bound only once its virtual
    /// server exists).
    IpvsServices,
    /// The real servers of the virtual servers (`syncEndpoint`, after `syncService`).
    IpvsRealServers,
    /// iptables mode's Service rules (one `iptables-restore` per sync).
    IptablesRules,
    /// nftables mode's `kube-proxy` table.
    NftablesRules,
}

use Programmed::{IptablesRules, IpvsRealServers, IpvsServices, NftablesRules};

const IPVS: &[Programmed] = &[IpvsServices, IpvsRealServers];

/// Causes that keep kube-proxy from programming the node, and what they keep it from, by
/// check id. The order of an IPVS sync (`syncProxyRules`) decides: ipsets and kube-ipvs0
/// first, then per Service port its virtual server with its address, then its real servers,
/// then one `iptables-restore`; a cause stops everything after the step it breaks.
const STOPS: &[(&str, &[Programmed])] = &[
    // C01: no usable ip_vs. kube-proxy exits (v1.26+, PR #111806) or falls back to iptables;
    // nothing of IPVS is programmed. (C04, kube-proxy's own failed modprobe, is reported only
    // when the host lacks the module too, so C01 explains it and these; from v1.27 on the
    // failed modprobe stops nothing at all.)
    ("ipvs-modules-missing", IPVS),
    // C03: the kernel refuses every virtual server of that scheduler, so `syncService` returns
    // before binding the address (older releases), or kube-proxy exits at start-up (v1.27+,
    // its dummy virtual server).
    ("ipvs-scheduler-module-missing", IPVS),
    // C05: the sync stops at ensuring its ipsets, before any Service (or kube-proxy exits at
    // start-up without a usable ipset binary).
    ("ipset-unavailable", IPVS),
    // C06: nothing runs to program anything.
    (
        "kube-proxy-not-running",
        &[IpvsServices, IpvsRealServers, IptablesRules, NftablesRules],
    ),
    // C09: in IPVS mode iptables-restore comes after the virtual servers, their addresses and
    // their real servers; the aborted sync is retried, so the IPVS state it leaves is partial
    // (real servers), never without virtual servers or kube-ipvs0 addresses. In iptables mode
    // none of the sync's rules land.
    (
        "iptables-restore-failing",
        &[IpvsRealServers, IptablesRules],
    ),
    // C41: kube-proxy v1.18.0-2 cannot list real servers on kernels < 3.18, so never syncs
    // them; virtual servers and addresses are unaffected.
    ("ipvs-netlink-api-mismatch", &[IpvsRealServers]),
];

/// Symptoms of what kube-proxy did not program, by check id.
const SHOWS: &[(&str, Programmed)] = &[
    ("ipvs-virtual-server-missing", IpvsServices),
    ("kube-ipvs0-missing", IpvsServices),
    ("ipvs-real-servers-wrong", IpvsRealServers),
    ("iptables-service-rules-missing", IptablesRules),
    ("iptables-endpoints-wrong", IptablesRules),
    ("iptables-stale-service-rules", IptablesRules),
    ("nftables-service-missing", NftablesRules),
    ("nftables-endpoints-wrong", NftablesRules),
];

/// Other (cause, consequence) links by check id.
pub const EXPLAINS: &[(&str, &str)] = &[
    // C01/C03/C05: kube-proxy exits when IPVS cannot be used (v1.26+) and crash-loops.
    ("ipvs-modules-missing", "kube-proxy-not-running"),
    ("ipvs-scheduler-module-missing", "kube-proxy-not-running"),
    ("ipset-unavailable", "kube-proxy-not-running"),
    // C04: the host lacks the module; kube-proxy's own failed modprobe is why it stayed so.
    ("ipvs-modules-missing", "kube-proxy-cannot-modprobe"),
    // C16/C17: a Service without usable endpoints has virtual servers without real servers.
    ("service-no-endpoints", "ipvs-real-servers-wrong"),
    ("endpoints-not-ready", "ipvs-real-servers-wrong"),
    // C18: a named targetPort no Pod defines leaves every Pod out of the endpoints.
    ("target-port-mismatch", "service-no-endpoints"),
    // kube-proxy not in the mode it is configured for leaves the Service rules missing, stale
    // or pointing at old endpoints; a wrong node name (C07) makes it drop traffic for its own
    // local endpoints.
    ("proxy-mode-mismatch", "iptables-service-rules-missing"),
    ("proxy-mode-mismatch", "iptables-endpoints-wrong"),
    ("proxy-mode-mismatch", "iptables-stale-service-rules"),
    ("proxy-mode-mismatch", "nftables-service-missing"),
    ("proxy-mode-mismatch", "nftables-endpoints-wrong"),
    ("kube-proxy-node-name-mismatch", "iptables-endpoints-wrong"),
    ("kube-proxy-node-name-mismatch", "nftables-endpoints-wrong"),
    // C28: IPIP in the pool → routes via tunl0; after switching it off, tunl0 stays behind.
    ("calico-ipip-on-flat-network", "tunl0-routes-while-ipip-off"),
    // C29: peers dial the wrongly autodetected address → BGP sessions never establish (C30).
    ("calico-autodetect-wrong-address", "calico-bgp-down"),
];

/// Whether findings of check `cause` explain findings of check `effect`.
pub fn check_explains(cause: &str, effect: &str) -> bool {
    let stopped = |p: &Programmed| {
        STOPS
            .iter()
            .any(|(c, stops)| *c == cause && stops.contains(p))
    };
    SHOWS.iter().any(|(e, p)| *e == effect && stopped(p))
        || EXPLAINS.iter().any(|(c, e)| *c == cause && *e == effect)
}

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
                && check_explains(cause.id, effect.id)
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
    fn a_symptom_folds_under_any_cause_that_stops_kube_proxy() {
        for cause in [
            "ipvs-modules-missing",
            "ipvs-scheduler-module-missing",
            "ipset-unavailable",
            "kube-proxy-not-running",
        ] {
            let mut root = finding(cause, "x", true);
            root.subject = None;
            root.layer = Layer::Kernel;
            let mut ipvs0 = finding("kube-ipvs0-missing", "kube-ipvs0", false);
            ipvs0.layer = Layer::Proxy;
            let linked = link(vec![
                ipvs0,
                root,
                finding("ipvs-virtual-server-missing", "default/web:http", false),
            ]);
            assert_eq!(linked[0].id, cause, "{linked:?}");
            assert!(linked[0].root_cause);
            for f in &linked[1..] {
                assert_eq!(f.explained_by, [cause], "{}", f.id);
            }
        }
        // The virtual servers and kube-ipvs0's addresses come before iptables-restore and the
        // real servers in kube-proxy's sync: these causes do not explain their absence.
        for cause in ["iptables-restore-failing", "ipvs-netlink-api-mismatch"] {
            assert!(!check_explains(cause, "kube-ipvs0-missing"), "{cause}");
            assert!(
                !check_explains(cause, "ipvs-virtual-server-missing"),
                "{cause}"
            );
            assert!(check_explains(cause, "ipvs-real-servers-wrong"), "{cause}");
        }
        assert!(check_explains(
            "kube-proxy-not-running",
            "nftables-endpoints-wrong"
        ));
        assert!(!check_explains(
            "ipvs-modules-missing",
            "iptables-service-rules-missing"
        ));
    }

    /// A consequence is explained by whichever cause stops kube-proxy: the catalog entry is
    /// the cause's, never the symptom's.
    #[test]
    fn symptoms_carry_no_catalog_entry() {
        for (id, _) in SHOWS {
            let info = crate::diagnose::checks::infos().find(|i| i.id == *id);
            let info = info.unwrap_or_else(|| panic!("no check {id}"));
            assert!(!info.cause, "{id}");
            assert_eq!(info.catalog, "", "{id}");
        }
        for (id, _) in STOPS {
            let info = crate::diagnose::checks::infos().find(|i| i.id == *id);
            assert!(
                info.is_some_and(|i| i.cause && !i.catalog.is_empty()),
                "{id}"
            );
        }
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
