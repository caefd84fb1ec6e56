//! The netsnap analyzer: loads a bundle (a `.tar.gz` or an unpacked directory), decodes the raw
//! evidence into typed values and renders views of it.
//!
//! Library code never prints: renderers write to `impl Write`, and only `main.rs` touches
//! stdout, stderr and colour.

pub mod decode;
pub mod diagnose;
pub mod error;
pub mod load;
pub mod observe;
pub mod report;
pub mod show;
pub mod signatures;

pub use error::{Error, Result};
pub use load::{Bundle, Evidence, Limits};
