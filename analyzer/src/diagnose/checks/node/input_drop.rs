//! C14: in IPVS mode a NodePort (or ClusterIP) packet is addressed to a local address — a node
//! IP or a VIP on kube-ipvs0 — so it climbs the filter INPUT chain before IPVS, hooked at
//! LOCAL_IN after the filter table, rewrites it (net/netfilter/ipvs/ip_vs_core.c `ip_vs_ops`).
//! A host firewall whose INPUT drops what it does not know therefore drops every IPVS
//! NodePort, while iptables mode (DNAT in PREROUTING, then FORWARD) is unaffected. kube-proxy
//! accepts only health-check node ports in INPUT (`KUBE-NODE-PORT`); the NodePorts themselves
//! need an accept of the operator's (kubernetes#97225, PR #97824 / #98816).

use netsnap_bundle::names;

use super::filter_path::{drops_by_default, follow, Probe, Verdict};
use super::{ipvs_mode, node_ip, v4_filter_tables};
use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "input-drop-breaks-ipvs",
    catalog: "C14",
    title: "Filter INPUT drops IPVS NodePort traffic",
    layer: Layer::Node,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/97225",
        "https://github.com/kubernetes/kubernetes/pull/97824",
        "https://github.com/kubernetes/kubernetes/pull/98816",
        "https://github.com/cloudnativelabs/kube-router/pull/604",
    ],
    evidence: "kube-proxy mode (ConfigMap, else IPVS virtual servers present); the iptables dumps' filter INPUT policy or final DROP/REJECT, followed rule by rule for a new connection to each Service NodePort.",
    fix: "Accept kube-proxy's NodePort sets in INPUT (`-m set --match-set KUBE-NODE-PORT-TCP dst -j ACCEPT`, UDP too) or open 30000-32767 in the host firewall, persisted in its own configuration.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// kube-proxy's default `--service-node-port-range` start, used when no Service is known.
const NODE_PORT_RANGE_START: u16 = 30000;

fn run(cx: &Context<'_>) -> Verdicts {
    if !ipvs_mode(cx) {
        return cx.not_this_mode("ipvs");
    }
    let tables = v4_filter_tables(cx);
    if cx.node.iptables().is_empty() {
        let why: Vec<String> = cx
            .node
            .iptables_missing()
            .iter()
            .map(ToString::to_string)
            .collect();
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether the host firewall's INPUT chain lets IPVS NodePort traffic in",
            if why.is_empty() {
                "no iptables dump was collected".to_string()
            } else {
                list_capped(&why, 3)
            },
            Some("iptables-save (and iptables-legacy-save / iptables-nft-save)"),
        ));
    }
    let read: Vec<Evidence> = tables
        .iter()
        .map(|(artifact, _)| {
            Evidence::new(*artifact, "chain INPUT", "lets IPVS NodePort traffic in")
        })
        .collect();
    // (protocol, port, service) of every NodePort; the range start when none is known.
    let mut ports: Vec<(&'static str, u16, String)> = Vec::new();
    for s in &cx.cluster.state.services {
        for p in &s.spec.ports {
            let Some(np) = p.node_port.and_then(|n| u16::try_from(n).ok()) else {
                continue;
            };
            let proto = match p.protocol() {
                "UDP" => "udp",
                "SCTP" => "sctp",
                _ => "tcp",
            };
            ports.push((
                proto,
                np,
                format!("{}/{}", s.metadata.namespace, s.metadata.name),
            ));
        }
    }
    let known_ports = !ports.is_empty();
    if !known_ports {
        ports.push(("tcp", NODE_PORT_RANGE_START, "any NodePort".to_string()));
    }
    let dst = node_ip(cx);
    for (artifact, table) in tables {
        let Some(default) = drops_by_default(table, "INPUT") else {
            continue;
        };
        let mut blocked = Vec::new();
        let mut by = Vec::new();
        let mut maybe = Vec::new();
        for (proto, port, svc) in &ports {
            let probe = Probe {
                proto,
                dport: Some(*port),
                state: "NEW",
                mark: 0,
                mark_unknown: false,
                src: None,
                dst,
                dst_local: true,
                ipvs_node_port: true,
            };
            let path = follow(table, "INPUT", &probe);
            if !path.verdict.drops() {
                continue;
            }
            blocked.push(format!("{proto}/{port} ({svc})"));
            match path.verdict {
                Verdict::DropRule(r) => by.push((r.line, r.raw.clone())),
                _ => by.push((default.line(), default.text())),
            }
            maybe.extend(
                path.maybe_accepts
                    .into_iter()
                    .map(|r| (r.line, r.raw.clone())),
            );
        }
        if blocked.is_empty() {
            continue;
        }
        by.sort();
        by.dedup();
        maybe.sort();
        maybe.dedup();
        let confidence = if maybe.is_empty() {
            Confidence::High
        } else {
            Confidence::Medium
        };
        let mut f = cx.finding(
            &INFO,
            Severity::Error,
            confidence,
            if known_ports {
                format!(
                    "The filter INPUT chain drops new connections to {} here (IPVS mode needs \
                     them accepted in INPUT)",
                    match blocked.len() {
                        1 => format!("NodePort {}", blocked[0]),
                        n => format!("{n} NodePorts"),
                    }
                )
            } else {
                "The filter INPUT chain drops new connections to the NodePort range (IPVS mode \
                 needs them accepted in INPUT)"
                    .to_string()
            },
        );
        f.detail = "In IPVS mode a NodePort or ClusterIP packet is addressed to the node itself \
            (its IP, or a VIP on kube-ipvs0), so it passes the filter INPUT chain before IPVS \
            forwards it to an endpoint. INPUT here drops what no rule accepts, and no rule \
            accepts the NodePorts: connections time out, although the virtual servers and real \
            servers are in place. kube-proxy itself only accepts health-check node ports there."
            .to_string();
        if let Some(mode) = &cx.proxy_mode {
            f.evidence.push(mode.evidence.clone());
        } else {
            f.evidence.push(Evidence::new(
                names::IPVS_SERVICES,
                "IPVS table",
                "IPVS virtual servers present: kube-proxy runs in IPVS mode",
            ));
        }
        f.evidence.push(Evidence::new(
            artifact,
            format!("line {}", default.line()),
            default.text(),
        ));
        for (line, raw) in by.iter().filter(|(l, _)| *l != default.line()) {
            f.evidence
                .push(Evidence::new(artifact, format!("line {line}"), raw.clone()));
        }
        f.evidence.push(Evidence::new(
            artifact,
            "chain INPUT, followed",
            format!("dropped: {}", list_capped(&blocked, EVIDENCE_ITEMS)),
        ));
        if !maybe.is_empty() {
            let lines: Vec<String> = maybe
                .iter()
                .map(|(l, r)| format!("line {l}: {r}"))
                .collect();
            f.detail.push_str(&format!(
                " Rules that might accept them depending on interface or source: {}.",
                list_capped(&lines, 3)
            ));
        }
        let protos: Vec<&str> = {
            let mut p: Vec<&str> = ports.iter().map(|(p, ..)| *p).collect();
            p.sort_unstable();
            p.dedup();
            p
        };
        f.fix.push(FixStep::new(
            "Accept kube-proxy's NodePort sets in INPUT, ahead of the drop, and add the same \
             rule to the host firewall's saved configuration so it survives a reload.",
            protos
                .iter()
                .map(|p| {
                    let up = p.to_ascii_uppercase();
                    format!(
                        "iptables -I INPUT -p {p} -m set --match-set KUBE-NODE-PORT-{up} dst -j ACCEPT"
                    )
                })
                .collect(),
            FixAction::Manual,
        ));
        f.fix.push(FixStep::manual(
            "Or open the NodePort range (30000-32767 by default) in the host firewall.",
        ));
        // One finding per node: the first dump (backend) that drops is enough to explain it.
        return Verdicts::found(f);
    }
    let why = if read.is_empty() {
        "no IPv4 filter table was read: nothing shows INPUT dropping IPVS NodePort traffic"
    } else {
        "INPUT lets IPVS NodePort traffic in"
    };
    Verdicts::clear(why, read)
}
