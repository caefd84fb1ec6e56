//! rtnetlink dumps, stored verbatim: links (with IFLA_EXT_MASK = RTEXT_FILTER_VF, as `ip -d
//! link` asks), addresses, routes of every table (IPv4 and IPv6), rules, neighbours.
//!
//! Links are dumped, never looked up by name: an RTM_GETLINK for a missing name such as
//! `tunl0` makes the kernel request `netdev-tunl0`, which loads `ipip` (seen in the VM lab).
//! The probe also returns the link names and the default route's devices, which pick the
//! devices for `ethtool -k`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkInfo, LinkMessage};
use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::route::{RouteAttribute, RouteMessage};
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

fn parse(frame: &[u8]) -> Option<RouteNetlinkMessage> {
    match NetlinkMessage::<RouteNetlinkMessage>::deserialize(frame)
        .ok()?
        .payload
    {
        NetlinkPayload::InnerMessage(m) => Some(m),
        _ => None,
    }
}

/// Link names and kinds plus default-route devices, from stored link and route dumps. Messages
/// that do not parse are skipped: this only steers which optional commands run.
pub fn link_facts(links_dump: &[u8], routes_dump: &[u8]) -> LinkFacts {
    let mut facts = LinkFacts::default();
    let msgs = |data: &[u8]| -> Vec<RouteNetlinkMessage> {
        frames(data)
            .unwrap_or_default()
            .iter()
            .filter_map(|f| data.get(f.start..f.start + f.len).and_then(parse))
            .collect()
    };
    for m in msgs(links_dump) {
        let RouteNetlinkMessage::NewLink(link) = m else {
            continue;
        };
        let mut name = None;
        let mut kind = None;
        for a in &link.attributes {
            match a {
                LinkAttribute::IfName(n) => name = Some(n.clone()),
                LinkAttribute::LinkInfo(infos) => {
                    for i in infos {
                        if let LinkInfo::Kind(k) = i {
                            kind = Some(k.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(name) = name {
            facts.links.push(Link {
                index: link.header.index,
                name,
                kind,
            });
        }
    }
    let by_index: BTreeMap<u32, &str> = facts
        .links
        .iter()
        .map(|l| (l.index, l.name.as_str()))
        .collect();
    let mut defaults = BTreeSet::new();
    for m in msgs(routes_dump) {
        let RouteNetlinkMessage::NewRoute(route) = m else {
            continue;
        };
        let mut table = u32::from(route.header.table);
        let mut oifs = Vec::new();
        for a in &route.attributes {
            match a {
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Oif(i) => oifs.push(*i),
                RouteAttribute::MultiPath(hops) => {
                    oifs.extend(hops.iter().map(|h| h.interface_index));
                }
                _ => {}
            }
        }
        // RT_TABLE_MAIN = 254.
        if route.header.destination_prefix_length == 0 && table == 254 {
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
