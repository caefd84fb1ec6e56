//! `ip -br link` and `ip -br addr` text into the [`Link`] and [`Address`] values of `ip addr`
//! ([`LinksText`]).
//!
//! The shapes are iproute2's (ip/ipaddress.c): `print_linkinfo_brief` prints the name
//! (`print_name_and_link`, `%-16s `: `name@peer`), the operstate (`%-14s `) and, for
//! `link`, the link-layer address and the flags (`print_link_flags`: `<BROADCAST,...>`,
//! `,M-DOWN` included); `print_addrinfo` in brief mode prints each address as `local[ peer
//! PEER]/len [metric N] `. Checked against iproute2 6.1's output and `ip -j -d addr` of the
//! same namespace (`tests/data/pasted/ifconfig/`). A piece holding both (pasted without
//! command lines) is read as one: a link's second line adds to its first.
//!
//! What the text does not carry, and how it is represented:
//! - No interface index: links get [`synthetic_ifindex`] of their name
//!   ([`LinksText::ifindex_synthetic`]), so addresses still join their link by name.
//! - `name@ifN` is a peer iproute2 could only number: in another namespace
//!   (`IFLA_LINK_NETNSID`) or unknown; it is read as `link_index` N when no link of the paste
//!   is named `ifN`. The netns id is unknown.
//! - `ip -br addr` prints no flags. The kernel reports operstate DOWN for every link that is
//!   not up (`rtnl_fill_ifinfo`: `netif_running(dev) ? operstate : IF_OPER_DOWN`), and sets
//!   IFF_RUNNING exactly for operstate UP or UNKNOWN (`dev_get_flags`, `netif_oper_up`): so
//!   `raw_flags` gets IFF_UP for any other operstate and IFF_RUNNING for those two, and
//!   nothing for DOWN (down, or up without carrier: not known). `flags` stays empty (not
//!   printed).
//! - Addresses: no scope, broadcast, label, flags or lifetimes; the link type and the link's
//!   broadcast address.

use std::net::IpAddr;

use super::ip_link::{raw_flags, synthetic_ifindex, LinkExtra, LinksText};
use super::{Parsed, Source};
use crate::decode::rtnl::{Address, Link};

const WHAT: &str = "ip -br output";

/// iproute2's `oper_states` (ip/ipaddress.c), indexed by IF_OPER_*.
const OPER_STATES: [&str; 7] = [
    "UNKNOWN",
    "NOTPRESENT",
    "DOWN",
    "LOWERLAYERDOWN",
    "TESTING",
    "DORMANT",
    "UP",
];
const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;

/// Parses `ip -br link` / `ip -br addr` text (or both).
pub fn parse(src: &Source<'_>) -> LinksText {
    let mut out = LinksText {
        ifindex_synthetic: true,
        ..LinksText::default()
    };
    // The `name@peer` of each link, resolved once every name is known.
    let mut peers: Vec<Option<String>> = Vec::new();
    for (n, line) in src.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let Some((name, peer)) = w.first().map(|x| match x.split_once('@') {
            Some((a, b)) => (a, Some(b)),
            None => (*x, None),
        }) else {
            continue;
        };
        // The kernel sends IFLA_OPERSTATE with every link (since 2.6.17), so iproute2
        // always prints a state here.
        let Some(state) = w.get(1).copied().filter(|s| OPER_STATES.contains(s)) else {
            out.issues.push(src.bad(n, WHAT, "not a name and state"));
            continue;
        };
        if name.is_empty() || peer == Some("") {
            out.issues.push(src.bad(n, WHAT, "not a name and state"));
            continue;
        }
        let rest = &w[2..];
        let read = if rest.iter().any(|x| x.starts_with('<')) {
            link_line(rest).map(|(flags, address)| Line::Link { flags, address })
        } else {
            addresses(rest, synthetic_ifindex(name)).map(Line::Addrs)
        };
        let Some(read) = read else {
            out.issues
                .push(src.bad(n, WHAT, "unreadable link or addresses"));
            continue;
        };
        let at = match out.links.iter().position(|l| l.value.ifname() == name) {
            Some(i) => i,
            None => {
                let mut link = Link::default();
                link.summary.ifname = name.to_string();
                link.summary.ifindex = synthetic_ifindex(name);
                out.links.push(Parsed {
                    value: link,
                    line: n,
                });
                out.extras.push(LinkExtra::default());
                peers.push(None);
                out.links.len() - 1
            }
        };
        if let Some(p) = peer {
            peers[at] = Some(p.to_string());
        }
        let s = &mut out.links[at].value.summary;
        s.operstate = Some(state.to_string());
        match read {
            Line::Link { flags, address } => {
                s.raw_flags = raw_flags(&flags);
                s.flags = flags;
                s.address = address;
            }
            Line::Addrs(addrs) => {
                if s.flags.is_empty() {
                    s.raw_flags = flags_of_operstate(state);
                }
                out.addresses
                    .extend(addrs.into_iter().map(|a| Parsed { value: a, line: n }));
            }
        }
    }
    let names: Vec<String> = out
        .links
        .iter()
        .map(|l| l.value.ifname().to_string())
        .collect();
    for (l, peer) in out.links.iter_mut().zip(peers) {
        let Some(peer) = peer else { continue };
        let s = &mut l.value.summary;
        let numbered = peer
            .strip_prefix("if")
            .and_then(|i| i.parse::<u32>().ok())
            .filter(|_| !names.contains(&peer));
        // print_name_and_link prints `@NONE` for IFLA_LINK 0.
        if peer == "NONE" {
            s.link = Some(None);
        } else if let Some(i) = numbered {
            s.link_index = Some(i);
        } else {
            s.link = Some(Some(peer));
        }
    }
    out
}

/// What one line holds after the name and state.
enum Line {
    Link {
        flags: Vec<String>,
        address: Option<String>,
    },
    Addrs(Vec<Address>),
}

/// `[ADDRESS] <FLAGS>` of `ip -br link`: the flags as printed, and the link-layer address.
fn link_line(rest: &[&str]) -> Option<(Vec<String>, Option<String>)> {
    let (flags, address) = match rest {
        [f] => (*f, None),
        [a, f] => (*f, Some(a.to_string())),
        _ => return None,
    };
    let flags = flags.strip_prefix('<')?.strip_suffix('>')?;
    let flags = flags
        .split(',')
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect();
    Some((flags, address))
}

/// What `ip -br addr`'s operstate says of the flags it does not print (see the module doc).
fn flags_of_operstate(state: &str) -> u32 {
    match state {
        "UP" | "UNKNOWN" => IFF_UP | IFF_RUNNING,
        "DOWN" => 0,
        _ => IFF_UP,
    }
}

/// `10.0.0.5/24 10.9.9.1 peer 10.9.9.2/32 fe80::1/64 [metric N]` of `ip -br addr`.
fn addresses(rest: &[&str], ifindex: u32) -> Option<Vec<Address>> {
    let mut out: Vec<Address> = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let w = rest[i];
        if w == "metric" {
            let a = out.last_mut()?;
            a.metric = Some(rest.get(i + 1)?.parse().ok()?);
            i += 2;
            continue;
        }
        let (local, peer, cidr) = if rest.get(i + 1) == Some(&"peer") {
            let p = rest.get(i + 2)?;
            i += 3;
            (w, Some(p.split('/').next()?), *p)
        } else {
            i += 1;
            (w, None, w)
        };
        let local = local.split('/').next()?;
        let len: u8 = cidr.split_once('/')?.1.parse().ok()?;
        let ip: IpAddr = local.parse().ok()?;
        let family = match ip {
            IpAddr::V4(_) => "inet",
            IpAddr::V6(_) => "inet6",
        };
        if len > if ip.is_ipv4() { 32 } else { 128 } {
            return None;
        }
        let peer = match peer {
            Some(p) => Some(p.parse::<IpAddr>().ok()?.to_string()),
            None => None,
        };
        out.push(Address {
            ifindex,
            family: family.into(),
            local: Some(ip.to_string()),
            address: peer,
            prefixlen: len,
            ip: Some(ip),
            ..Address::default()
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::text::corpus::links_of;
    use crate::decode::text::{decode_piece, Piece, TextContent, TextIssue};

    fn by_name<'a>(t: &'a LinksText, name: &str) -> &'a Link {
        &t.links
            .iter()
            .find(|l| l.value.ifname() == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .value
    }

    #[test]
    fn ip_br_link_and_addr_equal_ip_json_of_the_same_namespace() {
        let link = links_of("ifconfig/ip-br-link.txt", "ip -br link");
        let addr = links_of("ifconfig/ip-br-addr.txt", "ip -br addr");
        let ipj = links_of("ifconfig/ip-j-d-addr.json", "ip -j -d addr");
        assert!(link.issues.is_empty(), "{:?}", link.issues);
        assert!(addr.issues.is_empty(), "{:?}", addr.issues);
        assert!(link.ifindex_synthetic && addr.ifindex_synthetic);
        for t in [&link, &addr] {
            let names: Vec<&str> = t.links.iter().map(|l| l.value.ifname()).collect();
            let theirs: Vec<&str> = ipj.links.iter().map(|l| l.value.ifname()).collect();
            assert_eq!(names, theirs);
        }
        assert!(link.addresses.is_empty());
        for (i, theirs) in ipj.links.iter().enumerate() {
            let t = &theirs.value.summary;
            let ctx = t.ifname.as_str();
            for (mine, line) in [(&link, i + 1), (&addr, i + 1)] {
                let m = &mine.links[i];
                assert_eq!(m.line, line, "{ctx}");
                let m = &m.value.summary;
                assert_eq!(m.ifindex, synthetic_ifindex(ctx), "{ctx}");
                assert_eq!(m.operstate, t.operstate, "{ctx}");
                assert_eq!(m.link, t.link, "{ctx}");
                assert_eq!(m.link_index, t.link_index, "{ctx}");
                // Not printed by either: MTU, qdisc, group, txqlen, link type, the link's
                // broadcast address, the peer's netns id, `-d` details.
                assert_eq!(m.mtu, None, "{ctx}");
                assert_eq!(m.link_type, "", "{ctx}");
                assert_eq!(m.broadcast, None, "{ctx}");
                assert_eq!(m.link_netnsid, None, "{ctx}");
            }
            // `ip -br link`: the flags and the link-layer address as printed.
            let m = by_name(&link, ctx);
            assert_eq!(m.summary.flags, t.flags, "{ctx}");
            assert_eq!(m.summary.raw_flags, t.raw_flags, "{ctx}");
            assert_eq!(m.summary.address, t.address, "{ctx}");
            assert_eq!(m.is_up(), theirs.value.is_up(), "{ctx}");
            // `ip -br addr`: no flags; what its operstate says of them holds.
            let m = by_name(&addr, ctx);
            assert!(m.summary.flags.is_empty(), "{ctx}");
            assert_eq!(m.summary.address, None, "{ctx}");
            assert_eq!(m.summary.raw_flags & !t.raw_flags, 0, "{ctx}");
            if t.operstate.as_deref() != Some("DOWN") {
                assert!(m.is_up(), "{ctx}");
            }
            // Addresses, in iproute2's order, on their link by name: local, prefix length,
            // point-to-point peer. Not printed: scope, broadcast, label, flags, lifetimes.
            let mine: Vec<&Address> = addr
                .addresses
                .iter()
                .filter(|a| a.value.ifindex == synthetic_ifindex(ctx))
                .map(|a| &a.value)
                .collect();
            let their: Vec<&Address> = ipj
                .addresses
                .iter()
                .filter(|a| a.value.ifindex == t.ifindex)
                .map(|a| &a.value)
                .collect();
            assert_eq!(mine.len(), their.len(), "{ctx}");
            for (a, b) in mine.iter().zip(their) {
                let expect = Address {
                    ifindex: a.ifindex,
                    family: b.family.clone(),
                    local: b.local.clone(),
                    address: b.address.clone(),
                    prefixlen: b.prefixlen,
                    metric: b.metric,
                    ip: b.ip,
                    ..Address::default()
                };
                assert_eq!(**a, expect, "{ctx}");
            }
        }
        assert_eq!(addr.addresses.len(), 17);
        assert!(addr
            .addresses
            .iter()
            .any(|a| a.value.address.as_deref() == Some("10.9.9.2")));
    }

    fn parse_text(body: &str, cut: bool) -> LinksText {
        let p = decode_piece(
            Piece {
                command: None,
                command_line: None,
                first_line: 1,
                last_line: body.lines().count(),
                body: body.into(),
            },
            cut,
        );
        match p.content {
            TextContent::Links(t) => t,
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn link_and_addr_lines_of_one_paste_add_up() {
        let link = super::super::corpus::corpus_text("ifconfig/ip-br-link.txt");
        let addr = super::super::corpus::corpus_text("ifconfig/ip-br-addr.txt");
        let both = parse_text(&(addr.clone() + &link), false);
        let only_link = links_of("ifconfig/ip-br-link.txt", "ip -br link");
        let only_addr = links_of("ifconfig/ip-br-addr.txt", "ip -br addr");
        assert!(both.issues.is_empty(), "{:?}", both.issues);
        assert_eq!(both.links.len(), only_link.links.len());
        for (b, l) in both.links.iter().zip(&only_link.links) {
            // Read at its first line (the addr line), with the link line's flags and address.
            let mut want = l.value.clone();
            want.summary.operstate = b.value.summary.operstate.clone();
            assert_eq!(b.value, want);
        }
        assert_eq!(both.addresses, only_addr.addresses);
    }

    #[test]
    fn odd_lines_are_reported_and_peers_read_as_printed() {
        let t = parse_text(
            "\
tunl0@NONE       UNKNOWN        <NOARP,UP,LOWER_UP> 
tun0             UNKNOWN        10.8.0.1 peer 10.8.0.2/32 metric 50 
eth0             UP             10.0.0.5/24 fe80::1/64 
if5@if9          UP             10.1.0.1/33 
cali1@if3        UP             fe80::ecee:eeff:feee:eeee/64 
eth1             LOWERLAYERDOWN 
random words here
wg0              UP             10.7.0.1/2",
            true,
        );
        let tunl0 = by_name(&t, "tunl0");
        assert_eq!(tunl0.summary.link, Some(None));
        assert_eq!(tunl0.summary.address, None);
        assert!(tunl0.is_up());
        let tun0 = &t.addresses[0].value;
        assert_eq!(
            (
                tun0.local.as_deref(),
                tun0.address.as_deref(),
                tun0.prefixlen
            ),
            (Some("10.8.0.1"), Some("10.8.0.2"), 32)
        );
        assert_eq!(tun0.metric, Some(50));
        assert_eq!(by_name(&t, "cali1").summary.link_index, Some(3));
        assert_eq!(by_name(&t, "cali1").summary.link, None);
        assert_eq!(by_name(&t, "eth1").summary.raw_flags, IFF_UP);
        // `/33`, a line without a state. A last line without a line end is read as it is
        // (decode_text adds that it may be cut).
        assert!(by_name(&t, "wg0").is_up());
        assert!(t
            .links
            .iter()
            .all(|l| !["if5", "random"].contains(&l.value.ifname())));
        assert_eq!(
            t.issues,
            vec![
                TextIssue::Unreadable {
                    line: 4,
                    what: WHAT,
                    reason: "unreadable link or addresses"
                },
                TextIssue::Unreadable {
                    line: 7,
                    what: WHAT,
                    reason: "not a name and state"
                },
            ]
        );
    }
}
