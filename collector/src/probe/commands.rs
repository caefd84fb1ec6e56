//! Optional command-line tools, each gated so that running it cannot load a kernel module, run
//! without a shell in its own process group, read with caps, and killed (the whole group) at
//! its budget.
//!
//! Gates (measured in the VM lab, see docs/bundle-format.md): `iptables-nft-save`, `nft` load
//! `nf_tables`; `ipset` loads `ip_set`; `conntrack` needs `nf_conntrack_netlink`;
//! `iptables-legacy-save` loads nothing. `iptables-save` is whichever of the two its symlink
//! chain (through /etc/alternatives) points to. `ethtool -k` runs only on devices taken from the
//! link dump, so no lookup by name can create one (`tunl0` by name loads `ipip`).

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netsnap_bundle::{names, Source, Status};

use super::procfs::ModuleFacts;
use super::rtnl::LinkFacts;
use crate::collect::{cap, Ctx, Record};
use crate::spool::{Spool, Spooled};
use crate::{msg, sys};

/// Whether to run a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Run,
    /// Deliberately not run: `reason`.
    Skip(String),
    /// Not installed.
    Absent,
}

/// One planned command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Bundle path, `commands/<name>.txt`.
    pub artifact: String,
    /// argv as recorded (argv[0] is the program name, not the resolved path).
    pub argv: Vec<String>,
    /// Resolved program path.
    pub program: Option<PathBuf>,
    pub gate: Gate,
}

impl Spec {
    pub fn source(&self) -> Source {
        Source::Command {
            argv: self.argv.clone(),
        }
    }

    pub fn label(&self) -> String {
        self.argv.join(" ")
    }
}

/// Which iptables backend a binary is, from the names along its symlink chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Legacy,
    Nft,
}

/// Legacy when any name in the chain says so (`iptables-legacy-save`,
/// `xtables-legacy-multi`); otherwise nft, the safe assumption (it is gated on nf_tables).
pub fn flavour(chain: &[String]) -> Flavour {
    let base = |p: &String| {
        Path::new(p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if chain.iter().map(base).any(|n| n.contains("legacy")) {
        Flavour::Legacy
    } else {
        Flavour::Nft
    }
}

/// The gate for a program that needs `module` already in the kernel.
pub fn needs_module(program: &str, module: &str, m: &ModuleFacts) -> Gate {
    // Without /proc/modules the kernel cannot load modules at all: nothing to protect.
    if !m.loadable || m.present(module) {
        Gate::Run
    } else {
        Gate::Skip(msg::module_not_present(program, module))
    }
}

/// Gate for an iptables save tool given its symlink chain.
pub fn iptables_gate(program: &str, chain: &[String], m: &ModuleFacts) -> Gate {
    match flavour(chain) {
        Flavour::Legacy => Gate::Run,
        Flavour::Nft => needs_module(program, "nf_tables", m),
    }
}

/// Devices worth `ethtool -k`: tunnels (by kind or well-known CNI name) and default-route
/// devices, all names from the link dump.
pub fn ethtool_devices(links: &LinkFacts) -> Vec<String> {
    const TUNNEL_KINDS: &[&str] = &[
        "ipip",
        "vxlan",
        "geneve",
        "sit",
        "gre",
        "wireguard",
        "ip6tnl",
    ];
    const TUNNEL_NAMES: &[&str] = &[
        "tunl0",
        "vxlan.calico",
        "vxlan-v6.calico",
        "wireguard.cali",
        "flannel.1",
        "flannel-v6.1",
        "flannel-wg",
        "cilium_vxlan",
        "cilium_geneve",
        "kube-ipvs0",
    ];
    let mut out: Vec<String> = links
        .links
        .iter()
        .filter(|l| {
            TUNNEL_NAMES.contains(&l.name.as_str())
                || l.kind.as_deref().is_some_and(|k| TUNNEL_KINDS.contains(&k))
                || links.default_devices.contains(&l.name)
        })
        .map(|l| l.name.clone())
        .filter(|n| crate::archive::is_safe_path(n) && !n.contains('/'))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The symlink chain of a path: the path itself, then every link target (at most 10 hops).
fn symlink_chain(path: &Path) -> Vec<String> {
    let mut chain = vec![path.to_string_lossy().into_owned()];
    let mut cur = path.to_path_buf();
    for _ in 0..10 {
        let Ok(target) = std::fs::read_link(&cur) else {
            break;
        };
        let next = match cur.parent() {
            Some(dir) if target.is_relative() => dir.join(&target),
            _ => target,
        };
        chain.push(next.to_string_lossy().into_owned());
        cur = next;
    }
    chain
}

/// Finds `name` on PATH, then in the usual sbin directories (a non-login root shell may lack
/// them).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Every command, with its gate, in a fixed order.
pub fn plan(
    m: &ModuleFacts,
    links: &LinkFacts,
    which: &dyn Fn(&str) -> Option<PathBuf>,
) -> Vec<Spec> {
    let mut specs = Vec::new();
    let mut add = |name: &str, argv: &[&str], gate: &dyn Fn(&Path) -> Gate| {
        let program = which(argv[0]);
        let gate = match &program {
            None => Gate::Absent,
            Some(p) => gate(p),
        };
        specs.push(Spec {
            artifact: names::command_artifact(name),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            program,
            gate,
        });
    };
    for v in ["", "6"] {
        let legacy = format!("ip{v}tables-legacy-save");
        add(&legacy, &[&legacy], &|_| Gate::Run);
        let nft = format!("ip{v}tables-nft-save");
        add(&nft, &[&nft], &|_| needs_module(&nft, "nf_tables", m));
        let plain = format!("ip{v}tables-save");
        add(&plain, &[&plain], &|p| {
            iptables_gate(&plain, &symlink_chain(p), m)
        });
    }
    add(
        "nft-j-list-ruleset",
        &["nft", "-j", "list", "ruleset"],
        &|_| needs_module("nft", "nf_tables", m),
    );
    add("ipset-save", &["ipset", "save"], &|_| {
        needs_module("ipset", "ip_set", m)
    });
    add("conntrack-S", &["conntrack", "-S"], &|_| {
        needs_module("conntrack", "nf_conntrack_netlink", m)
    });
    for dev in ethtool_devices(links) {
        add(
            &format!("ethtool-k-{dev}"),
            &["ethtool", "-k", &dev],
            &|_| Gate::Run,
        );
    }
    specs
}

/// What a finished (or killed) command produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Standard output, capped (and marked truncated past the cap); `None` when it could not be
    /// read in time or its spool file could not be written.
    pub stdout: Option<Spooled>,
    pub stderr: Vec<u8>,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
}

/// Reads a pipe to the end into `spool`, which keeps what fits under its cap (the rest is
/// drained so the child never blocks on a full pipe).
fn drain(mut r: impl Read + Send + 'static, mut spool: Spool) -> mpsc::Receiver<Option<Spooled>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => spool.write(&buf[..n]),
            }
        }
        let _ = tx.send(spool.finish().ok());
    });
    rx
}

/// Standard error, a short excerpt kept in memory.
fn drain_stderr(r: impl Read + Send + 'static) -> mpsc::Receiver<Option<Spooled>> {
    drain(r, crate::spool::SpoolDir::memory().spool(cap::STDERR))
}

/// Runs `program` with `args` (no shell), in its own process group, until `deadline`.
pub fn run(
    program: &Path,
    argv0: &str,
    args: &[String],
    deadline: Instant,
    stdout: Spool,
) -> std::io::Result<Outcome> {
    let mut child = Command::new(program)
        .arg0(argv0)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let out_rx = child.stdout.take().map(|s| drain(s, stdout));
    let err_rx = child.stderr.take().map(drain_stderr);
    let mut outcome = Outcome::default();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            sys::kill_process_group(child.id());
            outcome.timed_out = true;
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    outcome.exit_code = status.and_then(|s| s.code());
    if let Some(s) = status {
        if s.signal().is_some() {
            outcome.exit_code = None;
        }
    }
    // A grandchild that left the group may hold the pipes open: do not wait on it for long.
    let grace = Duration::from_millis(200);
    if let Some(rx) = out_rx {
        if let Ok(spooled) =
            rx.recv_timeout(grace.max(deadline.saturating_duration_since(Instant::now())))
        {
            outcome.stdout = spooled;
        }
    }
    if let Some(rx) = err_rx {
        if let Ok(Some(spooled)) = rx.recv_timeout(grace) {
            if let crate::spool::Content::Bytes(data) = spooled.content {
                outcome.stderr = data;
            }
        }
    }
    Ok(outcome)
}

/// The manifest record for a command's outcome.
pub fn record(
    path: &str,
    source: Source,
    o: Outcome,
    started: Instant,
    budget: Duration,
) -> Record {
    let stderr = String::from_utf8_lossy(&o.stderr).trim().to_string();
    let mut r = if o.timed_out {
        stdout_record(path, source, o.stdout, started)
            .with_status(Status::Timeout)
            .with_reason(msg::command_timeout(budget))
            .truncated()
    } else if o.exit_code == Some(0) {
        stdout_record(path, source, o.stdout, started)
    } else {
        Record::missing(
            path,
            source,
            Status::Error,
            msg::exited(o.exit_code),
            started,
        )
    };
    r.artifact.exit_code = o.exit_code;
    if !stderr.is_empty() {
        r.artifact.stderr = Some(stderr);
    }
    r
}

/// The stored standard output (empty when none could be read).
pub fn stdout_record(
    path: &str,
    source: Source,
    stdout: Option<Spooled>,
    started: Instant,
) -> Record {
    match stdout {
        Some(spooled) => Record::spooled(path, source, spooled, started),
        None => Record::stored(path, source, Vec::new(), 0, started),
    }
}

pub fn probe(ctx: &Ctx, spec: &Spec) {
    let started = Instant::now();
    let program = match (&spec.gate, &spec.program) {
        (Gate::Run, Some(p)) => p,
        (Gate::Skip(reason), _) => {
            ctx.put(Record::missing(
                &spec.artifact,
                spec.source(),
                Status::Skipped,
                reason,
                started,
            ));
            return;
        }
        _ => {
            ctx.put(Record::missing(
                &spec.artifact,
                spec.source(),
                Status::Absent,
                msg::NOT_ON_PATH,
                started,
            ));
            return;
        }
    };
    let budget = ctx.remaining();
    let r = match run(
        program,
        &spec.argv[0],
        &spec.argv[1..],
        ctx.deadline,
        ctx.spool(cap::COMMAND),
    ) {
        Ok(o) => record(&spec.artifact, spec.source(), o, started, budget),
        Err(e) => Record::missing(
            &spec.artifact,
            spec.source(),
            super::io_status(&e),
            e.to_string(),
            started,
        ),
    };
    ctx.put(r);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::procfs::parse_proc_modules;
    use crate::probe::rtnl::Link;
    use crate::spool::SpoolDir;

    fn facts(proc_modules: &str) -> ModuleFacts {
        ModuleFacts {
            loadable: true,
            loaded: parse_proc_modules(proc_modules),
            ..Default::default()
        }
    }

    fn gate_of(specs: &[Spec], artifact: &str) -> Gate {
        specs
            .iter()
            .find(|s| s.artifact == names::command_artifact(artifact))
            .map(|s| s.gate.clone())
            .unwrap_or_else(|| panic!("{artifact} not planned"))
    }

    #[test]
    fn nf_tables_tools_wait_for_the_module() {
        let all = |_: &str| Some(PathBuf::from("/usr/sbin/x"));
        let none = facts("ip_tables 32768 0 - Live 0x0\n");
        let specs = plan(&none, &LinkFacts::default(), &all);
        assert_eq!(gate_of(&specs, "iptables-legacy-save"), Gate::Run);
        assert_eq!(gate_of(&specs, "ip6tables-legacy-save"), Gate::Run);
        for skipped in [
            "iptables-nft-save",
            "ip6tables-nft-save",
            "nft-j-list-ruleset",
        ] {
            assert!(matches!(gate_of(&specs, skipped), Gate::Skip(r) if r.contains("nf_tables")));
        }
        assert!(matches!(gate_of(&specs, "ipset-save"), Gate::Skip(r) if r.contains("ip_set")));
        assert!(matches!(gate_of(&specs, "conntrack-S"), Gate::Skip(_)));

        let loaded = facts("nf_tables 1 0 - Live 0x0\nip_set 1 0 - Live 0x0\nnf_conntrack_netlink 1 0 - Live 0x0\n");
        let specs = plan(&loaded, &LinkFacts::default(), &all);
        for run in [
            "iptables-nft-save",
            "nft-j-list-ruleset",
            "ipset-save",
            "conntrack-S",
        ] {
            assert_eq!(gate_of(&specs, run), Gate::Run, "{run}");
        }
        let mut builtin = facts("");
        builtin.builtin.insert("nf_tables".into());
        assert_eq!(
            gate_of(
                &plan(&builtin, &LinkFacts::default(), &all),
                "nft-j-list-ruleset"
            ),
            Gate::Run
        );
    }

    #[test]
    fn missing_tools_are_absent() {
        let specs = plan(&facts(""), &LinkFacts::default(), &|_| None);
        assert!(specs.iter().all(|s| s.gate == Gate::Absent));
    }

    #[test]
    fn iptables_save_follows_its_alternative() {
        let m = facts("");
        let legacy = vec![
            "/usr/sbin/iptables-save".to_string(),
            "/etc/alternatives/iptables-save".to_string(),
            "/usr/sbin/iptables-legacy-save".to_string(),
            "/usr/sbin/xtables-legacy-multi".to_string(),
        ];
        assert_eq!(iptables_gate("iptables-save", &legacy, &m), Gate::Run);
        let nft = vec![
            "/usr/sbin/iptables-save".to_string(),
            "/etc/alternatives/iptables-save".to_string(),
            "/usr/sbin/iptables-nft-save".to_string(),
        ];
        assert!(matches!(
            iptables_gate("iptables-save", &nft, &m),
            Gate::Skip(_)
        ));
        // A legacy-looking directory name does not count, only file names.
        assert_eq!(
            flavour(&["/opt/legacy/iptables-save".to_string()]),
            Flavour::Nft
        );
    }

    #[test]
    fn kernels_without_modules_gate_nothing() {
        let m = ModuleFacts::default();
        assert_eq!(needs_module("nft", "nf_tables", &m), Gate::Run);
    }

    #[test]
    fn ethtool_targets_tunnels_and_uplinks_only() {
        let link = |i, n: &str, k: Option<&str>| Link {
            index: i,
            name: n.into(),
            kind: k.map(str::to_string),
        };
        let mut lf = LinkFacts {
            links: vec![
                link(1, "lo", None),
                link(2, "eth0", None),
                link(3, "tunl0", Some("ipip")),
                link(4, "vxlan.calico", Some("vxlan")),
                link(5, "cali123", Some("veth")),
                link(6, "myvx", Some("vxlan")),
            ],
            ..Default::default()
        };
        lf.default_devices.insert("eth0".into());
        assert_eq!(
            ethtool_devices(&lf),
            ["eth0", "myvx", "tunl0", "vxlan.calico"]
        );
    }

    #[test]
    fn a_hanging_command_is_killed_with_its_group() {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(300);
        // The shell's child `sleep` is in the same group and must die too, or the pipes stay
        // open; the drain would then wait past the grace period.
        let o = run(
            Path::new("/bin/sh"),
            "sh",
            &["-c".into(), "echo partial; sleep 30 & sleep 30".into()],
            deadline,
            SpoolDir::memory().spool(1024),
        )
        .expect("spawn sh");
        assert!(o.timed_out);
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(stdout(&o), b"partial\n");
        let r = record(
            "commands/x.txt",
            Source::Command { argv: vec![] },
            o,
            started,
            Duration::from_millis(300),
        );
        assert_eq!(r.artifact.status, Status::Timeout);
        assert!(r.artifact.truncated);
    }

    #[test]
    fn exit_codes_and_stderr_are_recorded() {
        let o = run(
            Path::new("/bin/sh"),
            "sh",
            &["-c".into(), "echo oops >&2; exit 3".into()],
            Instant::now() + Duration::from_secs(10),
            SpoolDir::memory().spool(1024),
        )
        .expect("spawn sh");
        let r = record(
            "commands/x.txt",
            Source::Command { argv: vec![] },
            o,
            Instant::now(),
            Duration::ZERO,
        );
        assert_eq!(r.artifact.status, Status::Error);
        assert_eq!(r.artifact.exit_code, Some(3));
        assert_eq!(r.artifact.stderr.as_deref(), Some("oops"));
        assert!(r.content.is_none());
    }

    #[test]
    fn stdout_is_capped() {
        let o = run(
            Path::new("/bin/sh"),
            "sh",
            &["-c".into(), "yes | head -c 100000".into()],
            Instant::now() + Duration::from_secs(10),
            SpoolDir::memory().spool(1000),
        )
        .expect("spawn sh");
        assert_eq!(stdout(&o), "y\n".repeat(500).as_bytes());
        assert!(o.stdout.as_ref().is_some_and(|s| s.truncated));
        assert_eq!(o.exit_code, Some(0));
        let r = record(
            "commands/x.txt",
            Source::Command { argv: vec![] },
            o,
            Instant::now(),
            Duration::ZERO,
        );
        assert!(r.artifact.truncated);
        assert_eq!(r.artifact.bytes, 1000);
    }

    /// Output past the spool threshold goes to an unnamed file beside the output: the record
    /// carries it and its hash, and the directory stays empty.
    #[test]
    fn large_output_is_spooled_to_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let n = crate::spool::THRESHOLD * 3;
        let o = run(
            Path::new("/bin/sh"),
            "sh",
            &["-c".into(), format!("yes | head -c {n}")],
            Instant::now() + Duration::from_secs(20),
            SpoolDir::new(dir.path()).spool(cap::COMMAND),
        )
        .expect("spawn sh");
        let r = record(
            "commands/x.txt",
            Source::Command { argv: vec![] },
            o,
            Instant::now(),
            Duration::ZERO,
        );
        assert_eq!(r.artifact.status, Status::Ok);
        assert!(!r.artifact.truncated);
        assert_eq!(r.artifact.bytes, n as u64);
        let content = r.content.as_ref().expect("content");
        assert!(content.bytes().is_none(), "not kept in memory");
        let mut back = Vec::new();
        content
            .reader()
            .expect("reader")
            .read_to_end(&mut back)
            .expect("read");
        assert!(back == "y\n".repeat(n / 2).as_bytes());
        use sha2::Digest;
        let sha: String = sha2::Sha256::digest(&back)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(r.artifact.sha256.as_deref(), Some(sha.as_str()));
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
    }

    fn stdout(o: &Outcome) -> Vec<u8> {
        o.stdout
            .as_ref()
            .and_then(|s| s.content.bytes())
            .unwrap_or_default()
            .to_vec()
    }
}
