//! What an input is about, decided from what it holds (never from its name): a node (links,
//! modules, routes, sysctls, the IPVS table, iptables...), the cluster (Kubernetes objects and
//! kubectl's logs only), or both. Kubernetes objects of every input form the one cluster view;
//! only inputs that hold node state are run as nodes. A folder of `kubectl get -o yaml` given
//! beside node bundles (`netsnap analyze node1 k8s/`) is no node of its own: run as one it
//! would only fill the report with questions about modules, routes and sysctls it never had.

use netsnap_bundle::names;
use serde::Serialize;

use crate::decode::text::{LogSource, TextKind};
use crate::load::pasted::{is_read, PASTED_DIR};
use crate::load::Bundle;

/// What an input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InputScope {
    /// A node's state, and no Kubernetes object.
    #[serde(rename = "node")]
    Node,
    /// Kubernetes objects (or kubectl's logs) only: joins the cluster view, no node check runs
    /// on it.
    #[serde(rename = "cluster")]
    Cluster,
    /// A node's state and Kubernetes objects, as the collector gathers them.
    #[serde(rename = "node+cluster")]
    NodeAndCluster,
}

impl InputScope {
    /// Whether the node checks run on this input.
    pub fn is_node(self) -> bool {
        self != InputScope::Cluster
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InputScope::Node => "node",
            InputScope::Cluster => "cluster",
            InputScope::NodeAndCluster => "node+cluster",
        }
    }
}

/// The scope of one input. An input with neither node state nor Kubernetes objects (a
/// collector bundle whose every probe failed) is a node: its notes say what is missing.
pub fn scope_of(bundle: &Bundle) -> InputScope {
    match (holds_node_state(bundle), holds_cluster_objects(bundle)) {
        (false, true) => InputScope::Cluster,
        (true, true) => InputScope::NodeAndCluster,
        _ => InputScope::Node,
    }
}

/// Whether anything outside `k8s/` was read for this input. A collector always runs on a
/// node, so each of its records outside `k8s/` (even a denied or skipped probe: that is
/// evidence about the node too) counts. For pasted text the manifest also lists what was
/// *not* pasted, so there the pieces decide: a piece read as anything but kubectl output or
/// logs (`ip a`, `lsmod`, `ipvsadm -Ln`, a failed `ipvsadm`, `sysctl`...), a node file shown
/// with `cat`, or an agent's log with no Kubernetes object beside it. `uname` alone names a
/// host but says nothing of its state.
fn holds_node_state(bundle: &Bundle) -> bool {
    if bundle.is_pasted() || !bundle.pasted().is_empty() {
        let read = || {
            bundle
                .pasted()
                .iter()
                .flat_map(|f| f.pieces())
                .filter(|p| is_read(p))
        };
        let objects = read().any(|p| is_cluster_kind(&p.kind) && !is_agent_log(&p.kind));
        return read().any(|p| {
            (!is_cluster_kind(&p.kind) && !is_unknown(&p.kind))
                || is_node_file(p)
                || (is_agent_log(&p.kind) && !objects)
                || (is_node_agent_log(&p.kind) && !names_pods(&p.piece.body))
        });
    }
    let pasted_prefix = format!("{PASTED_DIR}/");
    let node_path =
        |p: &str| p != names::MANIFEST && !is_k8s_path(p) && !p.starts_with(pasted_prefix.as_str());
    bundle.paths().any(node_path)
        || bundle
            .manifest()
            .artifacts
            .iter()
            .any(|a| node_path(&a.path))
}

/// Whether any Kubernetes object or kubectl log was read: a `k8s/` artifact with content (the
/// API server's version, which the collector asks first, is no object), or pasted `kubectl
/// get`/`describe` output.
fn holds_cluster_objects(bundle: &Bundle) -> bool {
    let version = names::k8s_artifact("version.json");
    bundle
        .paths()
        .filter(|p| is_k8s_path(p) && *p != version)
        .any(|p| bundle.file(p).is_some_and(|b| !b.is_empty()))
        || bundle
            .pasted()
            .iter()
            .flat_map(|f| f.pieces())
            .any(|p| is_read(p) && is_cluster_kind(&p.kind))
}

fn is_k8s_path(path: &str) -> bool {
    path.strip_prefix(names::K8S_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Pieces the collector would have stored under `k8s/`: kubectl's objects and the logs of the
/// cluster's pods.
fn is_cluster_kind(kind: &TextKind) -> bool {
    matches!(
        kind,
        TextKind::KubectlYaml
            | TextKind::KubectlJson
            | TextKind::KubectlTable
            | TextKind::KubectlDescribe
            | TextKind::Klog(_)
            | TextKind::CalicoLog
    )
}

/// A node file shown with `cat /path` (`/run/flannel/subnet.env`, `/etc/cni/net.d/...`):
/// whatever its content, it is the node's own file.
fn is_node_file(piece: &crate::decode::text::TextPiece) -> bool {
    piece.piece.command.as_deref().is_some_and(|c| {
        let mut words = c.split_whitespace().filter(|w| *w != "sudo");
        words.next() == Some("cat")
            && words.next().is_some_and(|p| p.starts_with('/'))
            && words.next().is_none()
    })
}

/// A node agent's log (calico-node, a klog component). Beside Kubernetes objects it is the
/// cluster's pods' logs, as the collector stores them under `k8s/`; pasted with no object
/// beside it, it is what one agent said on the node it runs on (its autodetected address,
/// its BGP sessions, the modules it missed), and only the node checks read that.
fn is_agent_log(kind: &TextKind) -> bool {
    matches!(kind, TextKind::Klog(_) | TextKind::CalicoLog)
}

/// Pasted logs of the agents that run on every node and program it: kube-proxy (a DaemonSet
/// pod or a systemd unit per node), flannel's and calico-node's DaemonSet pods. What they say
/// (ipset missing, a table that does not load, an nft that crashes, the interface chosen) is
/// about the node they ran on, so a paste of them is a node's evidence even with nothing else:
/// the collector keeps such logs under `k8s/`, but it also collects the node they speak of.
/// Logs gathered across the cluster (`--prefix`ed with their pods) stay cluster scope.
fn is_node_agent_log(kind: &TextKind) -> bool {
    matches!(
        kind,
        TextKind::Klog(LogSource::KubeProxy | LogSource::Flannel) | TextKind::CalicoLog
    )
}

/// Whether a log's lines carry `kubectl logs --prefix`'s `[pod/<pod>/<container>]`: the logs
/// of a DaemonSet's pods across the cluster, as the collector gathers them under `k8s/`, not
/// one node's.
fn names_pods(body: &str) -> bool {
    body.lines().any(|l| l.trim_start().starts_with("[pod/"))
}

fn is_unknown(kind: &TextKind) -> bool {
    matches!(kind, TextKind::Unknown(_))
}
