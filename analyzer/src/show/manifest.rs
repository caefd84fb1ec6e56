//! `show manifest`: who collected the bundle, where, and every artifact with its status and
//! reason.

use std::io::Write;

use super::{output, write_json, write_table};
use crate::error::Result;
use crate::load::Bundle;

pub fn render(bundle: &Bundle, json: bool, out: &mut dyn Write) -> Result<()> {
    let m = bundle.manifest();
    if json {
        return write_json(out, m);
    }
    writeln!(
        out,
        "bundle format {} by {} {}\nhost {} kernel {} ({})\ncollected {} .. {}\n",
        m.format_version,
        m.collector.name,
        m.collector.version,
        m.host.hostname,
        m.host.kernel_release,
        m.host.machine,
        m.started_at,
        m.finished_at
    )
    .map_err(output)?;
    let mut rows = vec![vec![
        "PATH".to_string(),
        "STATUS".into(),
        "BYTES".into(),
        "MS".into(),
        "REASON".into(),
    ]];
    for a in &m.artifacts {
        let mut status = a.status.as_str().to_string();
        if a.truncated {
            status.push_str(" (truncated)");
        }
        let mut reason = a.reason.clone().unwrap_or_default();
        if let Some(code) = a.exit_code.filter(|c| *c != 0) {
            reason = format!("exit {code}; {reason}");
        }
        rows.push(vec![
            a.path.clone(),
            status,
            a.bytes.to_string(),
            a.duration_ms.to_string(),
            reason.replace('\n', " "),
        ]);
    }
    write_table(out, &rows)?;
    for s in bundle.skipped() {
        writeln!(out, "skipped entry {} ({})", s.path, s.kind).map_err(output)?;
    }
    Ok(())
}
