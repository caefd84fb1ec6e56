//! The collection run: the order of the probes, the global deadline, a budget per probe, the
//! size cap per artifact, and the status of every artifact.
//!
//! Each probe runs on its own thread and reports artifacts to a [`Ctx`] as it goes. The main
//! thread waits for it until the probe's deadline; a probe that overstays is abandoned (its
//! thread may linger until the process exits) and whatever it had not reported is recorded as
//! `timeout`. So no probe — a hung netlink read, a stuck `kubectl` — can cost the bundle.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use netsnap_bundle::{Artifact, CollectorInfo, Manifest, Source, Status};
use sha2::{Digest, Sha256};

use crate::archive::{self, Entry};
use crate::probe::{self, commands, files, kubectl};
use crate::spool::{Content, SpoolDir, Spooled};
use crate::{clock, host, msg};

/// Where the bundle goes.
#[derive(Debug, Clone)]
pub enum Output {
    TarGz(PathBuf),
    Dir(PathBuf),
}

/// The validated options of a run.
#[derive(Debug, Clone)]
pub struct Config {
    pub output: Output,
    pub deadline: Duration,
    pub kubectl: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub quiet: bool,
    pub only: Selection,
}

/// The probes `--only` can name, in the order they run.
pub const PROBES: &[&str] = &[
    "procfs",
    "rtnetlink",
    "genl",
    "ipvs",
    "sysctl",
    "files",
    "kmsg",
    "commands",
    "kubectl",
];

/// Which probes run: all of them, or those named with `--only`. Naming `ipvs` selects `genl`
/// too, because the IPVS family id is taken from the family dump (a lookup by name would load
/// ip_vs). Leaving out `procfs` is safe: without module facts every gate that needs a module
/// sees it as absent and skips.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection(Option<Vec<&'static str>>);

impl Selection {
    /// From `--only` names; `None` when a name is not in [`PROBES`].
    pub fn only<S: AsRef<str>>(names: &[S]) -> Option<Selection> {
        let mut chosen = Vec::new();
        for n in names {
            let name = PROBES.iter().find(|p| **p == n.as_ref())?;
            chosen.push(*name);
            if *name == "ipvs" {
                chosen.push("genl");
            }
        }
        // Kept in run order, each once, so the manifest records it the same way every time.
        Some(Selection(Some(
            PROBES
                .iter()
                .copied()
                .filter(|p| chosen.contains(p))
                .collect(),
        )))
    }

    pub fn runs(&self, probe: &str) -> bool {
        self.0.as_ref().is_none_or(|s| s.contains(&probe))
    }

    /// The selected probes, when `--only` was given.
    pub fn names(&self) -> Option<&[&'static str]> {
        self.0.as_deref()
    }
}

/// Budgets per probe (each also bounded by the global deadline).
pub mod budget {
    use std::time::Duration;
    pub const PROCFS: Duration = Duration::from_secs(5);
    pub const NETLINK: Duration = Duration::from_secs(10);
    /// IPVS needs one destination dump per virtual service: 100,000 destinations took 4 s on an
    /// idle VM and over 10 s on a loaded one (tests/vm/bench/README.md), and a cut-off loses
    /// the destination dump, so it gets more room than the other netlink reads.
    pub const IPVS: Duration = Duration::from_secs(30);
    pub const SYSCTL: Duration = Duration::from_secs(5);
    pub const FILES: Duration = Duration::from_secs(5);
    pub const KMSG: Duration = Duration::from_secs(3);
    pub const COMMAND: Duration = Duration::from_secs(10);
    pub const KUBECTL_CHECK: Duration = Duration::from_secs(6);
    pub const KUBECTL: Duration = Duration::from_secs(15);
}

/// Size caps per artifact: evidence beyond them is cut and marked `truncated`.
pub mod cap {
    pub const NETLINK: usize = 64 << 20;
    pub const FILE: usize = 1 << 20;
    pub const KERNEL_CONFIG: usize = 4 << 20;
    pub const MODULES_BUILTIN: usize = 4 << 20;
    pub const TEXT: usize = 4 << 20;
    pub const KMSG: usize = 1 << 20;
    pub const COMMAND: usize = 64 << 20;
    pub const STDERR: usize = 2048;
    pub const KUBECTL: usize = 64 << 20;
    pub const LOGS: usize = 8 << 20;
}

/// One artifact as a probe reports it: its manifest record and, when stored, its content.
#[derive(Debug, Clone)]
pub struct Record {
    pub artifact: Artifact,
    pub content: Option<Content>,
}

fn elapsed_ms(started: Instant) -> u64 {
    started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64
}

impl Record {
    /// Stored content, cut at `cap` bytes.
    pub fn stored(
        path: impl Into<String>,
        source: Source,
        mut data: Vec<u8>,
        cap: usize,
        started: Instant,
    ) -> Record {
        let truncated = data.len() > cap;
        data.truncate(cap);
        let sha = Sha256::digest(&data);
        let sha256: String = sha.iter().map(|b| format!("{b:02x}")).collect();
        Record {
            artifact: Artifact {
                path: path.into(),
                source,
                status: Status::Ok,
                reason: None,
                bytes: data.len() as u64,
                sha256: Some(sha256),
                duration_ms: elapsed_ms(started),
                truncated,
                exit_code: None,
                stderr: None,
            },
            content: Some(Content::Bytes(data)),
        }
    }

    /// Stored content from a [`Spool`](crate::spool::Spool), already capped and hashed.
    pub fn spooled(
        path: impl Into<String>,
        source: Source,
        spooled: Spooled,
        started: Instant,
    ) -> Record {
        Record {
            artifact: Artifact {
                path: path.into(),
                source,
                status: Status::Ok,
                reason: None,
                bytes: spooled.content.len(),
                sha256: Some(spooled.sha256_hex()),
                duration_ms: elapsed_ms(started),
                truncated: spooled.truncated,
                exit_code: None,
                stderr: None,
            },
            content: Some(spooled.content),
        }
    }

    /// The stored bytes, when they are in memory (small contents always are).
    pub fn data(&self) -> Option<&[u8]> {
        self.content.as_ref().and_then(Content::bytes)
    }

    /// Nothing stored: `status` with a reason.
    pub fn missing(
        path: impl Into<String>,
        source: Source,
        status: Status,
        reason: impl Into<String>,
        started: Instant,
    ) -> Record {
        Record {
            artifact: Artifact {
                path: path.into(),
                source,
                status,
                reason: Some(reason.into()),
                bytes: 0,
                sha256: None,
                duration_ms: elapsed_ms(started),
                truncated: false,
                exit_code: None,
                stderr: None,
            },
            content: None,
        }
    }

    pub fn with_status(mut self, status: Status) -> Record {
        self.artifact.status = status;
        self
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Record {
        self.artifact.reason = Some(reason.into());
        self
    }

    pub fn truncated(mut self) -> Record {
        self.artifact.truncated = true;
        self
    }
}

type Records = Arc<Mutex<BTreeMap<String, Record>>>;
type Pending = Arc<Mutex<BTreeMap<String, (Source, Instant)>>>;

/// What a probe sees: its deadline and where to report artifacts.
#[derive(Clone)]
pub struct Ctx {
    pub deadline: Instant,
    spool: SpoolDir,
    records: Records,
    pending: Pending,
    abandoned: Arc<AtomicBool>,
}

impl Ctx {
    /// Announces an artifact before slow work, so it is recorded as `timeout` if the probe is
    /// abandoned before reporting it.
    pub fn begin(&self, path: &str, source: &Source) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path.to_string(), (source.clone(), Instant::now()));
    }

    /// Where a probe streams an artifact that may be large.
    pub fn spool(&self, cap: usize) -> crate::spool::Spool {
        self.spool.spool(cap)
    }

    pub fn put(&self, mut record: Record) {
        if self.abandoned.load(Ordering::SeqCst) {
            return;
        }
        // A large artifact read whole goes to a spool file now, so the probes' large
        // artifacts are not all in memory together until the bundle is written.
        if let Some(Content::Bytes(data)) = &mut record.content {
            record.content = Some(self.spool.settle(std::mem::take(data)));
        }
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&record.artifact.path);
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(record.artifact.path.clone(), record);
    }

    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

/// Runs probes one after another under the global deadline.
struct Runner {
    /// Probes must be done by then; the rest of the deadline is kept for writing the bundle.
    probes_end: Instant,
    spool: SpoolDir,
    records: Records,
    quiet: bool,
}

impl Runner {
    fn progress(&self, line: &str) {
        if !self.quiet {
            eprintln!("netsnap-collect: {line}");
        }
    }

    /// Runs `f` on its own thread with `budget`, reporting into the shared records. `planned`
    /// artifacts are announced up front, so they get a `timeout` record if the probe overstays.
    fn run<T: Send + 'static>(
        &self,
        name: &str,
        budget: Duration,
        planned: Vec<(String, Source)>,
        f: impl FnOnce(&Ctx) -> T + Send + 'static,
    ) -> Option<T> {
        let now = Instant::now();
        let deadline = (now + budget).min(self.probes_end);
        let ctx = Ctx {
            deadline,
            spool: self.spool.clone(),
            records: Arc::clone(&self.records),
            pending: Arc::new(Mutex::new(BTreeMap::new())),
            abandoned: Arc::new(AtomicBool::new(false)),
        };
        for (path, source) in &planned {
            ctx.begin(path, source);
        }
        if now >= self.probes_end {
            self.abandon(&ctx, msg::GLOBAL_DEADLINE_BEFORE);
            self.progress(&format!("{name}: not run, global deadline reached"));
            return None;
        }
        self.progress(&format!("{name}..."));
        let (tx, rx) = mpsc::channel();
        let thread_ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let _ = tx.send(f(&thread_ctx));
            });
        if let Err(e) = spawned {
            self.abandon(&ctx, &format!("{}: {e}", msg::THREAD_FAILED));
            return None;
        }
        // Probes that run commands kill them at `deadline` themselves; the grace lets them
        // report that before being abandoned.
        let wait_until = deadline + Duration::from_millis(300);
        let result = rx.recv_timeout(wait_until.saturating_duration_since(Instant::now()));
        match result {
            Ok(value) => {
                // Anything announced but never reported is a probe bug; keep it visible.
                self.settle(&ctx, Status::Error, msg::NOT_REPORTED);
                self.progress(&format!("{name}: done in {} ms", elapsed_ms(now)));
                Some(value)
            }
            Err(_) => {
                let reason = if deadline >= self.probes_end {
                    msg::GLOBAL_DEADLINE.to_string()
                } else {
                    msg::budget_exceeded(name, budget)
                };
                self.abandon(&ctx, &reason);
                self.progress(&format!("{name}: {reason}"));
                None
            }
        }
    }

    /// Records `planned` as `skipped` because `--only` left their probe out.
    fn not_selected(&self, planned: Vec<(String, Source)>) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        for (path, source) in planned {
            let r = Record::missing(
                &path,
                source,
                Status::Skipped,
                msg::NOT_SELECTED,
                Instant::now(),
            );
            records.insert(path, r);
        }
    }

    fn abandon(&self, ctx: &Ctx, reason: &str) {
        ctx.abandoned.store(true, Ordering::SeqCst);
        self.settle(ctx, Status::Timeout, reason);
    }

    fn settle(&self, ctx: &Ctx, status: Status, reason: &str) {
        let pending =
            std::mem::take(&mut *ctx.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        for (path, (source, started)) in pending {
            records
                .entry(path.clone())
                .or_insert_with(|| Record::missing(path, source, status, reason, started));
        }
    }
}

/// Safe characters for the default file name and the top-level directory.
fn name_part(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('.').to_string();
    if cleaned.is_empty() {
        "unknown".to_string()
    } else {
        cleaned
    }
}

/// `netsnap-<hostname>-<stamp>`: the default output name (plus `.tar.gz`) and the top-level
/// directory inside the tarball.
pub fn bundle_name(hostname: &str, started: SystemTime) -> String {
    format!("netsnap-{}-{}", name_part(hostname), clock::stamp(started))
}

/// Collects everything and writes the bundle. Errors only when no bundle could be written.
pub fn run(config: &Config, started: SystemTime) -> anyhow::Result<PathBuf> {
    let t0 = Instant::now();
    let reserve = (config.deadline / 5).min(Duration::from_secs(1));
    let spool = match &config.output {
        Output::TarGz(path) | Output::Dir(path) => SpoolDir::beside(path),
    };
    let runner = Runner {
        probes_end: t0 + config.deadline.saturating_sub(reserve),
        spool,
        records: Arc::new(Mutex::new(BTreeMap::new())),
        quiet: config.quiet,
    };
    let host = host::info();
    let release = host.info.kernel_release.clone();

    let only = &config.only;
    let modules = if only.runs("procfs") {
        runner
            .run(
                "procfs",
                budget::PROCFS,
                probe::procfs::planned(),
                move |ctx| probe::procfs::probe(ctx, &release),
            )
            .unwrap_or_default()
    } else {
        runner.not_selected(probe::procfs::planned());
        probe::procfs::ModuleFacts::default()
    };
    let links = if only.runs("rtnetlink") {
        runner
            .run(
                "rtnetlink",
                budget::NETLINK,
                probe::rtnl::planned(),
                probe::rtnl::probe,
            )
            .unwrap_or_default()
    } else {
        runner.not_selected(probe::rtnl::planned());
        probe::rtnl::LinkFacts::default()
    };
    let families = if only.runs("genl") {
        runner
            .run(
                "genl",
                budget::NETLINK,
                probe::genl::planned(),
                probe::genl::probe,
            )
            .flatten()
    } else {
        runner.not_selected(probe::genl::planned());
        None
    };
    if only.runs("ipvs") {
        let modules = modules.clone();
        runner.run("ipvs", budget::IPVS, probe::ipvs::planned(), move |ctx| {
            probe::ipvs::probe(ctx, &modules, families.as_deref())
        });
    } else {
        runner.not_selected(probe::ipvs::planned());
    }
    if only.runs("sysctl") {
        runner.run(
            "sysctl",
            budget::SYSCTL,
            probe::sysctl::planned(),
            probe::sysctl::probe,
        );
    } else {
        runner.not_selected(probe::sysctl::planned());
    }
    if only.runs("files") {
        runner.run("files", budget::FILES, Vec::new(), probe::files::probe);
    } else {
        runner.not_selected(files_planned());
    }
    if only.runs("kmsg") {
        runner.run(
            "kmsg",
            budget::KMSG,
            probe::kmsg::planned(),
            probe::kmsg::probe,
        );
    } else {
        runner.not_selected(probe::kmsg::planned());
    }

    if only.runs("commands") {
        for spec in commands::plan(&modules, &links, &commands::which) {
            let planned = vec![(spec.artifact.clone(), spec.source())];
            runner.run(&spec.label(), budget::COMMAND, planned, move |ctx| {
                commands::probe(ctx, &spec)
            });
        }
    } else {
        // Without looking anything up: the names are fixed, only ethtool's follow the links.
        let planned = commands::plan(&modules, &links, &|_| None)
            .into_iter()
            .map(|spec| (spec.artifact.clone(), spec.source()))
            .collect();
        runner.not_selected(planned);
    }

    let k = kubectl::Setup::new(config.kubectl.as_deref(), config.kubeconfig.as_deref());
    if !only.runs("kubectl") {
        let mut planned = kubectl::check_planned();
        planned.extend(kubectl::items().into_iter().map(|item| {
            let source = k.source(&item);
            (item.artifact(), source)
        }));
        runner.not_selected(planned);
    } else {
        let access = {
            let k = k.clone();
            match runner.run(
                "kubectl",
                budget::KUBECTL_CHECK,
                kubectl::check_planned(),
                move |ctx| k.check(ctx),
            ) {
                Some(result) => result,
                None => Err(msg::KUBECTL_CHECK_TIMEOUT.to_string()),
            }
        };
        for item in kubectl::items() {
            let planned = vec![(item.artifact(), k.source(&item))];
            match &access {
                Ok(access) => {
                    let k = k.clone();
                    let access = access.clone();
                    runner.run(&item.artifact(), budget::KUBECTL, planned, move |ctx| {
                        k.probe(ctx, &item, &access)
                    });
                }
                Err(reason) => {
                    let mut records = runner
                        .records
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    for (path, source) in planned {
                        let r =
                            Record::missing(&path, source, Status::Skipped, reason, Instant::now());
                        records.insert(path, r);
                    }
                }
            }
        }
    }

    let records = std::mem::take(
        &mut *runner
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    let mut manifest = Manifest::new(
        CollectorInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        host.info.clone(),
        clock::rfc3339(started),
    );
    manifest.euid = Some(host.euid);
    manifest.options = options(config);
    let mut entries = Vec::new();
    for (_, record) in records {
        if let Some(data) = record.content {
            entries.push(Entry {
                path: record.artifact.path.clone(),
                data,
            });
        }
        manifest.artifacts.push(record.artifact);
    }
    manifest.artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    manifest.finished_at = clock::rfc3339(SystemTime::now());
    let mut json = serde_json::to_vec_pretty(&manifest)?;
    json.push(b'\n');

    let name = bundle_name(&host.info.hostname, started);
    let written = match &config.output {
        Output::TarGz(path) => {
            archive::write_tar_gz_file(path, &name, &entries, &json)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            path.clone()
        }
        Output::Dir(dir) => {
            archive::write_dir(dir, &entries, &json)
                .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
            dir.clone()
        }
    };
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &manifest.artifacts {
        *counts.entry(a.status.as_str()).or_default() += 1;
    }
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    runner.progress(&format!(
        "wrote {} ({}) in {} ms",
        written.display(),
        summary.join(", "),
        elapsed_ms(t0)
    ));
    Ok(written)
}

/// What the files probe would read, named without touching the file system: each directory's
/// listing and each single file (a directory's files are only known by reading it).
fn files_planned() -> Vec<(String, Source)> {
    let dirs = files::DIRS.iter().map(|d| {
        (
            netsnap_bundle::names::listing_artifact(d),
            Source::File {
                path: (*d).to_string(),
            },
        )
    });
    let singles = files::FILES.iter().map(|f| {
        (
            netsnap_bundle::names::file_artifact(f),
            Source::File {
                path: (*f).to_string(),
            },
        )
    });
    dirs.chain(singles).collect()
}

fn options(config: &Config) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut o = serde_json::Map::new();
    o.insert(
        "deadline_secs".into(),
        Value::from(config.deadline.as_secs()),
    );
    o.insert("kubectl".into(), Value::from(config.kubectl.is_some()));
    if let Some(k) = &config.kubeconfig {
        o.insert("kubeconfig".into(), Value::from(k.display().to_string()));
    }
    let kind = match config.output {
        Output::TarGz(_) => "tar.gz",
        Output::Dir(_) => "directory",
    };
    o.insert("output".into(), Value::from(kind));
    if let Some(names) = config.only.names() {
        o.insert("only".into(), Value::from(names.to_vec()));
    }
    o
}

/// Runs `f` with a fresh context (30 s deadline) and returns what it reported.
#[cfg(test)]
pub fn test_ctx(f: impl FnOnce(&Ctx)) -> BTreeMap<String, Record> {
    let ctx = Ctx {
        deadline: Instant::now() + Duration::from_secs(30),
        spool: SpoolDir::memory(),
        records: Arc::new(Mutex::new(BTreeMap::new())),
        pending: Arc::new(Mutex::new(BTreeMap::new())),
        abandoned: Arc::new(AtomicBool::new(false)),
    };
    f(&ctx);
    let records = ctx.records.lock().map(|r| r.clone()).unwrap_or_default();
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_capped_and_hashed() {
        let src = Source::File { path: "/x".into() };
        let r = Record::stored("x", src.clone(), b"abcdef".to_vec(), 4, Instant::now());
        assert!(r.artifact.truncated);
        assert_eq!(r.artifact.bytes, 4);
        assert_eq!(r.data(), Some(&b"abcd"[..]));
        // sha256("abcd")
        assert_eq!(
            r.artifact.sha256.as_deref(),
            Some("88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589")
        );
        let r = Record::stored("x", src, b"ab".to_vec(), 4, Instant::now());
        assert!(!r.artifact.truncated);
        assert_eq!(r.artifact.bytes, 2);
    }

    #[test]
    fn bundle_names_are_safe() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_795_586_462);
        assert_eq!(
            bundle_name("node-1.example", t),
            "netsnap-node-1.example-20261125T060102Z"
        );
        assert_eq!(bundle_name("../a b", t), "netsnap-_a_b-20261125T060102Z");
        assert_eq!(bundle_name("", t), "netsnap-unknown-20261125T060102Z");
    }

    fn runner(secs: u64) -> Runner {
        Runner {
            probes_end: Instant::now() + Duration::from_secs(secs),
            spool: SpoolDir::memory(),
            records: Arc::new(Mutex::new(BTreeMap::new())),
            quiet: true,
        }
    }

    #[test]
    fn a_hung_probe_is_abandoned_with_timeouts() {
        let r = runner(30);
        let src = Source::File { path: "/a".into() };
        let planned = vec![
            ("a".to_string(), src.clone()),
            ("b".to_string(), src.clone()),
        ];
        let t = Instant::now();
        let out = r.run("hang", Duration::from_millis(200), planned, move |ctx| {
            ctx.put(Record::stored("a", src, b"1".to_vec(), 10, Instant::now()));
            std::thread::sleep(Duration::from_secs(5));
        });
        assert!(out.is_none());
        assert!(t.elapsed() < Duration::from_secs(2));
        let recs = r.records.lock().expect("lock");
        assert_eq!(recs["a"].artifact.status, Status::Ok);
        assert_eq!(recs["b"].artifact.status, Status::Timeout);
        assert!(recs["b"]
            .artifact
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("hang"));
    }

    /// A real run (this host's generic netlink) with `--only genl`: the family dump is taken,
    /// every other probe's artifacts are `skipped` with the `--only` reason, and the manifest
    /// records the option.
    #[test]
    fn only_runs_the_selected_probes_and_records_the_rest_as_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("bundle");
        let config = Config {
            output: Output::Dir(out.clone()),
            deadline: Duration::from_secs(30),
            kubectl: Some("kubectl".into()),
            kubeconfig: None,
            quiet: true,
            only: Selection::only(&["genl"]).expect("known probe"),
        };
        run(&config, SystemTime::now()).expect("bundle written");
        let text = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
        let m: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(m["options"]["only"], serde_json::json!(["genl"]));
        let arts = m["artifacts"].as_array().expect("artifacts");
        let status = |path: &str| {
            arts.iter()
                .find(|a| a["path"] == path)
                .map(|a| (a["status"].clone(), a["reason"].clone()))
        };
        let (genl, _) = status(netsnap_bundle::names::GENL_FAMILIES).expect("genl listed");
        assert_eq!(genl, "ok");
        let mut skipped = 0;
        for a in arts {
            if a["path"] == netsnap_bundle::names::GENL_FAMILIES {
                continue;
            }
            assert_eq!(a["status"], "skipped", "{a}");
            assert_eq!(a["reason"], msg::NOT_SELECTED, "{a}");
            skipped += 1;
        }
        // Every other probe left a trace: IPVS, procfs, links, sysctls, files, kmsg, commands
        // and kubectl reads.
        for path in [
            netsnap_bundle::names::IPVS_SERVICES,
            netsnap_bundle::names::IPVS_DESTS,
        ] {
            assert!(status(path).is_some(), "{path} not listed");
        }
        for prefix in [
            "proc/",
            "netlink/rtnl/",
            "sysctl",
            "kmsg",
            "listings/",
            "files/",
            "commands/",
            "k8s/",
        ] {
            assert!(
                arts.iter()
                    .any(|a| a["path"].as_str().unwrap_or("").starts_with(prefix)),
                "nothing under {prefix}"
            );
        }
        assert!(skipped > 20, "{skipped}");
        // Nothing but the family dump and the manifest was written.
        let mut written: Vec<_> = walk(&out);
        written.sort();
        assert_eq!(
            written,
            vec![
                "manifest.json".to_string(),
                netsnap_bundle::names::GENL_FAMILIES.to_string()
            ]
        );
    }

    fn walk(root: &std::path::Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(root) {
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
        }
        out
    }

    #[test]
    fn unreported_planned_artifacts_are_errors() {
        let r = runner(30);
        let src = Source::File { path: "/a".into() };
        let out = r.run(
            "lazy",
            Duration::from_secs(5),
            vec![("a".into(), src)],
            |_| 7,
        );
        assert_eq!(out, Some(7));
        let recs = r.records.lock().expect("lock");
        assert_eq!(recs["a"].artifact.status, Status::Error);
    }
}
