//! The collector run for real inside fresh network namespaces: what it records, that its
//! bundle opens with `tar xzf` and is byte-stable, that it changes nothing, and that a hanging
//! tool or a short global deadline never costs the bundle.
//!
//! Needs root and iproute2 (fails loudly otherwise). The binary is `NETSNAP_COLLECT` when set
//! (e.g. the static build), else `netsnap-collect` next to this test's target directory, built
//! with cargo on first use when missing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use netsnap_bundle::{names, Manifest, Status};
use netsnap_e2e::{bin_path, require_root_and_iproute2, run_ok, Netns};

fn collector() -> PathBuf {
    match std::env::var_os("NETSNAP_COLLECT") {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "NETSNAP_COLLECT={} does not exist",
                p.display()
            );
            p
        }
        None => bin_path("netsnap-collect"),
    }
}

/// A namespace with a veth pair, a VXLAN device, optionally a bridge (enslaving veth1),
/// addresses, routes in the main table and table 100, a rule and a few sysctls. IPv6 is off so
/// no router solicitation or DAD traffic changes neighbour state between two runs.
fn populated_ns(tag: &str, bridge: bool) -> Netns {
    let ns = Netns::new(tag);
    ns.sysctl("net.ipv6.conf.all.disable_ipv6", "1");
    ns.sysctl("net.ipv6.conf.default.disable_ipv6", "1");
    // Without a bridge, "br0" is a plain veth pair end, so the rest of the setup is the same.
    if bridge {
        ns.ip(&["link", "add", "br0", "type", "bridge"]);
    } else {
        ns.ip(&["link", "add", "br0", "type", "veth", "peer", "name", "br0p"]);
    }
    ns.ip(&[
        "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    if bridge {
        ns.ip(&["link", "set", "veth1", "master", "br0"]);
    }
    ns.ip(&[
        "link",
        "add",
        "vxlan.calico",
        "type",
        "vxlan",
        "id",
        "4096",
        "dstport",
        "4789",
        "local",
        "10.0.0.1",
    ]);
    ns.ip(&["addr", "add", "10.0.0.1/24", "dev", "veth0"]);
    ns.ip(&["addr", "add", "10.10.0.1/24", "dev", "br0"]);
    ns.ip(&["addr", "add", "192.168.200.1/32", "dev", "vxlan.calico"]);
    for l in ["br0", "veth0", "veth1", "vxlan.calico"] {
        ns.ip(&["link", "set", l, "up"]);
    }
    ns.ip(&[
        "route",
        "add",
        "default",
        "via",
        "10.0.0.254",
        "dev",
        "veth0",
    ]);
    ns.ip(&[
        "route",
        "add",
        "10.244.0.0/16",
        "dev",
        "br0",
        "table",
        "100",
    ]);
    ns.ip(&[
        "rule", "add", "fwmark", "0x4000", "lookup", "100", "pref", "1000",
    ]);
    ns.sysctl("net.ipv4.conf.veth0.rp_filter", "2");
    ns.sysctl("net.ipv4.ip_forward", "1");
    ns
}

fn collect(ns: &Netns, args: &[&str], path_prefix: Option<&Path>) -> (Output, Duration) {
    let mut cmd = ns.exec(collector());
    cmd.args(args).args(["--no-kubectl", "--quiet"]);
    if let Some(dir) = path_prefix {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", dir.display()));
    }
    let t = Instant::now();
    let out = cmd.output().expect("run the collector");
    (out, t.elapsed())
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "collector failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tar xzf` into a fresh directory; returns the single top-level directory.
fn untar(tarball: &Path, into: &Path) -> PathBuf {
    fs::create_dir_all(into).expect("mkdir");
    run_ok(
        Command::new("tar")
            .arg("xzf")
            .arg(tarball)
            .arg("-C")
            .arg(into),
    );
    let tops: Vec<PathBuf> = fs::read_dir(into)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(tops.len(), 1, "one top-level directory expected: {tops:?}");
    tops.into_iter().next().expect("one")
}

fn manifest(root: &Path) -> Manifest {
    let text = fs::read_to_string(root.join(names::MANIFEST)).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest parses")
}

/// Every file under `root`, relative path -> bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn status(m: &Manifest, path: &str) -> Status {
    m.artifact(path)
        .unwrap_or_else(|| panic!("{path} missing from the manifest"))
        .status
}

/// The last netlink message of a stored dump is NLMSG_DONE (type 3).
fn ends_with_done(data: &[u8]) -> bool {
    let mut off = 0;
    let mut last = None;
    while off + 16 <= data.len() {
        let len = u32::from_ne_bytes(data[off..off + 4].try_into().expect("4")) as usize;
        if len < 16 {
            return false;
        }
        last = Some(u16::from_ne_bytes(
            data[off + 4..off + 6].try_into().expect("2"),
        ));
        off += (len + 3) & !3;
    }
    off == data.len() && last == Some(3)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn bundle_records_the_namespace() {
    let ns = populated_ns("coll", true);
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a.tar.gz");
    let (out, _) = collect(&ns, &["-o", &a.to_string_lossy()], None);
    assert_ok(&out);
    let ra = untar(&a, &tmp.path().join("xa"));
    let top = ra.file_name().expect("name").to_string_lossy().into_owned();
    assert!(top.starts_with("netsnap-") && top.ends_with('Z'), "{top}");

    // Normalised headers: owner 0/0, 1970 mtimes, fixed modes.
    let listing = run_ok(
        Command::new("tar")
            .args(["--numeric-owner", "-tvzf"])
            .arg(&a),
    );
    for line in String::from_utf8_lossy(&listing.stdout).lines() {
        assert!(
            line.contains(" 0/0 ") && line.contains("1970-01-01"),
            "{line}"
        );
        assert!(
            line.starts_with("-rw-r--r--") || line.starts_with("drwxr-xr-x"),
            "{line}"
        );
    }

    let m = manifest(&ra);
    let sorted = {
        let mut p: Vec<&str> = m.artifacts.iter().map(|a| a.path.as_str()).collect();
        p.sort();
        p
    };
    assert_eq!(
        m.artifacts
            .iter()
            .map(|a| a.path.as_str())
            .collect::<Vec<_>>(),
        sorted
    );

    for p in [
        names::RTNL_LINKS,
        names::RTNL_ADDRS,
        names::RTNL_ROUTES_V4,
        names::RTNL_ROUTES_V6,
        names::RTNL_RULES_V4,
        names::RTNL_RULES_V6,
        names::RTNL_NEIGH,
        names::GENL_FAMILIES,
    ] {
        assert_eq!(status(&m, p), Status::Ok, "{p}");
        let data = fs::read(ra.join(p)).expect(p);
        assert!(ends_with_done(&data), "{p} does not end with NLMSG_DONE");
    }
    let links = fs::read(ra.join(names::RTNL_LINKS)).expect("links");
    for n in [
        "br0",
        "veth0",
        "veth1",
        "vxlan.calico",
        "vxlan",
        "bridge",
        "veth",
    ] {
        assert!(contains(&links, n), "{n} not in the link dump");
    }
    let rules = fs::read(ra.join(names::RTNL_RULES_V4)).expect("rules");
    assert!(
        contains(&rules, &String::from_utf8_lossy(&0x4000u32.to_ne_bytes())),
        "fwmark rule"
    );

    // No IPVS on this kernel: skipped, with the reason, and nothing stored.
    for p in [
        names::IPVS_INFO,
        names::IPVS_CONFIG,
        names::IPVS_DAEMONS,
        names::IPVS_SERVICES,
        names::IPVS_DESTS,
    ] {
        let art = m.artifact(p).expect(p);
        assert_eq!(art.status, Status::Skipped, "{p}");
        assert!(
            art.reason.as_deref().unwrap_or("").contains("ip_vs"),
            "{p}: {:?}",
            art.reason
        );
        assert!(!ra.join(p).exists(), "{p} stored although skipped");
    }
    let k8s: Vec<_> = m
        .artifacts
        .iter()
        .filter(|a| a.path.starts_with("k8s/"))
        .collect();
    assert!(!k8s.is_empty());
    assert!(k8s.iter().all(|a| a.status == Status::Skipped));

    let sysctls = fs::read_to_string(ra.join(names::SYSCTLS)).expect("sysctl.txt");
    for line in [
        "net.ipv4.conf.veth0.rp_filter = 2",
        "net.ipv4.ip_forward = 1",
        "net.ipv4.conf.vxlan/calico.rp_filter = ",
    ] {
        assert!(
            sysctls.contains(line),
            "{line:?} not in sysctl.txt:\n{sysctls}"
        );
    }

    // Stored content matches the manifest's size and hash.
    let files_a = tree(&ra);
    for art in &m.artifacts {
        match files_a.get(&art.path) {
            Some(data) => {
                assert_eq!(art.bytes, data.len() as u64, "{}", art.path);
                assert!(art.sha256.is_some());
            }
            None => assert_ne!(art.status, Status::Ok, "{} is ok but not stored", art.path),
        }
    }
}

/// Two runs: identical members apart from the manifest's times. No bridge here: a bridge's
/// links carry running kernel timers (IFLA_BR_GC_TIMER, the ports' forward-delay timer), which
/// are node state that changes by itself. kmsg.txt reads the host's global kernel log, which
/// other tests may write to meanwhile.
#[test]
fn two_runs_give_the_same_bytes() {
    let ns = populated_ns("det", false);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a.tar.gz"), tmp.path().join("b.tar.gz"));
    for t in [&a, &b] {
        let (out, _) = collect(&ns, &["-o", &t.to_string_lossy()], None);
        assert_ok(&out);
    }
    let ra = untar(&a, &tmp.path().join("xa"));
    let rb = untar(&b, &tmp.path().join("xb"));
    let (files_a, files_b) = (tree(&ra), tree(&rb));
    let skip = [names::MANIFEST, names::KMSG];
    let keys = |t: &BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&files_a), keys(&files_b));
    for (k, v) in &files_a {
        if !skip.contains(&k.as_str()) {
            assert!(files_b[k] == *v, "{k} differs between two runs");
        }
    }
    let strip = |m: Manifest| {
        m.artifacts
            .into_iter()
            .filter(|a| a.path != names::KMSG)
            .map(|mut a| {
                a.duration_ms = 0;
                a
            })
            .collect::<Vec<_>>()
    };
    let (ma, mb) = (manifest(&ra), manifest(&rb));
    assert_eq!(ma.host, mb.host);
    assert_eq!(strip(ma), strip(mb));
}

/// Kernel state visible in a namespace, as iproute2 and procfs show it.
fn state(ns: &Netns) -> Vec<String> {
    let mut s = Vec::new();
    // Bridge timers count down by themselves; everything else must stay put.
    let mut links = ns.ip_json(&["-j", "-d", "link", "show"]);
    strip_timers(&mut links);
    s.push(links.to_string());
    for args in [
        &["addr", "show"][..],
        &["route", "show", "table", "all"],
        &["-6", "route", "show", "table", "all"],
        &["rule", "show"],
        &["-6", "rule", "show"],
        &["neigh", "show"],
    ] {
        s.push(String::from_utf8_lossy(&ns.ip(args).stdout).into_owned());
    }
    let sysctl = run_ok(ns.exec("sysctl").args(["-a", "--pattern", "^net\\."]));
    s.push(String::from_utf8_lossy(&sysctl.stdout).into_owned());
    s.push(fs::read_to_string("/proc/modules").unwrap_or_else(|e| format!("/proc/modules: {e}")));
    let mut sys_module: Vec<String> = fs::read_dir("/sys/module")
        .expect("/sys/module")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    sys_module.sort();
    s.push(sys_module.join("\n"));
    s
}

fn strip_timers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !k.ends_with("_timer"));
            m.values_mut().for_each(strip_timers);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_timers),
        _ => {}
    }
}

#[test]
fn collection_changes_nothing() {
    let ns = populated_ns("ro", true);
    let before = state(&ns);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (out, _) = collect(
        &ns,
        &["--output-dir", &tmp.path().join("b").to_string_lossy()],
        None,
    );
    assert_ok(&out);
    let after = state(&ns);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "state changed by the collector");
    }
}

/// A directory holding a fake `iptables-legacy-save` that prints a line and then hangs, with a
/// child of its own (the whole process group must die).
fn hanging_stand_in(dir: &Path, marker: &str) {
    let script = dir.join("iptables-legacy-save");
    fs::write(
        &script,
        format!("#!/bin/sh\necho '*filter'\nsleep {marker} &\nexec sleep {marker}\n"),
    )
    .expect("write script");
    run_ok(Command::new("chmod").arg("755").arg(&script));
}

/// Processes whose command line mentions `marker`.
fn survivors(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(cmd) = fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(marker) {
                found.push(format!("{}: {cmd}", e.file_name().to_string_lossy()));
            }
        }
    }
    found
}

#[test]
fn a_hanging_tool_is_killed_at_its_budget() {
    require_root_and_iproute2();
    let ns = Netns::new("hang");
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = format!("{}.{}", 900 + std::process::id() % 97, std::process::id());
    hanging_stand_in(tmp.path(), &marker);
    let out_dir = tmp.path().join("b");
    let (out, took) = collect(
        &ns,
        &["--output-dir", &out_dir.to_string_lossy()],
        Some(tmp.path()),
    );
    assert_ok(&out);
    // The command budget is 10 s; everything else takes well under a second here.
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(20),
        "took {took:?}"
    );
    let m = manifest(&out_dir);
    let p = names::command_artifact("iptables-legacy-save");
    let art = m.artifact(&p).expect("listed");
    assert_eq!(art.status, Status::Timeout, "{art:?}");
    assert!(art.truncated);
    assert_eq!(
        fs::read_to_string(out_dir.join(&p)).expect("partial output"),
        "*filter\n"
    );
    // Probes after it still ran.
    assert_ne!(
        status(&m, &names::command_artifact("ip6tables-legacy-save")),
        Status::Timeout
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        survivors(&marker),
        Vec::<String>::new(),
        "the stand-in's group survived"
    );
}

#[test]
fn the_global_deadline_holds() {
    require_root_and_iproute2();
    let ns = Netns::new("deadline");
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = format!("{}.{}", 800 + std::process::id() % 97, std::process::id());
    hanging_stand_in(tmp.path(), &marker);
    let tarball = tmp.path().join("bundle.tar.gz");
    let (out, took) = collect(
        &ns,
        &["--deadline", "3", "-o", &tarball.to_string_lossy()],
        Some(tmp.path()),
    );
    assert_ok(&out);
    assert!(
        took < Duration::from_millis(3_700),
        "took {took:?} with --deadline 3"
    );
    let root = untar(&tarball, &tmp.path().join("x"));
    let m = manifest(&root);
    assert_eq!(
        status(&m, &names::command_artifact("iptables-legacy-save")),
        Status::Timeout
    );
    // Everything after the hung tool is recorded, not lost: the deadline cut it.
    let later = m
        .artifact(&names::command_artifact("ip6tables-legacy-save"))
        .expect("listed");
    assert_eq!(later.status, Status::Timeout, "{later:?}");
    assert!(
        later.reason.as_deref().unwrap_or("").contains("deadline"),
        "{later:?}"
    );
    assert_eq!(status(&m, names::RTNL_LINKS), Status::Ok);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        survivors(&marker),
        Vec::<String>::new(),
        "the stand-in's group survived"
    );
}

#[test]
fn no_bundle_means_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("missing-dir").join("x.tar.gz");
    let out = Command::new(collector())
        .args(["--no-kubectl", "--quiet", "--deadline", "5", "-o"])
        .arg(&target)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no bundle written") && err.contains("missing-dir"),
        "{err}"
    );
}
