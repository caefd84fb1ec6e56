//! The analyzer library's one error type. Loading errors stop the load; decoding errors are
//! collected next to the partial result they interrupted, so one bad message never hides the
//! rest of an artifact.

use std::io;
use std::path::PathBuf;

use netsnap_bundle::VersionError;

/// Everything that can go wrong in the analyzer library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the archive {}", path.display())]
    Archive {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("refusing bundle entry {path:?}: {why}")]
    UnsafePath { path: String, why: &'static str },
    #[error("bundle entry {path:?} is {size} bytes, over the limit of {limit} bytes per entry")]
    EntryTooLarge { path: String, size: u64, limit: u64 },
    #[error("bundle content exceeds the limit of {limit} bytes (decompressed)")]
    TooLarge { limit: u64 },
    #[error("bundle has more than {limit} entries")]
    TooManyEntries { limit: usize },
    #[error("bundle holds {path:?} twice")]
    DuplicateEntry { path: String },
    #[error("no manifest.json at the bundle root or under its one top-level directory")]
    MissingManifest,
    #[error("not a bundle, and nothing in it could be read as pasted evidence: {why}")]
    NothingPasted { why: String },
    #[error("manifest.json is not a valid netsnap manifest")]
    Manifest {
        #[source]
        source: serde_json::Error,
    },
    #[error("manifest.json describes format {found:?}, not {expected:?}")]
    WrongFormat {
        found: String,
        expected: &'static str,
    },
    #[error("cannot read this bundle")]
    Version {
        #[from]
        source: VersionError,
    },
    #[error("cannot write the output")]
    Output {
        #[source]
        source: io::Error,
    },
    #[error("the bundle holds no IPVS table: {why}")]
    NoIpvsTable { why: String },
    #[error("{what} is not available in this build yet")]
    NotAvailable { what: &'static str },
    /// One message or record of an artifact could not be decoded; the rest of the artifact was.
    #[error("{artifact}: cannot decode the record at byte {offset}: {what}")]
    Decode {
        artifact: String,
        offset: usize,
        what: String,
    },
}

/// The analyzer library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
