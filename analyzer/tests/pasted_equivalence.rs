//! Native bundle vs pasted text of the same state: the VM-lab fixtures carry, next to the
//! collector's bundle, the outputs of the real tools on the same node at the same moment
//! (`oracle/`, listed with their command lines in `oracle/index.txt`). Pasted as one terminal
//! session, with the bundle's kubectl YAML and logs as files beside it, they must give the
//! same findings as the bundle: the same ids and subjects, severities and root causes.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use netsnap::diagnose::{analyze, Report};
use netsnap::Bundle;

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The oracle outputs as a `root@HOST:~#` session: each command line, then what it printed
/// (standard output, then standard error, as a terminal shows them).
fn session(oracle: &Path, host: &str) -> String {
    let index = fs::read_to_string(oracle.join("index.txt")).expect("index.txt");
    let mut out = String::new();
    for line in index.lines() {
        let mut f = line.splitn(3, '\t');
        let (Some(file), Some(_rc), Some(command)) = (f.next(), f.next(), f.next()) else {
            panic!("{}: bad index line {line:?}", oracle.display());
        };
        out.push_str(&format!("root@{host}:~# {command}\n"));
        for part in [file.to_string(), format!("{file}.stderr")] {
            if let Ok(text) = fs::read_to_string(oracle.join(&part)) {
                out.push_str(&text);
                if !text.is_empty() && !text.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }
    out.push_str(&format!("root@{host}:~# \n"));
    out
}

/// A folder as a user would fill it: the session, and each kubectl output in its own file.
fn pasted_dir(case: &Path, bundle: &Bundle) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let host = &bundle.manifest().host.hostname;
    fs::write(
        dir.path().join("session.txt"),
        session(&case.join("oracle"), host),
    )
    .expect("write session");
    for path in bundle.paths().filter(|p| p.starts_with("k8s/")) {
        let name = path.trim_start_matches("k8s/");
        // version.json is `kubectl version`, which netsnap does not read from text.
        if name == "version.json" {
            continue;
        }
        let bytes = bundle.file(path).unwrap_or_default();
        if !bytes.is_empty() {
            fs::write(dir.path().join(name), bytes).expect("write kubectl output");
        }
    }
    dir
}

fn keys(r: &Report) -> BTreeSet<String> {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?}{}",
                f.key(),
                f.severity,
                if f.root_cause { " root" } else { "" }
            )
        })
        .collect()
}

fn equivalent(case: &str) -> Result<(), String> {
    let dir = fixtures_root().join(case);
    let bundle = Bundle::open(dir.join("bundle")).expect("bundle loads");
    let native = analyze(&[(case.to_string(), &bundle)]);
    let pasted_dir = pasted_dir(&dir, &bundle);
    let pasted = Bundle::open(pasted_dir.path()).expect("pasted folder loads");
    assert!(pasted.is_pasted());
    let text = analyze(&[(case.to_string(), &pasted)]);
    let (n, t) = (keys(&native), keys(&text));
    if n == t {
        return Ok(());
    }
    let unread: Vec<String> = text.inputs[0]
        .pasted
        .iter()
        .filter(|p| !p.read)
        .map(|p| format!("{}:{} {} {:?}", p.file, p.lines[0], p.kind, p.notes))
        .collect();
    Err(format!(
        "{case}:\n  only native: {:?}\n  only pasted: {:?}\n  pieces not read: {unread:#?}",
        n.difference(&t).collect::<Vec<_>>(),
        t.difference(&n).collect::<Vec<_>>()
    ))
}

#[test]
fn pasted_oracle_outputs_give_the_native_findings() {
    let cases = [
        "nodeport-30081/1-modules-missing",
        "nodeport-30081/2-ipip-always",
        "nodeport-30081/3-tunl0-up",
        "nodeport-30081/4-healthy",
        "vm-lab/1-modules-missing",
        "vm-lab/2-ipvs-services",
        "vm-lab/3-healthy",
    ];
    let failures: Vec<String> = cases.iter().filter_map(|c| equivalent(c).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Evidence from pasted text cites the pasted file and line, never a collector artifact the
/// user never had.
#[test]
fn pasted_evidence_cites_the_pasted_lines() {
    let dir = fixtures_root().join("nodeport-30081/1-modules-missing");
    let bundle = Bundle::open(dir.join("bundle")).expect("bundle loads");
    let pasted_dir = pasted_dir(&dir, &bundle);
    // What ipvsadm printed on the same kernel state (VM lab, ip_vs blocked), pasted apart.
    let stderr = fs::read_to_string(
        fixtures_root()
            .join("vm-lab/1-modules-missing/oracle/ipvsadm-Ln.after-collector.txt.stderr"),
    )
    .expect("ipvsadm's error");
    fs::write(
        pasted_dir.path().join("ipvsadm.txt"),
        format!("root@node1:~# ipvsadm -Ln\n{stderr}"),
    )
    .expect("write");
    let pasted = Bundle::open(pasted_dir.path()).expect("pasted folder loads");
    let report = analyze(&[("p".to_string(), &pasted)]);
    let c01 = report
        .findings
        .iter()
        .find(|f| f.id == "ipvs-modules-missing")
        .expect("C01 from the pasted text");
    let cited: Vec<(&str, &str)> = c01
        .evidence
        .iter()
        .map(|e| (e.artifact.as_str(), e.locator.as_str()))
        .collect();
    // The kube-proxy mode from the pasted ConfigMap, at its line; the failed ipvsadm where
    // it failed (line 2, modprobe's complaints come first: line 4); lsmod from the session.
    assert!(cited.contains(&("ipvsadm.txt", "line 2")), "{cited:?}");
    assert!(
        cited
            .iter()
            .any(|(a, l)| *a == "session.txt" && l.contains("(lines ")),
        "{cited:?}"
    );
    assert!(
        cited
            .iter()
            .any(|(a, l)| *a == "configmap-kube-system-kube-proxy.yaml" && l.starts_with("line ")),
        "{cited:?}"
    );
    for (artifact, _) in &cited {
        assert!(
            !artifact.starts_with("netlink/") && !artifact.starts_with("k8s/"),
            "a collector artifact cited for pasted text: {cited:?}"
        );
    }
}

/// `netsnap import` writes a bundle that analyzes exactly like the folder it came from.
#[test]
fn an_imported_bundle_analyzes_like_its_folder() {
    let dir = fixtures_root().join("nodeport-30081/2-ipip-always");
    let bundle = Bundle::open(dir.join("bundle")).expect("bundle loads");
    let pasted_dir = pasted_dir(&dir, &bundle);
    let pasted = Bundle::open(pasted_dir.path()).expect("pasted folder loads");
    let out = tempfile::tempdir().expect("temp dir");
    let tgz = out.path().join("imported.tar.gz");
    let mut bytes = Vec::new();
    pasted.write_tar_gz(&mut bytes).expect("writes");
    fs::write(&tgz, &bytes).expect("write tgz");
    let imported = Bundle::open(&tgz).expect("imported bundle loads");
    assert!(imported.is_pasted());
    let a = serde_json::to_string(&analyze(&[("x".to_string(), &pasted)])).expect("json");
    let b = serde_json::to_string(&analyze(&[("x".to_string(), &imported)])).expect("json");
    assert_eq!(a, b);
    // Written twice, the same bytes.
    let mut again = Vec::new();
    imported.write_tar_gz(&mut again).expect("writes");
    assert_eq!(bytes, again);
}

/// An address listing of one link (`ip a show eth0`) beside `ip -d link` of all: the other
/// links' addresses are unknown, not absent. kube-ipvs0's ClusterIPs are not judged, and the
/// report says which links the listings covered.
#[test]
fn a_partial_address_listing_is_said_and_not_taken_as_absence() {
    let root = fixtures_root().join("pasted");
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in fs::read_dir(root.join("nodeport-30081-3-tunl0-up/input")).expect("input") {
        let p = entry.expect("entry").path();
        fs::copy(&p, dir.path().join(p.file_name().expect("name"))).expect("copy");
    }
    // eth0's block of the same capture's `ip a`, which is what `ip a show eth0` prints.
    let ip_a = fs::read_to_string(root.join("vm-capture/np3/3-tunl0-up/ip-a.txt")).expect("ip a");
    let eth0: Vec<&str> = ip_a
        .lines()
        .skip_while(|l| !l.starts_with("3: eth0"))
        .take_while(|l| l.starts_with("3: eth0") || l.starts_with(' '))
        .collect();
    assert!(eth0.len() > 2, "{eth0:?}");
    fs::write(
        dir.path().join("eth0.txt"),
        format!("root@node1:~# ip a show eth0\n{}\n", eth0.join("\n")),
    )
    .expect("write");
    let b = Bundle::open(dir.path()).expect("loads");
    let r = analyze(&[("p".to_string(), &b)]);
    assert!(
        r.findings.iter().all(|f| f.id != "kube-ipvs0-missing"),
        "{:?}",
        keys(&r)
    );
    assert!(
        r.not_concluded.iter().any(|n| n.id == "kube-ipvs0-missing"),
        "{:?}",
        r.not_concluded
    );
    assert!(
        r.inputs[0]
            .notes
            .iter()
            .any(|n| n.contains("cover 1 of") && n.contains("kube-ipvs0")),
        "{:?}",
        r.inputs[0].notes
    );
    // node1 is still recognised by eth0's address.
    assert_eq!(r.inputs[0].node.as_deref(), Some("node1"));
}

/// A copy of a pasted case's input without the files `leave_out`.
fn input_without(case: &str, leave_out: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = fixtures_root().join("pasted").join(case).join("input");
    for entry in fs::read_dir(&input).expect("input") {
        let p = entry.expect("entry").path();
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        if !leave_out.contains(&name.as_str()) {
            fs::copy(&p, dir.path().join(&name)).expect("copy");
        }
    }
    dir
}

/// Without the kube-proxy ConfigMap, a ClusterIP among the IPVS virtual servers says IPVS
/// mode, and the healthy node stays healthy; with another mode's rules beside it (iptables
/// KUBE-SVC-* chains), the mode stays unknown.
#[test]
fn ipvs_mode_is_read_off_the_table_only_when_unambiguous() {
    let healthy = input_without("nodeport-30081-4-healthy", &["kube-proxy-cm.yaml"]);
    let b = Bundle::open(healthy.path()).expect("loads");
    let r = analyze(&[("h".to_string(), &b)]);
    assert_eq!(r.inputs[0].proxy_mode.as_deref(), Some("ipvs"));
    assert!(!r.has_errors(), "{:?}", keys(&r));
    let mixed = input_without("proxy-mode-mismatch", &["kube-proxy-cm.yaml"]);
    let b = Bundle::open(mixed.path()).expect("loads");
    let r = analyze(&[("m".to_string(), &b)]);
    assert_eq!(r.inputs[0].proxy_mode, None, "{:?}", keys(&r));
}
