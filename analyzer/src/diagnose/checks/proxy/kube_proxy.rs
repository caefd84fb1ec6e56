//! What the proxy checks read about kube-proxy itself beyond the decoded objects: the state of
//! its pod on this node (container statuses, which the shared Pod model does not keep) and its
//! log lines from that pod.
//!
//! `kubectl logs -l k8s-app=kube-proxy --prefix` (the collector's call) prefixes every line
//! with `[pod/<pod>/<container>]`, so a line is attributed to a pod and the pod to its node.

use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_LOGS, PODS_YAML};
use crate::diagnose::{Context, Evidence, Verdicts};

/// The label kubeadm (and most manifests) put on kube-proxy's pods.
pub const KUBE_PROXY_LABEL: (&str, &str) = ("k8s-app", "kube-proxy");

/// A kube-proxy pod with its container statuses.
pub type PodState = crate::decode::k8s::Pod;

fn is_kube_proxy(p: &PodState) -> bool {
    let (k, v) = KUBE_PROXY_LABEL;
    p.metadata.labels.get(k).map(String::as_str) == Some(v)
}

/// Every kube-proxy pod in `pods.yaml`. None when the file was not collected or could not be
/// read as Kubernetes objects.
pub fn kube_proxy_pods(cx: &Context<'_>) -> Option<Vec<PodState>> {
    let path = ClusterFacts::artifact(PODS_YAML);
    cx.cluster.text(PODS_YAML)?;
    let prefix = format!("{path}:");
    if cx
        .cluster
        .state
        .problems
        .iter()
        .any(|p| p.starts_with(&prefix))
    {
        return None;
    }
    Some(
        cx.cluster
            .state
            .pods
            .iter()
            .filter(|p| is_kube_proxy(p))
            .cloned()
            .collect(),
    )
}

/// The kube-proxy pods on this node (by `spec.nodeName`).
pub fn node_pods(cx: &Context<'_>) -> Option<Vec<PodState>> {
    let id = cx.identity.as_ref()?;
    let mut pods = kube_proxy_pods(cx)?;
    pods.retain(|p| p.spec.node_name == id.name);
    Some(pods)
}

/// The names of this node's kube-proxy pods from the decoded objects (cheap; no re-read).
fn node_pod_names<'a>(cx: &'a Context<'_>) -> Vec<&'a str> {
    let Some(id) = &cx.identity else {
        return Vec::new();
    };
    let (k, v) = KUBE_PROXY_LABEL;
    cx.cluster
        .state
        .pods
        .iter()
        .filter(|p| {
            p.spec.node_name == id.name && p.metadata.labels.get(k).map(String::as_str) == Some(v)
        })
        .map(|p| p.metadata.name.as_str())
        .collect()
}

/// The pod a `--prefix`ed log line comes from: `[pod/NAME/container] ...`.
pub fn line_pod(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("[pod/")?;
    let (pod, _) = rest.split_once('/')?;
    Some(pod)
}

/// kube-proxy log lines containing any of `needles`, with their 1-based line numbers. Lines of
/// pods on other nodes are left out when this node's kube-proxy pod is known; when it is not,
/// only unprefixed lines (a log pasted from one node) are kept.
pub fn log_lines(cx: &Context<'_>, needles: &[&str]) -> Vec<(usize, String)> {
    let Some(text) = cx.cluster.text(KUBE_PROXY_LOGS) else {
        return Vec::new();
    };
    let mine = node_pod_names(cx);
    text.lines()
        .enumerate()
        .filter(|(_, l)| needles.iter().any(|n| l.contains(n)))
        .filter(|(_, l)| match line_pod(l) {
            Some(pod) => mine.contains(&pod),
            None => true,
        })
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .collect()
}

/// Evidence for line `n` of the kube-proxy log.
pub fn log_evidence(n: usize, line: &str) -> Evidence {
    Evidence::new(
        ClusterFacts::artifact(KUBE_PROXY_LOGS),
        format!("line {n}"),
        line.to_string(),
    )
}

/// The clear verdict of a check whose problem shows as kube-proxy log lines (`what`) when
/// there are none: the log read and nothing in it, or that it was not collected.
pub fn no_log_lines(cx: &Context<'_>, what: &str) -> Verdicts {
    match cx.cluster.text(KUBE_PROXY_LOGS) {
        Some(t) => Verdicts::clear(
            format!("kube-proxy's log shows no {what}"),
            vec![Evidence::new(
                ClusterFacts::artifact(KUBE_PROXY_LOGS),
                "whole file",
                format!("{} lines, none about {what}", t.lines().count()),
            )],
        ),
        None => Verdicts::clear(
            format!("nothing shows {what}: kube-proxy's log was not collected"),
            Vec::new(),
        ),
    }
}

/// Whether any kube-proxy is known to the cluster objects (DaemonSet, pods or ConfigMap): a
/// cluster without any may run kube-proxy outside Kubernetes, or a replacement.
pub fn kube_proxy_known(cx: &Context<'_>) -> bool {
    let (k, v) = KUBE_PROXY_LABEL;
    cx.cluster.kube_proxy().is_some()
        || cx
            .cluster
            .state
            .daemon_sets
            .iter()
            .any(|d| d.metadata.name == "kube-proxy")
        || cx
            .cluster
            .state
            .pods
            .iter()
            .any(|p| p.metadata.labels.get(k).map(String::as_str) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_prefix_names_the_pod() {
        assert_eq!(
            line_pod("[pod/kube-proxy-m4hxk/kube-proxy] I1120 08:41:12.220418 1 server.go:698]"),
            Some("kube-proxy-m4hxk")
        );
        assert_eq!(line_pod("I1120 08:41:12 no prefix"), None);
        assert_eq!(line_pod("[pod/broken"), None);
    }

    #[test]
    fn pod_list_and_single_pod_decode() {
        let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: kube-proxy-a\n    labels: {k8s-app: kube-proxy}\n  spec: {nodeName: n1}\n  status:\n    phase: Running\n    containerStatuses:\n    - name: kube-proxy\n      restartCount: 7\n      state: {waiting: {reason: CrashLoopBackOff}}\n      lastState: {terminated: {exitCode: 1, reason: Error}}\n";
        let mut state = crate::decode::k8s::ClusterState::new();
        state.add(crate::decode::k8s::parse_objects(list).expect("decodes"));
        let single = "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: default, labels: {app: web}}\n";
        state.add(crate::decode::k8s::parse_objects(single).expect("decodes"));
        assert_eq!(state.pods.len(), 2);
        let p = &state.pods[0];
        assert!(is_kube_proxy(p));
        let c = &p.status.container_statuses[0];
        assert_eq!(c.restart_count, 7);
        assert_eq!(
            c.state.waiting.as_ref().map(|w| w.reason.as_str()),
            Some("CrashLoopBackOff")
        );
        assert_eq!(
            c.last_state.terminated.as_ref().and_then(|t| t.exit_code),
            Some(1)
        );
        assert_eq!(state.pods[1].metadata.name, "x");
        assert!(!is_kube_proxy(&state.pods[1]));
    }
}
