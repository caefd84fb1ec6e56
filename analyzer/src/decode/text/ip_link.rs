//! `ip link`, `ip -d link`, `ip -s link` and `ip addr` text into the [`Link`] and [`Address`]
//! values the rtnetlink decoder builds (whose JSON form is `ip -j`'s).
//!
//! The shapes are iproute2's (`ip/ipaddress.c`: `print_linkinfo` for the `N: name@peer: <FLAGS>
//! mtu ...` header and the `link/TYPE` line, `print_addrinfo` for `inet`/`inet6` lines and
//! `valid_lft`; `lib/utils.c` `print_name_and_link` for `@peer`; `ip/iplink_vxlan.c`,
//! `ip/iplink_bridge.c`, `ip/link_iptnl.c` for the `-d` kind lines), checked against iproute2
//! 6.1's text and `ip -j` output of the same namespace (`tests/data/pasted/iproute2-6.1/`).
//! Older iproute2 (5.10) prints the same lines, without `allmulti` and the `tso_`/`gro_` sizes.
//!
//! What the text does not carry stays `None`: the master's and a foreign peer's index, the
//! peer's netns id when iproute2 printed the netns name (`link-netns NAME`), counters of `-s`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::issue::TextIssue;
use super::recognize::is_ip_link_header;
use super::{Parsed, Source};
use crate::decode::rtnl::{Address, Link, LinkInfoJson};

/// Links and their addresses read from `ip link` / `ip addr` text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinksText {
    pub links: Vec<Parsed<Link>>,
    /// What the model has no field for, parallel to `links`.
    pub extras: Vec<LinkExtra>,
    /// Addresses (with `ifindex` of their link), at their `inet`/`inet6` line.
    pub addresses: Vec<Parsed<Address>>,
    pub issues: Vec<TextIssue>,
    /// The text printed no interface index (`ifconfig`, `ip -br`): every `ifindex` of
    /// `links` and `addresses` is [`synthetic_ifindex`] of the link's name, which joins an
    /// address to its link by name and matches no kernel index.
    pub ifindex_synthetic: bool,
}

/// The index given to a link whose text shows no index: FNV-1a (32 bits) of its name with
/// the top bit set. The kernel's indexes are positive `int`s (`dev_new_index`,
/// net/core/dev.c), so this never equals one; the same name gets the same index in every
/// piece, so addresses of one paste join links of another by name.
pub fn synthetic_ifindex(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h | 0x8000_0000
}

/// Link facts of the text that [`Link`] has no field for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkExtra {
    /// `altname` lines (iproute2 5.5+).
    pub altnames: Vec<String>,
    /// `link-netns NAME`: the peer's network namespace by name (iproute2 prints the name
    /// instead of `link-netnsid N` when it can resolve it, so the id is then unknown).
    pub link_netns: Option<String>,
    /// `addrgenmode` of `-d`.
    pub addrgenmode: Option<String>,
}

const WHAT: &str = "ip link/addr output";

// linux/if.h IFF_* bits, to rebuild `ifi_flags` from the names iproute2 printed.
const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;
const FLAG_BITS: [(&str, u32); 18] = [
    ("UP", IFF_UP),
    ("BROADCAST", 0x2),
    ("DEBUG", 0x4),
    ("LOOPBACK", 0x8),
    ("POINTOPOINT", 0x10),
    ("NOTRAILERS", 0x20),
    ("NOARP", 0x80),
    ("PROMISC", 0x100),
    ("ALLMULTI", 0x200),
    ("MASTER", 0x400),
    ("SLAVE", 0x800),
    ("MULTICAST", 0x1000),
    ("PORTSEL", 0x2000),
    ("AUTOMEDIA", 0x4000),
    ("DYNAMIC", 0x8000),
    ("LOWER_UP", 0x10000),
    ("DORMANT", 0x20000),
    ("ECHO", 0x40000),
];

/// The keys `-d` prints after a link's kind data, for every link (`print_linkinfo`).
const GENERIC_DETAIL_KEYS: &[&str] = &[
    "addrgenmode",
    "numtxqueues",
    "numrxqueues",
    "gso_max_size",
    "gso_max_segs",
    "tso_max_size",
    "tso_max_segs",
    "gro_max_size",
    "gso_ipv4_max_size",
    "gro_ipv4_max_size",
    "parentbus",
    "parentdev",
];

/// Address flags `print_ifa_flags` prints as words.
pub(super) const ADDR_FLAGS: &[&str] = &[
    "secondary",
    "temporary",
    "nodad",
    "optimistic",
    "dadfailed",
    "home",
    "deprecated",
    "tentative",
    "mngtmpaddr",
    "noprefixroute",
    "autojoin",
    "stable-privacy",
    "dynamic",
];

/// Parses `ip link` / `ip -d link` / `ip -s link` / `ip addr` text.
pub fn parse(src: &Source<'_>) -> LinksText {
    let mut out = LinksText::default();
    // Set after a `RX:`/`TX:` title: its counters line follows.
    let mut counters_next = false;
    for (n, line) in src.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if is_ip_link_header(line) {
            counters_next = false;
            match parse_header(line) {
                Some(link) => {
                    out.links.push(Parsed {
                        value: link,
                        line: n,
                    });
                    out.extras.push(LinkExtra::default());
                }
                None => out.issues.push(src.bad(n, WHAT, "unreadable link header")),
            }
            continue;
        }
        let (Some(link), Some(extra)) = (out.links.last_mut(), out.extras.last_mut()) else {
            out.issues
                .push(src.bad(n, WHAT, "a detail line before any link header"));
            continue;
        };
        let t = line.trim_start();
        let first = t.split_whitespace().next().unwrap_or_default();
        if counters_next {
            counters_next = false;
            if t.split_whitespace()
                .all(|w| w.bytes().all(|b| b.is_ascii_digit()))
            {
                continue;
            }
        }
        let ok = match first {
            "RX:" | "TX:" => {
                counters_next = true;
                true
            }
            f if f.starts_with("link/") => parse_link_line(t, &mut link.value, extra),
            "inet" | "inet6" => match parse_address(t, &link.value) {
                Some(a) => {
                    out.addresses.push(Parsed { value: a, line: n });
                    true
                }
                None => false,
            },
            "valid_lft" => match out.addresses.last_mut() {
                Some(a) if a.value.ifindex == link.value.summary.ifindex => {
                    parse_lifetimes(t, &mut a.value)
                }
                _ => false,
            },
            "altname" => {
                extra
                    .altnames
                    .extend(t.split_whitespace().nth(1).map(String::from));
                true
            }
            "alias" => {
                link.value.ifalias = t.strip_prefix("alias ").map(String::from);
                true
            }
            // SR-IOV VF lines and `-s -s` error details are not part of the model.
            "vf" | "RX" | "TX" | "RX errors:" | "TX errors:" => true,
            _ if line.starts_with("    ") => parse_detail_line(t, &mut link.value, extra),
            _ => false,
        };
        if !ok {
            out.issues.push(src.bad(n, WHAT, "unreadable detail line"));
        }
    }
    out
}

/// `2: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master cni0 state UP
/// mode DEFAULT group default qlen 1000`.
fn parse_header(line: &str) -> Option<Link> {
    let (index, rest) = line.split_once(": ")?;
    let (name, rest) = rest.split_once(": <")?;
    let (flags, rest) = rest.split_once('>')?;
    let mut link = Link::default();
    let s = &mut link.summary;
    s.ifindex = index.parse().ok()?;
    // print_name_and_link: `name@peer`; `@NONE` when IFLA_LINK is 0.
    let (ifname, peer) = match name.split_once('@') {
        Some((a, b)) => (a, Some(b)),
        None => (name, None),
    };
    s.ifname = ifname.to_string();
    match peer {
        Some("NONE") => s.link = Some(None),
        Some(p) => s.link = Some(Some(p.to_string())),
        None => {}
    }
    s.flags = flags
        .split(',')
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect();
    s.raw_flags = raw_flags(&s.flags);
    let mut tok = rest.split_whitespace();
    while let Some(key) = tok.next() {
        let val = tok.next()?;
        match key {
            "mtu" => s.mtu = Some(val.parse().ok()?),
            "qdisc" => s.qdisc = Some(val.to_string()),
            "master" => s.master = Some(val.to_string()),
            "state" => s.operstate = Some(val.to_string()),
            "mode" => link.linkmode = Some(val.to_string()),
            "group" => s.group = Some(val.to_string()),
            "qlen" => s.txqlen = Some(val.parse().ok()?),
            // Unknown header keys of newer iproute2 come in pairs too; skip them.
            _ => {}
        }
    }
    Some(link)
}

/// `ifi_flags` rebuilt from the flag names iproute2 printed (text and `ip -j` alike).
pub(super) fn raw_flags(flags: &[String]) -> u32 {
    let mut raw = 0;
    for f in flags {
        if let Some((_, bit)) = FLAG_BITS.iter().find(|(name, _)| name == f) {
            raw |= bit;
        } else if let Ok(bits) = u32::from_str_radix(f, 16) {
            raw |= bits;
        }
    }
    // print_link_flags prints NO-CARRIER for an up link without IFF_RUNNING and never prints
    // RUNNING; the kernel (dev_get_flags) sets RUNNING only on a running (up) device.
    if raw & IFF_UP != 0 && !flags.iter().any(|f| f == "NO-CARRIER") {
        raw |= IFF_RUNNING;
    }
    raw
}

/// The flag names iproute2 prints for `ifi_flags` bits, in its order (`print_link_flags`,
/// ip/ipaddress.c): `NO-CARRIER` for an up link without RUNNING, never RUNNING itself, the
/// left-over bits in hex. For text that shows the bits but not iproute2's names (`ifconfig`).
pub(super) fn ip_flag_names(raw: u32) -> Vec<String> {
    const ORDER: [&str; 18] = [
        "LOOPBACK",
        "BROADCAST",
        "POINTOPOINT",
        "MULTICAST",
        "NOARP",
        "ALLMULTI",
        "PROMISC",
        "MASTER",
        "SLAVE",
        "DEBUG",
        "DYNAMIC",
        "AUTOMEDIA",
        "PORTSEL",
        "NOTRAILERS",
        "UP",
        "LOWER_UP",
        "DORMANT",
        "ECHO",
    ];
    let mut out = Vec::new();
    if raw & IFF_UP != 0 && raw & IFF_RUNNING == 0 {
        out.push("NO-CARRIER".to_string());
    }
    let mut left = raw & !IFF_RUNNING;
    for name in ORDER {
        if let Some((_, bit)) = FLAG_BITS.iter().find(|(n, _)| *n == name) {
            if left & bit != 0 {
                left &= !bit;
                out.push(name.to_string());
            }
        }
    }
    if left != 0 {
        out.push(format!("{left:x}"));
    }
    out
}

/// The `IFF_*` bit of a flag name as net-tools and iproute2 print it (RUNNING included).
pub(super) fn flag_bit(name: &str) -> Option<u32> {
    if name == "RUNNING" {
        return Some(IFF_RUNNING);
    }
    FLAG_BITS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// `link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff [permaddr X] [link-netnsid N |
/// link-netns NAME] [promiscuity N allmulti N minmtu N maxmtu N]`; `link/none`;
/// `link/ipip 192.168.1.1 peer 0.0.0.0`.
fn parse_link_line(t: &str, link: &mut Link, extra: &mut LinkExtra) -> bool {
    let mut tok = t.split_whitespace().peekable();
    let Some(kind) = tok.next().and_then(|k| k.strip_prefix("link/")) else {
        return false;
    };
    let s = &mut link.summary;
    s.link_type = kind.to_string();
    if let Some(a) = tok.peek().filter(|a| !is_link_line_key(a)) {
        s.address = Some(a.to_string());
        tok.next();
    }
    while let Some(key) = tok.next() {
        // A link without a kind (lo, a physical NIC) gets `-d`'s generic keys on this line.
        if GENERIC_DETAIL_KEYS.contains(&key) {
            let rest: Vec<&str> = std::iter::once(key).chain(tok.by_ref()).collect();
            return parse_detail_line(&rest.join(" "), link, extra);
        }
        let Some(val) = tok.next() else { return false };
        let num = || val.parse::<u32>().ok();
        match key {
            "brd" => s.broadcast = Some(val.to_string()),
            "peer" => {
                s.broadcast = Some(val.to_string());
                s.link_pointtopoint = Some(true);
            }
            "permaddr" => s.permaddr = Some(val.to_string()),
            "link-netnsid" => s.link_netnsid = val.parse().ok(),
            "link-netns" => extra.link_netns = Some(val.to_string()),
            "promiscuity" => link.promiscuity = num(),
            "allmulti" => link.allmulti = num(),
            "minmtu" => link.min_mtu = num(),
            "maxmtu" => link.max_mtu = num(),
            _ => return false,
        }
    }
    let s = &mut link.summary;
    // A peer in another namespace is known by index only (`eth0@if5` with a netns).
    if s.link_netnsid.is_some() || extra.link_netns.is_some() {
        if let Some(Some(peer)) = &s.link {
            if let Some(i) = peer.strip_prefix("if").and_then(|i| i.parse().ok()) {
                s.link_index = Some(i);
                s.link = None;
            }
        }
    }
    true
}

fn is_link_line_key(w: &str) -> bool {
    matches!(
        w,
        "brd"
            | "peer"
            | "permaddr"
            | "link-netnsid"
            | "link-netns"
            | "promiscuity"
            | "allmulti"
            | "minmtu"
            | "maxmtu"
    )
}

/// A `-d` line: `vxlan id 4096 ... addrgenmode eui64 numtxqueues 1 ...`, `bridge ...`,
/// `veth`, `bridge_slave state forwarding ...`, or only the generic keys.
fn parse_detail_line(t: &str, link: &mut Link, extra: &mut LinkExtra) -> bool {
    let words: Vec<&str> = t.split_whitespace().collect();
    let Some(first) = words.first() else {
        return true;
    };
    let generic_at = words
        .iter()
        .position(|w| GENERIC_DETAIL_KEYS.contains(w))
        .unwrap_or(words.len());
    let (kind_part, generic) = words.split_at(generic_at);
    if !kind_part.is_empty() {
        let info = link.linkinfo.get_or_insert_with(LinkInfoJson::default);
        if let Some(slave) = first.strip_suffix("_slave") {
            info.info_slave_kind = Some(slave.to_string());
        } else {
            info.info_kind = Some(first.to_string());
            let data = match *first {
                "vxlan" => Some(vxlan_data(&kind_part[1..])),
                "bridge" => Some(bridge_data(&kind_part[1..])),
                "ipip" | "sit" => Some(iptunnel_data(&kind_part[1..])),
                _ => None,
            };
            if let Some(d) = data.filter(|d| !d.is_empty()) {
                info.info_data = Some(d);
            }
        }
    }
    let mut tok = generic.iter();
    while let Some(key) = tok.next() {
        let Some(val) = tok.next() else { return false };
        let num = || val.parse::<u32>().ok();
        match *key {
            "addrgenmode" => extra.addrgenmode = Some(val.to_string()),
            "numtxqueues" => link.num_tx_queues = num(),
            "numrxqueues" => link.num_rx_queues = num(),
            "gso_max_size" => link.gso_max_size = num(),
            "gso_max_segs" => link.gso_max_segs = num(),
            "tso_max_size" => link.tso_max_size = num(),
            "tso_max_segs" => link.tso_max_segs = num(),
            "gro_max_size" => link.gro_max_size = num(),
            _ => {}
        }
    }
    true
}

fn put(m: &mut Map<String, Value>, key: &str, v: impl Into<Value>) {
    m.insert(key.to_string(), v.into());
}

/// `vxlan_print_opt` (ip/iplink_vxlan.c): `id N [remote|group A] [local A] [dev D] srcport L H
/// dstport P [nolearning] ttl auto|N ageing N [noudpcsum|udpcsum] [no]udp6zerocsumtx ...`.
/// Under the JSON names `ip -j` and the netlink decoder use.
fn vxlan_data(w: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    let mut learning = true;
    let mut i = 0;
    while i < w.len() {
        let next = w.get(i + 1).copied().unwrap_or_default();
        let num = next.parse::<u64>().ok();
        match w[i] {
            "id" => {
                if let Some(v) = num {
                    put(&mut m, "id", v);
                }
                i += 1;
            }
            k @ ("remote" | "group" | "local" | "remote6" | "group6" | "local6") => {
                let key = match (k, next.contains(':')) {
                    ("remote", true) => "remote6",
                    ("group", true) => "group6",
                    ("local", true) => "local6",
                    _ => k,
                };
                put(&mut m, key, next);
                i += 1;
            }
            "dev" => {
                put(&mut m, "link", next);
                i += 1;
            }
            "srcport" => {
                let high = w.get(i + 2).and_then(|h| h.parse::<u64>().ok());
                if let (Some(low), Some(high)) = (num, high) {
                    let mut r = Map::new();
                    put(&mut r, "low", low);
                    put(&mut r, "high", high);
                    m.insert("port_range".into(), Value::Object(r));
                }
                i += 2;
            }
            "dstport" => {
                if let Some(v) = num {
                    put(&mut m, "port", v);
                }
                i += 1;
            }
            "nolearning" => learning = false,
            // "ttl auto" is a TTL attribute of 0; "ttl inherit" is IFLA_VXLAN_TTL_INHERIT,
            // which ip -j does not print as a number either.
            "ttl" => {
                match (next, num) {
                    ("auto", _) => put(&mut m, "ttl", 0),
                    (_, Some(v)) => put(&mut m, "ttl", v),
                    _ => {}
                }
                i += 1;
            }
            // vxlan_print_opt prints `df set|inherit` in text but not the default `unset`,
            // which ip -j and the netlink decoder show.
            "df" => {
                put(&mut m, "df", next);
                i += 1;
            }
            "ageing" => {
                if let Some(v) = num {
                    put(&mut m, "ageing", v);
                }
                i += 1;
            }
            "udpcsum" => put(&mut m, "udp_csum", true),
            "noudpcsum" => put(&mut m, "udp_csum", false),
            "udp6zerocsumtx" => put(&mut m, "udp_zero_csum6_tx", true),
            "noudp6zerocsumtx" => put(&mut m, "udp_zero_csum6_tx", false),
            "udp6zerocsumrx" => put(&mut m, "udp_zero_csum6_rx", true),
            "noudp6zerocsumrx" => put(&mut m, "udp_zero_csum6_rx", false),
            "external" => put(&mut m, "external", true),
            "proxy" => put(&mut m, "proxy", true),
            "l2miss" => put(&mut m, "l2miss", true),
            "l3miss" => put(&mut m, "l3miss", true),
            _ => {}
        }
        i += 1;
    }
    put(&mut m, "learning", learning);
    m
}

/// The subset of `bridge_print_opt` the netlink decoder keeps: numbers under the same names.
fn bridge_data(w: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    for pair in w.windows(2) {
        if BRIDGE_KEYS.contains(&pair[0]) {
            if let Ok(v) = pair[1].parse::<u64>() {
                put(&mut m, pair[0], v);
            }
        }
    }
    m
}

/// The bridge options the netlink decoder keeps.
pub(super) const BRIDGE_KEYS: [&str; 11] = [
    "forward_delay",
    "hello_time",
    "max_age",
    "ageing_time",
    "stp_state",
    "priority",
    "vlan_filtering",
    "mcast_snooping",
    "nf_call_iptables",
    "nf_call_ip6tables",
    "nf_call_arptables",
];

/// `iptunnel_print_opt` (ip/link_iptnl.c): `ipip [ipip] remote A local A [dev D] ttl
/// inherit|N [nopmtudisc|pmtudisc]`. Not verified on a real capture here (no ipip module in
/// this sandbox); the words are those of iproute2 6.1's source.
fn iptunnel_data(w: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    let mut i = 0;
    while i < w.len() {
        let next = w.get(i + 1).copied().unwrap_or_default();
        match w[i] {
            k @ ("remote" | "local") => {
                put(&mut m, k, next);
                i += 1;
            }
            "dev" => {
                put(&mut m, "link", next);
                i += 1;
            }
            "ttl" => {
                match next {
                    "inherit" => put(&mut m, "ttl", 0),
                    v => {
                        if let Ok(v) = v.parse::<u64>() {
                            put(&mut m, "ttl", v)
                        }
                    }
                }
                i += 1;
            }
            "pmtudisc" => put(&mut m, "pmtudisc", true),
            "nopmtudisc" => put(&mut m, "pmtudisc", false),
            _ => {}
        }
        i += 1;
    }
    m
}

/// `inet 192.168.56.11/24 brd 192.168.56.255 scope global secondary eth0:sec`,
/// `inet 10.1.1.1 peer 10.1.1.2/32 scope global tun0`, `inet6 fd00::1/64 scope global nodad`.
fn parse_address(t: &str, link: &Link) -> Option<Address> {
    let mut tok = t.split_whitespace();
    let family = tok.next()?;
    let local = tok.next()?;
    let (local_ip, local_len) = match local.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (local, None),
    };
    let ip: IpAddr = local_ip.parse().ok()?;
    let mut a = Address {
        ifindex: link.summary.ifindex,
        family: family.to_string(),
        local: Some(ip.to_string()),
        ip: Some(ip),
        prefixlen: local_len.unwrap_or(0),
        flags: BTreeMap::new(),
        ..Address::default()
    };
    let mut prefix_seen = local_len.is_some();
    let ifname = link.summary.ifname.as_str();
    while let Some(w) = tok.next() {
        match w {
            "peer" => {
                let p = tok.next()?;
                let (addr, len) = p.split_once('/').unwrap_or((p, ""));
                a.address = Some(addr.to_string());
                if let Ok(l) = len.parse() {
                    a.prefixlen = l;
                    prefix_seen = true;
                }
            }
            "brd" => a.broadcast = Some(tok.next()?.to_string()),
            "any" => a.anycast = Some(tok.next()?.to_string()),
            "scope" => a.scope = tok.next()?.to_string(),
            "metric" => a.metric = Some(tok.next()?.parse().ok()?),
            // IFA_PROTO (iproute2 6.0+): not in the model.
            "proto" => {
                tok.next()?;
            }
            f if ADDR_FLAGS.contains(&f) => {
                a.flags.insert(f.to_string(), true);
            }
            // The label: the link's name, or `name:suffix` (the kernel requires the prefix).
            l if l == ifname || l.strip_prefix(ifname).is_some_and(|r| r.starts_with(':')) => {
                a.label = Some(l.to_string())
            }
            _ => return None,
        }
    }
    prefix_seen.then_some(a)
}

/// `valid_lft forever preferred_lft 3600sec`; `forever` is the kernel's INFINITY_LIFE_TIME.
fn parse_lifetimes(t: &str, a: &mut Address) -> bool {
    let life = |v: &str| -> Option<u32> {
        if v == "forever" {
            Some(u32::MAX)
        } else {
            v.strip_suffix("sec")?.parse().ok()
        }
    };
    let mut tok = t.split_whitespace();
    while let Some(key) = tok.next() {
        let Some(v) = tok.next().and_then(life) else {
            return false;
        };
        match key {
            "valid_lft" => a.valid_life_time = Some(v),
            "preferred_lft" => a.preferred_life_time = Some(v),
            _ => return false,
        }
    }
    true
}
