//! One module per evidence source. Each exposes `planned()` (the artifacts it always reports,
//! so a timeout can be recorded against them) and `probe(ctx, ...)`, which reports records to
//! the [`Ctx`](crate::collect::Ctx). Pure decisions (what to run, what to skip) are plain
//! functions next to the probe, tested without I/O.

pub mod commands;
pub mod files;
pub mod genl;
pub mod ipvs;
pub mod kmsg;
pub mod kubectl;
pub mod procfs;
pub mod rtnl;
pub mod sysctl;

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::time::Instant;

use netsnap_bundle::{Source, Status};

use crate::collect::Record;

/// Reads at most `cap + 1` bytes (so the caller can tell truncation).
pub fn read_capped(path: &Path, cap: usize) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    fs::File::open(path)?
        .take(cap as u64 + 1)
        .read_to_end(&mut data)?;
    Ok(data)
}

/// The status for an I/O error.
pub fn io_status(e: &io::Error) -> Status {
    match e.kind() {
        io::ErrorKind::NotFound => Status::Absent,
        io::ErrorKind::PermissionDenied => Status::Denied,
        _ if e.raw_os_error() == Some(libc::ENOENT) => Status::Absent,
        _ if e.raw_os_error() == Some(libc::EPERM) => Status::Denied,
        _ => Status::Error,
    }
}

/// A file stored verbatim under `bundle_path`, or its absence/denial.
pub fn file_record(bundle_path: &str, node_path: &str, cap: usize) -> Record {
    let started = Instant::now();
    let source = Source::File {
        path: node_path.to_string(),
    };
    match read_capped(Path::new(node_path), cap) {
        Ok(data) => Record::stored(bundle_path, source, data, cap, started),
        Err(e) => Record::missing(bundle_path, source, io_status(&e), e.to_string(), started),
    }
}
