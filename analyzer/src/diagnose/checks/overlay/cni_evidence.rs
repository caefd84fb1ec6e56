//! Evidence the CNI checks (C29–C31, C33, C36–C39) share and the framework does not decode:
//! which CNI is in use, CNI pod logs (`kubectl logs --prefix`), container environment
//! variables from the raw pod YAML, `ethtool -k` output, Node annotations. Pure helpers over
//! `cx.node` and `cx.cluster`; no I/O.

use std::net::IpAddr;

use crate::decode::k8s::{Node, Pod};
use crate::diagnose::facts::{ClusterFacts, PODS_YAML};
use crate::diagnose::{Context, Verdicts};
use crate::observe::{FactKind, Observation};
use crate::signatures::{self, Component};

/// calico-node logs as the collector names them (`logs-<ns>-<app>.txt`).
pub const CALICO_LOGS: &[&str] = &[
    "logs-kube-system-calico-node.txt",
    "logs-calico-system-calico-node.txt",
];
/// flannel logs.
pub const FLANNEL_LOGS: &[&str] = &[
    "logs-kube-flannel-flannel.txt",
    "logs-kube-system-flannel.txt",
];
/// Calico's own Node resources, both API groups.
pub const CALICO_NODES_YAML: &[&str] = &[
    "nodes.crd.projectcalico.org.yaml",
    "nodes.projectcalico.org.yaml",
];

/// One matching log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Artifact path (`k8s/logs-...txt`).
    pub artifact: String,
    /// 1-based.
    pub line: usize,
    pub text: String,
    /// The pod named by kubectl's `--prefix` (`[pod/NAME/CONTAINER] `), when present.
    pub pod: Option<String>,
}

/// The pod named in a `kubectl logs --prefix` line: `[pod/calico-node-x2/calico-node] ...`.
pub fn log_pod(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("[pod/")?;
    let end = rest.find(']')?;
    rest[..end].split('/').next().filter(|p| !p.is_empty())
}

/// Every line of the logs `files` that contains `needle`, in file order.
pub fn log_lines(cx: &Context<'_>, files: &[&str], needle: &str) -> Vec<LogLine> {
    let mut out = Vec::new();
    for f in files {
        let Some(text) = cx.cluster.text(f) else {
            continue;
        };
        for (i, l) in text.lines().enumerate() {
            if l.contains(needle) {
                out.push(LogLine {
                    artifact: ClusterFacts::artifact(f),
                    line: i + 1,
                    text: l.trim().to_string(),
                    pod: log_pod(l).map(str::to_string),
                });
            }
        }
    }
    out
}

/// Log lines of this node's pod (by the `--prefix` pod name); lines without a prefix count as
/// this node's only when no pod of this node is known.
pub fn node_log_lines(
    cx: &Context<'_>,
    files: &[&str],
    needle: &str,
    pod: Option<&Pod>,
) -> Vec<LogLine> {
    log_lines(cx, files, needle)
        .into_iter()
        .filter(|l| match (&l.pod, pod) {
            (Some(name), Some(p)) => *name == p.metadata.name,
            (None, _) => true,
            (Some(_), None) => false,
        })
        .collect()
}

/// The pod carrying label `key=value` scheduled on this node.
pub fn node_pod<'a>(cx: &'a Context<'_>, key: &str, value: &str) -> Option<&'a Pod> {
    let node = cx.identity.as_ref()?.name.as_str();
    cx.cluster.state.pods.iter().find(|p| {
        p.spec.node_name == node && p.metadata.labels.get(key).map(String::as_str) == Some(value)
    })
}

/// Pods carrying label `key=value`.
pub fn pods_labelled<'a>(
    cx: &'a Context<'_>,
    key: &'a str,
    value: &'a str,
) -> impl Iterator<Item = &'a Pod> + 'a {
    cx.cluster
        .state
        .pods
        .iter()
        .filter(move |p| p.metadata.labels.get(key).map(String::as_str) == Some(value))
}

/// This node's Kubernetes Node object.
pub fn this_node<'a>(cx: &'a Context<'_>) -> Option<&'a Node> {
    let name = cx.identity.as_ref()?.name.as_str();
    cx.cluster
        .state
        .nodes
        .iter()
        .find(|n| n.metadata.name == name)
}

/// A Node's IPv4 InternalIPs.
pub fn internal_ipv4(n: &Node) -> Vec<IpAddr> {
    n.addresses_of("InternalIP")
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .filter(IpAddr::is_ipv4)
        .collect()
}

/// An address with an optional `/len` (`192.168.122.96/24`, Calico's annotation form).
pub fn parse_addr(s: &str) -> Option<IpAddr> {
    s.trim().split('/').next()?.parse().ok()
}

/// Whether Calico runs in this cluster or on this node: pools, Calico Nodes, calico-node
/// pods, `cali*` interfaces or Felix's devices.
pub fn calico_in_use(cx: &Context<'_>) -> bool {
    let s = &cx.cluster.state;
    !s.ip_pools.is_empty()
        || !s.calico_nodes.is_empty()
        || pods_labelled(cx, "k8s-app", "calico-node").next().is_some()
        || cx.node.links.iter().flatten().any(|l| {
            let n = l.ifname();
            n.starts_with("cali") || n == "vxlan.calico" || n == "wireguard.cali"
        })
        || said_by(cx, CALICO_COMPONENTS).next().is_some()
}

/// The components of Calico whose messages the signature library knows.
pub const CALICO_COMPONENTS: &[Component] = &[
    Component::CalicoNode,
    Component::CalicoFelix,
    Component::Bird,
    Component::Calicoctl,
];

/// The observations that a signature of one of `components` made (a message or a tool's
/// output that only these components print), in evidence order.
pub fn said_by<'a>(
    cx: &'a Context<'_>,
    components: &'a [Component],
) -> impl Iterator<Item = &'a Observation> + 'a {
    cx.node.observations.iter().filter(move |o| {
        o.signature
            .and_then(|id| signatures::all().find(|s| s.id == id))
            .is_some_and(|s| components.contains(&s.component))
    })
}

/// The observations of `kind` in a paste (none for a collector bundle, whose logs hold every
/// node's pods and whose state the dedicated checks read whole).
pub fn pasted_observations<'a>(
    cx: &'a Context<'_>,
    kind: FactKind,
) -> impl Iterator<Item = &'a Observation> + 'a {
    let pasted = cx.node.bundle.is_pasted();
    cx.node
        .observations
        .iter()
        .filter(move |o| pasted && o.kind == kind)
}

/// The clear verdict of a check for a CNI that is not in use: what was looked for.
pub fn cni_not_in_use(cni: &str) -> Verdicts {
    let signs = match cni {
        "Calico" => "no IP pool, Calico Node, calico-node pod or cali*/vxlan.calico device",
        "flannel" => "no flannel.1 device, subnet.env, flannel pod or flannel Node annotation",
        _ => "no trace of it in the evidence",
    };
    Verdicts::clear(
        format!("does not apply: {cni} is not in use here ({signs})"),
        Vec::new(),
    )
}

/// Whether flannel runs: its device, its subnet file, its pods or its Node annotations.
pub fn flannel_in_use(cx: &Context<'_>) -> bool {
    cx.node.link("flannel.1").is_some()
        || cx.node.text(SUBNET_ENV).is_ok()
        || pods_labelled(cx, "app", "flannel").next().is_some()
        || cx.cluster.state.nodes.iter().any(|n| {
            n.metadata
                .annotations
                .keys()
                .any(|k| k.starts_with("flannel.alpha.coreos.com/"))
        })
}

/// flannel's subnet file as the collector stores it.
pub const SUBNET_ENV: &str = "files/run/flannel/subnet.env";

/// A value of a `KEY=value` file (`subnet.env`): (1-based line, value).
pub fn env_file_value(text: &str, key: &str) -> Option<(usize, String)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let (k, v) = l.trim().split_once('=')?;
        (k.trim() == key).then(|| (i + 1, v.trim().trim_matches('"').to_string()))
    })
}

/// What the raw pod YAML says about a container environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvLookup {
    /// Set: (1-based line of `name:`, the value).
    Set(usize, String),
    /// The pod's YAML has `env:` lists but not this variable.
    NotSet,
    /// The pod is not in the YAML, or has no `env:` at all (nothing to conclude from).
    Unknown,
}

/// Looks up `var` in the containers of pod `pod` in `kubectl get pods -o yaml` text. The typed
/// model leaves `env` out, so this reads the text kubectl prints: a list whose items start
/// with `- apiVersion:` at column 0, keys sorted, env entries as `- name: X` then `value: Y`
/// (a `valueFrom:` instead of `value:` yields an empty value).
pub fn pod_env(text: &str, pod: &str, var: &str) -> EnvLookup {
    let Some((start, item)) = list_item(text, pod) else {
        return EnvLookup::Unknown;
    };
    let mut has_env = false;
    for (i, l) in item.iter().enumerate() {
        let t = l.trim();
        has_env |= t == "env:" || t == "- env:";
        let entry = t.strip_prefix("- ").unwrap_or(t);
        if entry == format!("name: {var}") {
            let value = item[i + 1..]
                .iter()
                .take(4)
                .map(|n| n.trim())
                .find_map(|n| n.strip_prefix("value:"))
                .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
                .unwrap_or_default();
            return EnvLookup::Set(start + i + 1, value);
        }
    }
    if has_env {
        EnvLookup::NotSet
    } else {
        EnvLookup::Unknown
    }
}

/// The lines of the item named `name` in a `kubectl get -o yaml` list (items start with `- `
/// at column 0, `metadata.name` is `name: X` inside), with the 0-based index of its first line.
pub fn list_item<'t>(text: &'t str, name: &str) -> Option<(usize, Vec<&'t str>)> {
    let lines: Vec<&str> = text.lines().collect();
    let name_line = format!("name: {name}");
    let mut start = 0;
    while start < lines.len() {
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.starts_with("- "))
            .map_or(lines.len(), |p| start + 1 + p);
        let item = &lines[start..end];
        if item.iter().any(|l| l.trim() == name_line) {
            return Some((start, item.to_vec()));
        }
        start = end;
    }
    None
}

/// The first line of item `name` of a collected `k8s/` list containing every needle:
/// (1-based line, trimmed text).
pub fn item_line(
    cx: &Context<'_>,
    file: &str,
    name: &str,
    needles: &[&str],
) -> Option<(usize, String)> {
    let (start, item) = list_item(cx.cluster.text(file)?, name)?;
    item.iter()
        .enumerate()
        .find(|(_, l)| needles.iter().all(|n| l.contains(n)))
        .map(|(i, l)| (start + i + 1, l.trim().to_string()))
}

/// [`pod_env`] on the collected pod list.
pub fn pod_env_of(cx: &Context<'_>, pod: &Pod, var: &str) -> EnvLookup {
    match cx.cluster.text(PODS_YAML) {
        Some(t) => pod_env(t, &pod.metadata.name, var),
        None => EnvLookup::Unknown,
    }
}

/// One feature of `ethtool -k DEV`: (on, fixed) from a line `tx-checksum-ip-generic: on [fixed]`.
pub fn ethtool_feature(text: &str, feature: &str) -> Option<(usize, bool, bool)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let (k, v) = l.trim().split_once(':')?;
        if k != feature {
            return None;
        }
        let v = v.trim();
        let on = v.starts_with("on");
        Some((i + 1, on, v.contains("[fixed]")))
    })
}

/// A Calico resource name for kubectl from the object's apiVersion.
pub fn calico_resource(kind_plural: &str, api_version: &str) -> String {
    if api_version.starts_with("crd.projectcalico.org") {
        format!("{kind_plural}.crd.projectcalico.org")
    } else {
        format!("{kind_plural}.projectcalico.org")
    }
}

/// The namespace calico-node runs in (operator installs use `calico-system`).
pub fn calico_namespace(cx: &Context<'_>) -> String {
    pods_labelled(cx, "k8s-app", "calico-node")
        .next()
        .map_or_else(
            || "kube-system".to_string(),
            |p| p.metadata.namespace.clone(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODS: &str = "apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    labels:
      k8s-app: calico-node
    name: calico-node-a
    namespace: kube-system
  spec:
    containers:
    - env:
      - name: DATASTORE_TYPE
        value: kubernetes
      - name: IP_AUTODETECTION_METHOD
        value: interface=eth1
      - name: FELIX_KUBENODEPORTRANGES
        valueFrom:
          configMapKeyRef:
            key: ranges
      name: calico-node
- apiVersion: v1
  kind: Pod
  metadata:
    name: calico-node-b
  spec:
    containers:
    - env:
      - name: DATASTORE_TYPE
        value: kubernetes
      name: calico-node
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-1
  spec:
    containers:
    - name: web
kind: List
";

    #[test]
    fn env_set_unset_unknown() {
        assert_eq!(
            pod_env(PODS, "calico-node-a", "IP_AUTODETECTION_METHOD"),
            EnvLookup::Set(15, "interface=eth1".to_string())
        );
        assert_eq!(
            pod_env(PODS, "calico-node-a", "FELIX_KUBENODEPORTRANGES"),
            EnvLookup::Set(17, String::new())
        );
        // Pod b has env but not the variable; the web pod has no env; pod c does not exist.
        assert_eq!(
            pod_env(PODS, "calico-node-b", "IP_AUTODETECTION_METHOD"),
            EnvLookup::NotSet
        );
        assert_eq!(pod_env(PODS, "web-1", "X"), EnvLookup::Unknown);
        assert_eq!(pod_env(PODS, "calico-node-c", "X"), EnvLookup::Unknown);
        // A variable of pod a is not attributed to pod b.
        assert_eq!(
            pod_env(PODS, "calico-node-b", "FELIX_KUBENODEPORTRANGES"),
            EnvLookup::NotSet
        );
    }

    #[test]
    fn log_prefix() {
        assert_eq!(
            log_pod("[pod/calico-node-x2/calico-node] 2023-02-01 08:40:57.583 [INFO][69] x"),
            Some("calico-node-x2")
        );
        assert_eq!(log_pod("2023-02-01 [INFO] no prefix"), None);
        assert_eq!(log_pod("[pod/"), None);
    }

    #[test]
    fn ethtool_lines() {
        let t = "Features for vxlan.calico:\nrx-checksumming: on\ntx-checksumming: on\n\ttx-checksum-ipv4: off [fixed]\n\ttx-checksum-ip-generic: on\n";
        assert_eq!(
            ethtool_feature(t, "tx-checksum-ip-generic"),
            Some((5, true, false))
        );
        assert_eq!(
            ethtool_feature(t, "tx-checksum-ipv4"),
            Some((4, false, true))
        );
        assert_eq!(
            ethtool_feature(t, "tx-checksumming"),
            Some((3, true, false))
        );
        assert_eq!(ethtool_feature(t, "nope"), None);
    }

    #[test]
    fn env_file() {
        let t =
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.0.1/24\nFLANNEL_IPMASQ=false\n";
        assert_eq!(
            env_file_value(t, "FLANNEL_IPMASQ"),
            Some((3, "false".to_string()))
        );
        assert_eq!(env_file_value(t, "FLANNEL_MTU"), None);
    }

    #[test]
    fn addr_forms() {
        assert_eq!(
            parse_addr("192.168.122.96/24"),
            "192.168.122.96".parse().ok()
        );
        assert_eq!(parse_addr("10.0.2.15"), "10.0.2.15".parse().ok());
        assert_eq!(parse_addr("garbage/24"), None);
    }
}
