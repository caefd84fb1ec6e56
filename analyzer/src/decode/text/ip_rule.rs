//! `ip rule` / `ip -6 rule` text into the [`Rule`] values the rtnetlink decoder builds.
//!
//! The shape is iproute2's `print_rule` (ip/iprule.c): `PRIO:\t[not ]from SRC [to DST] [tos T]
//! [fwmark M[/MASK]] [iif I [[detached]]] [oif O] [l3mdev] [uidrange A-B] [tun_id N] [lookup
//! TABLE [suppress_prefixlength N] [suppress_ifgroup G]] [goto N | nop | ACTION] [proto P]`.
//! The family is known from an address or the command line: `-6`, else AF_INET (iprule.c lists
//! IPv4 rules when no family is asked for); without a command line `from all` alone leaves it 0
//! (AF_UNSPEC).

use super::ip_route::table_id;
use super::issue::TextIssue;
use super::{Parsed, Source};
use crate::decode::rtnl::Rule;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RulesText {
    pub rules: Vec<Parsed<Rule>>,
    pub issues: Vec<TextIssue>,
}

const WHAT: &str = "ip rule output";

/// Parses `ip rule` text.
pub fn parse(src: &Source<'_>) -> RulesText {
    let family = src.command().map(|c| {
        let w: Vec<&str> = c.split_whitespace().collect();
        if w.contains(&"-6") {
            10
        } else {
            // iprule.c lists AF_INET when no family is asked for.
            2
        }
    });
    let mut out = RulesText::default();
    for (n, line) in src.lines() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_rule(line, family) {
            Some((r, unknown_table)) => {
                if let Some(name) = unknown_table {
                    out.issues
                        .push(TextIssue::TableNameUnknown { line: n, name });
                }
                out.rules.push(Parsed { value: r, line: n });
            }
            None => out.issues.push(src.bad(n, WHAT, "unreadable rule")),
        }
    }
    out
}

fn addr_len(v: &str, rule_family: &mut u8) -> (String, Option<u8>) {
    let (a, len) = match v.split_once('/') {
        Some((a, l)) => (a, l.parse().ok()),
        None => (v, None),
    };
    match a.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => *rule_family = 2,
        Ok(std::net::IpAddr::V6(_)) => *rule_family = 10,
        Err(_) => {}
    }
    (a.to_string(), len)
}

fn parse_rule(line: &str, family: Option<u8>) -> Option<(Rule, Option<String>)> {
    let (prio, rest) = line.split_once(':')?;
    let mut r = Rule {
        priority: prio.trim().parse().ok()?,
        family: family.unwrap_or(0),
        ..Rule::default()
    };
    let mut tok = rest.split_whitespace().peekable();
    let mut unknown_table = None;
    let mut fam = r.family;
    if tok.peek() == Some(&"not") {
        tok.next();
        r.not = Some(());
    }
    while let Some(key) = tok.next() {
        let mut val = || tok.next();
        match key {
            "from" => {
                let v = val()?;
                if v == "all" {
                    r.src = "all".into();
                } else {
                    let (a, len) = addr_len(v, &mut fam);
                    r.src = a;
                    r.srclen = len;
                }
            }
            "to" => {
                let (a, len) = addr_len(val()?, &mut fam);
                r.dst = Some(a);
                r.dstlen = len;
            }
            "tos" | "dsfield" => r.tos = Some(val()?.to_string()),
            "fwmark" => {
                let v = val()?;
                let (mark, mask) = v.split_once('/').unwrap_or((v, ""));
                let hex = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).ok();
                r.fwmark = Some(mark.to_string());
                if !mask.is_empty() {
                    r.fwmask = Some(mask.to_string());
                }
                r.fwmark_value = Some((
                    hex(mark)?,
                    if mask.is_empty() {
                        u32::MAX
                    } else {
                        hex(mask)?
                    },
                ));
            }
            "iif" => r.iif = Some(val()?.to_string()),
            "oif" => r.oif = Some(val()?.to_string()),
            // `[detached]` after iif/oif: the interface is down or absent; not in the model.
            "[detached]" => {}
            "l3mdev" => r.l3mdev = Some(()),
            "uidrange" => {
                let (a, b) = val()?.split_once('-')?;
                r.uid_start = Some(a.parse().ok()?);
                r.uid_end = Some(b.parse().ok()?);
            }
            "tun_id" => r.tun_id = Some(val()?.parse().ok()?),
            "lookup" | "table" => {
                let t = val()?;
                match table_id(t) {
                    Some(id) => r.table_id = id,
                    None => unknown_table = Some(t.to_string()),
                }
                r.table = Some(t.to_string());
            }
            "suppress_prefixlength" => r.suppress_prefixlen = Some(val()?.parse().ok()?),
            "suppress_ifgroup" => r.suppress_ifgroup = Some(val()?.to_string()),
            "goto" => r.goto = Some(val()?.parse().ok()?),
            "nop" => r.nop = Some(()),
            "proto" | "protocol" => r.protocol = Some(val()?.to_string()),
            a @ ("unreachable" | "blackhole" | "prohibit" | "throw") => {
                r.action = Some(a.to_string())
            }
            // `ipproto`, `sport`, `dport`, `realms`: not in the model; skip the value.
            "ipproto" | "sport" | "dport" | "realms" => {
                val()?;
            }
            _ => return None,
        }
    }
    if r.src.is_empty() {
        return None;
    }
    r.family = fam;
    Some((r, unknown_table))
}
