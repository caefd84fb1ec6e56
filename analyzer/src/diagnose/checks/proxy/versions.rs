//! Versions the proxy checks depend on: kube-proxy's (from the DaemonSet's image tag, what
//! actually runs) and the kernel's (`uname -r` from the bundle's manifest). kube-proxy changed
//! behaviour with kernel versions (`pkg/util/kernel/constants.go`: conn_reuse_mode fixed in
//! 5.9) and with its own releases (the IPVS netlink parse bug of v1.18.0-v1.18.2).

use std::fmt;

use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_DAEMONSET_YAML, NODES_YAML};
use crate::diagnose::{Context, Evidence};

/// A `major.minor.patch` version (Kubernetes release or kernel release).
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

    /// The leading `[v]MAJOR.MINOR[.PATCH]` of a tag or release: `v1.32.4`,
    /// `v1.28.2-eks-1234`, `v1.30.1+k3s1`, `3.10.0-1160.el7.x86_64`, `6.1.0-56-amd64`, `5.4`.
    /// A patch level that is not a number counts as 0.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim().trim_matches('"');
        let s = s.strip_prefix('v').unwrap_or(s);
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let mut parts = s[..end].split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version::new(major, minor, patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The tag of an image reference: `registry:5000/kube-proxy:v1.18.2@sha256:...` → `v1.18.2`.
/// None for an image without a tag (pinned by digest only, or `:latest`-less).
pub fn image_tag(image: &str) -> Option<&str> {
    let image = image.split('@').next().unwrap_or(image);
    let name_end = image.rfind('/').map_or(0, |i| i + 1);
    let (_, tag) = image[name_end..].rsplit_once(':')?;
    (!tag.is_empty()).then_some(tag)
}

/// kube-proxy's version and where it was read: the kube-proxy DaemonSet's image tag, else its
/// log's version line, else this Node's `nodeInfo.kubeProxyVersion` (deprecated upstream and often the kubelet's version, so
/// only a fallback).
pub fn kube_proxy_version(cx: &Context<'_>) -> Option<(Version, Evidence)> {
    for ds in &cx.cluster.state.daemon_sets {
        if ds.metadata.name != "kube-proxy" {
            continue;
        }
        for c in &ds.spec.template.spec.containers {
            let Some(tag) = image_tag(&c.image) else {
                continue;
            };
            let Some(v) = Version::parse(tag) else {
                continue;
            };
            let (locator, excerpt) = cx
                .cluster
                .find_line(KUBE_PROXY_DAEMONSET_YAML, None, &["image:", tag])
                .map_or_else(
                    || {
                        (
                            "spec.template.spec.containers".to_string(),
                            format!("image: {}", c.image),
                        )
                    },
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
    // kube-proxy logs its version at start-up: `"Version info" version="v1.32.4"` (klog
    // structured) or `Version: v1.18.2` (older releases).
    for (n, line) in super::kube_proxy::log_lines(cx, &["\"Version info\"", "] Version: v"]) {
        let v = line
            .split_once("version=\"")
            .map(|(_, rest)| rest)
            .or_else(|| line.split_once("Version: ").map(|(_, rest)| rest))
            .and_then(Version::parse);
        if let Some(v) = v {
            return Some((v, super::kube_proxy::log_evidence(n, &line)));
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

/// The node's kernel release from the manifest (`uname -r`), parsed, with its evidence.
pub fn kernel_version(cx: &Context<'_>) -> Option<(Version, Evidence)> {
    let release = cx.node.host.kernel_release.as_str();
    let v = Version::parse(release)?;
    Some((
        v,
        Evidence::new(
            "manifest.json",
            "host.kernel_release",
            format!("uname -r: {release}"),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_tags_parse() {
        assert_eq!(Version::parse("v1.32.4"), Some(Version::new(1, 32, 4)));
        assert_eq!(Version::parse("v1.18.2"), Some(Version::new(1, 18, 2)));
        assert_eq!(
            Version::parse("v1.28.2-eks-1234"),
            Some(Version::new(1, 28, 2))
        );
        assert_eq!(Version::parse("v1.30.1+k3s1"), Some(Version::new(1, 30, 1)));
        assert_eq!(Version::parse("\"v1.10.2\""), Some(Version::new(1, 10, 2)));
        assert_eq!(Version::parse("latest"), None);
        assert_eq!(Version::parse("v1"), None);
        assert_eq!(Version::parse(""), None);
        assert_eq!(Version::parse("v99999999999.1"), None);
    }

    #[test]
    fn kernel_releases_parse() {
        assert_eq!(
            Version::parse("3.10.0-1160.el7.x86_64"),
            Some(Version::new(3, 10, 0))
        );
        assert_eq!(
            Version::parse("6.1.0-56-amd64"),
            Some(Version::new(6, 1, 0))
        );
        assert_eq!(
            Version::parse("5.15.0-1034-azure"),
            Some(Version::new(5, 15, 0))
        );
        assert_eq!(Version::parse("4.19.0+"), Some(Version::new(4, 19, 0)));
        assert_eq!(Version::parse("5.4"), Some(Version::new(5, 4, 0)));
        assert_eq!(Version::parse("6.18.0"), Some(Version::new(6, 18, 0)));
    }

    #[test]
    fn versions_order_numerically() {
        assert!(Version::new(1, 9, 9) < Version::new(1, 10, 0));
        assert!(Version::new(1, 18, 2) < Version::new(1, 18, 3));
        assert!(Version::new(3, 17, 99) < Version::new(3, 18, 0));
        assert!(Version::new(5, 8, 18) < Version::new(5, 9, 0));
        assert!(Version::new(5, 10, 0) >= Version::new(5, 9, 0));
    }

    #[test]
    fn image_tags() {
        assert_eq!(
            image_tag("registry.k8s.io/kube-proxy:v1.32.4"),
            Some("v1.32.4")
        );
        assert_eq!(
            image_tag("registry:5000/kube-proxy:v1.18.2@sha256:abcd"),
            Some("v1.18.2")
        );
        assert_eq!(image_tag("registry:5000/kube-proxy"), None);
        assert_eq!(image_tag("registry.k8s.io/kube-proxy@sha256:abcd"), None);
        assert_eq!(image_tag("kube-proxy:"), None);
        assert_eq!(image_tag(""), None);
    }
}
