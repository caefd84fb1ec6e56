//! The generic-netlink family list, as a CTRL_CMD_GETFAMILY **dump**. A dump lists what is
//! registered and loads nothing; a lookup by name of a missing family makes the kernel
//! `request_module("net-pf-16-proto-16-family-NAME")` (net/netlink/genetlink.c), which since
//! about 5.16 loads ip_vs for "IPVS". So this probe never names a family.

use std::time::Instant;

use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::protocols::NETLINK_GENERIC;
use netsnap_bundle::{names, Source, Status};

use crate::collect::{cap, Ctx, Record};
use crate::msg;
use crate::netlink::{dump_request, Conn};

fn source() -> Source {
    Source::Netlink {
        family: "nlctrl".into(),
        command: "CTRL_CMD_GETFAMILY".into(),
        detail: Some("dump of all families".into()),
    }
}

pub fn planned() -> Vec<(String, Source)> {
    vec![(names::GENL_FAMILIES.to_string(), source())]
}

fn request(seq: u32) -> Vec<u8> {
    let mut m = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![],
    });
    m.finalize();
    dump_request(m, seq)
}

/// Returns the stored dump (for finding the IPVS family id) when it was collected.
pub fn probe(ctx: &Ctx) -> Option<Vec<u8>> {
    let started = Instant::now();
    let result = Conn::open(NETLINK_GENERIC, ctx.deadline)
        .and_then(|mut c| c.dump_with_retry(request, cap::NETLINK));
    match result {
        Ok(dump) if dump.error.is_none() => {
            let bytes = dump.bytes.clone();
            let mut r = Record::stored(
                names::GENL_FAMILIES,
                source(),
                dump.bytes,
                cap::NETLINK,
                started,
            );
            if dump.interrupted {
                r = r.with_reason(msg::DUMP_INTERRUPTED);
            }
            ctx.put(r);
            Some(bytes)
        }
        failed => {
            let reason = match failed {
                Ok(dump) => std::io::Error::from_raw_os_error(-dump.error.unwrap_or(0)).to_string(),
                Err(e) => e.to_string(),
            };
            ctx.put(Record::missing(
                names::GENL_FAMILIES,
                source(),
                Status::Error,
                reason,
                started,
            ));
            None
        }
    }
}
