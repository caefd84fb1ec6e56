//! `ip link`, `ip addr`, `ip route`, `ip rule` and `ip neigh` views. JSON output uses
//! iproute2's field names (`ip -j -d link`, `ip -j addr`, `ip -j route show table all`,
//! `ip -j rule`, `ip -j neigh`); text output reads like iproute2's.

use std::io::Write;

use serde_json::Value;

use super::{output, write_json};
use crate::decode::rtnl::{Link, LinkAddresses, LinkSummary, Neighbour, Route, Rule};
use crate::error::Result;

pub fn render_links(links: &[Link], json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        return write_json(out, &links);
    }
    for l in links {
        link_header(&l.summary, out)?;
        if let Some(info) = &l.linkinfo {
            let mut line = String::from("   ");
            if let Some(kind) = &info.info_kind {
                line.push(' ');
                line.push_str(kind);
            }
            for (k, v) in info.info_data.iter().flatten() {
                line.push_str(&format!(" {k} {}", plain(v)));
            }
            if let Some(kind) = &info.info_slave_kind {
                line.push_str(&format!(" {kind}_slave"));
            }
            if line.trim().is_empty() {
                continue;
            }
            writeln!(out, "{line}").map_err(output)?;
        }
    }
    Ok(())
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn link_header(s: &LinkSummary, out: &mut dyn Write) -> Result<()> {
    let name = match (&s.link, s.link_index) {
        (Some(Some(l)), _) => format!("{}@{l}", s.ifname),
        (Some(None), _) => format!("{}@NONE", s.ifname),
        (None, Some(i)) => format!("{}@if{i}", s.ifname),
        (None, None) => s.ifname.clone(),
    };
    let mut line = format!("{}: {name}: <{}>", s.ifindex, s.flags.join(","));
    if let Some(m) = s.mtu {
        line.push_str(&format!(" mtu {m}"));
    }
    if let Some(q) = &s.qdisc {
        line.push_str(&format!(" qdisc {q}"));
    }
    if let Some(m) = &s.master {
        line.push_str(&format!(" master {m}"));
    }
    if let Some(st) = &s.operstate {
        line.push_str(&format!(" state {st}"));
    }
    if let Some(g) = &s.group {
        line.push_str(&format!(" group {g}"));
    }
    if let Some(q) = s.txqlen {
        line.push_str(&format!(" qlen {q}"));
    }
    writeln!(out, "{line}").map_err(output)?;
    let mut line = format!("    link/{}", s.link_type);
    if let Some(a) = &s.address {
        line.push_str(&format!(" {a}"));
    }
    if let Some(b) = &s.broadcast {
        let word = if s.link_pointtopoint == Some(true) {
            "peer"
        } else {
            "brd"
        };
        line.push_str(&format!(" {word} {b}"));
    }
    if let Some(p) = &s.permaddr {
        line.push_str(&format!(" permaddr {p}"));
    }
    if let Some(n) = s.link_netnsid {
        line.push_str(&format!(" link-netnsid {n}"));
    }
    writeln!(out, "{line}").map_err(output)
}

pub fn render_addrs(groups: &[LinkAddresses], json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        return write_json(out, &groups);
    }
    for g in groups {
        link_header(&g.link, out)?;
        for a in &g.addr_info {
            let mut line = format!("    {} {}", a.family, a.local.as_deref().unwrap_or("?"));
            if let Some(peer) = &a.address {
                line.push_str(&format!(" peer {peer}"));
            }
            line.push_str(&format!("/{}", a.prefixlen));
            if let Some(b) = &a.broadcast {
                line.push_str(&format!(" brd {b}"));
            }
            line.push_str(&format!(" scope {}", a.scope));
            for (flag, _) in a.flags.iter().filter(|(_, on)| **on) {
                line.push_str(&format!(" {flag}"));
            }
            if let Some(l) = &a.label {
                line.push_str(&format!(" {l}"));
            }
            writeln!(out, "{line}").map_err(output)?;
        }
    }
    Ok(())
}

pub fn render_routes(routes: &[Route], json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        return write_json(out, &routes);
    }
    for r in routes {
        let mut parts: Vec<String> = Vec::new();
        if let Some(k) = &r.kind {
            parts.push(k.clone());
        }
        parts.push(r.dst.clone());
        let mut opt = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{name} {v}"));
            }
        };
        opt("from", &r.from);
        opt("tos", &r.tos);
        opt("via", &r.gateway);
        opt(
            "via",
            &r.via.as_ref().map(|v| format!("{} {}", v.family, v.host)),
        );
        opt("dev", &r.dev);
        opt("table", &r.table);
        opt("proto", &r.protocol);
        opt("scope", &r.scope);
        opt("src", &r.prefsrc);
        opt("metric", &r.metric.map(|m| m.to_string()));
        opt("iif", &r.iif);
        opt("pref", &r.pref);
        parts.extend(r.flags.iter().cloned());
        writeln!(out, "{}", parts.join(" ")).map_err(output)?;
        for nh in r.nexthops.iter().flatten() {
            let mut line = String::from("\tnexthop");
            if let Some(g) = &nh.gateway {
                line.push_str(&format!(" via {g}"));
            }
            if let Some(d) = &nh.dev {
                line.push_str(&format!(" dev {d}"));
            }
            line.push_str(&format!(" weight {}", nh.weight));
            writeln!(out, "{line}").map_err(output)?;
        }
    }
    Ok(())
}

pub fn render_rules(rules: &[Rule], json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        return write_json(out, &rules);
    }
    for r in rules {
        let mut line = format!("{}:\t", r.priority);
        if r.not.is_some() {
            line.push_str("not ");
        }
        line.push_str(&format!("from {}", r.src));
        if let Some(l) = r.srclen {
            line.push_str(&format!("/{l}"));
        }
        if let Some(d) = &r.dst {
            line.push_str(&format!(" to {d}"));
            if let Some(l) = r.dstlen {
                line.push_str(&format!("/{l}"));
            }
        }
        if let Some(t) = &r.tos {
            line.push_str(&format!(" tos {t}"));
        }
        if let Some(m) = &r.fwmark {
            line.push_str(&format!(" fwmark {m}"));
            if let Some(mask) = &r.fwmask {
                line.push_str(&format!("/{mask}"));
            }
        }
        if let Some(i) = &r.iif {
            line.push_str(&format!(" iif {i}"));
        }
        if let Some(o) = &r.oif {
            line.push_str(&format!(" oif {o}"));
        }
        if let Some(t) = &r.table {
            line.push_str(&format!(" lookup {t}"));
        }
        if let Some(p) = r.suppress_prefixlen {
            line.push_str(&format!(" suppress_prefixlength {p}"));
        }
        if let Some(g) = r.goto {
            line.push_str(&format!(" goto {g}"));
        }
        if r.nop.is_some() {
            line.push_str(" nop");
        }
        if let Some(a) = &r.action {
            line.push_str(&format!(" {a}"));
        }
        if let Some(p) = &r.protocol {
            line.push_str(&format!(" proto {p}"));
        }
        writeln!(out, "{line}").map_err(output)?;
    }
    Ok(())
}

pub fn render_neigh(neigh: &[Neighbour], json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        return write_json(out, &neigh);
    }
    for n in neigh {
        let mut line = n.dst.clone();
        if let Some(d) = &n.dev {
            line.push_str(&format!(" dev {d}"));
        }
        if let Some(l) = &n.lladdr {
            line.push_str(&format!(" lladdr {l}"));
        }
        if n.router.is_some() {
            line.push_str(" router");
        }
        if n.proxy.is_some() {
            line.push_str(" proxy");
        }
        for s in &n.state {
            line.push_str(&format!(" {s}"));
        }
        writeln!(out, "{line}").map_err(output)?;
    }
    Ok(())
}
