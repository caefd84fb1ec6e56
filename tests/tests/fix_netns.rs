//! The fix script on a real kernel: stage 3 of the motivating case (`tunl0` left up with an
//! address and a bird route through it after the IPPool went to `ipipMode: Never`) rebuilt in
//! a network namespace, with a stand-in `kubectl` on PATH that records its argv and answers
//! like an API server whose pools no longer use IPIP. The generated script must:
//! change nothing in a dry run; with `--apply` delete the route, flush the address and take
//! `tunl0` down, restarting calico-node through kubectl with the node's name; change nothing
//! when applied again; and put everything back with `--rollback`.
//!
//! This machine has no ipip module, so `tunl0` here is a veth device with Calico's name: the
//! script acts by name only. The module half of the fix (stage 1) runs in the VM lab
//! (`tests/vm/fix-apply.sh`).
//!
//! Needs root and iproute2; fails loudly otherwise.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use netsnap::diagnose::analyze;
use netsnap::Bundle;
use netsnap_e2e::Netns;
use serde_json::Value;

const STANDIN_KUBECTL: &str = r#"#!/usr/bin/env bash
# Records each call, one argv per line (words separated by a tab), and answers as an API server
# whose only IPPool no longer uses IPIP.
printf '%s\t' "$@" >>"$KUBECTL_LOG"
printf '\n' >>"$KUBECTL_LOG"
case "$*" in
  version*) echo "Client Version: v1.32.0"; echo "Server Version: v1.32.0" ;;
  *"get ippools.crd.projectcalico.org"*) printf 'pool-10-244=Never\n' ;;
  *"delete pod"*) echo 'pod "calico-node-x7k2p" deleted' ;;
  *) echo "stand-in kubectl: unexpected call: $*" >&2; exit 1 ;;
esac
"#;

fn stage3_script() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/nodeport-30081");
    let path = root.join("3-tunl0-up/bundle");
    let bundle = Bundle::open(&path).expect("stage 3 bundle loads");
    let report = analyze(&[("3-tunl0-up".to_string(), &bundle)]);
    let mut out = Vec::new();
    netsnap::report::script::render(&report, &mut out).expect("renders");
    String::from_utf8(out).expect("UTF-8")
}

/// The node's state the script may touch: tunl0's flags, its addresses and every route
/// through it, in all tables.
fn tunl0_state(ns: &Netns) -> Value {
    let link = ns.ip_json(&["-j", "link", "show", "dev", "tunl0"]);
    let addrs = ns.ip_json(&["-j", "addr", "show", "dev", "tunl0"]);
    let routes = ns.ip_json(&["-j", "route", "show", "table", "all", "dev", "tunl0"]);
    let flags = link[0]["flags"].clone();
    let addrs: Vec<Value> = addrs[0]["addr_info"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|a| serde_json::json!([a["local"], a["prefixlen"]]))
        .collect();
    serde_json::json!({ "flags": flags, "addrs": addrs, "routes": routes })
}

struct Run {
    stdout: String,
    status: i32,
}

fn run_script(ns: &Netns, script: &Path, bin: &Path, state: &Path, args: &[&str]) -> Run {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out: Output = ns
        .exec("env")
        .arg(format!("PATH={path}"))
        .arg(format!("NETSNAP_STATE_DIR={}", state.display()))
        .arg(format!("KUBECTL_LOG={}", bin.join("kubectl.log").display()))
        .arg("bash")
        .arg(script)
        .args(args)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "--- script {args:?} ---\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        stdout,
        status: out.status.code().unwrap_or(-1),
    }
}

fn kubectl_calls(bin: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(bin.join("kubectl.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            l.trim_end_matches('\t')
                .split('\t')
                .map(String::from)
                .collect()
        })
        .collect()
}

#[test]
fn stage3_fix_applies_repeats_as_a_no_op_and_rolls_back() {
    let ns = Netns::new("fix");
    // The node: eth0 on the nodes' subnet, tunl0 up with the address calico-node gave it and
    // the route to node2's pod block that bird left behind.
    ns.ip(&[
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0-peer",
    ]);
    ns.ip(&[
        "link",
        "add",
        "tunl0",
        "type",
        "veth",
        "peer",
        "name",
        "tunl0-peer",
    ]);
    for dev in ["eth0", "eth0-peer", "tunl0", "tunl0-peer"] {
        // An ipip tunl0 has no IPv6 link-local address; a veth would get one.
        ns.sysctl(&format!("net.ipv6.conf.{dev}.disable_ipv6"), "1");
        ns.ip(&["link", "set", dev, "up"]);
    }
    ns.ip(&["addr", "add", "192.168.122.96/24", "dev", "eth0"]);
    ns.ip(&["addr", "add", "10.244.0.1/32", "dev", "tunl0"]);
    ns.ip(&[
        "route",
        "add",
        "10.244.1.0/26",
        "via",
        "192.168.122.97",
        "dev",
        "tunl0",
        "proto",
        "bird",
        "onlink",
    ]);

    let tmp = tempfile::tempdir().expect("tempdir");
    let bin: PathBuf = tmp.path().join("bin");
    fs::create_dir(&bin).expect("bin dir");
    let kubectl = bin.join("kubectl");
    fs::write(&kubectl, STANDIN_KUBECTL).expect("stand-in kubectl");
    fs::set_permissions(&kubectl, fs::Permissions::from_mode(0o755)).expect("chmod");
    let script = tmp.path().join("fix.sh");
    fs::write(&script, stage3_script()).expect("script");
    let state = tmp.path().join("state");

    let before = tunl0_state(&ns);
    // The bird route, and the kernel's local route of tunl0's address.
    assert_eq!(
        before["routes"].as_array().map(Vec::len),
        Some(2),
        "{before}"
    );

    // The bundle came from host node1; this is not it.
    let refused = run_script(&ns, &script, &bin, &state, &["--apply"]);
    assert_ne!(refused.status, 0, "ran on another host without --any-host");
    assert_eq!(tunl0_state(&ns), before);

    let dry = run_script(&ns, &script, &bin, &state, &["--any-host"]);
    assert_eq!(dry.status, 0);
    assert!(
        dry.stdout.contains("would delete route 10.244.1.0/26"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("would take tunl0 down"),
        "{}",
        dry.stdout
    );
    assert_eq!(tunl0_state(&ns), before, "the dry run changed the node");
    assert!(
        !kubectl_calls(&bin)
            .iter()
            .any(|c| c.contains(&"delete".to_string())),
        "the dry run restarted a pod"
    );

    let applied = run_script(&ns, &script, &bin, &state, &["--apply", "--any-host"]);
    assert_eq!(applied.status, 0, "{}", applied.stdout);
    let after = tunl0_state(&ns);
    assert_eq!(after["routes"], serde_json::json!([]), "{after}");
    assert_eq!(after["addrs"], serde_json::json!([]), "{after}");
    assert!(
        !after["flags"]
            .as_array()
            .is_some_and(|f| f.contains(&"UP".into())),
        "tunl0 still up: {after}"
    );
    let restarts: Vec<Vec<String>> = kubectl_calls(&bin)
        .into_iter()
        .filter(|c| c.contains(&"delete".to_string()))
        .collect();
    assert_eq!(
        restarts,
        vec![[
            "-n",
            "kube-system",
            "delete",
            "pod",
            "-l",
            "k8s-app=calico-node",
            "--field-selector",
            "spec.nodeName=node1",
            "--wait=false"
        ]
        .map(String::from)
        .to_vec()],
    );
    assert!(
        kubectl_calls(&bin)
            .iter()
            .any(|c| c.iter().any(|w| w == "ippools.crd.projectcalico.org")),
        "tunl0 went down without checking the pools"
    );

    let calls_before_second = kubectl_calls(&bin).len();
    let again = run_script(&ns, &script, &bin, &state, &["--apply", "--any-host"]);
    assert_eq!(again.status, 0, "{}", again.stdout);
    assert!(
        again.stdout.contains("Summary: 0 change(s) made"),
        "{}",
        again.stdout
    );
    assert_eq!(tunl0_state(&ns), after, "the second run changed the node");
    assert!(
        !kubectl_calls(&bin)[calls_before_second..]
            .iter()
            .any(|c| c.contains(&"delete".to_string())),
        "the second run restarted calico-node again"
    );

    let rolled = run_script(&ns, &script, &bin, &state, &["--rollback", "--any-host"]);
    assert_eq!(rolled.status, 0, "{}", rolled.stdout);
    assert_eq!(
        tunl0_state(&ns),
        before,
        "rollback did not restore the node"
    );
    let nothing = run_script(&ns, &script, &bin, &state, &["--rollback", "--any-host"]);
    assert!(
        nothing.stdout.contains("Nothing to roll back"),
        "{}",
        nothing.stdout
    );
}
