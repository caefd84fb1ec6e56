//! What the kernel-layer checks read about kube-proxy beyond the decoded objects: its version
//! (behaviour around kernel modules changed in v1.17, v1.26 and v1.27) and its log lines on
//! this node.
//!
//! `kubectl logs -l k8s-app=kube-proxy --prefix` (the collector's call) prefixes every line
//! with `[pod/<pod>/<container>]`, so lines can be told apart by pod, and the pod by the node it
//! is scheduled on.

use std::fmt;

use crate::diagnose::facts::{
    ClusterFacts, KUBE_PROXY_DAEMONSET_YAML, KUBE_PROXY_LOGS, NODES_YAML,
};
use crate::diagnose::{Context, Evidence};

/// A Kubernetes release, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// `v1.32.4`, `1.32`, `v1.28.2-eks-1234`, `v1.30.1+k3s1`: the leading numbers.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim().trim_matches('"');
        let s = s.strip_prefix('v').unwrap_or(s);
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let mut parts = s[..end].split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version::new(major, minor, patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// kube-proxy's version: the DaemonSet's image tag (what runs), else its log's version line,
/// else this Node's `nodeInfo.kubeProxyVersion` (deprecated and unreliable since v1.31).
pub fn kube_proxy_version(cx: &Context<'_>) -> Option<(Version, Evidence)> {
    for ds in &cx.cluster.state.daemon_sets {
        if ds.metadata.name != "kube-proxy" {
            continue;
        }
        for c in &ds.spec.template.spec.containers {
            let Some((_, tag)) = c.image.rsplit_once(':') else {
                continue;
            };
            // An image pinned by digest only has no version in its name.
            let tag = tag.split('@').next().unwrap_or(tag);
            if let Some(v) = Version::parse(tag) {
                let (locator, excerpt) = cx
                    .cluster
                    .find_line(KUBE_PROXY_DAEMONSET_YAML, None, &["image:", tag])
                    .map_or_else(
                        || ("spec.template.spec.containers".to_string(), c.image.clone()),
                        |(n, l)| (format!("line {n}"), l),
                    );
                return Some((
                    v,
                    Evidence::new(
                        ClusterFacts::artifact(KUBE_PROXY_DAEMONSET_YAML),
                        locator,
                        excerpt,
                    ),
                ));
            }
        }
    }
    for (n, line) in log_lines(cx, &["\"Version info\"", "] Version: v"]) {
        let v = line
            .split_once("version=\"")
            .map(|(_, rest)| rest)
            .or_else(|| line.split_once("Version: ").map(|(_, rest)| rest))
            .and_then(Version::parse);
        if let Some(v) = v {
            return Some((v, log_evidence(n, &line)));
        }
    }
    let name = cx.identity.as_ref()?.name.as_str();
    let node = cx
        .cluster
        .state
        .nodes
        .iter()
        .find(|n| n.metadata.name == name)?;
    let raw = &node.status.node_info.kube_proxy_version;
    let v = Version::parse(raw)?;
    let (locator, excerpt) = cx
        .cluster
        .find_line(
            NODES_YAML,
            Some(&format!("name: {name}")),
            &["kubeProxyVersion:"],
        )
        .map_or_else(
            || {
                (
                    format!("{name} .status.nodeInfo"),
                    format!("kubeProxyVersion: {raw}"),
                )
            },
            |(n, l)| (format!("line {n} ({name})"), l),
        );
    Some((
        v,
        Evidence::new(ClusterFacts::artifact(NODES_YAML), locator, excerpt),
    ))
}

/// Evidence for line `n` of the kube-proxy log.
pub fn log_evidence(n: usize, line: &str) -> Evidence {
    Evidence::new(
        ClusterFacts::artifact(KUBE_PROXY_LOGS),
        format!("line {n}"),
        line.to_string(),
    )
}

/// The kube-proxy pods scheduled on this node, by name.
fn node_pods<'a>(cx: &'a Context<'_>) -> Vec<&'a str> {
    let Some(id) = &cx.identity else {
        return Vec::new();
    };
    cx.cluster
        .state
        .pods
        .iter()
        .filter(|p| {
            p.spec.node_name == id.name
                && p.metadata.labels.get("k8s-app").map(String::as_str) == Some("kube-proxy")
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

/// kube-proxy log lines containing any of `needles`, with their 1-based line numbers. Lines
/// of pods on other nodes are left out when this node's kube-proxy pod is known; unprefixed
/// lines are kept.
pub fn log_lines(cx: &Context<'_>, needles: &[&str]) -> Vec<(usize, String)> {
    let Some(text) = cx.cluster.text(KUBE_PROXY_LOGS) else {
        return Vec::new();
    };
    let mine = node_pods(cx);
    text.lines()
        .enumerate()
        .filter(|(_, l)| needles.iter().any(|n| l.contains(n)))
        .filter(|(_, l)| match line_pod(l) {
            Some(pod) if !mine.is_empty() => mine.contains(&pod),
            _ => true,
        })
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_tags_and_logs() {
        assert_eq!(Version::parse("v1.32.4"), Some(Version::new(1, 32, 4)));
        assert_eq!(Version::parse("1.26"), Some(Version::new(1, 26, 0)));
        assert_eq!(
            Version::parse("v1.28.2-eks-1234"),
            Some(Version::new(1, 28, 2))
        );
        assert_eq!(Version::parse("v1.30.1+k3s1"), Some(Version::new(1, 30, 1)));
        assert_eq!(Version::parse("\"v1.10.2\""), Some(Version::new(1, 10, 2)));
        assert_eq!(Version::parse("latest"), None);
        assert_eq!(Version::parse("v1"), None);
        assert_eq!(Version::parse(""), None);
        assert!(Version::new(1, 26, 0) < Version::new(1, 27, 0));
        assert!(Version::new(1, 9, 9) < Version::new(1, 10, 0));
    }

    #[test]
    fn log_prefix_names_the_pod() {
        assert_eq!(
            line_pod("[pod/kube-proxy-m4hxk/kube-proxy] I1120 08:41:12.220418 1 server.go:698]"),
            Some("kube-proxy-m4hxk")
        );
        assert_eq!(line_pod("I1120 08:41:12 no prefix"), None);
        assert_eq!(line_pod("[pod/broken"), None);
    }
}
