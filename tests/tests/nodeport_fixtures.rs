//! The four stages of the NodePort 30081 case (`fixtures/nodeport-30081/`), replayed without a
//! VM: node state captured on the VM lab's 6.1 kernel, Kubernetes objects as the real kubectl
//! 1.32 printed them from the recorded API responses in `tests/data/apiserver/nodeport-30081/`.
//!
//! - the stand-in kubectl's answers (`fixtures/nodeport-30081/kubectl/STAGE/`) are exactly what
//!   the real kubectl prints for the recorded API state, through the collector's own kubectl
//!   probe (with `NETSNAP_CAPTURE_NODEPORT=1` this test rewrites them instead);
//! - each bundle's `k8s/` artifacts are those answers, byte for byte;
//! - `netsnap show ipvs` equals the `ipvsadm -Ln` captured in the same VM run, and where ip_vs was
//!   not loaded there is neither an oracle nor an IPVS dump;
//! - the Kubernetes objects agree with the node (node IP, pod blocks, tunnel state);
//! - `netsnap show overview` runs on every bundle.

// Only part of the shared loopback API server is used here.
#[allow(dead_code)]
#[path = "support/fake_apiserver.rs"]
mod fake_apiserver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use fake_apiserver::{FakeApiServer, Mode};
use netsnap::decode::k8s::{parse_objects, ClusterState};
use netsnap_bundle::{Manifest, Source, Status};
use netsnap_e2e::{bin_path, run_ok};
use serde_json::Value;

const STAGES: &[&str] = &[
    "1-modules-missing",
    "2-ipip-always",
    "3-tunl0-up",
    "4-healthy",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn stage_dir(stage: &str) -> PathBuf {
    root().join("fixtures/nodeport-30081").join(stage)
}

fn answers_dir(stage: &str) -> PathBuf {
    root().join("fixtures/nodeport-30081/kubectl").join(stage)
}

fn replay_script() -> PathBuf {
    root().join("tests/vm/kubectl-replay.sh")
}

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

fn manifest(bundle: &Path) -> Manifest {
    let path = bundle.join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file of a directory (not recursive), by name.
fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    entries
        .map(|e| {
            let e = e.expect("directory entry");
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).expect("read file"))
        })
        .collect()
}

/// The stand-in's file key for a kubectl argv (see tests/vm/kubectl-replay.sh).
fn answer_key(argv: &[String]) -> String {
    argv.iter()
        .skip(1)
        .filter(|a| !a.starts_with("--kubeconfig=") && !a.starts_with("--request-timeout="))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("_")
        .replace('/', "_")
}

/// `kubectl logs --prefix` output: each pod's lines in order, by their `[pod/NAME/CONTAINER]`
/// prefix.
fn lines_by_pod(bytes: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut by_pod: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(bytes).lines() {
        let prefix = line.split_once("] ").map_or("", |(p, _)| p);
        by_pod
            .entry(prefix.to_string())
            .or_default()
            .push(line.to_string());
    }
    by_pod
}

/// The real kubectl, run by the collector's kubectl probe through the recording stand-in,
/// against each stage's recorded API server: what it printed must be what the fixtures replay.
#[test]
fn kubectl_answers_are_what_real_kubectl_prints() {
    let kubectl = kubectl();
    let capture = std::env::var_os("NETSNAP_CAPTURE_NODEPORT").is_some();
    for stage in STAGES {
        let work = tempfile::tempdir().expect("tempdir");
        let server = FakeApiServer::start(Mode::Recorded(
            root()
                .join("tests/data/apiserver/nodeport-30081")
                .join(stage),
        ));
        let kc = server.write_kubeconfig(work.path());
        let recorded = work.path().join("answers");
        let mut cmd = Command::new(bin_path("netsnap-collect"));
        cmd.arg("--output-dir")
            .arg(work.path().join("bundle"))
            .arg("--kubeconfig")
            .arg(&kc)
            .arg("--kubectl")
            .arg(replay_script())
            .args(["--only", "kubectl", "--deadline", "120", "--quiet"])
            .env("HOME", work.path())
            .env_remove("KUBECONFIG")
            .env("NETSNAP_KUBECTL_REAL", &kubectl)
            .env("NETSNAP_KUBECTL_DIR", &recorded);
        run_ok(&mut cmd);
        let got = files_of(&recorded);
        assert!(
            got.contains_key("get_services_-A_-o_yaml.stdout"),
            "{stage}: the recording stand-in saw no `get services`: {:?}",
            got.keys()
        );
        let dest = answers_dir(stage);
        if capture {
            let _ = std::fs::remove_dir_all(&dest);
            std::fs::create_dir_all(&dest).expect("create answers dir");
            for (name, bytes) in &got {
                std::fs::write(dest.join(name), bytes).expect("write answer");
            }
            eprintln!("{stage}: wrote {} files to {}", got.len(), dest.display());
            continue;
        }
        let want = files_of(&dest);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{stage}: the set of kubectl calls changed; regenerate with NETSNAP_CAPTURE_NODEPORT=1"
        );
        for (name, bytes) in &got {
            // `kubectl logs -l` reads the pods' logs concurrently: the lines of one pod keep
            // their order, the pods' order changes from run to run.
            if name.starts_with("logs_") && name.ends_with(".stdout") {
                assert_eq!(
                    lines_by_pod(bytes),
                    lines_by_pod(want.get(name).map(Vec::as_slice).unwrap_or_default()),
                    "{stage}: {name} differs from what kubectl prints now"
                );
                continue;
            }
            assert!(
                want.get(name) == Some(bytes),
                "{stage}: {name} differs from what kubectl prints now:\n{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

/// The bundle captured in the VM recorded the stand-in's answers as the collector records kubectl.
#[test]
fn bundles_hold_the_kubectl_answers() {
    for stage in STAGES {
        let bundle = stage_dir(stage).join("bundle");
        let m = manifest(&bundle);
        let answers = answers_dir(stage);
        let mut ok = 0;
        for a in m.artifacts.iter().filter(|a| a.path.starts_with("k8s/")) {
            let Source::Command { argv } = &a.source else {
                panic!("{stage}: {} is not a command artifact", a.path);
            };
            let key = answer_key(argv);
            let rc: i32 = std::fs::read_to_string(answers.join(format!("{key}.rc")))
                .unwrap_or_else(|e| panic!("{stage}: no recorded answer {key}: {e}"))
                .trim()
                .parse()
                .expect("rc");
            // The usability check (`get --raw /version`) is recorded without its exit status.
            if a.path != "k8s/version.json" {
                assert_eq!(a.exit_code, Some(rc), "{stage}: {}", a.path);
            }
            if rc == 0 {
                assert_eq!(a.status, Status::Ok, "{stage}: {a:?}");
                let stored = std::fs::read(bundle.join(&a.path)).expect("artifact file");
                let want = std::fs::read(answers.join(format!("{key}.stdout"))).expect("answer");
                assert!(
                    stored == want,
                    "{stage}: {} differs from {key}.stdout",
                    a.path
                );
                ok += 1;
            } else {
                assert_ne!(a.status, Status::Ok, "{stage}: {a:?}");
            }
        }
        // version, 6 lists, 2 kube-proxy objects, 4 Calico lists, kube-proxy and calico-node logs.
        assert!(ok >= 14, "{stage}: only {ok} k8s artifacts are ok");
    }
}

#[test]
fn show_ipvs_equals_ipvsadm() {
    for stage in STAGES {
        let dir = stage_dir(stage);
        let oracle = dir.join("oracle/ipvsadm-Ln.txt");
        let m = manifest(&dir.join("bundle"));
        let services = m
            .artifact("netlink/ipvs/services.nl")
            .expect("IPVS services planned");
        if *stage == "1-modules-missing" {
            // ip_vs was not loaded: the lab ran no ipvsadm (it would load ip_vs) and the collector
            // skipped IPVS for the same reason.
            assert!(!oracle.exists(), "{stage}: unexpected {}", oracle.display());
            assert_eq!(services.status, Status::Skipped, "{stage}: {services:?}");
            continue;
        }
        assert_eq!(services.status, Status::Ok, "{stage}: {services:?}");
        let out = run_ok(
            Command::new(bin_path("netsnap"))
                .args(["show", "ipvs"])
                .arg(dir.join("bundle")),
        );
        let want = std::fs::read(&oracle).expect("oracle");
        assert!(
            String::from_utf8_lossy(&want).contains(":30081 rr"),
            "{stage}: the oracle has no NodePort"
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&want),
            "{stage}: netsnap show ipvs differs from ipvsadm -Ln"
        );
    }
}

#[test]
fn show_overview_runs_on_every_stage() {
    for stage in STAGES {
        let out = run_ok(
            Command::new(bin_path("netsnap"))
                .args(["show", "overview"])
                .arg(stage_dir(stage).join("bundle")),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("tunl0"), "{stage}: overview:\n{text}");
    }
}

fn cluster(bundle: &Path) -> ClusterState {
    let mut state = ClusterState::new();
    let m = manifest(bundle);
    for a in &m.artifacts {
        if a.path.starts_with("k8s/") && a.path.ends_with(".yaml") && a.status == Status::Ok {
            let text = std::fs::read_to_string(bundle.join(&a.path)).expect("artifact");
            state.add(parse_objects(&text).unwrap_or_else(|e| panic!("{}: {e}", a.path)));
        }
    }
    assert!(state.malformed.is_empty(), "{:?}", state.malformed);
    state
}

fn oracle_json(stage: &str, file: &str) -> Value {
    let path = stage_dir(stage).join("oracle").join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("oracle"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The Kubernetes objects describe the captured node, stage by stage.
#[test]
fn kubernetes_objects_match_the_node() {
    for (i, stage) in STAGES.iter().enumerate() {
        let n = i + 1;
        let state = cluster(&stage_dir(stage).join("bundle"));
        let addrs = oracle_json(stage, "ip-addr.json");
        let links = oracle_json(stage, "ip-link.json");
        let routes = oracle_json(stage, "ip-route.json");
        let local_of = |dev: &str| -> Vec<String> {
            addrs
                .as_array()
                .into_iter()
                .flatten()
                .filter(|l| l["ifname"] == dev)
                .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
                .filter(|a| a["family"] == "inet")
                .filter_map(|a| a["local"].as_str().map(str::to_string))
                .collect()
        };

        let node1 = state
            .nodes
            .iter()
            .find(|n| n.metadata.name == "node1")
            .expect("node1");
        let ip = node1
            .status
            .addresses
            .iter()
            .find(|a| a.type_ == "InternalIP")
            .expect("InternalIP");
        assert_eq!(local_of("eth0"), vec![ip.address.clone()], "{stage}");

        // Pod IPs of node1 are routed to its cali* interfaces; node2's block goes to its IP.
        for p in &state.pods {
            if p.spec.host_network || p.status.pod_ip.is_empty() {
                continue;
            }
            let on_node1 = p.spec.node_name == "node1";
            let found = routes.as_array().into_iter().flatten().any(|r| {
                let dst = r["dst"].as_str().unwrap_or_default();
                if on_node1 {
                    dst == p.status.pod_ip
                        && r["dev"].as_str().is_some_and(|d| d.starts_with("cali"))
                } else {
                    dst == "10.244.1.0/26" && r["gateway"] == "192.168.122.97"
                }
            });
            assert!(found, "{stage}: no route for pod {}", p.metadata.name);
        }

        let pool = &state.ip_pools[0];
        assert_eq!(state.ip_pools.len(), 1);
        assert_eq!(pool.metadata.name, "pool-10-244");
        assert_eq!(pool.spec.ipip_mode, if n <= 2 { "Always" } else { "Never" });
        assert_eq!(
            state.kube_proxy_config.as_ref().map(|c| c.mode.as_str()),
            Some("ipvs")
        );

        let tunl0_up = links
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| l["ifname"] == "tunl0" && l["flags"].to_string().contains("\"UP\""));
        let via_tunl0 = routes
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["dev"] == "tunl0");
        let annotation = node1
            .metadata
            .annotations
            .get("projectcalico.org/IPv4IPIPTunnelAddr")
            .cloned();
        if n <= 3 {
            assert!(
                tunl0_up && via_tunl0,
                "{stage}: tunl0 should be up with routes"
            );
            assert_eq!(local_of("tunl0"), vec!["10.244.0.1".to_string()], "{stage}");
            assert_eq!(annotation.as_deref(), Some("10.244.0.1"), "{stage}");
        } else {
            assert!(!tunl0_up && !via_tunl0, "{stage}: tunl0 should be down");
            assert!(local_of("tunl0").is_empty(), "{stage}");
            assert_eq!(annotation, None, "{stage}");
        }

        let kube_ipvs0 = links
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| l["ifname"] == "kube-ipvs0");
        assert_eq!(kube_ipvs0, n >= 2, "{stage}: kube-ipvs0");
        let modules = std::fs::read_to_string(stage_dir(stage).join("oracle/lsmod.txt"))
            .expect("lsmod oracle");
        let ip_vs = modules.lines().any(|l| l.starts_with("ip_vs "));
        assert_eq!(ip_vs, n >= 2, "{stage}: ip_vs loaded");
    }
}
