//! Scenario tests over `fixtures/`: every directory with a `case.txt` is a bundle and the
//! findings it must (and must not) produce. A case either is a whole bundle (`bundle/`) or
//! starts from another fixture's bundle (`base:`) with files added or replaced (`overlay/`)
//! and artifacts removed (`remove:`, recorded in the manifest as not collected).
//! The `case.txt` format is in `common/mod.rs`; `remove:` records the artifact in the
//! manifest as `absent`.

use std::fs;
use std::path::{Path, PathBuf};

use netsnap::diagnose::{analyze, Report};
use netsnap::Bundle;

mod common;

use common::{fixtures_root, Case};

fn parse_case(dir: &Path) -> Case {
    common::parse_case(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from).follow_links(false) {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(from).expect("prefix");
        let dst = to.join(rel);
        if e.file_type().is_dir() {
            fs::create_dir_all(&dst).expect("mkdir");
        } else if e.file_type().is_file() {
            fs::copy(e.path(), &dst).expect("copy");
        }
    }
}

/// The case's bundle, assembled in a temporary directory when it has a base.
fn assemble(c: &Case) -> (Option<tempfile::TempDir>, PathBuf) {
    let Some(base) = &c.base else {
        return (None, c.dir.join("bundle"));
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("bundle");
    copy_tree(&fixtures_root().join(base), &root);
    let overlay = c.dir.join("overlay");
    if overlay.is_dir() {
        copy_tree(&overlay, &root);
    }
    if !c.remove.is_empty() {
        let mpath = root.join("manifest.json");
        let mut m: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&mpath).expect("manifest")).expect("json");
        for r in &c.remove {
            let _ = fs::remove_file(root.join(r));
            let arts = m["artifacts"].as_array_mut().expect("artifacts");
            let found = arts.iter_mut().find(|a| a["path"] == r.as_str());
            let a = found
                .unwrap_or_else(|| panic!("{}: remove: {r} not in the manifest", c.dir.display()));
            a["status"] = "absent".into();
            a["reason"] = "removed for this fixture".into();
            a["bytes"] = 0.into();
            if let Some(o) = a.as_object_mut() {
                o.remove("sha256");
            }
        }
        fs::write(&mpath, serde_json::to_vec_pretty(&m).expect("json")).expect("write");
    }
    (Some(tmp), root)
}

fn run_case(c: &Case) -> Report {
    let (_tmp, root) = assemble(c);
    let bundle = Bundle::open(&root).unwrap_or_else(|e| panic!("{}: {e}", c.dir.display()));
    let label = c
        .dir
        .strip_prefix(fixtures_root())
        .unwrap_or(&c.dir)
        .display()
        .to_string();
    analyze(&[(label, &bundle)])
}

fn matches(f: &netsnap::diagnose::Finding, want: &str) -> bool {
    f.id == want || f.key() == want
}

fn check_case(c: &Case) -> Vec<String> {
    let report = run_case(c);
    let mut errs = Vec::new();
    let keys: Vec<String> = report.findings.iter().map(|f| f.key()).collect();
    for want in &c.must {
        if !report.findings.iter().any(|f| matches(f, want)) {
            errs.push(format!("must find {want}; found {keys:?}"));
        }
    }
    for want in &c.root {
        if !report
            .findings
            .iter()
            .any(|f| matches(f, want) && f.root_cause)
        {
            errs.push(format!("{want} must be a root cause; found {keys:?}"));
        }
    }
    for bad in &c.must_not {
        if report.findings.iter().any(|f| matches(f, bad)) {
            errs.push(format!("must not find {bad}; found {keys:?}"));
        }
    }
    for nc in &c.not_concluded {
        if !report.not_concluded.iter().any(|n| n.id == nc) {
            errs.push(format!(
                "must say {nc} could not conclude; got {:?}",
                report.not_concluded
            ));
        }
    }
    for (effect, cause) in &c.folded {
        let causes: Vec<String> = report
            .findings
            .iter()
            .filter(|f| matches(f, cause))
            .map(|f| f.key())
            .collect();
        match report.findings.iter().find(|f| matches(f, effect)) {
            None => errs.push(format!("must find {effect}; found {keys:?}")),
            Some(f) if !f.explained_by.iter().any(|k| causes.contains(k)) => errs.push(format!(
                "{effect} must be folded under {cause}; explained by {:?}",
                f.explained_by
            )),
            Some(f) if !f.catalog.is_empty() => errs.push(format!(
                "{effect}, a consequence, carries catalog entry {}: its cause does",
                f.catalog
            )),
            Some(_) => {}
        }
    }
    if c.healthy && !report.findings.is_empty() {
        errs.push(format!("healthy fixture, but findings: {keys:?}"));
    }
    if let Some(exit) = c.exit {
        let got = i32::from(report.has_errors());
        if got != exit {
            errs.push(format!("exit status {got}, want {exit}"));
        }
    }
    if !c.asserts_something() {
        errs.push(
            "the case asserts nothing: add must:, root:, not-concluded:, folded: or healthy".into(),
        );
    }
    errs
}

fn all_cases() -> Vec<Case> {
    // fixtures/pasted and fixtures/threads hold loose pasted text, not bundles:
    // tests/pasted_fixtures.rs and tests/threads.rs run them.
    let pasted = fixtures_root().join("pasted");
    let threads = fixtures_root().join("threads");
    let mut cases: Vec<Case> = walkdir::WalkDir::new(fixtures_root())
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.path() != pasted && e.path() != threads)
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == "case.txt")
        .filter_map(|e| e.path().parent().map(parse_case))
        .collect();
    cases.sort_by(|a, b| a.dir.cmp(&b.dir));
    cases
}

#[test]
fn every_fixture_case_holds() {
    let cases = all_cases();
    assert!(
        !cases.is_empty(),
        "no fixture cases under {}",
        fixtures_root().display()
    );
    let mut failures = Vec::new();
    for c in &cases {
        for e in check_case(c) {
            failures.push(format!("{}: {e}", c.dir.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} fixture cases hold", cases.len());
}

#[test]
fn healthy_fixtures_exist_and_every_check_is_exercised() {
    let cases = all_cases();
    assert!(cases.iter().any(|c| c.healthy), "no healthy fixture");
    // Every check must be proven by at least one fixture that makes it fire: a bundle case, or
    // a pasted one (checks of what only pastes carry, such as a lone log line).
    let pasted: Vec<Case> = fs::read_dir(fixtures_root().join("pasted"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("case.txt").is_file())
        .filter_map(|p| common::parse_case(&p).ok())
        .collect();
    let mut unproven = Vec::new();
    for info in netsnap::diagnose::checks::infos() {
        let proven = cases.iter().chain(&pasted).any(|c| {
            c.must
                .iter()
                .chain(&c.root)
                .any(|m| m == info.id || m.starts_with(&format!("{}[", info.id)))
        });
        if !proven {
            unproven.push(info.id);
        }
    }
    assert!(
        unproven.is_empty(),
        "checks without a fixture that makes them fire: {unproven:?}"
    );
}

#[test]
fn same_bundle_same_json() {
    let case = all_cases()
        .into_iter()
        .find(|c| !c.must.is_empty())
        .expect("a case");
    let mut a = Vec::new();
    let mut b = Vec::new();
    let r1 = run_case(&case);
    let r2 = run_case(&case);
    netsnap::report::render(
        &r1,
        netsnap::report::Format::Json,
        Default::default(),
        &mut a,
    )
    .expect("json");
    netsnap::report::render(
        &r2,
        netsnap::report::Format::Json,
        Default::default(),
        &mut b,
    )
    .expect("json");
    assert_eq!(a, b);
}

/// Fixture directories (relative to the repository) whose case makes check `id` fire.
fn proving_fixtures(cases: &[Case], id: &str) -> Vec<String> {
    cases
        .iter()
        .filter(|c| {
            c.must
                .iter()
                .chain(&c.root)
                .any(|m| m == id || m.starts_with(&format!("{id}[")))
        })
        .map(|c| {
            let rel = c.dir.strip_prefix(fixtures_root()).unwrap_or(&c.dir);
            format!("fixtures/{}", rel.display())
        })
        .collect()
}

fn generate_checks_md(cases: &[Case]) -> String {
    use netsnap::diagnose::catalog::{Visibility, CATALOG};
    use std::fmt::Write as _;
    let infos: Vec<_> = netsnap::diagnose::checks::infos().collect();
    let mut s = String::new();
    s.push_str(
        "# Checks\n\n\
         What `netsnap analyze` checks, generated from the analyzer's check registry and the \
         fixture cases (`fixtures/**/case.txt`). After changing a check or a fixture, regenerate \
         with `NETSNAP_UPDATE_DOCS=1 cargo test -p netsnap --test check_fixtures`; the test \
         fails while this file is out of date.\n\n\
         Check ids are stable and never reused. Catalog ids refer to the failure catalog \
         (C01–C41). A *cause* check reports root causes; a *symptom* check reports what a \
         cause leads to and is folded under it in reports.\n\n",
    );
    s.push_str("## Catalog coverage\n\n| Catalog | Entry | Status | Checks | Fixtures that prove it |\n|---|---|---|---|---|\n");
    for entry in CATALOG {
        let checks: Vec<_> = infos.iter().filter(|i| i.catalog == entry.id).collect();
        let fixtures: Vec<String> = checks
            .iter()
            .flat_map(|i| proving_fixtures(cases, i.id))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let status = match (entry.visibility, checks.is_empty()) {
            (Visibility::NotInBundle(why), _) => format!("not visible in a bundle: {why}"),
            (Visibility::InBundle, false) => "implemented".to_string(),
            (Visibility::InBundle, true) => "not yet".to_string(),
        };
        let ids: Vec<String> = checks.iter().map(|i| format!("`{}`", i.id)).collect();
        let fx: Vec<String> = fixtures.iter().map(|f| format!("`{f}`")).collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            entry.id,
            entry.title,
            status,
            ids.join(", "),
            fx.join(", ")
        );
    }
    s.push_str("\n## Checks\n");
    for i in &infos {
        let cat = if i.catalog.is_empty() {
            String::new()
        } else {
            format!(" ({})", i.catalog)
        };
        let _ = writeln!(s, "\n### `{}`{cat}\n\n{}\n", i.id, i.title);
        let _ = writeln!(
            s,
            "- Layer: {:?}; reports {}.",
            i.layer,
            if i.cause { "a cause" } else { "a symptom" }
        );
        let _ = writeln!(s, "- Evidence: {}", i.evidence);
        let _ = writeln!(s, "- Fix: {}", i.fix);
        let fx = proving_fixtures(cases, i.id);
        let _ = writeln!(
            s,
            "- Fixtures: {}",
            fx.iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !i.references.is_empty() {
            let _ = writeln!(s, "- Sources: {}", i.references.join(" , "));
        }
    }
    s
}

#[test]
fn docs_checks_md_is_current() {
    let cases = all_cases();
    let want = generate_checks_md(&cases);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/checks.md");
    if std::env::var_os("NETSNAP_UPDATE_DOCS").is_some() {
        fs::write(&path, &want).expect("write docs/checks.md");
        return;
    }
    let have = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/checks.md is out of date: run NETSNAP_UPDATE_DOCS=1 cargo test -p netsnap --test check_fixtures"
    );
}

/// Every field the JSON report writes is documented in docs/report-schema.md (as a table row
/// `| \`field\` |`), so the schema document cannot fall behind the code.
#[test]
fn json_fields_are_documented() {
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report-schema.md"))
            .expect("docs/report-schema.md");
    let mut fields = std::collections::BTreeSet::new();
    fn walk(
        v: &serde_json::Value,
        parent: Option<&str>,
        out: &mut std::collections::BTreeSet<String>,
    ) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, child) in m {
                    // Inside `action`, only `kind` is a table row; its other keys are listed inline.
                    if parent != Some("action") || k == "kind" {
                        out.insert(k.clone());
                    }
                    if parent != Some("counts") {
                        walk(child, Some(k), out);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, parent, out)),
            _ => {}
        }
    }
    for c in all_cases() {
        let r = run_case(&c);
        let v = serde_json::to_value(&r).expect("json");
        walk(&v, None, &mut fields);
    }
    // The pasted-text fixtures (`inputs[].pasted`).
    let pasted = fixtures_root().join("pasted");
    for entry in fs::read_dir(&pasted).expect("fixtures/pasted") {
        let input = entry.expect("entry").path().join("input");
        if input.is_dir() {
            let b = Bundle::open(&input).expect("pasted input loads");
            let r = analyze(&[(input.display().to_string(), &b)]);
            walk(&serde_json::to_value(&r).expect("json"), None, &mut fields);
        }
    }
    // The fixtures reach every part of the report, optional fields included.
    for f in [
        "pasted",
        "read",
        "explained_by",
        "would_confirm",
        "subject",
        "node_match",
        "action",
        "verify",
        "parts",
        "port_name",
    ] {
        assert!(fields.contains(f), "no fixture report has `{f}`");
    }
    let undocumented: Vec<_> = fields
        .iter()
        .filter(|f| !doc.contains(&format!("| `{f}` |")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "fields missing from docs/report-schema.md: {undocumented:?}"
    );
}

/// The fix script of every fixture: a snapshot to review, `bash -n` and `shellcheck` clean; a
/// healthy fixture's script does nothing and says so. shellcheck is required: without it this
/// test fails and says how to get it (CI installs it in `.ci/run`).
#[test]
fn fix_scripts_of_every_fixture() {
    let shellcheck = std::process::Command::new("shellcheck")
        .arg("--version")
        .output();
    assert!(
        shellcheck.is_ok_and(|o| o.status.success()),
        "shellcheck is not installed: `apt-get install shellcheck` (the fix scripts must pass it)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    let mut with_steps = 0;
    for c in all_cases() {
        let report = run_case(&c);
        let mut script = Vec::new();
        netsnap::report::script::render(&report, &mut script).expect("renders");
        let script = String::from_utf8(script).expect("UTF-8");
        let name = c
            .dir
            .strip_prefix(fixtures_root())
            .unwrap_or(&c.dir)
            .display()
            .to_string()
            .replace('/', "__");
        let has_steps = report.findings.iter().any(|f| !f.fix.is_empty());
        if c.healthy || !has_steps {
            assert!(
                script.contains("Nothing to fix") && !script.contains("\nsection '1."),
                "{name}: a script without fix steps must do nothing and say so"
            );
        } else {
            with_steps += 1;
            // The helpers are the same in every script; the snapshot keeps what differs.
            let steps = script.replacen(
                netsnap::report::script::PRELUDE,
                "# (analyzer/src/report/script/prelude.sh)\n",
                1,
            );
            assert_ne!(steps, script, "{name}: the prelude is not in the script");
            insta::assert_snapshot!(format!("fix-{name}"), steps);
        }
        let path = dir.path().join(format!("{name}.sh"));
        fs::write(&path, &script).expect("write script");
        let syntax = std::process::Command::new("bash")
            .arg("-n")
            .arg(&path)
            .output()
            .expect("bash runs");
        assert!(
            syntax.status.success(),
            "{name}: bash -n: {}",
            String::from_utf8_lossy(&syntax.stderr)
        );
        files.push(path);
    }
    assert!(
        with_steps >= 20,
        "only {with_steps} fixtures produce fix steps"
    );
    let out = std::process::Command::new("shellcheck")
        .arg("--shell=bash")
        .args(&files)
        .output()
        .expect("shellcheck runs");
    assert!(
        out.status.success(),
        "shellcheck on {} scripts:\n{}",
        files.len(),
        String::from_utf8_lossy(&out.stdout)
    );
    eprintln!(
        "{} fix scripts pass bash -n and shellcheck ({with_steps} with steps)",
        files.len()
    );
}
