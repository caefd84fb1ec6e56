//! Whether an input's host is a Kubernetes node at all. netsnap's checks judge a node by what
//! kube-proxy and the CNI need of it; on a plain Linux host (a bundle taken on the wrong
//! machine, a paste of a router's state) `ip_forward = 0` or a DROP policy is the host's own
//! business, not a broken Service. The evidence of what the input is comes first: its findings
//! are worded and weighed for it.

use crate::diagnose::facts::{ClusterFacts, NodeFacts};
use crate::diagnose::{Confidence, Finding, NotConcluded, Severity};
use crate::observe::Certainty;
use crate::signatures::{self, Component};

/// Links only Kubernetes' components create: kube-proxy's IPVS dummy, the CNIs' bridges,
/// tunnels and veth ends (cni0 and the flannel/Calico/Cilium/Weave devices), node-local DNS.
const LINK_PREFIXES: &[&str] = &[
    "kube-ipvs0",
    "kube-bridge",
    "kube-dummy-if",
    "cni0",
    "flannel.",
    "flannel-",
    "cali",
    "tunl0",
    "vxlan.calico",
    "vxlan-v6.calico",
    "cilium_",
    "lxc",
    "weave",
    "nodelocaldns",
];

/// Chains and tables of kube-proxy and the CNIs.
const CHAIN_PREFIXES: &[&str] = &["KUBE-", "cali-", "FLANNEL", "CILIUM_", "WEAVE", "CNI-"];

/// Node files of the kubelet, kubeadm and the CNIs (`files/<path>` in a bundle).
const FILE_PREFIXES: &[&str] = &[
    "files/etc/kubernetes/",
    "files/etc/cni/",
    "files/var/lib/kubelet/",
    "files/run/flannel/",
    "files/etc/rancher/",
];

/// The components whose messages only a Kubernetes node carries.
fn is_kubernetes_component(c: Component) -> bool {
    !matches!(
        c,
        Component::Kernel
            | Component::Ipset
            | Component::Iptables
            | Component::Nft
            | Component::Ipvsadm
            | Component::Modprobe
            | Component::Curl
            | Component::Netcat
            | Component::Telnet
            | Component::Ping
            | Component::Wget
            | Component::Busybox
    )
}

/// What shows that this input's host is a Kubernetes node, each sign in a few words; empty
/// when nothing does.
pub fn kubernetes_signs(node: &NodeFacts<'_>, cluster: &ClusterFacts) -> Vec<String> {
    let mut signs = Vec::new();
    let st = &cluster.state;
    if !(st.services.is_empty()
        && st.nodes.is_empty()
        && st.pods.is_empty()
        && st.config_maps.is_empty()
        && st.daemon_sets.is_empty()
        && st.ip_pools.is_empty()
        && st.endpoints.is_empty()
        && st.endpoint_slices.is_empty())
    {
        signs.push("Kubernetes objects".to_string());
    }
    if let Ok(links) = &node.links {
        if let Some(l) = links
            .iter()
            .map(|l| l.ifname())
            .find(|n| LINK_PREFIXES.iter().any(|p| n.starts_with(p)))
        {
            signs.push(format!("link {l}"));
        }
    }
    let chain = node.iptables().iter().find_map(|d| {
        d.save
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .find(|c| CHAIN_PREFIXES.iter().any(|p| c.name.starts_with(p)))
            .map(|c| c.name.clone())
    });
    if let Some(c) = chain {
        signs.push(format!("iptables chain {c}"));
    }
    if let Ok(r) = node.nft() {
        if let Some(t) = r.tables.iter().find(|t| {
            t.name == "kube-proxy" || t.name.starts_with("calico") || t.name.starts_with("cilium")
        }) {
            signs.push(format!("nft table {}", t.name));
        }
    }
    if let Some(p) = node
        .bundle
        .paths()
        .find(|p| FILE_PREFIXES.iter().any(|f| p.starts_with(f)))
    {
        signs.push(p.to_string());
    }
    if let Ok(routes) = &node.routes {
        if routes.iter().any(|r| r.protocol.as_deref() == Some("bird")) {
            signs.push("routes of Calico's BIRD".to_string());
        }
    }
    if let Some(o) = node.observations.iter().find(|o| {
        matches!(
            o.kind,
            crate::observe::FactKind::NodePortFrontend
                | crate::observe::FactKind::CiliumNodeAddress
        ) || (o.kind == crate::observe::FactKind::NftExpressionUnsupported
            && o.value.ends_with("kube-proxy)"))
    }) {
        signs.push(format!(
            "a listing or rule of Cilium or kube-proxy ({})",
            o.evidence.artifact
        ));
    }
    let said = node.observations.iter().find(|o| {
        o.certainty == Certainty::Component
            && o.signature
                .and_then(|id| signatures::all().find(|s| s.id == id))
                .is_some_and(|s| is_kubernetes_component(s.component))
    });
    if let Some(o) = said {
        signs.push(format!(
            "a message of {} ({})",
            o.signature.unwrap_or_default(),
            o.evidence.artifact
        ));
    }
    signs
}

/// The note of an input whose host shows no sign of Kubernetes.
pub const NO_SIGN_NOTE: &str = "this host shows no sign of being a Kubernetes node (no \
    Kubernetes objects; no kube-proxy or CNI links, chains, routes, files or messages): its \
    findings are about the host itself, at most warnings, until the evidence shows it serves \
    Services";

/// Causes that harm any host, Kubernetes or not: a full conntrack table drops new flows of
/// every kind (the kernel logs each drop), so it stays as severe as it was.
const HARM_ON_ANY_HOST: &[&str] = &["C25"];

/// Weighs a plain host's findings: what breaks Service traffic on a node is, on a host that
/// serves none, a setting to look at.
pub fn weigh_for_plain_host(findings: &mut [Finding]) {
    for f in findings
        .iter_mut()
        .filter(|f| !HARM_ON_ANY_HOST.contains(&f.catalog))
    {
        if f.severity == Severity::Error {
            f.severity = Severity::Warning;
        }
        f.confidence = Confidence::Low;
        f.summary = format!("{} (on a host with no sign of Kubernetes)", f.summary);
    }
}

/// The question a plain host leaves open.
pub fn is_it_a_node() -> NotConcluded {
    NotConcluded {
        id: "host-not-kubernetes",
        catalog: "",
        question: "whether this host is a Kubernetes node at all".to_string(),
        reason: "nothing in the input shows kubelet, kube-proxy or a CNI on it".to_string(),
        would_confirm: Some(
            "systemctl status kubelet; ls /etc/kubernetes /etc/cni/net.d; ip -br link".to_string(),
        ),
    }
}
