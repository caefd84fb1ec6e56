//! `show modules`: for each module a check cares about, and every other loaded module:
//! loaded (refcount, users, state) / built-in / not loaded / unknown.

use std::io::Write;

use netsnap_bundle::names;

use super::{write_json, write_table};
use crate::decode::modules::{self, ModuleEvidence, ModuleStatus};
use crate::error::Result;
use crate::load::Bundle;

/// A kernel config is about 300 KB; anything far larger is not one.
const CONFIG_CAP: u64 = 16 << 20;

/// Parses whatever module evidence the bundle has; absent evidence becomes a note.
pub fn evidence(bundle: &Bundle, notes: &mut Vec<String>) -> ModuleEvidence {
    let mut text = |path: &str| -> Option<String> {
        let ev = bundle.evidence(path);
        match ev.bytes() {
            Some(b) => Some(String::from_utf8_lossy(b).into_owned()),
            None => {
                if let Some(why) = ev.absence() {
                    notes.push(format!("{path} {why}"));
                }
                None
            }
        }
    };
    let proc_modules = text(names::PROC_MODULES).map(|t| modules::parse_proc_modules(&t));
    let sys_module = text(names::SYS_MODULE).map(|t| modules::parse_sys_module(&t));
    let mut builtin = text(names::MODULES_BUILTIN).map(|t| modules::parse_modules_builtin(&t));
    if let Some(b) = bundle.file(names::MODULES_BUILTIN_MODINFO) {
        builtin
            .get_or_insert_with(Default::default)
            .extend(modules::parse_builtin_modinfo(b));
    }
    let config = match bundle.file(names::KERNEL_CONFIG_GZ) {
        Some(gz) => match modules::gunzip_config(gz, CONFIG_CAP) {
            Ok(t) => Some(t),
            Err(e) => {
                notes.push(format!(
                    "{}: cannot decompress: {e}",
                    names::KERNEL_CONFIG_GZ
                ));
                None
            }
        },
        None => bundle
            .file(names::KERNEL_CONFIG)
            .map(|b| String::from_utf8_lossy(b).into_owned()),
    }
    .map(|t| modules::parse_kernel_config(&t));
    ModuleEvidence {
        proc_modules,
        filtered: None,
        builtin,
        sys_module,
        config,
    }
}

pub fn render(
    bundle: &Bundle,
    json: bool,
    out: &mut dyn Write,
    notes: &mut Vec<String>,
) -> Result<()> {
    let ev = evidence(bundle, notes);
    let report = ev.report();
    if json {
        #[derive(serde::Serialize)]
        struct Row<'a> {
            name: &'a str,
            #[serde(flatten)]
            status: &'a ModuleStatus,
        }
        let rows: Vec<Row> = report
            .iter()
            .map(|(name, status)| Row { name, status })
            .collect();
        return write_json(out, &rows);
    }
    let mut rows = vec![vec!["MODULE".to_string(), "STATUS".into(), "DETAIL".into()]];
    for (name, status) in &report {
        let (s, detail) = match status {
            ModuleStatus::Loaded {
                refcount,
                users,
                state,
            } => {
                let mut d = state.clone();
                if let Some(r) = refcount {
                    d.push_str(&format!(", used by {r}"));
                }
                if !users.is_empty() {
                    d.push_str(&format!(": {}", users.join(",")));
                }
                ("loaded", d)
            }
            ModuleStatus::BuiltIn { evidence } => ("built-in", format!("per {evidence}")),
            ModuleStatus::NotLoaded { config } => (
                "not loaded",
                config
                    .as_ref()
                    .map_or(String::new(), |c| format!("config ={c}")),
            ),
            ModuleStatus::NotAvailable => ("not available", "not built in this kernel".into()),
            ModuleStatus::Unknown => ("unknown", "module evidence not collected".into()),
        };
        rows.push(vec![name.clone(), s.to_string(), detail]);
    }
    write_table(out, &rows)
}
