//! `ifconfig` / `ifconfig -a` text (net-tools) into the [`Link`] and [`Address`] values of
//! `ip addr` ([`LinksText`]).
//!
//! Two layouts, both from net-tools' `ife_print_long` (lib/interface.c):
//! - net-tools 2.x: `eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500`, then
//!   `inet A  netmask M  broadcast B  [destination D]`, `inet6 A  prefixlen P  scopeid
//!   0x20<link>`, `ether MAC  txqueuelen N  (Ethernet)` and the RX/TX counter lines. Checked
//!   against net-tools 2.10's output and `ip -j -d addr` of the same namespace
//!   (`tests/data/pasted/ifconfig/`).
//! - net-tools 1.60: `eth0      Link encap:Ethernet  HWaddr MAC` (the name `%-9.9s`: cut at 9
//!   characters), `inet addr:A  Bcast:B  Mask:M`, `inet6 addr: A/P Scope:Link`, `UP BROADCAST
//!   RUNNING MULTICAST  MTU:1500  Metric:1`, counters with `txqueuelen:N`. Read from the
//!   source of net-tools 1.60 (no binary of it here); tested on hand-written text.
//!
//! What ifconfig does not show, and how it is represented:
//! - No interface index: links get [`synthetic_ifindex`] of their name
//!   ([`LinksText::ifindex_synthetic`]), so addresses still join their link by name.
//! - One IPv4 address per interface or label (`SIOCGIFADDR`): secondary addresses without a
//!   label of their own are missing ([`TextIssue::IfconfigPrimaryOnly`]). A label
//!   (`eth0:sec`) is printed as an interface block of its own; its address is joined to the
//!   link before the `:`, with the label as `label`, and the block is no link.
//! - Flags are `SIOCGIFFLAGS`' 16 bits: `LOWER_UP`, `DORMANT` and `ECHO` (bits 16-18) and
//!   iproute2's `M-DOWN` are unknown, never guessed. The names are rebuilt as iproute2 prints
//!   them (`ip_flag_names`): RUNNING is not printed, `NO-CARRIER` is an up link without it.
//!   2.x prints the bits as a number, which is read (the names may be translated).
//! - `broadcast 0.0.0.0`: `SIOCGIFBRDADDR` answers 0 for an address without a broadcast
//!   (net-tools prints it for every link with IFF_BROADCAST), so it is read as none.
//! - The peer of a point-to-point address only with IFF_POINTOPOINT (`destination`/`P-t-P:`);
//!   IPv4 scopes, address flags (`secondary`, `nodad`, ...) and lifetimes are not printed
//!   (IPv4 `scope` stays empty); the link's MAC only for Ethernet (other types print it in
//!   net-tools' own form), its link type only for the hardware types iproute2 names alike.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ip_link::{flag_bit, ip_flag_names, synthetic_ifindex, LinkExtra, LinksText};
use super::issue::TextIssue;
use super::{Parsed, Source};
use crate::decode::rtnl::{Address, Link};

const WHAT: &str = "ifconfig output";

/// One interface block as printed.
struct Block {
    line: usize,
    name: String,
    link: Link,
    addrs: Vec<Parsed<Address>>,
    /// The net-tools 1.60 layout.
    old: bool,
}

/// Parses `ifconfig` / `ifconfig -a` text.
pub fn parse(src: &Source<'_>) -> LinksText {
    let mut blocks: Vec<Block> = Vec::new();
    let mut issues = Vec::new();
    let (mut first, mut last) = (0, 0);
    let mut any_inet = false;
    for (n, line) in src.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if first == 0 {
            first = n;
        }
        last = n;
        if !line.starts_with([' ', '\t']) {
            if line.starts_with("Iface ") {
                issues.push(src.bad(n, WHAT, "the table of ifconfig -s is not read"));
                break;
            }
            match header(line, n) {
                Some(b) => {
                    if b.old && b.name.len() == 9 {
                        issues.push(TextIssue::NameMayBeCut {
                            line: n,
                            name: b.name.clone(),
                        });
                    }
                    blocks.push(b);
                }
                None => issues.push(src.bad(n, WHAT, "unreadable interface header")),
            }
            continue;
        }
        let Some(b) = blocks.last_mut() else {
            issues.push(src.bad(n, WHAT, "a detail line before any interface header"));
            continue;
        };
        let t = line.trim();
        let ok = if b.old {
            old_detail(t, n, b)
        } else {
            new_detail(t, n, b)
        };
        if ok && t.starts_with("inet ") {
            any_inet = true;
        }
        if !ok {
            issues.push(src.bad(n, WHAT, "unreadable detail line"));
        }
    }
    let mut out = assemble(blocks);
    out.issues.splice(0..0, issues);
    if any_inet {
        out.issues
            .push(TextIssue::IfconfigPrimaryOnly { first, last });
    }
    out
}

/// Links in print order (a label block is no link, unless its link has no block of its own:
/// the label's flags, MTU and MAC are its link's, as `dev_ioctl` drops the `:label`), and
/// addresses joined to their link by name.
fn assemble(blocks: Vec<Block>) -> LinksText {
    let mut out = LinksText {
        ifindex_synthetic: true,
        ..LinksText::default()
    };
    let own: Vec<String> = blocks
        .iter()
        .filter(|b| !b.name.contains(':'))
        .map(|b| b.name.clone())
        .collect();
    for b in blocks {
        let base = b.name.split(':').next().unwrap_or_default().to_string();
        let index = synthetic_ifindex(&base);
        let is_label = base.len() != b.name.len();
        let seen = out.links.iter().any(|l| l.value.summary.ifname == base);
        if !is_label || (!own.contains(&base) && !seen) {
            let mut link = b.link;
            link.summary.ifname = base;
            link.summary.ifindex = index;
            out.links.push(Parsed {
                value: link,
                line: b.line,
            });
            out.extras.push(LinkExtra::default());
        }
        for mut a in b.addrs {
            a.value.ifindex = index;
            out.addresses.push(a);
        }
    }
    let mut names: Vec<(u32, &str, usize)> = out
        .links
        .iter()
        .map(|l| (l.value.summary.ifindex, l.value.ifname(), l.line))
        .collect();
    names.sort_unstable();
    for w in names.windows(2) {
        if w[0].0 == w[1].0 && w[0].1 != w[1].1 {
            out.issues.push(TextIssue::Unreadable {
                line: w[1].2,
                what: WHAT,
                reason: "two names share one synthetic index; their addresses cannot be told apart",
            });
        }
    }
    out
}

/// `eth0: flags=4163<UP,...>  mtu 1500` (2.x) or `eth0      Link encap:Ethernet  HWaddr MAC`
/// (1.60).
fn header(line: &str, n: usize) -> Option<Block> {
    let valid = |name: &str| !name.is_empty() && !name.contains(char::is_whitespace);
    let mut link = Link::default();
    if let Some((name, rest)) = line.split_once(": flags=") {
        if !valid(name) {
            return None;
        }
        // `flags=%d<` of a `short` (net-tools' struct interface): IFF_DYNAMIC (0x8000)
        // prints negative. Zero flags print `flags=0<` with no `>`.
        let (num, rest) = rest.split_once('<')?;
        let num: i32 = num.parse().ok()?;
        let raw = match i16::try_from(num) {
            Ok(v) if v < 0 => u32::from(v as u16),
            _ => u32::from(u16::try_from(num).ok()?),
        };
        let rest = match rest.split_once('>') {
            Some((_, r)) => r,
            None if raw == 0 => rest,
            None => return None,
        };
        set_flags(&mut link, raw);
        let mut tok = rest.split_whitespace();
        while let Some(key) = tok.next() {
            let val = tok.next()?;
            match key {
                "mtu" => link.summary.mtu = Some(val.parse().ok()?),
                // SIOCSKEEPALIVE (SLIP only).
                "outfill" | "keepalive" => {}
                _ => return None,
            }
        }
        return Some(Block {
            line: n,
            name: name.to_string(),
            link,
            addrs: Vec::new(),
            old: false,
        });
    }
    let (name, rest) = line.split_once(" Link encap:")?;
    let name = name.trim_end();
    if !valid(name) {
        return None;
    }
    let (title, hw) = match rest.split_once("  HWaddr ") {
        Some((t, h)) => (t, h.split_whitespace().next()),
        // `Media:` follows the title or the address (IFF_PORTSEL).
        None => (rest.split("  Media:").next().unwrap_or_default(), None),
    };
    let title = title.trim();
    link.summary.link_type = link_type_of_title(title).to_string();
    if title == "Ethernet" {
        link.summary.address = hw.map(str::to_lowercase);
    }
    Some(Block {
        line: n,
        name: name.to_string(),
        link,
        addrs: Vec::new(),
        old: true,
    })
}

fn set_flags(link: &mut Link, raw: u32) {
    link.summary.raw_flags = raw;
    link.summary.flags = ip_flag_names(raw);
}

/// iproute2's link type names (lib/ll_types.c) of net-tools' hardware titles (lib/hw.c
/// `hwinit`), where both name the same ARPHRD type; "" for the others (net-tools' `UNSPEC`
/// stands for every type it has no name for).
fn link_type_of_title(title: &str) -> &'static str {
    match title {
        "Ethernet" => "ether",
        "Local Loopback" => "loopback",
        "IPIP Tunnel" => "ipip",
        "IPv6-in-IPv4" => "sit",
        "Point-to-Point Protocol" => "ppp",
        "InfiniBand" => "infiniband",
        _ => "",
    }
}

/// A detail line of the 2.x layout.
fn new_detail(t: &str, n: usize, b: &mut Block) -> bool {
    let w: Vec<&str> = t.split_whitespace().collect();
    match w.as_slice() {
        ["inet", local, rest @ ..] => {
            let mut mask = None;
            let mut brd = None;
            let mut dst = None;
            for pair in rest.chunks(2) {
                match pair {
                    ["netmask", m] => mask = Some(*m),
                    ["broadcast", x] => brd = Some(*x),
                    ["destination", x] => dst = Some(*x),
                    _ => return false,
                }
            }
            push_v4(b, n, local, mask, brd, dst)
        }
        ["inet6", local, "prefixlen", len, "scopeid", scope] => {
            // `scopeid 0x%x` of /proc/net/if_inet6's IPV6_ADDR_* scope bits, then the names.
            let bits = scope
                .split('<')
                .next()
                .and_then(|s| s.strip_prefix("0x"))
                .and_then(|s| u32::from_str_radix(s, 16).ok());
            let Some(bits) = bits else { return false };
            push_v6(b, n, local, len, scope_of_bits(bits))
        }
        ["RX" | "TX", "packets" | "errors" | "compressed", ..] => true,
        // `device interrupt N  base 0x..  memory ..`, `media ...` (IFF_PORTSEL).
        ["device" | "media", ..] => true,
        [hw, rest @ ..] if t.ends_with(')') && t.contains("  (") => {
            let mut rest = rest.iter();
            let mut addr = None;
            while let Some(x) = rest.next() {
                match *x {
                    "txqueuelen" => match rest.next().and_then(|q| q.parse().ok()) {
                        Some(q) => b.link.summary.txqlen = Some(q),
                        None => return false,
                    },
                    x if x.starts_with('(') => break,
                    x if addr.is_none() => addr = Some(x),
                    _ => return false,
                }
            }
            // net-tools' hardware names (lib/hw.c) are not translated; the title may be.
            b.link.summary.link_type = match *hw {
                "ether" => "ether",
                "loop" => "loopback",
                "tunnel" => "ipip",
                "sit" => "sit",
                "ppp" => "ppp",
                "infiniband" => "infiniband",
                _ => "",
            }
            .to_string();
            if *hw == "ether" {
                b.link.summary.address = addr.map(str::to_lowercase);
            }
            true
        }
        _ => false,
    }
}

/// A detail line of the 1.60 layout.
fn old_detail(t: &str, n: usize, b: &mut Block) -> bool {
    let w: Vec<&str> = t.split_whitespace().collect();
    match w.as_slice() {
        ["inet", rest @ ..] if t.starts_with("inet addr:") => {
            let mut local = None;
            let mut mask = None;
            let mut brd = None;
            let mut dst = None;
            for x in rest {
                match x.split_once(':') {
                    Some(("addr", v)) => local = Some(v),
                    Some(("Mask", v)) => mask = Some(v),
                    Some(("Bcast", v)) => brd = Some(v),
                    Some(("P-t-P", v)) => dst = Some(v),
                    _ => return false,
                }
            }
            match local {
                Some(local) => push_v4(b, n, local, mask, brd, dst),
                None => false,
            }
        }
        ["inet6", "addr:", cidr, scope] => {
            let Some((local, len)) = cidr.split_once('/') else {
                return false;
            };
            let scope = match scope.strip_prefix("Scope:") {
                Some("Global") => "global",
                Some("Link") => "link",
                Some("Site") => "site",
                Some("Host") => "host",
                // IPV6_ADDR_COMPATv4 alone: the kernel's rt_scope of it is global.
                Some("Compat") => "global",
                Some(_) => "",
                None => return false,
            };
            push_v6(b, n, local, len, scope)
        }
        ["RX" | "TX", x, ..] if x.starts_with("packets:") || x.starts_with("bytes:") => true,
        [x, ..] if x.starts_with("compressed:") => true,
        [x, ..] if x.starts_with("collisions:") => {
            for x in &w {
                if let Some(q) = x.strip_prefix("txqueuelen:") {
                    match q.parse() {
                        Ok(q) => b.link.summary.txqlen = Some(q),
                        Err(_) => return false,
                    }
                }
            }
            true
        }
        [x, ..]
            if ["Interrupt:", "Memory:", "Base", "DMA"]
                .iter()
                .any(|p| x.starts_with(p)) =>
        {
            true
        }
        [first, ..] if *first == "[NO" || flag_bit(first).is_some() => old_flags(&w, b),
        _ => false,
    }
}

/// `UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1` (`[NO FLAGS]` for none).
fn old_flags(w: &[&str], b: &mut Block) -> bool {
    let mut raw = 0;
    for x in w {
        if let Some(m) = x.strip_prefix("MTU:") {
            match m.parse() {
                Ok(m) => b.link.summary.mtu = Some(m),
                Err(_) => return false,
            }
        } else if x.starts_with("Metric:")
            || x.starts_with("Outfill:")
            || x.starts_with("Keepalive:")
            || *x == "[NO"
            || *x == "FLAGS]"
        {
        } else if let Some(bit) = flag_bit(x) {
            raw |= bit;
        } else {
            return false;
        }
    }
    set_flags(&mut b.link, raw);
    true
}

fn push_v4(
    b: &mut Block,
    n: usize,
    local: &str,
    mask: Option<&str>,
    brd: Option<&str>,
    dst: Option<&str>,
) -> bool {
    let (Ok(ip), Some(Ok(mask))) = (local.parse::<Ipv4Addr>(), mask.map(str::parse::<Ipv4Addr>))
    else {
        return false;
    };
    let m = u32::from(mask);
    if m.leading_ones() + m.trailing_zeros() != 32 {
        return false;
    }
    let v4 = |x: Option<&str>| -> Result<Option<String>, ()> {
        match x {
            None => Ok(None),
            Some(x) => {
                let a: Ipv4Addr = x.parse().map_err(|_| ())?;
                Ok((!a.is_unspecified()).then(|| a.to_string()))
            }
        }
    };
    let (Ok(broadcast), Ok(peer)) = (v4(brd), v4(dst)) else {
        return false;
    };
    b.addrs.push(Parsed {
        value: Address {
            family: "inet".into(),
            local: Some(ip.to_string()),
            address: peer.filter(|p| *p != ip.to_string()),
            prefixlen: m.leading_ones() as u8,
            broadcast,
            label: Some(b.name.clone()),
            ip: Some(IpAddr::V4(ip)),
            ..Address::default()
        },
        line: n,
    });
    true
}

fn push_v6(b: &mut Block, n: usize, local: &str, len: &str, scope: &str) -> bool {
    let (Ok(ip), Ok(len)) = (local.parse::<Ipv6Addr>(), len.parse::<u8>()) else {
        return false;
    };
    if len > 128 {
        return false;
    }
    b.addrs.push(Parsed {
        value: Address {
            family: "inet6".into(),
            local: Some(ip.to_string()),
            prefixlen: len,
            scope: scope.to_string(),
            ip: Some(IpAddr::V6(ip)),
            ..Address::default()
        },
        line: n,
    });
    true
}

/// The scope iproute2 prints for an IPv6 address of these IPV6_ADDR_* scope bits: the
/// kernel's `rt_scope` (net/ipv6/addrconf.c) maps loopback to host, link-local to link,
/// site-local to site and anything else (global, v4-compatible) to global (`universe`).
fn scope_of_bits(bits: u32) -> &'static str {
    const LOOPBACK: u32 = 0x10;
    const LINKLOCAL: u32 = 0x20;
    const SITELOCAL: u32 = 0x40;
    if bits & LOOPBACK != 0 {
        "host"
    } else if bits & LINKLOCAL != 0 {
        "link"
    } else if bits & SITELOCAL != 0 {
        "site"
    } else {
        "global"
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::decode::text::corpus::{assert_fields, links_of};
    use crate::decode::text::{decode_piece, Piece, TextContent};

    /// Link keys of `ip -j -d addr` that ifconfig does not print (MAC of a loopback link
    /// aside): index and peer, qdisc, operstate, group, the link's broadcast address, the
    /// details of `-d`, and the addresses (compared below).
    const LINK_NOT_IN_IFCONFIG: &[&str] = &[
        "ifindex",
        "link",
        "link_index",
        "link_netnsid",
        "master",
        "qdisc",
        "operstate",
        "group",
        "broadcast",
        "linkmode",
        "promiscuity",
        "allmulti",
        "min_mtu",
        "max_mtu",
        "linkinfo",
        "num_tx_queues",
        "num_rx_queues",
        "gso_max_size",
        "gso_max_segs",
        "tso_max_size",
        "tso_max_segs",
        "gro_max_size",
        "inet6_addr_gen_mode",
        "addr_info",
        "flags",
    ];

    /// The flags ifconfig cannot show: bits 16-18 and iproute2's own M-DOWN.
    const FLAGS_NOT_IN_IFCONFIG: &[&str] = &["LOWER_UP", "DORMANT", "ECHO", "M-DOWN"];

    fn without(v: &Value, keys: &[&str]) -> Value {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            for k in keys {
                m.remove(*k);
            }
        }
        v
    }

    #[test]
    fn ifconfig_equals_ip_json_of_the_same_namespace() {
        let ifc = links_of("ifconfig/ifconfig-a.txt", "ifconfig -a");
        let ipj = links_of("ifconfig/ip-j-d-addr.json", "ip -j -d addr");
        assert!(ifc.ifindex_synthetic && !ipj.ifindex_synthetic);
        assert_eq!(
            ifc.issues,
            vec![TextIssue::IfconfigPrimaryOnly { first: 1, last: 88 }]
        );
        assert_eq!(ifc.links.len(), ipj.links.len());
        assert_eq!(ifc.links.len(), 10);
        for theirs in &ipj.links {
            let t = &theirs.value.summary;
            let ctx = t.ifname.as_str();
            let mine = ifc
                .links
                .iter()
                .find(|l| l.value.ifname() == t.ifname)
                .unwrap_or_else(|| panic!("{ctx} missing"));
            let m = &mine.value.summary;
            assert_eq!(m.ifindex, synthetic_ifindex(ctx), "{ctx}");
            assert!(m.ifindex > i32::MAX as u32, "{ctx}");
            let flags: Vec<&String> = t
                .flags
                .iter()
                .filter(|f| !FLAGS_NOT_IN_IFCONFIG.contains(&f.as_str()))
                .collect();
            assert_eq!(m.flags.iter().collect::<Vec<_>>(), flags, "{ctx}");
            assert_eq!(m.raw_flags, t.raw_flags & 0xffff, "{ctx}");
            assert_eq!(mine.value.is_up(), theirs.value.is_up(), "{ctx}");
            let mut not_in = LINK_NOT_IN_IFCONFIG.to_vec();
            if t.link_type == "loopback" {
                // net-tools prints no hardware address for `loop`.
                not_in.push("address");
                assert_eq!(m.address, None);
            }
            let mine_json = without(&serde_json::to_value(&mine.value).expect("json"), &not_in);
            let their_json = serde_json::to_value(&theirs.value).expect("json");
            assert_fields(&mine_json, &their_json, &not_in, ctx);
        }
        // Addresses: every one but the unlabelled secondary, on its link by name.
        let mut expected = 0;
        for theirs in &ipj.addresses {
            let t = &theirs.value;
            let link = ipj
                .links
                .iter()
                .find(|l| l.value.summary.ifindex == t.ifindex)
                .expect("link of address");
            let ctx = format!("{} {:?}", link.value.ifname(), t.local);
            let mine = ifc
                .addresses
                .iter()
                .find(|a| a.value.local == t.local)
                .map(|a| &a.value);
            if t.flags.get("secondary") == Some(&true)
                && t.label.as_deref() == Some(link.value.ifname())
            {
                assert!(
                    mine.is_none(),
                    "{ctx}: ifconfig shows no unlabelled secondary"
                );
                continue;
            }
            expected += 1;
            let mine = mine.unwrap_or_else(|| panic!("{ctx} missing"));
            assert_eq!(
                mine.ifindex,
                synthetic_ifindex(link.value.ifname()),
                "{ctx}"
            );
            // Not printed: lifetimes, flags, a peer without IFF_POINTOPOINT, IPv4 scopes.
            let mut not_in = vec![
                "valid_life_time",
                "preferred_life_time",
                "secondary",
                "nodad",
                "address",
            ];
            if t.family == "inet" {
                assert_eq!(mine.scope, "", "{ctx}");
                not_in.push("scope");
            }
            assert_eq!(mine.address, None, "{ctx}");
            let mine_json = without(&serde_json::to_value(mine).expect("json"), &not_in);
            let their_json = serde_json::to_value(t).expect("json");
            assert_fields(&mine_json, &their_json, &not_in, &ctx);
        }
        assert_eq!(ifc.addresses.len(), expected);
        assert_eq!(expected, 16);
        // The label's block is no link; its address has the label.
        let sec = ifc
            .addresses
            .iter()
            .find(|a| a.value.label.as_deref() == Some("eth0:sec"))
            .expect("eth0:sec");
        assert_eq!(sec.line, 21);
        assert_eq!(sec.value.ifindex, synthetic_ifindex("eth0"));
    }

    fn piece(body: &str) -> crate::decode::text::TextPiece {
        decode_piece(
            Piece {
                command: Some("ifconfig".into()),
                command_line: Some(1),
                first_line: 2,
                last_line: 1 + body.lines().count(),
                body: body.into(),
            },
            false,
        )
    }

    fn links(body: &str) -> LinksText {
        match piece(body).content {
            TextContent::Links(t) => t,
            c => panic!("{c:?}"),
        }
    }

    /// net-tools 1.60's layout of part of the captured namespace, written from its
    /// `ife_print_long`: the same links and addresses as the 2.10 capture.
    const OLD: &str = "\
eth0      Link encap:Ethernet  HWaddr 52:54:00:12:34:56  
          inet addr:192.168.56.11  Bcast:192.168.56.255  Mask:255.255.255.0
          inet6 addr: fe80::5054:ff:fe12:3456/64 Scope:Link
          inet6 addr: fd00:56::11/64 Scope:Global
          UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1
          RX packets:5 errors:0 dropped:0 overruns:0 frame:0
          TX packets:7 errors:0 dropped:0 overruns:0 carrier:0
          collisions:0 txqueuelen:1000 
          RX bytes:426 (426.0 b)  TX bytes:686 (686.0 b)

eth0:sec  Link encap:Ethernet  HWaddr 52:54:00:12:34:56  
          inet addr:10.0.0.11  Bcast:0.0.0.0  Mask:255.0.0.0
          UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1

lo        Link encap:Local Loopback  
          inet addr:127.0.0.1  Mask:255.0.0.0
          inet6 addr: ::1/128 Scope:Host
          UP LOOPBACK RUNNING  MTU:65536  Metric:1
          RX packets:0 errors:0 dropped:0 overruns:0 frame:0
          TX packets:0 errors:0 dropped:0 overruns:0 carrier:0
          collisions:0 txqueuelen:1000 
          RX bytes:0 (0.0 b)  TX bytes:0 (0.0 b)

vethdown  Link encap:Ethernet  HWaddr 6E:AA:BB:CC:DD:01  
          inet addr:172.16.9.1  Bcast:0.0.0.0  Mask:255.255.255.252
          BROADCAST MULTICAST  MTU:9000  Metric:1
          Interrupt:17 Memory:fe9e0000-fea00000 

flannel.1 Link encap:Ethernet  HWaddr 66:d1:6f:aa:bb:cc  
          UP BROADCAST RUNNING MULTICAST  MTU:1450  Metric:1
";

    #[test]
    fn net_tools_1_60_layout_reads_like_2_10() {
        let old = links(OLD);
        let new = links_of("ifconfig/ifconfig-a.txt", "ifconfig -a");
        assert_eq!(
            old.issues,
            vec![
                TextIssue::NameMayBeCut {
                    line: 30,
                    name: "flannel.1".into()
                },
                TextIssue::IfconfigPrimaryOnly { first: 2, last: 31 },
            ]
        );
        let names: Vec<&str> = old.links.iter().map(|l| l.value.ifname()).collect();
        assert_eq!(names, ["eth0", "lo", "vethdown", "flannel.1"]);
        for l in &old.links {
            let n = new
                .links
                .iter()
                .find(|x| x.value.ifname() == l.value.ifname())
                .expect("link");
            let (a, b) = (&l.value.summary, &n.value.summary);
            let ctx = a.ifname.as_str();
            assert_eq!(a.ifindex, b.ifindex, "{ctx}");
            assert_eq!(a.flags, b.flags, "{ctx}");
            assert_eq!(a.raw_flags, b.raw_flags, "{ctx}");
            assert_eq!(a.mtu, b.mtu, "{ctx}");
            assert_eq!(a.address, b.address, "{ctx}");
            assert_eq!(a.link_type, b.link_type, "{ctx}");
            // The sample prints counters (with txqueuelen) for these two only.
            if ctx == "eth0" || ctx == "lo" {
                assert_eq!(a.txqlen, b.txqlen, "{ctx}");
            } else {
                assert_eq!(a.txqlen, None, "{ctx}");
            }
        }
        assert_eq!(old.addresses.len(), 7);
        for a in &old.addresses {
            let n = new
                .addresses
                .iter()
                .find(|x| x.value.local == a.value.local)
                .expect("address");
            assert_eq!(a.value, n.value, "{:?}", a.value.local);
        }
        assert_eq!(old.addresses[0].line, 3);
        assert_eq!(old.addresses[3].value.label.as_deref(), Some("eth0:sec"));
    }

    #[test]
    fn odd_lines_are_reported_not_guessed() {
        let t = links(
            "\
tun0: flags=4305<UP,POINTOPOINT,RUNNING,NOARP,MULTICAST>  mtu 1500
        inet 10.8.0.1  netmask 255.255.255.255  destination 10.8.0.2
        inet 10.8.0.3  netmask 255.0.255.0
        unspec 00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00  txqueuelen 500  (UNSPEC)
        ipx Ethernet-II   0000000A:525400123456
br1: flags=0<  mtu 1500
        inet6 fe80::1  prefixlen 200  scopeid 0x20<link>
eth9: flags=-28605<UP,BROADCAST,RUNNING,MULTICAST,DYNAMIC>  mtu 1500
eth1: error fetching interface information: Device not found
",
        );
        let tun = &t.links[0].value.summary;
        assert_eq!(tun.flags, ["POINTOPOINT", "MULTICAST", "NOARP", "UP"]);
        assert_eq!(tun.link_type, "");
        assert_eq!(tun.address, None);
        assert_eq!(tun.txqlen, Some(500));
        assert_eq!(t.addresses.len(), 1);
        assert_eq!(t.addresses[0].value.address.as_deref(), Some("10.8.0.2"));
        assert_eq!(t.addresses[0].value.prefixlen, 32);
        assert_eq!(t.links[1].value.summary.flags, Vec::<String>::new());
        assert_eq!(t.links[1].value.summary.mtu, Some(1500));
        assert_eq!(t.links[2].value.summary.raw_flags, 0x9043);
        assert!(t.links[2]
            .value
            .summary
            .flags
            .contains(&"DYNAMIC".to_string()));
        let bad: Vec<usize> = t
            .issues
            .iter()
            .filter_map(|i| match i {
                TextIssue::Unreadable { line, .. } => Some(*line),
                _ => None,
            })
            .collect();
        // The non-contiguous mask, IPX, the prefix length over 128, the error.
        assert_eq!(bad, [4, 6, 8, 10]);
    }

    #[test]
    fn a_label_without_its_link_block_stands_for_the_link() {
        let t = links(
            "\
eth0:1: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500
        inet 10.0.0.12  netmask 255.255.255.0  broadcast 10.0.0.255
        ether 52:54:00:12:34:56  txqueuelen 1000  (Ethernet)
",
        );
        assert_eq!(t.links.len(), 1);
        assert_eq!(t.links[0].value.ifname(), "eth0");
        assert_eq!(t.links[0].line, 2);
        assert_eq!(t.addresses[0].value.label.as_deref(), Some("eth0:1"));
        assert_eq!(
            t.addresses[0].value.ifindex,
            t.links[0].value.summary.ifindex
        );
    }

    #[test]
    fn ifconfig_s_table_is_not_read() {
        let body = "Iface      MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg\n\
                    eth0      1500        5      0      0 0             7      0      0      0 BMRU\n";
        let p = Piece {
            command: Some("ifconfig -s".into()),
            command_line: Some(1),
            first_line: 2,
            last_line: 3,
            body: body.into(),
        };
        let t = parse(&Source::new(&p, false));
        assert!(t.links.is_empty());
        assert_eq!(
            t.issues,
            vec![TextIssue::Unreadable {
                line: 2,
                what: WHAT,
                reason: "the table of ifconfig -s is not read"
            }]
        );
    }
}
