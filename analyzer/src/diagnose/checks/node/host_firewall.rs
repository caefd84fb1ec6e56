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
    if let Some(v) = catch_all_reject(cx) {
        return v;
    }
    if let Some(v) = status_listing(cx) {
        return v;
    }
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

/// A rule that rejects (or drops) everything reaching it in the filter FORWARD chain: no
/// address, interface, protocol or match. Distribution firewalls end FORWARD that way
/// (firewalld's iptables backend: `-A FORWARD -j REJECT --reject-with icmp-host-prohibited`
/// after its zone chains; iptables-services' `/etc/sysconfig/iptables`), Kubernetes components
/// never do. Forwarded pod and Service traffic that kube-proxy's KUBE-FORWARD does not accept
/// (new connections between pods on different nodes, a ClusterIP DNATed to a remote pod) then
/// meets the reject before the ACCEPTs the CNI appends behind it, and clients see "No route to
/// host" (kubeadm#139, k3s#283). Pasted rules only: a native bundle's firewall is judged below
/// with the rest of its state.
fn catch_all_reject(cx: &Context<'_>) -> Option<Verdicts> {
    if !cx.node.bundle.is_pasted() {
        return None;
    }
    for dump in cx.node.iptables().iter().filter(|d| d.family == 4) {
        let Some(filter) = dump.save.table("filter") else {
            continue;
        };
        let rules: Vec<_> = filter.rules_in("FORWARD").collect();
        let Some(pos) = rules.iter().position(|r| {
            matches!(r.target_name(), Some("REJECT" | "DROP"))
                && r.spec.base.is_empty()
                && r.spec.matches.is_empty()
        }) else {
            continue;
        };
        let reject = rules[pos];
        let shadowed: Vec<_> = rules[pos + 1..]
            .iter()
            .filter(|r| r.target_name() == Some("ACCEPT"))
            .collect();
        // A save line shows every match; a listing (`iptables -L`, stored under the pasted
        // file's name) hides the interfaces without -v, so a rule that looks like a catch-all
        // may hold `-i`/`-o`.
        let whole = dump.artifact.starts_with("commands/");
        let firewalld = rules
            .iter()
            .any(|r| r.target_name().is_some_and(|t| t.starts_with("FORWARD_")));
        let manager = if firewalld {
            "firewalld"
        } else {
            "the host's firewall"
        };
        let mut f =
            cx.finding(
                &INFO,
                if whole {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                if whole {
                    Confidence::High
                } else {
                    Confidence::Medium
                },
                format!(
                "{manager} ends the FORWARD chain with a {} of everything{}: forwarded pod and \
                 Service traffic is turned away",
                reject.target_name().unwrap_or("REJECT"),
                if shadowed.is_empty() {
                    String::new()
                } else {
                    format!(", ahead of {} ACCEPT rule(s) that never match", shadowed.len())
                }
            ),
            );
        f.subject = Some("filter FORWARD".to_string());
        f.detail = "Kubernetes needs the node to forward pod traffic: to pods on other nodes and \
            to the endpoints a ClusterIP or NodePort is DNATed to. kube-proxy's KUBE-FORWARD \
            accepts only what it marked and established connections; the rest goes on down \
            FORWARD to this catch-all rule, which rejects it (icmp-host-prohibited reads as \
            \"No route to host\" to the client) before the CNI's ACCEPT rules behind it."
            .to_string();
        f.evidence.push(Evidence::new(
            dump.artifact.clone(),
            format!("line {}", reject.line),
            reject.raw.trim().to_string(),
        ));
        for r in shadowed.iter().take(2) {
            f.evidence.push(Evidence::new(
                dump.artifact.clone(),
                format!("line {}", r.line),
                r.raw.trim().to_string(),
            ));
        }
        let mut step = FixStep::manual(format!(
            "Let {manager} forward pod traffic: accept the pod CIDR in FORWARD ahead of the \
             reject (or put the CNI's interfaces in a trusted zone), or stop {manager} on \
             Kubernetes nodes; persist it in {manager}'s own configuration."
        ));
        step.commands = if firewalld {
            vec![
                "firewall-cmd --permanent --zone=trusted --add-source=<pod CIDR>".to_string(),
                "firewall-cmd --reload".to_string(),
            ]
        } else {
            vec!["iptables -I FORWARD -s <pod CIDR> -j ACCEPT; iptables -I FORWARD -d <pod CIDR> -j ACCEPT".to_string()]
        };
        f.fix.push(step);
        return Some(Verdicts::found(f));
    }
    None
}

/// Ports a Kubernetes node is reached on by the others and by its own pods: the API server
/// (the `kubernetes` Service DNATs to it; k3s and kubeadm control planes), the kubelet, the
/// VXLAN overlays (flannel and k3s 8472/udp, Calico 4789/udp) and the NodePort range.
const NODE_PORTS: &[(&str, u16, u16, &str)] = &[
    ("tcp", 6443, 6443, "the API server"),
    ("tcp", 10250, 10250, "the kubelet"),
    ("udp", 8472, 8472, "flannel's VXLAN"),
    ("tcp", 30000, 32767, "the NodePort range"),
];

/// A firewall manager's status as pasted (`ufw status`, `firewall-cmd --list-all`): active,
/// and none of the ports nodes need among themselves allowed. ufw denies incoming connections
/// by default (`DEFAULT_INPUT_POLICY="DROP"` in /etc/default/ufw) and `ufw status` lists only
/// the exceptions, so what it does not list is refused (k3s#1280: only 22 and 443 allowed, the
/// API server's 6443 behind the kubernetes Service blocked).
fn status_listing(cx: &Context<'_>) -> Option<Verdicts> {
    use crate::observe::FactKind;
    let active = cx
        .node
        .observed(FactKind::FirewallState)
        .find(|o| o.value == "active")?;
    let manager = active.subject.as_str();
    let allows: Vec<_> = cx
        .node
        .observed(FactKind::FirewallAllows)
        .filter(|o| o.subject == manager)
        .collect();
    // A rule that allows every port from a source may cover the other nodes.
    if allows.iter().any(|o| o.value.starts_with("from ")) {
        return None;
    }
    let allowed = |proto: &str, lo: u16, hi: u16| {
        allows.iter().any(|o| {
            let (ports, p) = o.value.split_once('/').unwrap_or((o.value.as_str(), ""));
            if !p.is_empty() && p != proto {
                return false;
            }
            let (a, b) = ports.split_once([':', '-']).unwrap_or((ports, ports));
            match (a.parse::<u16>(), b.parse::<u16>()) {
                (Ok(a), Ok(b)) => a <= hi && lo <= b,
                _ => false,
            }
        })
    };
    let blocked: Vec<String> = NODE_PORTS
        .iter()
        .filter(|(proto, lo, hi, _)| !allowed(proto, *lo, *hi))
        .map(|(proto, lo, hi, what)| {
            if lo == hi {
                format!("{lo}/{proto} ({what})")
            } else {
                format!("{lo}-{hi}/{proto} ({what})")
            }
        })
        .collect();
    if blocked.is_empty() {
        return Some(Verdicts::clear(
            format!("{manager} is active and allows the ports nodes use"),
            vec![active.evidence.clone()],
        ));
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Warning,
        Confidence::Medium,
        format!(
            "{manager} is active and does not allow {}",
            list_capped(&blocked, 4)
        ),
    );
    f.detail = format!(
        "{manager} refuses incoming connections its rules do not allow. Nodes reach each other \
         (and pods reach the API server through the kubernetes Service, DNATed to a node's \
         6443) on these ports; with them closed components cannot reach the API server, the \
         overlay's packets are dropped and NodePorts time out."
    );
    f.evidence.push(active.evidence.clone());
    f.evidence
        .extend(allows.iter().take(4).map(|o| o.evidence.clone()));
    let mut step = FixStep::manual(format!(
        "Allow the ports Kubernetes nodes use among themselves in {manager} (the API server, \
         the kubelet, the overlay's port and the NodePort range), ideally from the nodes' \
         network only, or stop {manager} on Kubernetes nodes."
    ));
    step.commands = if manager == "ufw" {
        vec![
            "ufw allow 6443/tcp".to_string(),
            "ufw allow 10250/tcp".to_string(),
            "ufw allow 8472/udp".to_string(),
            "ufw allow 30000:32767/tcp".to_string(),
        ]
    } else {
        vec![
            "firewall-cmd --permanent --add-port=6443/tcp --add-port=10250/tcp --add-port=8472/udp --add-port=30000-32767/tcp".to_string(),
            "firewall-cmd --reload".to_string(),
        ]
    };
    f.fix.push(step);
    Some(Verdicts::found(f))
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
