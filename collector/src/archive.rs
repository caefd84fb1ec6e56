//! Writes a bundle: either a deterministic `.tar.gz` with one top-level directory, or the same
//! tree unpacked into a directory (for reviewable fixtures).
//!
//! Determinism: entries sorted by path components, directories before their contents, every
//! header a GNU header with mtime 0, uid/gid 0, empty owner names, mode 0644 (directories 0755);
//! the gzip header carries no name and mtime 0. `manifest.json` is written last, so a bundle cut
//! short by a full disk has no manifest and is recognisably incomplete.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::spool::Content;

/// A stored file: its path inside the bundle (relative, `/`-separated) and content (in memory
/// or in a spool file).
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub data: Content,
}

/// Whether `path` is a safe relative bundle path: no leading `/`, no empty, `.` or `..`
/// components, no NUL. Artifact names are built from node data (interface names, file names),
/// so this is checked before anything is written.
pub fn is_safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\0')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn invalid(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("refusing unsafe bundle path {path:?}"),
    )
}

/// Sorted entries plus the directories they need, as (path, Some(data)) or (dir, None).
/// A path in the archive and its content (`None` for a directory).
type Item<'a> = (String, Option<&'a Content>);

fn layout(entries: &[Entry]) -> io::Result<Vec<Item<'_>>> {
    let mut dirs = BTreeSet::new();
    for e in entries {
        if !is_safe_path(&e.path) {
            return Err(invalid(&e.path));
        }
        let mut parts: Vec<&str> = e.path.split('/').collect();
        parts.pop();
        for i in 1..=parts.len() {
            dirs.insert(parts[..i].join("/"));
        }
    }
    let mut all: Vec<Item<'_>> = dirs.into_iter().map(|d| (d, None)).collect();
    all.extend(entries.iter().map(|e| (e.path.clone(), Some(&e.data))));
    // Component-wise order puts a directory right before its contents.
    all.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    all.dedup_by(|a, b| a.0 == b.0);
    Ok(all)
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// Writes `root/` + entries + `root/manifest.json` as a gzip-compressed tar stream.
pub fn write_tar_gz<W: Write>(
    out: W,
    root: &str,
    entries: &[Entry],
    manifest: &[u8],
) -> io::Result<W> {
    if !is_safe_path(root) || root.contains('/') {
        return Err(invalid(root));
    }
    let gz = GzEncoder::new(out, Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut dir = header(tar::EntryType::Directory, 0o755, 0);
    tar.append_data(&mut dir, format!("{root}/"), io::empty())?;
    for (path, data) in layout(entries)? {
        let full = format!("{root}/{path}");
        match data {
            None => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                tar.append_data(&mut h, format!("{full}/"), io::empty())?;
            }
            Some(data) => {
                let mut h = header(tar::EntryType::Regular, 0o644, data.len());
                tar.append_data(&mut h, full, data.reader()?)?;
            }
        }
    }
    let mut h = header(tar::EntryType::Regular, 0o644, manifest.len() as u64);
    tar.append_data(
        &mut h,
        format!("{root}/{}", netsnap_bundle::names::MANIFEST),
        manifest,
    )?;
    tar.into_inner()?.finish()
}

/// Writes the tarball to `path` through a temporary file renamed into place, so a partial file
/// never carries the final name.
pub fn write_tar_gz_file(
    path: &Path,
    root: &str,
    entries: &[Entry],
    manifest: &[u8],
) -> io::Result<()> {
    let mut tmp = PathBuf::from(path);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    tmp.set_file_name(name);
    let result = fs::File::create(&tmp)
        .and_then(|f| write_tar_gz(io::BufWriter::new(f), root, entries, manifest))
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all())
        .and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes the bundle unpacked into `dir`, which must be absent or empty.
pub fn write_dir(dir: &Path, entries: &[Entry], manifest: &[u8]) -> io::Result<()> {
    if dir.exists() && fs::read_dir(dir)?.next().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not empty", dir.display()),
        ));
    }
    fs::create_dir_all(dir)?;
    for (path, data) in layout(entries)? {
        let target = dir.join(&path);
        match data {
            None => fs::create_dir_all(&target)?,
            Some(data) => data.write_to(&target)?,
        }
    }
    fs::write(dir.join(netsnap_bundle::names::MANIFEST), manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Entry> {
        let e = |p: &str, d: &str| Entry {
            path: p.into(),
            data: Content::Bytes(d.as_bytes().to_vec()),
        };
        vec![
            e("sysctl.txt", "net.ipv4.ip_forward = 1\n"),
            e("netlink/rtnl/links.nl", "abc"),
            e("files/etc/cni/net.d/10-calico.conflist", "{}"),
            e("netlink-extra", "x"),
            e(&format!("files/{}/long-name.conf", "d".repeat(120)), "long"),
        ]
    }

    #[test]
    fn same_input_gives_same_bytes_whatever_the_order() {
        let a = write_tar_gz(Vec::new(), "netsnap-n1-x", &entries(), b"{}").expect("tar");
        let mut rev = entries();
        rev.reverse();
        let b = write_tar_gz(Vec::new(), "netsnap-n1-x", &rev, b"{}").expect("tar");
        assert_eq!(a, b);
        let c = write_tar_gz(Vec::new(), "netsnap-n1-x", &entries(), b"{ }").expect("tar");
        assert_ne!(a, c, "the manifest is part of the archive");
    }

    #[test]
    fn headers_are_normalised_and_manifest_is_last() {
        let gz = write_tar_gz(Vec::new(), "root", &entries(), b"{}").expect("tar");
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(gz.as_slice()));
        let mut names = Vec::new();
        for e in ar.entries().expect("entries") {
            let e = e.expect("entry");
            let h = e.header();
            assert_eq!(h.mtime().expect("mtime"), 0);
            assert_eq!(h.uid().expect("uid"), 0);
            assert_eq!(h.gid().expect("gid"), 0);
            assert_eq!(h.username().expect("user"), Some(""));
            let mode = h.mode().expect("mode");
            if h.entry_type().is_dir() {
                assert_eq!(mode, 0o755);
            } else {
                assert_eq!(mode, 0o644);
            }
            names.push(e.path().expect("path").to_string_lossy().into_owned());
        }
        assert_eq!(names.first().map(String::as_str), Some("root/"));
        assert_eq!(names.last().map(String::as_str), Some("root/manifest.json"));
        let pos = |n: &str| names.iter().position(|x| x == n).expect(n);
        assert!(pos("root/netlink/") < pos("root/netlink/rtnl/"));
        assert!(pos("root/netlink/rtnl/") < pos("root/netlink/rtnl/links.nl"));
        assert!(names.iter().any(|n| n.ends_with("/long-name.conf")));
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for p in ["", "/etc/passwd", "a/../b", "a//b", "./a", "a/\0"] {
            assert!(!is_safe_path(p), "{p:?}");
            let e = vec![Entry {
                path: p.into(),
                data: Content::Bytes(vec![]),
            }];
            assert!(write_tar_gz(Vec::new(), "r", &e, b"{}").is_err());
        }
        assert!(is_safe_path("files/etc/cni/net.d/..data"));
    }

    #[test]
    fn directory_output_has_the_same_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("bundle");
        write_dir(&out, &entries(), b"{}").expect("write");
        assert_eq!(
            fs::read(out.join("netlink/rtnl/links.nl")).expect("read"),
            b"abc"
        );
        assert!(out.join("manifest.json").is_file());
        assert!(write_dir(&out, &entries(), b"{}").is_err(), "non-empty dir");
    }

    /// A spooled entry is written byte for byte like the same bytes held in memory, to the
    /// tarball and to a directory.
    #[test]
    fn spooled_entries_give_the_same_bundle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big: Vec<u8> = (0..3 * crate::spool::THRESHOLD + 17)
            .map(|i| (i % 253) as u8)
            .collect();
        let mut spool = crate::spool::SpoolDir::new(dir.path()).spool(usize::MAX);
        for chunk in big.chunks(5000) {
            spool.write(chunk);
        }
        let spooled = spool.finish().expect("finish").content;
        assert!(spooled.bytes().is_none(), "in a file");
        let with = |data: Content| {
            let mut e = entries();
            e.push(Entry {
                path: "netlink/ipvs/dests.nl".into(),
                data,
            });
            e
        };
        let in_memory = with(Content::Bytes(big.clone()));
        let in_file = with(spooled);
        let a = write_tar_gz(Vec::new(), "r", &in_memory, b"{}").expect("tar");
        let b = write_tar_gz(Vec::new(), "r", &in_file, b"{}").expect("tar");
        assert!(a == b, "tarballs differ");
        // Twice from the same spool file: each write reads it from the start.
        let c = write_tar_gz(Vec::new(), "r", &in_file, b"{}").expect("tar");
        assert!(a == c, "second tarball differs");
        let out = dir.path().join("bundle");
        write_dir(&out, &in_file, b"{}").expect("write");
        assert!(fs::read(out.join("netlink/ipvs/dests.nl")).expect("read") == big);
    }
}
