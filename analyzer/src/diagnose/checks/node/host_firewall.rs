//! C26: a host firewall manager — firewalld (its `inet firewalld` nftables table, or its
//! iptables chains `INPUT_ZONES`/`IN_<zone>`) or ufw (`ufw-*` chains) — rejects what its zone
//! does not allow, and nothing opened the NodePort range. In IPVS mode NodePort packets are
//! for a local address and meet the firewall's input hook before IPVS forwards them (see C14);
//! firewalld's REJECT answers `admin-prohibited`, which clients see as "No route to host"
//! (flannel-io/flannel#2055, projectcalico/calico#10655, kubernetes#35535).

use netsnap_bundle::names;

use crate::diagnose::checks::{list_capped, Check, CheckInfo};
use crate::diagnose::facts::NFT_COMMAND;
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "host-firewall-active",
    catalog: "C26",
    title: "firewalld or ufw rejects the NodePort range",
    layer: Layer::Node,
    cause: true,
    references: &[
        "https://github.com/flannel-io/flannel/issues/2055",
        "https://github.com/projectcalico/calico/issues/10655",
        "https://github.com/kubernetes/kubernetes/issues/35535",
        "https://firewalld.org/documentation/",
    ],
    evidence: "`nft -j list ruleset` (table `inet firewalld`: input chain policy and final reject, accepted ports) and the iptables dumps (firewalld's `INPUT_ZONES`/`IN_*` chains, ufw's `ufw-*` chains), against every Service nodePort.",
    fix: "Open the NodePort range (and the overlay's ports) in the firewall's own configuration (`firewall-cmd --permanent --add-port=30000-32767/tcp`, `ufw allow 30000:32767/tcp`), or stop the firewall manager on Kubernetes nodes.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// Ports and ranges named after `dport` in an nft statement (`tcp dport { 22, 6443 }`,
/// `tcp dport 30000-32767`).
fn dport_ranges(summary: &str) -> Vec<(u16, u16)> {
    let Some(pos) = summary.find("dport") else {
        return Vec::new();
    };
    let rest = &summary[pos + 5..];
    let rest = rest.trim_start();
    let spec = if let Some(inner) = rest.strip_prefix('{') {
        inner.split('}').next().unwrap_or("")
    } else {
        rest.split_whitespace().next().unwrap_or("")
    };
    spec.split(',')
        .filter_map(|p| {
            let p = p.trim();
            match p.split_once('-') {
                Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
                None => p.parse().ok().map(|v| (v, v)),
            }
        })
        .collect()
}

fn run(cx: &Context<'_>) -> Verdicts {
    let mut node_ports: Vec<(String, u16)> = Vec::new();
    for s in &cx.cluster.state.services {
        for p in &s.spec.ports {
            if let Some(np) = p.node_port.and_then(|n| u16::try_from(n).ok()) {
                if p.protocol() == "TCP" {
                    node_ports.push((format!("{}/{}", s.metadata.namespace, s.metadata.name), np));
                }
            }
        }
    }
    let mut manager = None;
    let mut evidence = Vec::new();
    let mut rejects = false;
    let mut allowed: Vec<(u16, u16)> = Vec::new();
    let nft_path = names::command_artifact(NFT_COMMAND);
    if let Ok(rs) = cx.node.nft() {
        if rs.table("inet", "firewalld").is_some() {
            manager = Some("firewalld");
            for (chain, base) in rs.base_chains() {
                if chain.table != "firewalld" || base.hook.as_deref() != Some("input") {
                    continue;
                }
                let policy_drop = base.policy.as_deref() == Some("drop");
                let rules: Vec<_> = rs
                    .rules_in(&chain.family, "firewalld", &chain.name)
                    .collect();
                let final_reject = rules.last().is_some_and(|r| {
                    r.summary().starts_with("reject") || r.summary().ends_with("drop")
                });
                if policy_drop || final_reject {
                    rejects = true;
                    evidence.push(Evidence::new(
                        nft_path.clone(),
                        format!("table inet firewalld chain {}", chain.name),
                        if final_reject {
                            rules.last().map(|r| r.summary()).unwrap_or_default()
                        } else {
                            "policy drop".to_string()
                        },
                    ));
                }
            }
            for r in rs.rules.iter().filter(|r| r.table == "firewalld") {
                let s = r.summary();
                if s.contains("accept") && s.contains("tcp dport") {
                    allowed.extend(dport_ranges(&s));
                }
            }
        }
    }
    for dump in cx.node.iptables() {
        let Some(filter) = dump.save.table("filter") else {
            continue;
        };
        let fw = filter.chains.iter().find_map(|c| {
            if c.name.starts_with("ufw-") {
                Some("ufw")
            } else if c.name == "INPUT_ZONES" || c.name.starts_with("IN_public") {
                Some("firewalld")
            } else {
                None
            }
        });
        let Some(name) = fw else { continue };
        manager.get_or_insert(name);
        if let Some(input) = filter.chain("INPUT") {
            if input.policy.as_deref() == Some("DROP") {
                rejects = true;
                evidence.push(Evidence::new(
                    dump.artifact.clone(),
                    format!("line {}", input.line),
                    format!(":INPUT DROP ({name})"),
                ));
            }
        }
        for r in &filter.rules {
            let managed = r.chain.starts_with("ufw-") || r.chain.starts_with("IN_");
            if managed && r.target_name() == Some("ACCEPT") {
                if let Some(pm) = r.dport() {
                    for np in node_ports.iter().map(|(_, p)| *p) {
                        if pm.contains(np) {
                            allowed.push((np, np));
                        }
                    }
                }
            }
            if managed && matches!(r.target_name(), Some("REJECT" | "DROP")) && r.dport().is_none()
            {
                rejects = true;
                evidence.push(Evidence::new(
                    dump.artifact.clone(),
                    format!("line {}", r.line),
                    r.raw.clone(),
                ));
            }
        }
    }
    let Some(manager) = manager else {
        return Verdicts::clear(
            "no host firewall (firewalld, ufw) is active in the rules read",
            Vec::new(),
        );
    };
    if node_ports.is_empty() {
        return Verdicts::clear(
            format!("no TCP NodePort to block: {manager} is active, but no Service has one"),
            evidence,
        );
    }
    if !rejects {
        return Verdicts::clear(format!("{manager} is active but rejects nothing"), evidence);
    }
    let blocked: Vec<String> = node_ports
        .iter()
        .filter(|(_, p)| !allowed.iter().any(|(a, b)| a <= p && p <= b))
        .map(|(svc, p)| format!("{p} ({svc})"))
        .collect();
    if blocked.is_empty() {
        return Verdicts::clear(format!("{manager} allows every NodePort"), evidence);
    }
    let ipvs = cx.proxy_mode.as_ref().is_some_and(|m| m.mode == "ipvs");
    let mut f = cx.finding(
        &INFO,
        if ipvs {
            Severity::Error
        } else {
            Severity::Warning
        },
        Confidence::Medium,
        format!(
            "{manager} rejects incoming connections it does not allow, and no rule of it opens \
             NodePort {}",
            list_capped(&blocked, 3)
        ),
    );
    f.detail = format!(
        "{manager} manages this node's firewall and rejects what its zone does not list. \
         {} A zone that does not allow the NodePort range (and the overlay's ports) makes \
         NodePorts time out or fail with \"No route to host\".",
        if ipvs {
            "In IPVS mode NodePort packets are for a local address and pass its input hook before IPVS forwards them."
        } else {
            "In iptables mode NodePort packets are rewritten before input, but the firewall still sees replies and locally served ports."
        }
    );
    f.evidence = evidence;
    f.evidence.push(Evidence::new(
        "k8s/services.yaml",
        "spec.ports[].nodePort",
        format!("not opened: {}", list_capped(&blocked, 10)),
    ));
    let cmds = if manager == "ufw" {
        vec![
            "ufw allow 30000:32767/tcp".to_string(),
            "ufw allow 30000:32767/udp".to_string(),
        ]
    } else {
        vec![
            "firewall-cmd --permanent --add-port=30000-32767/tcp --add-port=30000-32767/udp"
                .to_string(),
            "firewall-cmd --reload".to_string(),
        ]
    };
    let mut step = FixStep::manual(format!(
        "Open the NodePort range in {manager}'s own configuration (and the overlay's ports: IPIP \
         protocol 4, VXLAN 4789/udp or 8472/udp, BGP 179/tcp), or stop {manager} on Kubernetes \
         nodes; check the zone the node's interface is in first."
    ));
    step.commands = cmds;
    f.fix.push(step);
    Verdicts::found(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dport_sets_and_ranges() {
        assert_eq!(
            dport_ranges("tcp dport { 22, 6443 } accept"),
            vec![(22, 22), (6443, 6443)]
        );
        assert_eq!(
            dport_ranges("tcp dport 30000-32767 accept"),
            vec![(30000, 32767)]
        );
        assert!(dport_ranges("ct state established accept").is_empty());
    }
}
