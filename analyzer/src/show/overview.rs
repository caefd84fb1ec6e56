//! `show overview`: one screen with what a support engineer reads first about a node's Service
//! dataplane: which evidence is there, the IPVS table (or why there is none), the modules
//! kube-proxy and the CNI need, tunnel and service devices with the routes through them, and the
//! sysctls that most often break Services. It states facts from the bundle; judging them is the
//! diagnosis' job.

use std::collections::BTreeMap;
use std::io::Write;

use netsnap_bundle::{names, Status};

use super::{ipvs_table, links_of, modules, output};
use crate::decode::modules::ModuleStatus;
use crate::decode::rtnl::{self, LinkNames};
use crate::decode::sysctl::{parse_sysctls, SysctlValue};
use crate::error::Result;
use crate::load::Bundle;

/// Modules whose absence is a known cause of unreachable Services (failure catalog C01, C05,
/// C22, C28).
const KEY_MODULES: &[&str] = &[
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_sh",
    "nf_conntrack",
    "br_netfilter",
    "ip_set",
    "ipip",
    "vxlan",
];

/// Link kinds and names that carry Service or pod traffic: kube-proxy's IPVS dummy, Calico's and
/// flannel's tunnels, bridges of bridge-based CNIs.
fn is_dataplane_link(name: &str, kind: Option<&str>) -> bool {
    matches!(
        kind,
        Some("ipip" | "vxlan" | "dummy" | "wireguard" | "geneve")
    ) || name == "kube-ipvs0"
        || name == "tunl0"
        || name.starts_with("cni")
        || name.starts_with("flannel")
}

/// Sysctls read first: forwarding, reverse-path filtering and bridge netfilter (C21, C22, C24).
const KEY_SYSCTLS: &[&str] = &[
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.default.rp_filter",
    "net.bridge.bridge-nf-call-iptables",
    "net.ipv4.vs.conntrack",
    "net.netfilter.nf_conntrack_count",
    "net.netfilter.nf_conntrack_max",
];

pub fn render(bundle: &Bundle, out: &mut dyn Write, notes: &mut Vec<String>) -> Result<()> {
    let m = bundle.manifest();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &m.artifacts {
        *counts.entry(a.status.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let w = |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(output);
    w(
        out,
        format!(
            "host {}  kernel {} ({})  collected {}",
            m.host.hostname, m.host.kernel_release, m.host.machine, m.started_at
        ),
    )?;
    w(
        out,
        format!(
            "bundle format {} by {} {}{}; {} artifacts: {}",
            m.format_version,
            m.collector.name,
            m.collector.version,
            m.euid.map(|u| format!(" as uid {u}")).unwrap_or_default(),
            m.artifacts.len(),
            counts.join(", ")
        ),
    )?;

    w(out, "\nIPVS".into())?;
    let mut ipvs_notes = Vec::new();
    match ipvs_table(bundle, &mut ipvs_notes) {
        Ok(table) => {
            let dests: usize = table.services.iter().map(|s| s.dests.len()).sum();
            let empty = table.services.iter().filter(|s| s.dests.is_empty()).count();
            w(
                out,
                format!(
                    "  {} virtual services, {dests} real servers; {empty} services without real servers",
                    table.services.len()
                ),
            )?;
        }
        Err(e) => w(out, format!("  {e}"))?,
    }
    notes.extend(ipvs_notes);

    w(out, "\nModules".into())?;
    let ev = modules::evidence(bundle, notes);
    for name in KEY_MODULES {
        let status = match ev.status(name) {
            ModuleStatus::Loaded { .. } => "loaded".to_string(),
            ModuleStatus::BuiltIn { evidence } => format!("built-in ({evidence})"),
            ModuleStatus::NotLoaded { config: Some(c) } => format!("not loaded (CONFIG={c})"),
            ModuleStatus::NotLoaded { config: None } => "not loaded".to_string(),
            ModuleStatus::NotAvailable => "not in this kernel".to_string(),
            ModuleStatus::Unknown => "unknown (module evidence not collected)".to_string(),
        };
        w(out, format!("  {name:<14}{status}"))?;
    }

    w(out, "\nTunnel and service devices".into())?;
    let links = links_of(bundle, notes);
    let addrs = rtnl::decode_addrs(bundle.file(names::RTNL_ADDRS).unwrap_or_default()).items;
    let grouped = rtnl::addresses_by_link(&links, &addrs);
    let mut shown = Vec::new();
    for link in &links {
        if !is_dataplane_link(link.ifname(), link.kind()) {
            continue;
        }
        shown.push(link.summary.ifindex);
        let addresses: Vec<String> = grouped
            .iter()
            .filter(|g| g.link.ifindex == link.summary.ifindex)
            .flat_map(|g| &g.addr_info)
            .filter_map(|a| Some(format!("{}/{}", a.local.as_deref()?, a.prefixlen)))
            .collect();
        w(
            out,
            format!(
                "  {:<14}{:<8}{:<9}mtu {:<6}{}",
                link.ifname(),
                link.kind().unwrap_or("-"),
                link.summary.operstate.as_deref().unwrap_or("-"),
                link.summary.mtu.map(|m| m.to_string()).unwrap_or_default(),
                addresses.join(" ")
            ),
        )?;
    }
    if shown.is_empty() {
        w(out, "  none".into())?;
    }
    let link_names = LinkNames::from_links(&links);
    for path in [names::RTNL_ROUTES_V4, names::RTNL_ROUTES_V6] {
        let routes = rtnl::decode_routes(path, bundle.file(path).unwrap_or_default(), &link_names);
        for r in routes.items.iter().filter(|r| {
            !r.cloned
                && r.oif.is_some_and(|i| shown.contains(&i))
                && r.table.as_deref() != Some("local")
        }) {
            w(
                out,
                format!(
                    "  route {}{} dev {}{}",
                    r.dst,
                    r.gateway
                        .as_ref()
                        .map(|g| format!(" via {g}"))
                        .unwrap_or_default(),
                    r.dev.as_deref().unwrap_or("?"),
                    r.protocol
                        .as_ref()
                        .map(|p| format!(" proto {p}"))
                        .unwrap_or_default()
                ),
            )?;
        }
    }

    w(out, "\nSysctls".into())?;
    match bundle.file(names::SYSCTLS) {
        Some(text) => {
            let values = parse_sysctls(&String::from_utf8_lossy(text));
            for key in KEY_SYSCTLS {
                let v = match values.get(*key) {
                    Some(SysctlValue::Value(v)) => v.clone(),
                    Some(SysctlValue::Absent) => "absent".into(),
                    Some(SysctlValue::Denied) => "denied".into(),
                    Some(SysctlValue::Error(e)) => format!("error: {e}"),
                    None => "not collected".into(),
                };
                w(out, format!("  {key} = {v}"))?;
            }
        }
        None => w(
            out,
            format!(
                "  {} {}",
                names::SYSCTLS,
                why_missing(bundle, names::SYSCTLS)
            ),
        )?,
    }

    w(out, "\nKubernetes".into())?;
    let k8s: Vec<_> = m
        .artifacts
        .iter()
        .filter(|a| a.path.starts_with(names::K8S_DIR))
        .collect();
    let ok = k8s.iter().filter(|a| a.status == Status::Ok).count();
    w(
        out,
        format!("  {ok} of {} Kubernetes artifacts collected", k8s.len()),
    )?;
    if let Some(first) = k8s.iter().find(|a| a.status != Status::Ok) {
        if ok == 0 {
            w(
                out,
                format!(
                    "  {}: {}",
                    first.status.as_str(),
                    first.reason.as_deref().unwrap_or("no reason recorded")
                ),
            )?;
        }
    }
    Ok(())
}

fn why_missing(bundle: &Bundle, path: &str) -> String {
    bundle
        .evidence(path)
        .absence()
        .map(|a| a.to_string())
        .unwrap_or_default()
}
