//! Typed views built from attribute lists: every field is optional, unknown attributes are
//! skipped, a repeated attribute keeps its last value (as the kernel's `nla_parse` does).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::daemon::DaemonAttr;
use crate::dest::DestAttr;
use crate::service::ServiceAttr;
use crate::stats::{Stats64Attr, StatsAttr};
use crate::{AF_INET, AF_INET6, IP_VS_CONN_F_FWD_MASK};

/// Counters and rates of a service or destination. Values absent from the nest are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpvsStats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets.
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Connections per second.
    pub cps: u64,
    /// Incoming packets per second.
    pub inpps: u64,
    /// Outgoing packets per second.
    pub outpps: u64,
    /// Incoming bytes per second.
    pub inbps: u64,
    /// Outgoing bytes per second.
    pub outbps: u64,
}

impl IpvsStats {
    /// From a 32-bit `*_ATTR_STATS` nest.
    pub fn from_stats(attrs: &[StatsAttr]) -> Self {
        let mut s = Self::default();
        for a in attrs {
            match a {
                StatsAttr::Conns(v) => s.conns = (*v).into(),
                StatsAttr::InPkts(v) => s.inpkts = (*v).into(),
                StatsAttr::OutPkts(v) => s.outpkts = (*v).into(),
                StatsAttr::InBytes(v) => s.inbytes = *v,
                StatsAttr::OutBytes(v) => s.outbytes = *v,
                StatsAttr::Cps(v) => s.cps = (*v).into(),
                StatsAttr::InPps(v) => s.inpps = (*v).into(),
                StatsAttr::OutPps(v) => s.outpps = (*v).into(),
                StatsAttr::InBps(v) => s.inbps = (*v).into(),
                StatsAttr::OutBps(v) => s.outbps = (*v).into(),
                StatsAttr::Other(_) => {}
            }
        }
        s
    }

    /// From a 64-bit `*_ATTR_STATS64` nest.
    pub fn from_stats64(attrs: &[Stats64Attr]) -> Self {
        let mut s = Self::default();
        for a in attrs {
            match a {
                Stats64Attr::Conns(v) => s.conns = *v,
                Stats64Attr::InPkts(v) => s.inpkts = *v,
                Stats64Attr::OutPkts(v) => s.outpkts = *v,
                Stats64Attr::InBytes(v) => s.inbytes = *v,
                Stats64Attr::OutBytes(v) => s.outbytes = *v,
                Stats64Attr::Cps(v) => s.cps = *v,
                Stats64Attr::InPps(v) => s.inpps = *v,
                Stats64Attr::OutPps(v) => s.outpps = *v,
                Stats64Attr::InBps(v) => s.inbps = *v,
                Stats64Attr::OutBps(v) => s.outbps = *v,
                Stats64Attr::Other(_) => {}
            }
        }
        s
    }
}

/// The 16 address bytes of `union nf_inet_addr`, read according to the address family.
fn inet_addr(af: Option<u16>, raw: &[u8; 16]) -> Option<IpAddr> {
    match af? {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))),
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(*raw))),
        _ => None,
    }
}

/// A virtual service, from the attributes of an `IPVS_CMD_ATTR_SERVICE` nest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpvsService {
    /// Address family (`AF_INET`, `AF_INET6`).
    pub af: Option<u16>,
    /// IP protocol number; absent for firewall-mark services.
    pub protocol: Option<u16>,
    /// Virtual address; absent for firewall-mark services, or when the family is unknown.
    pub addr: Option<IpAddr>,
    /// Virtual port.
    pub port: Option<u16>,
    /// Firewall mark, for firewall-mark services.
    pub fwmark: Option<u32>,
    /// Scheduler name ("none" when the kernel has none for the service).
    pub scheduler: Option<String>,
    /// `IP_VS_SVC_F_*` flags: `flags & mask` of `struct ip_vs_flags`.
    pub flags: Option<u32>,
    /// Persistence timeout in seconds.
    pub timeout: Option<u32>,
    /// The NETMASK attribute read big-endian: for IPv4 the persistence mask as a number
    /// (`Ipv4Addr::from(netmask)`); for IPv6 see [`IpvsService::ipv6_prefix_len`].
    pub netmask: Option<u32>,
    /// Persistence engine name.
    pub pe_name: Option<String>,
    /// The 32-bit statistics nest.
    pub stats: Option<IpvsStats>,
    /// The 64-bit statistics nest (kernels since 4.8).
    pub stats64: Option<IpvsStats>,
}

impl IpvsService {
    /// Builds the view; unknown attributes are skipped.
    pub fn from_attrs(attrs: &[ServiceAttr]) -> Self {
        let mut s = Self::default();
        let mut raw_addr = None;
        for a in attrs {
            match a {
                ServiceAttr::Af(v) => s.af = Some(*v),
                ServiceAttr::Protocol(v) => s.protocol = Some(*v),
                ServiceAttr::Addr(v) => raw_addr = Some(*v),
                ServiceAttr::Port(v) => s.port = Some(*v),
                ServiceAttr::Fwmark(v) => s.fwmark = Some(*v),
                ServiceAttr::SchedName(v) => s.scheduler = Some(v.clone()),
                ServiceAttr::Flags(f) => s.flags = Some(f.flags & f.mask),
                ServiceAttr::Timeout(v) => s.timeout = Some(*v),
                ServiceAttr::Netmask(v) => s.netmask = Some(*v),
                ServiceAttr::Stats(v) => s.stats = Some(IpvsStats::from_stats(v)),
                ServiceAttr::PeName(v) => s.pe_name = Some(v.clone()),
                ServiceAttr::Stats64(v) => s.stats64 = Some(IpvsStats::from_stats64(v)),
                ServiceAttr::Other(_) => {}
            }
        }
        s.addr = raw_addr.and_then(|raw| inet_addr(s.af, &raw));
        s
    }

    /// The IPv6 persistence prefix length. The kernel (`ip_vs_add_service`) and ipvsadm treat
    /// the NETMASK field of IPv6 services as a host-order number, so this assumes the node was
    /// little-endian (x86_64, arm64), like the rest of the bundle's host-order integers.
    pub fn ipv6_prefix_len(&self) -> Option<u32> {
        self.netmask.map(u32::swap_bytes)
    }

    /// The statistics ipvsadm shows: the 64-bit nest if present, else the 32-bit one.
    pub fn best_stats(&self) -> Option<IpvsStats> {
        self.stats64.or(self.stats)
    }
}

/// `IPVS_DEST_ATTR_FWD_METHOD`, as `ipvsadm` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardMethod {
    /// 0, `IP_VS_CONN_F_MASQ`: NAT.
    Masq,
    /// 1, `IP_VS_CONN_F_LOCALNODE`.
    Local,
    /// 2, `IP_VS_CONN_F_TUNNEL`.
    Tunnel,
    /// 3, `IP_VS_CONN_F_DROUTE`: direct routing.
    Route,
    /// 4, `IP_VS_CONN_F_BYPASS`.
    Bypass,
    /// 5 to 7: not defined by the kernel.
    Other(u32),
}

impl From<u32> for ForwardMethod {
    fn from(v: u32) -> Self {
        match v & IP_VS_CONN_F_FWD_MASK {
            0 => Self::Masq,
            1 => Self::Local,
            2 => Self::Tunnel,
            3 => Self::Route,
            4 => Self::Bypass,
            other => Self::Other(other),
        }
    }
}

/// A destination (real server), from the attributes of an `IPVS_CMD_ATTR_DEST` nest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpvsDest {
    /// Real server address (read with `addr_family`, or the service's family without it).
    pub addr: Option<IpAddr>,
    /// Real server port.
    pub port: Option<u16>,
    /// `conn_flags & IP_VS_CONN_F_FWD_MASK`; see [`ForwardMethod`].
    pub fwd_method: Option<u32>,
    /// Weight.
    pub weight: Option<u32>,
    /// Upper connection threshold.
    pub u_threshold: Option<u32>,
    /// Lower connection threshold.
    pub l_threshold: Option<u32>,
    /// Active connections.
    pub active_conns: Option<u32>,
    /// Inactive connections.
    pub inactive_conns: Option<u32>,
    /// Persistent connections (connection templates).
    pub persist_conns: Option<u32>,
    /// `IPVS_DEST_ATTR_ADDR_FAMILY` as sent (absent before Linux 4.2).
    pub addr_family: Option<u16>,
    /// Tunnel type (0 ipip, 1 gue, 2 gre).
    pub tun_type: Option<u8>,
    /// Tunnel (GUE) port.
    pub tun_port: Option<u16>,
    /// Tunnel encapsulation flags.
    pub tun_flags: Option<u16>,
    /// The 32-bit statistics nest.
    pub stats: Option<IpvsStats>,
    /// The 64-bit statistics nest.
    pub stats64: Option<IpvsStats>,
}

impl IpvsDest {
    /// Builds the view. `service_af` is the family of the service the destination belongs to,
    /// used for the address when the kernel sent no `ADDR_FAMILY` (libipvs does the same).
    pub fn from_attrs(attrs: &[DestAttr], service_af: Option<u16>) -> Self {
        let mut d = Self::default();
        let mut raw_addr = None;
        for a in attrs {
            match a {
                DestAttr::Addr(v) => raw_addr = Some(*v),
                DestAttr::Port(v) => d.port = Some(*v),
                DestAttr::FwdMethod(v) => d.fwd_method = Some(*v),
                DestAttr::Weight(v) => d.weight = Some(*v),
                DestAttr::UThresh(v) => d.u_threshold = Some(*v),
                DestAttr::LThresh(v) => d.l_threshold = Some(*v),
                DestAttr::ActiveConns(v) => d.active_conns = Some(*v),
                DestAttr::InactConns(v) => d.inactive_conns = Some(*v),
                DestAttr::PersistConns(v) => d.persist_conns = Some(*v),
                DestAttr::Stats(v) => d.stats = Some(IpvsStats::from_stats(v)),
                DestAttr::AddrFamily(v) => d.addr_family = Some(*v),
                DestAttr::Stats64(v) => d.stats64 = Some(IpvsStats::from_stats64(v)),
                DestAttr::TunType(v) => d.tun_type = Some(*v),
                DestAttr::TunPort(v) => d.tun_port = Some(*v),
                DestAttr::TunFlags(v) => d.tun_flags = Some(*v),
                DestAttr::Other(_) => {}
            }
        }
        d.addr = raw_addr.and_then(|raw| inet_addr(d.addr_family.or(service_af), &raw));
        d
    }

    /// The forwarding method, if sent.
    pub fn forward_method(&self) -> Option<ForwardMethod> {
        self.fwd_method.map(ForwardMethod::from)
    }
}

/// A connection-sync daemon, from the attributes of an `IPVS_CMD_ATTR_DAEMON` nest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpvsDaemon {
    /// `IP_VS_STATE_MASTER` or `IP_VS_STATE_BACKUP`.
    pub state: Option<u32>,
    /// Multicast interface.
    pub mcast_ifn: Option<String>,
    /// Sync id.
    pub sync_id: Option<u32>,
    /// UDP payload size.
    pub sync_maxlen: Option<u16>,
    /// Multicast group.
    pub mcast_group: Option<IpAddr>,
    /// Multicast port.
    pub mcast_port: Option<u16>,
    /// Multicast TTL.
    pub mcast_ttl: Option<u8>,
}

impl IpvsDaemon {
    /// Builds the view; unknown attributes are skipped.
    pub fn from_attrs(attrs: &[DaemonAttr]) -> Self {
        let mut d = Self::default();
        for a in attrs {
            match a {
                DaemonAttr::State(v) => d.state = Some(*v),
                DaemonAttr::McastIfn(v) => d.mcast_ifn = Some(v.clone()),
                DaemonAttr::SyncId(v) => d.sync_id = Some(*v),
                DaemonAttr::SyncMaxLen(v) => d.sync_maxlen = Some(*v),
                DaemonAttr::McastGroup(v) => d.mcast_group = Some(IpAddr::V4(*v)),
                DaemonAttr::McastGroup6(v) => d.mcast_group = Some(IpAddr::V6(*v)),
                DaemonAttr::McastPort(v) => d.mcast_port = Some(*v),
                DaemonAttr::McastTtl(v) => d.mcast_ttl = Some(*v),
                DaemonAttr::Other(_) => {}
            }
        }
        d
    }
}
