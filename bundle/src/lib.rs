//! The netsnap bundle format, shared by `netsnap-collect` (which writes it) and `netsnap`
//! (which reads it): the format version, the manifest types and the artifact paths.
//!
//! This crate owns the contract described in `docs/bundle-format.md` and nothing else: no I/O,
//! no archive handling, no decoding of artifact contents.

pub mod manifest;
pub mod names;
pub mod version;

pub use manifest::{Artifact, CollectorInfo, HostInfo, Manifest, PastedSpan, Source, Status};
pub use version::{FormatVersion, VersionError, FORMAT_NAME, FORMAT_VERSION};
