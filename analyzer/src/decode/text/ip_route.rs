//! `ip route`, `ip -6 route`, `ip route show table all|N` text into the [`Route`] values the
//! rtnetlink decoder builds.
//!
//! The shape is iproute2's `print_route` (ip/iproute.c): `[TYPE] DST [from SRC] [tos T] [via
//! [FAMILY] GW] [dev D] [table T] [proto P] [scope S] [src A] [metric N] [FLAGS] [pref P]`,
//! multipath next hops on `\tnexthop ...` lines. Which table: `print_route` names the table
//! only when listing every table (`show table all`, `filter.tb` 0) and it is not main; a plain
//! `ip route` lists main only, `ip route show table N` table N only, neither naming it. So a
//! route without `table` is main when the paste shows `table all` was asked for (or names a
//! table on another route), the asked table when the command line names one, and otherwise
//! main by assumption, which [`RoutesText::tables_stated`] and an issue say.

use std::net::IpAddr;

use super::issue::TextIssue;
use super::{Parsed, Source};
use crate::decode::rtnl::{NextHop, Route, Via};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoutesText {
    pub routes: Vec<Parsed<Route>>,
    /// Whether every route's table is known (see the module comment). When false, routes
    /// without `table` were taken as main and other tables may be missing from the paste.
    pub tables_stated: bool,
    pub issues: Vec<TextIssue>,
}

const WHAT: &str = "ip route output";
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const RT_TABLE_MAIN: u32 = 254;

/// `rtnl_rtntype_a2n`.
pub(super) fn type_id(name: &str) -> Option<u8> {
    Some(match name {
        "unicast" => 1,
        "local" => 2,
        "broadcast" => 3,
        "anycast" => 4,
        "multicast" => 5,
        "blackhole" => 6,
        "unreachable" => 7,
        "prohibit" => 8,
        "throw" => 9,
        "nat" => 10,
        "xresolve" => 11,
        _ => return None,
    })
}

/// `rtnl_rttable_a2n` for the reserved names; a name from the node's `rt_tables` is unknown.
pub(crate) fn table_id(name: &str) -> Option<u32> {
    match name {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        "unspec" => Some(0),
        n => n.parse().ok(),
    }
}

/// What the command line says about tables and family.
pub(super) struct Asked {
    /// `Some(None)`: `table all`; `Some(Some(id))`: one table.
    pub(super) table: Option<Option<Option<u32>>>,
    pub(super) family: Option<u8>,
}

pub(super) fn asked(command: Option<&str>) -> Asked {
    let mut a = Asked {
        table: None,
        family: None,
    };
    let Some(cmd) = command else { return a };
    let words: Vec<&str> = cmd
        .split('|')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    for (i, w) in words.iter().enumerate() {
        match *w {
            "-6" => a.family = Some(AF_INET6),
            "-4" => a.family = Some(AF_INET),
            "table" | "tab" | "t" if i > 0 => {
                a.table = words.get(i + 1).map(|t| match *t {
                    "all" | "0" => None,
                    t => Some(table_id(t)),
                })
            }
            _ => {}
        }
    }
    a
}

/// Parses `ip route` text.
pub fn parse(src: &Source<'_>) -> RoutesText {
    let asked = asked(src.command());
    let mut out = RoutesText::default();
    let mut any_table_named = false;
    for (n, line) in src.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) && line.trim_start().starts_with("nexthop ") {
            match (out.routes.last_mut(), parse_nexthop(line.trim_start())) {
                (Some(r), Some(nh)) => r.value.nexthops.get_or_insert_with(Vec::new).push(nh),
                _ => out.issues.push(src.bad(n, WHAT, "unreadable nexthop line")),
            }
            continue;
        }
        // `ip route show cache` detail lines and `-s` lines are not routes.
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        match parse_route(line, asked.family) {
            Some((mut r, table_name)) => {
                match table_name {
                    Some(name) => {
                        any_table_named = true;
                        match table_id(&name) {
                            Some(id) => r.table_id = id,
                            None => out.issues.push(TextIssue::TableNameUnknown {
                                line: n,
                                name: name.clone(),
                            }),
                        }
                        r.table = Some(name);
                    }
                    None => {
                        r.table_id = match asked.table {
                            Some(Some(Some(id))) => id,
                            Some(Some(None)) => 0,
                            _ => RT_TABLE_MAIN,
                        }
                    }
                }
                out.routes.push(Parsed { value: r, line: n });
            }
            None => out.issues.push(src.bad(n, WHAT, "unreadable route")),
        }
    }
    out.tables_stated = asked.table.is_some() || any_table_named;
    if !out.tables_stated && !out.routes.is_empty() {
        out.issues.push(TextIssue::RouteTablesNotStated {
            first: src.piece.first_line,
            last: src.piece.last_line,
        });
    }
    out
}

fn family_of(a: &str) -> Option<u8> {
    match a.split('/').next()?.parse::<IpAddr>().ok()? {
        IpAddr::V4(_) => Some(AF_INET),
        IpAddr::V6(_) => Some(AF_INET6),
    }
}

/// One route line; returns the route and the table name it printed.
fn parse_route(line: &str, family: Option<u8>) -> Option<(Route, Option<String>)> {
    let mut tok = line.split_whitespace().peekable();
    let mut r = Route {
        type_id: 1,
        ..Route::default()
    };
    let mut first = tok.next()?;
    if let Some(t) = type_id(first) {
        r.type_id = t;
        if t != 1 {
            r.kind = Some(first.to_string());
        }
        first = tok.next()?;
    }
    if first != "default" && family_of(first).is_none() {
        return None;
    }
    r.dst = first.to_string();
    let mut fam = family.or_else(|| family_of(first));
    let mut table = None;
    while let Some(key) = tok.next() {
        let mut val = || tok.next().map(str::to_string);
        match key {
            "from" => r.from = Some(val()?),
            "nhid" => r.nhid = Some(val()?.parse().ok()?),
            "tos" | "dsfield" => r.tos = Some(val()?),
            "via" => {
                let v = val()?;
                // `via inet6 fe80::1` names the gateway's family when it differs.
                if v == "inet" || v == "inet6" {
                    r.via = Some(Via {
                        family: v,
                        host: val()?,
                    });
                } else {
                    fam = fam.or_else(|| family_of(&v));
                    r.gateway = Some(v);
                }
            }
            "dev" => r.dev = Some(val()?),
            "table" => table = Some(val()?),
            "proto" => r.protocol = Some(val()?),
            "scope" => r.scope = Some(val()?),
            "src" => {
                let v = val()?;
                fam = fam.or_else(|| family_of(&v));
                r.prefsrc = Some(v);
            }
            "metric" => r.metric = Some(val()?.parse().ok()?),
            "mark" => {
                let v = val()?;
                r.mark = Some(u32::from_str_radix(v.trim_start_matches("0x"), 16).ok()?);
            }
            "iif" => r.iif = Some(val()?),
            // Only IPv6 routes print a router preference.
            "pref" => {
                r.pref = Some(val()?);
                fam = fam.or(Some(AF_INET6));
            }
            "dead" | "onlink" | "pervasive" | "offload" | "trap" | "notify" | "linkdown"
            | "unresolved" | "rt_offload" | "rt_trap" | "rt_offload_failed" => {
                r.flags.push(key.to_string())
            }
            // Metrics and encapsulation (`mtu 1450`, `advmss`, `expires 300sec`, `encap ...`)
            // have no place in the model: skip their value.
            "mtu" | "advmss" | "rtt" | "rttvar" | "reordering" | "window" | "cwnd" | "initcwnd"
            | "initrwnd" | "ssthresh" | "realms" | "rto_min" | "hoplimit" | "quickack"
            | "congctl" | "features" | "fastopen_no_cookie" | "expires" | "error"
            | "ttl-propagate" => {
                val();
            }
            "lock" => {}
            "cache" => {}
            _ => return None,
        }
    }
    r.family = fam.unwrap_or(0);
    Some((r, table))
}

/// `nexthop via 192.168.56.1 dev eth0 weight 1 [onlink]`.
fn parse_nexthop(t: &str) -> Option<NextHop> {
    let mut tok = t.split_whitespace().skip(1);
    let mut nh = NextHop::default();
    let mut weight = None;
    while let Some(key) = tok.next() {
        match key {
            "via" => {
                let v = tok.next()?;
                let v = if v == "inet" || v == "inet6" {
                    tok.next()?
                } else {
                    v
                };
                nh.gateway = Some(v.to_string());
            }
            "dev" => nh.dev = Some(tok.next()?.to_string()),
            "weight" => weight = Some(tok.next()?.parse().ok()?),
            "dead" | "onlink" | "pervasive" | "offload" | "trap" | "linkdown" => {
                nh.flags.push(key.to_string())
            }
            _ => return None,
        }
    }
    // print_rta_multipath prints the weight always (rtnh_hops + 1).
    nh.weight = weight?;
    Some(nh)
}
