//! Expected vs actual, IPVS mode: a Service address kube-proxy should have turned into a
//! virtual server (ClusterIP, each node address for a NodePort, externalIPs, LoadBalancer IPs;
//! `pkg/proxy/ipvs/proxier.go` `syncService`) is not in the IPVS table. Connections to it are
//! not balanced: they time out or reach whatever else listens there.

use std::collections::BTreeMap;

use crate::diagnose::checks::proxy::evidence_rules::not_applicable;
use crate::diagnose::checks::{ipvs_table_or_empty, list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::expect::{self, ExpectedVirtualServer, ServicePortRef};
use crate::diagnose::facts::{ClusterFacts, SERVICES_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "ipvs-virtual-server-missing",
    // A symptom of any cause that stops kube-proxy (C01, C03, C05, C06...): the cause it is
    // folded under carries the catalog entry (`chain`).
    catalog: "",
    title: "A Service address has no IPVS virtual server",
    layer: Layer::Proxy,
    cause: false,
    references: &["https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/ipvs/proxier.go"],
    evidence: "Expected virtual servers (Services × ClusterIPs, node addresses for NodePorts, externalIPs, LB IPs; `nodePortAddresses`) against the IPVS table (netlink, else `/proc/net/ip_vs`).",
    fix: "Fix the cause that stops kube-proxy; it recreates the virtual servers on its next sync.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    let Some(exp) = &cx.ipvs_expected else {
        return not_applicable(cx, "ipvs");
    };
    let (table, table_ev) = match ipvs_table_or_empty(cx) {
        Ok(t) => t,
        Err(m) => {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "whether every Service address has its IPVS virtual server",
                m.to_string(),
                Some("ipvsadm -Ln on the node"),
            ));
        }
    };
    let mut out = Judgement::new();
    let excluded = cx
        .cluster
        .kube_proxy()
        .map(|c| c.ipvs.exclude_cidrs.clone())
        .unwrap_or_default();
    let diff = expect::diff(exp, &table, &excluded);
    let mut by_service: BTreeMap<&ServicePortRef, Vec<&ExpectedVirtualServer>> = BTreeMap::new();
    for e in &diff.missing {
        by_service.entry(&e.service).or_default().push(e);
    }
    for (sref, missing) in by_service {
        let addrs: Vec<String> = missing
            .iter()
            .map(|e| format!("{} ({})", e.vaddr, e.role.as_str()))
            .collect();
        let mut f = cx.finding(
            &INFO,
            Severity::Error,
            Confidence::High,
            format!(
                "Service {sref} has no IPVS virtual server for {}",
                list_capped(&addrs, 3)
            ),
        );
        f.subject = Some(sref.to_string());
        f.detail = format!(
            "kube-proxy in IPVS mode turns every Service address into a virtual server; {} \
             of them for this Service port are not in the table ({} expected on this node).",
            missing.len(),
            exp.virtual_servers
                .iter()
                .filter(|e| e.service == *sref)
                .count()
        );
        let svc_line = cx.cluster.find_line(
            SERVICES_YAML,
            Some(&format!("name: {}", sref.name)),
            &["nodePort:"],
        );
        if let Some((n, line)) =
            svc_line.filter(|_| missing.iter().any(|e| e.role == expect::Role::NodePort))
        {
            f.evidence.push(Evidence::new(
                ClusterFacts::artifact(SERVICES_YAML),
                format!("line {n} ({}/{})", sref.namespace, sref.name),
                line,
            ));
        }
        f.evidence.push(table_ev.clone());
        f.evidence.push(Evidence::new(
            table_ev.artifact.clone(),
            "virtual servers",
            format!(
                "missing: {}",
                list_capped(
                    &missing
                        .iter()
                        .map(|e| e.vaddr.to_string())
                        .collect::<Vec<_>>(),
                    EVIDENCE_ITEMS
                )
            ),
        ));
        f.verify = missing.iter().map(|e| e.vaddr.verify_ipvs()).collect();
        // One client probe per kind of address (the NodePort on a node address, the
        // ClusterIP...), not one per node address; for a NodePort, the address the Node
        // object registers (InternalIP...) rather than a tunnel's.
        let registered: Vec<String> = cx
            .identity
            .as_ref()
            .and_then(|id| {
                cx.cluster
                    .state
                    .nodes
                    .iter()
                    .find(|n| n.metadata.name == id.name)
            })
            .map(|n| {
                n.status
                    .addresses
                    .iter()
                    .map(|a| a.address.clone())
                    .collect()
            })
            .unwrap_or_default();
        let mut probes: Vec<&ExpectedVirtualServer> = Vec::new();
        for e in &missing {
            let better = registered.contains(&e.vaddr.addr.to_string());
            match probes.iter_mut().find(|p| p.role == e.role) {
                None => probes.push(e),
                Some(p) if better && !registered.contains(&p.vaddr.addr.to_string()) => *p = e,
                Some(_) => {}
            }
        }
        for e in probes {
            f.verify.push(e.vaddr.verify_connect(&sref.port_name));
        }
        f.fix.push(FixStep::manual(
            "Fix what stops kube-proxy from programming IPVS (see the cause above, or \
             kube-proxy's log); kube-proxy recreates the virtual servers on its next sync.",
        ));
        out.found(f);
    }
    out.or_clear(
        format!(
            "each of the {} Service address(es) expected on this node has its IPVS virtual server",
            exp.virtual_servers.len()
        ),
        vec![table_ev],
    )
}
