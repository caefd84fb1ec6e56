//! `IPVS_DAEMON_ATTR_*`, nested in `IPVS_CMD_ATTR_DAEMON` (connection-sync daemons).
//!
//! `ip_vs_genl_fill_daemon` puts STATE, MCAST_IFN, SYNC_ID, SYNC_MAXLEN, MCAST_PORT,
//! MCAST_TTL, then MCAST_GROUP (IPv4) or MCAST_GROUP6 when a group is configured.

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    parse_string, parse_u16, parse_u32, parse_u8, DecodeError, DefaultNla, ErrorContext, Nla,
    NlaBuffer, Parseable,
};

use crate::nla_util::{emit_string, parse_addr16, string_len};

const STATE: u16 = 1;
const MCAST_IFN: u16 = 2;
const SYNC_ID: u16 = 3;
const SYNC_MAXLEN: u16 = 4;
const MCAST_GROUP: u16 = 5;
const MCAST_GROUP6: u16 = 6;
const MCAST_PORT: u16 = 7;
const MCAST_TTL: u16 = 8;

/// One attribute of a sync daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DaemonAttr {
    /// `IPVS_DAEMON_ATTR_STATE` (u32): `IP_VS_STATE_MASTER` or `IP_VS_STATE_BACKUP`.
    State(u32),
    /// `IPVS_DAEMON_ATTR_MCAST_IFN`: NUL-terminated interface name.
    McastIfn(String),
    /// `IPVS_DAEMON_ATTR_SYNC_ID` (u32).
    SyncId(u32),
    /// `IPVS_DAEMON_ATTR_SYNC_MAXLEN` (u16): UDP payload size.
    SyncMaxLen(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP`: IPv4 group (`nla_put_in_addr`, network order).
    McastGroup(Ipv4Addr),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP6`: IPv6 group (`nla_put_in6_addr`).
    McastGroup6(Ipv6Addr),
    /// `IPVS_DAEMON_ATTR_MCAST_PORT` (u16, host order: the kernel uses `nla_put_u16`).
    McastPort(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_TTL` (u8).
    McastTtl(u8),
    /// Anything else.
    Other(DefaultNla),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::State(_) | Self::SyncId(_) | Self::McastGroup(_) => 4,
            Self::SyncMaxLen(_) | Self::McastPort(_) => 2,
            Self::McastTtl(_) => 1,
            Self::McastGroup6(_) => 16,
            Self::McastIfn(s) => string_len(s),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::State(_) => STATE,
            Self::McastIfn(_) => MCAST_IFN,
            Self::SyncId(_) => SYNC_ID,
            Self::SyncMaxLen(_) => SYNC_MAXLEN,
            Self::McastGroup(_) => MCAST_GROUP,
            Self::McastGroup6(_) => MCAST_GROUP6,
            Self::McastPort(_) => MCAST_PORT,
            Self::McastTtl(_) => MCAST_TTL,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::State(v) | Self::SyncId(v) => buffer[..4].copy_from_slice(&v.to_ne_bytes()),
            Self::SyncMaxLen(v) | Self::McastPort(v) => {
                buffer[..2].copy_from_slice(&v.to_ne_bytes())
            }
            Self::McastTtl(v) => buffer[0] = *v,
            Self::McastGroup(a) => buffer[..4].copy_from_slice(&a.octets()),
            Self::McastGroup6(a) => buffer[..16].copy_from_slice(&a.octets()),
            Self::McastIfn(s) => emit_string(buffer, s),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DaemonAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            STATE => Self::State(parse_u32(v).context("invalid IPVS_DAEMON_ATTR_STATE")?),
            MCAST_IFN => {
                Self::McastIfn(parse_string(v).context("invalid IPVS_DAEMON_ATTR_MCAST_IFN")?)
            }
            SYNC_ID => Self::SyncId(parse_u32(v).context("invalid IPVS_DAEMON_ATTR_SYNC_ID")?),
            SYNC_MAXLEN => {
                Self::SyncMaxLen(parse_u16(v).context("invalid IPVS_DAEMON_ATTR_SYNC_MAXLEN")?)
            }
            MCAST_GROUP => {
                let b: [u8; 4] = v
                    .try_into()
                    .map_err(|_| DecodeError::invalid_ip_address(v.len()))
                    .context("invalid IPVS_DAEMON_ATTR_MCAST_GROUP")?;
                Self::McastGroup(Ipv4Addr::from(b))
            }
            MCAST_GROUP6 => Self::McastGroup6(Ipv6Addr::from(
                parse_addr16(v).context("invalid IPVS_DAEMON_ATTR_MCAST_GROUP6")?,
            )),
            MCAST_PORT => {
                Self::McastPort(parse_u16(v).context("invalid IPVS_DAEMON_ATTR_MCAST_PORT")?)
            }
            MCAST_TTL => Self::McastTtl(parse_u8(v).context("invalid IPVS_DAEMON_ATTR_MCAST_TTL")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
