//! The JSON report (`docs/report-schema.md`). Same report → same bytes: every list in the
//! model is ordered deterministically and no time of analysis is recorded.

use std::io::{self, Write};

use crate::diagnose::Report;

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // serde_json keeps the kind of an I/O error (a closed pipe stays BrokenPipe).
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::from)?;
    writeln!(out)
}
