//! C22: pods sit behind a Linux bridge (flannel's `cni0`, the `bridge` plugin, kubenet's
//! `cbr0`), and bridged frames skip iptables. A pod reaching a ClusterIP whose endpoint is
//! behind the same bridge has its request DNATed in PREROUTING, but the endpoint's reply goes
//! straight across the bridge to the client pod: it never meets conntrack's reverse NAT, the
//! client sees a reply from the wrong address and drops it (kubernetes#24019). Bridged traffic
//! passes the iptables hooks only with `br_netfilter` loaded and
//! `net.bridge.bridge-nf-call-iptables = 1` (net/bridge/br_netfilter_hooks.c; the sysctls
//! exist only while the module is loaded). Routed CNIs (Calico's cali* veths, Cilium) have no
//! such bridge and do not need it.

use netsnap_bundle::names;

use super::{sysctl_line, unreadable};
use crate::decode::modules::ModuleStatus;
use crate::decode::sysctl::SysctlValue;
use crate::diagnose::checks::{list_capped, module_absence_evidence, Check, CheckInfo};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "br-netfilter-missing",
    catalog: "C22",
    title: "Pods behind a Linux bridge without br_netfilter / bridge-nf-call-iptables",
    layer: Layer::Node,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/24019",
        "https://github.com/kelseyhightower/kubernetes-the-hard-way/issues/561",
        "https://github.com/cloudnativelabs/kube-router/issues/151",
        "https://github.com/projectcalico/calicoctl/issues/1220",
    ],
    evidence: "Links: a bridge with veth ports; `sysctl.txt` `net.bridge.bridge-nf-call-iptables` (absent without the module); `/proc/modules`, `modules.builtin` for br_netfilter.",
    fix: "`modprobe br_netfilter` and persist it; set `net.bridge.bridge-nf-call-iptables=1` (and ip6tables) in a sysctl.d drop-in of our own.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const KEY: &str = "net.bridge.bridge-nf-call-iptables";
const KEY6: &str = "net.bridge.bridge-nf-call-ip6tables";
const MODULE: &str = "br_netfilter";

fn run(cx: &Context<'_>) -> Verdicts {
    let links = match &cx.node.links {
        Ok(l) => l,
        Err(m) => {
            return Verdicts::clear(
                format!("no bridge with veth ports is known: the node's links were not read ({m})"),
                Vec::new(),
            );
        }
    };
    // Bridges with veth ports: (bridge, its veth ports).
    let mut bridges: Vec<(&str, Vec<&str>)> = Vec::new();
    for b in links.iter().filter(|l| l.kind() == Some("bridge")) {
        let ports: Vec<&str> = links
            .iter()
            .filter(|l| l.kind() == Some("veth"))
            .filter(|l| {
                l.summary.master_index == Some(b.summary.ifindex)
                    || l.summary.master.as_deref() == Some(b.ifname())
            })
            .map(|l| l.ifname())
            .collect();
        if !ports.is_empty() {
            bridges.push((b.ifname(), ports));
        }
    }
    if bridges.is_empty() {
        return Verdicts::clear(
            "does not apply: no bridge on this node has veth ports (pods are not bridged)",
            vec![Evidence::new(
                names::RTNL_LINKS,
                "bridges",
                format!(
                    "{} bridge(s), none with a veth port",
                    links.iter().filter(|l| l.kind() == Some("bridge")).count()
                ),
            )],
        );
    }
    let module = cx.node.module(MODULE);
    let module_missing = matches!(
        module,
        ModuleStatus::NotLoaded { .. } | ModuleStatus::NotAvailable
    );
    let sysctl = cx
        .node
        .sysctls
        .as_ref()
        .ok()
        .and_then(|s| s.get(KEY).cloned());
    let (confidence, problem) = match &sysctl {
        Some(SysctlValue::Value(v)) if v.trim() == "0" => (Confidence::High, SysctlProblem::Off),
        Some(SysctlValue::Value(v)) => {
            return Verdicts::clear(
                format!("traffic bridged on {} passes iptables", bridges[0].0),
                vec![Evidence::new(names::SYSCTLS, KEY, format!("{KEY} = {v}"))],
            );
        }
        Some(SysctlValue::Absent) => (Confidence::High, SysctlProblem::NoModule),
        other => {
            if module_missing {
                (Confidence::Medium, SysctlProblem::NoModule)
            } else {
                let why = match other {
                    Some(v) => format!("{KEY} {}", unreadable(v)),
                    None => match &cx.node.sysctls {
                        Err(m) => m.to_string(),
                        Ok(_) => format!("{KEY} is not in {}", names::SYSCTLS),
                    },
                };
                return Verdicts::cannot(cx.not_concluded(
                    &INFO,
                    format!(
                        "whether traffic bridged on {} passes iptables",
                        bridges[0].0
                    ),
                    why,
                    Some("lsmod | grep br_netfilter; sysctl net.bridge.bridge-nf-call-iptables"),
                ));
            }
        }
    };
    let bridge_list: Vec<String> = bridges
        .iter()
        .map(|(b, ports)| format!("{b} ({} veth ports)", ports.len()))
        .collect();
    let summary = match problem {
        SysctlProblem::Off => format!(
            "Pods are bridged on {} but net.bridge.bridge-nf-call-iptables = 0: bridged Service \
             traffic bypasses kube-proxy's NAT",
            list_capped(&bridge_list, 3)
        ),
        SysctlProblem::NoModule => format!(
            "Pods are bridged on {} but br_netfilter is not loaded: bridged Service traffic \
             bypasses kube-proxy's NAT",
            list_capped(&bridge_list, 3)
        ),
    };
    let mut f = cx.finding(&INFO, Severity::Error, confidence, summary);
    f.detail = "Frames between two pods on the same bridge are switched, not routed, and skip \
        iptables unless br_netfilter hands them to it. A pod calling a ClusterIP whose endpoint \
        sits on the same bridge gets the reply straight from the endpoint's own address, \
        without the reverse NAT, and drops it: same-node Service calls (DNS to a co-located \
        CoreDNS is the classic) time out while cross-node ones work."
        .to_string();
    for (b, ports) in &bridges {
        f.evidence.push(Evidence::new(
            names::RTNL_LINKS,
            format!("link {b}"),
            format!("bridge {b} with veth ports {}", list_capped(ports, 5)),
        ));
    }
    let sysctl_text = cx.node.text(names::SYSCTLS).unwrap_or_default();
    match &sysctl {
        Some(SysctlValue::Value(v)) => f.evidence.push(Evidence::new(
            names::SYSCTLS,
            sysctl_line(&sysctl_text, KEY),
            format!("{KEY} = {v}"),
        )),
        Some(SysctlValue::Absent) => f.evidence.push(Evidence::new(
            names::SYSCTLS,
            sysctl_line(&sysctl_text, KEY),
            format!("{KEY} does not exist: /proc/sys/net/bridge appears only with br_netfilter"),
        )),
        _ => {}
    }
    if module_missing {
        f.evidence
            .extend(module_absence_evidence(cx, &[MODULE.to_string()]));
    }
    if matches!(module, ModuleStatus::NotAvailable) {
        f.fix.push(FixStep::manual(
            "This kernel was built without br_netfilter (CONFIG_BRIDGE_NETFILTER not set): use \
             a kernel with it, or a CNI that routes pod traffic instead of bridging it.",
        ));
    } else if module_missing || matches!(problem, SysctlProblem::NoModule) {
        let m = vec![MODULE.to_string()];
        f.fix.extend(FixStep::load_modules(&m));
    }
    for key in [KEY, KEY6] {
        f.fix.push(FixStep::new(
            format!(
                "Pass bridged traffic to {}: set {key} = 1 now and at boot.",
                if key == KEY { "iptables" } else { "ip6tables" }
            ),
            vec![
                format!("sysctl -w {key}=1"),
                format!("echo '{key} = 1' >> /etc/sysctl.d/90-netsnap-bridge.conf"),
            ],
            FixAction::SetSysctl {
                key: key.to_string(),
                value: "1".to_string(),
            },
        ));
    }
    Verdicts::found(f)
}

#[derive(Debug, Clone, Copy)]
enum SysctlProblem {
    /// The module is there, the switch is off.
    Off,
    /// The module is not loaded (the sysctl does not exist).
    NoModule,
}
