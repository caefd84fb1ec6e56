//! Shared helpers for the end-to-end tests in `tests/tests/`: locating the built binaries and
//! network namespaces that clean up after themselves.
//!
//! These tests build real kernel state (links, addresses, routes, rules, sysctls) inside a fresh
//! network namespace and need root and iproute2. When either is missing they panic with the
//! reason: a test that cannot run must fail loudly, never pass by skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

/// Path of a binary of this workspace (`netsnap`, `netsnap-collect`), next to the test
/// executable's `deps/` directory, built (or brought up to date) with cargo once per test
/// process, so a test never runs a stale binary. `NETSNAP_BIN_DIR` overrides the directory
/// (e.g. to test the static release build) and then nothing is built.
pub fn bin_path(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("NETSNAP_BIN_DIR") {
        let path = PathBuf::from(dir).join(name);
        assert!(path.is_file(), "NETSNAP_BIN_DIR has no {}", path.display());
        return path;
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target_dir = profile_dir.parent().expect("target dir");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "netsnap", "-p", "netsnap-collect"])
            .arg("--target-dir")
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        run_ok(&mut cmd);
    });
    let path = profile_dir.join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// Runs a command and returns its output, panicking with the command line and stderr when it
/// cannot start or exits non-zero.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Fails the test (loudly) unless it runs as root with iproute2 available.
pub fn require_root_and_iproute2() {
    let uid = Command::new("id").arg("-u").output().expect("run id -u");
    let uid = String::from_utf8_lossy(&uid.stdout).trim().to_string();
    assert_eq!(
        uid, "0",
        "this test builds network namespaces and needs root; run the suite as root (CI does)"
    );
    let ip = Command::new("ip").arg("-V").output();
    assert!(
        ip.map(|o| o.status.success()).unwrap_or(false),
        "this test needs iproute2's `ip` on PATH (apt-get install iproute2)"
    );
}

/// A network namespace deleted on drop.
pub struct Netns {
    name: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Netns {
    /// Creates `nsnap-<tag>-<pid>-<n>` with its loopback up.
    pub fn new(tag: &str) -> Netns {
        require_root_and_iproute2();
        let name = format!(
            "nsnap-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NS ARGS...`, which must succeed.
    pub fn ip(&self, args: &[&str]) -> Output {
        run_ok(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// `ip -n NS ARGS...` parsed as JSON (pass `-j` yourself).
    pub fn ip_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ip(args);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("ip {args:?} printed invalid JSON: {e}"))
    }

    /// A command run inside the namespace (`ip netns exec NS PROGRAM`).
    pub fn exec(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// Sets a sysctl inside the namespace.
    pub fn sysctl(&self, key: &str, value: &str) {
        run_ok(
            self.exec("sysctl")
                .args(["-q", "-w", &format!("{key}={value}")]),
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// `netsnap show VIEW BUNDLE --json`, parsed.
pub fn show_json(view: &str, bundle: &Path) -> Value {
    let out = run_ok(
        Command::new(bin_path("netsnap"))
            .args(["show", view])
            .arg(bundle)
            .arg("--json"),
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("netsnap show {view} --json printed invalid JSON: {e}"))
}

/// Every object iproute2 printed has a counterpart with equal values for `fields`, matched by
/// `key`, and nothing extra. Returns the number of field comparisons made, so a caller can
/// assert that something was compared at all.
pub fn assert_agree(
    what: &str,
    ours: &Value,
    oracle: &Value,
    key: &dyn Fn(&Value) -> String,
    fields: &[&str],
) -> usize {
    let ours = ours
        .as_array()
        .unwrap_or_else(|| panic!("{what}: ours is not a list: {ours}"));
    let oracle = oracle
        .as_array()
        .unwrap_or_else(|| panic!("{what}: oracle is not a list"));
    let mut compared = 0;
    for want in oracle {
        let k = key(want);
        let got = ours.iter().find(|o| key(o) == k).unwrap_or_else(|| {
            panic!("{what}: iproute2 shows {k} but netsnap does not:\n{want:#}")
        });
        for field in fields {
            let w = pointer(want, field);
            let g = pointer(got, field);
            assert_eq!(
                g, w,
                "{what} {k}: field {field} differs\nnetsnap: {got:#}\niproute2: {want:#}"
            );
            compared += 1;
        }
    }
    let oracle_keys: Vec<String> = oracle.iter().map(key).collect();
    for o in ours {
        assert!(
            oracle_keys.contains(&key(o)),
            "{what}: netsnap shows {} that iproute2 does not",
            key(o)
        );
    }
    compared
}

/// `field` is a JSON pointer without the leading slash (`linkinfo/info_kind`).
pub fn pointer<'a>(v: &'a Value, field: &str) -> Option<&'a Value> {
    v.pointer(&format!("/{field}"))
}

pub fn text(v: &Value, field: &str) -> String {
    match pointer(v, field) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "-".to_string(),
    }
}

/// How routes are matched between netsnap's view and iproute2's: by type, destination, table,
/// device and metric (a destination may repeat across tables and devices).
pub fn route_key(v: &Value) -> String {
    format!(
        "{} {} {} {} {}",
        text(v, "type"),
        text(v, "dst"),
        text(v, "table"),
        text(v, "dev"),
        text(v, "metric")
    )
}
