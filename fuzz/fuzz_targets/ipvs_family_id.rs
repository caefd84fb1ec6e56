//! Any bytes as a stored CTRL_CMD_GETFAMILY dump: the lookup never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = netlink_ipvs::ipvs_family_id(data);
});
