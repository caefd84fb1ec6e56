//! `IPVS_STATS_ATTR_*`, nested in `IPVS_SVC_ATTR_STATS{,64}` and `IPVS_DEST_ATTR_STATS{,64}`.
//!
//! The two nests share one attribute numbering but not the widths: `ip_vs_genl_fill_stats` puts
//! the counters and rates as u32 and only the byte counters as u64, `ip_vs_genl_fill_stats64`
//! puts everything as u64. Both use `nla_put_u64_64bit(.., IPVS_STATS_ATTR_PAD)`, which on
//! architectures without efficient unaligned access inserts an empty `PAD` (11) attribute before
//! a u64; it is kept as `Other`.

use netlink_packet_core::{
    emit_u32, emit_u64, parse_u32, parse_u64, DecodeError, DefaultNla, ErrorContext, Nla,
    NlaBuffer, Parseable,
};

const CONNS: u16 = 1;
const INPKTS: u16 = 2;
const OUTPKTS: u16 = 3;
const INBYTES: u16 = 4;
const OUTBYTES: u16 = 5;
const CPS: u16 = 6;
const INPPS: u16 = 7;
const OUTPPS: u16 = 8;
const INBPS: u16 = 9;
const OUTBPS: u16 = 10;

/// One attribute of the 32-bit statistics nest (`IPVS_SVC_ATTR_STATS`, `IPVS_DEST_ATTR_STATS`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatsAttr {
    /// Connections scheduled (u32).
    Conns(u32),
    /// Incoming packets (u32).
    InPkts(u32),
    /// Outgoing packets (u32).
    OutPkts(u32),
    /// Incoming bytes (u64).
    InBytes(u64),
    /// Outgoing bytes (u64).
    OutBytes(u64),
    /// Connection rate (u32).
    Cps(u32),
    /// Incoming packet rate (u32).
    InPps(u32),
    /// Outgoing packet rate (u32).
    OutPps(u32),
    /// Incoming byte rate (u32).
    InBps(u32),
    /// Outgoing byte rate (u32).
    OutBps(u32),
    /// Anything else, `IPVS_STATS_ATTR_PAD` included.
    Other(DefaultNla),
}

impl Nla for StatsAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::InBytes(_) | Self::OutBytes(_) => 8,
            Self::Other(nla) => nla.value_len(),
            _ => 4,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Conns(_) => CONNS,
            Self::InPkts(_) => INPKTS,
            Self::OutPkts(_) => OUTPKTS,
            Self::InBytes(_) => INBYTES,
            Self::OutBytes(_) => OUTBYTES,
            Self::Cps(_) => CPS,
            Self::InPps(_) => INPPS,
            Self::OutPps(_) => OUTPPS,
            Self::InBps(_) => INBPS,
            Self::OutBps(_) => OUTBPS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        // Infallible: the buffer is value_len() bytes long.
        let _ = match self {
            Self::Conns(v)
            | Self::InPkts(v)
            | Self::OutPkts(v)
            | Self::Cps(v)
            | Self::InPps(v)
            | Self::OutPps(v)
            | Self::InBps(v)
            | Self::OutBps(v) => emit_u32(buffer, *v),
            Self::InBytes(v) | Self::OutBytes(v) => emit_u64(buffer, *v),
            Self::Other(nla) => {
                nla.emit_value(buffer);
                Ok(())
            }
        };
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for StatsAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        let u32_ =
            |what: &str| parse_u32(v).with_context(|| format!("invalid IPVS_STATS_ATTR_{what}"));
        let u64_ =
            |what: &str| parse_u64(v).with_context(|| format!("invalid IPVS_STATS_ATTR_{what}"));
        Ok(match buf.kind() {
            CONNS => Self::Conns(u32_("CONNS")?),
            INPKTS => Self::InPkts(u32_("INPKTS")?),
            OUTPKTS => Self::OutPkts(u32_("OUTPKTS")?),
            INBYTES => Self::InBytes(u64_("INBYTES")?),
            OUTBYTES => Self::OutBytes(u64_("OUTBYTES")?),
            CPS => Self::Cps(u32_("CPS")?),
            INPPS => Self::InPps(u32_("INPPS")?),
            OUTPPS => Self::OutPps(u32_("OUTPPS")?),
            INBPS => Self::InBps(u32_("INBPS")?),
            OUTBPS => Self::OutBps(u32_("OUTBPS")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// One attribute of the 64-bit statistics nest (`IPVS_SVC_ATTR_STATS64`,
/// `IPVS_DEST_ATTR_STATS64`): every value is u64.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stats64Attr {
    /// Connections scheduled.
    Conns(u64),
    /// Incoming packets.
    InPkts(u64),
    /// Outgoing packets.
    OutPkts(u64),
    /// Incoming bytes.
    InBytes(u64),
    /// Outgoing bytes.
    OutBytes(u64),
    /// Connection rate.
    Cps(u64),
    /// Incoming packet rate.
    InPps(u64),
    /// Outgoing packet rate.
    OutPps(u64),
    /// Incoming byte rate.
    InBps(u64),
    /// Outgoing byte rate.
    OutBps(u64),
    /// Anything else, `IPVS_STATS_ATTR_PAD` included.
    Other(DefaultNla),
}

impl Nla for Stats64Attr {
    fn value_len(&self) -> usize {
        match self {
            Self::Other(nla) => nla.value_len(),
            _ => 8,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Conns(_) => CONNS,
            Self::InPkts(_) => INPKTS,
            Self::OutPkts(_) => OUTPKTS,
            Self::InBytes(_) => INBYTES,
            Self::OutBytes(_) => OUTBYTES,
            Self::Cps(_) => CPS,
            Self::InPps(_) => INPPS,
            Self::OutPps(_) => OUTPPS,
            Self::InBps(_) => INBPS,
            Self::OutBps(_) => OUTBPS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Conns(v)
            | Self::InPkts(v)
            | Self::OutPkts(v)
            | Self::InBytes(v)
            | Self::OutBytes(v)
            | Self::Cps(v)
            | Self::InPps(v)
            | Self::OutPps(v)
            | Self::InBps(v)
            | Self::OutBps(v) => {
                // Infallible: the buffer is 8 bytes long.
                let _ = emit_u64(buffer, *v);
            }
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for Stats64Attr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        let u64_ = |what: &str| {
            parse_u64(v).with_context(|| format!("invalid IPVS_STATS_ATTR_{what} (64)"))
        };
        Ok(match buf.kind() {
            CONNS => Self::Conns(u64_("CONNS")?),
            INPKTS => Self::InPkts(u64_("INPKTS")?),
            OUTPKTS => Self::OutPkts(u64_("OUTPKTS")?),
            INBYTES => Self::InBytes(u64_("INBYTES")?),
            OUTBYTES => Self::OutBytes(u64_("OUTBYTES")?),
            CPS => Self::Cps(u64_("CPS")?),
            INPPS => Self::InPps(u64_("INPPS")?),
            OUTPPS => Self::OutPps(u64_("OUTPPS")?),
            INBPS => Self::InBps(u64_("INBPS")?),
            OUTBPS => Self::OutBps(u64_("OUTBPS")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
