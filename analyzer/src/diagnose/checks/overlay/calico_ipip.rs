//! C28, first half: a Calico IPPool encapsulates pod traffic in IPIP (`ipipMode: Always`)
//! although every node sits on this node's own L2 subnet, where plain routing works. IPIP
//! packets are IP protocol 4; networks that filter it (cloud security groups, some switches and
//! firewalls) silently drop all cross-node pod traffic, and with it every Service whose
//! endpoint is on another node. This was one of the stacked causes of the motivating case
//! (https://www.cnblogs.com/ethnicity/p/19159829). Calico's pool modes: Never, Always,
//! CrossSubnet (https://docs.tigera.io/calico/latest/reference/resources/ippool).

use std::net::IpAddr;

use crate::diagnose::checks::overlay::cni_evidence::calico_resource;
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::expect::{cidr_contains, parse_cidr};
use crate::diagnose::facts::{ClusterFacts, IPPOOLS_YAML, NODES_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};
use crate::observe::{FactKind, Observation};

pub const INFO: CheckInfo = CheckInfo {
    id: "calico-ipip-on-flat-network",
    catalog: "C28",
    title: "Calico IPIP encapsulation where all nodes share one subnet",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://docs.tigera.io/calico/latest/reference/resources/ippool",
        "https://docs.tigera.io/calico/latest/networking/configuring/vxlan-ipip",
        "https://www.cnblogs.com/ethnicity/p/19159829",
    ],
    evidence: "Calico IPPools (`ipipMode: Always`, not disabled); Node InternalIPs; this node's interface prefix holding its InternalIP; routes via `tunl0`.",
    fix: "`kubectl patch` the pool (by its real name) to `ipipMode: Never` (or CrossSubnet).",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    let mut j = crate::diagnose::verdict::Judgement::new();
    // A pool whose ipipMode could not be read may encapsulate: its default is no fact.
    for p in &cx.cluster.state.ip_pools {
        let unread = cx
            .cluster
            .state
            .unreadable_field("IPPool", &p.metadata, ".spec.ipipMode");
        if let Some(why) = unread {
            j.cannot(cx.not_concluded(
                &INFO,
                format!("whether IPPool {} encapsulates in IPIP", p.metadata.name),
                format!("its ipipMode could not be read ({why})"),
                Some("kubectl get ippools.crd.projectcalico.org -o yaml (spec.ipipMode)"),
            ));
        }
    }
    for v in judge_pools(cx) {
        match v {
            crate::diagnose::verdict::Verdict::Found(f) => j.found(f),
            crate::diagnose::verdict::Verdict::Cannot(n) => j.cannot(n),
            crate::diagnose::verdict::Verdict::Clear {
                subject,
                why,
                evidence,
            } => j.clear(subject.unwrap_or_default(), why, evidence),
        }
    }
    j.or_clear(
        "no enabled Calico IP pool encapsulates where it should not",
        Vec::new(),
    )
}

fn judge_pools(cx: &Context<'_>) -> Verdicts {
    let pools: Vec<_> = cx
        .cluster
        .state
        .ip_pools
        .iter()
        .filter(|p| !p.spec.disabled && p.spec.ipip_mode == "Always")
        .collect();
    if pools.is_empty() {
        return Verdicts::clear(
            "does not apply: no enabled Calico IP pool has ipipMode Always",
            Vec::new(),
        );
    }
    let nodes = &cx.cluster.state.nodes;
    let internal: Vec<(String, IpAddr)> = nodes
        .iter()
        .flat_map(|n| {
            n.addresses_of("InternalIP")
                .filter_map(|a| a.parse::<IpAddr>().ok())
                .filter(IpAddr::is_ipv4)
                .map(|ip| (n.metadata.name.clone(), ip))
                .collect::<Vec<_>>()
        })
        .collect();
    if internal.len() < 2 {
        return Verdicts::clear(
            "does not apply: fewer than two Nodes have an IPv4 InternalIP, so no traffic crosses \
             nodes",
            Vec::new(),
        );
    }
    // The subnet of this node's own InternalIP, from its interface address.
    let local = cx.node.local_addresses();
    let Some((subnet, dev)) = local.iter().find_map(|(ip, dev, a)| {
        internal
            .iter()
            .any(|(_, n)| n == ip)
            .then(|| ((*ip, a.prefixlen), dev.to_string()))
    }) else {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether IPIP is needed between the nodes",
            "no local address of this node is a Node InternalIP (or addresses were not collected)",
            Some("ip -br addr; kubectl get nodes -o wide"),
        ));
    };
    let outside: Vec<&(String, IpAddr)> = internal
        .iter()
        .filter(|(_, ip)| !cidr_contains(subnet, *ip))
        .collect();
    if !outside.is_empty() {
        // Nodes on other subnets need encapsulation (or CrossSubnet); not this finding.
        return Verdicts::clear(
            format!(
                "IPIP is needed: {} node(s) are outside this node's subnet",
                outside.len()
            ),
            Vec::new(),
        );
    }
    let mut out = Judgement::new();
    let subnet_text = format!("{}/{}", network(subnet), subnet.1);
    // IPIP on one subnet is legal and common: it works wherever the network passes IP
    // protocol 4. It is the cause only where traffic is seen failing; otherwise a warning
    // that says what would confirm it.
    let failing: Vec<&Observation> = cx
        .node
        .observed(FactKind::ProbeFailed)
        .filter(|o| !matches!(o.value.as_str(), "refused" | "reset" | "dns"))
        .collect();
    let severity = if failing.is_empty() {
        Severity::Warning
    } else {
        Severity::Error
    };
    for pool in pools {
        let name = &pool.metadata.name;
        let mut f = cx.finding(
            &INFO,
            severity,
            Confidence::Medium,
            format!(
                "Calico IPPool {name} encapsulates pod traffic in IPIP (ipipMode: Always) \
                 although every node ({}) is on the subnet {subnet_text}",
                internal.len()
            ),
        );
        f.subject = Some(name.clone());
        f.detail = format!(
            "Pod traffic between nodes, and so Service traffic to endpoints on other nodes, \
             travels as IP protocol 4 over {dev}. On one L2 subnet plain routing needs no \
             tunnel; where the network drops protocol 4 every cross-node connection times out. \
             Switching the pool to Never (or CrossSubnet) removes the dependency.{}",
            if failing.is_empty() {
                format!(
                    " Nothing in the evidence shows traffic failing: to confirm, capture on \
                     both nodes while connecting to a pod on the other one (tcpdump -ni {dev} \
                     'ip proto 4'); packets that leave one node and never reach the other \
                     show the network drops protocol 4."
                )
            } else {
                String::new()
            }
        );
        f.evidence
            .extend(failing.iter().take(2).map(|o| o.evidence.clone()));
        let pool_ev = cx.cluster.field_evidence(
            IPPOOLS_YAML,
            name,
            "ipipMode",
            "ipipMode: Always".to_string(),
        );
        let yaml_artifact = pool_ev.artifact.clone();
        f.evidence.push(pool_ev);
        if let Some(cidr) = parse_cidr(&pool.spec.cidr).map(|(a, l)| format!("{a}/{l}")) {
            f.evidence.push(Evidence::new(
                yaml_artifact.clone(),
                format!("{name} .spec.cidr"),
                format!("cidr: {cidr}"),
            ));
        }
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(NODES_YAML),
            "status.addresses InternalIP",
            internal
                .iter()
                .map(|(n, ip)| format!("{n} {ip}"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
        f.evidence.push(Evidence::new(
            netsnap_bundle::names::RTNL_ADDRS,
            format!("link {dev}"),
            format!("{}/{} (subnet {subnet_text})", subnet.0, subnet.1),
        ));
        let tunnel_routes = cx.node.routes_via("tunl0").count();
        if tunnel_routes > 0 {
            f.evidence.push(Evidence::new(
                netsnap_bundle::names::RTNL_ROUTES_V4,
                "routes via tunl0",
                if tunnel_routes == 1 {
                    "1 route to a pod block goes through tunl0".to_string()
                } else {
                    format!("{tunnel_routes} routes to pod blocks go through tunl0")
                },
            ));
        }
        let resource = calico_resource("ippools", &pool.api_version);
        let patch = r#"{"spec":{"ipipMode":"Never"}}"#.to_string();
        f.fix.push(FixStep::kubectl_patch(
            format!(
                "Switch pool {name} to plain routing (ipipMode: Never; CrossSubnet if nodes \
                 may later sit on other subnets). calico-node then reprograms the routes."
            ),
            &resource,
            name,
            &patch,
        ));
        out.found(f);
    }
    out.or_clear("no IPIP Always pool needs checking here", Vec::new())
}

fn network((ip, len): (IpAddr, u8)) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}
