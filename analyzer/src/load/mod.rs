//! Loading a bundle into memory: a `.tar.gz`/`.tgz`, a plain `.tar`, or an unpacked directory.
//! Nothing is ever extracted to disk.
//!
//! Bundles come from strangers, so the loader refuses absolute paths and `..`, never follows
//! links (symlinks, hardlinks, devices and fifos are skipped and recorded), and caps the size of
//! one entry, the total decompressed size and the number of entries.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use netsnap_bundle::{names, Artifact, FormatVersion, Manifest, Status, FORMAT_NAME};

use crate::error::{Error, Result};

pub mod pasted;

pub use pasted::PastedFile;

/// Caps applied while reading a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single entry, in bytes.
    pub max_entry_bytes: u64,
    /// Largest total of all entries' declared sizes, in bytes (decompressed), skipped ones too:
    /// their data has to be decompressed to get past it.
    pub max_total_bytes: u64,
    /// Most entries (files, directories, links...).
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: 256 << 20,
            max_total_bytes: 1 << 30,
            max_entries: 100_000,
        }
    }
}

/// An entry that was not loaded because it is not a regular file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// The entry's path as stored (relative to the bundle root once the layout is known).
    pub path: String,
    /// `symlink`, `hardlink`, `character device`, `block device`, `fifo`, `socket`, `sparse`
    /// or `other`.
    pub kind: &'static str,
}

/// A loaded bundle: its manifest and the bytes of every regular file, keyed by relative path.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    manifest: Manifest,
    files: BTreeMap<String, Vec<u8>>,
    skipped: Vec<SkippedEntry>,
    /// The `pasted/` files, decoded (empty for a collector's bundle).
    pasted: Vec<PastedFile>,
}

/// What a bundle says about one artifact path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Evidence<'a> {
    /// The content is in the bundle. `artifact` is its manifest record, when listed (a
    /// truncated or partial output is kept with a non-ok status).
    Present {
        bytes: &'a [u8],
        artifact: Option<&'a Artifact>,
    },
    /// The manifest says it was not collected, and why.
    NotCollected { artifact: &'a Artifact },
    /// The manifest says it was collected, but the file is not in the bundle (damaged bundle).
    Lost { artifact: &'a Artifact },
    /// Neither listed in the manifest nor present (e.g. a collector that predates it).
    Unlisted,
}

impl<'a> Evidence<'a> {
    /// The content, when present.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        match self {
            Evidence::Present { bytes, .. } => Some(bytes),
            _ => None,
        }
    }

    /// Why there is no content, as a phrase to follow "X ..." in a message, or `None` when the
    /// content is present.
    pub fn absence(&self) -> Option<Absence<'a>> {
        match *self {
            Evidence::Present { .. } => None,
            Evidence::NotCollected { artifact } => Some(Absence::NotCollected {
                status: artifact.status,
                reason: artifact.reason.as_deref(),
            }),
            Evidence::Lost { .. } => Some(Absence::Lost),
            Evidence::Unlisted => Some(Absence::Unlisted),
        }
    }
}

/// Why an artifact has no content; `Display` gives a user-facing phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absence<'a> {
    NotCollected {
        status: Status,
        reason: Option<&'a str>,
    },
    Lost,
    Unlisted,
}

impl fmt::Display for Absence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Absence::NotCollected { status, reason } => {
                write!(f, "was not collected ({}", status.as_str())?;
                if let Some(reason) = reason {
                    write!(f, ": {reason}")?;
                }
                f.write_str(")")
            }
            Absence::Lost => f.write_str("is listed as collected but missing from the bundle"),
            Absence::Unlisted => f.write_str("is not in the bundle and not in its manifest"),
        }
    }
}

impl Bundle {
    /// Opens a bundle with the default [`Limits`].
    pub fn open(path: impl AsRef<Path>) -> Result<Bundle> {
        Bundle::open_with_limits(path.as_ref(), Limits::default())
    }

    /// Opens a directory, a gzip-compressed tar or a plain tar; the kind is told from the
    /// content (gzip magic), not the file name.
    pub fn open_with_limits(path: &Path, limits: Limits) -> Result<Bundle> {
        let io_err = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io_err)?;
        if meta.is_dir() {
            return Bundle::from_dir(path, limits);
        }
        let mut file = BufReader::new(File::open(path).map_err(io_err)?);
        let mut magic = [0u8; 2];
        let n = read_up_to(&mut file, &mut magic).map_err(io_err)?;
        let head = io::Cursor::new(magic[..n].to_vec()).chain(file);
        if magic[..n] == [0x1f, 0x8b] {
            Bundle::from_tar(flate2::read::GzDecoder::new(head), path, limits)
        } else {
            Bundle::from_tar(head, path, limits)
        }
    }

    /// Reads a tar stream (already decompressed). `origin` names it in errors.
    pub fn from_tar(reader: impl Read, origin: &Path, limits: Limits) -> Result<Bundle> {
        let archive_err = |source| Error::Archive {
            path: origin.to_path_buf(),
            source,
        };
        let mut archive = tar::Archive::new(reader);
        let mut raw = RawBundle::new(limits);
        for entry in archive.entries().map_err(archive_err)? {
            let mut entry = entry.map_err(archive_err)?;
            let path = relative_path(&entry.path_bytes())?;
            let size = entry.size();
            raw.count_entry(size)?;
            let kind = entry.header().entry_type();
            if kind.is_dir() || kind.is_pax_global_extensions() {
                continue;
            }
            if let Some(skip) = skipped_kind(kind) {
                raw.skipped.push(SkippedEntry { path, kind: skip });
                continue;
            }
            raw.check_entry_size(&path, size)?;
            let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
            (&mut entry)
                .take(limits.max_entry_bytes + 1)
                .read_to_end(&mut data)
                .map_err(archive_err)?;
            raw.insert(path, data)?;
        }
        // Read to the end, so a damaged gzip trailer (CRC, length) is noticed even when the
        // tar's end marker came before it; what follows the archive counts against the cap.
        let left = limits.max_total_bytes.saturating_sub(raw.total);
        let trailing = io::copy(&mut archive.into_inner().take(left + 1), &mut io::sink())
            .map_err(archive_err)?;
        if trailing > left {
            return Err(Error::TooLarge {
                limit: limits.max_total_bytes,
            });
        }
        raw.finish()
    }

    /// Reads an unpacked bundle directory without following symlinks.
    pub fn from_dir(root: &Path, limits: Limits) -> Result<Bundle> {
        let mut raw = RawBundle::new(limits);
        let walk = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .max_depth(64);
        for entry in walk {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(root).to_path_buf();
                Error::Io {
                    path,
                    source: e.into(),
                }
            })?;
            if entry.depth() == 0 {
                continue;
            }
            let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
            let rel = rel.to_str().ok_or_else(|| Error::UnsafePath {
                path: rel.to_string_lossy().into_owned(),
                why: "not UTF-8",
            })?;
            let path = relative_path(rel.as_bytes())?;
            let ft = entry.file_type();
            let io_err = |source| Error::Io {
                path: entry.path().to_path_buf(),
                source,
            };
            let size = if ft.is_file() {
                entry.metadata().map_err(|e| io_err(e.into()))?.len()
            } else {
                0
            };
            raw.count_entry(size)?;
            if ft.is_dir() {
                continue;
            }
            if !ft.is_file() {
                raw.skipped.push(SkippedEntry {
                    path,
                    kind: dir_entry_kind(&ft),
                });
                continue;
            }
            raw.check_entry_size(&path, size)?;
            let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
            File::open(entry.path())
                .map_err(io_err)?
                .take(limits.max_entry_bytes + 1)
                .read_to_end(&mut data)
                .map_err(io_err)?;
            raw.insert(path, data)?;
        }
        raw.finish()
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The content stored at `path` (relative, `/`-separated), if any.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Every stored file path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Entries that were not loaded because they are not regular files.
    pub fn skipped(&self) -> &[SkippedEntry] {
        &self.skipped
    }

    /// The pasted files of an input that was loose text (or an import of it), decoded.
    pub fn pasted(&self) -> &[PastedFile] {
        &self.pasted
    }

    /// Writes the bundle as a gzip-compressed tar, `manifest.json` first, entries sorted,
    /// with fixed times and owners: the same bundle gives the same bytes.
    pub fn write_tar_gz(&self, out: impl io::Write) -> Result<()> {
        let output = |source| Error::Output { source };
        let manifest = serde_json::to_vec_pretty(&self.manifest).map_err(|e| Error::Output {
            source: io::Error::other(e),
        })?;
        let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let entries = std::iter::once((names::MANIFEST, manifest.as_slice())).chain(
            self.files
                .iter()
                .filter(|(p, _)| p.as_str() != names::MANIFEST)
                .map(|(p, d)| (p.as_str(), d.as_slice())),
        );
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(0);
            h.set_uid(0);
            h.set_gid(0);
            h.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut h, path, data).map_err(output)?;
        }
        tar.into_inner()
            .and_then(flate2::write::GzEncoder::finish)
            .and_then(|mut w| w.flush())
            .map_err(output)
    }

    /// Whether this input is pasted text rather than a collector's bundle.
    pub fn is_pasted(&self) -> bool {
        self.manifest.collector.name == pasted::IMPORTER
    }

    /// The content of `path` together with what the manifest says about it.
    pub fn evidence(&self, path: &str) -> Evidence<'_> {
        let artifact = self.manifest.artifact(path);
        match (self.file(path), artifact) {
            (Some(bytes), artifact) => Evidence::Present { bytes, artifact },
            (None, Some(a)) if a.status == Status::Ok => Evidence::Lost { artifact: a },
            (None, Some(a)) => Evidence::NotCollected { artifact: a },
            (None, None) => Evidence::Unlisted,
        }
    }
}

/// Files gathered so far and the running totals checked against the limits.
struct RawBundle {
    limits: Limits,
    files: BTreeMap<String, Vec<u8>>,
    skipped: Vec<SkippedEntry>,
    entries: usize,
    total: u64,
}

impl RawBundle {
    fn new(limits: Limits) -> Self {
        RawBundle {
            limits,
            files: BTreeMap::new(),
            skipped: Vec::new(),
            entries: 0,
            total: 0,
        }
    }

    fn count_entry(&mut self, size: u64) -> Result<()> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(Error::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        self.total = self.total.saturating_add(size);
        if self.total > self.limits.max_total_bytes {
            return Err(Error::TooLarge {
                limit: self.limits.max_total_bytes,
            });
        }
        Ok(())
    }

    fn check_entry_size(&self, path: &str, size: u64) -> Result<()> {
        if size > self.limits.max_entry_bytes {
            return Err(Error::EntryTooLarge {
                path: path.to_string(),
                size,
                limit: self.limits.max_entry_bytes,
            });
        }
        Ok(())
    }

    fn insert(&mut self, path: String, data: Vec<u8>) -> Result<()> {
        // A file may grow between stat and read, and a tar header may understate nothing
        // (tar reads exactly its size), so check what was actually read too.
        self.check_entry_size(&path, data.len() as u64)?;
        if self.files.contains_key(&path) {
            return Err(Error::DuplicateEntry { path });
        }
        self.files.insert(path, data);
        Ok(())
    }

    /// Finds the layout (files at the root, or all under one top-level directory), then reads
    /// and checks the manifest.
    fn finish(mut self) -> Result<Bundle> {
        if !self.files.contains_key(names::MANIFEST) {
            // Not a bundle: loose text someone pasted (a folder or a tar of it). A manifest
            // somewhere else means a bundle in an odd layout, which must not pass for text.
            let Some(prefix) = single_top_dir(&self.files, &self.skipped) else {
                if self
                    .files
                    .keys()
                    .any(|p| p.rsplit('/').next() == Some(names::MANIFEST))
                {
                    return Err(Error::MissingManifest);
                }
                let (manifest, files, pasted) = pasted::build(self.files)?;
                return Ok(Bundle {
                    manifest,
                    files,
                    skipped: self.skipped,
                    pasted,
                });
            };
            let strip = |p: &str| p[prefix.len() + 1..].to_string();
            self.files = std::mem::take(&mut self.files)
                .into_iter()
                .map(|(p, d)| (strip(&p), d))
                .collect();
            for s in &mut self.skipped {
                s.path = strip(&s.path);
            }
        }
        let text = self
            .files
            .get(names::MANIFEST)
            .ok_or(Error::MissingManifest)?;
        let manifest = parse_manifest(text)?;
        let pasted = pasted::decode_pasted(&self.files);
        Ok(Bundle {
            manifest,
            files: self.files,
            skipped: self.skipped,
            pasted,
        })
    }
}

/// The one directory every entry sits under, if it holds `manifest.json`.
fn single_top_dir(files: &BTreeMap<String, Vec<u8>>, skipped: &[SkippedEntry]) -> Option<String> {
    let mut all = files
        .keys()
        .map(String::as_str)
        .chain(skipped.iter().map(|s| s.path.as_str()));
    let first = all.next()?;
    let (top, _) = first.split_once('/')?;
    let under =
        |p: &str| p.len() > top.len() + 1 && p.starts_with(top) && p.as_bytes()[top.len()] == b'/';
    if !under(first) || !all.all(under) {
        return None;
    }
    files
        .contains_key(&format!("{top}/{}", names::MANIFEST))
        .then(|| top.to_string())
}

/// Checks the version before anything else, so a newer major version gets the "upgrade"
/// message rather than a confusing error about a field it renamed.
pub fn parse_manifest(text: &[u8]) -> Result<Manifest> {
    #[derive(serde::Deserialize)]
    struct Head {
        format: String,
        format_version: FormatVersion,
    }
    let head: Head = serde_json::from_slice(text).map_err(|source| Error::Manifest { source })?;
    if head.format != FORMAT_NAME {
        return Err(Error::WrongFormat {
            found: head.format.chars().take(64).collect(),
            expected: FORMAT_NAME,
        });
    }
    head.format_version.check_readable()?;
    serde_json::from_slice(text).map_err(|source| Error::Manifest { source })
}

/// A safe relative `/`-separated path: no absolute paths, no `..`, `.` and empty components
/// dropped.
fn relative_path(raw: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(raw).map_err(|_| Error::UnsafePath {
        path: String::from_utf8_lossy(raw).into_owned(),
        why: "not UTF-8",
    })?;
    let unsafe_path = |why| Error::UnsafePath {
        path: text.chars().take(256).collect(),
        why,
    };
    if text.starts_with('/') || text.starts_with('\\') {
        return Err(unsafe_path("absolute path"));
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_path("parent directory component")),
            p if p.contains('\0') => return Err(unsafe_path("NUL in path")),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(unsafe_path("empty path"));
    }
    Ok(parts.join("/"))
}

fn skipped_kind(kind: tar::EntryType) -> Option<&'static str> {
    Some(match kind {
        k if k.is_file() || k.is_contiguous() => return None,
        k if k.is_symlink() => "symlink",
        k if k.is_hard_link() => "hardlink",
        k if k.is_character_special() => "character device",
        k if k.is_block_special() => "block device",
        k if k.is_fifo() => "fifo",
        k if k.is_gnu_sparse() => "sparse",
        _ => "other",
    })
}

fn dir_entry_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else {
        "other"
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
