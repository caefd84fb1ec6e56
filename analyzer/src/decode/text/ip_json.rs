//! `ip -j link`, `ip -j -d link`, `ip -j addr`, `ip -j route`, `ip -j rule` into the same
//! [`LinksText`], [`RoutesText`] and [`RulesText`] the text parsers build.
//!
//! The JSON keys are iproute2's (`print_linkinfo`, `print_addrinfo`, `print_route`,
//! `print_rule`: the model's serde names are the same keys), checked against iproute2 6.1's
//! `ip -j` and text output of the same namespace (`tests/data/pasted/iproute2-6.1/`): the JSON
//! parse must equal the text parse. A key the model has no field for is reported
//! ([`TextIssue::UnknownKey`]), never dropped silently; keys the text parsers also leave out
//! (counters of `-s`, slave data of `-d`) are listed in [`NOT_MODELLED`].
//!
//! `ip -j` prints the whole answer on one line (`-p` pretty-prints it): each item's line is the
//! line its object starts on.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::ip_link::{raw_flags, LinkExtra, LinksText, ADDR_FLAGS, BRIDGE_KEYS};
use super::ip_route::{asked, table_id, type_id, RoutesText};
use super::ip_rule::RulesText;
use super::issue::TextIssue;
use super::{Parsed, Source};
use crate::decode::rtnl::{Address, Link, LinkInfoJson, NextHop, Route, Rule, Via};

const WHAT: &str = "ip -j output";
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// What one `ip -j` answer was read into.
#[derive(Debug, Clone, PartialEq)]
pub enum IpJsonText {
    Links(LinksText),
    Routes(RoutesText),
    Rules(RulesText),
    /// An answer of an object no parser reads (`ip -j neigh`, `ip -j -s link` counters only,
    /// `ip -j maddr`): with why.
    NotRead(Vec<TextIssue>),
}

/// Keys iproute2 prints that the model has no field for, on purpose: `-s` counters, `-d`
/// details no check reads. The text parsers skip the same words.
const NOT_MODELLED: &[&str] = &[
    "stats",
    "stats64",
    "vfinfo_list",
    "proto_down",
    "proto_down_reason",
    "parentbus",
    "parentdev",
    "gso_ipv4_max_size",
    "gro_ipv4_max_size",
    "phys_port_name",
    "phys_port_id",
    "phys_switch_id",
    "xdp",
    "prop_list",
];

/// Parses one `ip -j` answer.
pub fn parse(src: &Source<'_>) -> IpJsonText {
    let body = &src.piece.body;
    let first_line = src.piece.first_line;
    let items = match serde_json::from_str::<Value>(body) {
        Ok(Value::Array(a)) => a,
        Ok(_) => {
            return IpJsonText::NotRead(vec![src.bad(first_line, WHAT, "not a JSON array")]);
        }
        Err(e) => {
            let line = first_line + e.line().saturating_sub(1);
            let issue = if src.cut_at_end || e.is_eof() {
                TextIssue::CutMidTable { line, what: WHAT }
            } else {
                src.bad(line, WHAT, "invalid JSON")
            };
            return IpJsonText::NotRead(vec![issue]);
        }
    };
    let lines: Vec<usize> = element_offsets(body)
        .into_iter()
        .map(|off| first_line + body[..off.min(body.len())].matches('\n').count())
        .collect();
    let line_of = |i: usize| lines.get(i).copied().unwrap_or(first_line);
    let command = src.command().unwrap_or_default();
    let words: Vec<&str> = command.split_whitespace().collect();
    let object = |o: &Map<String, Value>, k: &str| o.contains_key(k);
    let first = items.iter().find_map(Value::as_object);
    let Some(first) = first else {
        // `[]`: an empty answer; which object it was is only in the command.
        return IpJsonText::NotRead(Vec::new());
    };
    if object(first, "ifindex") {
        IpJsonText::Links(links(&items, &line_of))
    } else if object(first, "priority") && object(first, "src") {
        IpJsonText::Rules(rules(&items, &line_of, family_asked(&words)))
    } else if object(first, "lladdr") || object(first, "state") {
        IpJsonText::NotRead(vec![src.bad(
            first_line,
            WHAT,
            "ip -j neigh is not read by a parser",
        )])
    } else if object(first, "dst") {
        IpJsonText::Routes(routes(&items, &line_of, src.command()))
    } else {
        IpJsonText::NotRead(vec![src.bad(
            first_line,
            WHAT,
            "neither links, addresses, routes nor rules",
        )])
    }
}

fn family_asked(words: &[&str]) -> Option<u8> {
    if words.contains(&"-6") {
        Some(AF_INET6)
    } else if words.is_empty() {
        None
    } else {
        // iprule.c lists AF_INET when no family is asked for.
        Some(AF_INET)
    }
}

/// Byte offsets of the elements of the top-level JSON array (the document is valid JSON).
fn element_offsets(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    let mut want = false;
    for (i, b) in s.bytes().enumerate() {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        if want && !b.is_ascii_whitespace() && b != b']' {
            out.push(i);
            want = false;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth == 1 {
                    want = true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => want = true,
            _ => {}
        }
    }
    out
}

/// Takes typed values out of one JSON object; what is left at the end is unknown.
struct Obj {
    m: Map<String, Value>,
    bad: bool,
}

impl Obj {
    fn new(v: &Value) -> Option<Obj> {
        Some(Obj {
            m: v.as_object()?.clone(),
            bad: false,
        })
    }

    /// An item of `ip -j`'s array, or an issue at `line` when it is not an object.
    fn read(v: &Value, line: usize, issues: &mut Vec<TextIssue>) -> Option<Obj> {
        let o = Obj::new(v);
        if o.is_none() {
            issues.push(TextIssue::Unreadable {
                line,
                what: WHAT,
                reason: "not a JSON object",
            });
        }
        o
    }
    fn str(&mut self, k: &str) -> Option<String> {
        match self.m.remove(k)? {
            Value::String(s) => Some(s),
            _ => {
                self.bad = true;
                None
            }
        }
    }
    fn num<T: TryFrom<i64>>(&mut self, k: &str) -> Option<T> {
        let v = self.m.remove(k)?;
        let n = v.as_i64().and_then(|n| T::try_from(n).ok());
        self.bad |= n.is_none();
        n
    }
    fn flag(&mut self, k: &str) -> Option<()> {
        self.m.remove(k).map(|_| ())
    }
    fn strings(&mut self, k: &str) -> Vec<String> {
        match self.m.remove(k) {
            Some(Value::Array(a)) => a
                .into_iter()
                .filter_map(|x| match x {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
            Some(_) => {
                self.bad = true;
                Vec::new()
            }
            None => Vec::new(),
        }
    }
    /// Reports what was left (minus `ignored`) and a value of the wrong type.
    fn finish(self, line: usize, ignored: &[&str], issues: &mut Vec<TextIssue>) {
        if self.bad {
            issues.push(TextIssue::Unreadable {
                line,
                what: WHAT,
                reason: "a value of an unexpected type",
            });
        }
        for k in self.m.keys() {
            if !ignored.contains(&k.as_str()) {
                issues.push(TextIssue::UnknownKey {
                    line,
                    what: WHAT,
                    key: k.clone(),
                });
            }
        }
    }
}

fn links(items: &[Value], line_of: &dyn Fn(usize) -> usize) -> LinksText {
    let mut out = LinksText::default();
    for (i, item) in items.iter().enumerate() {
        let line = line_of(i);
        let Some(mut o) = Obj::read(item, line, &mut out.issues) else {
            continue;
        };
        let mut l = Link::default();
        let mut x = LinkExtra::default();
        let s = &mut l.summary;
        s.ifindex = o.num("ifindex").unwrap_or(0);
        s.ifname = o.str("ifname").unwrap_or_default();
        s.link_index = o.num("link_index");
        s.link = match o.m.remove("link") {
            Some(Value::Null) => Some(None),
            Some(Value::String(p)) => Some(Some(p)),
            Some(_) => {
                o.bad = true;
                None
            }
            None => None,
        };
        s.flags = o.strings("flags");
        s.raw_flags = raw_flags(&s.flags);
        s.mtu = o.num("mtu");
        s.qdisc = o.str("qdisc");
        s.master = o.str("master");
        s.operstate = o.str("operstate");
        s.group = o.str("group");
        s.txqlen = o.num("txqlen");
        s.link_type = o.str("link_type").unwrap_or_default();
        s.address = o.str("address");
        s.link_pointtopoint = o.flag("link_pointtopoint").map(|_| true);
        s.broadcast = o.str("broadcast");
        s.permaddr = o.str("permaddr");
        s.link_netnsid = o.num("link_netnsid");
        l.linkmode = o.str("linkmode");
        l.promiscuity = o.num("promiscuity");
        l.allmulti = o.num("allmulti");
        l.min_mtu = o.num("min_mtu");
        l.max_mtu = o.num("max_mtu");
        l.num_tx_queues = o.num("num_tx_queues");
        l.num_rx_queues = o.num("num_rx_queues");
        l.gso_max_size = o.num("gso_max_size");
        l.gso_max_segs = o.num("gso_max_segs");
        l.tso_max_size = o.num("tso_max_size");
        l.tso_max_segs = o.num("tso_max_segs");
        l.gro_max_size = o.num("gro_max_size");
        l.ifalias = o.str("ifalias");
        l.linkinfo = o.m.remove("linkinfo").map(|v| linkinfo(&v));
        x.altnames = o.strings("altnames");
        x.addrgenmode = o.str("inet6_addr_gen_mode");
        if let Some(addrs) = o.m.remove("addr_info") {
            for a in addrs.as_array().map(Vec::as_slice).unwrap_or_default() {
                match address(a, l.summary.ifindex, line, &mut out.issues) {
                    Some(a) => out.addresses.push(Parsed { value: a, line }),
                    None => out.issues.push(TextIssue::Unreadable {
                        line,
                        what: WHAT,
                        reason: "unreadable addr_info entry",
                    }),
                }
            }
        }
        o.finish(line, NOT_MODELLED, &mut out.issues);
        out.links.push(Parsed { value: l, line });
        out.extras.push(x);
    }
    out
}

/// `linkinfo`, with the kind data the netlink decoder keeps (vxlan, bridge, ipip/sit).
fn linkinfo(v: &Value) -> LinkInfoJson {
    let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let kind = get("info_kind");
    let data = v
        .get("info_data")
        .and_then(Value::as_object)
        .and_then(|d| match kind.as_deref() {
            Some("vxlan") => Some(d.clone()),
            Some("bridge") => Some(
                d.iter()
                    .filter(|(k, _)| BRIDGE_KEYS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            Some("ipip" | "sit") => Some(
                d.iter()
                    .filter(|(k, _)| {
                        ["remote", "local", "link", "ttl", "pmtudisc", "proto"]
                            .contains(&k.as_str())
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            _ => None,
        });
    LinkInfoJson {
        info_kind: kind,
        info_data: data.filter(|d: &Map<String, Value>| !d.is_empty()),
        info_slave_kind: get("info_slave_kind"),
    }
}

fn address(v: &Value, ifindex: u32, line: usize, issues: &mut Vec<TextIssue>) -> Option<Address> {
    let mut o = Obj::new(v)?;
    let mut a = Address {
        ifindex,
        family: o.str("family")?,
        local: o.str("local"),
        address: o.str("address"),
        prefixlen: o.num("prefixlen")?,
        metric: o.num("metric"),
        broadcast: o.str("broadcast"),
        anycast: o.str("anycast"),
        scope: o.str("scope").unwrap_or_default(),
        label: o.str("label"),
        valid_life_time: o.num("valid_life_time"),
        preferred_life_time: o.num("preferred_life_time"),
        ..Address::default()
    };
    a.ip = a.local.as_deref().and_then(|l| l.parse::<IpAddr>().ok());
    for f in ADDR_FLAGS {
        if let Some(Value::Bool(b)) = o.m.remove(*f) {
            a.flags.insert((*f).to_string(), b);
        }
    }
    // IFA_PROTO (iproute2 6.0+): not in the model, as in the text parser.
    o.finish(line, &["protocol"], issues);
    Some(a)
}

fn family_of(a: &str) -> Option<u8> {
    match a.split('/').next()?.parse::<IpAddr>().ok()? {
        IpAddr::V4(_) => Some(AF_INET),
        IpAddr::V6(_) => Some(AF_INET6),
    }
}

fn routes(items: &[Value], line_of: &dyn Fn(usize) -> usize, command: Option<&str>) -> RoutesText {
    let asked = asked(command);
    let mut out = RoutesText::default();
    let mut any_table = false;
    for (i, item) in items.iter().enumerate() {
        let line = line_of(i);
        let Some(mut o) = Obj::read(item, line, &mut out.issues) else {
            continue;
        };
        let mut r = Route {
            kind: o.str("type"),
            dst: o.str("dst").unwrap_or_default(),
            from: o.str("from"),
            nhid: o.num("nhid"),
            tos: o.str("tos"),
            gateway: o.str("gateway"),
            dev: o.str("dev"),
            table: o.str("table"),
            protocol: o.str("protocol"),
            scope: o.str("scope"),
            prefsrc: o.str("prefsrc"),
            metric: o.num("metric"),
            flags: o.strings("flags"),
            mark: o.num("mark"),
            iif: o.str("iif"),
            pref: o.str("pref"),
            ..Route::default()
        };
        if let Some(v) = o.m.remove("via") {
            let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
            match (get("family"), get("host")) {
                (Some(family), Some(host)) => r.via = Some(Via { family, host }),
                _ => o.bad = true,
            }
        }
        if let Some(Value::Array(nhs)) = o.m.remove("nexthops") {
            let mut list = Vec::new();
            for nh in &nhs {
                let Some(mut n) = Obj::new(nh) else {
                    o.bad = true;
                    continue;
                };
                list.push(NextHop {
                    gateway: n.str("gateway"),
                    dev: n.str("dev"),
                    weight: n.num("weight").unwrap_or(0),
                    flags: n.strings("flags"),
                });
                n.finish(line, &[], &mut out.issues);
            }
            r.nexthops = Some(list);
        }
        r.type_id = match &r.kind {
            Some(k) => type_id(k).unwrap_or(0),
            None => 1,
        };
        r.family = asked
            .family
            .or_else(|| family_of(&r.dst))
            .or_else(|| r.gateway.as_deref().and_then(family_of))
            .or_else(|| r.prefsrc.as_deref().and_then(family_of))
            .or_else(|| r.pref.as_ref().map(|_| AF_INET6))
            .unwrap_or(0);
        match &r.table {
            Some(name) => {
                any_table = true;
                match table_id(name) {
                    Some(id) => r.table_id = id,
                    None => out.issues.push(TextIssue::TableNameUnknown {
                        line,
                        name: name.clone(),
                    }),
                }
            }
            None => {
                r.table_id = match asked.table {
                    Some(Some(Some(id))) => id,
                    Some(Some(None)) => 0,
                    _ => 254,
                }
            }
        }
        // Route metrics (`mtu`, `advmss`...), `expires`, `cache`: skipped by the text parser too.
        o.finish(
            line,
            &["metrics", "expires", "cache", "error", "encap"],
            &mut out.issues,
        );
        out.routes.push(Parsed { value: r, line });
    }
    out.tables_stated = asked.table.is_some() || any_table;
    if !out.tables_stated && !out.routes.is_empty() {
        out.issues.push(TextIssue::RouteTablesNotStated {
            first: line_of(0),
            last: line_of(items.len().saturating_sub(1)),
        });
    }
    out
}

fn hex(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

fn rules(items: &[Value], line_of: &dyn Fn(usize) -> usize, family: Option<u8>) -> RulesText {
    let mut out = RulesText::default();
    for (i, item) in items.iter().enumerate() {
        let line = line_of(i);
        let Some(mut o) = Obj::read(item, line, &mut out.issues) else {
            continue;
        };
        let mut r = Rule {
            priority: o.num("priority").unwrap_or(0),
            not: o.flag("not"),
            src: o.str("src").unwrap_or_default(),
            srclen: o.num("srclen"),
            dst: o.str("dst"),
            dstlen: o.num("dstlen"),
            tos: o.str("tos"),
            fwmark: o.str("fwmark"),
            fwmask: o.str("fwmask"),
            iif: o.str("iif"),
            oif: o.str("oif"),
            l3mdev: o.flag("l3mdev"),
            uid_start: o.num("uid_start"),
            uid_end: o.num("uid_end"),
            tun_id: o.num("tun_id"),
            table: o.str("table"),
            suppress_prefixlen: o.num("suppress_prefixlen"),
            suppress_ifgroup: o.str("suppress_ifgroup"),
            goto: o.num("goto"),
            nop: o.flag("nop"),
            action: o.str("action"),
            protocol: o.str("protocol"),
            ..Rule::default()
        };
        if let Some(t) = &r.table {
            match table_id(t) {
                Some(id) => r.table_id = id,
                None => out.issues.push(TextIssue::TableNameUnknown {
                    line,
                    name: t.clone(),
                }),
            }
        }
        if let Some(mark) = r.fwmark.as_deref().and_then(hex) {
            let mask = match r.fwmask.as_deref() {
                Some(m) => hex(m),
                None => Some(u32::MAX),
            };
            r.fwmark_value = mask.map(|m| (mark, m));
        }
        r.family = family
            .or_else(|| family_of(&r.src))
            .or_else(|| r.dst.as_deref().and_then(family_of))
            .unwrap_or(0);
        // Selectors the text parser skips too.
        o.finish(
            line,
            &[
                "iif_detached",
                "oif_detached",
                "ipproto",
                "sport",
                "dport",
                "sport_start",
                "sport_end",
                "dport_start",
                "dport_end",
                "realms",
                "flowto",
            ],
            &mut out.issues,
        );
        out.rules.push(Parsed { value: r, line });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::decode::text::{decode_piece, Piece, TextContent};

    fn piece(body: &str) -> crate::decode::text::TextPiece {
        decode_piece(
            Piece {
                command: Some("ip -j route".into()),
                command_line: Some(1),
                first_line: 2,
                last_line: 1 + body.lines().count(),
                body: body.into(),
            },
            false,
        )
    }

    #[test]
    fn unknown_keys_and_cuts_are_reported() {
        let p = piece("[{\"dst\":\"default\",\"gateway\":\"10.0.0.1\",\"shiny\":1,\"flags\":[]}]");
        let TextContent::Routes(t) = &p.content else {
            panic!("{:?}", p.content)
        };
        assert_eq!(t.routes[0].value.gateway.as_deref(), Some("10.0.0.1"));
        assert_eq!(t.routes[0].value.family, 2);
        assert!(t.issues.contains(&TextIssue::UnknownKey {
            line: 2,
            what: WHAT,
            key: "shiny".into()
        }));
        let p = piece("[{\"dst\":\"default\",\n\"gatew");
        assert!(matches!(p.content, TextContent::Text { .. }));
        assert_eq!(
            p.issues,
            vec![TextIssue::CutMidTable {
                line: 3,
                what: WHAT
            }]
        );
    }

    #[test]
    fn element_lines_of_pretty_json() {
        let s = "[ {\n \"a\": \"[,{\\\"\"\n}, {\n\"b\": [1, 2]\n} ]";
        let offs = element_offsets(s);
        let lines: Vec<usize> = offs
            .iter()
            .map(|&o| 1 + s[..o].matches('\n').count())
            .collect();
        assert_eq!(lines, vec![1, 3]);
    }
}
