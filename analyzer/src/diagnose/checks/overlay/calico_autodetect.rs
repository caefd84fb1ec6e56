//! C29: calico-node picked the wrong IPv4 address for the node. At start-up calico-node
//! autodetects the node's address (`IP_AUTODETECTION_METHOD`, default `first-found`: the first
//! address of the first interface that is not excluded) and writes it to the Node annotation
//! `projectcalico.org/IPv4Address` and the Calico Node's `spec.bgp.ipv4Address`; BGP peers and
//! tunnel endpoints use it (Calico's node/pkg/lifecycle/startup/autodetection, log line "Using
//! autodetected IPv4 address on interface X"). With Docker, libvirt or a Vagrant NAT NIC on
//! the node, first-found often lands on `docker0`/`br-*`/`virbr0`/10.0.2.15: peers dial an
//! address that is not the node's, BGP never comes up, and cross-node pod and Service traffic
//! fails (projectcalico/calico#1628, #2042, #2561). Two nodes with the same address are the
//! extreme case ("Calico node 'X' is already using the IPv4 address").

use std::net::IpAddr;

use super::cni_evidence::{
    calico_in_use, calico_namespace, internal_ipv4, item_line, node_log_lines, node_pod,
    parse_addr, pasted_observations, pod_env_of, this_node, EnvLookup, CALICO_LOGS,
    CALICO_NODES_YAML,
};
use crate::diagnose::checks::overlay::cni_evidence::cni_not_in_use;
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, NODES_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};
use crate::observe::{FactKind, Observation};

pub const INFO: CheckInfo = CheckInfo {
    id: "calico-autodetect-wrong-address",
    catalog: "C29",
    title: "Calico autodetected the wrong node address",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://docs.tigera.io/calico/latest/networking/ipam/ip-autodetection",
        "https://github.com/projectcalico/calico/issues/1628",
        "https://github.com/projectcalico/calico/issues/2042",
        "https://github.com/projectcalico/calico/issues/2561",
        "https://github.com/projectcalico/calico/issues/6910",
    ],
    evidence: "Node annotation `projectcalico.org/IPv4Address` or Calico Node `spec.bgp.ipv4Address` against the Node InternalIP and the other nodes' addresses; the local device holding it (docker0, br-*, virbr0, NAT 10.0.2.15); calico-node's `IP_AUTODETECTION_METHOD` and its \"Using autodetected IPv4 address\" log line.",
    fix: "Set `IP_AUTODETECTION_METHOD` on the calico-node DaemonSet (or the operator Installation's `nodeAddressAutodetectionV4`) to the interface holding the InternalIP, or `kubernetes-internal-ip`.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const ANNOTATION: &str = "projectcalico.org/IPv4Address";
const ENV: &str = "IP_AUTODETECTION_METHOD";
const LOG_NEEDLE: &str = "Using autodetected IPv4 address on interface";
/// VirtualBox/Vagrant's NAT address: the same on every VM, never reachable from the others.
const NAT_ADDRESS: &str = "10.0.2.15";

/// Devices that are never the node's own network: container and VM bridges, CNI bridges,
/// kube-proxy's dummy, NodeLocal DNSCache.
fn suspicious_device(dev: &str) -> bool {
    [
        "docker",
        "br-",
        "virbr",
        "cni",
        "kube-ipvs",
        "nodelocaldns",
        "flannel",
        "weave",
        "lxc",
        "podman",
        "cali",
        "tunl",
        "vxlan",
    ]
    .iter()
    .any(|p| dev.starts_with(p))
}

/// This node's Calico address and where it was read.
fn calico_address(cx: &Context<'_>, node: &str) -> Option<(IpAddr, Evidence)> {
    let k8s_node = cx
        .cluster
        .state
        .nodes
        .iter()
        .find(|n| n.metadata.name == node);
    if let Some(v) = k8s_node.and_then(|n| n.annotation(ANNOTATION)) {
        let ip = parse_addr(v)?;
        let (locator, excerpt) = item_line(cx, NODES_YAML, node, &[ANNOTATION]).map_or_else(
            || {
                (
                    format!("{node} .metadata.annotations"),
                    format!("{ANNOTATION}: {v}"),
                )
            },
            |(n, l)| (format!("line {n} ({node})"), l),
        );
        return Some((
            ip,
            Evidence::new(ClusterFacts::artifact(NODES_YAML), locator, excerpt),
        ));
    }
    let cn = cx
        .cluster
        .state
        .calico_nodes
        .iter()
        .find(|c| c.metadata.name == node)?;
    let v = cn.spec.bgp.as_ref()?.ipv4_address.as_str();
    let ip = parse_addr(v)?;
    let yaml = CALICO_NODES_YAML
        .iter()
        .find(|y| cx.cluster.text(y).is_some_and(|t| t.contains(v)))
        .copied()
        .unwrap_or(CALICO_NODES_YAML[0]);
    let (locator, excerpt) = item_line(cx, yaml, node, &["ipv4Address:"]).map_or_else(
        || {
            (
                format!("{node} .spec.bgp.ipv4Address"),
                format!("ipv4Address: {v}"),
            )
        },
        |(n, l)| (format!("line {n} ({node})"), l),
    );
    Some((
        ip,
        Evidence::new(ClusterFacts::artifact(yaml), locator, excerpt),
    ))
}

/// Every node's Calico address (annotation, else Calico Node), for duplicate detection.
fn all_addresses(cx: &Context<'_>) -> Vec<(String, IpAddr)> {
    let mut out: Vec<(String, IpAddr)> = Vec::new();
    for n in &cx.cluster.state.nodes {
        if let Some(ip) = n.annotation(ANNOTATION).and_then(parse_addr) {
            out.push((n.metadata.name.clone(), ip));
        }
    }
    for c in &cx.cluster.state.calico_nodes {
        if out.iter().any(|(n, _)| *n == c.metadata.name) {
            continue;
        }
        if let Some(ip) = c
            .spec
            .bgp
            .as_ref()
            .and_then(|b| parse_addr(&b.ipv4_address))
        {
            out.push((c.metadata.name.clone(), ip));
        }
    }
    out
}

fn run(cx: &Context<'_>) -> Verdicts {
    if !calico_in_use(cx) {
        return cni_not_in_use("Calico");
    }
    let stated = from_messages(cx);
    let Some(node) = this_node(cx) else {
        if let Some(v) = stated {
            return v;
        }
        if cx.cluster.collected {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "whether Calico autodetected this node's address correctly",
                "this bundle could not be matched to a Kubernetes Node",
                Some("kubectl get nodes -o wide (the InternalIP of this node)"),
            ));
        }
        return Verdicts::clear(
            "not judged: the Kubernetes objects were not collected, so this node's InternalIP is \
             not known",
            Vec::new(),
        );
    };
    let name = node.metadata.name.clone();
    let internal = internal_ipv4(node);
    let Some((addr, addr_ev)) = calico_address(cx, &name) else {
        if let Some(v) = stated {
            return v;
        }
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "which address Calico autodetected for this node",
            format!(
                "Node {name} has no {ANNOTATION} annotation and no Calico Node with \
                 spec.bgp.ipv4Address was collected"
            ),
            Some("kubectl get nodes.crd.projectcalico.org -o yaml"),
        ));
    };
    let shared: Vec<String> = all_addresses(cx)
        .into_iter()
        .filter(|(n, ip)| *n != name && *ip == addr)
        .map(|(n, _)| n)
        .collect();
    let mismatch = !internal.is_empty() && !internal.contains(&addr);
    if !mismatch && shared.is_empty() {
        return Verdicts::clear(
            format!("Calico's address for node {name}, {addr}, is its own InternalIP"),
            vec![addr_ev],
        );
    }
    let local = cx.node.local_addresses();
    let dev = local
        .iter()
        .find(|(ip, ..)| *ip == addr)
        .map(|(_, d, _)| d.to_string());
    let internal_dev = local
        .iter()
        .find(|(ip, ..)| internal.contains(ip))
        .map(|(_, d, _)| d.to_string());
    let nat = addr.to_string() == NAT_ADDRESS;
    let bad_dev = dev.as_deref().is_some_and(suspicious_device);
    let strong = !shared.is_empty() || nat || bad_dev;
    let internal_text = internal
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let where_ = dev
        .as_deref()
        .map_or_else(String::new, |d| format!(" (on {d})"));
    let summary = if !shared.is_empty() {
        format!(
            "Calico uses {addr}{where_} for node {name}, the same address as node(s) {}",
            shared.join(", ")
        )
    } else {
        format!("Calico uses {addr}{where_} for node {name}, not its InternalIP {internal_text}")
    };
    let (severity, confidence) = if strong {
        (Severity::Error, Confidence::High)
    } else {
        // A dedicated BGP network on another NIC is a legitimate design.
        (Severity::Warning, Confidence::Medium)
    };
    let mut f = cx.finding(&INFO, severity, confidence, summary);
    f.subject = Some(name.clone());
    f.detail = format!(
        "calico-node announces this address to its BGP peers and uses it as the tunnel \
         endpoint. Other nodes try to reach {name} at {addr}{}; when that is a bridge, a NAT \
         address or another node's address, BGP sessions do not come up (calico-node 0/1 \
         Ready, \"BGP not established\") or tunnels point at the wrong host, and cross-node pod \
         and Service traffic fails.",
        if nat {
            ", VirtualBox's NAT address that every VM has"
        } else {
            ""
        }
    );
    f.evidence.push(addr_ev);
    f.evidence.push(Evidence::new(
        ClusterFacts::artifact(NODES_YAML),
        format!("{name} .status.addresses"),
        if internal.is_empty() {
            "no InternalIP".to_string()
        } else {
            format!("InternalIP {internal_text}")
        },
    ));
    if let Some(d) = &dev {
        f.evidence.push(Evidence::new(
            netsnap_bundle::names::RTNL_ADDRS,
            format!("link {d}"),
            format!("{addr} is on {d}"),
        ));
    }
    for other in &shared {
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(NODES_YAML),
            format!("{other} .metadata.annotations"),
            format!("{ANNOTATION} is also {addr}"),
        ));
    }
    let pod = node_pod(cx, "k8s-app", "calico-node");
    if let Some(l) = node_log_lines(cx, CALICO_LOGS, LOG_NEEDLE, pod).pop() {
        f.evidence.push(Evidence::new(
            l.artifact,
            format!("line {}", l.line),
            l.text,
        ));
    }
    if let Some(p) = pod {
        match pod_env_of(cx, p, ENV) {
            EnvLookup::Set(line, v) => f.evidence.push(Evidence::new(
                ClusterFacts::artifact(crate::diagnose::facts::PODS_YAML),
                format!("line {line} ({})", p.metadata.name),
                format!("{ENV}={v}"),
            )),
            EnvLookup::NotSet => f.evidence.push(Evidence::new(
                ClusterFacts::artifact(crate::diagnose::facts::PODS_YAML),
                format!("{} .spec.containers[].env", p.metadata.name),
                format!("{ENV} not set: calico-node uses first-found"),
            )),
            EnvLookup::Unknown => {}
        }
    }
    let ns = calico_namespace(cx);
    let method = match &internal_dev {
        Some(d) => format!("interface={d}"),
        None => "kubernetes-internal-ip".to_string(),
    };
    if ns == "calico-system" {
        // The Tigera operator owns the DaemonSet and reverts `set env`; its Installation
        // resource carries the method.
        let patch = match &internal_dev {
            Some(d) => format!(
                r#"{{"spec":{{"calicoNetwork":{{"nodeAddressAutodetectionV4":{{"interface":"{d}"}}}}}}}}"#
            ),
            None => r#"{"spec":{"calicoNetwork":{"nodeAddressAutodetectionV4":{"kubernetes":"NodeInternalIP"}}}}"#.to_string(),
        };
        f.fix.push(FixStep::new(
            "Tell the operator how to pick the node address (the Installation owns calico-node's settings).",
            vec![format!(
                "kubectl patch installation default --type=merge -p '{patch}'"
            )],
            FixAction::KubectlPatch {
                resource: "installation".to_string(),
                namespace: None,
                name: "default".to_string(),
                patch,
            },
        ));
    } else {
        f.fix.push(FixStep::new(
            format!(
                "Make calico-node pick the address of the interface that holds the InternalIP \
                 ({method}; recent Calico releases also accept `kubernetes-internal-ip`); the DaemonSet \
                 rolls out and each node re-detects its address."
            ),
            vec![format!(
                "kubectl -n {ns} set env daemonset/calico-node {ENV}={method}"
            )],
            FixAction::Manual,
        ));
    }
    f.fix.push(FixStep::new(
        "Verify the new address and the BGP sessions.",
        vec![format!(
            "kubectl get node {name} -o jsonpath='{{.metadata.annotations.projectcalico\\.org/IPv4Address}}'"
        )],
        FixAction::Manual,
    ));
    Verdicts::found(f)
}

/// The interface and address of a `calico-autodetected-*` observation (`cidr dev iface`).
fn autodetected(value: &str) -> Option<(&str, &str)> {
    let (cidr, iface) = value.split_once(" dev ")?;
    Some((cidr.trim(), iface.trim()))
}

/// What calico-node said in a paste about the address it took: an address autodetected on a
/// bridge, dummy or tunnel device (or VirtualBox's NAT address), or its refusal to start
/// because another Calico node already holds the address (startup.go, "Calico node '%s' is
/// already using the IPv4 address %s" — printed only when two nodes resolve to one address).
/// None when the messages show no such thing. A paste carries no Node object to compare with,
/// but these lines prove the address is not the node's own network.
fn from_messages(cx: &Context<'_>) -> Option<Verdicts> {
    let detected: Vec<&Observation> =
        pasted_observations(cx, FactKind::CalicoAutodetected).collect();
    let bad: Vec<(&Observation, &str, &str)> = detected
        .iter()
        .filter_map(|o| {
            let (cidr, iface) = autodetected(&o.value)?;
            let nat = parse_addr(cidr).is_some_and(|a| a.to_string() == NAT_ADDRESS);
            (suspicious_device(iface) || nat).then_some((*o, cidr, iface))
        })
        .collect();
    let conflicts: Vec<&Observation> =
        pasted_observations(cx, FactKind::NodeAddressConflict).collect();
    if bad.is_empty() && conflicts.is_empty() {
        return None;
    }
    // An uplink another calico-node (or this one, earlier) detected: the interface to pin.
    let uplink = detected
        .iter()
        .filter_map(|o| autodetected(&o.value))
        .map(|(_, iface)| iface)
        .find(|i| !suspicious_device(i));
    let summary = match (bad.first(), conflicts.first()) {
        (Some((_, cidr, iface)), Some(c)) => format!(
            "calico-node autodetected {cidr} on {iface}, not a node uplink, and Calico node \
             '{}' already uses {}",
            c.value, c.subject
        ),
        (Some((_, cidr, iface)), None) => format!(
            "calico-node autodetected {cidr} on {iface} as the node's address: a bridge, dummy \
                or tunnel device, not the node's network"
        ),
        (None, Some(c)) => format!(
            "calico-node autodetected {}, which Calico node '{}' already uses: two nodes \
                resolve to one address",
            c.subject, c.value
        ),
        (None, None) => return None,
    };
    let mut f = cx.finding(&INFO, Severity::Error, Confidence::High, summary);
    f.subject = bad
        .first()
        .map(|(_, _, iface)| (*iface).to_string())
        .or_else(|| conflicts.first().map(|c| c.subject.clone()));
    f.detail = "calico-node's default autodetection (first-found) takes the first address of \
        the first interface it is not told to skip; on a node with Docker, libvirt, NodeLocal \
        DNSCache or a NAT NIC that is often a bridge or dummy address that every node has. \
        calico-node announces it to its BGP peers and uses it as the tunnel endpoint, so peers \
        dial an address that is not this node (or that another node already claimed, and \
        calico-node stops): BGP does not come up and cross-node pod and Service traffic fails."
        .to_string();
    let mut seen: Vec<&str> = Vec::new();
    for (o, _, iface) in &bad {
        if !seen.contains(iface) {
            seen.push(iface);
            f.evidence.push(o.evidence.clone());
        }
    }
    f.evidence
        .extend(conflicts.iter().take(2).map(|c| c.evidence.clone()));
    let ns = calico_namespace(cx);
    let method = uplink.map_or_else(
        || "kubernetes-internal-ip".to_string(),
        |i| format!("interface={i}"),
    );
    f.fix.push(FixStep::new(
        format!(
            "Make calico-node take the address of the node's real interface ({method}; \
                `interface=` takes a regular expression, `kubernetes-internal-ip` the Node's \
                InternalIP); with the Tigera operator set the Installation's \
                nodeAddressAutodetectionV4 instead."
        ),
        vec![format!(
            "kubectl -n {ns} set env daemonset/calico-node {ENV}={method}"
        )],
        FixAction::Manual,
    ));
    f.fix.push(FixStep::new(
        "Verify the address each node now announces.",
        vec!["kubectl get nodes -o custom-columns=NAME:.metadata.name,ADDR:.metadata.annotations.projectcalico\\.org/IPv4Address".to_string()],
        FixAction::Manual,
    ));
    Some(Verdicts::found(f))
}

#[cfg(test)]
mod tests {
    use super::{autodetected, suspicious_device};

    #[test]
    fn autodetected_values() {
        assert_eq!(
            autodetected("10.96.0.10/32 dev nodelocaldns"),
            Some(("10.96.0.10/32", "nodelocaldns"))
        );
        assert_eq!(autodetected("failed"), None);
    }

    #[test]
    fn bridges_are_suspicious_nics_are_not() {
        for d in [
            "docker0",
            "br-b92e9270f33c",
            "virbr0",
            "cni0",
            "nodelocaldns",
        ] {
            assert!(suspicious_device(d), "{d}");
        }
        for d in ["eth0", "ens192", "enp0s8", "bond0", "eth1.100"] {
            assert!(!suspicious_device(d), "{d}");
        }
    }
}
