use std::io::Write;

use netsnap_bundle::{Artifact, CollectorInfo, HostInfo, Manifest, Source, Status};

use super::*;

fn manifest_json(version: &str) -> Vec<u8> {
    let mut m = Manifest::new(
        CollectorInfo {
            name: "netsnap-collect".into(),
            version: "0.1.0".into(),
        },
        HostInfo {
            hostname: "node1".into(),
            ..HostInfo::default()
        },
        "2026-11-25T06:00:00Z".into(),
    );
    m.artifacts = vec![
        Artifact {
            path: "netlink/ipvs/services.nl".into(),
            source: Source::Netlink {
                family: "IPVS".into(),
                command: "IPVS_CMD_GET_SERVICE".into(),
                detail: None,
            },
            status: Status::Skipped,
            reason: Some("ip_vs not loaded".into()),
            bytes: 0,
            sha256: None,
            duration_ms: 0,
            truncated: false,
            exit_code: None,
            stderr: None,
        },
        artifact_ok("proc/modules"),
        artifact_ok("sysctl.txt"),
    ];
    let mut v = serde_json::to_value(&m).expect("serializes");
    v["format_version"] = version.into();
    serde_json::to_vec_pretty(&v).expect("serializes")
}

fn artifact_ok(path: &str) -> Artifact {
    Artifact {
        path: path.into(),
        source: Source::File {
            path: format!("/{path}"),
        },
        status: Status::Ok,
        reason: None,
        bytes: 0,
        sha256: None,
        duration_ms: 0,
        truncated: false,
        exit_code: None,
        stderr: None,
    }
}

/// The files of a small valid bundle (sysctl.txt is listed as ok but left out on purpose).
fn files(version: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        ("manifest.json".into(), manifest_json(version)),
        ("proc/modules".into(), b"ip_vs 1 0 - Live 0x0\n".to_vec()),
        ("commands/ip-link.txt".into(), b"1: lo\n".to_vec()),
    ]
}

/// A tar whose headers are written by hand, so hostile names (`..`, absolute) get through.
fn raw_tar(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if kind.is_symlink() || kind.is_hard_link() {
            h.set_link_name("/etc/shadow").expect("link name");
        }
        h.set_cksum();
        b.append(&h, *data).expect("append");
    }
    b.into_inner().expect("finish")
}

fn tar_of(prefix: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let owned: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(p, d)| (format!("{prefix}{p}"), d.clone()))
        .collect();
    let entries: Vec<(&str, tar::EntryType, &[u8])> = owned
        .iter()
        .map(|(p, d)| (p.as_str(), tar::EntryType::Regular, d.as_slice()))
        .collect();
    raw_tar(&entries)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn write_file(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write");
    p
}

fn write_tree(root: &Path, files: &[(String, Vec<u8>)]) {
    for (p, d) in files {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, d).expect("write");
    }
}

#[test]
fn layouts_and_containers_give_the_same_bundle() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = files("1.0");
    let root_dir = tmp.path().join("root");
    write_tree(&root_dir, &f);
    let nested_dir = tmp.path().join("nested");
    write_tree(&nested_dir.join("netsnap-node1-20261125T060000Z"), &f);
    let tgz = write_file(tmp.path(), "b.tar.gz", &gzip(&tar_of("", &f)));
    let tgz_nested = write_file(
        tmp.path(),
        "n.tgz",
        &gzip(&tar_of("netsnap-node1-20261125T060000Z/", &f)),
    );
    let plain = write_file(tmp.path(), "b.tar", &tar_of("./", &f));

    let reference = Bundle::open(&root_dir).expect("directory bundle");
    assert_eq!(
        reference.file("proc/modules"),
        Some(&b"ip_vs 1 0 - Live 0x0\n"[..])
    );
    assert_eq!(reference.manifest().host.hostname, "node1");
    assert_eq!(reference.paths().count(), 3);
    for other in [&nested_dir, &tgz, &tgz_nested, &plain] {
        let b = Bundle::open(other).unwrap_or_else(|e| panic!("{}: {e:#?}", other.display()));
        assert_eq!(b, reference, "{}", other.display());
    }
}

#[test]
fn evidence_tells_present_not_collected_lost_and_unlisted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = write_file(tmp.path(), "b.tgz", &gzip(&tar_of("", &files("1.0"))));
    let b = Bundle::open(&path).expect("loads");
    assert!(matches!(
        b.evidence("proc/modules"),
        Evidence::Present {
            artifact: Some(_),
            ..
        }
    ));
    assert!(matches!(
        b.evidence("commands/ip-link.txt"),
        Evidence::Present { artifact: None, .. }
    ));
    let skipped = b.evidence("netlink/ipvs/services.nl");
    assert!(matches!(skipped, Evidence::NotCollected { .. }));
    assert_eq!(
        skipped.absence().expect("absent").to_string(),
        "was not collected (skipped: ip_vs not loaded)"
    );
    assert_eq!(b.evidence("sysctl.txt").absence(), Some(Absence::Lost));
    assert_eq!(b.evidence("kmsg.txt"), Evidence::Unlisted);
    assert_eq!(b.evidence("kmsg.txt").bytes(), None);
}

#[test]
fn path_traversal_and_absolute_paths_are_refused() {
    let manifest = manifest_json("1.0");
    for bad in ["../evil", "a/../../evil", "/etc/cron.d/evil", "ok/../x"] {
        let tar = raw_tar(&[
            ("manifest.json", tar::EntryType::Regular, &manifest),
            (bad, tar::EntryType::Regular, b"x"),
        ]);
        let err = Bundle::from_tar(&tar[..], Path::new("t.tar"), Limits::default()).expect_err(bad);
        assert!(matches!(err, Error::UnsafePath { .. }), "{bad}: {err}");
    }
}

#[test]
fn links_and_special_files_are_skipped_and_recorded() {
    let manifest = manifest_json("1.0");
    let tar = raw_tar(&[
        ("manifest.json", tar::EntryType::Regular, &manifest),
        ("proc/modules", tar::EntryType::Symlink, b""),
        ("hard", tar::EntryType::Link, b""),
        ("dev", tar::EntryType::Char, b""),
        ("pipe", tar::EntryType::Fifo, b""),
    ]);
    let b = Bundle::from_tar(&tar[..], Path::new("t.tar"), Limits::default()).expect("loads");
    assert_eq!(b.file("proc/modules"), None);
    let kinds: Vec<_> = b
        .skipped()
        .iter()
        .map(|s| (s.path.as_str(), s.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("proc/modules", "symlink"),
            ("hard", "hardlink"),
            ("dev", "character device"),
            ("pipe", "fifo")
        ]
    );

    // In a directory, a symlink to a secret is recorded, never read.
    let tmp = tempfile::tempdir().expect("tempdir");
    write_tree(tmp.path(), &files("1.0"));
    let secret = write_file(tmp.path(), "../secret-outside", b"secret");
    std::os::unix::fs::symlink(&secret, tmp.path().join("kmsg.txt")).expect("symlink");
    let b = Bundle::open(tmp.path()).expect("loads");
    assert_eq!(b.file("kmsg.txt"), None);
    assert_eq!(
        b.skipped(),
        [SkippedEntry {
            path: "kmsg.txt".into(),
            kind: "symlink"
        }]
    );
    let _ = std::fs::remove_file(secret);
}

#[test]
fn oversized_entries_and_too_many_entries_are_refused() {
    let f = files("1.0");
    let limits = Limits {
        max_entry_bytes: 4096,
        ..Limits::default()
    };
    let mut big = f.clone();
    big.push(("kmsg.txt".into(), vec![b'x'; 4097]));
    let err = Bundle::from_tar(&tar_of("", &big)[..], Path::new("t"), limits).expect_err("too big");
    assert!(
        matches!(err, Error::EntryTooLarge { ref path, size: 4097, limit: 4096 } if path == "kmsg.txt"),
        "{err}"
    );
    let limits = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let err = Bundle::from_tar(&tar_of("", &f)[..], Path::new("t"), limits).expect_err("count");
    assert!(matches!(err, Error::TooManyEntries { limit: 2 }), "{err}");

    let tmp = tempfile::tempdir().expect("tempdir");
    write_tree(tmp.path(), &big);
    let limits = Limits {
        max_entry_bytes: 4096,
        ..Limits::default()
    };
    let err = Bundle::open_with_limits(tmp.path(), limits).expect_err("too big in a directory");
    assert!(matches!(err, Error::EntryTooLarge { .. }), "{err}");
}

#[test]
fn gzip_bomb_hits_the_total_cap() {
    // 64 MiB of zeros compress to about 64 KiB; the cap must stop reading long before the end.
    let mut f = files("1.0");
    for i in 0..4 {
        f.push((format!("pad/{i}"), vec![0u8; 16 << 20]));
    }
    let compressed = gzip(&tar_of("", &f));
    assert!(compressed.len() < 1 << 20, "{} bytes", compressed.len());
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = write_file(tmp.path(), "bomb.tar.gz", &compressed);
    let limits = Limits {
        max_total_bytes: 20 << 20,
        ..Limits::default()
    };
    let err = Bundle::open_with_limits(&path, limits).expect_err("bomb");
    assert!(
        matches!(err, Error::TooLarge { limit } if limit == 20 << 20),
        "{err}"
    );
    // The same bundle loads under the default limits.
    assert!(Bundle::open(&path).is_ok());
}

#[test]
fn newer_major_version_asks_for_an_upgrade() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut f = files("2.0");
    // A newer major may change anything else, too: the version is checked first.
    f[0].1 = br#"{"format": "netsnap-bundle", "format_version": "2.0", "artifacts": 7}"#.to_vec();
    write_tree(tmp.path(), &f);
    let err = Bundle::open(tmp.path()).expect_err("2.0 refused");
    let chain = format!("{:#}", anyhow::Error::from(err));
    assert!(chain.contains("upgrade netsnap"), "{chain}");

    let tmp = tempfile::tempdir().expect("tempdir");
    write_tree(tmp.path(), &files("1.9"));
    assert!(Bundle::open(tmp.path()).is_ok(), "newer minor is read");
}

#[test]
fn missing_or_foreign_manifest_is_refused() {
    // Without a manifest anywhere the files are pasted text: read when recognised...
    let tmp = tempfile::tempdir().expect("tempdir");
    let f: Vec<_> = files("1.0").into_iter().skip(1).collect();
    write_tree(tmp.path(), &f);
    let b = Bundle::open(tmp.path()).expect("read as pasted text");
    assert!(b.is_pasted());
    assert_eq!(b.pasted().len(), 2);
    assert!(b.file("pasted/proc/modules").is_some());
    // ... refused when nothing is.
    let tmp = tempfile::tempdir().expect("tempdir");
    write_tree(tmp.path(), &[("a.txt".into(), b"hello\n".to_vec())]);
    let err = Bundle::open(tmp.path()).expect_err("nothing recognised");
    assert!(matches!(err, Error::NothingPasted { .. }), "{err}");

    // manifest.json under a directory that is not the only top-level one does not count.
    let mut two_tops = files("1.0");
    two_tops[0].0 = "a/manifest.json".into();
    let err = Bundle::from_tar(
        &tar_of("", &two_tops)[..],
        Path::new("t"),
        Limits::default(),
    )
    .expect_err("ambiguous layout");
    assert!(matches!(err, Error::MissingManifest), "{err}");

    let mut foreign = files("1.0");
    foreign[0].1 = br#"{"format": "something-else", "format_version": "1.0"}"#.to_vec();
    let err = Bundle::from_tar(&tar_of("", &foreign)[..], Path::new("t"), Limits::default())
        .expect_err("foreign");
    assert!(matches!(err, Error::WrongFormat { .. }), "{err}");

    let mut broken = files("1.0");
    broken[0].1 = b"{not json".to_vec();
    let err = Bundle::from_tar(&tar_of("", &broken)[..], Path::new("t"), Limits::default())
        .expect_err("broken");
    assert!(matches!(err, Error::Manifest { .. }), "{err}");
}

#[test]
fn duplicate_entries_and_garbage_archives_are_errors() {
    let mut f = files("1.0");
    f.push(("./proc/modules".into(), b"other".to_vec()));
    let err = Bundle::from_tar(&tar_of("", &f)[..], Path::new("t"), Limits::default())
        .expect_err("duplicate");
    assert!(matches!(err, Error::DuplicateEntry { .. }), "{err}");

    let tmp = tempfile::tempdir().expect("tempdir");
    let good = gzip(&tar_of("", &files("1.0")));
    for cut in [10, good.len() / 2, good.len() - 9] {
        let path = write_file(tmp.path(), "cut.tgz", &good[..cut]);
        assert!(Bundle::open(&path).is_err(), "cut at {cut}");
    }
    let path = write_file(tmp.path(), "garbage", b"\x1f\x8bthis is not gzip at all");
    assert!(Bundle::open(&path).is_err());
}
