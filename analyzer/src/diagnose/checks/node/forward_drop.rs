//! C23: the filter FORWARD chain drops what it does not know (Docker ≥ 1.13 sets policy DROP,
//! moby/moby#28257; hardening guides do the same) and nothing accepts Service traffic. In
//! iptables (and nftables) mode a NodePort packet is DNATed in PREROUTING and, when its endpoint
//! is a pod, routed: it crosses FORWARD. kube-proxy's `KUBE-FORWARD` accepts packets carrying
//! its masquerade mark 0x4000 and RELATED,ESTABLISHED ones (pkg/proxy/iptables/proxier.go);
//! pod-to-pod traffic that is not masqueraded needs the CNI's own accepts. In IPVS mode the
//! request leaves through LOCAL_OUT, but replies from the endpoint cross FORWARD
//! (kubernetes#59656). kubernetes#40182, #39658, #39823, #91545; projectcalico/calico#875.

use std::net::IpAddr;

use super::filter_path::{drops_by_default, follow, Probe, Verdict};
use super::{ipvs_mode, v4_filter_tables};
use crate::diagnose::checks::{list_capped, Check, CheckInfo};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "forward-drop-without-accept",
    catalog: "C23",
    title: "Filter FORWARD drops Service traffic to pods (no kube-proxy/CNI accept)",
    layer: Layer::Node,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/40182",
        "https://github.com/kubernetes/kubernetes/issues/39658",
        "https://github.com/kubernetes/kubernetes/issues/39823",
        "https://github.com/kubernetes/kubernetes/issues/59656",
        "https://github.com/kubernetes/kubernetes/issues/91545",
        "https://github.com/projectcalico/calico/issues/875",
        "https://github.com/moby/moby/pull/28257",
    ],
    evidence: "The iptables dumps' filter FORWARD policy or final DROP/REJECT, followed rule by rule for a NodePort connection after DNAT (mark 0x4000), the endpoint's reply, and a pod-to-pod connection, with endpoints from the EndpointSlices; KUBE-FORWARD and DOCKER-* chains.",
    fix: "`iptables -P FORWARD ACCEPT` (quick), or accept the pod CIDR in FORWARD; set kube-proxy's clusterCIDR; keep Docker from managing iptables on Kubernetes nodes.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// A rule by line and text.
type CitedRule = (usize, String);

/// One ready endpoint: (address, port, on this node).
fn endpoints(cx: &Context<'_>) -> Vec<(IpAddr, Option<u16>, bool)> {
    let me = cx.node_name();
    let mut out = Vec::new();
    for s in &cx.cluster.state.endpoint_slices {
        let port = s
            .ports
            .iter()
            .find_map(|p| p.port.and_then(|n| u16::try_from(n).ok()));
        for e in &s.endpoints {
            if e.conditions.ready == Some(false) {
                continue;
            }
            let local = e.node_name.as_deref() == Some(me.as_str());
            for a in &e.addresses {
                if let Ok(ip) = a.parse::<IpAddr>() {
                    if ip.is_ipv4() {
                        out.push((ip, port, local));
                    }
                }
            }
        }
    }
    out
}

fn run(cx: &Context<'_>) -> Verdicts {
    let tables = v4_filter_tables(cx);
    let read: Vec<Evidence> = tables
        .iter()
        .map(|(artifact, _)| {
            Evidence::new(
                *artifact,
                "chain FORWARD",
                "lets Service traffic to endpoints and their replies through",
            )
        })
        .collect();
    let ipvs = ipvs_mode(cx);
    let eps = endpoints(cx);
    let remote = eps.iter().find(|(_, _, local)| !local).copied();
    let local = eps.iter().find(|(_, _, local)| *local).copied();
    let target = remote.or(local);
    // (what, probe, breaks Services outright)
    let mut probes: Vec<(&str, Probe, bool)> = Vec::new();
    if !ipvs {
        probes.push((
            "a NodePort connection after DNAT to its endpoint (masquerade mark 0x4000)",
            Probe {
                proto: "tcp",
                dport: target.and_then(|t| t.1),
                state: "NEW",
                mark: 0x4000,
                mark_unknown: false,
                src: None,
                dst: target.map(|t| t.0),
                dst_local: false,
                ipvs_node_port: false,
            },
            true,
        ));
    }
    probes.push((
        "the endpoint's reply (conntrack ESTABLISHED)",
        Probe {
            proto: "tcp",
            dport: None,
            state: "ESTABLISHED",
            mark: 0,
            mark_unknown: false,
            src: target.map(|t| t.0),
            dst: None,
            dst_local: false,
            ipvs_node_port: false,
        },
        true,
    ));
    if let (Some(l), Some(r)) = (local, remote) {
        probes.push((
            "a pod on this node calling a Service endpoint on another node (not masqueraded)",
            Probe {
                proto: "tcp",
                dport: r.1,
                state: "NEW",
                mark: 0,
                mark_unknown: false,
                src: Some(l.0),
                dst: Some(r.0),
                dst_local: false,
                ipvs_node_port: false,
            },
            false,
        ));
    }
    for (artifact, table) in tables {
        let Some(default) = drops_by_default(table, "FORWARD") else {
            continue;
        };
        let mut dropped: Vec<(&str, bool, Option<CitedRule>)> = Vec::new();
        let mut maybe: Vec<(usize, String)> = Vec::new();
        for (what, probe, hard) in &probes {
            let path = follow(table, "FORWARD", probe);
            if !path.verdict.drops() {
                continue;
            }
            let by = match path.verdict {
                Verdict::DropRule(r) => Some((r.line, r.raw.clone())),
                _ => None,
            };
            dropped.push((what, *hard, by));
            maybe.extend(
                path.maybe_accepts
                    .into_iter()
                    .map(|r| (r.line, r.raw.clone())),
            );
        }
        if dropped.is_empty() {
            continue;
        }
        maybe.sort();
        maybe.dedup();
        let hard = dropped.iter().any(|(_, h, _)| *h);
        let confidence = match (maybe.is_empty(), eps.is_empty()) {
            (true, false) => Confidence::High,
            (true, true) | (false, false) => Confidence::Medium,
            (false, true) => Confidence::Low,
        };
        let whats: Vec<&str> = dropped.iter().map(|(w, ..)| *w).collect();
        let mut f = cx.finding(
            &INFO,
            if hard {
                Severity::Error
            } else {
                Severity::Warning
            },
            confidence,
            format!(
                "The filter FORWARD chain drops {} ({})",
                whats.join("; "),
                if ipvs { "IPVS mode" } else { "iptables mode" }
            ),
        );
        f.detail = if ipvs {
            "FORWARD drops what no rule accepts. In IPVS mode the request to a pod leaves \
             through the output path, but the pod's reply is routed through FORWARD: without \
             kube-proxy's RELATED,ESTABLISHED accept (KUBE-FORWARD) it is dropped and the \
             client times out."
                .to_string()
        } else {
            "FORWARD drops what no rule accepts. A NodePort or ClusterIP connection DNATed to a \
             pod is routed through FORWARD, and so is the reply; kube-proxy accepts packets it \
             marked for masquerade and established connections in KUBE-FORWARD, and the CNI \
             should accept its pod CIDR. Here neither covers the traffic: connections to \
             Services time out, typically only for endpoints on other nodes."
                .to_string()
        };
        if table.chain("DOCKER-USER").is_some() || table.chain("DOCKER-ISOLATION-STAGE-1").is_some()
        {
            f.detail.push_str(
                " Docker's chains are present: Docker sets FORWARD's policy to DROP when it \
                 starts.",
            );
        }
        if table.chain("KUBE-FORWARD").is_none() {
            f.detail.push_str(
                " There is no KUBE-FORWARD chain: kube-proxy has not programmed this backend.",
            );
        }
        if let Some(mode) = &cx.proxy_mode {
            f.evidence.push(mode.evidence.clone());
        }
        f.evidence.push(Evidence::new(
            artifact,
            format!("line {}", default.line()),
            default.text(),
        ));
        for (_, _, by) in &dropped {
            if let Some((line, raw)) = by {
                if *line != default.line() {
                    f.evidence
                        .push(Evidence::new(artifact, format!("line {line}"), raw.clone()));
                }
            }
        }
        f.evidence.push(Evidence::new(
            artifact,
            "chain FORWARD, followed",
            match target {
                Some((ip, port, _)) => format!(
                    "endpoint {ip}{}: dropped",
                    port.map_or_else(String::new, |p| format!(":{p}"))
                ),
                None => {
                    "no endpoint known (no EndpointSlices): probed without addresses".to_string()
                }
            },
        ));
        if !maybe.is_empty() {
            let lines: Vec<String> = maybe
                .iter()
                .map(|(l, r)| format!("line {l}: {r}"))
                .collect();
            f.detail.push_str(&format!(
                " Rules that might accept it depending on interface or addresses: {}.",
                list_capped(&lines, 3)
            ));
        }
        f.fix.push(FixStep::new(
            "Quick and broad: let FORWARD accept by default again (persist it in the host \
             firewall's configuration; Docker resets it when it starts).",
            vec!["iptables -P FORWARD ACCEPT".to_string()],
            FixAction::Manual,
        ));
        f.fix.push(FixStep::manual(
            "Narrower: accept the pod CIDR in FORWARD (`iptables -I FORWARD -s <podCIDR> -j \
             ACCEPT` and `-d <podCIDR>`), make sure kube-proxy runs with clusterCIDR set, and \
             keep Docker from managing iptables on Kubernetes nodes.",
        ));
        // One finding per node: the first dump (backend) that drops is enough to explain it.
        return Verdicts::found(f);
    }
    let why = if read.is_empty() {
        "no IPv4 filter table was read: nothing shows FORWARD dropping Service traffic"
    } else {
        "FORWARD lets Service traffic to its endpoints, and the replies, through"
    };
    Verdicts::clear(why, read)
}
