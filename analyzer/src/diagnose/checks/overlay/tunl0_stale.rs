//! C28, second half: IPIP is off in every Calico IPPool, yet `tunl0` is still UP with its
//! tunnel address, and routes to other nodes' pod blocks may still point into it. Calico does
//! not take the device down when IPIP is switched off (projectcalico/calico#4856 shows Felix
//! keeping a tunnel device while FelixConfiguration enables it); stale routes keep
//! encapsulating traffic the other side no longer expects. In the motivating case the NodePort
//! kept timing out until `tunl0` was set down. Bare existence of `tunl0` is normal: the ipip
//! module creates it when loaded (failure catalog part 3, rule 7).

use std::net::IpAddr;

use netsnap_bundle::names;

use crate::diagnose::checks::overlay::cni_evidence::calico_resource;
use crate::diagnose::checks::{list_capped, restart_node_pod, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::facts::{FELIX_YAML, IPPOOLS_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "tunl0-routes-while-ipip-off",
    catalog: "C28",
    title: "tunl0 still UP (and routed through) after IPIP was switched off",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://github.com/projectcalico/calico/issues/4856",
        "https://www.cnblogs.com/ethnicity/p/19159829",
    ],
    evidence: "Calico IPPools (none with IPIP on); FelixConfiguration `ipipEnabled`; `tunl0` UP, its addresses, and routes through it outside the local table.",
    fix: "Turn off Felix's IPIP pin; restart calico-node on the node; delete routes left via tunl0; flush its address and set it down, each guarded.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const TUNL0: &str = "tunl0";

fn run(cx: &Context<'_>) -> Verdicts {
    let Some(link) = cx.node.link(TUNL0) else {
        return Verdicts::clear(
            "does not apply: there is no tunl0 device (or the links were not read)",
            Vec::new(),
        );
    };
    if !link.is_up() {
        return Verdicts::clear(
            "tunl0 is down",
            vec![Evidence::new(
                names::RTNL_LINKS,
                format!("link {TUNL0}"),
                "down",
            )],
        );
    }
    let addrs: Vec<IpAddr> = cx
        .node
        .addrs_of(link.summary.ifindex)
        .filter_map(|a| a.ip)
        .collect();
    let routes: Vec<String> = cx
        .node
        .routes_via(TUNL0)
        .map(|r| {
            let mut s = r.dst.clone();
            if let Some(g) = &r.gateway {
                s.push_str(&format!(" via {g}"));
            }
            if let Some(p) = &r.protocol {
                s.push_str(&format!(" proto {p}"));
            }
            s
        })
        .collect();
    if addrs.is_empty() && routes.is_empty() {
        return Verdicts::clear(
            "tunl0 is up but has no address and no route: it carries nothing",
            vec![Evidence::new(
                names::RTNL_LINKS,
                format!("link {TUNL0}"),
                "up, no address, no route via it",
            )],
        );
    }
    let pools = &cx.cluster.state.ip_pools;
    if pools.is_empty() {
        if !routes.is_empty() {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "whether the routes via tunl0 are still wanted",
                "tunl0 is UP and routes through it, but no Calico IPPool was collected to say \
                 whether IPIP is on",
                Some("kubectl get ippools.crd.projectcalico.org -o yaml (spec.ipipMode)"),
            ));
        }
        return Verdicts::clear(
            "tunl0 is up with an address but no route, and no Calico IP pool was read to say \
             whether IPIP is wanted",
            Vec::new(),
        );
    }
    let ipip_on = pools
        .iter()
        .filter(|p| !p.spec.disabled)
        .any(|p| matches!(p.spec.ipip_mode.as_str(), "Always" | "CrossSubnet"));
    if ipip_on {
        return Verdicts::clear("tunl0 is wanted: a Calico IP pool has IPIP on", Vec::new());
    }
    // A pool whose ipipMode could not be read may have IPIP on: its default is no fact.
    if let Some((p, why)) = pools.iter().find_map(|p| {
        let why = cx
            .cluster
            .state
            .unreadable_field("IPPool", &p.metadata, ".spec.ipipMode")?;
        Some((p, why))
    }) {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether IPIP is off in every IPPool while tunl0 is UP",
            format!(
                "ipipMode of IPPool {} could not be read ({why})",
                p.metadata.name
            ),
            Some("kubectl get ippools.crd.projectcalico.org -o yaml (spec.ipipMode)"),
        ));
    }
    let severity = if routes.is_empty() {
        Severity::Warning
    } else {
        Severity::Error
    };
    let summary = if routes.is_empty() {
        format!(
            "tunl0 is still UP with {} although no IPPool uses IPIP",
            list_capped(&addrs, 2)
        )
    } else {
        match routes.len() {
            1 => "1 route still goes through tunl0 although no IPPool uses IPIP".to_string(),
            n => format!("{n} routes still go through tunl0 although no IPPool uses IPIP"),
        }
    };
    let mut f = cx.finding(
        &INFO,
        severity,
        if routes.is_empty() {
            Confidence::Medium
        } else {
            Confidence::High
        },
        summary,
    );
    f.subject = Some(TUNL0.to_string());
    f.detail = "Every IPPool has ipipMode Never, so other nodes no longer expect IPIP \
        packets, but this node still encapsulates traffic to the pod blocks routed via tunl0, \
        and keeps the tunnel address, which the kernel may pick as the source of traffic to \
        pods. Cross-node pod and Service traffic from this node fails until the routes are \
        gone and tunl0 is down."
        .to_string();
    for p in pools {
        let name = &p.metadata.name;
        let mode = if p.spec.ipip_mode.is_empty() {
            "ipipMode not set (Never)".to_string()
        } else {
            format!("ipipMode: {}", p.spec.ipip_mode)
        };
        f.evidence.push(
            cx.cluster
                .field_evidence(IPPOOLS_YAML, name, "ipipMode", mode),
        );
    }
    f.evidence.push(Evidence::new(
        names::RTNL_LINKS,
        "link tunl0",
        format!(
            "tunl0: <{}> mtu {}",
            link.summary.flags.join(","),
            link.summary
                .mtu
                .map_or_else(|| "?".to_string(), |m| m.to_string())
        ),
    ));
    if !addrs.is_empty() {
        f.evidence.push(Evidence::new(
            names::RTNL_ADDRS,
            "link tunl0",
            format!("inet {}", list_capped(&addrs, EVIDENCE_ITEMS)),
        ));
    }
    if !routes.is_empty() {
        f.evidence.push(Evidence::new(
            names::RTNL_ROUTES_V4,
            "routes via tunl0",
            list_capped(&routes, EVIDENCE_ITEMS),
        ));
    }
    let felix_pinned = cx
        .cluster
        .state
        .felix_configurations
        .iter()
        .find(|fc| fc.spec.ipip_enabled == Some(true));
    if let Some(fc) = felix_pinned {
        let name = &fc.metadata.name;
        f.evidence.push(cx.cluster.field_evidence(
            FELIX_YAML,
            name,
            "ipipEnabled",
            "ipipEnabled: true".to_string(),
        ));
        let resource = calico_resource("felixconfigurations", &fc.api_version);
        let patch = r#"{"spec":{"ipipEnabled":false}}"#.to_string();
        f.fix.push(FixStep::kubectl_patch(
            format!("FelixConfiguration {name} pins IPIP on; turn it off."),
            &resource,
            name,
            &patch,
        ));
    }
    let calico_ns = cx
        .cluster
        .state
        .pods
        .iter()
        .find(|p| p.metadata.labels.get("k8s-app").map(String::as_str) == Some("calico-node"))
        .map_or("kube-system", |p| p.metadata.namespace.as_str());
    f.fix.push(restart_node_pod(
        cx,
        "Restart calico-node on this node so it reprograms the pod-block routes without the tunnel.",
        calico_ns,
        "calico-node",
        "k8s-app=calico-node",
    ));
    if !routes.is_empty() {
        f.fix.push(FixStep::new(
            "Delete routes that still go through tunl0 (only those calico-node left behind).",
            cx.node
                .routes_via(TUNL0)
                .map(|r| format!("ip route del {} dev tunl0", r.dst))
                .collect(),
            FixAction::DeleteRoutes {
                ifname: TUNL0.to_string(),
                protocol: Some("bird".to_string()),
                destinations: cx.node.routes_via(TUNL0).map(|r| r.dst.clone()).collect(),
            },
        ));
    }
    f.fix.push(FixStep::new(
        "Remove the stale tunnel address from tunl0.",
        vec!["ip addr flush dev tunl0".to_string()],
        FixAction::FlushAddresses {
            ifname: TUNL0.to_string(),
        },
    ));
    f.fix.push(FixStep::new(
        "Take tunl0 down, once no pool uses IPIP and no route uses the device.",
        vec!["ip link set tunl0 down".to_string()],
        FixAction::LinkDown {
            ifname: TUNL0.to_string(),
        },
    ));
    Verdicts::found(f)
}
