//! C10: with `nodePortAddresses` set, kube-proxy serves NodePorts only on the node addresses
//! inside those CIDRs (`primary` = the Node's own primary IPs, v1.29+); every other address of
//! the node refuses or drops NodePort traffic (iptables mode writes one `-d <ip> -j
//! KUBE-NODEPORTS` rule per selected address, IPVS mode creates virtual servers only for them,
//! nftables mode fills the `nodeport-ips` set). Reported so the user knows which addresses do
//! not serve NodePorts (kubernetes website PR #7631, "Virtual IPs and Service Proxies").

use std::net::IpAddr;

use crate::diagnose::checks::{list_capped, restart_kube_proxy, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::expect::{cidr_contains, parse_cidr, KUBE_IPVS0};
use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_CONFIGMAP_YAML};
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};
use netsnap_bundle::names;

pub const INFO: CheckInfo = CheckInfo {
    id: "nodeport-addresses-limited",
    catalog: "C10",
    title: "nodePortAddresses keeps some node addresses from serving NodePorts",
    layer: Layer::Proxy,
    cause: true,
    references: &[
        "https://github.com/kubernetes/website/pull/7631",
        "https://kubernetes.io/docs/reference/networking/virtual-ips/",
    ],
    evidence: "kube-proxy ConfigMap `nodePortAddresses`; the node's addresses (without kube-ipvs0, loopback and IPv6 link-local); the Node's InternalIP/ExternalIP; Services with a nodePort.",
    fix: "Use an address inside nodePortAddresses, or widen or empty nodePortAddresses and restart kube-proxy.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    let Some(config) = cx.cluster.kube_proxy() else {
        return Verdicts::clear(
            "nothing restricts NodePort addresses as far as known: kube-proxy's configuration \
             was not read",
            Vec::new(),
        );
    };
    let config_ev = || {
        use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_CONFIGMAP_YAML};
        cx.cluster
            .find_line(KUBE_PROXY_CONFIGMAP_YAML, None, &["nodePortAddresses"])
            .map(|(n, l)| {
                Evidence::new(
                    ClusterFacts::artifact(KUBE_PROXY_CONFIGMAP_YAML),
                    format!("line {n} (data.config.conf)"),
                    l,
                )
            })
            .into_iter()
            .collect::<Vec<_>>()
    };
    let entries: Vec<&str> = config
        .node_port_addresses
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if entries.is_empty() {
        return Verdicts::clear(
            "nodePortAddresses is not set: NodePorts are served on every node address",
            config_ev(),
        );
    }
    let node_ports: Vec<String> = cx
        .cluster
        .state
        .services
        .iter()
        .flat_map(|s| {
            s.spec.ports.iter().filter_map(move |p| {
                p.node_port
                    .map(|np| format!("{}/{}:{np}", s.metadata.namespace, s.metadata.name))
            })
        })
        .collect();
    if node_ports.is_empty() {
        return Verdicts::clear("does not apply: no Service has a NodePort", config_ev());
    }
    if cx.node.addrs.is_err() || cx.node.links.is_err() {
        let why = cx
            .node
            .addrs
            .as_ref()
            .err()
            .or(cx.node.links.as_ref().err())
            .map_or_else(String::new, ToString::to_string);
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "which node addresses serve NodePorts",
            why,
            Some("ip -br addr"),
        ));
    }
    let cidrs: Vec<(IpAddr, u8)> = entries.iter().filter_map(|c| parse_cidr(c)).collect();
    let primary = entries.contains(&"primary");
    let node_ips: Vec<(String, IpAddr)> = cx
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
                .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
                .filter_map(|a| Some((a.type_.clone(), a.address.parse().ok()?)))
                .collect()
        })
        .unwrap_or_default();
    let serves = |ip: IpAddr| {
        cidrs.iter().any(|c| cidr_contains(*c, ip))
            || (primary && node_ips.iter().any(|(t, a)| t == "InternalIP" && *a == ip))
    };
    let families: Vec<bool> = cidrs
        .iter()
        .map(|(a, _)| a.is_ipv4())
        .chain(
            node_ips
                .iter()
                .filter(|_| primary)
                .map(|(_, a)| a.is_ipv4()),
        )
        .collect();
    let mut excluded: Vec<String> = Vec::new();
    let mut served = 0usize;
    for (ip, dev, _) in cx.node.local_addresses() {
        // A family no CIDR names is not served by this setting's proxier at all (single-stack
        // clusters); only addresses of the configured families are worth naming.
        if dev == KUBE_IPVS0
            || ip.is_loopback()
            || is_link_local_v6(ip)
            || !families.contains(&ip.is_ipv4())
        {
            continue;
        }
        if serves(ip) {
            served += 1;
        } else {
            excluded.push(format!("{ip} ({dev})"));
        }
    }
    let node_ip_excluded: Vec<String> = node_ips
        .iter()
        .filter(|(_, ip)| families.contains(&ip.is_ipv4()) && !serves(*ip))
        .map(|(t, ip)| format!("{t} {ip}"))
        .collect();
    if excluded.is_empty() && node_ip_excluded.is_empty() {
        return Verdicts::clear(
            format!("nodePortAddresses covers every node address ({served} served)"),
            config_ev(),
        );
    }
    let (severity, confidence, summary) = if served == 0 {
        (
            Severity::Error,
            Confidence::High,
            format!(
                "nodePortAddresses ({}) matches no address of this node: no NodePort is served here",
                entries.join(", ")
            ),
        )
    } else if !node_ip_excluded.is_empty() {
        (
            Severity::Warning,
            Confidence::High,
            format!(
                "NodePorts are not served on the Node's own {} (outside nodePortAddresses {})",
                node_ip_excluded.join(", "),
                entries.join(", ")
            ),
        )
    } else {
        (
            Severity::Info,
            Confidence::High,
            format!(
                "NodePorts are not served on {} (outside nodePortAddresses {})",
                list_capped(&excluded, 4),
                entries.join(", ")
            ),
        )
    };
    let mut f = cx.finding(&INFO, severity, confidence, summary);
    f.detail = format!(
        "kube-proxy accepts NodePort traffic only on node addresses inside nodePortAddresses; \
         connections to {} for any of {} NodePort(s) ({}) are refused or time out.",
        if excluded.is_empty() {
            node_ip_excluded.join(", ")
        } else {
            list_capped(&excluded, EVIDENCE_ITEMS)
        },
        node_ports.len(),
        list_capped(&node_ports, 3)
    );
    let (locator, excerpt) = cx
        .cluster
        .find_line(KUBE_PROXY_CONFIGMAP_YAML, None, &["nodePortAddresses:"])
        .map_or_else(
            || {
                (
                    "data.config.conf".to_string(),
                    format!("nodePortAddresses: {}", entries.join(", ")),
                )
            },
            |(n, l)| (format!("line {n} (data.config.conf)"), l),
        );
    f.evidence.push(Evidence::new(
        ClusterFacts::artifact(KUBE_PROXY_CONFIGMAP_YAML),
        locator,
        excerpt,
    ));
    if !excluded.is_empty() {
        f.evidence.push(Evidence::new(
            names::RTNL_ADDRS,
            "node addresses outside nodePortAddresses",
            list_capped(&excluded, EVIDENCE_ITEMS),
        ));
    }
    if !node_ip_excluded.is_empty() {
        f.evidence.push(Evidence::new(
            "k8s/nodes.yaml",
            format!("Node {} .status.addresses", cx.node_name()),
            format!("outside nodePortAddresses: {}", node_ip_excluded.join(", ")),
        ));
    }
    if severity == Severity::Info {
        f.fix.push(FixStep::manual(
            "Nothing to fix if this is intended; otherwise reach NodePorts through an address \
             inside nodePortAddresses.",
        ));
    } else {
        f.fix.push(FixStep::manual(
            "Widen nodePortAddresses to include the node's address (or remove it to serve all \
             addresses): kubectl -n kube-system edit configmap kube-proxy",
        ));
        f.fix.push(restart_kube_proxy(
            cx,
            "Restart kube-proxy on this node to apply it.",
        ));
    }
    Verdicts::found(f)
}

fn is_link_local_v6(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}
