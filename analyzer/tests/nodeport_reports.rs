//! Snapshots of the reports for the motivating case's four stages (fixtures/nodeport-30081):
//! the text report (no colour) and the JSON report of each, and the Markdown of stage 1. A
//! change in wording, order, evidence or fix steps shows up here for review.

use std::path::Path;

use netsnap::diagnose::analyze;
use netsnap::report::{render, Format, TextOptions};
use netsnap::Bundle;

const STAGES: &[&str] = &[
    "1-modules-missing",
    "2-ipip-always",
    "3-tunl0-up",
    "4-healthy",
];

fn report(stage: &str, format: Format) -> String {
    let rel = format!("fixtures/nodeport-30081/{stage}/bundle");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(&rel);
    let bundle = Bundle::open(&path).expect("stage bundle loads");
    let r = analyze(&[(rel, &bundle)]);
    let mut out = Vec::new();
    render(&r, format, TextOptions::default(), &mut out).expect("renders");
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn text_reports() {
    for stage in STAGES {
        insta::assert_snapshot!(format!("text-{stage}"), report(stage, Format::Text));
    }
}

#[test]
fn json_reports() {
    for stage in STAGES {
        let json = report(stage, Format::Json);
        // Same bundle, same bytes.
        assert_eq!(json, report(stage, Format::Json));
        insta::assert_snapshot!(format!("json-{stage}"), json);
    }
}

#[test]
fn markdown_report_of_stage_1() {
    insta::assert_snapshot!(
        "markdown-1-modules-missing",
        report("1-modules-missing", Format::Markdown)
    );
}
