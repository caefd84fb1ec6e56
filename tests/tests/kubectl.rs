//! The collector's kubectl probe against the real `kubectl` (1.32) and a loopback API server
//! answering recorded responses (`tests/data/apiserver/`), then the analyzer's Kubernetes
//! decoder on what the collector stored.
//!
//! `/usr/bin/kubectl` on the test machine is Google's dispatcher: it asks the server's
//! `/version` first and runs the matching `kubectl.1.NN`; the recorded `/version` says v1.32.4.

#[path = "support/fake_apiserver.rs"]
mod fake_apiserver;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use fake_apiserver::{FakeApiServer, LoggedRequest, Mode};
use netsnap::decode::k8s::{parse_objects, ClusterState, K8sObject};
use netsnap_bundle::{Manifest, Status};
use netsnap_e2e::bin_path;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/apiserver")
}

/// The real kubectl; fails loudly when it is not installed.
fn kubectl() -> PathBuf {
    let p = std::env::var_os("NETSNAP_TEST_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"));
    assert!(
        p.is_file(),
        "this test needs kubectl at {} (or NETSNAP_TEST_KUBECTL=/path/to/kubectl)",
        p.display()
    );
    p
}

/// A kubectl environment of its own: an empty HOME (no discovery cache, no ~/.kube/config)
/// and no KUBECONFIG.
fn isolate(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home).env_remove("KUBECONFIG");
}

fn collect(kubeconfig: &Path, kubectl: &Path, deadline: u64, work: &Path) -> (Output, PathBuf) {
    let out_dir = work.join("bundle");
    let mut cmd = Command::new(bin_path("netsnap-collect"));
    cmd.arg("--output-dir")
        .arg(&out_dir)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--kubectl")
        .arg(kubectl)
        .args(["--deadline", &deadline.to_string(), "--quiet"]);
    isolate(&mut cmd, work);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "netsnap-collect failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (out, out_dir)
}

fn manifest(dir: &Path) -> Manifest {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json written");
    serde_json::from_str(&text).expect("manifest.json parses")
}

fn k8s_artifacts(m: &Manifest) -> Vec<&netsnap_bundle::Artifact> {
    m.artifacts
        .iter()
        .filter(|a| a.path.starts_with("k8s/"))
        .collect()
}

fn status_of(m: &Manifest, path: &str) -> Status {
    m.artifact(path)
        .unwrap_or_else(|| panic!("{path} is not in the manifest"))
        .status
}

fn print_requests(requests: &[LoggedRequest]) {
    for r in requests {
        eprintln!("{} {}  [Accept: {}]", r.method, r.target, r.accept);
    }
}

/// kubectl directly against the server: the discovery it does and what `get -o yaml` prints,
/// which must decode.
#[test]
fn kubectl_reads_the_recorded_api_server() {
    let kubectl = kubectl();
    let work = tempfile::tempdir().expect("tempdir");
    let server = FakeApiServer::start(Mode::Recorded(data_dir()));
    let kc = server.write_kubeconfig(work.path());
    let mut cmd = Command::new(&kubectl);
    cmd.arg(format!("--kubeconfig={}", kc.display())).args([
        "--request-timeout=10s",
        "get",
        "services",
        "-A",
        "-o",
        "yaml",
    ]);
    isolate(&mut cmd, work.path());
    let out = cmd.output().expect("run kubectl");
    print_requests(&server.requests());
    assert!(
        out.status.success(),
        "kubectl get services failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).expect("utf-8");
    assert!(yaml.starts_with("apiVersion: v1\nitems:\n"), "{yaml}");
    assert!(yaml.contains("kind: List"), "{yaml}");
    let objects = parse_objects(&yaml).expect("kubectl's YAML decodes");
    let web = objects
        .iter()
        .find_map(|o| match o {
            K8sObject::Service(s) if s.metadata.name == "web" => Some(s),
            _ => None,
        })
        .expect("Service default/web");
    assert_eq!(web.spec.ports[0].node_port, Some(30081));

    let requests = server.requests();
    let paths: BTreeSet<&str> = requests.iter().map(LoggedRequest::path).collect();
    for expected in ["/version", "/api", "/apis", "/api/v1/services"] {
        assert!(
            paths.contains(expected),
            "no request for {expected}: {paths:?}"
        );
    }
    let discovery = requests
        .iter()
        .find(|r| r.path() == "/apis")
        .expect("discovery request");
    assert!(
        discovery
            .accept
            .starts_with("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
        "kubectl 1.32 asks for aggregated discovery first: {}",
        discovery.accept
    );
    assert!(
        requests
            .iter()
            .any(|r| r.user_agent.starts_with("kubectl/v1.32.")),
        "the dispatcher did not run kubectl 1.32: {requests:?}"
    );
}

/// (a) and (d): the collector's kubectl probe end to end.
#[test]
fn collector_stores_kubectl_yaml_that_decodes() {
    let kubectl = kubectl();
    let work = tempfile::tempdir().expect("tempdir");
    let server = FakeApiServer::start(Mode::Recorded(data_dir()));
    let kc = server.write_kubeconfig(work.path());
    let started = Instant::now();
    let (_out, dir) = collect(&kc, &kubectl, 120, work.path());
    eprintln!("collector run: {:?}", started.elapsed());
    let requests = server.requests();
    print_requests(&requests);
    let m = manifest(&dir);
    for a in k8s_artifacts(&m) {
        eprintln!(
            "{:55} {:8} {}",
            a.path,
            a.status.as_str(),
            a.reason.as_deref().or(a.stderr.as_deref()).unwrap_or("")
        );
    }

    assert_eq!(status_of(&m, "k8s/version.json"), Status::Ok);
    for path in [
        "k8s/services.yaml",
        "k8s/endpoints.yaml",
        "k8s/endpointslices.discovery.k8s.io.yaml",
        "k8s/nodes.yaml",
        "k8s/pods.yaml",
        "k8s/networkpolicies.networking.k8s.io.yaml",
        "k8s/configmap-kube-system-kube-proxy.yaml",
        "k8s/daemonset-kube-system-kube-proxy.yaml",
        "k8s/ippools.crd.projectcalico.org.yaml",
        "k8s/felixconfigurations.crd.projectcalico.org.yaml",
        "k8s/bgpconfigurations.crd.projectcalico.org.yaml",
        "k8s/nodes.crd.projectcalico.org.yaml",
        "k8s/logs-kube-system-kube-proxy.txt",
    ] {
        assert_eq!(status_of(&m, path), Status::Ok, "{path}");
    }
    // Not served by this API server: the Calico API server's group and flannel.
    for path in [
        "k8s/ippools.projectcalico.org.yaml",
        "k8s/configmap-kube-system-kube-flannel-cfg.yaml",
    ] {
        assert_eq!(status_of(&m, path), Status::Absent, "{path}");
    }

    // `analyzer/tests/data/k8s/motivating/` is this run's output (see its capture.sh).
    if let Some(out) = std::env::var_os("NETSNAP_CAPTURE_K8S_TO") {
        let out = PathBuf::from(out);
        std::fs::create_dir_all(&out).expect("capture directory");
        for a in k8s_artifacts(&m) {
            if a.status == Status::Ok && a.path.ends_with(".yaml") {
                let name = a.path.trim_start_matches("k8s/");
                std::fs::copy(dir.join(&a.path), out.join(name)).expect("copy artifact");
            }
        }
    }

    let mut state = ClusterState::new();
    for a in k8s_artifacts(&m) {
        if a.status != Status::Ok || !a.path.ends_with(".yaml") {
            continue;
        }
        let text = std::fs::read_to_string(dir.join(&a.path)).expect("stored artifact");
        let objects =
            parse_objects(&text).unwrap_or_else(|e| panic!("{} does not decode: {e}", a.path));
        assert!(
            !objects.is_empty() || a.path.contains("bgpconfigurations"),
            "{}",
            a.path
        );
        state.add(objects);
    }
    assert!(state.malformed.is_empty(), "{:?}", state.malformed);
    assert!(state.problems.is_empty(), "{:?}", state.problems);

    let web = state
        .service("default", "web")
        .expect("Service default/web");
    assert_eq!(web.spec.type_, "NodePort");
    assert_eq!(web.spec.ports[0].node_port, Some(30081));
    assert_eq!(state.slices_of("default", "web").count(), 1);
    let pool = state
        .ip_pools
        .iter()
        .find(|p| p.metadata.name == "default-ipv4-ippool")
        .expect("IPPool default-ipv4-ippool");
    assert_eq!(pool.spec.ipip_mode, "Always");
    assert_eq!(pool.api_version, "crd.projectcalico.org/v1");
    let kp = state.kube_proxy_config.as_ref().expect("kube-proxy config");
    assert_eq!(kp.mode, "ipvs");
    assert_eq!(state.nodes.len(), 2);
    assert_eq!(state.calico_nodes.len(), 2);
    assert_eq!(state.pods.len(), 5);
    assert_eq!(state.daemon_sets.len(), 1);
    assert_eq!(state.network_policies.len(), 1);

    let log = std::fs::read_to_string(dir.join("k8s/logs-kube-system-kube-proxy.txt"))
        .expect("kube-proxy logs");
    assert!(log.contains("Can't use the IPVS proxier"), "{log}");
    assert!(
        log.contains("pod/kube-proxy-9bq2m"),
        "--prefix names each pod: {log}"
    );

    // (d) Secrets are never read, not even through discovery of a served `secrets` resource.
    let secret_reads: Vec<_> = requests
        .iter()
        .filter(|r| r.target.to_ascii_lowercase().contains("secret"))
        .collect();
    assert!(secret_reads.is_empty(), "{secret_reads:?}");
    assert!(
        requests.iter().any(|r| r.path() == "/api/v1/pods"),
        "the server saw the collector's requests"
    );
}

/// (b) A server that accepts and never answers: the usability check gives up within its
/// budget, the rest is skipped with that reason, and the run ends within its deadline.
#[test]
fn hanging_api_server_costs_at_most_the_deadline() {
    let kubectl = kubectl();
    let work = tempfile::tempdir().expect("tempdir");
    let server = FakeApiServer::start(Mode::Hang);
    let kc = server.write_kubeconfig(work.path());
    let deadline = 30;
    let started = Instant::now();
    let (_out, dir) = collect(&kc, &kubectl, deadline, work.path());
    let took = started.elapsed();
    eprintln!("collector run against a hanging server: {took:?}");
    print_requests(&server.requests());
    assert!(
        took < Duration::from_secs(deadline + 3),
        "the run took {took:?}, over its --deadline {deadline}s"
    );
    assert!(
        !server.requests().is_empty(),
        "kubectl never reached the server"
    );
    let m = manifest(&dir);
    let check = m
        .artifact("k8s/version.json")
        .expect("usability check recorded");
    assert!(
        matches!(check.status, Status::Timeout | Status::Error),
        "{check:?}"
    );
    let reason = check.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("kubectl") && (reason.contains("time") || reason.contains("answer")),
        "unclear reason: {reason:?}"
    );
    let services = m.artifact("k8s/services.yaml").expect("services planned");
    assert!(
        matches!(services.status, Status::Skipped | Status::Timeout),
        "{services:?}"
    );
    assert!(
        services.reason.as_deref().is_some_and(|r| !r.is_empty()),
        "{services:?}"
    );
}

/// (b) The check passes but one list never comes: that read ends as `timeout` within its
/// budget, the reads after it still run, and the run ends within its deadline.
#[test]
fn one_hanging_list_times_out_alone() {
    let kubectl = kubectl();
    let work = tempfile::tempdir().expect("tempdir");
    let server = FakeApiServer::start(Mode::RecordedExcept {
        dir: data_dir(),
        hang: vec!["/api/v1/pods".into()],
    });
    let kc = server.write_kubeconfig(work.path());
    let deadline = 60;
    let started = Instant::now();
    let (_out, dir) = collect(&kc, &kubectl, deadline, work.path());
    let took = started.elapsed();
    eprintln!("collector run with a hanging pod list: {took:?}");
    assert!(
        took < Duration::from_secs(deadline + 3),
        "the run took {took:?}, over its --deadline {deadline}s"
    );
    let m = manifest(&dir);
    let pods = m.artifact("k8s/pods.yaml").expect("pods planned");
    eprintln!("{pods:?}");
    // kubectl's own --request-timeout (set from the probe's budget) fires first: it exits 1
    // with "Client.Timeout exceeded while awaiting headers" (or "context deadline exceeded"),
    // which is the budget running out, so `timeout`, not `error`.
    assert_eq!(
        pods.status,
        Status::Timeout,
        "kubectl gave up at its --request-timeout; the collector's kubectl failure_status should \
         map that stderr to timeout: {pods:?}"
    );
    assert!(
        pods.duration_ms <= 16_000,
        "the pod list held the run for {} ms, over its 15 s budget",
        pods.duration_ms
    );
    assert_eq!(status_of(&m, "k8s/services.yaml"), Status::Ok);
    // Read after the hanging one.
    assert_eq!(
        status_of(&m, "k8s/ippools.crd.projectcalico.org.yaml"),
        Status::Ok
    );
}

fn stand_in(dir: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("kubectl-stand-in");
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// (c) A kubectl that fails: its stderr ends up in the manifest.
#[test]
fn failing_kubectl_is_recorded_with_its_stderr() {
    let work = tempfile::tempdir().expect("tempdir");
    let kc = work.path().join("kubeconfig");
    std::fs::write(&kc, "apiVersion: v1\nkind: Config\n").expect("kubeconfig");

    // Fails from the start: the usability check says why and everything else is skipped.
    let failing = stand_in(
        work.path(),
        "echo 'error: stand-in kubectl refuses on purpose' >&2\nexit 1\n",
    );
    let (_out, dir) = collect(&kc, &failing, 60, work.path());
    let m = manifest(&dir);
    let check = m.artifact("k8s/version.json").expect("check recorded");
    assert_eq!(check.status, Status::Error, "{check:?}");
    assert!(
        check
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("stand-in kubectl refuses on purpose")),
        "{check:?}"
    );
    let services = m.artifact("k8s/services.yaml").expect("planned");
    assert_eq!(services.status, Status::Skipped, "{services:?}");
    assert!(!dir.join("k8s/services.yaml").exists());

    // Answers the check, fails every read.
    let work2 = tempfile::tempdir().expect("tempdir");
    let flaky = stand_in(
        work2.path(),
        "case \"$*\" in *--raw*) echo '{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.4\"}'; exit 0;; esac\n\
         echo \"error: stand-in read failed: $*\" >&2\nexit 1\n",
    );
    let (_out, dir) = collect(&kc, &flaky, 60, work2.path());
    let m = manifest(&dir);
    assert_eq!(status_of(&m, "k8s/version.json"), Status::Ok);
    let services = m.artifact("k8s/services.yaml").expect("planned");
    assert_eq!(services.status, Status::Error, "{services:?}");
    assert_eq!(services.exit_code, Some(1), "{services:?}");
    let stderr = services.stderr.as_deref().unwrap_or_default();
    assert!(
        stderr.contains("stand-in read failed") && stderr.contains("get services -A -o yaml"),
        "{services:?}"
    );
}
