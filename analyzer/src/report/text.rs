//! The terminal report: root causes first, in fix order, each with its evidence, its fix and
//! what it leads to; then other findings, then what could not be concluded.

use std::io::{self, Write};

use comfy_table::{presets, ColumnConstraint, ContentArrangement, Table};

use super::{confidence_word, groups, id_label, severity_word, words, TextOptions};
use crate::diagnose::scope::InputScope;
use crate::diagnose::{Finding, Report, Severity};

struct Paint {
    on: bool,
}

impl Paint {
    fn sev(&self, s: Severity) -> String {
        let w = severity_word(s);
        if !self.on {
            return w.to_string();
        }
        let code = match s {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        };
        format!("\x1b[{code}m{w}\x1b[0m")
    }

    fn bold(&self, s: &str) -> String {
        if self.on {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

pub fn render(report: &Report, opts: TextOptions, out: &mut dyn Write) -> io::Result<()> {
    let p = Paint { on: opts.colour };
    for i in &report.inputs {
        let mut facts = match i.scope {
            InputScope::Cluster => vec![words::CLUSTER_SCOPE.to_string()],
            _ => vec![format!("host {}", i.hostname)],
        };
        if let Some(n) = &i.node {
            facts.push(format!("node {n}"));
        }
        if !i.kernel_release.is_empty() {
            facts.push(format!("kernel {}", i.kernel_release));
        }
        if let Some(m) = &i.proxy_mode {
            facts.push(format!("kube-proxy mode {m}"));
        }
        facts.push(super::input_origin(i));
        writeln!(out, "{}: {} ({})", words::INPUTS, i.path, facts.join(", "))?;
        for n in &i.notes {
            writeln!(out, "  note: {n}")?;
        }
        let pasted = super::pasted_lines(i);
        for r in pasted.read {
            writeln!(out, "  {}: {r}", words::READ)?;
        }
        for r in pasted.notes {
            writeln!(out, "  note: {r}")?;
        }
        for r in pasted.not_read {
            writeln!(out, "  {}: {r}", words::NOT_READ)?;
        }
        for o in super::said_lines(i) {
            writeln!(out, "  {}: {o}", words::SAID)?;
        }
    }
    writeln!(out)?;
    let (roots, rest) = groups(report);
    if report.findings.is_empty() {
        writeln!(out, "{}", words::NOTHING)?;
        writeln!(out)?;
    }
    if !roots.is_empty() {
        writeln!(out, "{}", p.bold(words::ROOT_CAUSES))?;
        writeln!(out)?;
        for (n, (root, cons)) in roots.iter().enumerate() {
            finding(out, &p, opts, &format!("{}.", n + 1), root)?;
            if !cons.is_empty() {
                writeln!(out, "   {}:", words::LEADS_TO)?;
                for c in cons.iter().take(opts.max_consequences) {
                    writeln!(
                        out,
                        "     - {} {}: {}",
                        p.sev(c.severity),
                        c.key(),
                        c.summary
                    )?;
                }
                if cons.len() > opts.max_consequences {
                    writeln!(
                        out,
                        "     ... {} {}",
                        cons.len() - opts.max_consequences,
                        words::MORE
                    )?;
                }
            }
            writeln!(out)?;
        }
    }
    if !rest.is_empty() {
        writeln!(out, "{}", p.bold(words::OTHER))?;
        writeln!(out)?;
        for f in rest {
            finding(out, &p, opts, "-", f)?;
            writeln!(out)?;
        }
    }
    if !report.not_concluded.is_empty() {
        writeln!(out, "{}", p.bold(words::NOT_CONCLUDED))?;
        for n in &report.not_concluded {
            let cat = if n.catalog.is_empty() {
                String::new()
            } else {
                format!(" ({})", n.catalog)
            };
            writeln!(out, "  - {}{cat}: {}: {}", n.id, n.question, n.reason)?;
            if let Some(w) = &n.would_confirm {
                writeln!(out, "    {}: {w}", words::WOULD_CONFIRM)?;
            }
        }
        writeln!(out)?;
    }
    let c = &report.counts;
    writeln!(out, "{}", super::verdict_line(c))?;
    writeln!(
        out,
        "{} checks: {} error(s), {} warning(s), {} info; {} root cause(s); {} question(s) not concluded.",
        c.checks,
        c.error, c.warning, c.info, c.root_causes, c.not_concluded
    )
}

fn finding(
    out: &mut dyn Write,
    p: &Paint,
    opts: TextOptions,
    bullet: &str,
    f: &Finding,
) -> io::Result<()> {
    writeln!(
        out,
        "{bullet} {} {}  [{} {}]",
        p.sev(f.severity),
        p.bold(&id_label(f)),
        words::CONFIDENCE,
        confidence_word(f)
    )?;
    writeln!(out, "   {}", f.summary)?;
    if !f.detail.is_empty() {
        writeln!(out, "   {}: {}", words::WHY, f.detail)?;
    }
    if !f.evidence.is_empty() {
        writeln!(out, "   {}:", words::EVIDENCE)?;
        let mut t = Table::new();
        t.load_style(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(opts.width.saturating_sub(5));
        for e in &f.evidence {
            t.add_row(vec![
                e.artifact.as_str(),
                e.locator.as_str(),
                e.excerpt.as_str(),
            ]);
        }
        // Paths stay whole so they can be copied; the excerpt wraps.
        if let Some(c) = t.column_mut(0) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
        for line in t.lines() {
            writeln!(out, "    {}", line.trim_end())?;
        }
    }
    if !f.fix.is_empty() {
        writeln!(out, "   {}:", words::FIX)?;
        for (i, step) in f.fix.iter().enumerate() {
            let manual = if step.commands.is_empty() {
                format!(" ({})", words::MANUAL)
            } else {
                String::new()
            };
            writeln!(out, "     {}. {}{manual}", i + 1, step.text)?;
            for c in &step.commands {
                writeln!(out, "          $ {c}")?;
            }
        }
    }
    Ok(())
}
