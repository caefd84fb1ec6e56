//! The IPVS table from a bundle: the stored generic-netlink replies (`netlink/ipvs/*.nl`) or,
//! without CAP_NET_ADMIN, the world-readable `/proc/net/ip_vs` text. Both decode into the same
//! [`IpvsTable`]; what a source does not carry stays `None`.
//!
//! Pure: bytes and text in, values out. Problems that leave the rest usable (one bad message, a
//! dump cut short, a kernel error for one service's destinations) are collected in
//! [`IpvsTable::problems`]; only a services dump that yields nothing at all is an `Err`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_ipvs::{
    DestAttr, IpvsCommand, IpvsDaemon, IpvsDest, IpvsMessage, IpvsService, AF_INET, AF_INET6,
    IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT,
};
use netsnap_bundle::names;

use crate::decode::netlink::{messages, FramingError, NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP_INTR};

const NLMSG_HDRLEN: usize = 16;
/// Message types below this are netlink control messages (`NLMSG_MIN_TYPE`).
const NLMSG_MIN_TYPE: u16 = 0x10;

/// The IPVS state of one network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpvsTable {
    /// `IPVS_INFO_ATTR_VERSION`, e.g. 0x010201 for 1.2.1.
    pub version: Option<u32>,
    /// Connection hash table size (`IPVS_INFO_ATTR_CONN_TAB_SIZE`, or `size=` in the proc text).
    pub conn_tab_size: Option<u32>,
    /// Connection timeouts from GET_CONFIG.
    pub timeouts: Option<IpvsTimeouts>,
    /// Connection-sync daemons (none on a Kubernetes node, normally).
    pub daemons: Vec<IpvsDaemon>,
    /// Virtual services, in the order the kernel listed them (hash order, not ipvsadm's).
    pub services: Vec<IpvsVirtualServer>,
    /// What could not be decoded; the rest of the table is still valid.
    pub problems: Vec<IpvsDecodeError>,
}

/// `ipvsadm -L --timeout`: seconds; a protocol the kernel was built without is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpvsTimeouts {
    /// Established TCP.
    pub tcp: Option<u32>,
    /// TCP FIN_WAIT.
    pub tcp_fin: Option<u32>,
    /// UDP.
    pub udp: Option<u32>,
}

/// A virtual service and its destinations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpvsVirtualServer {
    /// The service's attributes.
    pub service: IpvsService,
    /// Its destinations, in the kernel's order.
    pub dests: Vec<IpvsDest>,
    /// True when the destination list is complete: the GET_DEST dump for this service was
    /// found and ended normally (always true for the proc source).
    pub dests_complete: bool,
    /// `/proc/net/ip_vs` prints the persistence timeout in jiffies, not seconds (the kernel's
    /// `svc->timeout`), and HZ is not recorded; netlink gives seconds in `service.timeout`.
    pub proc_timeout_jiffies: Option<u32>,
}

/// Why (part of) the IPVS evidence could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpvsDecodeError {
    /// The framing of an artifact is broken; messages before `offset` were used.
    #[error("{artifact}: {source}")]
    Framing {
        artifact: &'static str,
        #[source]
        source: FramingError,
    },
    /// The kernel answered with an error (e.g. -1 EPERM without CAP_NET_ADMIN).
    #[error("{artifact}: the kernel answered error {errno} ({})", errno_name(*errno))]
    Kernel {
        artifact: &'static str,
        offset: usize,
        errno: i32,
    },
    /// One message could not be parsed; it was skipped.
    #[error("{artifact}: message at byte {offset}: {reason}")]
    Message {
        artifact: &'static str,
        offset: usize,
        reason: String,
    },
    /// `NLM_F_DUMP_INTR`: the table changed during the dump, so it may be inconsistent.
    #[error("{artifact}: the dump was interrupted by a change and may be inconsistent")]
    Interrupted { artifact: &'static str },
    /// The artifact ends without `NLMSG_DONE`: the capture was cut short.
    #[error("{artifact}: the dump ends without NLMSG_DONE (cut short)")]
    Unterminated { artifact: &'static str },
    /// Destination replies whose request names no known service.
    #[error(
        "{artifact}: the GET_DEST request at byte {offset} names no service of the services dump"
    )]
    UnknownService {
        artifact: &'static str,
        offset: usize,
    },
    /// A service whose destinations were not (completely) collected.
    #[error("{artifact}: no complete destination list for service {service}")]
    MissingDests {
        artifact: &'static str,
        service: String,
    },
    /// A line of `/proc/net/ip_vs` that does not have the kernel's format.
    #[error("{artifact}: line {line}: {reason}")]
    ProcLine {
        artifact: &'static str,
        line: usize,
        reason: String,
    },
}

fn errno_name(errno: i32) -> &'static str {
    match -errno {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        13 => "EACCES",
        22 => "EINVAL",
        90 => "EMSGSIZE",
        95 => "EOPNOTSUPP",
        97 => "EAFNOSUPPORT",
        _ => "see errno(3)",
    }
}

/// The stored IPVS netlink artifacts of a bundle (`netsnap_bundle::names::IPVS_*`).
#[derive(Debug, Clone, Copy, Default)]
pub struct IpvsArtifacts<'a> {
    /// `IPVS_SERVICES`: the GET_SERVICE dump.
    pub services: &'a [u8],
    /// `IPVS_DESTS`: for each service, our GET_DEST request followed by the kernel's replies.
    pub dests: &'a [u8],
    /// `IPVS_INFO`: the GET_INFO reply.
    pub info: Option<&'a [u8]>,
    /// `IPVS_CONFIG`: the GET_CONFIG reply.
    pub config: Option<&'a [u8]>,
    /// `IPVS_DAEMONS`: the GET_DAEMON dump.
    pub daemons: Option<&'a [u8]>,
}

/// Splits an artifact into messages, recording framing, parse and interruption problems.
struct Reader<'a> {
    artifact: &'static str,
    data: &'a [u8],
}

/// One message of an artifact, classified.
struct Parsed {
    offset: usize,
    is_request: bool,
    kind: ParsedKind,
}

enum ParsedKind {
    Ipvs(IpvsMessage),
    Done(i32),
    Error(i32),
    Skip,
}

impl<'a> Reader<'a> {
    fn read(&self, problems: &mut Vec<IpvsDecodeError>) -> Vec<Parsed> {
        let mut out = Vec::new();
        let mut interrupted = false;
        for msg in messages(self.data) {
            let msg = match msg {
                Ok(m) => m,
                Err(source) => {
                    problems.push(IpvsDecodeError::Framing {
                        artifact: self.artifact,
                        source,
                    });
                    break;
                }
            };
            if msg.flags & NLM_F_DUMP_INTR != 0 && !interrupted {
                interrupted = true;
                problems.push(IpvsDecodeError::Interrupted {
                    artifact: self.artifact,
                });
            }
            let kind = match msg.message_type {
                NLMSG_ERROR => match msg.error_code() {
                    Some(code) => ParsedKind::Error(code),
                    None => {
                        problems.push(self.bad(msg.offset, "truncated NLMSG_ERROR".into()));
                        ParsedKind::Skip
                    }
                },
                // A dump's NLMSG_DONE carries the dump's final status.
                NLMSG_DONE => ParsedKind::Done(
                    msg.bytes
                        .get(NLMSG_HDRLEN..NLMSG_HDRLEN + 4)
                        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                        .unwrap_or(0),
                ),
                t if t < NLMSG_MIN_TYPE => ParsedKind::Skip,
                _ => match IpvsMessage::parse_genl(&msg.bytes[NLMSG_HDRLEN..]) {
                    Ok(m) => ParsedKind::Ipvs(m),
                    Err(e) => {
                        problems.push(self.bad(msg.offset, e.to_string()));
                        ParsedKind::Skip
                    }
                },
            };
            out.push(Parsed {
                offset: msg.offset,
                is_request: msg.is_request(),
                kind,
            });
        }
        out
    }

    fn bad(&self, offset: usize, reason: String) -> IpvsDecodeError {
        IpvsDecodeError::Message {
            artifact: self.artifact,
            offset,
            reason,
        }
    }
}

/// The identity the kernel looks a service up by (`ip_vs_genl_parse_service`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ServiceKey {
    af: Option<u16>,
    fwmark: Option<u32>,
    protocol: Option<u16>,
    addr: Option<IpAddr>,
    port: Option<u16>,
}

impl ServiceKey {
    fn of(s: &IpvsService) -> Self {
        match s.fwmark {
            Some(m) if m != 0 => Self {
                af: s.af,
                fwmark: Some(m),
                protocol: None,
                addr: None,
                port: None,
            },
            _ => Self {
                af: s.af,
                fwmark: None,
                protocol: s.protocol,
                addr: s.addr,
                port: s.port,
            },
        }
    }
}

/// A short human name of a service for problem reports ("TCP 10.96.0.1:443", "FWM 42").
pub fn service_label(s: &IpvsService) -> String {
    if let Some(m) = s.fwmark.filter(|m| *m != 0) {
        return format!("FWM {m}");
    }
    let proto = match s.protocol {
        Some(IPPROTO_TCP) => "TCP".to_string(),
        Some(IPPROTO_UDP) => "UDP".to_string(),
        Some(IPPROTO_SCTP) => "SCTP".to_string(),
        Some(p) => format!("proto {p}"),
        None => "?".to_string(),
    };
    let addr = match s.addr {
        Some(IpAddr::V6(a)) => format!("[{a}]"),
        Some(a) => a.to_string(),
        None => "?".to_string(),
    };
    let port = s.port.map_or_else(|| "?".to_string(), |p| p.to_string());
    format!("{proto} {addr}:{port}")
}

/// Decodes the stored netlink artifacts. `Err` only when the services dump yields nothing
/// usable (a kernel error such as EPERM, or broken framing before the first service).
pub fn decode_ipvs(a: &IpvsArtifacts<'_>) -> Result<IpvsTable, IpvsDecodeError> {
    let mut table = IpvsTable::default();
    decode_services(a.services, &mut table)?;
    decode_dests(a.dests, &mut table);
    if let Some(info) = a.info {
        decode_info(info, &mut table);
    }
    if let Some(config) = a.config {
        decode_config(config, &mut table);
    }
    if let Some(daemons) = a.daemons {
        decode_daemons(daemons, &mut table);
    }
    Ok(table)
}

/// Records the end of a dump: a non-zero NLMSG_DONE status or a missing terminator.
fn check_end(artifact: &'static str, items: &[Parsed], problems: &mut Vec<IpvsDecodeError>) {
    match items.last().map(|p| &p.kind) {
        Some(ParsedKind::Done(0)) | Some(ParsedKind::Error(_)) => {}
        Some(ParsedKind::Done(errno)) => problems.push(IpvsDecodeError::Kernel {
            artifact,
            offset: items.last().map_or(0, |p| p.offset),
            errno: *errno,
        }),
        _ => problems.push(IpvsDecodeError::Unterminated { artifact }),
    }
}

fn decode_services(data: &[u8], table: &mut IpvsTable) -> Result<(), IpvsDecodeError> {
    let artifact = names::IPVS_SERVICES;
    let mut problems = Vec::new();
    let items = Reader { artifact, data }.read(&mut problems);
    for item in &items {
        match &item.kind {
            ParsedKind::Ipvs(m) if !item.is_request && m.cmd == IpvsCommand::NewService => {
                match m.service_attrs() {
                    Some(attrs) => table.services.push(IpvsVirtualServer {
                        service: IpvsService::from_attrs(attrs),
                        ..Default::default()
                    }),
                    None => problems.push(IpvsDecodeError::Message {
                        artifact,
                        offset: item.offset,
                        reason: "NEW_SERVICE without a SERVICE attribute".into(),
                    }),
                }
            }
            ParsedKind::Error(errno) if *errno != 0 => {
                let err = IpvsDecodeError::Kernel {
                    artifact,
                    offset: item.offset,
                    errno: *errno,
                };
                if table.services.is_empty() {
                    return Err(err);
                }
                problems.push(err);
            }
            _ => {}
        }
    }
    if table.services.is_empty() {
        // Nothing decoded: the first framing or parse problem is the reason, if any.
        if let Some(first) = problems.iter().find(|p| {
            matches!(
                p,
                IpvsDecodeError::Framing { .. } | IpvsDecodeError::Message { .. }
            )
        }) {
            return Err(first.clone());
        }
    }
    check_end(artifact, &items, &mut problems);
    table.problems.extend(problems);
    Ok(())
}

fn decode_dests(data: &[u8], table: &mut IpvsTable) {
    let artifact = names::IPVS_DESTS;
    let mut problems = Vec::new();
    let items = Reader { artifact, data }.read(&mut problems);
    // One lookup per request: tables with thousands of services are normal on a node. The
    // first service of a key wins, as the kernel's lookup finds one service per key.
    let mut index: std::collections::HashMap<ServiceKey, usize> =
        std::collections::HashMap::with_capacity(table.services.len());
    for (i, vs) in table.services.iter().enumerate() {
        index.entry(ServiceKey::of(&vs.service)).or_insert(i);
    }
    // The service the replies being read belong to; None while skipping unmatched replies.
    let mut current: Option<usize> = None;
    for item in &items {
        match &item.kind {
            ParsedKind::Ipvs(m) if item.is_request => {
                let wanted = m.service_attrs().map(IpvsService::from_attrs);
                current = wanted.and_then(|w| index.get(&ServiceKey::of(&w)).copied());
                match current {
                    Some(i) => {
                        table.services[i].dests.clear();
                        table.services[i].dests_complete = false;
                    }
                    None => problems.push(IpvsDecodeError::UnknownService {
                        artifact,
                        offset: item.offset,
                    }),
                }
            }
            ParsedKind::Ipvs(m) if m.cmd == IpvsCommand::NewDest => {
                let Some(i) = current else { continue };
                let attrs: &[DestAttr] = m.dest_attrs().unwrap_or(&[]);
                let af = table.services[i].service.af;
                table.services[i]
                    .dests
                    .push(IpvsDest::from_attrs(attrs, af));
            }
            ParsedKind::Done(status) => {
                if let Some(i) = current.take() {
                    table.services[i].dests_complete = *status == 0;
                    if *status != 0 {
                        problems.push(IpvsDecodeError::Kernel {
                            artifact,
                            offset: item.offset,
                            errno: *status,
                        });
                    }
                }
            }
            ParsedKind::Error(errno) if *errno != 0 => {
                current = None;
                problems.push(IpvsDecodeError::Kernel {
                    artifact,
                    offset: item.offset,
                    errno: *errno,
                });
            }
            _ => {}
        }
    }
    for vs in &table.services {
        if !vs.dests_complete {
            problems.push(IpvsDecodeError::MissingDests {
                artifact,
                service: service_label(&vs.service),
            });
        }
    }
    table.problems.extend(problems);
}

/// Reads a single-reply artifact (GET_INFO, GET_CONFIG) or a dump (GET_DAEMON) and hands every
/// IPVS reply to `each`.
fn for_each_reply(
    artifact: &'static str,
    data: &[u8],
    problems: &mut Vec<IpvsDecodeError>,
    mut each: impl FnMut(&IpvsMessage),
) {
    let items = Reader { artifact, data }.read(problems);
    for item in &items {
        match &item.kind {
            ParsedKind::Ipvs(m) if !item.is_request => each(m),
            ParsedKind::Error(errno) if *errno != 0 => problems.push(IpvsDecodeError::Kernel {
                artifact,
                offset: item.offset,
                errno: *errno,
            }),
            _ => {}
        }
    }
}

fn decode_info(data: &[u8], table: &mut IpvsTable) {
    let mut problems = Vec::new();
    for_each_reply(names::IPVS_INFO, data, &mut problems, |m| {
        if m.cmd == IpvsCommand::SetInfo {
            table.version = m.info_version().or(table.version);
            table.conn_tab_size = m.conn_tab_size().or(table.conn_tab_size);
        }
    });
    table.problems.extend(problems);
}

fn decode_config(data: &[u8], table: &mut IpvsTable) {
    let mut problems = Vec::new();
    for_each_reply(names::IPVS_CONFIG, data, &mut problems, |m| {
        if m.cmd == IpvsCommand::SetConfig {
            let (tcp, tcp_fin, udp) = m.timeouts();
            table.timeouts = Some(IpvsTimeouts { tcp, tcp_fin, udp });
        }
    });
    table.problems.extend(problems);
}

fn decode_daemons(data: &[u8], table: &mut IpvsTable) {
    let artifact = names::IPVS_DAEMONS;
    let mut problems = Vec::new();
    let items = Reader { artifact, data }.read(&mut problems);
    for item in &items {
        match &item.kind {
            ParsedKind::Ipvs(m) if !item.is_request && m.cmd == IpvsCommand::NewDaemon => {
                if let Some(attrs) = m.daemon_attrs() {
                    table.daemons.push(IpvsDaemon::from_attrs(attrs));
                }
            }
            ParsedKind::Error(errno) if *errno != 0 => problems.push(IpvsDecodeError::Kernel {
                artifact,
                offset: item.offset,
                errno: *errno,
            }),
            _ => {}
        }
    }
    check_end(artifact, &items, &mut problems);
    table.problems.extend(problems);
}

/// Whether the IPVS generic-netlink family is registered, from the stored
/// `CTRL_CMD_GETFAMILY` dump (`names::GENL_FAMILIES`): `Ok(Some(id))` registered,
/// `Ok(None)` not registered (ip_vs not loaded), `Err` when the dump is unusable.
pub fn ipvs_family(families: &[u8]) -> Result<Option<u16>, IpvsDecodeError> {
    netlink_ipvs::ipvs_family_id(families).map_err(|e| IpvsDecodeError::Message {
        artifact: names::GENL_FAMILIES,
        offset: 0,
        reason: e.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// /proc/net/ip_vs
// ---------------------------------------------------------------------------------------------

/// Decodes `/proc/net/ip_vs` as `ip_vs_info_seq_show` (net/netfilter/ipvs/ip_vs_ctl.c) writes it:
///
/// ```text
/// IP Virtual Server version 1.2.1 (size=4096)
/// Prot LocalAddress:Port Scheduler Flags
///   -> RemoteAddress:Port Forward Weight ActiveConn InActConn
/// TCP  C0A87A60:7581 rr
///   -> 0AF40102:1F90      Masq    1      0          0
/// TCP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0050 rr persistent 7500 00000080
/// FWM  0000002A sh ops persistent 75000 FFFFFFFF
/// ```
///
/// Addresses and ports are hexadecimal (IPv4 `%08X` of the host-order address, IPv6 `%pI6`
/// uncompressed); IPv4 lines may carry `ops`; the persistence timeout is in jiffies and the mask
/// `%08X` of `ntohl(netmask)`. "Bypass" destinations print as "Masq". The file lacks flags other
/// than persistent and ops, protocol numbers of unknown protocols it names `IP_<n>`, statistics,
/// thresholds and tunnel settings: those stay `None`.
pub fn decode_proc_net_ip_vs(text: &str) -> Result<IpvsTable, IpvsDecodeError> {
    let artifact = names::PROC_NET_IP_VS;
    let mut table = IpvsTable::default();
    let mut lines = text.lines().enumerate();
    let bad = |line: usize, reason: &str| IpvsDecodeError::ProcLine {
        artifact,
        line: line + 1,
        reason: reason.to_string(),
    };
    let (n, first) = lines.next().ok_or_else(|| bad(0, "empty file"))?;
    let (version, size) = parse_proc_header(first).ok_or_else(|| bad(n, "not the IPVS header"))?;
    table.version = Some(version);
    table.conn_tab_size = Some(size);
    for (n, line) in lines {
        if line.trim().is_empty()
            || line.starts_with("Prot LocalAddress")
            || line.trim_start().starts_with("-> RemoteAddress")
        {
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix("->") {
            if !line.starts_with("  ->") {
                table.problems.push(bad(n, "unexpected indentation"));
            }
            match (parse_proc_dest(rest), table.services.last_mut()) {
                (Some(dest), Some(vs)) => vs.dests.push(dest),
                (None, _) => table.problems.push(bad(n, "unreadable destination line")),
                (Some(_), None) => table
                    .problems
                    .push(bad(n, "destination before any service")),
            }
        } else {
            match parse_proc_service(line) {
                Some(vs) => table.services.push(vs),
                None => table.problems.push(bad(n, "unreadable service line")),
            }
        }
    }
    Ok(table)
}

fn parse_proc_header(line: &str) -> Option<(u32, u32)> {
    let rest = line.strip_prefix("IP Virtual Server version ")?;
    let (ver, rest) = rest.split_once(' ')?;
    let size = rest
        .strip_prefix("(size=")?
        .strip_suffix(')')?
        .parse()
        .ok()?;
    let mut parts = ver
        .split('.')
        .map(|p| p.parse::<u32>().ok().filter(|v| *v <= 0xff));
    let (a, b, c) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() {
        return None;
    }
    Some(((a << 16) | (b << 8) | c, size))
}

/// `%08X:%04X` (IPv4) or `[%pI6]:%04X` (IPv6).
fn parse_proc_addr_port(s: &str) -> Option<(u16, IpAddr, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (addr, port) = rest.split_once("]:")?;
        let addr: Ipv6Addr = addr.parse().ok()?;
        Some((
            AF_INET6,
            IpAddr::V6(addr),
            u16::from_str_radix(port, 16).ok()?,
        ))
    } else {
        let (addr, port) = s.split_once(':')?;
        if addr.len() != 8 || port.len() != 4 {
            return None;
        }
        let addr = Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?);
        Some((
            AF_INET,
            IpAddr::V4(addr),
            u16::from_str_radix(port, 16).ok()?,
        ))
    }
}

/// `ip_vs_proto_name`: TCP, UDP, SCTP, ICMP, ICMPv6, IP, or `IP_<n>`.
fn proto_number(name: &str) -> Option<u16> {
    Some(match name {
        "TCP" => IPPROTO_TCP,
        "UDP" => IPPROTO_UDP,
        "SCTP" => IPPROTO_SCTP,
        "ICMP" => 1,
        "ICMPv6" => 58,
        "IP" => 0,
        other => other.strip_prefix("IP_")?.parse().ok()?,
    })
}

fn parse_proc_service(line: &str) -> Option<IpvsVirtualServer> {
    let mut tok = line.split_whitespace();
    let proto = tok.next()?;
    let target = tok.next()?;
    let sched = tok.next()?;
    let mut s = IpvsService {
        scheduler: Some(sched.to_string()),
        ..Default::default()
    };
    if proto == "FWM" {
        // The proc file does not say the family of firewall-mark services.
        s.fwmark = Some(u32::from_str_radix(target, 16).ok()?);
    } else {
        let (af, addr, port) = parse_proc_addr_port(target)?;
        s.af = Some(af);
        s.protocol = Some(proto_number(proto)?);
        s.addr = Some(addr);
        s.port = Some(port);
    }
    let mut flags = 0;
    let mut vs = IpvsVirtualServer {
        dests_complete: true,
        ..Default::default()
    };
    while let Some(t) = tok.next() {
        match t {
            "ops" => flags |= IP_VS_SVC_F_ONEPACKET,
            "persistent" => {
                flags |= IP_VS_SVC_F_PERSISTENT;
                vs.proc_timeout_jiffies = Some(tok.next()?.parse().ok()?);
                s.netmask = Some(u32::from_str_radix(tok.next()?, 16).ok()?);
            }
            _ => return None,
        }
    }
    s.flags = Some(flags);
    vs.service = s;
    Some(vs)
}

fn parse_proc_dest(rest: &str) -> Option<IpvsDest> {
    let mut tok = rest.split_whitespace();
    let (af, addr, port) = parse_proc_addr_port(tok.next()?)?;
    let fwd = match tok.next()? {
        "Masq" => 0,
        "Local" => 1,
        "Tunnel" => 2,
        "Route" => 3,
        _ => return None,
    };
    // `%-6d %-10d %-10d` of atomic ints.
    let weight: i32 = tok.next()?.parse().ok()?;
    let active: i32 = tok.next()?.parse().ok()?;
    let inactive: i32 = tok.next()?.parse().ok()?;
    if tok.next().is_some() {
        return None;
    }
    Some(IpvsDest {
        addr: Some(addr),
        port: Some(port),
        fwd_method: Some(fwd),
        weight: Some(weight as u32),
        active_conns: Some(active as u32),
        inactive_conns: Some(inactive as u32),
        addr_family: Some(af),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_ipvs::{DestAttr, IpvsAttr, IpvsFlags, ServiceAttr, Stats64Attr};
    use netlink_packet_core::Emitable;

    const FAMILY: u16 = 0x25;
    const MULTI: u16 = 0x2;
    const REQUEST_DUMP: u16 = 0x301;

    /// One netlink message: header, payload, padding.
    fn nl(kind: u16, flags: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(payload);
        v.resize(v.len().next_multiple_of(4), 0);
        v
    }

    fn ipvs(flags: u16, msg: IpvsMessage) -> Vec<u8> {
        let mut payload = vec![u8::from(msg.cmd), 1, 0, 0];
        let start = payload.len();
        payload.resize(start + msg.buffer_len(), 0);
        msg.emit(&mut payload[start..]);
        nl(FAMILY, flags, &payload)
    }

    fn done() -> Vec<u8> {
        nl(NLMSG_DONE, MULTI, &0i32.to_ne_bytes())
    }

    fn error(errno: i32) -> Vec<u8> {
        let mut p = errno.to_ne_bytes().to_vec();
        p.extend_from_slice(&[0; 16]);
        nl(NLMSG_ERROR, 0, &p)
    }

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut raw = [0; 16];
        raw[..4].copy_from_slice(&a);
        raw
    }

    fn tcp4(addr: [u8; 4], port: u16) -> Vec<ServiceAttr> {
        vec![
            ServiceAttr::Af(AF_INET),
            ServiceAttr::Protocol(IPPROTO_TCP),
            ServiceAttr::Addr(v4(addr)),
            ServiceAttr::Port(port),
            ServiceAttr::SchedName("rr".into()),
            ServiceAttr::Flags(IpvsFlags {
                flags: 2,
                mask: u32::MAX,
            }),
            ServiceAttr::Timeout(0),
            ServiceAttr::Netmask(u32::MAX),
            ServiceAttr::Stats64(vec![Stats64Attr::Conns(9)]),
        ]
    }

    fn fwm6(mark: u32) -> Vec<ServiceAttr> {
        vec![
            ServiceAttr::Af(AF_INET6),
            ServiceAttr::Fwmark(mark),
            ServiceAttr::SchedName("sh".into()),
        ]
    }

    fn service_reply(attrs: Vec<ServiceAttr>) -> Vec<u8> {
        ipvs(
            MULTI,
            IpvsMessage {
                cmd: IpvsCommand::NewService,
                attrs: vec![IpvsAttr::Service(attrs)],
            },
        )
    }

    fn dest_reply(addr: [u8; 4], port: u16, active: u32) -> Vec<u8> {
        ipvs(
            MULTI,
            IpvsMessage {
                cmd: IpvsCommand::NewDest,
                attrs: vec![IpvsAttr::Dest(vec![
                    DestAttr::Addr(v4(addr)),
                    DestAttr::Port(port),
                    DestAttr::FwdMethod(0),
                    DestAttr::Weight(1),
                    DestAttr::ActiveConns(active),
                    DestAttr::InactConns(0),
                ])],
            },
        )
    }

    fn dests_request(service: &[ServiceAttr]) -> Vec<u8> {
        ipvs(REQUEST_DUMP, netlink_ipvs::get_dests(service))
    }

    struct Bundle {
        services: Vec<u8>,
        dests: Vec<u8>,
        info: Vec<u8>,
        config: Vec<u8>,
        daemons: Vec<u8>,
    }

    impl Bundle {
        fn artifacts(&self) -> IpvsArtifacts<'_> {
            IpvsArtifacts {
                services: &self.services,
                dests: &self.dests,
                info: Some(&self.info),
                config: Some(&self.config),
                daemons: Some(&self.daemons),
            }
        }
    }

    fn good_bundle() -> Bundle {
        let a = tcp4([10, 96, 0, 1], 443);
        let b = fwm6(42);
        let services = [service_reply(a.clone()), service_reply(b.clone()), done()].concat();
        let dests = [
            dests_request(&a),
            dest_reply([192, 168, 122, 96], 6443, 3),
            dest_reply([192, 168, 122, 97], 6443, 1),
            done(),
            dests_request(&b),
            done(),
        ]
        .concat();
        let info = ipvs(
            0,
            IpvsMessage {
                cmd: IpvsCommand::SetInfo,
                attrs: vec![IpvsAttr::Version(0x010201), IpvsAttr::ConnTabSize(4096)],
            },
        );
        let config = ipvs(
            0,
            IpvsMessage {
                cmd: IpvsCommand::SetConfig,
                attrs: vec![
                    IpvsAttr::TimeoutTcp(900),
                    IpvsAttr::TimeoutTcpFin(120),
                    IpvsAttr::TimeoutUdp(300),
                ],
            },
        );
        Bundle {
            services,
            dests,
            info,
            config,
            daemons: done(),
        }
    }

    #[test]
    fn decodes_services_dests_info_config() {
        let b = good_bundle();
        let t = decode_ipvs(&b.artifacts()).expect("decodes");
        assert_eq!(t.problems, vec![]);
        assert_eq!(t.version, Some(0x010201));
        assert_eq!(t.conn_tab_size, Some(4096));
        assert_eq!(
            t.timeouts,
            Some(IpvsTimeouts {
                tcp: Some(900),
                tcp_fin: Some(120),
                udp: Some(300)
            })
        );
        assert_eq!(t.daemons, vec![]);
        assert_eq!(t.services.len(), 2);
        let first = &t.services[0];
        assert_eq!(service_label(&first.service), "TCP 10.96.0.1:443");
        assert_eq!(first.service.stats64.map(|s| s.conns), Some(9));
        assert!(first.dests_complete);
        let dests: Vec<_> = first
            .dests
            .iter()
            .map(|d| (d.addr, d.port, d.active_conns))
            .collect();
        assert_eq!(
            dests,
            vec![
                (
                    Some(IpAddr::V4(Ipv4Addr::new(192, 168, 122, 96))),
                    Some(6443),
                    Some(3)
                ),
                (
                    Some(IpAddr::V4(Ipv4Addr::new(192, 168, 122, 97))),
                    Some(6443),
                    Some(1)
                ),
            ]
        );
        let second = &t.services[1];
        assert_eq!(service_label(&second.service), "FWM 42");
        assert!(second.dests_complete);
        assert!(second.dests.is_empty());
    }

    #[test]
    fn eperm_on_services_is_a_typed_error() {
        let b = Bundle {
            services: error(-1),
            dests: Vec::new(),
            info: error(-1),
            config: error(-1),
            daemons: error(-1),
        };
        let err = decode_ipvs(&b.artifacts()).expect_err("EPERM");
        assert_eq!(
            err,
            IpvsDecodeError::Kernel {
                artifact: names::IPVS_SERVICES,
                offset: 0,
                errno: -1
            }
        );
        assert!(err.to_string().contains("EPERM"), "{err}");
    }

    #[test]
    fn partial_results_are_kept_with_their_problems() {
        let mut b = good_bundle();
        // Services dump cut inside the second service: the first survives.
        let first_len = service_reply(tcp4([10, 96, 0, 1], 443)).len();
        b.services.truncate(first_len + 10);
        // The destinations of the first service end in an error; a request names a stranger.
        let a = tcp4([10, 96, 0, 1], 443);
        b.dests = [
            dests_request(&a),
            dest_reply([192, 168, 122, 96], 6443, 3),
            error(-22),
            dests_request(&tcp4([1, 2, 3, 4], 5)),
            dest_reply([9, 9, 9, 9], 9, 9),
            done(),
        ]
        .concat();
        b.info = error(-1);
        let t = decode_ipvs(&b.artifacts()).expect("partial");
        assert_eq!(t.services.len(), 1);
        assert!(!t.services[0].dests_complete);
        assert_eq!(
            t.services[0].dests.len(),
            1,
            "replies before the error are kept"
        );
        assert_eq!(t.version, None);
        let kinds: Vec<_> = t
            .problems
            .iter()
            .map(|p| match p {
                IpvsDecodeError::Framing { .. } => "framing",
                IpvsDecodeError::Unterminated { .. } => "unterminated",
                IpvsDecodeError::Kernel { errno: -22, .. } => "einval",
                IpvsDecodeError::Kernel { errno: -1, .. } => "eperm",
                IpvsDecodeError::UnknownService { .. } => "unknown-service",
                IpvsDecodeError::MissingDests { .. } => "missing-dests",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                "framing",
                "unterminated",
                "einval",
                "unknown-service",
                "missing-dests",
                "eperm"
            ]
        );
    }

    #[test]
    fn interrupted_dump_is_reported() {
        let mut b = good_bundle();
        // Set NLM_F_DUMP_INTR on the first service reply.
        b.services[6] |= 0x10;
        let t = decode_ipvs(&b.artifacts()).expect("decodes");
        assert_eq!(t.services.len(), 2);
        assert_eq!(
            t.problems,
            vec![IpvsDecodeError::Interrupted {
                artifact: names::IPVS_SERVICES
            }]
        );
    }

    #[test]
    fn no_truncation_or_corruption_panics() {
        let b = good_bundle();
        for cut in 0..b.services.len() {
            let _ = decode_ipvs(&IpvsArtifacts {
                services: &b.services[..cut],
                ..b.artifacts()
            });
        }
        for cut in 0..b.dests.len() {
            let r = decode_ipvs(&IpvsArtifacts {
                dests: &b.dests[..cut],
                ..b.artifacts()
            })
            .expect("services are intact");
            assert_eq!(r.services.len(), 2);
        }
        for i in 0..b.dests.len() {
            let mut d = b.dests.clone();
            d[i] ^= 0xff;
            let _ = decode_ipvs(&IpvsArtifacts {
                dests: &d,
                ..b.artifacts()
            });
        }
    }

    #[test]
    fn family_presence_from_the_dump() {
        let mut dump = Vec::new();
        dump.extend_from_slice(&done());
        assert_eq!(ipvs_family(&dump), Ok(None));
        assert!(ipvs_family(&dump[..10]).is_err());
    }

    const PROC: &str = include_str!("../../tests/data/ipvs/proc-net-ip_vs.txt");

    #[test]
    fn decodes_proc_net_ip_vs() {
        let t = decode_proc_net_ip_vs(PROC).expect("decodes");
        assert_eq!(t.problems, vec![]);
        assert_eq!(t.version, Some(0x010201));
        assert_eq!(t.conn_tab_size, Some(4096));
        let labels: Vec<_> = t
            .services
            .iter()
            .map(|s| service_label(&s.service))
            .collect();
        assert_eq!(
            labels,
            vec![
                "TCP 192.168.122.96:30081",
                "TCP 10.96.0.1:443",
                "UDP 10.96.0.10:53",
                "TCP [2001:db8::1]:80",
                "FWM 42",
            ]
        );
        let first = &t.services[0];
        assert_eq!(first.service.scheduler.as_deref(), Some("rr"));
        assert_eq!(first.service.flags, Some(0));
        assert_eq!(first.dests.len(), 2);
        assert_eq!(
            first.dests[1].addr,
            Some(IpAddr::V4(Ipv4Addr::new(10, 244, 2, 3)))
        );
        assert_eq!(first.dests[1].port, Some(8080));
        assert_eq!(
            (first.dests[1].active_conns, first.dests[1].inactive_conns),
            (Some(2), Some(5))
        );
        assert_eq!(t.services[2].service.flags, Some(IP_VS_SVC_F_ONEPACKET));
        let v6 = &t.services[3];
        assert_eq!(v6.service.flags, Some(IP_VS_SVC_F_PERSISTENT));
        assert_eq!(v6.proc_timeout_jiffies, Some(75000));
        assert_eq!(v6.service.timeout, None);
        assert_eq!(v6.service.ipv6_prefix_len(), Some(64));
        assert_eq!(v6.dests[0].fwd_method, Some(3));
        assert_eq!(v6.dests[0].addr_family, Some(AF_INET6));
        let fwm = &t.services[4];
        assert_eq!(fwm.service.netmask, Some(0xffff_ff00));
        assert_eq!(fwm.dests[0].fwd_method, Some(2));
        assert_eq!(fwm.dests[0].weight, Some(2));
    }

    #[test]
    fn proc_problems_are_per_line() {
        let text = "IP Virtual Server version 1.2.1 (size=4096)\nTCP  nonsense rr\n  -> 0AF40102:1F90      Masq    1      0          0\n";
        let t = decode_proc_net_ip_vs(text).expect("header is fine");
        assert_eq!(t.services.len(), 0);
        assert_eq!(t.problems.len(), 2);
        assert!(decode_proc_net_ip_vs("").is_err());
        assert!(decode_proc_net_ip_vs("hello\n").is_err());
        for cut in 0..PROC.len() {
            if PROC.is_char_boundary(cut) {
                let _ = decode_proc_net_ip_vs(&PROC[..cut]);
            }
        }
    }
}
