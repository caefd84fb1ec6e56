//! The IPVS generic-netlink payload: a command and its top-level attributes.

use netlink_packet_core::{
    parse_u32, DecodeError, DefaultNla, Emitable, ErrorContext, Nla, NlaBuffer, NlasIterator,
    Parseable, ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use crate::daemon::DaemonAttr;
use crate::dest::DestAttr;
use crate::nla_util::parse_nested;
use crate::service::ServiceAttr;
use crate::{IPVS_GENL_NAME, IPVS_GENL_VERSION};

/// `IPVS_CMD_*`.
///
/// Replies name other commands than the requests: a GET_SERVICE dump is answered with
/// `NewService` messages, GET_DEST with `NewDest`, GET_DAEMON with `NewDaemon`, GET_CONFIG with
/// `SetConfig` and GET_INFO with `SetInfo` (`ip_vs_genl_get_cmd`, `ip_vs_genl_dump_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpvsCommand {
    /// 1: add a service; also every reply of a GET_SERVICE dump.
    NewService,
    /// 2: modify a service.
    SetService,
    /// 3: delete a service.
    DelService,
    /// 4: get one service, or dump all.
    GetService,
    /// 5: add a destination; also every reply of a GET_DEST dump.
    NewDest,
    /// 6: modify a destination.
    SetDest,
    /// 7: delete a destination.
    DelDest,
    /// 8: dump the destinations of one service.
    GetDest,
    /// 9: start a sync daemon; also every reply of a GET_DAEMON dump.
    NewDaemon,
    /// 10: stop a sync daemon.
    DelDaemon,
    /// 11: dump the sync daemons.
    GetDaemon,
    /// 12: set the timeouts; also the reply to GET_CONFIG.
    SetConfig,
    /// 13: get the timeouts.
    GetConfig,
    /// 14: only used as the reply to GET_INFO.
    SetInfo,
    /// 15: get the version and connection table size.
    GetInfo,
    /// 16: zero the counters.
    Zero,
    /// 17: delete every service.
    Flush,
    /// A command this crate does not know.
    Other(u8),
}

impl From<IpvsCommand> for u8 {
    fn from(cmd: IpvsCommand) -> u8 {
        use IpvsCommand::*;
        match cmd {
            NewService => 1,
            SetService => 2,
            DelService => 3,
            GetService => 4,
            NewDest => 5,
            SetDest => 6,
            DelDest => 7,
            GetDest => 8,
            NewDaemon => 9,
            DelDaemon => 10,
            GetDaemon => 11,
            SetConfig => 12,
            GetConfig => 13,
            SetInfo => 14,
            GetInfo => 15,
            Zero => 16,
            Flush => 17,
            Other(c) => c,
        }
    }
}

impl From<u8> for IpvsCommand {
    fn from(cmd: u8) -> Self {
        use IpvsCommand::*;
        match cmd {
            1 => NewService,
            2 => SetService,
            3 => DelService,
            4 => GetService,
            5 => NewDest,
            6 => SetDest,
            7 => DelDest,
            8 => GetDest,
            9 => NewDaemon,
            10 => DelDaemon,
            11 => GetDaemon,
            12 => SetConfig,
            13 => GetConfig,
            14 => SetInfo,
            15 => GetInfo,
            16 => Zero,
            17 => Flush,
            c => Other(c),
        }
    }
}

impl IpvsCommand {
    /// GET_INFO and its reply SET_INFO number their attributes with `IPVS_INFO_ATTR_*`, which
    /// overlap `IPVS_CMD_ATTR_SERVICE` (1) and `IPVS_CMD_ATTR_DEST` (2).
    fn uses_info_attrs(self) -> bool {
        matches!(self, Self::SetInfo | Self::GetInfo)
    }
}

const CMD_ATTR_SERVICE: u16 = 1;
const CMD_ATTR_DEST: u16 = 2;
const CMD_ATTR_DAEMON: u16 = 3;
const CMD_ATTR_TIMEOUT_TCP: u16 = 4;
const CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
const CMD_ATTR_TIMEOUT_UDP: u16 = 6;
const INFO_ATTR_VERSION: u16 = 1;
const INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

/// A top-level attribute (`IPVS_CMD_ATTR_*`, or `IPVS_INFO_ATTR_*` in GET_INFO replies).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpvsAttr {
    /// `IPVS_CMD_ATTR_SERVICE`: a nested service (emitted without `NLA_F_NESTED`, as the
    /// kernel's `nla_nest_start_noflag` does).
    Service(Vec<ServiceAttr>),
    /// `IPVS_CMD_ATTR_DEST`: a nested destination.
    Dest(Vec<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`: a nested sync daemon.
    Daemon(Vec<DaemonAttr>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP` (u32, seconds).
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN` (u32, seconds).
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP` (u32, seconds).
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (u32, e.g. 0x010201 for 1.2.1); only in GET_INFO replies.
    Version(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (u32); only in GET_INFO replies.
    ConnTabSize(u32),
    /// Anything else.
    Other(DefaultNla),
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Service(v) => v.as_slice().buffer_len(),
            Self::Dest(v) => v.as_slice().buffer_len(),
            Self::Daemon(v) => v.as_slice().buffer_len(),
            Self::TimeoutTcp(_)
            | Self::TimeoutTcpFin(_)
            | Self::TimeoutUdp(_)
            | Self::Version(_)
            | Self::ConnTabSize(_) => 4,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Service(_) => CMD_ATTR_SERVICE,
            Self::Dest(_) => CMD_ATTR_DEST,
            Self::Daemon(_) => CMD_ATTR_DAEMON,
            Self::TimeoutTcp(_) => CMD_ATTR_TIMEOUT_TCP,
            Self::TimeoutTcpFin(_) => CMD_ATTR_TIMEOUT_TCP_FIN,
            Self::TimeoutUdp(_) => CMD_ATTR_TIMEOUT_UDP,
            Self::Version(_) => INFO_ATTR_VERSION,
            Self::ConnTabSize(_) => INFO_ATTR_CONN_TAB_SIZE,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Service(v) => v.as_slice().emit(buffer),
            Self::Dest(v) => v.as_slice().emit(buffer),
            Self::Daemon(v) => v.as_slice().emit(buffer),
            Self::TimeoutTcp(v)
            | Self::TimeoutTcpFin(v)
            | Self::TimeoutUdp(v)
            | Self::Version(v)
            | Self::ConnTabSize(v) => buffer[..4].copy_from_slice(&v.to_ne_bytes()),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> ParseableParametrized<NlaBuffer<&'a T>, IpvsCommand>
    for IpvsAttr
{
    fn parse_with_param(buf: &NlaBuffer<&'a T>, cmd: IpvsCommand) -> Result<Self, DecodeError> {
        let v = buf.value();
        if cmd.uses_info_attrs() {
            return Ok(match buf.kind() {
                INFO_ATTR_VERSION => {
                    Self::Version(parse_u32(v).context("invalid IPVS_INFO_ATTR_VERSION")?)
                }
                INFO_ATTR_CONN_TAB_SIZE => {
                    Self::ConnTabSize(parse_u32(v).context("invalid IPVS_INFO_ATTR_CONN_TAB_SIZE")?)
                }
                _ => Self::Other(DefaultNla::parse(buf)?),
            });
        }
        Ok(match buf.kind() {
            CMD_ATTR_SERVICE => Self::Service(
                parse_nested(v, |nla| ServiceAttr::parse(nla))
                    .context("invalid IPVS_CMD_ATTR_SERVICE")?,
            ),
            CMD_ATTR_DEST => Self::Dest(
                parse_nested(v, |nla| DestAttr::parse(nla))
                    .context("invalid IPVS_CMD_ATTR_DEST")?,
            ),
            CMD_ATTR_DAEMON => Self::Daemon(
                parse_nested(v, |nla| DaemonAttr::parse(nla))
                    .context("invalid IPVS_CMD_ATTR_DAEMON")?,
            ),
            CMD_ATTR_TIMEOUT_TCP => {
                Self::TimeoutTcp(parse_u32(v).context("invalid IPVS_CMD_ATTR_TIMEOUT_TCP")?)
            }
            CMD_ATTR_TIMEOUT_TCP_FIN => {
                Self::TimeoutTcpFin(parse_u32(v).context("invalid IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?)
            }
            CMD_ATTR_TIMEOUT_UDP => {
                Self::TimeoutUdp(parse_u32(v).context("invalid IPVS_CMD_ATTR_TIMEOUT_UDP")?)
            }
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// The payload of an IPVS generic-netlink message (everything after `genlmsghdr`).
///
/// Wrap it with `GenlMessage::from_payload`, set the family id found by
/// [`crate::ipvs_family_id`], and the netlink flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command from `genlmsghdr.cmd`.
    pub cmd: IpvsCommand,
    /// Top-level attributes, in wire order.
    pub attrs: Vec<IpvsAttr>,
}

impl IpvsMessage {
    /// Parses the bytes that follow `nlmsghdr`: `genlmsghdr`, then the attributes. For readers
    /// of stored messages that do not go through `NetlinkMessage<GenlMessage<_>>`.
    pub fn parse_genl(buf: &[u8]) -> Result<Self, DecodeError> {
        let Some(&[cmd, version, _, _]) = buf.get(..4) else {
            return Err(DecodeError::buffer_too_small(buf.len(), 4));
        };
        Self::parse_with_param(&buf[4..], GenlHeader { cmd, version })
    }

    /// The attributes of the first `IPVS_CMD_ATTR_SERVICE` nest, if any.
    pub fn service_attrs(&self) -> Option<&[ServiceAttr]> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Service(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The attributes of the first `IPVS_CMD_ATTR_DEST` nest, if any.
    pub fn dest_attrs(&self) -> Option<&[DestAttr]> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Dest(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The attributes of the first `IPVS_CMD_ATTR_DAEMON` nest, if any.
    pub fn daemon_attrs(&self) -> Option<&[DaemonAttr]> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Daemon(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    fn find_u32(&self, pick: impl Fn(&IpvsAttr) -> Option<u32>) -> Option<u32> {
        self.attrs.iter().find_map(pick)
    }

    /// `IPVS_INFO_ATTR_VERSION` of a GET_INFO reply.
    pub fn info_version(&self) -> Option<u32> {
        self.find_u32(|a| match a {
            IpvsAttr::Version(v) => Some(*v),
            _ => None,
        })
    }

    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` of a GET_INFO reply.
    pub fn conn_tab_size(&self) -> Option<u32> {
        self.find_u32(|a| match a {
            IpvsAttr::ConnTabSize(v) => Some(*v),
            _ => None,
        })
    }

    /// The (tcp, tcpfin, udp) timeouts of a GET_CONFIG reply, in seconds. The kernel leaves out
    /// the TCP pair or the UDP one when built without that protocol.
    pub fn timeouts(&self) -> (Option<u32>, Option<u32>, Option<u32>) {
        (
            self.find_u32(|a| match a {
                IpvsAttr::TimeoutTcp(v) => Some(*v),
                _ => None,
            }),
            self.find_u32(|a| match a {
                IpvsAttr::TimeoutTcpFin(v) => Some(*v),
                _ => None,
            }),
            self.find_u32(|a| match a {
                IpvsAttr::TimeoutUdp(v) => Some(*v),
                _ => None,
            }),
        )
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCommand::from(header.cmd);
        let attrs = NlasIterator::new(buf)
            .map(|nla| nla.and_then(|nla| IpvsAttr::parse_with_param(&nla, cmd)))
            .collect::<Result<Vec<_>, _>>()
            .context("failed to parse IPVS message attributes")?;
        Ok(Self { cmd, attrs })
    }
}
