//! `show sysctls`: every collected key, and for the others why it has no value.

use std::io::Write;

use netsnap_bundle::names;

use super::{output, write_json};
use crate::decode::sysctl::{parse_sysctls, SysctlValue};
use crate::error::Result;
use crate::load::Bundle;

pub fn render(
    bundle: &Bundle,
    json: bool,
    out: &mut dyn Write,
    notes: &mut Vec<String>,
) -> Result<()> {
    let ev = bundle.evidence(names::SYSCTLS);
    let values = match ev.bytes() {
        Some(b) => parse_sysctls(&String::from_utf8_lossy(b)),
        None => {
            if let Some(why) = ev.absence() {
                notes.push(format!("{} {why}", names::SYSCTLS));
            }
            Default::default()
        }
    };
    if json {
        return write_json(out, &values);
    }
    for (k, v) in &values {
        match v {
            SysctlValue::Value(v) => writeln!(out, "{k} = {v}"),
            SysctlValue::Absent => writeln!(out, "{k}: absent on the node"),
            SysctlValue::Denied => writeln!(out, "{k}: permission denied"),
            SysctlValue::Error(e) => writeln!(out, "{k}: error: {e}"),
        }
        .map_err(output)?;
    }
    Ok(())
}
