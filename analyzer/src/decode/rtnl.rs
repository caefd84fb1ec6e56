//! rtnetlink dumps (links, addresses, routes, rules, neighbours) decoded into values whose JSON
//! form uses iproute2's field names and value formats, so `netsnap show links --json` can be
//! compared with `ip -j -d link` field by field.
//!
//! What iproute2 prints, and when, was read from iproute2's `ip/ipaddress.c` (`print_linkinfo`,
//! `print_addrinfo`, `print_link_flags`), `lib/utils.c` (`print_name_and_link`),
//! `ip/iproute.c` (`print_route`), `ip/iprule.c` (`print_rule`), `ip/ipneigh.c`
//! (`print_neigh`), `ip/iplink_vxlan.c` and `ip/iplink_bridge.c`, and checked against
//! iproute2 6.1's output on the fixtures in `tests/data/rtnl/`.
//!
//! Pure: bytes in, values out. A message that fails to decode is recorded in
//! [`Decoded::errors`] and the others are still decoded.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, Parseable};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoBridge, InfoData, InfoKind, InfoPortKind, InfoVxlan, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteVia};
use netlink_packet_route::rule::{RuleAttribute, RuleMessage};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::decode::netlink::{messages, NLMSG_DONE, NLM_F_DUMP_INTR};
use crate::error::Error;

const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const RTM_NEWNEIGH: u16 = 28;
const RTM_NEWRULE: u16 = 32;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// The result of decoding one artifact: what could be decoded, and what could not.
#[derive(Debug, Default)]
pub struct Decoded<T> {
    pub items: Vec<T>,
    /// Framing errors, undecodable messages, and `NLMSG_ERROR` replies.
    pub errors: Vec<Error>,
    /// The dump ended with `NLMSG_DONE`; false means the capture was cut short.
    pub complete: bool,
    /// The kernel flagged the dump as interrupted by a concurrent change (`NLM_F_DUMP_INTR`).
    pub interrupted: bool,
}

/// Runs `parse` over every reply message of type `want` in `data`.
fn decode_dump<T>(
    artifact: &str,
    data: &[u8],
    want: u16,
    mut parse: impl FnMut(&[u8]) -> Result<T, DecodeError>,
) -> Decoded<T> {
    let mut out = Decoded {
        items: Vec::new(),
        errors: Vec::new(),
        complete: false,
        interrupted: false,
    };
    for msg in messages(data) {
        let msg = match msg {
            Ok(m) => m,
            Err(e) => {
                out.errors.push(Error::Decode {
                    artifact: artifact.to_string(),
                    offset: e.offset,
                    what: e.what.to_string(),
                });
                break;
            }
        };
        if msg.is_request() {
            continue;
        }
        if msg.flags & NLM_F_DUMP_INTR != 0 {
            out.interrupted = true;
        }
        if let Some(code) = msg.error_code() {
            if code != 0 {
                out.errors.push(Error::Decode {
                    artifact: artifact.to_string(),
                    offset: msg.offset,
                    what: format!("the kernel answered with error {}", -i64::from(code)),
                });
            }
            out.complete = true;
            continue;
        }
        if msg.message_type == NLMSG_DONE {
            out.complete = true;
            continue;
        }
        if msg.message_type != want {
            continue;
        }
        match parse(&msg.bytes[16..]) {
            Ok(item) => out.items.push(item),
            Err(e) => out.errors.push(Error::Decode {
                artifact: artifact.to_string(),
                offset: msg.offset,
                what: format!("{e}"),
            }),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Links

/// The fields `ip -j link` / `ip -j addr` print for every link.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinkSummary {
    pub ifindex: u32,
    /// IFLA_LINK when the peer lives in another network namespace (then only its index is
    /// meaningful).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_index: Option<u32>,
    /// IFLA_LINK resolved to a name; `Some(None)` (JSON null) when IFLA_LINK is 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Option<String>>,
    pub ifname: String,
    pub flags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qdisc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operstate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txqlen: Option<u32>,
    pub link_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_pointtopoint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permaddr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_netnsid: Option<i32>,
    /// `ifi_flags` as the kernel sent them.
    #[serde(skip)]
    pub raw_flags: u32,
    /// IFLA_MASTER as an index.
    #[serde(skip)]
    pub master_index: Option<u32>,
}

/// One link as `ip -j -d link` prints it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Link {
    #[serde(flatten)]
    pub summary: LinkSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkmode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promiscuity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allmulti: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkinfo: Option<LinkInfoJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_tx_queues: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_rx_queues: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gso_max_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gso_max_segs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tso_max_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tso_max_segs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gro_max_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifalias: Option<String>,
}

/// `linkinfo` of `ip -d link`. `info_data` holds the kind's attributes under iproute2's names
/// (for vxlan, bridge and ipip); other kinds' data is not rendered.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinkInfoJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_data: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_slave_kind: Option<String>,
}

const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;
const IFF_POINTOPOINT: u32 = 0x10;

impl Link {
    pub fn ifname(&self) -> &str {
        &self.summary.ifname
    }

    /// `info_kind`: `vxlan`, `veth`, `bridge`, `ipip`, `dummy` ...
    pub fn kind(&self) -> Option<&str> {
        self.linkinfo.as_ref()?.info_kind.as_deref()
    }

    /// Administratively up (IFF_UP).
    pub fn is_up(&self) -> bool {
        self.summary.raw_flags & IFF_UP != 0
    }

    /// One value of `info_data` (e.g. `id` of a vxlan link).
    pub fn info_data(&self, key: &str) -> Option<&Value> {
        self.linkinfo.as_ref()?.info_data.as_ref()?.get(key)
    }
}

/// Index → name of every link, for routes, addresses and rules that name links by index.
#[derive(Debug, Clone, Default)]
pub struct LinkNames(BTreeMap<u32, String>);

impl LinkNames {
    pub fn from_links(links: &[Link]) -> Self {
        LinkNames(
            links
                .iter()
                .map(|l| (l.summary.ifindex, l.summary.ifname.clone()))
                .collect(),
        )
    }

    /// iproute2's `ll_index_to_name`: `if<N>` for an index it does not know.
    pub fn name(&self, index: u32) -> String {
        self.0
            .get(&index)
            .cloned()
            .unwrap_or_else(|| format!("if{index}"))
    }
}

/// Decodes an RTM_GETLINK dump (`netlink/rtnl/links.nl`).
pub fn decode_links(data: &[u8]) -> Decoded<Link> {
    let mut decoded = decode_dump(netsnap_bundle::names::RTNL_LINKS, data, RTM_NEWLINK, |p| {
        LinkMessage::parse(p)
    });
    // Names are resolved after the whole dump is read: a master or lower link may come later.
    let messages = std::mem::take(&mut decoded.items);
    let names = LinkNames(
        messages
            .iter()
            .filter_map(|m| {
                m.attributes.iter().find_map(|a| match a {
                    LinkAttribute::IfName(n) => Some((m.header.index, n.clone())),
                    _ => None,
                })
            })
            .collect(),
    );
    let items = messages
        .iter()
        .map(|m| link_from_message(m, &names))
        .collect();
    Decoded {
        items,
        errors: decoded.errors,
        complete: decoded.complete,
        interrupted: decoded.interrupted,
    }
}

fn link_from_message(m: &LinkMessage, names: &LinkNames) -> Link {
    let ll_type = u16::from(m.header.link_layer_type);
    let raw_flags = m.header.flags.bits();
    let mut s = LinkSummary {
        ifindex: m.header.index,
        ifname: names.name(m.header.index),
        flags: link_flag_names(raw_flags),
        link_type: ll_type_name(ll_type),
        raw_flags,
        ..LinkSummary::default()
    };
    let mut l = Link::default();
    let mut iflink = None;
    let mut perm = None;
    for attr in &m.attributes {
        match attr {
            LinkAttribute::Mtu(v) => s.mtu = Some(*v),
            LinkAttribute::Qdisc(v) => s.qdisc = Some(v.clone()),
            LinkAttribute::Controller(v) => {
                s.master_index = Some(*v);
                s.master = Some(names.name(*v));
            }
            LinkAttribute::OperState(st) => s.operstate = Some(operstate_name(u8::from(*st))),
            LinkAttribute::Group(g) => {
                s.group = Some(if *g == 0 {
                    "default".into()
                } else {
                    g.to_string()
                })
            }
            LinkAttribute::TxQueueLen(v) => s.txqlen = Some(*v),
            LinkAttribute::Address(a) => s.address = Some(ll_addr(a, ll_type)),
            LinkAttribute::Broadcast(a) => s.broadcast = Some(ll_addr(a, ll_type)),
            LinkAttribute::PermAddress(a) => perm = Some(a.clone()),
            LinkAttribute::LinkNetNsId(id) => s.link_netnsid = Some(*id),
            LinkAttribute::Link(v) => iflink = Some(*v),
            LinkAttribute::Mode(mode) => {
                l.linkmode = Some(match u8::from(*mode) {
                    0 => "DEFAULT".into(),
                    1 => "DORMANT".into(),
                    2 => "TESTING".into(),
                    other => format!("mode {other}"),
                })
            }
            LinkAttribute::Promiscuity(v) => l.promiscuity = Some(*v),
            LinkAttribute::AllMulticast(v) => l.allmulti = Some(*v),
            LinkAttribute::MinMtu(v) => l.min_mtu = Some(*v),
            LinkAttribute::MaxMtu(v) => l.max_mtu = Some(*v),
            LinkAttribute::NumTxQueues(v) => l.num_tx_queues = Some(*v),
            LinkAttribute::NumRxQueues(v) => l.num_rx_queues = Some(*v),
            LinkAttribute::GsoMaxSize(v) => l.gso_max_size = Some(*v),
            LinkAttribute::GsoMaxSegs(v) => l.gso_max_segs = Some(*v),
            LinkAttribute::TsoMaxSize(v) => l.tso_max_size = Some(*v),
            LinkAttribute::TsoMaxSegs(v) => l.tso_max_segs = Some(*v),
            LinkAttribute::GroMaxSize(v) => l.gro_max_size = Some(*v),
            LinkAttribute::IfAlias(v) => l.ifalias = Some(v.clone()),
            LinkAttribute::LinkInfo(infos) => l.linkinfo = Some(link_info(infos, names)),
            _ => {}
        }
    }
    // print_name_and_link: a peer in another namespace is known by index only.
    match iflink {
        Some(0) => s.link = Some(None),
        Some(i) if s.link_netnsid.is_some() => s.link_index = Some(i),
        Some(i) => s.link = Some(Some(names.name(i))),
        None => {}
    }
    if let Some(p) = perm {
        if s.address.as_deref() != Some(ll_addr(&p, ll_type).as_str()) {
            s.permaddr = Some(ll_addr(&p, ll_type));
        }
    }
    if raw_flags & IFF_POINTOPOINT != 0 && s.broadcast.is_some() {
        // The peer address of a point-to-point link travels as IFLA_BROADCAST.
        s.link_pointtopoint = Some(true);
    }
    l.summary = s;
    l
}

fn link_info(infos: &[LinkInfo], names: &LinkNames) -> LinkInfoJson {
    let mut out = LinkInfoJson::default();
    for info in infos {
        match info {
            LinkInfo::Kind(k) => out.info_kind = Some(info_kind_name(k)),
            LinkInfo::PortKind(k) => {
                out.info_slave_kind = Some(match k {
                    InfoPortKind::Other(s) => s.clone(),
                    other => format!("{other}"),
                })
            }
            LinkInfo::Data(InfoData::Vxlan(attrs)) => {
                out.info_data = Some(vxlan_data(attrs, names))
            }
            LinkInfo::Data(InfoData::Bridge(attrs)) => out.info_data = Some(bridge_data(attrs)),
            LinkInfo::Data(InfoData::IpTunnel(attrs)) => {
                out.info_data = Some(iptunnel_data(attrs, names))
            }
            _ => {}
        }
    }
    out
}

fn info_kind_name(k: &InfoKind) -> String {
    match k {
        InfoKind::Other(s) => s.clone(),
        other => format!("{other}"),
    }
}

/// `vxlan_print_opt` in iproute2 (6.1 prints the boolean options always in JSON).
fn vxlan_data(attrs: &[InfoVxlan], names: &LinkNames) -> Map<String, Value> {
    let mut m = Map::new();
    let mut tos = 0u8;
    let mut ttl_inherit = false;
    let mut ttl = None;
    for a in attrs {
        match a {
            InfoVxlan::Id(v) => put(&mut m, "id", *v),
            InfoVxlan::Group(a) if !a.is_unspecified() => put(
                &mut m,
                if a.is_multicast() { "group" } else { "remote" },
                a.to_string(),
            ),
            InfoVxlan::Group6(a) if !a.is_unspecified() => put(
                &mut m,
                if a.is_multicast() {
                    "group6"
                } else {
                    "remote6"
                },
                a.to_string(),
            ),
            InfoVxlan::Local(a) if !a.is_unspecified() => put(&mut m, "local", a.to_string()),
            InfoVxlan::Local6(a) if !a.is_unspecified() => put(&mut m, "local6", a.to_string()),
            InfoVxlan::Link(i) if *i != 0 => put(&mut m, "link", names.name(*i)),
            InfoVxlan::PortRange((low, high)) => {
                let mut r = Map::new();
                put(&mut r, "low", *low);
                put(&mut r, "high", *high);
                m.insert("port_range".into(), Value::Object(r));
            }
            InfoVxlan::Port(p) => put(&mut m, "port", *p),
            InfoVxlan::Learning(b) => put(&mut m, "learning", *b),
            InfoVxlan::Proxy(true) => put(&mut m, "proxy", true),
            InfoVxlan::Rsc(true) => put(&mut m, "rsc", true),
            InfoVxlan::L2Miss(true) => put(&mut m, "l2miss", true),
            InfoVxlan::L3Miss(true) => put(&mut m, "l3miss", true),
            InfoVxlan::CollectMetadata(true) => put(&mut m, "external", true),
            InfoVxlan::Tos(t) => tos = *t,
            InfoVxlan::TtlInherit(v) => ttl_inherit = *v != 0,
            InfoVxlan::Ttl(t) => ttl = Some(*t),
            InfoVxlan::Df(df) => {
                let name = match u8::from(*df) {
                    0 => "unset",
                    1 => "set",
                    2 => "inherit",
                    _ => continue,
                };
                put(&mut m, "df", name)
            }
            InfoVxlan::Label(l) if *l != 0 => {
                put(&mut m, "label", format!("{:#x}", u32::from_be(*l)))
            }
            InfoVxlan::Ageing(v) => put(&mut m, "ageing", *v),
            InfoVxlan::Limit(v) if *v != 0 => put(&mut m, "limit", *v),
            InfoVxlan::UDPCsum(b) => put(&mut m, "udp_csum", *b),
            InfoVxlan::UDPZeroCsumTX(b) => put(&mut m, "udp_zero_csum6_tx", *b),
            InfoVxlan::UDPZeroCsumRX(b) => put(&mut m, "udp_zero_csum6_rx", *b),
            InfoVxlan::RemCsumTX(true) => put(&mut m, "remcsum_tx", true),
            InfoVxlan::RemCsumRX(true) => put(&mut m, "remcsum_rx", true),
            InfoVxlan::Gbp => {
                m.insert("gbp".into(), Value::Null);
            }
            InfoVxlan::Gpe => {
                m.insert("gpe".into(), Value::Null);
            }
            _ => {}
        }
    }
    if tos != 0 {
        put(&mut m, "tos", format!("{tos:#x}"));
    }
    if !ttl_inherit {
        if let Some(t) = ttl {
            put(&mut m, "ttl", t);
        }
    }
    m
}

/// A subset of `bridge_print_opt`: the timers, STP, VLAN filtering, multicast snooping and the
/// br_netfilter switches that Kubernetes networking depends on.
fn bridge_data(attrs: &[InfoBridge]) -> Map<String, Value> {
    let mut m = Map::new();
    for a in attrs {
        match a {
            InfoBridge::ForwardDelay(v) => put(&mut m, "forward_delay", *v),
            InfoBridge::HelloTime(v) => put(&mut m, "hello_time", *v),
            InfoBridge::MaxAge(v) => put(&mut m, "max_age", *v),
            InfoBridge::AgeingTime(v) => put(&mut m, "ageing_time", *v),
            InfoBridge::StpState(v) => put(&mut m, "stp_state", u32::from(*v)),
            InfoBridge::Priority(v) => put(&mut m, "priority", *v),
            InfoBridge::VlanFiltering(v) => put(&mut m, "vlan_filtering", u8::from(*v)),
            InfoBridge::MulticastSnooping(v) => put(&mut m, "mcast_snooping", u8::from(*v)),
            InfoBridge::NfCallIpTables(v) => put(&mut m, "nf_call_iptables", u8::from(*v)),
            InfoBridge::NfCallIp6Tables(v) => put(&mut m, "nf_call_ip6tables", u8::from(*v)),
            InfoBridge::NfCallArpTables(v) => put(&mut m, "nf_call_arptables", u8::from(*v)),
            _ => {}
        }
    }
    m
}

/// A subset of iproute2's `iptunnel_print_opt` (ip/link_iptnl.c) for ipip/sit, checked against
/// `ip -j -d link` on Calico's `tunl0` in the VM lab (fixtures/vm-lab).
fn iptunnel_data(
    attrs: &[netlink_packet_route::link::InfoIpTunnel],
    names: &LinkNames,
) -> Map<String, Value> {
    use netlink_packet_route::link::InfoIpTunnel as T;
    let mut m = Map::new();
    let addr = |a: &IpAddr| {
        if a.is_unspecified() {
            "any".to_string()
        } else {
            a.to_string()
        }
    };
    for a in attrs {
        match a {
            T::Remote(ip) => put(&mut m, "remote", addr(ip)),
            T::Local(ip) => put(&mut m, "local", addr(ip)),
            T::Link(i) if *i != 0 => put(&mut m, "link", names.name(*i)),
            T::Ttl(t) => put(&mut m, "ttl", *t),
            T::PMtuDisc(b) => put(&mut m, "pmtudisc", *b),
            // iproute2 names the inner protocol; 0 is "any" (the fallback `tunl0` accepts all).
            T::Protocol(p) => {
                let name = match u8::from(*p) {
                    0 => "any".to_string(),
                    4 => "ipip".to_string(),
                    41 => "ip6ip".to_string(),
                    137 => "mplsip".to_string(),
                    other => other.to_string(),
                };
                put(&mut m, "proto", name)
            }
            _ => {}
        }
    }
    m
}

fn put(m: &mut Map<String, Value>, key: &str, v: impl Into<Value>) {
    m.insert(key.to_string(), v.into());
}

/// `print_link_flags`: NO-CARRIER first when up without carrier; RUNNING is never shown.
fn link_flag_names(flags: u32) -> Vec<String> {
    const NAMES: [(u32, &str); 18] = [
        (0x8, "LOOPBACK"),
        (0x2, "BROADCAST"),
        (0x10, "POINTOPOINT"),
        (0x1000, "MULTICAST"),
        (0x80, "NOARP"),
        (0x200, "ALLMULTI"),
        (0x100, "PROMISC"),
        (0x400, "MASTER"),
        (0x800, "SLAVE"),
        (0x4, "DEBUG"),
        (0x8000, "DYNAMIC"),
        (0x4000, "AUTOMEDIA"),
        (0x2000, "PORTSEL"),
        (0x20, "NOTRAILERS"),
        (0x1, "UP"),
        (0x10000, "LOWER_UP"),
        (0x20000, "DORMANT"),
        (0x40000, "ECHO"),
    ];
    let mut out = Vec::new();
    if flags & IFF_UP != 0 && flags & IFF_RUNNING == 0 {
        out.push("NO-CARRIER".to_string());
    }
    let mut rest = flags & !IFF_RUNNING;
    for (bit, name) in NAMES {
        if rest & bit != 0 {
            rest &= !bit;
            out.push(name.to_string());
        }
    }
    if rest != 0 {
        out.push(format!("{rest:x}"));
    }
    out
}

fn operstate_name(state: u8) -> String {
    const NAMES: [&str; 7] = [
        "UNKNOWN",
        "NOTPRESENT",
        "DOWN",
        "LOWERLAYERDOWN",
        "TESTING",
        "DORMANT",
        "UP",
    ];
    NAMES
        .get(usize::from(state))
        .map_or_else(|| format!("{state:#x}"), |s| s.to_string())
}

/// `ll_type_n2a` (lib/ll_types.c), for the types a Kubernetes node has.
fn ll_type_name(t: u16) -> String {
    let name = match t {
        1 => "ether",
        32 => "infiniband",
        280 => "can",
        512 => "ppp",
        768 => "ipip",
        769 => "tunnel6",
        772 => "loopback",
        776 => "sit",
        778 => "gre",
        801 => "ieee802.11",
        823 => "gre6",
        824 => "netlink",
        65534 => "none",
        65535 => "void",
        other => return format!("[{other}]"),
    };
    name.to_string()
}

/// `ll_addr_n2a`: tunnels carry IP addresses as their link-layer address.
fn ll_addr(a: &[u8], ll_type: u16) -> String {
    match (a.len(), ll_type) {
        (4, 768 | 776 | 778) => Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string(),
        (16, 769 | 823) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(a);
            Ipv6Addr::from(b).to_string()
        }
        _ => a
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

// ---------------------------------------------------------------------------------------------
// Addresses

/// One address, as an element of `addr_info` in `ip -j addr`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Address {
    #[serde(skip)]
    pub ifindex: u32,
    pub family: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    /// The peer address, when it differs from `local` (point-to-point).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub prefixlen: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anycast: Option<String>,
    pub scope: String,
    /// The address flags iproute2 prints as `"name": true` (`dynamic`, `secondary`,
    /// `temporary`, `nodad`, `tentative`, ...).
    #[serde(flatten)]
    pub flags: BTreeMap<String, bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_life_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_life_time: Option<u32>,
    /// The local address as a value, for checks.
    #[serde(skip)]
    pub ip: Option<IpAddr>,
}

/// A link with its addresses, as `ip -j addr` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkAddresses {
    #[serde(flatten)]
    pub link: LinkSummary,
    pub addr_info: Vec<Address>,
}

/// Groups addresses under their links, in link order, as `ip addr` does. Addresses of a link
/// missing from `links` are grouped under a placeholder named like iproute2's `if<N>`.
pub fn addresses_by_link(links: &[Link], addrs: &[Address]) -> Vec<LinkAddresses> {
    let mut out: Vec<LinkAddresses> = links
        .iter()
        .map(|l| LinkAddresses {
            link: l.summary.clone(),
            addr_info: Vec::new(),
        })
        .collect();
    for a in addrs {
        let pos = match out.iter().position(|g| g.link.ifindex == a.ifindex) {
            Some(p) => p,
            None => {
                out.push(LinkAddresses {
                    link: LinkSummary {
                        ifindex: a.ifindex,
                        ifname: format!("if{}", a.ifindex),
                        ..LinkSummary::default()
                    },
                    addr_info: Vec::new(),
                });
                out.len() - 1
            }
        };
        out[pos].addr_info.push(a.clone());
    }
    out
}

/// Decodes an RTM_GETADDR dump (`netlink/rtnl/addrs.nl`).
pub fn decode_addrs(data: &[u8]) -> Decoded<Address> {
    decode_dump(netsnap_bundle::names::RTNL_ADDRS, data, RTM_NEWADDR, |p| {
        Ok(address_from_message(&AddressMessage::parse(p)?))
    })
}

fn address_from_message(m: &AddressMessage) -> Address {
    let family = u8::from(m.header.family);
    let mut a = Address {
        ifindex: m.header.index,
        family: family_name(family),
        prefixlen: m.header.prefix_len,
        scope: scope_name(u8::from(m.header.scope)),
        ..Address::default()
    };
    // IFA_FLAGS (32 bits) supersedes the 8-bit header field when present (get_ifa_flags).
    let mut flags = u32::from(m.header.flags.bits());
    let mut local = None;
    let mut peer = None;
    for attr in &m.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => peer = Some(*ip),
            AddressAttribute::Broadcast(ip) => a.broadcast = Some(ip.to_string()),
            AddressAttribute::Anycast(ip) => a.anycast = Some(ip.to_string()),
            AddressAttribute::Label(l) => a.label = Some(l.clone()),
            AddressAttribute::Flags(f) => flags = f.bits(),
            AddressAttribute::RoutePriority(p) => a.metric = Some(*p),
            AddressAttribute::CacheInfo(ci) => {
                a.valid_life_time = Some(ci.ifa_valid);
                a.preferred_life_time = Some(ci.ifa_preferred);
            }
            _ => {}
        }
    }
    let local = local.or(peer);
    let peer = peer.or(local);
    a.ip = local;
    a.local = local.map(|ip| ip.to_string());
    if peer != local {
        a.address = peer.map(|ip| ip.to_string());
    }
    a.flags = address_flag_names(flags, family == AF_INET6);
    a
}

/// `print_ifa_flags`: IFA_F_PERMANENT absent prints `dynamic`; IFA_F_SECONDARY is
/// `temporary` on IPv6.
fn address_flag_names(flags: u32, v6: bool) -> BTreeMap<String, bool> {
    const NAMES: [(u32, &str); 11] = [
        (0x01, "secondary"),
        (0x02, "nodad"),
        (0x04, "optimistic"),
        (0x08, "dadfailed"),
        (0x10, "home"),
        (0x20, "deprecated"),
        (0x40, "tentative"),
        (0x100, "mngtmpaddr"),
        (0x200, "noprefixroute"),
        (0x400, "autojoin"),
        (0x800, "stable-privacy"),
    ];
    let mut out = BTreeMap::new();
    if flags & 0x80 == 0 {
        out.insert("dynamic".to_string(), true);
    }
    for (bit, name) in NAMES {
        if flags & bit != 0 {
            let name = if bit == 0x01 && v6 { "temporary" } else { name };
            out.insert(name.to_string(), true);
        }
    }
    out
}

fn family_name(f: u8) -> String {
    match f {
        AF_INET => "inet".into(),
        AF_INET6 => "inet6".into(),
        0 => "unspec".into(),
        7 => "bridge".into(),
        17 => "link".into(),
        28 => "mpls".into(),
        other => format!("{other}"),
    }
}

/// `rtnl_rtscope_n2a` with the names of `/etc/iproute2/rt_scopes`.
fn scope_name(s: u8) -> String {
    match s {
        0 => "global".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Routes

/// A nexthop of a multipath route.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NextHop {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    pub weight: u32,
    pub flags: Vec<String>,
}

/// `via` of a route whose gateway has another family (IPv4 via IPv6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Via {
    pub family: String,
    pub host: String,
}

/// One route as `ip -j route show table all` prints it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Route {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub dst: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nhid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefsrc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    pub flags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nexthops: Option<Vec<NextHop>>,
    /// `AF_INET` or `AF_INET6`.
    #[serde(skip)]
    pub family: u8,
    #[serde(skip)]
    pub table_id: u32,
    #[serde(skip)]
    pub type_id: u8,
    #[serde(skip)]
    pub oif: Option<u32>,
    /// `RTM_F_CLONED`: a route cache or exception entry (e.g. a PMTU exception learnt through a
    /// tunnel). The kernel includes them in a dump; `ip route show` hides them unless asked for
    /// `cache` (iproute2 `ip/iproute.c`, `filter_nlmsg`).
    #[serde(skip)]
    pub cloned: bool,
}

/// Decodes an RTM_GETROUTE dump of every table (`routes-inet.nl` or `routes-inet6.nl`).
/// `artifact` names the artifact in errors.
pub fn decode_routes(artifact: &str, data: &[u8], names: &LinkNames) -> Decoded<Route> {
    decode_dump(artifact, data, RTM_NEWROUTE, |p| {
        Ok(route_from_message(&RouteMessage::parse(p)?, names))
    })
}

const RTM_F_CLONED: u32 = 0x200;

fn route_from_message(m: &RouteMessage, names: &LinkNames) -> Route {
    let h = &m.header;
    let family = u8::from(h.address_family);
    let host_len = match family {
        AF_INET => 32,
        AF_INET6 => 128,
        _ => 0,
    };
    let type_id = u8::from(h.kind);
    let mut r = Route {
        family,
        type_id,
        table_id: u32::from(h.table),
        ..Route::default()
    };
    let mut dst = None;
    let mut src = None;
    let mut pref = None;
    for attr in &m.attributes {
        match attr {
            RouteAttribute::Destination(a) => dst = Some(route_addr(a)),
            RouteAttribute::Source(a) => src = Some(route_addr(a)),
            RouteAttribute::Gateway(a) => r.gateway = Some(route_addr(a)),
            RouteAttribute::PrefSource(a) => r.prefsrc = Some(route_addr(a)),
            RouteAttribute::Via(v) => r.via = Some(via(v)),
            RouteAttribute::Oif(i) => r.oif = Some(*i),
            RouteAttribute::Iif(i) => r.iif = Some(names.name(*i)),
            RouteAttribute::Table(t) => r.table_id = *t,
            RouteAttribute::Priority(p) => r.metric = Some(*p),
            RouteAttribute::NhId(n) => r.nhid = Some(*n),
            RouteAttribute::Mark(mk) if *mk != 0 => r.mark = Some(*mk),
            RouteAttribute::Preference(p) => pref = Some(u8::from(*p)),
            RouteAttribute::MultiPath(hops) => {
                r.nexthops = Some(
                    hops.iter()
                        .map(|nh| {
                            let mut gateway = None;
                            for a in &nh.attributes {
                                if let RouteAttribute::Gateway(g) = a {
                                    gateway = Some(route_addr(g));
                                }
                            }
                            NextHop {
                                gateway,
                                dev: (nh.interface_index != 0)
                                    .then(|| names.name(nh.interface_index)),
                                weight: u32::from(nh.hops) + 1,
                                flags: route_flag_names(u32::from(nh.flags.bits())),
                            }
                        })
                        .collect(),
                )
            }
            _ => {}
        }
    }
    // print_route: the type unless unicast; "default" without RTA_DST; a bare address for a
    // host route.
    if type_id != 1 {
        r.kind = Some(route_type_name(type_id));
    }
    r.dst = match dst {
        Some(a) if h.destination_prefix_length == host_len => a,
        Some(a) => format!("{a}/{}", h.destination_prefix_length),
        None if h.destination_prefix_length != 0 => {
            format!("0/{}", h.destination_prefix_length)
        }
        None => "default".into(),
    };
    r.from = match src {
        Some(a) if h.source_prefix_length == host_len => Some(a),
        Some(a) => Some(format!("{a}/{}", h.source_prefix_length)),
        None if h.source_prefix_length != 0 => Some(format!("0/{}", h.source_prefix_length)),
        None => None,
    };
    if h.tos != 0 {
        r.tos = Some(format!("{:#x}", h.tos));
    }
    r.dev = r.oif.map(|i| names.name(i));
    // `ip route show table all` names every table but main.
    if r.table_id != 0 && r.table_id != 254 {
        r.table = Some(table_name(r.table_id));
    }
    let flags = h.flags.bits();
    r.cloned = flags & RTM_F_CLONED != 0;
    if !r.cloned {
        let proto = u8::from(h.protocol);
        if proto != 3 {
            r.protocol = Some(protocol_name(proto));
        }
        let scope = u8::from(h.scope);
        if scope != 0 {
            r.scope = Some(scope_name(scope));
        }
    }
    r.flags = route_flag_names(flags);
    r.pref = pref.map(|p| match p {
        0 => "medium".into(),
        1 => "high".into(),
        3 => "low".into(),
        other => other.to_string(),
    });
    r
}

fn route_addr(a: &RouteAddress) -> String {
    match a {
        RouteAddress::Inet(ip) => ip.to_string(),
        RouteAddress::Inet6(ip) => ip.to_string(),
        RouteAddress::Mpls(label) => format!("{}", label.label),
        RouteAddress::Other(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        other => format!("{other:?}"),
    }
}

fn via(v: &RouteVia) -> Via {
    match v {
        RouteVia::Inet(ip) => Via {
            family: "inet".into(),
            host: ip.to_string(),
        },
        RouteVia::Inet6(ip) => Via {
            family: "inet6".into(),
            host: ip.to_string(),
        },
        other => Via {
            family: "unknown".into(),
            host: format!("{other:?}"),
        },
    }
}

/// `print_rt_flags` (ip/iproute.c): nexthop flags then route message flags.
fn route_flag_names(flags: u32) -> Vec<String> {
    const NAMES: [(u32, &str); 11] = [
        (0x1, "dead"),
        (0x4, "onlink"),
        (0x2, "pervasive"),
        (0x8, "offload"),
        (0x40, "trap"),
        (0x100, "notify"),
        (0x10, "linkdown"),
        (0x20, "unresolved"),
        (0x2000, "rt_offload"),
        (0x4000, "rt_trap"),
        (0x2000_0000, "rt_offload_failed"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// `rtnl_rtntype_n2a` (lib/rt_names.c).
fn route_type_name(t: u8) -> String {
    const NAMES: [&str; 12] = [
        "none",
        "unicast",
        "local",
        "broadcast",
        "anycast",
        "multicast",
        "blackhole",
        "unreachable",
        "prohibit",
        "throw",
        "nat",
        "xresolve",
    ];
    NAMES
        .get(usize::from(t))
        .map_or_else(|| t.to_string(), |s| s.to_string())
}

/// `rtnl_rttable_n2a` with the reserved names of `/etc/iproute2/rt_tables`.
pub fn table_name(t: u32) -> String {
    match t {
        0 => "unspec".into(),
        253 => "default".into(),
        254 => "main".into(),
        255 => "local".into(),
        other => other.to_string(),
    }
}

/// `rtnl_rtprot_n2a` with the names of iproute2's `/etc/iproute2/rt_protos` (Debian 12).
/// Calico programs its routes with protocol 80, which has no name there.
fn protocol_name(p: u8) -> String {
    let name = match p {
        0 => "unspec",
        1 => "redirect",
        2 => "kernel",
        3 => "boot",
        4 => "static",
        8 => "gated",
        9 => "ra",
        10 => "mrt",
        11 => "zebra",
        12 => "bird",
        13 => "dnrouted",
        14 => "xorp",
        15 => "ntk",
        16 => "dhcp",
        18 => "keepalived",
        42 => "babel",
        99 => "openr",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        192 => "eigrp",
        other => return other.to_string(),
    };
    name.to_string()
}

// ---------------------------------------------------------------------------------------------
// Rules

/// One policy rule as `ip -j rule` prints it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rule {
    pub priority: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not: Option<()>,
    pub src: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srclen: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dstlen: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmask: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l3mdev: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_start: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_end: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tun_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppress_prefixlen: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppress_ifgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goto: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nop: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip)]
    pub family: u8,
    #[serde(skip)]
    pub table_id: u32,
    #[serde(skip)]
    pub fwmark_value: Option<(u32, u32)>,
}

/// Decodes an RTM_GETRULE dump (`rules-inet.nl` or `rules-inet6.nl`).
pub fn decode_rules(artifact: &str, data: &[u8]) -> Decoded<Rule> {
    decode_dump(artifact, data, RTM_NEWRULE, |p| {
        Ok(rule_from_message(&RuleMessage::parse(p)?))
    })
}

const FIB_RULE_INVERT: u32 = 0x2;

fn rule_from_message(m: &RuleMessage) -> Rule {
    let h = &m.header;
    let family = u8::from(h.family);
    let host_len = if family == AF_INET6 { 128 } else { 32 };
    let mut r = Rule {
        family,
        table_id: u32::from(h.table),
        ..Rule::default()
    };
    let (mut src, mut dst) = (None, None);
    let (mut mark, mut mask) = (None, None);
    let mut suppress_prefixlen = None;
    let mut suppress_ifgroup = None;
    let mut goto = None;
    for attr in &m.attributes {
        match attr {
            RuleAttribute::Priority(p) => r.priority = *p,
            RuleAttribute::Source(ip) => src = Some(*ip),
            RuleAttribute::Destination(ip) => dst = Some(*ip),
            RuleAttribute::FwMark(v) => mark = Some(*v),
            RuleAttribute::FwMask(v) => mask = Some(*v),
            RuleAttribute::Iifname(n) => r.iif = Some(n.clone()),
            RuleAttribute::Oifname(n) => r.oif = Some(n.clone()),
            RuleAttribute::L3MDev(true) => r.l3mdev = Some(()),
            RuleAttribute::UidRange(u) => {
                r.uid_start = Some(u.start);
                r.uid_end = Some(u.end);
            }
            RuleAttribute::TunId(t) => r.tun_id = Some(*t),
            RuleAttribute::Table(t) => r.table_id = *t,
            RuleAttribute::SuppressPrefixLen(v) => suppress_prefixlen = Some(*v as i32),
            RuleAttribute::SuppressIfGroup(v) => suppress_ifgroup = Some(*v as i32),
            RuleAttribute::Goto(g) => goto = Some(*g),
            RuleAttribute::Protocol(p) => {
                let p = u8::from(*p);
                if p != 0 && p != 2 {
                    r.protocol = Some(protocol_name(p));
                }
            }
            _ => {}
        }
    }
    if h.flags.bits() & FIB_RULE_INVERT != 0 {
        r.not = Some(());
    }
    r.src = match src {
        Some(ip) => {
            if h.src_len != host_len {
                r.srclen = Some(h.src_len);
            }
            ip.to_string()
        }
        None if h.src_len != 0 => {
            r.srclen = Some(h.src_len);
            "0".into()
        }
        None => "all".into(),
    };
    match dst {
        Some(ip) => {
            r.dst = Some(ip.to_string());
            if h.dst_len != host_len {
                r.dstlen = Some(h.dst_len);
            }
        }
        None if h.dst_len != 0 => {
            r.dst = Some("0".into());
            r.dstlen = Some(h.dst_len);
        }
        None => {}
    }
    if h.tos != 0 {
        r.tos = Some(format!("{:#x}", h.tos));
    }
    if mark.is_some() || mask.is_some() {
        let mark = mark.unwrap_or(0);
        r.fwmark = Some(hex(mark));
        if let Some(mask) = mask.filter(|m| *m != u32::MAX) {
            r.fwmask = Some(hex(mask));
        }
        r.fwmark_value = Some((mark, mask.unwrap_or(u32::MAX)));
    }
    if r.table_id != 0 {
        r.table = Some(table_name(r.table_id));
        r.suppress_prefixlen = suppress_prefixlen.filter(|v| *v != -1);
        r.suppress_ifgroup = suppress_ifgroup.filter(|v| *v != -1).map(|g| g.to_string());
    }
    match u8::from(h.action) {
        1 => {}
        2 => r.goto = goto,
        3 => r.nop = Some(()),
        other => r.action = Some(route_type_name(other)),
    }
    r
}

/// C's `%#llx`: `0` for zero, `0x..` otherwise.
fn hex(v: u32) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

// ---------------------------------------------------------------------------------------------
// Neighbours

/// One neighbour entry as `ip -j neigh` prints it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Neighbour {
    pub dst: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lladdr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extern_learn: Option<()>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub state: Vec<String>,
    #[serde(skip)]
    pub family: u8,
    #[serde(skip)]
    pub state_bits: u16,
    #[serde(skip)]
    pub flag_bits: u8,
}

const NUD_NOARP: u16 = 0x40;
const NTF_PROXY: u8 = 0x08;
const NTF_EXT_LEARNED: u8 = 0x10;

impl Neighbour {
    /// Whether plain `ip neigh` lists it: its default state filter leaves out NOARP and
    /// state-less entries unless they are proxy or externally learned.
    pub fn shown_by_default(&self) -> bool {
        self.state_bits & 0xff & !NUD_NOARP != 0
            || self.flag_bits & (NTF_PROXY | NTF_EXT_LEARNED) != 0
    }
}

/// Decodes an RTM_GETNEIGH dump (`netlink/rtnl/neigh.nl`).
pub fn decode_neighbours(data: &[u8], names: &LinkNames) -> Decoded<Neighbour> {
    decode_dump(netsnap_bundle::names::RTNL_NEIGH, data, RTM_NEWNEIGH, |p| {
        let m = NeighbourMessage::parse(p)?;
        let state_bits = u16::from(m.header.state);
        let flag_bits = m.header.flags.bits();
        let mut n = Neighbour {
            family: u8::from(m.header.family),
            state_bits,
            flag_bits,
            dev: (m.header.ifindex != 0).then(|| names.name(m.header.ifindex)),
            state: neigh_state_names(state_bits),
            ..Neighbour::default()
        };
        for attr in &m.attributes {
            match attr {
                NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => {
                    n.dst = ip.to_string()
                }
                NeighbourAttribute::Destination(NeighbourAddress::Inet6(ip)) => {
                    n.dst = ip.to_string()
                }
                NeighbourAttribute::LinkLayerAddress(a) => n.lladdr = Some(ll_addr(a, 1)),
                _ => {}
            }
        }
        if flag_bits & 0x80 != 0 {
            n.router = Some(());
        }
        if flag_bits & NTF_PROXY != 0 {
            n.proxy = Some(());
        }
        if flag_bits & NTF_EXT_LEARNED != 0 {
            n.extern_learn = Some(());
        }
        Ok(n)
    })
}

fn neigh_state_names(state: u16) -> Vec<String> {
    const NAMES: [(u16, &str); 8] = [
        (0x01, "INCOMPLETE"),
        (0x02, "REACHABLE"),
        (0x04, "STALE"),
        (0x08, "DELAY"),
        (0x10, "PROBE"),
        (0x20, "FAILED"),
        (0x40, "NOARP"),
        (0x80, "PERMANENT"),
    ];
    let mut out: Vec<String> = NAMES
        .iter()
        .filter(|(bit, _)| state & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let rest = state & !0xff;
    if rest != 0 {
        out.push(format!("{rest:#x}"));
    }
    out
}

#[cfg(test)]
mod tests;
