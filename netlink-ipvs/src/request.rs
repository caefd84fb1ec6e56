//! Requests the collector sends. Each returns the payload only: the caller wraps it in
//! `GenlMessage::from_payload`, sets the resolved family id and the netlink flags
//! (`NLM_F_REQUEST`, plus `NLM_F_DUMP` for the dumps: GET_SERVICE, GET_DEST, GET_DAEMON).

use crate::message::{IpvsAttr, IpvsCommand, IpvsMessage};
use crate::service::ServiceAttr;

fn bare(cmd: IpvsCommand) -> IpvsMessage {
    IpvsMessage {
        cmd,
        attrs: Vec::new(),
    }
}

/// `IPVS_CMD_GET_INFO` (a plain request, not a dump): version and connection table size.
pub fn get_info() -> IpvsMessage {
    bare(IpvsCommand::GetInfo)
}

/// `IPVS_CMD_GET_CONFIG` (a plain request): the tcp, tcpfin and udp timeouts.
pub fn get_config() -> IpvsMessage {
    bare(IpvsCommand::GetConfig)
}

/// `IPVS_CMD_GET_DAEMON`, sent as a dump: the sync daemons.
pub fn get_daemons() -> IpvsMessage {
    bare(IpvsCommand::GetDaemon)
}

/// `IPVS_CMD_GET_SERVICE`, sent as a dump: every virtual service.
pub fn get_services() -> IpvsMessage {
    bare(IpvsCommand::GetService)
}

/// `IPVS_CMD_GET_DEST`, sent as a dump: the destinations of the service whose reply
/// attributes are `service`.
///
/// The request carries a nested SERVICE with the service's identity only, as ipvsadm's
/// `ipvs_get_dests` sends it: AF, then FWMARK for a firewall-mark service, or PROTOCOL, ADDR and
/// PORT. The kernel (`ip_vs_genl_parse_service`) needs nothing else; an unknown service gives
/// an empty dump, not an error.
pub fn get_dests(service: &[ServiceAttr]) -> IpvsMessage {
    let pick = |f: fn(&ServiceAttr) -> bool| service.iter().find(|a| f(a)).cloned();
    let mut identity = Vec::with_capacity(4);
    identity.extend(pick(|a| matches!(a, ServiceAttr::Af(_))));
    // The kernel sends FWMARK only for firewall-mark services (fwmark != 0).
    match pick(|a| matches!(a, ServiceAttr::Fwmark(m) if *m != 0)) {
        Some(fwmark) => identity.push(fwmark),
        None => {
            identity.extend(pick(|a| matches!(a, ServiceAttr::Protocol(_))));
            identity.extend(pick(|a| matches!(a, ServiceAttr::Addr(_))));
            identity.extend(pick(|a| matches!(a, ServiceAttr::Port(_))));
        }
    }
    IpvsMessage {
        cmd: IpvsCommand::GetDest,
        attrs: vec![IpvsAttr::Service(identity)],
    }
}
