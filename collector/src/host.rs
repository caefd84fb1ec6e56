//! The node's identity for the manifest: hostname and kernel from uname(2), the boot id, the
//! effective user id.

use netsnap_bundle::HostInfo;

use crate::sys;

pub struct Host {
    pub info: HostInfo,
    pub euid: u32,
}

pub fn info() -> Host {
    let u = sys::uname().unwrap_or_default();
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Host {
        info: HostInfo {
            hostname: u.nodename,
            kernel_release: u.release,
            kernel_version: u.version,
            machine: u.machine,
            boot_id,
        },
        euid: sys::geteuid(),
    }
}
