//! The Markdown report, to paste into a ticket: the same sections as the text report, with
//! evidence as tables and commands as code blocks.

use std::io::{self, Write};

use super::{confidence_word, groups, id_label, severity_word, words};
use crate::diagnose::scope::InputScope;
use crate::diagnose::{Finding, Report};

pub fn render(report: &Report, max_consequences: usize, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# netsnap report")?;
    writeln!(out)?;
    for i in &report.inputs {
        let mut facts = match i.scope {
            InputScope::Cluster => vec![words::CLUSTER_SCOPE.to_string()],
            _ => vec![format!("host `{}`", i.hostname)],
        };
        if let Some(n) = &i.node {
            facts.push(format!("node `{n}`"));
        }
        if !i.kernel_release.is_empty() {
            facts.push(format!("kernel `{}`", i.kernel_release));
        }
        if let Some(m) = &i.proxy_mode {
            facts.push(format!("kube-proxy mode `{m}`"));
        }
        facts.push(super::input_origin(i));
        writeln!(
            out,
            "- {}: `{}` ({})",
            words::INPUTS,
            i.path,
            facts.join(", ")
        )?;
        let pasted = super::pasted_lines(i);
        for r in pasted.read {
            writeln!(out, "  - {}: {r}", words::READ)?;
        }
        for r in pasted.notes {
            writeln!(out, "  - note: {r}")?;
        }
        for r in pasted.not_read {
            writeln!(out, "  - {}: {r}", words::NOT_READ)?;
        }
        for o in super::said_lines(i) {
            writeln!(out, "  - {}: {o}", words::SAID)?;
        }
    }
    writeln!(out)?;
    let (roots, rest) = groups(report);
    if report.findings.is_empty() {
        writeln!(out, "{}", words::NOTHING)?;
        writeln!(out)?;
    }
    if !roots.is_empty() {
        writeln!(out, "## {}", words::ROOT_CAUSES)?;
        writeln!(out)?;
        for (n, (root, cons)) in roots.iter().enumerate() {
            finding(out, &format!("{}.", n + 1), root)?;
            if !cons.is_empty() {
                writeln!(out, "**{}:**", words::LEADS_TO)?;
                writeln!(out)?;
                for c in cons.iter().take(max_consequences) {
                    writeln!(
                        out,
                        "- {} `{}`: {}",
                        severity_word(c.severity),
                        c.key(),
                        md(&c.summary)
                    )?;
                }
                if cons.len() > max_consequences {
                    writeln!(
                        out,
                        "- ... {} {}",
                        cons.len() - max_consequences,
                        words::MORE
                    )?;
                }
                writeln!(out)?;
            }
        }
    }
    if !rest.is_empty() {
        writeln!(out, "## {}", words::OTHER)?;
        writeln!(out)?;
        for f in rest {
            finding(out, "-", f)?;
        }
    }
    if !report.not_concluded.is_empty() {
        writeln!(out, "## {}", words::NOT_CONCLUDED)?;
        writeln!(out)?;
        for n in &report.not_concluded {
            write!(out, "- `{}`: {}: {}", n.id, md(&n.question), md(&n.reason))?;
            if let Some(w) = &n.would_confirm {
                write!(out, " ({}: `{w}`)", words::WOULD_CONFIRM)?;
            }
            writeln!(out)?;
        }
        writeln!(out)?;
    }
    let c = &report.counts;
    writeln!(out, "_{}_", super::verdict_line(c))?;
    writeln!(out)?;
    writeln!(
        out,
        "_{} checks: {} error(s), {} warning(s), {} info; {} root cause(s); {} question(s) not concluded._",
        c.checks,
        c.error, c.warning, c.info, c.root_causes, c.not_concluded
    )
}

fn finding(out: &mut dyn Write, bullet: &str, f: &Finding) -> io::Result<()> {
    writeln!(
        out,
        "### {bullet} {} `{}` ({} {})",
        severity_word(f.severity),
        id_label(f),
        words::CONFIDENCE,
        confidence_word(f)
    )?;
    writeln!(out)?;
    writeln!(out, "{}", md(&f.summary))?;
    writeln!(out)?;
    if !f.detail.is_empty() {
        writeln!(out, "{}: {}", words::WHY, md(&f.detail))?;
        writeln!(out)?;
    }
    if !f.evidence.is_empty() {
        writeln!(out, "| {} | | |", words::EVIDENCE)?;
        writeln!(out, "|---|---|---|")?;
        for e in &f.evidence {
            writeln!(
                out,
                "| `{}` | {} | `{}` |",
                e.artifact,
                cell(&e.locator),
                e.excerpt.replace('|', "\\|").replace('`', "'")
            )?;
        }
        writeln!(out)?;
    }
    if !f.fix.is_empty() {
        writeln!(out, "**{}:**", words::FIX)?;
        writeln!(out)?;
        for (i, step) in f.fix.iter().enumerate() {
            let manual = if step.commands.is_empty() {
                format!(" _({})_", words::MANUAL)
            } else {
                String::new()
            };
            writeln!(out, "{}. {}{manual}", i + 1, md(&step.text))?;
            if !step.commands.is_empty() {
                writeln!(out)?;
                writeln!(out, "   ```sh")?;
                for c in &step.commands {
                    writeln!(out, "   {c}")?;
                }
                writeln!(out, "   ```")?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Text into Markdown: characters that would start markup are escaped.
fn md(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '*' | '_' | '`' | '<' | '>' | '[' | ']' | '|' | '#') {
            o.push('\\');
        }
        o.push(ch);
    }
    o
}

fn cell(s: &str) -> String {
    md(s)
}
