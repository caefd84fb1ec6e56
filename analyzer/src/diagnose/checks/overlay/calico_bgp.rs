//! C30: Calico's BGP sessions are down, so no routes to other nodes' pod blocks arrive. In BGP
//! networking (pools without VXLAN, plain routing or IPIP) BIRD inside calico-node announces
//! the node's IPAM blocks and installs the peers' blocks as `proto bird` routes; for its own
//! block it installs a `blackhole ... proto bird` route. A blackhole without a single route to
//! another node's block means BIRD runs but learned nothing. calico-node's readiness probe
//! (`calico-node -bird-ready`) then fails with "BIRD is not ready: BGP not established with
//! ..." (Calico node/pkg/health; projectcalico/calico#2561, #6643, #8751). Causes: TCP 179
//! blocked between nodes, a wrong autodetected address (C29), a broken mesh configuration.

use std::net::IpAddr;

use super::cni_evidence::{
    calico_in_use, calico_namespace, internal_ipv4, node_log_lines, node_pod, pasted_observations,
    CALICO_LOGS,
};
use crate::diagnose::checks::overlay::cni_evidence::cni_not_in_use;
use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::expect::{cidr_contains, parse_cidr};
use crate::diagnose::facts::{ClusterFacts, IPPOOLS_YAML, PODS_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};
use crate::observe::{FactKind, Observation};

pub const INFO: CheckInfo = CheckInfo {
    id: "calico-bgp-down",
    catalog: "C30",
    title: "Calico BGP sessions down: no routes to other nodes' pod blocks",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://github.com/projectcalico/calico/issues/2561",
        "https://github.com/projectcalico/calico/issues/6643",
        "https://github.com/projectcalico/calico/issues/8751",
        "https://github.com/vmware-archive/wardroom/pull/202",
    ],
    evidence: "IPPools without VXLAN (BGP networking); this node's `blackhole <block> proto bird` route and the absence of `proto bird` routes to other blocks; calico-node pod readiness on the node; \"BGP not established\" in calico-node output.",
    fix: "Open TCP 179 between the nodes, fix the node address Calico uses (C29), then check `calicoctl node status`; or switch the pools to VXLAN.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const BIRD: &str = "bird";
const NOT_ESTABLISHED: &str = "BGP not established";

fn run(cx: &Context<'_>) -> Verdicts {
    if !calico_in_use(cx) {
        return cni_not_in_use("Calico");
    }
    let pools: Vec<_> = cx
        .cluster
        .state
        .ip_pools
        .iter()
        .filter(|p| !p.spec.disabled)
        .collect();
    if pools
        .iter()
        .any(|p| matches!(p.spec.vxlan_mode.as_str(), "Always" | "CrossSubnet"))
    {
        // Felix programs VXLAN routes itself; BGP is not needed for them.
        return Verdicts::clear(
            "does not apply: a Calico IP pool uses VXLAN, whose routes Felix programs without BGP",
            Vec::new(),
        );
    }
    if let Some(v) = from_status(cx) {
        return v;
    }
    let routes = match &cx.node.routes {
        Ok(r) => r,
        Err(m) => {
            if !pools.is_empty() {
                return Verdicts::cannot(cx.not_concluded(
                    &INFO,
                    "whether this node learned routes to the other nodes' pod blocks over BGP",
                    format!("routes: {m}"),
                    Some("ip route show proto bird"),
                ));
            }
            return Verdicts::clear(
                format!("nothing shows BGP networking: no Calico IP pool was read, nor the routes ({m})"),
                Vec::new(),
            );
        }
    };
    let v4 = |r: &&crate::decode::rtnl::Route| r.family == 2;
    let own: Vec<&str> = routes
        .iter()
        .filter(v4)
        .filter(|r| r.kind.as_deref() == Some("blackhole") && r.protocol.as_deref() == Some(BIRD))
        .map(|r| r.dst.as_str())
        .collect();
    if own.is_empty() {
        // No block of its own announced by BIRD: not BGP networking on this node, or nothing
        // to say about it.
        return Verdicts::clear(
            "does not apply: BIRD announces no pod block of this node (no blackhole route of \
             proto bird)",
            Vec::new(),
        );
    }
    let any_learned = routes
        .iter()
        .filter(v4)
        .any(|r| r.protocol.as_deref() == Some(BIRD) && r.kind.as_deref() != Some("blackhole"));
    let pool_cidrs: Vec<(IpAddr, u8)> = pools
        .iter()
        .filter_map(|p| parse_cidr(&p.spec.cidr))
        .collect();
    let learned = routes
        .iter()
        .filter(v4)
        .filter(|r| r.protocol.as_deref() == Some(BIRD) && r.kind.as_deref() != Some("blackhole"))
        .filter(|r| {
            parse_cidr(&r.dst)
                .is_some_and(|(ip, _)| pool_cidrs.iter().any(|c| cidr_contains(*c, ip)))
        })
        .count();
    if learned > 0 {
        return Verdicts::clear(
            format!("this node learned {learned} route(s) to other nodes' pod blocks over BGP"),
            Vec::new(),
        );
    }
    if pools.is_empty() {
        if any_learned {
            return Verdicts::clear(
                "this node learned routes over BGP (no Calico IP pool was read to match them with)",
                Vec::new(),
            );
        }
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether BGP should be delivering routes to other nodes' blocks",
            "BIRD installed a blackhole for this node's block, but no Calico IPPool was \
             collected to say whether the pools use VXLAN",
            Some("kubectl get ippools.crd.projectcalico.org -o yaml (spec.vxlanMode)"),
        ));
    }
    let me = cx.identity.as_ref().map(|i| i.name.as_str());
    let others: Vec<(String, Vec<IpAddr>)> = cx
        .cluster
        .state
        .nodes
        .iter()
        .filter(|n| Some(n.metadata.name.as_str()) != me)
        .map(|n| (n.metadata.name.clone(), internal_ipv4(n)))
        .collect();
    if others.is_empty() || me.is_none() {
        return Verdicts::clear(
            if me.is_none() {
                "not judged: this bundle matches no Node, so its BGP peers are not known"
            } else {
                "does not apply: there is no other node to learn routes from"
            },
            Vec::new(),
        );
    }
    let pod = node_pod(cx, "k8s-app", "calico-node");
    if pod.is_some_and(|p| p.is_ready()) {
        // The readiness probe includes BIRD's sessions: Ready means they are established, and
        // the other nodes simply have no blocks yet.
        return Verdicts::clear(
            "calico-node on this node is Ready, so its BGP sessions are up: the other nodes have \
             no blocks yet",
            Vec::new(),
        );
    }
    let (severity, confidence) = if pod.is_some() {
        (Severity::Error, Confidence::High)
    } else {
        (Severity::Warning, Confidence::Low)
    };
    let mut f = cx.finding(
        &INFO,
        severity,
        confidence,
        format!(
            "No BGP routes to other nodes' pod blocks on this node (BIRD holds only its own \
             block {}); {} other node(s) known",
            list_capped(&own, 3),
            others.len()
        ),
    );
    f.detail = "In Calico's BGP networking each node learns the other nodes' pod blocks from \
        BIRD. This node announces its own block (the blackhole route) but has learned none, so \
        packets to pods on other nodes follow the default route and are lost: Services whose \
        endpoints are on other nodes time out from here."
        .to_string();
    for p in &pools {
        let name = &p.metadata.name;
        let yaml = IPPOOLS_YAML
            .iter()
            .find(|y| {
                cx.cluster
                    .text(y)
                    .is_some_and(|t| t.contains(name.as_str()))
            })
            .copied()
            .unwrap_or(IPPOOLS_YAML[0]);
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(yaml),
            format!("{name} .spec"),
            format!(
                "cidr {}, vxlanMode {}, ipipMode {}",
                p.spec.cidr,
                if p.spec.vxlan_mode.is_empty() {
                    "Never"
                } else {
                    &p.spec.vxlan_mode
                },
                if p.spec.ipip_mode.is_empty() {
                    "Never"
                } else {
                    &p.spec.ipip_mode
                },
            ),
        ));
    }
    f.evidence.push(Evidence::new(
        netsnap_bundle::names::RTNL_ROUTES_V4,
        "proto bird",
        format!(
            "blackhole {} proto bird; no other proto bird route into the pools",
            list_capped(&own, EVIDENCE_ITEMS)
        ),
    ));
    if let Some(p) = pod {
        let ready = p
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map_or_else(
                || "no Ready condition".to_string(),
                |c| format!("Ready={}", c.status),
            );
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(PODS_YAML),
            format!(
                "{}/{} .status.conditions",
                p.metadata.namespace, p.metadata.name
            ),
            ready,
        ));
    }
    for l in node_log_lines(cx, CALICO_LOGS, NOT_ESTABLISHED, pod)
        .into_iter()
        .take(2)
    {
        f.evidence.push(Evidence::new(
            l.artifact,
            format!("line {}", l.line),
            l.text,
        ));
    }
    let peers: Vec<String> = others
        .iter()
        .flat_map(|(_, ips)| ips.iter().map(ToString::to_string))
        .collect();
    let mut checks: Vec<String> = peers
        .iter()
        .take(3)
        .map(|ip| format!("nc -zv -w 3 {ip} 179"))
        .collect();
    checks.push("calicoctl node status".to_string());
    f.fix.push(FixStep::new(
        format!(
            "Check that TCP 179 (BGP) is open between the nodes ({}) in host firewalls and \
             security groups, and that every node's Calico address is its real one.",
            list_capped(&peers, EVIDENCE_ITEMS)
        ),
        checks,
        FixAction::Manual,
    ));
    let ns = calico_namespace(cx);
    f.fix.push(FixStep::new(
        "Where BGP cannot be allowed between the nodes, let Felix route with VXLAN instead \
         (pool vxlanMode Always or CrossSubnet, calico_backend vxlan).",
        vec![format!(
            "kubectl -n {ns} get pods -l k8s-app=calico-node -o wide"
        )],
        FixAction::Manual,
    ));
    Verdicts::found(f)
}

/// BIRD's error when it could not open its own listening socket on TCP 179 (bgp.c,
/// bgp_misc_errors BEM_NO_SOCKET): another process holds the port.
const NO_LISTENING_SOCKET: &str = "No listening socket";

/// BGP sessions a paste shows down: `calicoctl node status` peer rows whose INFO is not
/// Established (the state BIRD reports, see the `calicoctl-peer-not-established` signature),
/// or calico-node's readiness probe saying "BGP not established with ..." (node/pkg/health).
/// These are the sessions' state as BIRD reports it, whatever the routes and pools (which a
/// paste seldom carries) would show.
fn from_status(cx: &Context<'_>) -> Option<Verdicts> {
    let down: Vec<&Observation> = pasted_observations(cx, FactKind::BgpNotEstablished).collect();
    let first = down.first()?;
    let mut peers: Vec<&str> = Vec::new();
    for o in &down {
        for p in o.subject.split(',') {
            if !p.is_empty() && !peers.contains(&p) {
                peers.push(p);
            }
        }
    }
    let no_socket = down.iter().any(|o| o.value.contains(NO_LISTENING_SOCKET));
    // BIRD's own listening socket failing is a fault on this node that the paste shows; a
    // session stuck in Connect or Active only says the peer did not answer, which a wrong
    // node address (C29), a firewall (C26) or the cloud's filtering (C27) explains as well:
    // reported, and the suspects still named.
    let (severity, confidence) = if no_socket {
        (Severity::Error, Confidence::High)
    } else {
        (Severity::Warning, Confidence::Medium)
    };
    let mut f = cx.finding(
        &INFO,
        severity,
        confidence,
        format!(
            "Calico BGP sessions are not established with {} ({})",
            list_capped(&peers, 5),
            first.value
        ),
    );
    f.subject = Some("bgp-sessions".to_string());
    f.detail = if no_socket {
        "BIRD reports \"No listening socket\": it could not open its listening socket on TCP \
         179 (most often because another process on the host, a BGP daemon such as bgpd or \
         FRR, already holds the port), so no peer can open a session to it and the node-to-node mesh stays down. \
         Without BGP no node learns the other nodes' pod blocks: cross-node pod and Service \
         traffic fails."
            .to_string()
    } else {
        "In Calico's BGP networking each node learns the other nodes' pod blocks from BIRD's \
         sessions. Sessions that are not Established deliver no routes, so packets to pods on \
         those nodes follow the default route and are lost: Services whose endpoints are there \
         time out. Usual causes: TCP 179 blocked between the nodes, a wrong node address \
         (C29), a broken mesh or peer configuration."
            .to_string()
    };
    let mut cited = 0;
    for o in &down {
        if cited < 3 && !f.evidence.iter().any(|e| e.excerpt == o.evidence.excerpt) {
            f.evidence.push(o.evidence.clone());
            cited += 1;
        }
    }
    let mut checks: Vec<String> = Vec::new();
    if no_socket {
        checks.push("ss -ltnp 'sport = :179'".to_string());
    }
    checks.extend(
        peers
            .iter()
            .filter(|p| p.parse::<IpAddr>().is_ok())
            .take(3)
            .map(|ip| format!("nc -zv -w 3 {ip} 179")),
    );
    checks.push("calicoctl node status".to_string());
    f.fix.push(FixStep::new(
        if no_socket {
            "Free TCP 179 for BIRD (stop the other BGP daemon, or move BIRD to another port with \
             the BGPConfiguration's listenPort on every node), then check the sessions."
        } else {
            "Check that TCP 179 (BGP) is open between the nodes in host firewalls and security \
             groups, and that every node's Calico address is its real one."
        },
        checks,
        FixAction::Manual,
    ));
    Some(Verdicts::found(f))
}
