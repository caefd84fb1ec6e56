//! `sysctl -a`, `sysctl KEY`, and `sysctl.d`-style text into [`SysctlValue`]s, each line read
//! with the bundle's own `sysctl.txt` parser so both sources mean the same.

use std::collections::BTreeMap;

use super::issue::TextIssue;
use super::recognize::is_sysctl_line;
use super::{Parsed, Source};
use crate::decode::sysctl::{parse_sysctls, SysctlValue};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SysctlText {
    /// Key (dotted) → value and the line it was read from; a key given twice keeps the last,
    /// as `sysctl -p` would apply it.
    pub values: BTreeMap<String, Parsed<SysctlValue>>,
    pub issues: Vec<TextIssue>,
}

/// Parses sysctl text.
pub fn parse(src: &Source<'_>) -> SysctlText {
    let mut out = SysctlText::default();
    for (n, line) in src.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        let parsed = parse_sysctls(line);
        if parsed.is_empty() || !is_sysctl_line(line) {
            // procps prints `sysctl: reading key "..."` for keys it cannot read.
            if !t.starts_with("sysctl: ") {
                out.issues
                    .push(src.bad(n, "sysctl output", "not a `key = value` line"));
            }
            continue;
        }
        for (k, v) in parsed {
            out.values.insert(k, Parsed { value: v, line: n });
        }
    }
    // The last value of a cut paste may be cut short without any sign; only a line that did
    // not parse is reported (by `bad` above).
    out
}
