//! Artifact contents that may be large: kept in memory up to [`THRESHOLD`], then streamed to an
//! unnamed temporary file next to the output through a bounded buffer, with the SHA-256 for the
//! manifest computed as the bytes pass. So the collector's memory does not grow with the node's
//! IPVS table (100,000 destinations are a 36 MB dump) or a cluster's object lists.
//!
//! The file goes next to the output, not to /tmp: a node's /tmp may be a small tmpfs, and the
//! bundle needs the room next to the output anyway. It is created with `O_TMPFILE` (no name, so
//! nothing is left behind by an error, a deadline or a kill); where the file system lacks that,
//! a `.partial` file is created and unlinked at once, which leaves the same unnamed file. If no
//! file can be created at all, the content stays in memory (still capped): the bundle is
//! complete, only larger in memory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// Content up to this size stays in memory.
pub const THRESHOLD: usize = 1 << 20;
/// The write buffer in front of a spool file.
const BUF: usize = 1 << 20;

/// Where spool files go: the directory of the output (`None`: keep everything in memory).
#[derive(Debug, Clone, Default)]
pub struct SpoolDir(Option<Arc<PathBuf>>);

impl SpoolDir {
    pub fn new(dir: impl Into<PathBuf>) -> SpoolDir {
        SpoolDir(Some(Arc::new(dir.into())))
    }

    /// No spooling: contents stay in memory.
    pub fn memory() -> SpoolDir {
        SpoolDir(None)
    }

    /// The directory that will hold the output `path` (a tarball or a bundle directory).
    pub fn beside(path: &Path) -> SpoolDir {
        match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => SpoolDir::new(p),
            _ => SpoolDir::new("."),
        }
    }

    /// A spool keeping at most `cap` bytes.
    pub fn spool(&self, cap: usize) -> Spool {
        Spool {
            dir: self.0.clone(),
            cap,
            hasher: Sha256::new(),
            mem: Vec::new(),
            file: None,
            linkable: false,
            len: 0,
            truncated: false,
            error: None,
        }
    }

    /// `data` (already hashed by the caller) moved to a spool file when it is larger than
    /// [`THRESHOLD`], so several large artifacts are not all held until the bundle is written.
    pub fn settle(&self, data: Vec<u8>) -> Content {
        let Some(dir) = self.0.as_deref().filter(|_| data.len() > THRESHOLD) else {
            return Content::Bytes(data);
        };
        let moved = create(dir).and_then(|(mut f, linkable)| {
            f.write_all(&data)?;
            Ok((f, linkable))
        });
        match moved {
            Ok((file, linkable)) => Content::File(Arc::new(SpoolFile {
                file,
                len: data.len() as u64,
                linkable,
            })),
            Err(_) => Content::Bytes(data),
        }
    }
}

/// An unnamed temporary file in `dir`, and whether it can be given a name (`O_TMPFILE`).
fn create(dir: &Path) -> io::Result<(File, bool)> {
    // The mode of a bundle file written by `fs::write` (umask applies), as this one may
    // become a bundle file itself.
    let unnamed = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o666)
        .custom_flags(libc::O_TMPFILE)
        .open(dir);
    match unnamed {
        Ok(f) => Ok((f, true)),
        // Kernels before 3.11 and some file systems: EISDIR, EOPNOTSUPP or EINVAL.
        Err(_) => Ok((create_named(dir)?, false)),
    }
}

/// The fallback: a `.partial` file, unlinked while open, so it lives as long as the descriptor
/// and never outlives the process, however the run ends.
fn create_named(dir: &Path) -> io::Result<File> {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        ".netsnap-spool-{}-{}.partial",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let path = dir.join(name);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    fs::remove_file(&path)?;
    Ok(f)
}

/// A finished artifact's bytes: in memory, or in a spool file.
#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    File(Arc<SpoolFile>),
}

#[derive(Debug)]
pub struct SpoolFile {
    file: File,
    len: u64,
    /// Made with `O_TMPFILE`: a bundle directory on the same file system can take the file
    /// itself instead of a copy.
    linkable: bool,
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::File(f) => f.len,
        }
    }

    /// The bytes when they are in memory.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Content::Bytes(b) => Some(b),
            Content::File(_) => None,
        }
    }

    /// Every byte, from the start (one reader at a time for a file: they share its offset).
    pub fn reader(&self) -> io::Result<Box<dyn Read + '_>> {
        match self {
            Content::Bytes(b) => Ok(Box::new(b.as_slice())),
            Content::File(f) => {
                let mut file = &f.file;
                file.seek(SeekFrom::Start(0))?;
                Ok(Box::new(file.take(f.len)))
            }
        }
    }

    /// Writes the content to a new file at `path`: a spool file is given that name when it can
    /// be (same file system, `O_TMPFILE`), else the kernel copies its pages.
    pub fn write_to(&self, path: &Path) -> io::Result<()> {
        match self {
            Content::Bytes(b) => fs::write(path, b),
            Content::File(f) => {
                if f.linkable && crate::sys::link_unnamed(f.file.as_raw_fd(), path).is_ok() {
                    return Ok(());
                }
                let mut out = File::create(path)?;
                let mut file = &f.file;
                file.seek(SeekFrom::Start(0))?;
                let copied = io::copy(&mut file.take(f.len), &mut out)?;
                if copied != f.len {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "a spool file is shorter than what was written to it",
                    ));
                }
                Ok(())
            }
        }
    }
}

/// A finished spool: the content, its SHA-256, and whether bytes past the cap were dropped.
#[derive(Debug, Clone)]
pub struct Spooled {
    pub content: Content,
    pub sha256: [u8; 32],
    pub truncated: bool,
}

impl Spooled {
    pub fn sha256_hex(&self) -> String {
        self.sha256.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Bytes as they are produced: hashed, kept up to the cap, moved to a file past the threshold.
pub struct Spool {
    dir: Option<Arc<PathBuf>>,
    cap: usize,
    hasher: Sha256,
    /// The content while it is in memory.
    mem: Vec<u8>,
    file: Option<BufWriter<File>>,
    linkable: bool,
    /// Bytes kept.
    len: usize,
    truncated: bool,
    /// The first failed write to the spool file; the content is then unusable.
    error: Option<io::Error>,
}

impl Spool {
    /// Keeps what fits under the cap; the rest is dropped and marks the content truncated.
    pub fn write(&mut self, data: &[u8]) {
        let room = self.cap - self.len;
        if data.len() > room {
            self.truncated = true;
        }
        let data = &data[..data.len().min(room)];
        if data.is_empty() {
            return;
        }
        self.hasher.update(data);
        self.len += data.len();
        if self.error.is_some() {
            return;
        }
        if self.file.is_none() && self.mem.len() + data.len() > THRESHOLD {
            self.spill();
        }
        match &mut self.file {
            Some(w) => {
                if let Err(e) = w.write_all(data) {
                    self.error = Some(e);
                }
            }
            None => self.mem.extend_from_slice(data),
        }
    }

    /// Moves the in-memory bytes to a new spool file; without one, keeps them in memory.
    fn spill(&mut self) {
        let Some(dir) = &self.dir else { return };
        let Ok((file, linkable)) = create(dir) else {
            return;
        };
        self.linkable = linkable;
        let mut w = BufWriter::with_capacity(BUF, file);
        match w.get_mut().write_all(&self.mem) {
            Ok(()) => {
                self.mem = Vec::new();
                self.file = Some(w);
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Bytes offered past the cap were dropped: reading more is pointless.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Bytes kept so far.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The content and its hash; an error when the spool file could not be written.
    pub fn finish(self) -> io::Result<Spooled> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let sha256 = self.hasher.finalize().into();
        let content = match self.file {
            None => Content::Bytes(self.mem),
            Some(w) => {
                let file = w.into_inner().map_err(|e| e.into_error())?;
                Content::File(Arc::new(SpoolFile {
                    file,
                    len: self.len as u64,
                    linkable: self.linkable,
                }))
            }
        };
        Ok(Spooled {
            content,
            sha256,
            truncated: self.truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(c: &Content) -> Vec<u8> {
        let mut out = Vec::new();
        c.reader()
            .expect("reader")
            .read_to_end(&mut out)
            .expect("read");
        out
    }

    fn files_in(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .expect("read_dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Bytes with no period of a chunk size, so a chunk written twice or skipped shows.
    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn small_content_stays_in_memory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = SpoolDir::new(dir.path()).spool(1 << 30);
        s.write(b"abc");
        s.write(b"d");
        let done = s.finish().expect("finish");
        assert_eq!(done.content.bytes(), Some(&b"abcd"[..]));
        assert!(!done.truncated);
        // sha256("abcd")
        assert_eq!(
            done.sha256_hex(),
            "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
        );
    }

    #[test]
    fn crossing_the_threshold_moves_to_an_unnamed_file_with_the_same_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let all = data(3 * THRESHOLD + 12_345);
        let mut s = SpoolDir::new(dir.path()).spool(usize::MAX);
        // Uneven pieces, one of them larger than the write buffer.
        let mut rest = &all[..];
        for n in [1, THRESHOLD - 1, 1, 7_000, BUF + 3, 1] {
            let (a, b) = rest.split_at(n);
            s.write(a);
            rest = b;
        }
        s.write(rest);
        assert_eq!(s.len(), all.len());
        let done = s.finish().expect("finish");
        assert!(matches!(done.content, Content::File(_)));
        assert!(done.content.bytes().is_none());
        assert_eq!(done.content.len(), all.len() as u64);
        assert_eq!(done.sha256, <[u8; 32]>::from(Sha256::digest(&all)));
        assert!(read_all(&done.content) == all, "content differs");
        // Read twice: every reader starts at the beginning.
        assert!(read_all(&done.content) == all, "second read differs");
        let copy = dir.path().join("copy");
        done.content.write_to(&copy).expect("write_to");
        assert!(fs::read(&copy).expect("read copy") == all);
        fs::remove_file(&copy).expect("rm");
        assert!(
            files_in(dir.path()).is_empty(),
            "{:?}",
            files_in(dir.path())
        );
    }

    #[test]
    fn the_cap_cuts_and_marks_truncated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let all = data(2 * THRESHOLD);
        let cap = THRESHOLD + 100;
        let mut s = SpoolDir::new(dir.path()).spool(cap);
        for chunk in all.chunks(4096) {
            s.write(chunk);
            if s.truncated() {
                break;
            }
        }
        assert!(s.truncated());
        assert_eq!(s.len(), cap);
        let done = s.finish().expect("finish");
        assert!(done.truncated);
        assert_eq!(done.content.len(), cap as u64);
        assert!(read_all(&done.content) == all[..cap]);
        assert_eq!(done.sha256, <[u8; 32]>::from(Sha256::digest(&all[..cap])));
        // Exactly at the cap is not truncated.
        let mut s = SpoolDir::memory().spool(4);
        s.write(b"abcd");
        assert!(!s.truncated());
        s.write(b"");
        assert!(!s.truncated());
        s.write(b"e");
        assert!(s.truncated());
        assert_eq!(
            s.finish().expect("finish").content.bytes(),
            Some(&b"abcd"[..])
        );
    }

    #[test]
    fn no_file_is_left_behind_on_success_or_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = SpoolDir::new(dir.path());
        // Dropped before finishing (a failed read, an abandoned probe).
        let mut s = spool.spool(usize::MAX);
        s.write(&data(2 * THRESHOLD));
        assert!(s.file.is_some(), "spilled to a file");
        assert!(files_in(dir.path()).is_empty());
        drop(s);
        // Finished, then dropped after use.
        let mut s = spool.spool(usize::MAX);
        s.write(&data(2 * THRESHOLD));
        let done = s.finish().expect("finish");
        assert!(files_in(dir.path()).is_empty());
        drop(done);
        let settled = spool.settle(data(THRESHOLD + 1));
        assert!(matches!(settled, Content::File(_)));
        assert_eq!(read_all(&settled), data(THRESHOLD + 1));
        assert!(files_in(dir.path()).is_empty());
        assert!(matches!(spool.settle(data(10)), Content::Bytes(_)));
    }

    #[test]
    fn the_named_fallback_is_unlinked_at_once() {
        // A directory where O_TMPFILE is refused is hard to come by: the fallback is called
        // directly. Its file must be usable and nameless.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut f = create_named(dir.path()).expect("create");
        assert!(files_in(dir.path()).is_empty());
        f.write_all(b"still here").expect("write");
        f.seek(SeekFrom::Start(0)).expect("seek");
        let mut back = String::new();
        f.read_to_string(&mut back).expect("read");
        assert_eq!(back, "still here");
        assert!(create_named(Path::new("/nonexistent/netsnap-spool")).is_err());
    }

    #[test]
    fn without_a_usable_directory_content_stays_in_memory() {
        let mut s = SpoolDir::new("/nonexistent/netsnap-spool").spool(usize::MAX);
        let all = data(THRESHOLD + 10);
        s.write(&all);
        let done = s.finish().expect("finish");
        assert_eq!(done.content.bytes(), Some(&all[..]));
        assert_eq!(done.sha256, <[u8; 32]>::from(Sha256::digest(&all)));
    }

    /// A bundle directory takes an `O_TMPFILE` spool file itself (a link, no copy); a file
    /// that cannot be linked (the `.partial` fallback) is copied. Either way the same bytes.
    #[test]
    fn write_to_links_or_copies() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let all = data(2 * THRESHOLD + 5);
        let mut s = SpoolDir::new(dir.path()).spool(usize::MAX);
        s.write(&all);
        let done = s.finish().expect("finish");
        let Content::File(f) = &done.content else {
            panic!("not spooled to a file");
        };
        let linked = dir.path().join("linked");
        done.content.write_to(&linked).expect("write_to");
        assert!(fs::read(&linked).expect("read") == all);
        let spool_ino = f.file.metadata().expect("fstat").ino();
        assert_eq!(fs::metadata(&linked).expect("stat").ino(), spool_ino);

        let mut named = create_named(dir.path()).expect("create");
        named.write_all(&all).expect("write");
        let content = Content::File(Arc::new(SpoolFile {
            file: named,
            len: all.len() as u64,
            linkable: false,
        }));
        let copied = dir.path().join("copied");
        content.write_to(&copied).expect("write_to");
        assert!(fs::read(&copied).expect("read") == all);
        let mut names = files_in(dir.path());
        names.sort();
        assert_eq!(names, ["copied", "linked"]);
    }
}
