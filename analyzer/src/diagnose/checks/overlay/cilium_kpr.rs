//! C39: Cilium's kube-proxy replacement serves NodePorts only on the devices it attaches its
//! BPF programs to (Helm/ConfigMap `devices`; when unset Cilium detects them itself). A device
//! list that leaves out the interface holding the node's InternalIP (a secondary NIC, a VLAN
//! sub-interface, a bond) makes `nodeIP:nodePort` unreachable there (cilium/cilium#26882,
//! #16019, #12317; Cilium docs "Kubernetes Without kube-proxy", `devices`). `devices` entries
//! are names or prefixes ending in `+` (`eth+`).
//!
//! The collector does not read the `cilium-config` ConfigMap today; this check uses it when a
//! bundle holds it (`k8s/configmap-kube-system-cilium-config.yaml`) and otherwise says it
//! cannot conclude.

use std::net::IpAddr;

use super::cni_evidence::{internal_ipv4, pods_labelled, this_node};
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::facts::ClusterFacts;
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};
use crate::observe::{FactKind, Observation};

pub const INFO: CheckInfo = CheckInfo {
    id: "cilium-kpr-device",
    catalog: "C39",
    title: "Cilium kube-proxy replacement not attached to the node's interface",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://docs.cilium.io/en/stable/network/kubernetes/kubeproxy-free/",
        "https://github.com/cilium/cilium/issues/26882",
        "https://github.com/cilium/cilium/issues/16019",
        "https://github.com/cilium/cilium/issues/12317",
    ],
    evidence: "cilium pods or `cilium_host`; ConfigMap `cilium-config` (`kube-proxy-replacement`, `devices`) when collected; the interface holding the Node InternalIP.",
    fix: "Set Cilium's `devices` to include the interface holding the InternalIP (or unset it for auto-detection) and restart the cilium agents.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const CONFIGMAP: &str = "cilium-config";
const CONFIGMAP_YAML: &str = "configmap-kube-system-cilium-config.yaml";
const KPR: &str = "kube-proxy-replacement";
const DEVICES: &str = "devices";

/// Whether a Cilium `devices` entry matches an interface (`eth+` is a prefix).
fn device_matches(entry: &str, dev: &str) -> bool {
    match entry.strip_suffix('+') {
        Some(prefix) => dev.starts_with(prefix),
        None => entry == dev,
    }
}

fn run(cx: &Context<'_>) -> Verdicts {
    let in_use = pods_labelled(cx, "k8s-app", "cilium").next().is_some()
        || cx.node.link("cilium_host").is_some()
        || cx
            .node
            .observed(FactKind::NodePortFrontend)
            .next()
            .is_some()
        || cx
            .node
            .observed(FactKind::CiliumNodeAddress)
            .next()
            .is_some();
    if !in_use {
        return Verdicts::clear(
            "does not apply: Cilium is not in use here (no cilium pod, no cilium_host device)",
            Vec::new(),
        );
    }
    // Cilium's own view, when pasted, says which addresses serve NodePorts.
    if let Some(v) = judge_cilium_state(cx) {
        return v;
    }
    let Some(cm) = cx
        .cluster
        .state
        .config_maps
        .iter()
        .find(|c| c.metadata.name == CONFIGMAP)
    else {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether Cilium's kube-proxy replacement serves NodePorts on this node's interface",
            "Cilium runs, but its ConfigMap cilium-config is not in the bundle (the collector \
             does not read it yet)",
            Some("kubectl -n kube-system get configmap cilium-config -o yaml (kube-proxy-replacement, devices); cilium status"),
        ));
    };
    let kpr = cm.data.get(KPR).map(String::as_str).unwrap_or("");
    if !matches!(kpr, "true" | "strict" | "partial") {
        return Verdicts::clear(
            format!("does not apply: Cilium's kube-proxy replacement is off ({KPR}: {kpr:?})"),
            Vec::new(),
        );
    }
    let devices: Vec<&str> = cm
        .data
        .get(DEVICES)
        .map(|d| d.split([' ', ',']).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if devices.is_empty() {
        // Auto-detection picks the devices with the node's addresses and default routes.
        return Verdicts::clear(
            format!("Cilium's {DEVICES} is not set: it detects the node's devices itself"),
            Vec::new(),
        );
    }
    let Some(node) = this_node(cx) else {
        return Verdicts::clear(
            "not judged: this bundle matches no Node, so its InternalIP's interface is not known",
            Vec::new(),
        );
    };
    let internal = internal_ipv4(node);
    let local = cx.node.local_addresses();
    let Some((ip, dev)) = local
        .iter()
        .find(|(a, ..)| internal.contains(a))
        .map(|(a, d, _)| (*a, d.to_string()))
    else {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether Cilium's devices include this node's interface",
            "no local address of this node is its InternalIP (or addresses were not collected)",
            Some("ip -br addr"),
        ));
    };
    if devices.iter().any(|e| device_matches(e, &dev)) {
        return Verdicts::clear(
            format!(
                "Cilium's devices ({}) include {dev}, which holds the InternalIP {ip}",
                devices.join(" ")
            ),
            Vec::new(),
        );
    }
    let list = devices.join(" ");
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::Medium,
        format!(
            "Cilium's kube-proxy replacement is attached to {list}, not to {dev} which holds the InternalIP {ip}"
        ),
    );
    f.subject = Some(dev.clone());
    f.detail = format!(
        "Without kube-proxy, NodePorts exist only where Cilium's BPF programs run. Traffic to \
         {ip}:<nodePort> arrives on {dev}, which is not in Cilium's device list, and is not \
         translated to a backend."
    );
    let artifact = ClusterFacts::artifact(CONFIGMAP_YAML);
    for key in [KPR, DEVICES] {
        let (locator, excerpt) = cx
            .cluster
            .find_line(CONFIGMAP_YAML, None, &[&format!("{key}:")])
            .map_or_else(
                || {
                    (
                        format!("data.{key}"),
                        format!("{key}: {}", cm.data.get(key).map_or("", String::as_str)),
                    )
                },
                |(n, l)| (format!("line {n}"), l),
            );
        f.evidence
            .push(Evidence::new(artifact.clone(), locator, excerpt));
    }
    f.evidence.push(Evidence::new(
        netsnap_bundle::names::RTNL_ADDRS,
        format!("link {dev}"),
        format!("{ip} (InternalIP of {})", node.metadata.name),
    ));
    f.fix.push(FixStep::new(
        format!("Add {dev} to Cilium's devices (Helm value devices, or the ConfigMap key) and restart the agents."),
        vec![
            format!("helm upgrade cilium cilium/cilium -n kube-system --reuse-values --set devices='{{{}}}'", {
                let mut d: Vec<&str> = devices.clone();
                d.push(&dev);
                d.join(",")
            }),
            "kubectl -n kube-system rollout restart daemonset/cilium".to_string(),
        ],
        FixAction::Manual,
    ));
    Verdicts::found(f)
}

/// A node address that does not serve NodePorts by Cilium's own listings: one its node-address
/// table marks `NodePort false` on a real device (a secondary address such as a keepalived
/// VIP: only the device's primary address, or those of `nodeport-addresses`, serve;
/// cilium#37691), or the address the node's default route takes as its source while `cilium
/// service list` has NodePort frontends for other addresses only (an address on a device
/// Cilium is not attached to, such as lo; cilium#12317). None when nothing of the kind was
/// pasted.
fn judge_cilium_state(cx: &Context<'_>) -> Option<Verdicts> {
    let rows: Vec<&Observation> = cx.node.observed(FactKind::CiliumNodeAddress).collect();
    let frontends: Vec<&Observation> = cx.node.observed(FactKind::NodePortFrontend).collect();
    if rows.is_empty() && frontends.is_empty() {
        return None;
    }
    let global = |a: &str| {
        a.parse::<IpAddr>().is_ok_and(|ip| match ip {
            IpAddr::V4(v) => !v.is_loopback() && !v.is_unspecified() && !v.is_link_local(),
            IpAddr::V6(v) => {
                !v.is_loopback() && !v.is_unspecified() && (v.segments()[0] & 0xffc0) != 0xfe80
            }
        })
    };
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for o in &rows {
        let dev = o.value.split("dev=").nth(1).unwrap_or("");
        let real_device =
            !dev.is_empty() && dev != "*" && !dev.starts_with("cilium_") && !dev.starts_with("lxc");
        let serves = rows
            .iter()
            .any(|r| r.subject == o.subject && r.value.starts_with("nodeport=true"));
        if real_device && global(&o.subject) && o.value.starts_with("nodeport=false") && !serves {
            missing.push(format!("{} on {dev}", o.subject));
            evidence.push(o.evidence.clone());
        }
    }
    if !frontends.is_empty() {
        let served: Vec<String> = frontends
            .iter()
            .filter_map(|o| {
                o.subject
                    .rsplit_once(':')
                    .map(|(a, _)| a.trim_matches(['[', ']']).to_string())
            })
            .collect();
        let sources = cx
            .node
            .routes
            .as_ref()
            .ok()
            .into_iter()
            .flatten()
            .filter(|r| r.dst == "default" || r.dst == "0.0.0.0/0");
        for r in sources {
            let Some(src) = r.prefsrc.as_deref() else {
                continue;
            };
            if global(src)
                && !served.iter().any(|s| s == src)
                && !missing.iter().any(|m| m.starts_with(src))
            {
                missing.push(format!("{src} (the default route's source)"));
                evidence.push(Evidence::new(
                    netsnap_bundle::names::RTNL_ROUTES_V4,
                    "default route",
                    format!("default ... src {src}"),
                ));
                evidence.extend(frontends.iter().take(3).map(|o| o.evidence.clone()));
            }
        }
    }
    if missing.is_empty() {
        return Some(Verdicts::clear(
            "Cilium serves NodePorts on every node address its listings show",
            rows.iter()
                .chain(&frontends)
                .take(3)
                .map(|o| o.evidence.clone())
                .collect(),
        ));
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::Medium,
        format!(
            "Cilium's kube-proxy replacement does not serve NodePorts on {}",
            missing.join(", ")
        ),
    );
    f.detail = "Without kube-proxy, a NodePort exists only on the addresses Cilium's BPF \
        programs serve: the primary addresses of the devices it attaches to (or those of \
        nodeport-addresses). Clients reaching the node on another address (a secondary VIP, an \
        address on lo or on a device Cilium is not attached to) are not translated to a backend."
        .to_string();
    f.evidence = evidence;
    f.fix.push(FixStep::manual(
        "Make Cilium serve the address: add its device to `devices` (or let Cilium detect the \
         devices), or list the address's network in `nodeport-addresses`; then restart the \
         cilium agents.",
    ));
    Some(Verdicts::found(f))
}

#[cfg(test)]
mod tests {
    use super::device_matches;

    #[test]
    fn prefixes() {
        assert!(device_matches("eth+", "eth0"));
        assert!(device_matches("eth0", "eth0"));
        assert!(!device_matches("eth0", "eth0.100"));
        assert!(device_matches("eth0+", "eth0.100"));
        assert!(!device_matches("ens+", "eth0"));
    }
}
