//! C37: flannel chose the wrong interface. Without `--iface`/`--iface-regex`/`--iface-can-reach`
//! flanneld takes the interface of the default route (flannel's main.go, "Using interface with
//! name X and address Y") and publishes its address as the node's VTEP/public IP in the Node
//! annotation `flannel.alpha.coreos.com/public-ip`; the other nodes send encapsulated traffic
//! there. On Vagrant/VirtualBox the default route is the NAT NIC, whose address 10.0.2.15 is the
//! same on every VM: every node claims 10.0.2.15 and cross-node pod traffic (and with it every
//! Service with a remote endpoint) goes nowhere (flannel-io/flannel#535, flannel's
//! troubleshooting doc from flannel-io/flannel#764, kubernetes/kubernetes#17788).

use std::net::IpAddr;

use super::cni_evidence::{
    flannel_in_use, internal_ipv4, item_line, node_log_lines, node_pod, parse_addr, this_node,
    FLANNEL_LOGS,
};
use crate::diagnose::checks::overlay::cni_evidence::cni_not_in_use;
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, NODES_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "flannel-wrong-interface",
    catalog: "C37",
    title: "flannel publishes the wrong node address (wrong interface)",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://github.com/flannel-io/flannel/blob/master/Documentation/troubleshooting.md",
        "https://github.com/flannel-io/flannel/issues/535",
        "https://github.com/kubernetes/kubernetes/issues/17788",
        "https://github.com/k3s-io/k3s/issues/72",
    ],
    evidence: "Node annotations `flannel.alpha.coreos.com/public-ip` (shared by several nodes, the NAT address 10.0.2.15, or not the Node InternalIP); the local device holding it; flannel's \"Using interface with name\" log line.",
    fix: "Give flanneld `--iface=<interface holding the InternalIP>` (or `--iface-can-reach`) in its DaemonSet, and kubelet `--node-ip` likewise.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const PUBLIC_IP: &str = "flannel.alpha.coreos.com/public-ip";
const OVERWRITE: &str = "flannel.alpha.coreos.com/public-ip-overwrite";
const LOG_NEEDLE: &str = "Using interface with name";
const NAT_ADDRESS: &str = "10.0.2.15";

fn run(cx: &Context<'_>) -> Verdicts {
    if !flannel_in_use(cx) {
        return cni_not_in_use("flannel");
    }
    let Some(node) = this_node(cx) else {
        if cx.cluster.collected {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "which address flannel publishes for this node",
                "this bundle could not be matched to a Kubernetes Node",
                Some("kubectl get nodes -o wide"),
            ));
        }
        return Verdicts::clear(
            "not judged: the Kubernetes objects were not collected, so flannel's published \
             address is not known",
            Vec::new(),
        );
    };
    let name = node.metadata.name.as_str();
    let Some(raw) = node.annotation(PUBLIC_IP) else {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "which address flannel publishes for this node",
            format!("Node {name} has no {PUBLIC_IP} annotation (flannel not started there, or another backend)"),
            Some("kubectl get node -o yaml (metadata.annotations)"),
        ));
    };
    let Some(addr) = parse_addr(raw) else {
        return Verdicts::clear(
            format!("not judged: Node {name}'s {PUBLIC_IP} annotation {raw:?} is not an address"),
            Vec::new(),
        );
    };
    let overwritten = node.annotation(OVERWRITE).is_some();
    let internal = internal_ipv4(node);
    let shared: Vec<&str> = cx
        .cluster
        .state
        .nodes
        .iter()
        .filter(|n| n.metadata.name != name)
        .filter(|n| n.annotation(PUBLIC_IP).and_then(parse_addr) == Some(addr))
        .map(|n| n.metadata.name.as_str())
        .collect();
    let nat = addr.to_string() == NAT_ADDRESS;
    let mismatch = !overwritten && !internal.is_empty() && !internal.contains(&addr);
    if shared.is_empty() && !mismatch {
        return Verdicts::clear(
            format!(
                "flannel publishes {addr} for node {name}: {}, and no other node shares it",
                if overwritten {
                    "set explicitly"
                } else {
                    "its InternalIP"
                }
            ),
            Vec::new(),
        );
    }
    let local = cx.node.local_addresses();
    let dev_of = |ip: &IpAddr| {
        local
            .iter()
            .find(|(a, ..)| a == ip)
            .map(|(_, d, _)| d.to_string())
    };
    let dev = dev_of(&addr);
    let internal_dev = internal.iter().find_map(dev_of);
    let strong = !shared.is_empty() || nat;
    let internal_text = internal
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let summary = if shared.is_empty() {
        format!("flannel publishes {addr} for node {name}, not its InternalIP {internal_text}")
    } else {
        format!(
            "flannel publishes {addr} for node {name} and for {} other node(s) ({})",
            shared.len(),
            shared.join(", ")
        )
    };
    let mut f = cx.finding(
        &INFO,
        if strong {
            Severity::Error
        } else {
            Severity::Warning
        },
        if strong {
            Confidence::High
        } else {
            Confidence::Medium
        },
        summary,
    );
    f.subject = Some(name.to_string());
    f.detail = format!(
        "The other nodes send this node's encapsulated pod traffic to {addr}.{} Cross-node pod \
         traffic, and every Service whose endpoint is on another node, fails.",
        if nat {
            " 10.0.2.15 is VirtualBox's NAT address, the same on every VM and unreachable \
             from the others."
        } else if !shared.is_empty() {
            " Several nodes claim that address, so the tunnel endpoints collide."
        } else {
            ""
        }
    );
    let (locator, excerpt) = item_line(cx, NODES_YAML, name, &[PUBLIC_IP]).map_or_else(
        || {
            (
                format!("{name} .metadata.annotations"),
                format!("{PUBLIC_IP}: {raw}"),
            )
        },
        |(n, l)| (format!("line {n} ({name})"), l),
    );
    f.evidence.push(Evidence::new(
        ClusterFacts::artifact(NODES_YAML),
        locator,
        excerpt,
    ));
    f.evidence.push(Evidence::new(
        ClusterFacts::artifact(NODES_YAML),
        format!("{name} .status.addresses"),
        if internal.is_empty() {
            "no InternalIP".to_string()
        } else {
            format!("InternalIP {internal_text}")
        },
    ));
    for other in &shared {
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(NODES_YAML),
            format!("{other} .metadata.annotations"),
            format!("{PUBLIC_IP}: {addr}"),
        ));
    }
    if let Some(d) = &dev {
        f.evidence.push(Evidence::new(
            netsnap_bundle::names::RTNL_ADDRS,
            format!("link {d}"),
            format!("{addr} is on {d}"),
        ));
    }
    let pod = node_pod(cx, "app", "flannel");
    if let Some(l) = node_log_lines(cx, FLANNEL_LOGS, LOG_NEEDLE, pod).pop() {
        f.evidence.push(Evidence::new(
            l.artifact,
            format!("line {}", l.line),
            l.text,
        ));
    }
    let iface = internal_dev.unwrap_or_else(|| "<interface holding the InternalIP>".to_string());
    // The DaemonSet is the pod's name without its generated suffix (kube-flannel-ds-x7k2p).
    let (ns, ds) = pod.map_or_else(
        || ("kube-flannel".to_string(), "kube-flannel-ds".to_string()),
        |p| {
            let ds = p
                .metadata
                .name
                .rsplit_once('-')
                .map_or(p.metadata.name.as_str(), |(d, _)| d);
            (p.metadata.namespace.clone(), ds.to_string())
        },
    );
    f.fix.push(FixStep::new(
        format!(
            "Pin flanneld to the node network's interface ({iface}) in its DaemonSet; check the \
             container index and whether args already carry --iface first. k3s: --flannel-iface."
        ),
        vec![
            format!("kubectl -n {ns} get daemonset {ds} -o jsonpath='{{.spec.template.spec.containers[0].args}}'"),
            format!(
                "kubectl -n {ns} patch daemonset {ds} --type=json -p '[{{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/args/-\",\"value\":\"--iface={iface}\"}}]'"
            ),
        ],
        FixAction::Manual,
    ));
    f.fix.push(FixStep::manual(
        "Give kubelet the same address (--node-ip) so the Node InternalIP and flannel agree.",
    ));
    Verdicts::found(f)
}
