//! `IPVS_DEST_ATTR_*`, nested in `IPVS_CMD_ATTR_DEST`.
//!
//! `ip_vs_genl_fill_dest` puts them in this order: ADDR, PORT, FWD_METHOD, WEIGHT, TUN_TYPE,
//! TUN_PORT, TUN_FLAGS, U_THRESH, L_THRESH, ACTIVE_CONNS, INACT_CONNS, PERSIST_CONNS,
//! ADDR_FAMILY, STATS, STATS64. Kernels older than 5.3 have no TUN_* attributes and kernels
//! older than 4.2 no ADDR_FAMILY (the destination then has the service's family).

use netlink_packet_core::{
    parse_u16, parse_u16_be, parse_u32, parse_u8, DecodeError, DefaultNla, Emitable, ErrorContext,
    Nla, NlaBuffer, Parseable,
};

use crate::nla_util::{parse_addr16, parse_nested};
use crate::stats::{Stats64Attr, StatsAttr};

const ADDR: u16 = 1;
const PORT: u16 = 2;
const FWD_METHOD: u16 = 3;
const WEIGHT: u16 = 4;
const U_THRESH: u16 = 5;
const L_THRESH: u16 = 6;
const ACTIVE_CONNS: u16 = 7;
const INACT_CONNS: u16 = 8;
const PERSIST_CONNS: u16 = 9;
const STATS: u16 = 10;
const ADDR_FAMILY: u16 = 11;
const STATS64: u16 = 12;
const TUN_TYPE: u16 = 13;
const TUN_PORT: u16 = 14;
const TUN_FLAGS: u16 = 15;

/// One attribute of a destination (real server).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestAttr {
    /// `IPVS_DEST_ATTR_ADDR`: `union nf_inet_addr`, always 16 bytes; IPv4 in the first 4.
    Addr([u8; 16]),
    /// `IPVS_DEST_ATTR_PORT`: big-endian on the wire; the port number here. For direct-routing
    /// and tunnel destinations the kernel stores the service's port, whatever was asked.
    Port(u16),
    /// `IPVS_DEST_ATTR_FWD_METHOD` (u32): `conn_flags & IP_VS_CONN_F_FWD_MASK`.
    FwdMethod(u32),
    /// `IPVS_DEST_ATTR_WEIGHT` (u32).
    Weight(u32),
    /// `IPVS_DEST_ATTR_U_THRESH` (u32): upper connection threshold.
    UThresh(u32),
    /// `IPVS_DEST_ATTR_L_THRESH` (u32): lower connection threshold.
    LThresh(u32),
    /// `IPVS_DEST_ATTR_ACTIVE_CONNS` (u32).
    ActiveConns(u32),
    /// `IPVS_DEST_ATTR_INACT_CONNS` (u32).
    InactConns(u32),
    /// `IPVS_DEST_ATTR_PERSIST_CONNS` (u32).
    PersistConns(u32),
    /// `IPVS_DEST_ATTR_STATS`: nested 32-bit statistics.
    Stats(Vec<StatsAttr>),
    /// `IPVS_DEST_ATTR_ADDR_FAMILY` (u16).
    AddrFamily(u16),
    /// `IPVS_DEST_ATTR_STATS64`: nested 64-bit statistics.
    Stats64(Vec<Stats64Attr>),
    /// `IPVS_DEST_ATTR_TUN_TYPE` (u8): 0 ipip, 1 gue, 2 gre.
    TunType(u8),
    /// `IPVS_DEST_ATTR_TUN_PORT`: big-endian on the wire; the port number here.
    TunPort(u16),
    /// `IPVS_DEST_ATTR_TUN_FLAGS` (u16): `IP_VS_TUNNEL_ENCAP_FLAG_*`.
    TunFlags(u16),
    /// Anything else.
    Other(DefaultNla),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Addr(_) => 16,
            Self::TunType(_) => 1,
            Self::Port(_) | Self::AddrFamily(_) | Self::TunPort(_) | Self::TunFlags(_) => 2,
            Self::FwdMethod(_)
            | Self::Weight(_)
            | Self::UThresh(_)
            | Self::LThresh(_)
            | Self::ActiveConns(_)
            | Self::InactConns(_)
            | Self::PersistConns(_) => 4,
            Self::Stats(v) => v.as_slice().buffer_len(),
            Self::Stats64(v) => v.as_slice().buffer_len(),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Addr(_) => ADDR,
            Self::Port(_) => PORT,
            Self::FwdMethod(_) => FWD_METHOD,
            Self::Weight(_) => WEIGHT,
            Self::UThresh(_) => U_THRESH,
            Self::LThresh(_) => L_THRESH,
            Self::ActiveConns(_) => ACTIVE_CONNS,
            Self::InactConns(_) => INACT_CONNS,
            Self::PersistConns(_) => PERSIST_CONNS,
            Self::Stats(_) => STATS,
            Self::AddrFamily(_) => ADDR_FAMILY,
            Self::Stats64(_) => STATS64,
            Self::TunType(_) => TUN_TYPE,
            Self::TunPort(_) => TUN_PORT,
            Self::TunFlags(_) => TUN_FLAGS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Addr(a) => buffer[..16].copy_from_slice(a),
            Self::Port(v) | Self::TunPort(v) => buffer[..2].copy_from_slice(&v.to_be_bytes()),
            Self::AddrFamily(v) | Self::TunFlags(v) => {
                buffer[..2].copy_from_slice(&v.to_ne_bytes())
            }
            Self::TunType(v) => buffer[0] = *v,
            Self::FwdMethod(v)
            | Self::Weight(v)
            | Self::UThresh(v)
            | Self::LThresh(v)
            | Self::ActiveConns(v)
            | Self::InactConns(v)
            | Self::PersistConns(v) => buffer[..4].copy_from_slice(&v.to_ne_bytes()),
            Self::Stats(v) => v.as_slice().emit(buffer),
            Self::Stats64(v) => v.as_slice().emit(buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        let u32_ =
            |what: &str| parse_u32(v).with_context(|| format!("invalid IPVS_DEST_ATTR_{what}"));
        Ok(match buf.kind() {
            ADDR => Self::Addr(parse_addr16(v).context("invalid IPVS_DEST_ATTR_ADDR")?),
            PORT => Self::Port(parse_u16_be(v).context("invalid IPVS_DEST_ATTR_PORT")?),
            FWD_METHOD => Self::FwdMethod(u32_("FWD_METHOD")?),
            WEIGHT => Self::Weight(u32_("WEIGHT")?),
            U_THRESH => Self::UThresh(u32_("U_THRESH")?),
            L_THRESH => Self::LThresh(u32_("L_THRESH")?),
            ACTIVE_CONNS => Self::ActiveConns(u32_("ACTIVE_CONNS")?),
            INACT_CONNS => Self::InactConns(u32_("INACT_CONNS")?),
            PERSIST_CONNS => Self::PersistConns(u32_("PERSIST_CONNS")?),
            STATS => Self::Stats(
                parse_nested(v, |nla| StatsAttr::parse(nla))
                    .context("invalid IPVS_DEST_ATTR_STATS")?,
            ),
            ADDR_FAMILY => {
                Self::AddrFamily(parse_u16(v).context("invalid IPVS_DEST_ATTR_ADDR_FAMILY")?)
            }
            STATS64 => Self::Stats64(
                parse_nested(v, |nla| Stats64Attr::parse(nla))
                    .context("invalid IPVS_DEST_ATTR_STATS64")?,
            ),
            TUN_TYPE => Self::TunType(parse_u8(v).context("invalid IPVS_DEST_ATTR_TUN_TYPE")?),
            TUN_PORT => Self::TunPort(parse_u16_be(v).context("invalid IPVS_DEST_ATTR_TUN_PORT")?),
            TUN_FLAGS => Self::TunFlags(parse_u16(v).context("invalid IPVS_DEST_ATTR_TUN_FLAGS")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
