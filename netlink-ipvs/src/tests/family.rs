use crate::ipvs_family_id;

/// A real `CTRL_CMD_GETFAMILY` dump from a kernel without IPVS (6.18, no module support),
/// captured with `tests/data/capture-families.py`.
const NO_IPVS: &[u8] = include_bytes!("../../tests/data/families-no-ipvs.nl");

/// The `CTRL_CMD_NEWFAMILY` message a kernel with ip_vs loaded adds to the dump (only the
/// attributes that matter here; the kernel also sends VERSION, HDRSIZE, MAXATTR, OPS).
const IPVS_FAMILY: &[u8] = &[
    0x28, 0x00, 0x00, 0x00, // nlmsg_len 40
    0x10, 0x00, // nlmsg_type GENL_ID_CTRL
    0x02, 0x00, // nlmsg_flags NLM_F_MULTI
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq 1
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid 0
    0x01, 0x02, 0x00, 0x00, // genl cmd CTRL_CMD_NEWFAMILY, version 2, reserved
    0x09, 0x00, 0x02, 0x00, // len 9, CTRL_ATTR_FAMILY_NAME
    0x49, 0x50, 0x56, 0x53, // "IPVS"
    0x00, 0x00, 0x00, 0x00, // NUL, 3 bytes padding
    0x06, 0x00, 0x01, 0x00, // len 6, CTRL_ATTR_FAMILY_ID
    0x25, 0x00, 0x00, 0x00, // 37, 2 bytes padding
];

/// NLMSG_DONE as the last message of a dump.
fn done_len(dump: &[u8]) -> usize {
    let tail = &dump[dump.len() - 20..];
    assert_eq!(
        &tail[4..6],
        &3u16.to_ne_bytes(),
        "the capture ends in NLMSG_DONE"
    );
    20
}

#[test]
fn real_dump_without_ipvs_says_absent() {
    assert_eq!(ipvs_family_id(NO_IPVS).expect("well formed"), None);
}

#[test]
fn finds_ipvs_among_real_families() {
    let cut = NO_IPVS.len() - done_len(NO_IPVS);
    let mut dump = NO_IPVS[..cut].to_vec();
    dump.extend_from_slice(IPVS_FAMILY);
    dump.extend_from_slice(&NO_IPVS[cut..]);
    assert_eq!(ipvs_family_id(&dump).expect("well formed"), Some(0x25));
    // Found before a damaged tail: still found.
    let damaged = &dump[..dump.len() - 3];
    assert_eq!(ipvs_family_id(damaged).expect("found first"), Some(0x25));
}

#[test]
fn truncated_dump_is_an_error_not_absence() {
    for cut in 0..NO_IPVS.len() {
        assert!(ipvs_family_id(&NO_IPVS[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn error_reply_is_an_error() {
    let mut err = Vec::new();
    err.extend_from_slice(&36u32.to_ne_bytes());
    err.extend_from_slice(&2u16.to_ne_bytes()); // NLMSG_ERROR
    err.extend_from_slice(&[0; 10]);
    err.extend_from_slice(&(-1i32).to_ne_bytes()); // -EPERM
    err.extend_from_slice(&[0; 16]); // the request's header
    assert!(ipvs_family_id(&err).is_err());
}
