//! C34: the pod network (Calico IPPool, Node podCIDR, kube-proxy clusterCIDR) overlaps the
//! network the nodes themselves sit on. Routes to pod blocks then shadow or are shadowed by the
//! node's connected routes (`10.244.0.0/26 via ... dev tunl0` against `10.244.0.0/24 dev eth0`),
//! pod traffic is not masqueraded where it should be, and which pods or nodes are reachable
//! depends on which address a pod got. Calico's default pool 192.168.0.0/16 against a home or
//! office LAN is the classic (projectcalico/calico#1401, #2720, #4604; kubernetes#91768). A
//! ClusterIP inside the node's network is the same mistake for the Service CIDR.

use std::net::IpAddr;

use netsnap_bundle::names;

use crate::diagnose::checks::{list_capped, Check, CheckInfo};
use crate::diagnose::expect::{cidr_contains, parse_cidr};
use crate::diagnose::facts::{ClusterFacts, IPPOOLS_YAML, NODES_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "pod-cidr-overlaps-node-network",
    catalog: "C34",
    title: "Pod or Service network overlaps the node network",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://github.com/projectcalico/calico/issues/1401",
        "https://github.com/projectcalico/calico/issues/2720",
        "https://github.com/projectcalico/calico/issues/4604",
        "https://github.com/kubernetes/kubernetes/issues/91768",
    ],
    evidence: "Calico IPPool cidrs, Node podCIDRs and kube-proxy clusterCIDR against Node InternalIPs and this node's uplink prefixes; ClusterIPs against the same prefixes.",
    fix: "Rebuild or migrate the pod network (or Service CIDR) to a range that overlaps no node or LAN network; nothing on the node fixes it.",
};

pub const CHECK: Check = Check { info: &INFO, run };

type Net = (IpAddr, u8);

fn fmt_net((a, l): Net) -> String {
    format!("{a}/{l}")
}

/// Whether two prefixes share addresses (one contains the other's network address).
fn overlaps(a: Net, b: Net) -> bool {
    a.0.is_ipv4() == b.0.is_ipv4() && (cidr_contains(a, b.0) || cidr_contains(b, a.0))
}

/// Devices of the node network: not loopback, not kube-proxy's or a CNI's own devices.
fn is_uplink(dev: &str) -> bool {
    !(dev == "lo"
        || dev == "kube-ipvs0"
        || dev == "tunl0"
        || dev.starts_with("cali")
        || dev.starts_with("vxlan")
        || dev.starts_with("flannel")
        || dev.starts_with("cni")
        || dev.starts_with("cilium")
        || dev.starts_with("lxc")
        || dev.starts_with("veth")
        || dev.starts_with("wireguard")
        || dev.starts_with("docker"))
}

fn run(cx: &Context<'_>) -> Verdicts {
    let mut out = Judgement::new();
    // (pod network, artifact, where).
    let mut pod_nets: Vec<(Net, String, String)> = Vec::new();
    for p in cx
        .cluster
        .state
        .ip_pools
        .iter()
        .filter(|p| !p.spec.disabled)
    {
        if let Some(n) = parse_cidr(&p.spec.cidr) {
            let yaml = IPPOOLS_YAML
                .iter()
                .find(|y| {
                    cx.cluster
                        .text(y)
                        .is_some_and(|t| t.contains(p.metadata.name.as_str()))
                })
                .copied()
                .unwrap_or(IPPOOLS_YAML[0]);
            pod_nets.push((
                n,
                ClusterFacts::artifact(yaml),
                format!("IPPool {} .spec.cidr", p.metadata.name),
            ));
        }
    }
    for node in &cx.cluster.state.nodes {
        let cidrs = node
            .spec
            .pod_cidrs
            .iter()
            .chain(std::iter::once(&node.spec.pod_cidr));
        for c in cidrs.filter_map(|c| parse_cidr(c)) {
            pod_nets.push((
                c,
                ClusterFacts::artifact(NODES_YAML),
                format!("Node {} .spec.podCIDR", node.metadata.name),
            ));
        }
    }
    if let Some(c) = cx
        .cluster
        .kube_proxy()
        .and_then(|k| parse_cidr(&k.cluster_cidr))
    {
        pod_nets.push((
            c,
            ClusterFacts::artifact("configmap-kube-system-kube-proxy.yaml"),
            "clusterCIDR".to_string(),
        ));
    }
    pod_nets.sort_by_key(|(n, ..)| *n);
    pod_nets.dedup_by_key(|(n, ..)| *n);
    // The node network: uplink prefixes of this node, and every Node's InternalIP.
    let uplinks: Vec<(Net, String)> = cx
        .node
        .local_addresses()
        .into_iter()
        .filter(|(ip, dev, _)| is_uplink(dev) && !ip.is_loopback())
        .filter(|(ip, ..)| !matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80))
        .filter_map(|(ip, dev, a)| {
            let net = parse_cidr(&format!("{ip}/{}", a.prefixlen))?;
            Some((net, dev.to_string()))
        })
        .collect();
    let internal: Vec<(String, IpAddr)> = cx
        .cluster
        .state
        .nodes
        .iter()
        .flat_map(|n| {
            n.addresses_of("InternalIP")
                .filter_map(|a| a.parse().ok())
                .map(|ip| (n.metadata.name.clone(), ip))
                .collect::<Vec<_>>()
        })
        .collect();
    for (net, artifact, locator) in &pod_nets {
        let nodes_inside: Vec<String> = internal
            .iter()
            .filter(|(_, ip)| cidr_contains(*net, *ip))
            .map(|(n, ip)| format!("{n} {ip}"))
            .collect();
        let links_overlapping: Vec<String> = uplinks
            .iter()
            .filter(|(u, _)| overlaps(*u, *net))
            .map(|(u, dev)| format!("{} on {dev}", fmt_net(*u)))
            .collect();
        if nodes_inside.is_empty() && links_overlapping.is_empty() {
            continue;
        }
        let mut f = cx.finding(
            &INFO,
            Severity::Error,
            if nodes_inside.is_empty() {
                Confidence::Medium
            } else {
                Confidence::High
            },
            format!(
                "The pod network {} overlaps the node network ({})",
                fmt_net(*net),
                list_capped(
                    &nodes_inside
                        .iter()
                        .chain(&links_overlapping)
                        .cloned()
                        .collect::<Vec<_>>(),
                    3
                )
            ),
        );
        f.subject = Some(fmt_net(*net));
        f.detail = "Pod addresses and node addresses come from the same range: routes to pod \
            blocks and the node's connected routes compete, replies to some pods leave by the \
            wrong device, and masquerading decisions based on the pod range misfire."
            .to_string();
        f.evidence.push(Evidence::new(
            artifact.clone(),
            locator.clone(),
            fmt_net(*net),
        ));
        if !nodes_inside.is_empty() {
            f.evidence.push(Evidence::new(
                ClusterFacts::artifact(NODES_YAML),
                "status.addresses InternalIP",
                nodes_inside.join(", "),
            ));
        }
        if !links_overlapping.is_empty() {
            f.evidence.push(Evidence::new(
                names::RTNL_ADDRS,
                "uplink addresses",
                links_overlapping.join(", "),
            ));
        }
        f.fix.push(FixStep::manual(
            "Move the pod network to a range no node or LAN uses (a new IPPool and migration for \
             Calico, or a cluster rebuilt with another --pod-network-cidr); nothing on this node \
             fixes it.",
        ));
        out.found(f);
    }
    // ClusterIPs inside the node network.
    let mut inside: Vec<String> = Vec::new();
    for svc in &cx.cluster.state.services {
        for ip in svc
            .spec
            .cluster_ips
            .iter()
            .chain(std::iter::once(&svc.spec.cluster_ip))
            .filter_map(|s| s.parse::<IpAddr>().ok())
        {
            if let Some((u, dev)) = uplinks.iter().find(|(u, _)| cidr_contains(*u, ip)) {
                let s = format!(
                    "{}/{} {ip} in {} on {dev}",
                    svc.metadata.namespace,
                    svc.metadata.name,
                    fmt_net(*u)
                );
                if !inside.contains(&s) {
                    inside.push(s);
                }
            }
        }
    }
    if !inside.is_empty() {
        let mut f = cx.finding(
            &INFO,
            Severity::Warning,
            Confidence::Medium,
            format!(
                "{} ClusterIP(s) lie inside the node network: {}",
                inside.len(),
                list_capped(&inside, 2)
            ),
        );
        f.subject = Some("service-cidr".to_string());
        f.detail = "The Service CIDR overlaps a network the node is on: hosts of that network \
            with the same addresses become unreachable from pods, and traffic to them is \
            load-balanced instead."
            .to_string();
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact("services.yaml"),
            "spec.clusterIP",
            list_capped(&inside, 10),
        ));
        f.fix.push(FixStep::manual(
            "Choose a Service CIDR (--service-cluster-ip-range) that no node network uses.",
        ));
        out.found(f);
    }
    out.or_clear(
        format!(
            "no pod network ({} read) overlaps the node's networks, and no ClusterIP is on the \
             node's LAN",
            pod_nets.len()
        ),
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_symmetric_and_family_aware() {
        let n = |s: &str| parse_cidr(s).expect("cidr");
        assert!(overlaps(n("192.168.0.0/16"), n("192.168.18.0/24")));
        assert!(overlaps(n("192.168.18.0/24"), n("192.168.0.0/16")));
        assert!(!overlaps(n("10.244.0.0/16"), n("192.168.122.0/24")));
        assert!(!overlaps(n("10.0.0.0/8"), n("fd00::/8")));
        assert!(
            is_uplink("eth0") && is_uplink("ens5") && !is_uplink("cali12") && !is_uplink("tunl0")
        );
    }
}
