//! `lsmod` and `cat /proc/modules` text into the [`LoadedModule`] values the bundle's
//! `proc/modules` decodes to.
//!
//! `/proc/modules` is the kernel's `m_show` (kernel/module/procfs.c): `name size refcnt users
//! state address [taints]`, users comma-terminated or `-`; it is read with the bundle's own
//! parser, line by line. `lsmod` (kmod `tools/lsmod.c`) prints the title `Module Size Used by`
//! and `%-19s %8ld  %d` of name, size and reference count, then the holders comma-separated:
//! it has no state (so [`ModulesText::state_known`] is false and `state` is empty, which the
//! model cannot mark as unknown otherwise), and its holders come from
//! `/sys/module/NAME/holders/` in directory order, not `/proc/modules`' order.

use super::issue::TextIssue;
use super::{Parsed, Source};
use crate::decode::modules::{self, normalize, LoadedModule};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModulesText {
    pub modules: Vec<Parsed<LoadedModule>>,
    /// False for `lsmod`, which prints no state: every `state` is then empty.
    pub state_known: bool,
    pub issues: Vec<TextIssue>,
}

/// Parses `cat /proc/modules`.
pub fn parse_proc_modules(src: &Source<'_>) -> ModulesText {
    let mut out = ModulesText {
        state_known: true,
        ..ModulesText::default()
    };
    for (n, line) in src.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let mut one = modules::parse_proc_modules(line).into_values();
        // The bundle parser skips lines shorter than five fields; a cut paste would otherwise
        // keep a size cut short too, so the address column (sixth) must be there.
        match (one.next(), line.split_whitespace().count() >= 6) {
            (Some(m), true) if line.split_whitespace().nth(1).is_some_and(is_number) => {
                out.modules.push(Parsed { value: m, line: n })
            }
            _ => out
                .issues
                .push(src.bad(n, "/proc/modules", "not a module line")),
        }
    }
    out
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses `lsmod`.
pub fn parse_lsmod(src: &Source<'_>) -> ModulesText {
    let mut out = ModulesText::default();
    for (n, line) in src.lines() {
        if line.trim().is_empty() || (line.starts_with("Module") && line.contains("Used by")) {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let ok = (3..=4).contains(&f.len()) && is_number(f[1]);
        let refcount = f.get(2).and_then(|r| r.parse::<i64>().ok());
        match (ok, refcount) {
            (true, Some(rc)) => out.modules.push(Parsed {
                value: LoadedModule {
                    name: normalize(f[0]),
                    size: f[1].parse().unwrap_or(0),
                    // kmod prints a negative errno when the count cannot be read.
                    refcount: u32::try_from(rc).ok(),
                    users: f
                        .get(3)
                        .map(|u| {
                            u.split(',')
                                .filter(|u| !u.is_empty())
                                .map(normalize)
                                .collect()
                        })
                        .unwrap_or_default(),
                    state: String::new(),
                },
                line: n,
            }),
            _ => out
                .issues
                .push(src.bad(n, "lsmod output", "not a module line")),
        }
    }
    out
}
