//! The corpus of real threads (`fixtures/threads/`, format in its README): what strangers
//! pasted about a broken Service, run through the real binary as a support engineer would
//! (`netsnap analyze <thread>/input --format json`), judged against the cause the thread
//! established. Writes `docs/threads.md` (NETSNAP_UPDATE_DOCS=1) and fails when it is stale.
//!
//! Right means: a cause the paste proves is reported at error or warning with evidence citing
//! a pasted file; a cause it cannot prove is named among the suspects (or reported); no
//! finding at error or warning of a cause the paste rules out; nothing refused.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The share of threads the analyzer must get right, in percent. Raised as it improves; the
/// target is 90.
const MIN_RIGHT_PERCENT: usize = 90;

#[derive(Debug, Default)]
struct ThreadCase {
    slug: String,
    dir: PathBuf,
    source: String,
    title: String,
    year: String,
    area: String,
    lang: String,
    cause: String,
    proves: bool,
    established: String,
    must: Vec<String>,
    must_not: Vec<String>,
    contradicts: Vec<String>,
}

fn threads_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/threads")
}

fn parse(dir: &Path) -> Result<ThreadCase, String> {
    let text = fs::read_to_string(dir.join("case.txt")).map_err(|e| format!("case.txt: {e}"))?;
    let mut c = ThreadCase {
        slug: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        dir: dir.to_path_buf(),
        ..ThreadCase::default()
    };
    let mut proves = None;
    for (n, line) in text.lines().enumerate() {
        let line = match line.split_once(" #") {
            Some((l, _)) => l,
            None if line.trim_start().starts_with('#') => "",
            None => line,
        }
        .trim();
        if line.is_empty() {
            continue;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("case.txt:{}: no directive", n + 1))?;
        let v = v.trim().to_string();
        match k.trim() {
            "source" => c.source = v,
            "title" => c.title = v,
            "year" => c.year = v,
            "area" => c.area = v,
            "lang" => c.lang = v,
            "cause" => c.cause = v,
            "proves" => proves = Some(v == "yes"),
            "established" => c.established = v,
            "must" => c.must.push(v),
            "must-not" => c.must_not.push(v),
            "contradicts" => c.contradicts.extend(v.split_whitespace().map(String::from)),
            other => return Err(format!("case.txt:{}: unknown directive {other}", n + 1)),
        }
    }
    c.proves = proves.ok_or("case.txt: no proves: line")?;
    if c.source.is_empty() || c.cause.is_empty() {
        return Err("case.txt: source: and cause: are required".into());
    }
    Ok(c)
}

fn all_cases() -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(threads_root()) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("case.txt").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// What the report said, and the judgement.
struct Judged {
    right: bool,
    why: Vec<String>,
    said: String,
}

fn input_files(dir: &Path) -> Vec<String> {
    let input = dir.join("input");
    walkdir::WalkDir::new(&input)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            e.path()
                .strip_prefix(&input)
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .collect()
}

fn judge(c: &ThreadCase) -> Judged {
    let out = match Command::new(env!("CARGO_BIN_EXE_netsnap"))
        .arg("analyze")
        .arg(c.dir.join("input"))
        .args(["--format", "json"])
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            return Judged {
                right: false,
                why: vec![format!("cannot run netsnap: {e}")],
                said: String::new(),
            }
        }
    };
    let report: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => {
            let err = String::from_utf8_lossy(&out.stderr);
            let first = err.lines().next().unwrap_or("").chars().take(160);
            return Judged {
                right: false,
                why: vec!["refused".to_string()],
                said: format!("refused: {}", first.collect::<String>()),
            };
        }
    };
    let files = input_files(&c.dir);
    let empty = Vec::new();
    let findings = report["findings"].as_array().unwrap_or(&empty);
    let notes = report["not_concluded"].as_array().unwrap_or(&empty);
    let str_of = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    let serious =
        |f: &serde_json::Value| matches!(f["severity"].as_str(), Some("error" | "warning"));
    let cites_paste = |f: &serde_json::Value| {
        f["evidence"].as_array().is_some_and(|ev| {
            ev.iter()
                .any(|e| files.iter().any(|p| e["artifact"].as_str() == Some(p)))
        })
    };
    let mut why = Vec::new();
    let cause_found = findings
        .iter()
        .any(|f| str_of(f, "catalog") == c.cause && serious(f) && cites_paste(f));
    let cause_named = findings.iter().any(|f| str_of(f, "catalog") == c.cause)
        || notes.iter().any(|n| {
            str_of(n, "catalog") == c.cause
                && n["would_confirm"].as_str().is_some_and(|s| !s.is_empty())
        });
    let mut right = if c.cause == "unknown" {
        true
    } else if c.proves {
        if !cause_found {
            why.push(format!(
                "{} not reported at error/warning citing the paste",
                c.cause
            ));
        }
        cause_found
    } else {
        if !cause_named {
            why.push(format!("{} not among the suspects", c.cause));
        }
        cause_named
    };
    for f in findings {
        let cat = str_of(f, "catalog");
        if serious(f) && c.contradicts.contains(&cat) {
            why.push(format!("contradicted cause reported: {}", str_of(f, "id")));
            right = false;
        }
        if c.must_not.contains(&str_of(f, "id")) {
            why.push(format!("must-not reported: {}", str_of(f, "id")));
            right = false;
        }
    }
    // A `must:` check id is met by a serious finding of that check's catalog entry, whichever
    // check made it: a cause a component stated is the cause the dedicated check names.
    let entry_of = |id: &str| {
        netsnap::diagnose::checks::infos()
            .find(|i| i.id == id)
            .map(|i| i.catalog)
            .filter(|c| !c.is_empty())
    };
    for m in &c.must {
        let met = |f: &serde_json::Value| {
            &str_of(f, "id") == m
                || (serious(f) && entry_of(m).is_some_and(|e| str_of(f, "catalog") == e))
        };
        if !findings.iter().any(met) {
            why.push(format!("must not reported: {m}"));
            right = false;
        }
    }
    let reported: Vec<String> = findings
        .iter()
        .filter(|f| serious(f))
        .map(|f| {
            let cat = str_of(f, "catalog");
            let id = str_of(f, "id");
            if cat.is_empty() {
                id
            } else {
                format!("{id} ({cat})")
            }
        })
        .collect();
    let suspects: Vec<String> = notes
        .iter()
        .filter(|n| n["id"].as_str() == Some("suspect"))
        .map(|n| str_of(n, "catalog"))
        .collect();
    let mut said = String::new();
    if !reported.is_empty() {
        let _ = write!(said, "found: {}", reported.join(", "));
    }
    if !suspects.is_empty() {
        if !said.is_empty() {
            said.push_str("; ");
        }
        let _ = write!(said, "suspects: {}", suspects.join(" > "));
    }
    if said.is_empty() {
        said = format!("nothing at error or warning; {} not concluded", notes.len());
    }
    Judged { right, why, said }
}

fn generate(cases: &[(ThreadCase, Judged)]) -> String {
    let right = cases.iter().filter(|(_, j)| j.right).count();
    let proving = cases.iter().filter(|(c, _)| c.proves).count();
    let proving_right = cases.iter().filter(|(c, j)| c.proves && j.right).count();
    let mut s = String::new();
    s.push_str(
        "# Real threads: what the analyzer says\n\n\
         Generated by `analyzer/tests/threads.rs` from `fixtures/threads/` (format in its \
         README); do not edit. Each row is one public thread in which people pasted output \
         about a broken Service, NodePort, ClusterIP, LoadBalancer IP or overlay, run through \
         `netsnap analyze <thread>/input`.\n\n\
         Right: a cause the paste proves is reported at error or warning citing the paste; a \
         cause it cannot prove is named among the suspects with the command that settles it; \
         no cause the paste rules out is reported; nothing is refused.\n\n",
    );
    let pct = if cases.is_empty() {
        0
    } else {
        right * 100 / cases.len()
    };
    let _ = writeln!(
        s,
        "**{right} of {} right ({pct} %)**; of the {proving} whose paste proves the cause, \
         {proving_right} right.\n",
        cases.len()
    );
    s.push_str("| thread | year | area | cause | proves | verdict | the report said |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    for (c, j) in cases {
        let verdict = if j.right {
            "right".to_string()
        } else {
            format!("wrong: {}", j.why.join("; "))
        };
        let _ = writeln!(
            s,
            "| [{}]({}) | {} | {} | {} | {} | {} | {} |",
            c.slug,
            c.source,
            c.year,
            c.area,
            c.cause,
            if c.proves { "yes" } else { "no" },
            verdict.replace('|', "\\|"),
            j.said.replace('|', "\\|")
        );
    }
    s
}

#[test]
fn threads_corpus() {
    let dirs = all_cases();
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for d in &dirs {
        match parse(d) {
            Ok(c) => {
                if !d.join("input").is_dir() {
                    errors.push(format!("{}: no input/ folder", c.slug));
                    continue;
                }
                let j = judge(&c);
                cases.push((c, j));
            }
            Err(e) => errors.push(format!("{}: {e}", d.display())),
        }
    }
    assert!(
        errors.is_empty(),
        "bad thread cases:\n{}",
        errors.join("\n")
    );
    let want = generate(&cases);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/threads.md");
    if std::env::var_os("NETSNAP_UPDATE_DOCS").is_some() {
        fs::write(&path, &want).expect("write docs/threads.md");
    }
    let have = fs::read_to_string(&path).unwrap_or_default();
    let refused: Vec<&str> = cases
        .iter()
        .filter(|(_, j)| j.why.iter().any(|w| w == "refused"))
        .map(|(c, _)| c.slug.as_str())
        .collect();
    let right = cases.iter().filter(|(_, j)| j.right).count();
    let proving = cases.iter().filter(|(c, _)| c.proves).count();
    assert!(
        cases.len() >= 60 && proving >= 25,
        "the corpus needs at least 60 threads, 25 of them proving their cause: {} and {proving}",
        cases.len()
    );
    assert!(refused.is_empty(), "refused: {}", refused.join(", "));
    assert!(
        right * 100 >= MIN_RIGHT_PERCENT * cases.len(),
        "{right} of {} threads right, below {MIN_RIGHT_PERCENT} %",
        cases.len()
    );
    assert!(
        have == want,
        "docs/threads.md is out of date: run NETSNAP_UPDATE_DOCS=1 cargo test -p netsnap --test threads"
    );
}
