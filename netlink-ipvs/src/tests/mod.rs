//! Byte-level tests: each fixture parses to the expected value, re-emits to the same bytes, and
//! no truncation of it parses or panics.

mod family;
mod fixtures;
mod messages;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator, ParseableParametrized,
};
use netlink_packet_generic::{GenlHeader, GenlMessage};

use crate::IpvsMessage;

type Msg = NetlinkMessage<GenlMessage<IpvsMessage>>;

/// Parses a whole netlink message and returns its IPVS payload.
fn parse(bytes: &[u8]) -> (NetlinkHeader, IpvsMessage) {
    let msg = Msg::deserialize(bytes).expect("fixture parses");
    let NetlinkPayload::InnerMessage(genl) = msg.payload else {
        panic!("not an IPVS message: {:?}", msg.payload);
    };
    assert_eq!(genl.header.version, 1);
    (msg.header, genl.payload)
}

/// Re-emits the parsed message and compares with the original bytes.
fn assert_roundtrip(bytes: &[u8]) {
    let msg = Msg::deserialize(bytes).expect("fixture parses");
    assert_eq!(msg.buffer_len(), bytes.len());
    let mut out = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut out);
    assert_eq!(out, bytes);
}

/// Every truncation of the whole message is an error. Below the netlink header, a cut of the
/// attributes is an error unless it falls exactly between two top-level attributes (then it is
/// a shorter, valid message).
fn assert_truncations_fail(bytes: &[u8]) {
    for cut in 0..bytes.len() {
        assert!(Msg::deserialize(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let header = GenlHeader {
        cmd: bytes[16],
        version: bytes[17],
    };
    let attrs = &bytes[20..];
    let mut boundaries = vec![0];
    for nla in NlasIterator::new(attrs) {
        let nla = nla.expect("fixture attributes are well formed");
        let end = boundaries.last().copied().unwrap_or(0) + usize::from(nla.length());
        boundaries.push(end.next_multiple_of(4));
    }
    for cut in 0..attrs.len() {
        let got = IpvsMessage::parse_with_param(&attrs[..cut], header);
        if boundaries.contains(&cut) {
            assert!(got.is_ok(), "cut at attribute boundary {cut}: {got:?}");
        } else {
            assert!(got.is_err(), "cut at {cut} parsed: {got:?}");
        }
    }
}

/// Emits a request the way the collector will: payload, family id, flags, sequence.
fn emit_request(payload: IpvsMessage, family: u16, flags: u16, seq: u32) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(payload);
    genl.set_resolved_family_id(family);
    let mut msg = NetlinkMessage::from(genl);
    msg.header.flags = flags;
    msg.header.sequence_number = seq;
    msg.finalize();
    let mut out = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut out);
    out
}
