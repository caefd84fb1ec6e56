//! IPVS generic-netlink messages: pure parse and emit types, in the style of the
//! `netlink-packet-*` crates. No sockets and no I/O here: requests are values, replies are bytes.
//!
//! The layout follows the kernel's `include/uapi/linux/ip_vs.h`, and the attribute order of the
//! replies follows the fill functions of `net/netfilter/ipvs/ip_vs_ctl.c`
//! (`ip_vs_genl_fill_service`, `ip_vs_genl_fill_dest`, `ip_vs_genl_fill_stats{,64}`,
//! `ip_vs_genl_fill_daemon`, `ip_vs_genl_get_cmd`).
//!
//! ```text
//! nlmsghdr (type = the dynamically assigned IPVS family id)
//! genlmsghdr { cmd: IpvsCommand, version: 1 }
//! attributes (IpvsAttr):
//!   SERVICE (nested ServiceAttr) | DEST (nested DestAttr) | DAEMON (nested DaemonAttr)
//!   | TIMEOUT_TCP / TIMEOUT_TCP_FIN / TIMEOUT_UDP (u32, seconds)
//!   | in GET_INFO replies only: VERSION (u32) and CONN_TAB_SIZE (u32), which reuse
//!     the numbers 1 and 2 of SERVICE and DEST
//! ```
//!
//! Integers are in the host byte order of the node that sent them, except where the kernel uses
//! `nla_put_be16`/`nla_put_be32` (ports and the netmask); this crate decodes host-order integers
//! in the byte order of the machine it runs on, like every `netlink-packet-*` crate, so bundles
//! from little-endian nodes must be read on little-endian machines.
//!
//! Every attribute enum ends in `Other(DefaultNla)`: attributes from newer kernels survive parse
//! and re-emit unchanged.

mod daemon;
mod dest;
mod family;
mod message;
mod nla_util;
mod request;
mod service;
mod stats;
mod view;

#[cfg(test)]
mod tests;

pub use daemon::DaemonAttr;
pub use dest::DestAttr;
pub use family::ipvs_family_id;
pub use message::{IpvsAttr, IpvsCommand, IpvsMessage};
pub use request::{get_config, get_daemons, get_dests, get_info, get_services};
pub use service::{IpvsFlags, ServiceAttr};
pub use stats::{Stats64Attr, StatsAttr};
pub use view::{ForwardMethod, IpvsDaemon, IpvsDest, IpvsService, IpvsStats};

/// Re-exported so that callers match on the same error type.
pub use netlink_packet_core::DecodeError;

/// `IPVS_GENL_NAME`: the generic-netlink family name.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const IPVS_GENL_VERSION: u8 = 1;

/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;

/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u16 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u16 = 17;
/// `IPPROTO_SCTP`.
pub const IPPROTO_SCTP: u16 = 132;

/// `IP_VS_SVC_F_PERSISTENT`: persistent port.
pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
/// `IP_VS_SVC_F_HASHED`: the service is in the kernel's hash table.
pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
/// `IP_VS_SVC_F_ONEPACKET`: one-packet scheduling.
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
/// `IP_VS_SVC_F_SCHED1`: scheduler flag 1 (sh-fallback, mh-fallback).
pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
/// `IP_VS_SVC_F_SCHED2`: scheduler flag 2 (sh-port, mh-port).
pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
/// `IP_VS_SVC_F_SCHED3`: scheduler flag 3.
pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;

/// `IP_VS_CONN_F_FWD_MASK`: the forwarding-method bits of a destination's connection flags.
pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;

/// `IP_VS_STATE_MASTER`: a sync daemon started as master.
pub const IP_VS_STATE_MASTER: u32 = 0x0001;
/// `IP_VS_STATE_BACKUP`: a sync daemon started as backup.
pub const IP_VS_STATE_BACKUP: u32 = 0x0002;
