//! Reports of a [`Report`]: terminal text, Markdown and JSON. All render the same model and
//! write to `impl Write`; colour is the caller's choice (decided once, in `main`).

mod json;
mod markdown;
pub mod script;
mod text;

use std::io::Write;

use crate::diagnose::{Finding, Report, Severity};
use crate::error::{Error, Result};

/// Output formats of `netsnap analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// Options of the text report.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// ANSI colour for severities and headings.
    pub colour: bool,
    /// Table width in columns.
    pub width: u16,
    /// At most this many consequences are listed under each root cause (all are in JSON).
    pub max_consequences: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            colour: false,
            width: 110,
            max_consequences: 8,
        }
    }
}

pub fn render(
    report: &Report,
    format: Format,
    text: TextOptions,
    out: &mut dyn Write,
) -> Result<()> {
    let r = match format {
        Format::Text => text::render(report, text, out),
        Format::Markdown => markdown::render(report, text.max_consequences, out),
        Format::Json => json::render(report, out),
    };
    r.map_err(|source| Error::Output { source })
}

/// User-facing words shared by the text and Markdown reports.
pub(crate) mod words {
    pub const ROOT_CAUSES: &str = "Root causes, in the order to fix them";
    pub const OTHER: &str = "Other findings";
    pub const NOT_CONCLUDED: &str = "Not concluded";
    pub const NOTHING: &str = "No problem found in the collected evidence.";
    pub const EVIDENCE: &str = "Evidence";
    pub const FIX: &str = "Fix";
    pub const LEADS_TO: &str = "Leads to";
    pub const WHY: &str = "Why";
    pub const CONFIDENCE: &str = "confidence";
    pub const WOULD_CONFIRM: &str = "would settle it";
    pub const MANUAL: &str = "manual step";
    pub const INPUTS: &str = "Input";
    pub const CLUSTER_SCOPE: &str =
        "Kubernetes objects only: joined the cluster view, no node checks run on it";
    pub const MORE: &str = "more, see --format json";
    pub const PASTED: &str = "pasted text";
    pub const READ: &str = "read";
    pub const NOT_READ: &str = "not read";
    pub const SAID: &str = "said";
    pub const CERTAINTY: [(&str, &str); 6] = [
        ("kernel", "the kernel"),
        ("tool", "a tool"),
        ("component", "a component"),
        ("config", "a configuration"),
        ("inferred", "inferred"),
        ("reported", "a person"),
    ];
}

/// At most this many observations are printed per input in text and Markdown.
const SAID_SHOWN: usize = 8;

/// The observations of an input, a line each: `module-not-loaded ip_vs (kube-proxy.log line
/// 3, by a component)`, and how many more the JSON lists.
pub(crate) fn said_lines(i: &crate::diagnose::InputSummary) -> Vec<String> {
    let mut lines: Vec<String> = i
        .observations
        .iter()
        .take(SAID_SHOWN)
        .map(|o| {
            let kind = serde_json::to_value(o.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let certainty = serde_json::to_value(o.certainty)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let by = words::CERTAINTY
                .iter()
                .find(|(k, _)| *k == certainty)
                .map_or(certainty.as_str(), |(_, w)| w);
            let what = [kind.as_str(), o.subject.as_str(), o.value.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "{what} ({} {}, by {by})",
                o.evidence.artifact, o.evidence.locator
            )
        })
        .collect();
    if i.observations.len() > SAID_SHOWN {
        lines.push(format!(
            "... {} {}",
            i.observations.len() - SAID_SHOWN,
            words::MORE
        ));
    }
    lines
}

/// How an input was obtained, for the input line: when collected, or that it was pasted.
pub(crate) fn input_origin(i: &crate::diagnose::InputSummary) -> String {
    if i.pasted.is_empty() {
        format!("collected {}", i.collected_at)
    } else {
        let files: std::collections::BTreeSet<&str> =
            i.pasted.iter().map(|p| p.file.as_str()).collect();
        format!("{}, {} file(s)", words::PASTED, files.len())
    }
}

/// What the report says of a pasted input's pieces.
pub(crate) struct PastedLines {
    /// Per file, what was read: `session.txt: ipvsadm, ip addr, sysctl ×2`.
    pub read: Vec<String>,
    /// Notes on pieces that were read (`file:lines: note`).
    pub notes: Vec<String>,
    /// Each piece not read, and why: `file:first-last kind: why`.
    pub not_read: Vec<String>,
}

pub(crate) fn pasted_lines(i: &crate::diagnose::InputSummary) -> PastedLines {
    let mut read: Vec<(String, Vec<(&str, usize)>)> = Vec::new();
    let mut notes = Vec::new();
    let mut not_read = Vec::new();
    for p in &i.pasted {
        let at = if p.lines[0] >= p.lines[1] {
            format!("{}:{}", p.file, p.lines[0])
        } else {
            format!("{}:{}-{}", p.file, p.lines[0], p.lines[1])
        };
        let command = p
            .command
            .as_deref()
            .map(|c| format!(" `{c}`"))
            .unwrap_or_default();
        let line = format!("{at} {}{command}", p.kind);
        if p.read {
            if read.last().is_none_or(|(f, _)| *f != p.file) {
                read.push((p.file.clone(), Vec::new()));
            }
            if let Some((_, kinds)) = read.last_mut() {
                match kinds.iter_mut().find(|(k, _)| *k == p.kind) {
                    Some((_, n)) => *n += 1,
                    None => kinds.push((p.kind, 1)),
                }
            }
            notes.extend(p.notes.iter().map(|n| format!("{at}: {n}")));
        } else if p.kind == crate::load::pasted::NOT_RECOGNISED {
            not_read.push(format!("{at}: {}", p.notes.join("; ")));
        } else {
            not_read.push(format!("{line}: {}", p.notes.join("; ")));
        }
    }
    let read = read
        .into_iter()
        .map(|(file, kinds)| {
            let kinds: Vec<String> = kinds
                .into_iter()
                .map(|(k, n)| {
                    if n > 1 {
                        format!("{k} ×{n}")
                    } else {
                        k.to_string()
                    }
                })
                .collect();
            format!("{file}: {}", kinds.join(", "))
        })
        .collect();
    PastedLines {
        read,
        notes,
        not_read,
    }
}

/// The checks' verdicts in one line: "50 checks: 3 found, 41 clear, 6 could not conclude."
pub(crate) fn verdict_line(c: &crate::diagnose::Counts) -> String {
    format!(
        "{} checks: {} found, {} clear, {} could not conclude.",
        c.checks,
        c.found(),
        c.clear,
        c.cannot_conclude
    )
}

pub(crate) fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

pub(crate) fn confidence_word(f: &Finding) -> &'static str {
    match f.confidence {
        crate::diagnose::Confidence::High => "high",
        crate::diagnose::Confidence::Medium => "medium",
        crate::diagnose::Confidence::Low => "low",
    }
}

/// The id with catalog entry, e.g. `ipvs-modules-missing (C01)`.
pub(crate) fn id_label(f: &Finding) -> String {
    if f.catalog.is_empty() {
        f.key()
    } else {
        format!("{} ({})", f.key(), f.catalog)
    }
}

/// Groups for the human reports: each root cause with the findings it explains (transitively),
/// then the remaining findings.
pub(crate) fn groups(report: &Report) -> (Vec<(&Finding, Vec<&Finding>)>, Vec<&Finding>) {
    let by_key = |k: &str| report.findings.iter().find(|f| f.key() == k);
    let mut seen = std::collections::BTreeSet::new();
    let mut roots = Vec::new();
    for f in report.findings.iter().filter(|f| f.root_cause) {
        seen.insert(f.key());
        let mut cons = Vec::new();
        let mut stack: Vec<String> = f.explains.iter().rev().cloned().collect();
        while let Some(k) = stack.pop() {
            if !seen.insert(k.clone()) {
                continue;
            }
            if let Some(c) = by_key(&k) {
                cons.push(c);
                stack.extend(c.explains.iter().rev().cloned());
            }
        }
        roots.push((f, cons));
    }
    let rest = report
        .findings
        .iter()
        .filter(|f| !seen.contains(&f.key()))
        .collect();
    (roots, rest)
}
