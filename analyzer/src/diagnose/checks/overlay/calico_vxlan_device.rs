//! C40: an IPPool encapsulates in VXLAN (`vxlanMode: Always` or `CrossSubnet`), but this node
//! has no working `vxlan.calico`: Felix creates the device (and routes the other nodes' blocks
//! through it) only while VXLAN is enabled for it — computed from the pools unless
//! FelixConfiguration pins `vxlanEnabled` — and logs "Interface missing, will retry if it
//! appears" while it is absent. Without the device, traffic to pods on other nodes, and so
//! Service traffic to remote endpoints, has no path. projectcalico/calico#7757, #4856, #4468.

use netsnap_bundle::names;

use crate::diagnose::checks::overlay::cni_evidence::calico_resource;
use crate::diagnose::checks::{restart_node_pod, Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, FELIX_YAML, IPPOOLS_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "calico-vxlan-device-down",
    catalog: "C40",
    title: "Calico VXLAN pool, but vxlan.calico missing or down on the node",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://github.com/projectcalico/calico/issues/7757",
        "https://github.com/projectcalico/calico/issues/4856",
        "https://github.com/projectcalico/calico/issues/4468",
        "https://docs.tigera.io/calico/latest/reference/resources/felixconfig",
    ],
    evidence: "Calico IPPools (`vxlanMode` Always/CrossSubnet, not disabled); FelixConfiguration `vxlanEnabled`; the `vxlan.calico` link and its state; calico-node on the node (pod or cali* links); calico-node log lines about vxlan.calico.",
    fix: "Unpin FelixConfiguration `vxlanEnabled: false`; delete a stuck `vxlan.calico` so Felix recreates it; restart calico-node on the node.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const DEVICE: &str = "vxlan.calico";
const CALICO_LOGS: &[&str] = &[
    "logs-calico-system-calico-node.txt",
    "logs-kube-system-calico-node.txt",
];

fn run(cx: &Context<'_>) -> Verdicts {
    let pools: Vec<_> = cx
        .cluster
        .state
        .ip_pools
        .iter()
        .filter(|p| !p.spec.disabled && !p.spec.cidr.contains(':'))
        .filter(|p| matches!(p.spec.vxlan_mode.as_str(), "Always" | "CrossSubnet"))
        .collect();
    if cx.cluster.state.ip_pools.is_empty() {
        if let Some(v) = device_without_pools(cx) {
            return v;
        }
    }
    if pools.is_empty() {
        return Verdicts::clear(
            "does not apply: no enabled IPv4 Calico IP pool uses VXLAN",
            Vec::new(),
        );
    }
    let me = cx.node_name();
    let calico_pods: Vec<_> = cx
        .cluster
        .state
        .pods
        .iter()
        .filter(|p| p.metadata.labels.get("k8s-app").map(String::as_str) == Some("calico-node"))
        .collect();
    let pod_here = calico_pods.iter().any(|p| p.spec.node_name == me);
    let cali_links = cx
        .node
        .links
        .as_ref()
        .map(|l| l.iter().any(|l| l.ifname().starts_with("cali")))
        .unwrap_or(false);
    if !calico_pods.is_empty() && !pod_here && !cali_links {
        // calico-node does not run here: not a Calico node.
        return Verdicts::clear(
            format!("does not apply: calico-node does not run on {me} (no pod, no cali* device)"),
            Vec::new(),
        );
    }
    let links = match &cx.node.links {
        Ok(l) => l,
        Err(m) => {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "whether vxlan.calico exists and is up",
                m.to_string(),
                Some("ip -d link show vxlan.calico"),
            ));
        }
    };
    let dev = links.iter().find(|l| l.ifname() == DEVICE);
    if dev.is_some_and(|d| d.is_up()) {
        return Verdicts::clear(
            format!("{DEVICE} exists and is up"),
            vec![Evidence::new(
                names::RTNL_LINKS,
                format!("link {DEVICE}"),
                "up",
            )],
        );
    }
    let felix_off = cx
        .cluster
        .state
        .felix_configurations
        .iter()
        .filter(|fc| fc.metadata.name == "default" || fc.metadata.name == format!("node.{me}"))
        .find(|fc| fc.spec.vxlan_enabled == Some(false));
    let summary = match (dev, felix_off) {
        (None, Some(fc)) => format!(
            "IPPool {} uses VXLAN, but FelixConfiguration {} sets vxlanEnabled: false, so this \
             node has no vxlan.calico",
            pools[0].metadata.name, fc.metadata.name
        ),
        (None, None) => format!(
            "IPPool {} uses VXLAN (vxlanMode: {}), but this node has no vxlan.calico device",
            pools[0].metadata.name, pools[0].spec.vxlan_mode
        ),
        (Some(_), _) => format!(
            "IPPool {} uses VXLAN (vxlanMode: {}), but vxlan.calico is down on this node",
            pools[0].metadata.name, pools[0].spec.vxlan_mode
        ),
    };
    let confidence = if pod_here || cali_links {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let mut f = cx.finding(&INFO, Severity::Error, confidence, summary);
    f.subject = Some(DEVICE.to_string());
    f.detail = "Calico reaches pods on other nodes through vxlan.calico when the pool \
        encapsulates in VXLAN (always, or across subnets). Without the device up, this node \
        cannot send to (or receive from) other nodes' pods, so Services whose endpoints run \
        elsewhere time out from here. Felix creates the device only when VXLAN is enabled for \
        it, and retries while the device is missing."
        .to_string();
    for p in &pools {
        let name = &p.metadata.name;
        f.evidence.push(cx.cluster.field_evidence(
            IPPOOLS_YAML,
            name,
            "vxlanMode",
            format!("vxlanMode: {}", p.spec.vxlan_mode),
        ));
    }
    match dev {
        None => f.evidence.push(Evidence::new(
            names::RTNL_LINKS,
            "all links",
            format!("no link named {DEVICE} among {} links", links.len()),
        )),
        Some(d) => f.evidence.push(Evidence::new(
            names::RTNL_LINKS,
            format!("link {DEVICE}"),
            format!(
                "{DEVICE}: <{}> state {}",
                d.summary.flags.join(","),
                d.summary.operstate.as_deref().unwrap_or("?")
            ),
        )),
    }
    for log in CALICO_LOGS {
        if let Some((n, line)) = cx.cluster.find_line(log, None, &[DEVICE]) {
            f.evidence.push(Evidence::new(
                ClusterFacts::artifact(log),
                format!("line {n}"),
                line,
            ));
            break;
        }
    }
    if let Some(fc) = felix_off {
        let name = &fc.metadata.name;
        f.evidence.push(cx.cluster.field_evidence(
            FELIX_YAML,
            name,
            "vxlanEnabled",
            "vxlanEnabled: false".to_string(),
        ));
        let resource = calico_resource("felixconfigurations", &fc.api_version);
        let patch = r#"{"spec":{"vxlanEnabled":true}}"#.to_string();
        f.fix.push(FixStep::kubectl_patch(
            format!("FelixConfiguration {name} pins VXLAN off while a pool uses it: turn it on."),
            &resource,
            name,
            &patch,
        ));
    }
    if dev.is_some() {
        f.fix.push(FixStep::new(
            "Delete the stuck device so Felix recreates it (only after checking nothing else \
             manages it, e.g. NetworkManager).",
            vec![format!("ip link del {DEVICE}")],
            FixAction::Manual,
        ));
    }
    let ns = calico_pods
        .first()
        .map_or("kube-system", |p| p.metadata.namespace.as_str());
    f.fix.push(restart_node_pod(
        cx,
        "Restart calico-node on this node so Felix sets up vxlan.calico and its routes.",
        ns,
        "calico-node",
        "k8s-app=calico-node",
    ));
    Verdicts::found(f)
}

/// No IPPool was read (a paste of `ip addr` alone), but the node shows `vxlan.calico` without
/// the UP flag. Felix creates that device only while VXLAN is enabled for the node and sets
/// it up when it does (felix/dataplane/linux/vxlan_mgr.go, `configureVXLANDevice`:
/// LinkAdd, then LinkSetUp), so its presence says VXLAN is in use and its being down says
/// this node's VXLAN path is broken. None when the device is up, absent, or not shown.
fn device_without_pools(cx: &Context<'_>) -> Option<Verdicts> {
    let dev = cx.node.link(DEVICE)?;
    if dev.is_up() {
        return None;
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::Medium,
        format!(
            "{DEVICE} exists but is down on this node: Felix created it for VXLAN, and VXLAN \
             traffic to and from this node's pods has no working device"
        ),
    );
    f.subject = Some(DEVICE.to_string());
    f.detail = "Felix creates vxlan.calico only when a VXLAN pool (or FelixConfiguration) \
        enables VXLAN for the node, and brings it up when it does. A vxlan.calico without the \
        UP flag receives encapsulated packets on UDP 4789 from other nodes but decapsulates \
        none, and sends nothing: pods on other nodes, and Services whose endpoints run here, \
        time out. A device that stays down after calico-node restarts is stuck (calico#4468), \
        or something else takes it down (NetworkManager or systemd-networkd managing it, C33)."
        .to_string();
    f.evidence.push(Evidence::new(
        names::RTNL_LINKS,
        format!("link {DEVICE}"),
        format!(
            "{DEVICE}: <{}> state {}",
            dev.summary.flags.join(","),
            dev.summary.operstate.as_deref().unwrap_or("?")
        ),
    ));
    f.fix.push(FixStep::new(
        "Check that no network manager handles the device, then delete it so Felix recreates \
         it up (calico-node on the node does so within its resync interval).",
        vec![
            "nmcli device status 2>/dev/null | grep -e vxlan.calico -e cali; networkctl list 2>/dev/null | grep -e vxlan.calico -e cali".to_string(),
            format!("ip link del {DEVICE}"),
            format!("ip -d link show {DEVICE}"),
        ],
        FixAction::Manual,
    ));
    Some(Verdicts::found(f))
}
