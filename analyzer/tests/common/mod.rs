//! What the scenario tests share: the `case.txt` format of `fixtures/` (bundle cases in
//! `check_fixtures.rs`, pasted-text cases in `pasted_fixtures.rs`).
//!
//! `case.txt`, one directive per line (`#` comments):
//!   base: vm-lab/3-healthy/bundle      bundle to start from, relative to fixtures/ (bundles only)
//!   remove: sysctl.txt                 artifact to drop (bundles only)
//!   must: ipvs-modules-missing         a finding with this id (or key) must be made
//!   root: ipvs-modules-missing         ... and be a root cause
//!   must-not: tunl0-routes-while-ipip-off
//!   not-concluded: ipvs-modules-missing  a "cannot conclude" note of this check
//!   folded: kube-ipvs0-missing under ipvs-modules-missing
//!                                      the first finding is explained by the second, and, a
//!                                      consequence, carries no catalog entry (its cause does)
//!   healthy                            no finding at all (every check stays quiet)
//!   exit: 1                            0 without error-level findings, 1 with

use std::fs;
use std::path::{Path, PathBuf};

pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

#[derive(Debug, Default)]
pub struct Case {
    pub dir: PathBuf,
    pub base: Option<String>,
    pub remove: Vec<String>,
    pub must: Vec<String>,
    pub root: Vec<String>,
    pub must_not: Vec<String>,
    pub not_concluded: Vec<String>,
    /// (consequence, cause) findings.
    pub folded: Vec<(String, String)>,
    pub healthy: bool,
    pub exit: Option<i32>,
}

impl Case {
    /// Whether the case asserts anything at all.
    pub fn asserts_something(&self) -> bool {
        self.healthy
            || !self.must.is_empty()
            || !self.root.is_empty()
            || !self.not_concluded.is_empty()
            || !self.folded.is_empty()
    }
}

/// Reads `dir/case.txt`.
pub fn parse_case(dir: &Path) -> Result<Case, String> {
    let text = fs::read_to_string(dir.join("case.txt")).map_err(|e| format!("case.txt: {e}"))?;
    let mut c = Case {
        dir: dir.to_path_buf(),
        ..Case::default()
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if line == "healthy" {
            c.healthy = true;
            continue;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("case.txt:{}: no directive", n + 1))?;
        let v = v.trim().to_string();
        match k.trim() {
            "base" => c.base = Some(v),
            "remove" => c.remove.push(v),
            "must" => c.must.push(v),
            "root" => c.root.push(v),
            "must-not" => c.must_not.push(v),
            "not-concluded" => c.not_concluded.push(v),
            "folded" => {
                let (effect, cause) = v
                    .split_once(" under ")
                    .ok_or_else(|| format!("case.txt:{}: folded: X under Y", n + 1))?;
                c.folded
                    .push((effect.trim().to_string(), cause.trim().to_string()));
            }
            "exit" => c.exit = Some(v.parse().map_err(|e| format!("exit: {e}"))?),
            other => return Err(format!("case.txt:{}: unknown directive {other}", n + 1)),
        }
    }
    Ok(c)
}
