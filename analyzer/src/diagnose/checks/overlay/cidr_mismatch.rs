//! C35: the cluster's pod range is declared in several places that must agree — kube-proxy's
//! `clusterCIDR` (it masquerades traffic from outside it), each Node's `spec.podCIDR` (allocated
//! by the controller manager from `--cluster-cidr`), the CNI's own network (Calico IPPools,
//! flannel's `net-conf.json` Network and the node's `/run/flannel/subnet.env`). When they
//! disagree, pods get addresses the other parts do not route or treat as external: flannel
//! refuses to start (`pod cidr not assigned`), or pods get addresses outside the CNI network and
//! cross-node traffic has no route (flannel-io/flannel#1983, #1607, #728; kubernetes#71249).

use std::net::IpAddr;

use crate::diagnose::checks::{list_capped, Check, CheckInfo};
use crate::diagnose::expect::{cidr_contains, parse_cidr};
use crate::diagnose::facts::{ClusterFacts, NODES_YAML, PODS_YAML};
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "cluster-cidr-mismatch",
    catalog: "C35",
    title: "Pod ranges disagree between kube-proxy, Nodes and the CNI",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://github.com/flannel-io/flannel/issues/1983",
        "https://github.com/flannel-io/flannel/issues/1607",
        "https://github.com/flannel-io/flannel/issues/728",
        "https://github.com/kubernetes/kubernetes/issues/71249",
    ],
    evidence: "kube-proxy `clusterCIDR`; Node `spec.podCIDR(s)`; Calico IPPool cidrs; flannel `net-conf.json` Network and `/run/flannel/subnet.env`; pod IPs of non-host-network pods.",
    fix: "Make the ranges agree (kube-proxy clusterCIDR, --cluster-cidr, the CNI's network), then restart kube-proxy and the CNI pods.",
};

pub const CHECK: Check = Check { info: &INFO, run };

type Net = (IpAddr, u8);

fn fmt_net((a, l): Net) -> String {
    format!("{a}/{l}")
}

fn inside(inner: Net, outer: Net) -> bool {
    inner.0.is_ipv4() == outer.0.is_ipv4() && inner.1 >= outer.1 && cidr_contains(outer, inner.0)
}

/// The CNI's pod networks: enabled Calico pools, else flannel's configured Network.
fn cni_networks(cx: &Context<'_>) -> Vec<(Net, String, String)> {
    let mut out: Vec<(Net, String, String)> = cx
        .cluster
        .state
        .ip_pools
        .iter()
        .filter(|p| !p.spec.disabled)
        .filter_map(|p| {
            Some((
                parse_cidr(&p.spec.cidr)?,
                "k8s/ippools.crd.projectcalico.org.yaml".to_string(),
                format!("IPPool {} .spec.cidr", p.metadata.name),
            ))
        })
        .collect();
    for cm in &cx.cluster.state.config_maps {
        if cm.metadata.name != "kube-flannel-cfg" {
            continue;
        }
        let Some(conf) = cm.data.get("net-conf.json") else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(conf) else {
            continue;
        };
        if let Some(n) = v
            .get("Network")
            .and_then(|n| n.as_str())
            .and_then(parse_cidr)
        {
            out.push((
                n,
                ClusterFacts::artifact(&format!(
                    "configmap-{}-kube-flannel-cfg.yaml",
                    cm.metadata.namespace
                )),
                "data.net-conf.json Network".to_string(),
            ));
        }
    }
    out
}

fn run(cx: &Context<'_>) -> Verdicts {
    let cni = cni_networks(cx);
    let cluster_cidr = cx
        .cluster
        .kube_proxy()
        .and_then(|k| parse_cidr(&k.cluster_cidr));
    let mut problems: Vec<String> = Vec::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    // kube-proxy's clusterCIDR against the CNI's networks.
    if let Some(cc) = cluster_cidr {
        let same_family: Vec<_> = cni
            .iter()
            .filter(|(n, ..)| n.0.is_ipv4() == cc.0.is_ipv4())
            .collect();
        if !same_family.is_empty() && !same_family.iter().any(|(n, ..)| inside(*n, cc)) {
            problems.push(format!(
                "kube-proxy clusterCIDR {} contains none of the CNI networks ({})",
                fmt_net(cc),
                list_capped(
                    &same_family
                        .iter()
                        .map(|(n, ..)| fmt_net(*n))
                        .collect::<Vec<_>>(),
                    3
                )
            ));
            let (n, l) = cx
                .cluster
                .find_line(
                    "configmap-kube-system-kube-proxy.yaml",
                    None,
                    &["clusterCIDR:"],
                )
                .map_or(
                    (
                        String::from("data.config.conf"),
                        format!("clusterCIDR: {}", fmt_net(cc)),
                    ),
                    |(n, l)| (format!("line {n}"), l),
                );
            evidence.push(Evidence::new(
                ClusterFacts::artifact("configmap-kube-system-kube-proxy.yaml"),
                n,
                l,
            ));
            for (net, artifact, locator) in &same_family {
                evidence.push(Evidence::new(
                    artifact.clone(),
                    locator.clone(),
                    fmt_net(*net),
                ));
            }
        }
    }
    // Node podCIDRs outside kube-proxy's clusterCIDR or every CNI network (flannel allocates
    // from the Node's podCIDR, so a podCIDR outside its Network is fatal there).
    for node in &cx.cluster.state.nodes {
        for c in node
            .spec
            .pod_cidrs
            .iter()
            .chain(std::iter::once(&node.spec.pod_cidr))
            .filter_map(|c| parse_cidr(c))
        {
            let outside_cc =
                cluster_cidr.is_some_and(|cc| cc.0.is_ipv4() == c.0.is_ipv4() && !inside(c, cc));
            let fam: Vec<_> = cni
                .iter()
                .filter(|(n, ..)| n.0.is_ipv4() == c.0.is_ipv4())
                .collect();
            let outside_cni = !fam.is_empty() && !fam.iter().any(|(n, ..)| inside(c, *n));
            // Calico allocates from its pools regardless of podCIDR; only flannel's Network
            // and kube-proxy's clusterCIDR must contain it.
            let flannel_only = cni.iter().all(|(_, a, _)| a.contains("flannel"));
            if outside_cc || (outside_cni && flannel_only) {
                problems.push(format!(
                    "Node {} podCIDR {} lies outside {}",
                    node.metadata.name,
                    fmt_net(c),
                    if outside_cc {
                        "kube-proxy's clusterCIDR"
                    } else {
                        "flannel's Network"
                    }
                ));
                evidence.push(Evidence::new(
                    ClusterFacts::artifact(NODES_YAML),
                    format!("Node {} .spec.podCIDR", node.metadata.name),
                    fmt_net(c),
                ));
            }
        }
    }
    // flannel's subnet.env on this node.
    if let Ok(env) = cx.node.text("files/run/flannel/subnet.env") {
        let get = |k: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(str::trim)
                .and_then(parse_cidr)
        };
        if let (Some(net), Some(sub)) = (get("FLANNEL_NETWORK"), get("FLANNEL_SUBNET")) {
            if !cidr_contains(net, sub.0) {
                problems.push(format!(
                    "flannel's subnet {} on this node lies outside its network {}",
                    fmt_net(sub),
                    fmt_net(net)
                ));
                evidence.push(Evidence::new(
                    "files/run/flannel/subnet.env",
                    "FLANNEL_NETWORK, FLANNEL_SUBNET",
                    format!(
                        "FLANNEL_NETWORK={} FLANNEL_SUBNET={}",
                        fmt_net(net),
                        fmt_net(sub)
                    ),
                ));
            }
        }
    }
    // Pods with addresses outside every CNI network.
    if !cni.is_empty() {
        let stray: Vec<String> = cx
            .cluster
            .state
            .pods
            .iter()
            .filter(|p| !p.spec.host_network && p.status.phase == "Running")
            .filter_map(|p| {
                let ip: IpAddr = p.status.pod_ip.parse().ok()?;
                let covered = cni.iter().any(|(n, ..)| cidr_contains(*n, ip));
                (!covered && cni.iter().any(|(n, ..)| n.0.is_ipv4() == ip.is_ipv4()))
                    .then(|| format!("{}/{} {ip}", p.metadata.namespace, p.metadata.name))
            })
            .collect();
        if !stray.is_empty() {
            problems.push(format!(
                "{} running pod(s) have addresses outside the CNI network: {}",
                stray.len(),
                list_capped(&stray, 2)
            ));
            evidence.push(Evidence::new(
                ClusterFacts::artifact(PODS_YAML),
                "status.podIP",
                list_capped(&stray, 10),
            ));
        }
    }
    if problems.is_empty() {
        return Verdicts::clear(
            if cni.is_empty() {
                "nothing to compare: no CNI network (Calico IP pool, flannel net-conf.json) was read"
                    .to_string()
            } else {
                format!(
                    "kube-proxy's clusterCIDR, the Nodes' podCIDRs and the pods' addresses agree \
                     with the CNI network(s) ({}) as far as they were read",
                    list_capped(
                        &cni.iter().map(|(n, ..)| fmt_net(*n)).collect::<Vec<_>>(),
                        3
                    )
                )
            },
            Vec::new(),
        );
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::Medium,
        format!("Pod ranges disagree: {}", problems.join("; ")),
    );
    f.detail = "kube-proxy decides what to masquerade from clusterCIDR, the controller manager \
        hands out Node podCIDRs, and the CNI assigns and routes pod addresses from its own \
        network; where they disagree, pods get addresses the others do not route or treat as \
        external."
        .to_string();
    f.evidence = evidence;
    f.fix.push(FixStep::manual(
        "Make the ranges agree: kube-proxy's clusterCIDR and the controller manager's \
         --cluster-cidr must contain the CNI's network (Calico IPPools, flannel's net-conf.json \
         Network); then restart kube-proxy and the CNI pods.",
    ));
    Verdicts::found(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment() {
        let n = |s: &str| parse_cidr(s).expect("cidr");
        assert!(inside(n("10.244.1.0/24"), n("10.244.0.0/16")));
        assert!(!inside(n("10.0.0.0/8"), n("10.244.0.0/16")));
        assert!(!inside(n("100.244.0.0/24"), n("10.244.0.0/16")));
    }
}
