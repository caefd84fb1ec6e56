//! Finding the IPVS family id in a stored generic-netlink family dump.
//!
//! The id is assigned when `ip_vs` registers its family, so it must be looked up. A lookup by
//! name (`CTRL_CMD_GETFAMILY` with `CTRL_ATTR_FAMILY_NAME`) makes `ctrl_getfamily`
//! (`net/netlink/genetlink.c`) call `request_module("net-pf-16-proto-16-family-IPVS")` when the
//! family is missing, and since Linux 5.16 ip_vs carries that alias, so the lookup loads the
//! module. A dump (`NLM_F_DUMP`, no name) never loads anything, hence this function.

use netlink_packet_core::{parse_string, parse_u16, DecodeError, NlasIterator};

use crate::IPVS_GENL_NAME;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const GENL_ID_CTRL: u16 = 16;
const GENL_HDRLEN: usize = 4;
const CTRL_CMD_NEWFAMILY: u8 = 1;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// Looks for the "IPVS" family in `ctrl_dump`: the bytes of a `CTRL_CMD_GETFAMILY` dump,
/// netlink messages back to back as the kernel sent them (the request we sent may precede them;
/// it is skipped, since only `CTRL_CMD_NEWFAMILY` messages are read).
///
/// - `Ok(Some(id))`: IPVS is registered with family id `id` (returned as soon as it is seen,
///   even if later bytes are damaged).
/// - `Ok(None)`: the dump is complete and well formed, and has no IPVS family: `ip_vs` is not
///   loaded (or not built) in this kernel.
/// - `Err(_)`: the dump is truncated or malformed, or ended in `NLMSG_ERROR`, before IPVS was
///   seen: nothing can be concluded.
pub fn ipvs_family_id(ctrl_dump: &[u8]) -> Result<Option<u16>, DecodeError> {
    let mut offset = 0;
    while offset < ctrl_dump.len() {
        let rest = &ctrl_dump[offset..];
        let Some(header) = rest.get(..NLMSG_HDRLEN) else {
            return Err(format!("truncated netlink header at byte {offset}").into());
        };
        let len = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = u16::from_ne_bytes([header[4], header[5]]);
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(format!("bad netlink message length {len} at byte {offset}").into());
        }
        let payload = &rest[NLMSG_HDRLEN..len];
        match kind {
            NLMSG_DONE => return Ok(None),
            NLMSG_ERROR => {
                let code = payload
                    .get(..4)
                    .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                return match code {
                    Some(0) => Ok(None),
                    Some(code) => Err(format!("family dump failed with error {code}").into()),
                    None => Err(format!("truncated NLMSG_ERROR at byte {offset}").into()),
                };
            }
            GENL_ID_CTRL if payload.len() >= GENL_HDRLEN && payload[0] == CTRL_CMD_NEWFAMILY => {
                let mut id = None;
                let mut name_is_ipvs = false;
                for nla in NlasIterator::new(&payload[GENL_HDRLEN..]) {
                    let nla = nla?;
                    match nla.kind() {
                        CTRL_ATTR_FAMILY_ID => id = Some(parse_u16(nla.value())?),
                        CTRL_ATTR_FAMILY_NAME => {
                            name_is_ipvs = parse_string(nla.value())? == IPVS_GENL_NAME
                        }
                        _ => {}
                    }
                }
                if name_is_ipvs {
                    return match id {
                        Some(id) => Ok(Some(id)),
                        None => Err("the IPVS family has no CTRL_ATTR_FAMILY_ID".into()),
                    };
                }
            }
            _ => {}
        }
        // NLMSG_ALIGN; the last message of a buffer may lack its padding.
        offset += len.next_multiple_of(4).min(rest.len());
    }
    Err("the family dump ends without NLMSG_DONE".into())
}
