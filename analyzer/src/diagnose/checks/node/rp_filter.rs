//! C24: strict reverse-path filtering where paths are asymmetric. With rp_filter = 1 the kernel
//! drops a packet when the route back to its source does not leave through the interface it
//! came in on (`fib_validate_source` in net/ipv4/fib_frontend.c); the effective mode of an
//! interface is the maximum of `conf.all` and `conf.<dev>` (`IN_DEV_RPFILTER`). On a node with
//! several uplinks holding default routes, replies and NodePort traffic arriving on the
//! "other" uplink are dropped without a trace (kubernetes#124587); Cilium needs it off on its
//! devices (cilium/cilium#20498). Calico sets strict mode on its cali* workload interfaces on
//! purpose (anti-spoofing) and since v3.12 no longer needs `all` strict; older Felix refused a
//! loose `all` unless IgnoreLooseRPF was set (projectcalico/felix#2082): cali* and pod-side
//! interfaces are therefore never reported, and the fix loosens the uplinks only.

use std::collections::BTreeSet;

use netsnap_bundle::names;

use super::sysctl_line;
use crate::diagnose::checks::sysctl_evidence;
use crate::diagnose::checks::{list_capped, Check, CheckInfo};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "rp-filter-strict",
    catalog: "C24",
    title: "Strict rp_filter on interfaces with asymmetric paths",
    layer: Layer::Node,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/124587",
        "https://github.com/projectcalico/felix/issues/2082",
        "https://github.com/projectcalico/calico/pull/592",
        "https://github.com/cloudnativelabs/kube-router/issues/138",
        "https://github.com/cilium/cilium/issues/20498",
    ],
    evidence: "`sysctl.txt` `net.ipv4.conf.{all,<dev>}.rp_filter` (effective = the larger); links, and routes: default routes on several uplinks, tunnel devices carrying routes, Cilium devices.",
    fix: "Set `net.ipv4.conf.<dev>.rp_filter=2` (loose) on the affected uplinks, now and at boot; cali* interfaces keep Calico's strict setting.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const TUNNEL_KINDS: &[&str] = &["ipip", "vxlan", "wireguard", "gre", "geneve", "sit"];

/// Interfaces whose strict setting is intended or harmless: pod-side devices and loopback.
fn pod_side(name: &str) -> bool {
    name == "lo" || name == "kube-ipvs0" || name.starts_with("cali") || name.starts_with("lxc")
}

/// procps' key for an interface (a `.` in the name becomes `/`).
fn conf_key(dev: &str) -> String {
    format!("net.ipv4.conf.{}.rp_filter", dev.replace('.', "/"))
}

fn run(cx: &Context<'_>) -> Verdicts {
    let (links, _) = match (&cx.node.links, &cx.node.routes) {
        (Ok(l), Ok(r)) => (l, r),
        (Err(m), _) | (_, Err(m)) => {
            return Verdicts::clear(
                format!("no asymmetric path is known: the node's links and routes were not both read ({m})"),
                Vec::new(),
            );
        }
    };
    let value = |k: &str| cx.node.sysctl(k).and_then(|v| v.trim().parse::<u8>().ok());
    let Some(all) = value("net.ipv4.conf.all.rp_filter") else {
        if cx.node.sysctls.is_err() {
            return Verdicts::cannot(
                cx.not_concluded(
                    &INFO,
                    "whether reverse-path filtering drops asymmetric traffic",
                    cx.node
                        .sysctls
                        .as_ref()
                        .err()
                        .map_or_else(String::new, ToString::to_string),
                    Some("sysctl -a 2>/dev/null | grep rp_filter"),
                ),
            );
        }
        return Verdicts::clear(
            "net.ipv4.conf.all.rp_filter is not among the sysctls read: nothing shows strict \
             reverse-path filtering",
            Vec::new(),
        );
    };
    let bridge_ports: BTreeSet<u32> = links
        .iter()
        .filter(|l| l.summary.master_index.is_some())
        .map(|l| l.summary.ifindex)
        .collect();
    let candidates: Vec<_> = links
        .iter()
        .filter(|l| l.is_up() && !pod_side(l.ifname()))
        .filter(|l| !bridge_ports.contains(&l.summary.ifindex))
        .collect();
    let effective = |dev: &str| value(&conf_key(dev)).map(|d| d.max(all)).unwrap_or(all);
    // Uplinks: interfaces with a default route, in any table.
    let uplinks: Vec<&str> = candidates
        .iter()
        .map(|l| l.ifname())
        .filter(|dev| {
            cx.node
                .routes_via(dev)
                .any(|r| r.dst == "default" || r.dst == "0.0.0.0/0")
        })
        .collect();
    let tunnels: Vec<&str> = candidates
        .iter()
        .filter(|l| l.kind().is_some_and(|k| TUNNEL_KINDS.contains(&k)))
        .map(|l| l.ifname())
        .filter(|dev| cx.node.routes_via(dev).next().is_some())
        .collect();
    let cilium = links.iter().any(|l| l.ifname() == "cilium_host");
    let mut strict: Vec<&str> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut confidence = Confidence::Low;
    if uplinks.len() >= 2 {
        let s: Vec<&str> = uplinks
            .iter()
            .copied()
            .filter(|d| effective(d) == 1)
            .collect();
        if !s.is_empty() {
            reasons.push(format!(
                "{} interfaces hold default routes ({}): traffic may arrive on one and be \
                 answered through another",
                uplinks.len(),
                uplinks.join(", ")
            ));
            strict.extend(s);
            confidence = Confidence::Medium;
        }
    }
    if cilium {
        let s: Vec<&str> = candidates
            .iter()
            .map(|l| l.ifname())
            .filter(|d| effective(d) == 1)
            .collect();
        if !s.is_empty() {
            reasons.push(
                "Cilium runs here, and it needs reverse-path filtering off on its devices"
                    .to_string(),
            );
            strict.extend(s);
            confidence = Confidence::Medium;
        }
    }
    let strict_tunnels: Vec<&str> = tunnels
        .iter()
        .copied()
        .filter(|d| effective(d) == 1)
        .collect();
    if !strict_tunnels.is_empty() && !uplinks.is_empty() {
        reasons.push(format!(
            "tunnel devices carry routes ({}): encapsulated and plain paths to the same peers \
             can differ",
            strict_tunnels.join(", ")
        ));
        strict.extend(strict_tunnels);
    }
    strict.sort_unstable();
    strict.dedup();
    if strict.is_empty() {
        return Verdicts::clear(
            "no interface where paths can be asymmetric filters reverse paths strictly",
            sysctl_evidence(cx, "net.ipv4.conf.all.rp_filter"),
        );
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Warning,
        confidence,
        format!(
            "Strict reverse-path filtering (rp_filter = 1) on {} where paths can be asymmetric",
            list_capped(&strict, 4)
        ),
    );
    f.detail = format!(
        "The kernel drops a packet whose source it would not route back out of the interface \
         the packet came in on. Here {}. Service traffic, NodePort replies and health checks \
         then fail only for some node/interface combinations, silently. Calico's cali* \
         interfaces are strict on purpose and are left alone.",
        reasons.join("; ")
    );
    let text = cx.node.text(names::SYSCTLS).unwrap_or_default();
    f.evidence.push(Evidence::new(
        names::SYSCTLS,
        sysctl_line(&text, "net.ipv4.conf.all.rp_filter"),
        format!("net.ipv4.conf.all.rp_filter = {all}"),
    ));
    for dev in &strict {
        let key = conf_key(dev);
        if let Some(v) = value(&key) {
            f.evidence.push(Evidence::new(
                names::SYSCTLS,
                sysctl_line(&text, &key),
                format!("{key} = {v} (effective {})", v.max(all)),
            ));
        }
    }
    if !uplinks.is_empty() {
        let defaults: Vec<String> = uplinks
            .iter()
            .flat_map(|dev| {
                cx.node
                    .routes_via(dev)
                    .filter(|r| r.dst == "default" || r.dst == "0.0.0.0/0")
                    .map(move |r| {
                        let mut s = format!("default dev {dev}");
                        if let Some(g) = &r.gateway {
                            s.push_str(&format!(" via {g}"));
                        }
                        if let Some(m) = r.metric {
                            s.push_str(&format!(" metric {m}"));
                        }
                        if let Some(t) = &r.table {
                            s.push_str(&format!(" table {t}"));
                        }
                        s
                    })
            })
            .collect();
        f.evidence.push(Evidence::new(
            names::RTNL_ROUTES_V4,
            "default routes",
            list_capped(&defaults, 6),
        ));
    }
    for dev in &strict {
        let key = conf_key(dev);
        f.fix.push(FixStep::new(
            format!(
                "Loosen reverse-path filtering on {dev} (2 = any route back is enough), now and \
                 at boot; the effective mode is the larger of all and {dev}, so this wins over \
                 a strict `all`."
            ),
            vec![
                format!("sysctl -w {key}=2"),
                format!("echo '{key} = 2' >> /etc/sysctl.d/90-netsnap-rp-filter.conf"),
            ],
            FixAction::SetSysctl {
                key,
                value: "2".to_string(),
            },
        ));
    }
    f.fix.push(FixStep::manual(
        "Better still, make replies leave through the interface the request came in on \
         (source-based policy routing per uplink), so strict filtering can stay.",
    ));
    Verdicts::found(f)
}
