//! The IPVS table over generic netlink, stored verbatim: GET_INFO, GET_CONFIG, the GET_DAEMON
//! and GET_SERVICE dumps, and one GET_DEST dump per service (each request before its replies,
//! since the replies do not name their service).
//!
//! Read only when ip_vs is already in the kernel (`/proc/modules`, built in, `/sys/module/ip_vs`
//! or the family in the dump): the family id comes from the stored family dump, never from a
//! lookup by name, which would load ip_vs (see `genl`). Every IPVS op needs CAP_NET_ADMIN
//! (`GENL_ADMIN_PERM` in ip_vs_ctl.c); EPERM is recorded as `denied`.

use std::time::Instant;

use netlink_ipvs::{IpvsMessage, ServiceAttr};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST};
use netlink_packet_generic::GenlMessage;
use netlink_sys::protocols::NETLINK_GENERIC;
use netsnap_bundle::{names, Source, Status};

use super::procfs::ModuleFacts;
use crate::collect::{cap, Ctx, Record};
use crate::msg;
use crate::netlink::{dump_request, frames, request, Conn, Dump, NlError};

fn source(command: &str, detail: Option<&str>) -> Source {
    Source::Netlink {
        family: "IPVS".into(),
        command: command.into(),
        detail: detail.map(str::to_string),
    }
}

fn artifacts() -> [(&'static str, Source); 5] {
    [
        (names::IPVS_INFO, source("IPVS_CMD_GET_INFO", None)),
        (names::IPVS_CONFIG, source("IPVS_CMD_GET_CONFIG", None)),
        (
            names::IPVS_DAEMONS,
            source("IPVS_CMD_GET_DAEMON", Some("dump")),
        ),
        (
            names::IPVS_SERVICES,
            source("IPVS_CMD_GET_SERVICE", Some("dump")),
        ),
        (
            names::IPVS_DESTS,
            source(
                "IPVS_CMD_GET_DEST",
                Some("one dump per service, each request before its replies"),
            ),
        ),
    ]
}

pub fn planned() -> Vec<(String, Source)> {
    artifacts()
        .into_iter()
        .map(|(p, s)| (p.to_string(), s))
        .collect()
}

/// Whether IPVS is in the kernel now, so reading it loads nothing.
pub fn ipvs_present(modules: &ModuleFacts, family_id: Option<u16>) -> bool {
    modules.present("ip_vs") || family_id.is_some()
}

fn all(ctx: &Ctx, status: Status, reason: &str, started: Instant) {
    for (path, source) in artifacts() {
        ctx.put(Record::missing(path, source, status, reason, started));
    }
}

fn genl(msg: IpvsMessage, family: u16) -> GenlMessage<IpvsMessage> {
    let mut m = GenlMessage::from_payload(msg);
    m.set_resolved_family_id(family);
    m.finalize();
    m
}

/// The record for one exchange; EPERM/EACCES become `denied`.
fn record(path: &str, source: Source, result: Result<Dump, NlError>, started: Instant) -> Record {
    match result {
        Ok(dump) => ended(
            Record::stored(path, source, dump.bytes, cap::NETLINK, started),
            dump.interrupted,
            dump.error,
        ),
        Err(e) => Record::missing(path, source, Status::Error, e.to_string(), started),
    }
}

/// The status and reason of stored replies from how the exchange ended.
fn ended(r: Record, interrupted: bool, error: Option<i32>) -> Record {
    let status = match error.map(|e| -e) {
        None => Status::Ok,
        Some(libc::EPERM) | Some(libc::EACCES) => Status::Denied,
        Some(_) => Status::Error,
    };
    let reason = match error.map(|e| -e) {
        None if interrupted => Some(msg::DUMP_INTERRUPTED.to_string()),
        None => None,
        Some(libc::EPERM) | Some(libc::EACCES) => Some(msg::IPVS_NEEDS_CAP.to_string()),
        Some(e) => Some(std::io::Error::from_raw_os_error(e).to_string()),
    };
    let r = r.with_status(status);
    match reason {
        Some(reason) => r.with_reason(reason),
        None => r,
    }
}

/// Service attributes of every GET_SERVICE reply in a dump.
pub fn services(dump: &[u8]) -> Vec<Vec<ServiceAttr>> {
    let mut out = Vec::new();
    for f in frames(dump).unwrap_or_default() {
        let Some(bytes) = dump.get(f.start..f.start + f.len) else {
            continue;
        };
        let Ok(m) = NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(bytes) else {
            continue;
        };
        if let NetlinkPayload::InnerMessage(genl) = m.payload {
            if let Some(attrs) = genl.payload.service_attrs() {
                out.push(attrs.to_vec());
            }
        }
    }
    out
}

pub fn probe(ctx: &Ctx, modules: &ModuleFacts, families: Option<&[u8]>) {
    let started = Instant::now();
    let family_id = families.and_then(|d| netlink_ipvs::ipvs_family_id(d).ok().flatten());
    if !ipvs_present(modules, family_id) {
        // Without a family dump we still know from /proc/modules and /sys/module; a kernel
        // without IPVS at all is the common case here.
        all(ctx, Status::Skipped, msg::IPVS_NOT_LOADED, started);
        return;
    }
    let Some(family) = family_id else {
        let reason = if families.is_some() {
            msg::IPVS_NO_FAMILY
        } else {
            msg::IPVS_NO_FAMILIES
        };
        all(ctx, Status::Error, reason, started);
        return;
    };
    let mut conn = match Conn::open(NETLINK_GENERIC, ctx.deadline) {
        Ok(c) => c,
        Err(e) => {
            all(ctx, Status::Error, &e.to_string(), started);
            return;
        }
    };
    let [info, config, daemons, services_src, dests_src] = artifacts();

    // GET_INFO and GET_CONFIG are plain requests: ask for an ACK so the answer ends with a
    // terminating NLMSG_ERROR(0) like a dump ends with NLMSG_DONE.
    for ((path, source), build) in [
        (info, netlink_ipvs::get_info as fn() -> IpvsMessage),
        (config, netlink_ipvs::get_config),
    ] {
        let t = Instant::now();
        let seq = conn.next_seq();
        let req = request(genl(build(), family), NLM_F_REQUEST | NLM_F_ACK, seq);
        ctx.put(record(
            path,
            source,
            conn.exchange(&req, seq, cap::NETLINK),
            t,
        ));
    }

    let t = Instant::now();
    let r = conn.dump_with_retry(
        |seq| dump_request(genl(netlink_ipvs::get_daemons(), family), seq),
        cap::NETLINK,
    );
    ctx.put(record(daemons.0, daemons.1, r, t));

    let t = Instant::now();
    let r = conn.dump_with_retry(
        |seq| dump_request(genl(netlink_ipvs::get_services(), family), seq),
        cap::NETLINK,
    );
    let service_list = match &r {
        Ok(d) if d.error.is_none() => services(&d.bytes),
        _ => Vec::new(),
    };
    let services_ok = matches!(&r, Ok(d) if d.error.is_none());
    ctx.put(record(services_src.0, services_src.1.clone(), r, t));

    let t = Instant::now();
    if !services_ok {
        ctx.put(Record::missing(
            dests_src.0,
            dests_src.1,
            Status::Error,
            "not read: the service dump failed",
            t,
        ));
        return;
    }
    // The replies go to a spool (a file past its threshold), one service's exchange at a time:
    // 100,000 destinations are about 36 MB, more than the collector should hold.
    let mut spool = ctx.spool(cap::NETLINK);
    let mut chunk = Vec::new();
    let mut failure = None;
    let mut error = None;
    for svc in &service_list {
        if ctx.expired() {
            failure = Some(Record::missing(
                dests_src.0,
                dests_src.1.clone(),
                Status::Timeout,
                msg::GLOBAL_DEADLINE,
                t,
            ));
            break;
        }
        // Past the cap the rest would be cut anyway (the spool marks it truncated): stop
        // reading, so the time spent stays bounded however many services there are.
        if spool.truncated() {
            break;
        }
        let seq = conn.next_seq();
        let req = dump_request(genl(netlink_ipvs::get_dests(svc), family), seq);
        chunk.clear();
        chunk.extend_from_slice(&req);
        match conn.exchange_into(&req, seq, cap::NETLINK, &mut chunk) {
            Ok(end) => {
                spool.write(&chunk);
                if end.error.is_some() {
                    error = end.error;
                    break;
                }
            }
            Err(e) => {
                failure = Some(record(dests_src.0, dests_src.1.clone(), Err(e), t));
                break;
            }
        }
    }
    let r = failure.unwrap_or_else(|| match spool.finish() {
        Ok(done) => ended(
            Record::spooled(dests_src.0, dests_src.1, done, t),
            false,
            error,
        ),
        Err(e) => Record::missing(
            dests_src.0,
            dests_src.1,
            Status::Error,
            msg::spool_failed(&e),
            t,
        ),
    });
    ctx.put(r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipvs_gate() {
        let mut m = ModuleFacts {
            loadable: true,
            ..Default::default()
        };
        assert!(!ipvs_present(&m, None));
        assert!(ipvs_present(&m, Some(30)));
        m.loaded.insert("ip_vs".into());
        assert!(ipvs_present(&m, None));
        let mut b = ModuleFacts::default();
        b.sys_module.insert("ip_vs".into());
        assert!(ipvs_present(&b, None));
    }
}
