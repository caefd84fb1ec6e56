//! The few system calls std does not wrap: `uname`, `geteuid`, killing a process group and a
//! receive timeout on a socket. This is the only module allowed `unsafe`; each block is one libc
//! call on memory owned by the caller.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// The fields of `struct utsname` we record.
#[derive(Debug, Clone, Default)]
pub struct Uname {
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
}

fn field(chars: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

pub fn uname() -> Option<Uname> {
    // SAFETY: utsname is plain old data; zeroed is a valid value and uname(2) fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    Some(Uname {
        nodename: field(&u.nodename),
        release: field(&u.release),
        version: field(&u.version),
        machine: field(&u.machine),
    })
}

pub fn geteuid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// SIGKILL to every process of the group `pgid` (a child spawned with `process_group(0)` leads
/// a group whose id is its pid).
pub fn kill_process_group(pgid: u32) {
    // kill(0) or kill(-1) would hit our own group or every process we may signal: refuse.
    let Ok(pgid) = i32::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals that group; no memory is involved.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// SO_RCVTIMEO, so a blocking netlink `recv` returns EAGAIN instead of waiting forever.
// libc marks musl's time_t deprecated (it becomes 64-bit in a later libc release); the field
// types are what they are, the casts follow them.
#[allow(deprecated)]
pub fn set_recv_timeout(fd: RawFd, timeout: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: `tv` lives across the call and the length passed is its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Gives the unnamed (`O_TMPFILE`) file open as `fd` the name `target`, through its
/// `/proc/self/fd` link (`linkat` with `AT_EMPTY_PATH` would need CAP_DAC_READ_SEARCH).
pub fn link_unnamed(fd: RawFd, target: &std::path::Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let invalid = |_| io::Error::from(io::ErrorKind::InvalidInput);
    let src = std::ffi::CString::new(format!("/proc/self/fd/{fd}")).map_err(invalid)?;
    let dst = std::ffi::CString::new(target.as_os_str().as_bytes()).map_err(invalid)?;
    // SAFETY: both strings are NUL-terminated and live across the call.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            src.as_ptr(),
            libc::AT_FDCWD,
            dst.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
