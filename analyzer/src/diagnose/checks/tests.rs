//! Every check gives a verdict on every node: on a healthy bundle, on a broken one and on a
//! nearly empty paste, each returns at least one, and a clear verdict says why.

use std::path::{Path, PathBuf};

use crate::diagnose::facts::{ClusterFacts, NodeFacts};
use crate::diagnose::{context, Verdict, VerdictKind};
use crate::load::Bundle;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn verdicts_of(bundle: &Bundle, label: &str) {
    let cluster = ClusterFacts::from_bundles([bundle]);
    let node = NodeFacts::from_bundle(bundle, label);
    let cx = context(&node, &cluster);
    let mut n = 0;
    for check in super::all() {
        let verdicts = (check.run)(&cx);
        let all: Vec<&Verdict> = verdicts.iter().collect();
        assert!(!all.is_empty(), "{label}: {} said nothing", check.info.id);
        for v in all {
            if let Verdict::Clear { why, .. } = v {
                assert!(
                    !why.trim().is_empty(),
                    "{label}: {} is clear without saying why",
                    check.info.id
                );
            }
        }
        if verdicts.summary().0 == VerdictKind::Clear {
            assert!(verdicts.summary().1.is_some_and(|w| !w.is_empty()));
        }
        n += 1;
    }
    assert_eq!(n, super::all().count());
}

#[test]
fn every_check_gives_a_verdict_on_the_healthy_and_broken_stages() {
    for stage in ["4-healthy", "1-modules-missing"] {
        let path = fixture(&format!("fixtures/nodeport-30081/{stage}/bundle"));
        let bundle = Bundle::open(&path).expect("stage bundle loads");
        verdicts_of(&bundle, stage);
    }
}

#[test]
fn every_check_gives_a_verdict_on_a_nearly_empty_paste() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        tmp.path().join("sysctl.txt"),
        "root@node1:~# sysctl net.ipv4.ip_forward\nnet.ipv4.ip_forward = 1\n",
    )
    .expect("write");
    let bundle = Bundle::open(tmp.path()).expect("read as pasted text");
    verdicts_of(&bundle, "empty paste");
}
