//! `IPVS_SVC_ATTR_*`, nested in `IPVS_CMD_ATTR_SERVICE`.
//!
//! `ip_vs_genl_fill_service` puts them in this order: AF; then FWMARK for a firewall-mark
//! service, or PROTOCOL, ADDR, PORT otherwise; SCHED_NAME ("none" when the service has no
//! scheduler); PE_NAME only when a persistence engine is set; FLAGS; TIMEOUT; NETMASK; STATS;
//! STATS64.

use netlink_packet_core::{
    parse_string, parse_u16, parse_u16_be, parse_u32, parse_u32_be, DecodeError, DefaultNla,
    Emitable, ErrorContext, Nla, NlaBuffer, Parseable,
};

use crate::nla_util::{emit_string, parse_addr16, parse_nested, string_len};
use crate::stats::{Stats64Attr, StatsAttr};

const AF: u16 = 1;
const PROTOCOL: u16 = 2;
const ADDR: u16 = 3;
const PORT: u16 = 4;
const FWMARK: u16 = 5;
const SCHED_NAME: u16 = 6;
const FLAGS: u16 = 7;
const TIMEOUT: u16 = 8;
const NETMASK: u16 = 9;
const STATS: u16 = 10;
const PE_NAME: u16 = 11;
const STATS64: u16 = 12;

/// `struct ip_vs_flags { __u32 flags; __u32 mask; }`, 8 bytes, host byte order.
///
/// ```text
/// 0        4        8
/// | flags  | mask   |
/// ```
///
/// Replies carry `mask = ~0`; a request that changes flags sets only the bits it means in
/// `mask`. The effective flags are `flags & mask` (what libipvs keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpvsFlags {
    /// `IP_VS_SVC_F_*` bits.
    pub flags: u32,
    /// Which bits of `flags` are meant.
    pub mask: u32,
}

/// One attribute of a virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceAttr {
    /// `IPVS_SVC_ATTR_AF` (u16): `AF_INET` or `AF_INET6`.
    Af(u16),
    /// `IPVS_SVC_ATTR_PROTOCOL` (u16): `IPPROTO_TCP`, `IPPROTO_UDP` or `IPPROTO_SCTP`.
    Protocol(u16),
    /// `IPVS_SVC_ATTR_ADDR`: `union nf_inet_addr`, always 16 bytes; IPv4 in the first 4.
    Addr([u8; 16]),
    /// `IPVS_SVC_ATTR_PORT`: big-endian on the wire (`nla_put_be16`); the port number here.
    Port(u16),
    /// `IPVS_SVC_ATTR_FWMARK` (u32); only for firewall-mark services, which then have no
    /// PROTOCOL, ADDR or PORT.
    Fwmark(u32),
    /// `IPVS_SVC_ATTR_SCHED_NAME`: NUL-terminated string.
    SchedName(String),
    /// `IPVS_SVC_ATTR_FLAGS`: `struct ip_vs_flags`.
    Flags(IpvsFlags),
    /// `IPVS_SVC_ATTR_TIMEOUT` (u32): persistence timeout in seconds (the kernel divides its
    /// jiffies by HZ).
    Timeout(u32),
    /// `IPVS_SVC_ATTR_NETMASK`: a `__be32` on the wire (`nla_put_be32`), read here as a
    /// big-endian u32. For IPv4 this is the persistence netmask (0xffffffff = /32). For IPv6 the
    /// kernel keeps the prefix length in the node's host order in the same field, so on a
    /// little-endian node /128 reads as 0x8000_0000 here; see `IpvsService::ipv6_prefix_len`.
    Netmask(u32),
    /// `IPVS_SVC_ATTR_STATS`: nested 32-bit statistics.
    Stats(Vec<StatsAttr>),
    /// `IPVS_SVC_ATTR_PE_NAME`: NUL-terminated persistence-engine name (e.g. "sip").
    PeName(String),
    /// `IPVS_SVC_ATTR_STATS64`: nested 64-bit statistics.
    Stats64(Vec<Stats64Attr>),
    /// Anything else.
    Other(DefaultNla),
}

impl Nla for ServiceAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Af(_) | Self::Protocol(_) | Self::Port(_) => 2,
            Self::Fwmark(_) | Self::Timeout(_) | Self::Netmask(_) => 4,
            Self::Addr(_) => 16,
            Self::Flags(_) => 8,
            Self::SchedName(s) | Self::PeName(s) => string_len(s),
            Self::Stats(v) => v.as_slice().buffer_len(),
            Self::Stats64(v) => v.as_slice().buffer_len(),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Af(_) => AF,
            Self::Protocol(_) => PROTOCOL,
            Self::Addr(_) => ADDR,
            Self::Port(_) => PORT,
            Self::Fwmark(_) => FWMARK,
            Self::SchedName(_) => SCHED_NAME,
            Self::Flags(_) => FLAGS,
            Self::Timeout(_) => TIMEOUT,
            Self::Netmask(_) => NETMASK,
            Self::Stats(_) => STATS,
            Self::PeName(_) => PE_NAME,
            Self::Stats64(_) => STATS64,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Af(v) | Self::Protocol(v) => buffer[..2].copy_from_slice(&v.to_ne_bytes()),
            Self::Port(v) => buffer[..2].copy_from_slice(&v.to_be_bytes()),
            Self::Fwmark(v) | Self::Timeout(v) => buffer[..4].copy_from_slice(&v.to_ne_bytes()),
            Self::Netmask(v) => buffer[..4].copy_from_slice(&v.to_be_bytes()),
            Self::Addr(a) => buffer[..16].copy_from_slice(a),
            Self::Flags(f) => {
                buffer[..4].copy_from_slice(&f.flags.to_ne_bytes());
                buffer[4..8].copy_from_slice(&f.mask.to_ne_bytes());
            }
            Self::SchedName(s) | Self::PeName(s) => emit_string(buffer, s),
            Self::Stats(v) => v.as_slice().emit(buffer),
            Self::Stats64(v) => v.as_slice().emit(buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for ServiceAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            AF => Self::Af(parse_u16(v).context("invalid IPVS_SVC_ATTR_AF")?),
            PROTOCOL => Self::Protocol(parse_u16(v).context("invalid IPVS_SVC_ATTR_PROTOCOL")?),
            ADDR => Self::Addr(parse_addr16(v).context("invalid IPVS_SVC_ATTR_ADDR")?),
            PORT => Self::Port(parse_u16_be(v).context("invalid IPVS_SVC_ATTR_PORT")?),
            FWMARK => Self::Fwmark(parse_u32(v).context("invalid IPVS_SVC_ATTR_FWMARK")?),
            SCHED_NAME => {
                Self::SchedName(parse_string(v).context("invalid IPVS_SVC_ATTR_SCHED_NAME")?)
            }
            FLAGS => {
                if v.len() != 8 {
                    return Err(DecodeError::invalid_number(8, v.len()))
                        .context("invalid IPVS_SVC_ATTR_FLAGS");
                }
                Self::Flags(IpvsFlags {
                    flags: parse_u32(&v[..4])?,
                    mask: parse_u32(&v[4..])?,
                })
            }
            TIMEOUT => Self::Timeout(parse_u32(v).context("invalid IPVS_SVC_ATTR_TIMEOUT")?),
            NETMASK => Self::Netmask(parse_u32_be(v).context("invalid IPVS_SVC_ATTR_NETMASK")?),
            STATS => Self::Stats(
                parse_nested(v, |nla| StatsAttr::parse(nla))
                    .context("invalid IPVS_SVC_ATTR_STATS")?,
            ),
            PE_NAME => Self::PeName(parse_string(v).context("invalid IPVS_SVC_ATTR_PE_NAME")?),
            STATS64 => Self::Stats64(
                parse_nested(v, |nla| Stats64Attr::parse(nla))
                    .context("invalid IPVS_SVC_ATTR_STATS64")?,
            ),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
