//! rtnetlink dumps, stored verbatim: links (with IFLA_EXT_MASK = RTEXT_FILTER_VF, as `ip -d
//! link` asks), addresses, routes of every table (IPv4 and IPv6), rules, neighbours.
//!
//! Links are dumped, never looked up by name: an RTM_GETLINK for a missing name such as
//! `tunl0` makes the kernel request `netdev-tunl0`, which loads `ipip` (seen in the VM lab).
//! The probe also returns the link names and the default route's devices, which pick the
//! devices for `ethtool -k`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use netlink_packet_core::NlasIterator;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::rule::RuleMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::protocols::NETLINK_ROUTE;
use netsnap_bundle::{names, Source, Status};

use crate::collect::{cap, Ctx, Record};
use crate::msg;
use crate::netlink::{dump_request, frames, Conn};

/// A link as the gating of `ethtool` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// IFLA_INFO_KIND (`vxlan`, `ipip`, `veth`, ...).
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFacts {
    pub links: Vec<Link>,
    /// Devices of default routes in the main table (IPv4 and IPv6).
    pub default_devices: BTreeSet<String>,
}

struct Dump {
    path: &'static str,
    command: &'static str,
    detail: Option<&'static str>,
    build: fn(u32) -> Vec<u8>,
}

fn dumps() -> [Dump; 7] {
    fn link(seq: u32) -> Vec<u8> {
        let mut m = LinkMessage::default();
        m.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::Vf]));
        dump_request(RouteNetlinkMessage::GetLink(m), seq)
    }
    fn addr(seq: u32) -> Vec<u8> {
        dump_request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            seq,
        )
    }
    fn route(family: AddressFamily, seq: u32) -> Vec<u8> {
        let mut m = RouteMessage::default();
        m.header.address_family = family;
        dump_request(RouteNetlinkMessage::GetRoute(m), seq)
    }
    fn rule(family: AddressFamily, seq: u32) -> Vec<u8> {
        let mut m = RuleMessage::default();
        m.header.family = family;
        dump_request(RouteNetlinkMessage::GetRule(m), seq)
    }
    fn neigh(seq: u32) -> Vec<u8> {
        dump_request(
            RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
            seq,
        )
    }
    [
        Dump {
            path: names::RTNL_LINKS,
            command: "RTM_GETLINK",
            detail: Some("AF_UNSPEC, IFLA_EXT_MASK=RTEXT_FILTER_VF"),
            build: link,
        },
        Dump {
            path: names::RTNL_ADDRS,
            command: "RTM_GETADDR",
            detail: Some("AF_UNSPEC"),
            build: addr,
        },
        Dump {
            path: names::RTNL_ROUTES_V4,
            command: "RTM_GETROUTE",
            detail: Some("AF_INET, all tables"),
            build: |s| route(AddressFamily::Inet, s),
        },
        Dump {
            path: names::RTNL_ROUTES_V6,
            command: "RTM_GETROUTE",
            detail: Some("AF_INET6, all tables"),
            build: |s| route(AddressFamily::Inet6, s),
        },
        Dump {
            path: names::RTNL_RULES_V4,
            command: "RTM_GETRULE",
            detail: Some("AF_INET"),
            build: |s| rule(AddressFamily::Inet, s),
        },
        Dump {
            path: names::RTNL_RULES_V6,
            command: "RTM_GETRULE",
            detail: Some("AF_INET6"),
            build: |s| rule(AddressFamily::Inet6, s),
        },
        Dump {
            path: names::RTNL_NEIGH,
            command: "RTM_GETNEIGH",
            detail: Some("AF_UNSPEC"),
            build: neigh,
        },
    ]
}

fn source(d: &Dump) -> Source {
    Source::Netlink {
        family: "rtnetlink".into(),
        command: d.command.into(),
        detail: d.detail.map(str::to_string),
    }
}

pub fn planned() -> Vec<(String, Source)> {
    dumps()
        .iter()
        .map(|d| (d.path.to_string(), source(d)))
        .collect()
}

pub fn probe(ctx: &Ctx) -> LinkFacts {
    let started = Instant::now();
    let mut conn = match Conn::open(NETLINK_ROUTE, ctx.deadline) {
        Ok(c) => c,
        Err(e) => {
            for d in dumps() {
                ctx.put(Record::missing(
                    d.path,
                    source(&d),
                    Status::Error,
                    e.to_string(),
                    started,
                ));
            }
            return LinkFacts::default();
        }
    };
    let mut links = Vec::new();
    let mut routes = Vec::new();
    for d in dumps() {
        let started = Instant::now();
        ctx.put(match conn.dump_with_retry(d.build, cap::NETLINK) {
            Ok(dump) => {
                if d.path == names::RTNL_LINKS {
                    links = dump.bytes.clone();
                } else if d.path == names::RTNL_ROUTES_V4 || d.path == names::RTNL_ROUTES_V6 {
                    routes.extend_from_slice(&dump.bytes);
                }
                let status = match dump.error {
                    None => Status::Ok,
                    Some(e) if -e == libc::EPERM || -e == libc::EACCES => Status::Denied,
                    Some(e) if -e == libc::EOPNOTSUPP || -e == libc::EAFNOSUPPORT => Status::Absent,
                    Some(_) => Status::Error,
                };
                let mut r = Record::stored(d.path, source(&d), dump.bytes, cap::NETLINK, started)
                    .with_status(status);
                if let Some(e) = dump.error {
                    r = r.with_reason(std::io::Error::from_raw_os_error(-e).to_string());
                } else if dump.interrupted {
                    r = r.with_reason(msg::DUMP_INTERRUPTED);
                }
                r
            }
            Err(e) => Record::missing(d.path, source(&d), Status::Error, e.to_string(), started),
        });
    }
    link_facts(&links, &routes)
}

// Only three facts are needed from the stored dumps, so they are read with the NLA iterator
// of netlink-packet-core rather than the full netlink-packet-route parsers (which would add
// about 300 KB of attribute decoders to the static binary). Layouts from
// include/uapi/linux/rtnetlink.h and if_link.h.
const RTM_NEWLINK: u16 = 16;
const RTM_NEWROUTE: u16 = 24;
const IFINFOMSG_LEN: usize = 16;
const RTMSG_LEN: usize = 12;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const RT_TABLE_MAIN: u32 = 254;

/// (type, payload after the nlmsghdr) of each message in a stored dump.
fn payloads(data: &[u8]) -> Vec<(u16, &[u8])> {
    frames(data)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| Some((f.message_type, data.get(f.start + 16..f.start + f.len)?)))
        .collect()
}

/// (kind, value) of each attribute; stops at the first malformed one.
fn attrs(data: &[u8]) -> Vec<(u16, &[u8])> {
    NlasIterator::new(data)
        .map_while(Result::ok)
        .filter_map(|nla| {
            let (kind, len) = (nla.kind(), usize::from(nla.length()));
            Some((kind, nla.into_inner().get(4..len)?))
        })
        .collect()
}

fn u32_of(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

fn string_of(v: &[u8]) -> String {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// Link names and kinds plus default-route devices, from stored link and route dumps. Messages
/// that do not parse are skipped: this only steers which optional commands run.
pub fn link_facts(links_dump: &[u8], routes_dump: &[u8]) -> LinkFacts {
    let mut facts = LinkFacts::default();
    for (ty, p) in payloads(links_dump) {
        if ty != RTM_NEWLINK || p.len() < IFINFOMSG_LEN {
            continue;
        }
        let Some(index) = u32_of(&p[4..8]) else {
            continue;
        };
        let mut name = None;
        let mut kind = None;
        for (k, v) in attrs(&p[IFINFOMSG_LEN..]) {
            match k {
                IFLA_IFNAME => name = Some(string_of(v)),
                IFLA_LINKINFO => {
                    kind = attrs(v)
                        .into_iter()
                        .find(|(k, _)| *k == IFLA_INFO_KIND)
                        .map(|(_, v)| string_of(v));
                }
                _ => {}
            }
        }
        if let Some(name) = name {
            facts.links.push(Link { index, name, kind });
        }
    }
    let by_index: BTreeMap<u32, &str> = facts
        .links
        .iter()
        .map(|l| (l.index, l.name.as_str()))
        .collect();
    let mut defaults = BTreeSet::new();
    for (ty, p) in payloads(routes_dump) {
        if ty != RTM_NEWROUTE || p.len() < RTMSG_LEN {
            continue;
        }
        let dst_len = p[1];
        let mut table = u32::from(p[4]);
        let mut oifs = Vec::new();
        for (k, v) in attrs(&p[RTMSG_LEN..]) {
            match k {
                RTA_TABLE => table = u32_of(v).unwrap_or(table),
                RTA_OIF => oifs.extend(u32_of(v)),
                // struct rtnexthop { u16 len; u8 flags; u8 hops; s32 ifindex; } + attributes.
                RTA_MULTIPATH => {
                    let mut off = 0;
                    while let Some(hop) = v.get(off..off + 8) {
                        let len = usize::from(u16::from_ne_bytes([hop[0], hop[1]]));
                        oifs.extend(u32_of(&hop[4..8]));
                        if len < 8 {
                            break;
                        }
                        off += (len + 3) & !3;
                    }
                }
                _ => {}
            }
        }
        if dst_len == 0 && table == RT_TABLE_MAIN {
            for i in oifs {
                if let Some(n) = by_index.get(&i) {
                    defaults.insert((*n).to_string());
                }
            }
        }
    }
    facts.default_devices = defaults;
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message: nlmsghdr + fixed header + attributes (each already padded).
    fn msg(ty: u16, fixed: &[u8], attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = fixed.to_vec();
        for (k, v) in attrs {
            body.extend_from_slice(&((v.len() + 4) as u16).to_ne_bytes());
            body.extend_from_slice(&k.to_ne_bytes());
            body.extend_from_slice(v);
            body.resize((body.len() + 3) & !3, 0);
        }
        let mut m = ((body.len() + 16) as u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&[2, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(&body);
        m
    }

    fn link(index: u32, name: &str, kind: Option<&str>) -> Vec<u8> {
        let mut fixed = vec![0u8; 16];
        fixed[4..8].copy_from_slice(&index.to_ne_bytes());
        let mut a = vec![(IFLA_IFNAME, format!("{name}\0").into_bytes())];
        if let Some(k) = kind {
            let mut nested = ((k.len() + 5) as u16).to_ne_bytes().to_vec();
            nested.extend_from_slice(&IFLA_INFO_KIND.to_ne_bytes());
            nested.extend_from_slice(k.as_bytes());
            nested.push(0);
            nested.resize((nested.len() + 3) & !3, 0);
            a.push((IFLA_LINKINFO, nested));
        }
        msg(RTM_NEWLINK, &fixed, &a)
    }

    #[test]
    fn names_kinds_and_default_devices() {
        let mut links = link(1, "lo", None);
        links.extend(link(2, "eth0", None));
        links.extend(link(3, "tunl0", Some("ipip")));
        links.extend(msg(3, &[0; 4], &[]));
        // default via eth0 in main, and a default in table 100 via tunl0 (ignored).
        let mut routes = msg(
            RTM_NEWROUTE,
            &[2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0],
            &[(RTA_OIF, 2u32.to_ne_bytes().to_vec())],
        );
        routes.extend(msg(
            RTM_NEWROUTE,
            &[2, 0, 0, 0, 252, 3, 0, 1, 0, 0, 0, 0],
            &[
                (RTA_TABLE, 100u32.to_ne_bytes().to_vec()),
                (RTA_OIF, 3u32.to_ne_bytes().to_vec()),
            ],
        ));
        let f = link_facts(&links, &routes);
        let got: Vec<(u32, &str, Option<&str>)> = f
            .links
            .iter()
            .map(|l| (l.index, l.name.as_str(), l.kind.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "lo", None),
                (2, "eth0", None),
                (3, "tunl0", Some("ipip"))
            ]
        );
        assert_eq!(f.default_devices.into_iter().collect::<Vec<_>>(), ["eth0"]);
        // Garbage yields nothing rather than a panic.
        assert_eq!(link_facts(&[1, 2, 3], &[0xff; 40]), LinkFacts::default());
    }
}
