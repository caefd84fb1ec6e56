//! Scenario tests over `fixtures/pasted/`: evidence as a user pastes it into a ticket (loose
//! text files, terminal sessions with prompts, bare outputs, kubectl YAML), no collector. Each
//! case is `fixtures/pasted/<case>/input/` and a `case.txt` in the format of the bundle cases
//! (`tests/check_fixtures.rs`): `must:`, `root:`, `must-not:`, `not-concluded:`, `healthy`,
//! `exit:`; `base:` and `remove:` do not apply to pasted text.
//!
//! Each case runs the real binary, `netsnap analyze <case>/input --format json`, as a user
//! would, and reads the report's JSON (docs/report-schema.md): the exit status is the
//! process's own.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::Case;

fn pasted_root() -> PathBuf {
    common::fixtures_root().join("pasted")
}

fn parse_case(dir: &Path) -> Result<Case, String> {
    let c = common::parse_case(dir)?;
    if c.base.is_some() || !c.remove.is_empty() {
        return Err("base: and remove: apply to bundles, not to pasted text".into());
    }
    Ok(c)
}

fn all_cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(pasted_root())
        .expect("fixtures/pasted readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("case.txt").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// A finding's key as the report defines it: `id`, or `id[subject]`.
fn key(f: &serde_json::Value) -> String {
    let id = f["id"].as_str().unwrap_or("");
    match f["subject"].as_str() {
        Some(s) => format!("{id}[{s}]"),
        None => id.to_string(),
    }
}

fn matches(f: &serde_json::Value, want: &str) -> bool {
    f["id"].as_str() == Some(want) || key(f) == want
}

fn check_case(c: &Case) -> Vec<String> {
    let input = c.dir.join("input");
    let out = match Command::new(env!("CARGO_BIN_EXE_netsnap"))
        .arg("analyze")
        .arg(&input)
        .args(["--format", "json"])
        .output()
    {
        Ok(o) => o,
        Err(e) => return vec![format!("cannot run netsnap: {e}")],
    };
    let status = out.status.code();
    let report: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            return vec![format!(
                "no JSON report (exit {status:?}: {e}); stderr: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )]
        }
    };
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let not_concluded = report["not_concluded"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let keys: Vec<String> = findings.iter().map(key).collect();
    let mut errs = Vec::new();
    for want in &c.must {
        if !findings.iter().any(|f| matches(f, want)) {
            errs.push(format!("must find {want}; found {keys:?}"));
        }
    }
    for want in &c.root {
        if !findings
            .iter()
            .any(|f| matches(f, want) && f["root_cause"] == true)
        {
            errs.push(format!("{want} must be a root cause; found {keys:?}"));
        }
    }
    for bad in &c.must_not {
        if findings.iter().any(|f| matches(f, bad)) {
            errs.push(format!("must not find {bad}; found {keys:?}"));
        }
    }
    for nc in &c.not_concluded {
        if !not_concluded.iter().any(|n| n["id"].as_str() == Some(nc)) {
            let got: Vec<&str> = not_concluded
                .iter()
                .filter_map(|n| n["id"].as_str())
                .collect();
            errs.push(format!("must say {nc} could not conclude; got {got:?}"));
        }
    }
    for (effect, cause) in &c.folded {
        let causes: Vec<String> = findings
            .iter()
            .filter(|f| matches(f, cause))
            .map(key)
            .collect();
        match findings.iter().find(|f| matches(f, effect)) {
            None => errs.push(format!("must find {effect}; found {keys:?}")),
            Some(f) => {
                let by: Vec<&str> = f["explained_by"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|k| k.as_str()).collect())
                    .unwrap_or_default();
                if !by.iter().any(|k| causes.iter().any(|c| c == k)) {
                    errs.push(format!(
                        "{effect} must be folded under {cause}; explained by {by:?}"
                    ));
                } else if f["catalog"].as_str().is_some_and(|c| !c.is_empty()) {
                    errs.push(format!(
                        "{effect}, a consequence, carries catalog entry {}: its cause does",
                        f["catalog"]
                    ));
                }
            }
        }
    }
    if c.healthy && !findings.is_empty() {
        errs.push(format!("healthy case, but findings: {keys:?}"));
    }
    if let Some(exit) = c.exit {
        if status != Some(exit) {
            errs.push(format!("exit status {status:?}, want {exit}"));
        }
    }
    if !c.asserts_something() {
        errs.push(
            "the case asserts nothing: add must:, root:, not-concluded:, folded: or healthy".into(),
        );
    }
    errs
}

#[test]
fn every_pasted_case_holds() {
    let dirs = all_cases();
    assert!(
        dirs.len() >= 12,
        "only {} pasted cases under {}",
        dirs.len(),
        pasted_root().display()
    );
    let mut failures = Vec::new();
    for d in &dirs {
        let name = d.file_name().unwrap_or_default().to_string_lossy();
        match parse_case(d) {
            Ok(c) => failures.extend(check_case(&c).into_iter().map(|e| format!("{name}: {e}"))),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures in {} pasted cases:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

/// Every case has pasted input and a row in the README's table, and every directory with an
/// `input/` is a case (none left without expectations).
#[test]
fn pasted_cases_are_complete_and_listed() {
    let readme = fs::read_to_string(pasted_root().join("README.md")).expect("README.md");
    let mut problems = Vec::new();
    for e in fs::read_dir(pasted_root())
        .expect("readable")
        .filter_map(Result::ok)
    {
        let p = e.path();
        if !p.join("input").is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().to_string();
        if !p.join("case.txt").is_file() {
            problems.push(format!("{name}: input/ without case.txt"));
        }
        let files = fs::read_dir(p.join("input"))
            .map(|r| r.count())
            .unwrap_or(0);
        if files == 0 {
            problems.push(format!("{name}: empty input/"));
        }
        if !readme.contains(&format!("`{name}`")) {
            problems.push(format!("{name}: not in README.md's table"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
