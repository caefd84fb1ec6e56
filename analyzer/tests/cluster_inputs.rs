//! Kubernetes objects given as an input of their own, as a user has them: node bundles
//! collected without kubectl (a worker node has no kubeconfig, or `--no-kubectl`) and a folder
//! of `kubectl get -o yaml` outputs saved from a workstation, `netsnap analyze node1 k8s/`.
//! Built from the real captures of fixtures/nodeport-30081: the node state of a stage's bundle,
//! and the kubectl outputs of its `k8s/` artifacts under the names a user might give them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use netsnap::diagnose::scope::InputScope;
use netsnap::diagnose::{analyze, Report};
use netsnap::Bundle;

fn stage_bundle(stage: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/nodeport-30081")
        .join(stage)
        .join("bundle")
}

/// What a user calls the files of `kubectl get ... -o yaml > FILE`: nothing the analyzer may
/// rely on.
fn user_name(artifact: &str) -> String {
    match artifact {
        "services.yaml" => "svc-all.yaml".to_string(),
        "endpointslices.discovery.k8s.io.yaml" => "eps.yaml".to_string(),
        "configmap-kube-system-kube-proxy.yaml" => "kube-proxy-cm.yaml".to_string(),
        "logs-kube-system-kube-proxy.txt" => "kube-proxy.log".to_string(),
        other => format!("kubectl-{other}"),
    }
}

/// A stage's node as collected without kubectl (the collector then records only
/// `k8s/version.json`, skipped), and the stage's kubectl outputs in a folder of their own.
/// `leave_out` names `k8s/` artifacts the user did not save.
fn split(stage: &str, leave_out: &[&str]) -> (tempfile::TempDir, tempfile::TempDir) {
    let from = stage_bundle(stage);
    let node = tempfile::tempdir().expect("temp dir");
    let k8s = tempfile::tempdir().expect("temp dir");
    for e in walkdir::WalkDir::new(&from).follow_links(false) {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(&from).expect("prefix");
        if !e.file_type().is_file() {
            continue;
        }
        if let Ok(name) = rel.strip_prefix("k8s") {
            let name = name.to_string_lossy().to_string();
            let kubectl_output =
                name.ends_with(".yaml") || name.starts_with("logs-kube-system-kube-proxy");
            if kubectl_output && !leave_out.contains(&name.as_str()) {
                fs::copy(e.path(), k8s.path().join(user_name(&name))).expect("copy");
            }
            continue;
        }
        let dst = node.path().join(rel);
        fs::create_dir_all(dst.parent().expect("parent")).expect("mkdir");
        fs::copy(e.path(), &dst).expect("copy");
    }
    let mpath = node.path().join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&mpath).expect("manifest")).expect("json");
    let arts = m["artifacts"].as_array_mut().expect("artifacts");
    arts.retain(|a| {
        let p = a["path"].as_str().unwrap_or_default();
        !p.starts_with("k8s/") || p == "k8s/version.json"
    });
    for a in arts.iter_mut().filter(|a| a["path"] == "k8s/version.json") {
        let o = a.as_object_mut().expect("object");
        o.insert("status".into(), "skipped".into());
        o.insert("reason".into(), "--no-kubectl was given".into());
        o.insert("bytes".into(), 0.into());
        o.remove("sha256");
    }
    fs::write(&mpath, serde_json::to_vec_pretty(&m).expect("json")).expect("write");
    (node, k8s)
}

fn run(paths: &[&Path]) -> Report {
    let bundles: Vec<(String, Bundle)> = paths
        .iter()
        .map(|p| {
            let b = Bundle::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), b)
        })
        .collect();
    let inputs: Vec<(String, &Bundle)> = bundles.iter().map(|(p, b)| (p.clone(), b)).collect();
    analyze(&inputs)
}

fn whole(stage: &str) -> Report {
    run(&[&stage_bundle(stage)])
}

/// Finding keys with their node, root-cause flag and severity.
fn findings(r: &Report) -> BTreeSet<(String, Option<String>, bool, String)> {
    r.findings
        .iter()
        .map(|f| {
            (
                f.key(),
                f.node.clone(),
                f.root_cause,
                format!("{:?}", f.severity),
            )
        })
        .collect()
}

fn questions(r: &Report) -> BTreeSet<(String, String)> {
    r.not_concluded
        .iter()
        .map(|n| (n.id.to_string(), n.question.clone()))
        .collect()
}

#[test]
fn a_folder_of_kubectl_yaml_beside_a_node_is_cluster_scope() {
    for stage in ["1-modules-missing", "4-healthy"] {
        let (node, k8s) = split(stage, &[]);
        let r = run(&[node.path(), k8s.path()]);
        let want = whole(stage);
        let scopes: Vec<InputScope> = r.inputs.iter().map(|i| i.scope).collect();
        assert_eq!(scopes, [InputScope::Node, InputScope::Cluster], "{stage}");
        assert_eq!(want.inputs[0].scope, InputScope::NodeAndCluster, "{stage}");
        // The node is judged as when its bundle held the objects itself, and nothing is asked
        // about the folder's modules, routes or sysctls.
        assert_eq!(findings(&r), findings(&want), "{stage}");
        assert_eq!(questions(&r), questions(&want), "{stage}");
        assert_eq!(r.counts.checks, want.counts.checks, "{stage}");
        assert_eq!(r.inputs[0].node.as_deref(), Some("node1"), "{stage}");
        let cluster = &r.inputs[1];
        assert!(
            cluster.node.is_none() && cluster.proxy_mode.is_none(),
            "{cluster:?}"
        );
        assert!(
            cluster.pasted.iter().all(|p| p.read),
            "{:?}",
            cluster.pasted
        );
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["inputs"][1]["scope"], "cluster");
        assert_eq!(json["inputs"][0]["scope"], "node");
    }
}

#[test]
fn scope_is_decided_by_content_not_by_name() {
    // A node's pasted state in a folder named like kubectl output is a node; the kubectl
    // outputs in a folder named like a node are the cluster.
    let (node, k8s) = split("4-healthy", &[]);
    let parent = tempfile::tempdir().expect("temp dir");
    let named_node = parent.path().join("node1");
    let named_k8s = parent.path().join("k8s");
    fs::rename(k8s.path(), &named_node).expect("rename");
    fs::rename(node.path(), &named_k8s).expect("rename");
    let r = run(&[&named_k8s, &named_node]);
    let scopes: Vec<InputScope> = r.inputs.iter().map(|i| i.scope).collect();
    assert_eq!(scopes, [InputScope::Node, InputScope::Cluster]);
    // kubectl answered the collector's version question, then nothing else: no object.
    fs::create_dir_all(named_k8s.join("k8s")).expect("mkdir");
    fs::copy(
        stage_bundle("4-healthy").join("k8s/version.json"),
        named_k8s.join("k8s/version.json"),
    )
    .expect("copy");
    let r = run(&[&named_k8s]);
    assert_eq!(r.inputs[0].scope, InputScope::Node);
    // Kubernetes objects pasted beside the node's own pasted text: both in one input.
    let mixed = tempfile::tempdir().expect("temp dir");
    let oracle = stage_bundle("4-healthy").join("../oracle");
    fs::copy(
        oracle.join("ipvsadm-Ln.txt"),
        mixed.path().join("ipvsadm.txt"),
    )
    .expect("copy");
    fs::copy(
        stage_bundle("4-healthy").join("k8s/services.yaml"),
        mixed.path().join("svc.yaml"),
    )
    .expect("copy");
    let r = run(&[mixed.path()]);
    assert_eq!(r.inputs[0].scope, InputScope::NodeAndCluster);
}

#[test]
fn kubectl_yaml_alone_runs_the_service_checks_only() {
    let (_node, k8s) = split("4-healthy", &[]);
    let r = run(&[k8s.path()]);
    assert_eq!(r.inputs[0].scope, InputScope::Cluster);
    let service_checks = netsnap::diagnose::checks::infos()
        .filter(|i| i.layer == netsnap::diagnose::Layer::Service)
        .count();
    assert_eq!(r.counts.checks, service_checks);
    let service_ids: BTreeSet<&str> = netsnap::diagnose::checks::infos()
        .filter(|i| i.layer == netsnap::diagnose::Layer::Service)
        .map(|i| i.id)
        .collect();
    // Besides the Service checks' notes, a paste (a ticket) names its suspects whatever its
    // scope: they are not checks.
    assert!(
        r.not_concluded
            .iter()
            .all(|n| service_ids.contains(n.id) || n.id == netsnap::diagnose::suspects::SUSPECT_ID),
        "{:?}",
        r.not_concluded
    );
    assert!(
        r.inputs[0]
            .notes
            .iter()
            .any(|n| n.contains("only the Service checks ran")),
        "{:?}",
        r.inputs[0].notes
    );
    assert!(
        r.findings.iter().all(|f| f.node.is_none()),
        "{:?}",
        r.findings
    );
}

/// Replaces `from` (which must be there) by `to` in one file of a kubectl folder: a re-typed or
/// hand-edited paste.
fn retype(k8s: &Path, file: &str, from: &str, to: &str) {
    let path = k8s.join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(text.contains(from), "{file} has no {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

fn cluster_of(path: &Path) -> netsnap::diagnose::facts::ClusterFacts {
    let b = Bundle::open(path).expect("opens");
    netsnap::diagnose::facts::ClusterFacts::from_bundles([&b])
}

#[test]
fn a_field_of_an_unexpected_type_is_left_out_and_named() {
    let addresses = "    addresses:\n    - address: 192.168.122.96\n      type: InternalIP\n    \
                     - address: node1\n      type: Hostname\n";
    let as_map = "    addresses:\n      InternalIP: 192.168.122.96\n      Hostname: node1\n";
    // (stage, file, from, to, the note's object and field)
    let cases = [
        (
            "4-healthy",
            "svc-all.yaml",
            "      port: 80\n",
            "      port: \"80\"\n",
            "Service default/web .spec.ports[0].port",
        ),
        (
            "4-healthy",
            "svc-all.yaml",
            "nodePort: 30081",
            "nodePort: abc",
            "Service default/web .spec.ports[0].nodePort",
        ),
        (
            "1-modules-missing",
            "kubectl-ippools.crd.projectcalico.org.yaml",
            "ipipMode: Always",
            "ipipMode: 1",
            "IPPool pool-10-244 .spec.ipipMode",
        ),
        (
            "4-healthy",
            "kubectl-nodes.yaml",
            addresses,
            as_map,
            "Node node1 .status.addresses",
        ),
    ];
    for (stage, file, from, to, field) in cases {
        let (node, k8s) = split(stage, &[]);
        retype(k8s.path(), file, from, to);
        let cluster = cluster_of(k8s.path());
        let st = &cluster.state;
        // The object is still there, with the rest of its fields.
        match field.split(' ').next() {
            Some("Service") => {
                let web = st.service("default", "web").expect("web is kept");
                assert_eq!(web.spec.cluster_ip, "10.96.100.50", "{field}");
                assert_eq!(web.spec.ports.len(), 1, "{field}");
                assert_eq!(web.spec.ports[0].name, "http", "{field}");
            }
            Some("IPPool") => {
                let pool = st.ip_pools.first().expect("the pool is kept");
                assert_eq!(pool.metadata.name, "pool-10-244");
                assert_eq!(pool.spec.cidr, "10.244.0.0/16");
            }
            Some("Node") => {
                let n = st.nodes.iter().find(|n| n.metadata.name == "node1");
                let n = n.expect("node1 is kept");
                assert!(n.status.addresses.is_empty());
                assert_eq!(n.spec.pod_cidr, "10.244.0.0/24");
            }
            other => panic!("{other:?}"),
        }
        let r = run(&[node.path(), k8s.path()]);
        let notes = &r.inputs[1].notes;
        assert!(
            notes.iter().any(|n| n.contains(field) && n.contains(file)),
            "{field}: {notes:?}"
        );
        assert!(
            r.inputs[0].notes.iter().all(|n| !n.contains(field)),
            "{field} is said of the input that held it: {:?}",
            r.inputs[0].notes
        );
        // What could not be read is not taken for a fact: nothing is found that the stage
        // as captured does not show (a `port` left out expects no virtual server on port 0).
        let extra: Vec<_> = findings(&r)
            .difference(&findings(&whole(stage)))
            .cloned()
            .collect();
        assert!(extra.is_empty(), "{field}: {extra:?}");
        if field.starts_with("IPPool") {
            // The mode that could not be read is asked about, not taken as Never.
            for id in ["calico-ipip-on-flat-network", "tunl0-routes-while-ipip-off"] {
                assert!(
                    r.not_concluded
                        .iter()
                        .any(|n| n.id == id && n.reason.contains("could not be read")),
                    "{id}: {:?}",
                    r.not_concluded
                );
            }
        }
        if field.starts_with("Node") {
            // node1 is still known: by its name now that its addresses are unreadable.
            assert_eq!(r.inputs[0].node.as_deref(), Some("node1"));
        }
    }
}

#[test]
fn a_number_as_a_label_value_is_read_as_its_text() {
    let (_node, k8s) = split("4-healthy", &[]);
    retype(
        k8s.path(),
        "kubectl-nodes.yaml",
        "kubernetes.io/hostname: node1",
        "kubernetes.io/hostname: 1",
    );
    let cluster = cluster_of(k8s.path());
    let n = cluster
        .state
        .nodes
        .iter()
        .find(|n| n.metadata.name == "node1");
    let n = n.expect("node1 is kept");
    assert_eq!(n.metadata.labels["kubernetes.io/hostname"], "1");
    assert_eq!(n.status.addresses.len(), 2);
}
