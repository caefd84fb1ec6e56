//! Node sysctls, conntrack and host firewall.

use crate::decode::sysctl::SysctlValue;
use crate::diagnose::Check;

mod br_netfilter;
mod conntrack_full;
mod filter_path;
mod forward_drop;
mod host_firewall;
mod input_drop;
mod ip_forward;
mod rp_filter;
mod sysctl_files;

pub const CHECKS: &[Check] = &[
    ip_forward::CHECK,
    br_netfilter::CHECK,
    rp_filter::CHECK,
    conntrack_full::CHECK,
    input_drop::CHECK,
    forward_drop::CHECK,
    host_firewall::CHECK,
];

/// Why a sysctl has no value, as a phrase after its key.
fn unreadable(v: &SysctlValue) -> String {
    match v {
        SysctlValue::Value(_) => "was read".to_string(),
        SysctlValue::Absent => "does not exist on the node".to_string(),
        SysctlValue::Denied => "could not be read (permission denied)".to_string(),
        SysctlValue::Error(e) => format!("could not be read ({e})"),
    }
}

/// The 1-based line of `key = ...` in `sysctl.txt`, as a locator.
fn sysctl_line(text: &str, key: &str) -> String {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || l.strip_prefix("# absent: ")
                    .is_some_and(|k| k.trim() == key)
        })
        .map_or_else(|| "key".to_string(), |n| format!("line {}", n + 1))
}

/// The IPv4 filter tables of the node's iptables dumps, one per distinct dump (the plain
/// `iptables-save` repeats one of the backend-specific dumps when those exist).
fn v4_filter_tables<'a>(
    cx: &'a crate::diagnose::Context<'_>,
) -> Vec<(&'a str, &'a crate::decode::iptables::Table)> {
    let dumps: Vec<_> = cx
        .node
        .iptables()
        .iter()
        .filter(|d| d.family == 4)
        .collect();
    let mut out: Vec<(&str, &crate::decode::iptables::Table)> = Vec::new();
    for d in &dumps {
        let Some(t) = d.save.table("filter") else {
            continue;
        };
        if out
            .iter()
            .any(|(_, seen)| seen.chains == t.chains && seen.rules == t.rules)
        {
            continue;
        }
        out.push((d.artifact.as_str(), t));
    }
    out
}

/// Whether kube-proxy runs in IPVS mode here: configured so, or (mode unknown) the node has
/// IPVS virtual servers.
fn ipvs_mode(cx: &crate::diagnose::Context<'_>) -> bool {
    match &cx.proxy_mode {
        Some(m) => m.mode == "ipvs",
        None => cx.node.ipvs.as_ref().is_ok_and(|t| !t.services.is_empty()),
    }
}

/// The node's own address to use as a NodePort destination: a Node InternalIP that is local,
/// else the first global IPv4 address outside kube-ipvs0.
fn node_ip(cx: &crate::diagnose::Context<'_>) -> Option<std::net::IpAddr> {
    let local = cx.node.local_addresses();
    let internal: Vec<std::net::IpAddr> = cx
        .cluster
        .state
        .nodes
        .iter()
        .flat_map(|n| n.addresses_of("InternalIP"))
        .filter_map(|a| a.parse().ok())
        .collect();
    local
        .iter()
        .map(|(ip, ..)| *ip)
        .find(|ip| internal.contains(ip))
        .or_else(|| {
            local
                .iter()
                .find(|(ip, dev, _)| {
                    ip.is_ipv4() && !ip.is_loopback() && *dev != "kube-ipvs0" && *dev != "lo"
                })
                .map(|(ip, ..)| *ip)
        })
}
