//! `kubectl describe svc|node|pod` into partial [`Service`] (with the [`Endpoints`] its
//! `Endpoints:` lines show), [`Node`] and [`Pod`] objects.
//!
//! kubectl's describers (kubectl `pkg/describe/describe.go`) write `Field:\tvalue` lines through
//! a tabwriter (padding 2), so values line up after the longest field name; nested lines
//! (label and annotation continuations, `Addresses:` and `System Info:` entries, condition and
//! event tables) are indented. Several objects follow one another, each from its `Name:` line.
//! Versions differ: `IP Family Policy`, `IP Families` and `IPs` exist since kubectl 1.20
//! (before, an `IPFamily` line), `Internal Traffic Policy` since 1.31, when `Endpoints:` also
//! began to come from EndpointSlices (ready endpoints only) and the load balancer IP line was
//! renamed from a second `IP:` to `Desired LoadBalancer IP:`. Each `Endpoints:` line lists the
//! first 3 `ip:port` pairs of that Service port and `+ N more...`.
//!
//! A field the describer prints only when it is set (`External IPs`, `External Traffic
//! Policy`, `NodePort`, `PodCIDRs` ...) is counted as shown, and empty, when its line is absent;
//! a field a version may not print at all (`Internal Traffic Policy`, `IP Family Policy`) only
//! when its line is there.

use serde::Serialize;

use super::issue::TextIssue;
use super::kubectl_get::{host_port, labels, list_with_more, subsets, Partial};
use super::Source;
use crate::decode::k8s::{
    Condition, EndpointPort, Endpoints, IntOrString, LoadBalancerIngress, Node, NodeAddress, Pod,
    PodIp, Service, ServicePort,
};

/// What `kubectl describe` output was read into.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DescribeText {
    pub services: Vec<Partial<Service>>,
    /// The Endpoints of each described Service, from its `Endpoints:` lines (one per Service, in
    /// the same order and with the same line).
    pub endpoints: Vec<Partial<Endpoints>>,
    pub nodes: Vec<Partial<Node>>,
    pub pods: Vec<Partial<Pod>>,
    #[serde(skip)]
    pub issues: Vec<TextIssue>,
}

const WHAT: &str = "kubectl describe output";

/// One `Field: value` line and the indented lines under it.
struct Field<'a> {
    key: &'a str,
    value: &'a str,
    line: usize,
    children: Vec<(usize, &'a str)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Service,
    Node,
    Pod,
    Other,
}

/// Parses `kubectl describe` output.
pub fn parse(src: &Source<'_>) -> DescribeText {
    let by_command = src.command().and_then(command_kind);
    let mut out = DescribeText::default();
    let mut block: Vec<Field<'_>> = Vec::new();
    for (n, line) in src.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if src.cut_at_end && n == src.last_line {
            out.issues.push(TextIssue::CutMidLine { line: n });
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            match block.last_mut() {
                Some(f) => f.children.push((n, line)),
                None => out
                    .issues
                    .push(src.bad(n, WHAT, "an indented line before any field")),
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            out.issues
                .push(src.bad(n, WHAT, "not a `Field: value` line"));
            continue;
        };
        if key == "Name" && !block.is_empty() {
            finish(&mut out, std::mem::take(&mut block), by_command);
        }
        if block.is_empty() && key != "Name" {
            out.issues
                .push(src.bad(n, WHAT, "a field before any `Name:` line"));
            continue;
        }
        block.push(Field {
            key,
            value: value.trim(),
            line: n,
            children: Vec::new(),
        });
    }
    if !block.is_empty() {
        finish(&mut out, block, by_command);
    }
    out
}

fn command_kind(command: &str) -> Option<Kind> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "describe")?;
    let resource = words[at + 1..].iter().find(|w| !w.starts_with('-'))?;
    Some(match resource.split('/').next().unwrap_or(resource) {
        "svc" | "service" | "services" => Kind::Service,
        "no" | "node" | "nodes" => Kind::Node,
        "po" | "pod" | "pods" => Kind::Pod,
        _ => Kind::Other,
    })
}

/// The kind of a described object, from the fields only its describer prints.
fn kind_of(fields: &[Field<'_>]) -> Kind {
    let has = |k: &str| fields.iter().any(|f| f.key == k);
    if has("Session Affinity") || has("TargetPort") {
        Kind::Service
    } else if has("Roles") || has("System Info") || has("PodCIDR") {
        Kind::Node
    } else if has("Containers") || has("QoS Class") {
        Kind::Pod
    } else {
        Kind::Other
    }
}

fn finish(out: &mut DescribeText, fields: Vec<Field<'_>>, by_command: Option<Kind>) {
    let line = fields.first().map_or(0, |f| f.line);
    let kind = match (kind_of(&fields), by_command) {
        (Kind::Other, Some(k)) => k,
        (k, _) => k,
    };
    let issues = &mut out.issues;
    match kind {
        Kind::Service => {
            let (s, e) = service(&fields, line, issues);
            out.services.push(s);
            out.endpoints.push(e);
        }
        Kind::Node => out.nodes.push(node(&fields, line, issues)),
        Kind::Pod => out.pods.push(pod(&fields, line, issues)),
        Kind::Other => issues.push(TextIssue::Unreadable {
            line,
            what: WHAT,
            reason: "the description of a resource netsnap does not read; it was not used",
        }),
    }
}

fn printed(fields: &[Field<'_>]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|f| {
            let mut v = f.value.to_string();
            for (_, c) in &f.children {
                v.push('\n');
                v.push_str(c.trim_end());
            }
            (f.key.to_string(), v)
        })
        .collect()
}

/// `Labels:` and its continuation lines, one `key=value` each.
fn multiline_labels(f: &Field<'_>) -> std::collections::BTreeMap<String, String> {
    let mut all = labels(f.value);
    for (_, c) in &f.children {
        all.extend(labels(c.trim()));
    }
    all
}

/// `Annotations:` lines: `key: value` at the value column, or `key:` followed by the value's
/// lines indented two more (describe.go `printAnnotationsMultiline`, which also leaves out
/// `kubectl.kubernetes.io/last-applied-configuration` and shortens long values).
fn annotations(f: &Field<'_>) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    if f.value == "<none>" {
        return out;
    }
    let indent = |s: &str| s.len() - s.trim_start().len();
    let value_col = f.children.first().map_or(usize::MAX, |(_, c)| indent(c));
    let mut last: Option<String> = None;
    let first = std::iter::once(f.value).filter(|v| !v.is_empty());
    let lines = first
        .map(|v| (value_col, v))
        .chain(f.children.iter().map(|(_, c)| (indent(c), c.trim())));
    for (col, text) in lines {
        if col > value_col {
            if let Some(k) = &last {
                let v: &mut String = out.entry(k.clone()).or_default();
                if !v.is_empty() {
                    v.push('\n');
                }
                v.push_str(text);
            }
            continue;
        }
        match text.split_once(": ") {
            Some((k, v)) => {
                out.insert(k.to_string(), v.to_string());
                last = None;
            }
            None => {
                let k = text.trim_end_matches(':').to_string();
                out.insert(k.clone(), String::new());
                last = Some(k);
            }
        }
    }
    out
}

/// `name  80/TCP` (a Service port's name, `<unset>` when empty, then PORT/PROTOCOL).
/// How a metadata line of `kubectl describe` was shown.
enum Shown {
    Full(&'static str),
    /// Annotations: describe leaves out `kubectl.kubernetes.io/last-applied-configuration`.
    Part(&'static str),
}

/// The metadata lines every describe prints (`Name`, `Namespace`, `Labels`, `Annotations`).
fn metadata_field(m: &mut crate::decode::k8s::ObjectMeta, f: &Field<'_>) -> Option<Shown> {
    Some(match f.key {
        "Name" => {
            m.name = f.value.to_string();
            Shown::Full("metadata.name")
        }
        "Namespace" => {
            m.namespace = f.value.to_string();
            Shown::Full("metadata.namespace")
        }
        "Labels" => {
            m.labels = multiline_labels(f);
            Shown::Full("metadata.labels")
        }
        "Annotations" => {
            m.annotations = annotations(f);
            Shown::Part("metadata.annotations")
        }
        _ => return None,
    })
}

impl<T> Partial<T> {
    fn record(&mut self, shown: Shown) {
        match shown {
            Shown::Full(path) => self.show(path),
            Shown::Part(path) => self.show_part(path),
        }
    }
}

fn named_port(v: &str) -> Option<(String, i64, String)> {
    let (name, port) = v.rsplit_once(char::is_whitespace)?;
    let (port, proto) = port.split_once('/')?;
    let name = match name.trim() {
        "<unset>" => "",
        n => n,
    };
    Some((name.to_string(), port.parse().ok()?, proto.to_string()))
}

fn split_list(v: &str) -> Vec<String> {
    match v {
        "" | "<none>" => Vec::new(),
        v => v.split(',').map(|s| s.trim().to_string()).collect(),
    }
}

fn service(
    fields: &[Field<'_>],
    line: usize,
    issues: &mut Vec<TextIssue>,
) -> (Partial<Service>, Partial<Endpoints>) {
    let mut s: Partial<Service> = Partial::new(line);
    let mut e: Partial<Endpoints> = Partial::new(line);
    s.printed = printed(fields);
    let mut seen_ip = false;
    let mut endpoints_cut = false;
    let bad = |issues: &mut Vec<TextIssue>, f: &Field<'_>, reason| {
        issues.push(TextIssue::Unreadable {
            line: f.line,
            what: WHAT,
            reason,
        })
    };
    for f in fields {
        let spec = &mut s.value.spec;
        let v = f.value;
        let path = match f.key {
            "Name" => {
                s.value.metadata.name = v.to_string();
                e.value.metadata.name = v.to_string();
                e.show("metadata.name");
                "metadata.name"
            }
            "Namespace" => {
                s.value.metadata.namespace = v.to_string();
                e.value.metadata.namespace = v.to_string();
                e.show("metadata.namespace");
                "metadata.namespace"
            }
            "Labels" | "Annotations" => {
                if let Some(shown) = metadata_field(&mut s.value.metadata, f) {
                    s.record(shown);
                }
                continue;
            }
            "Selector" => {
                spec.selector = labels(v);
                "spec.selector"
            }
            "Type" => {
                spec.type_ = v.to_string();
                "spec.type"
            }
            "IP Family Policy" => {
                spec.ip_family_policy = v.to_string();
                "spec.ipFamilyPolicy"
            }
            "IP Families" | "IPFamily" => {
                spec.ip_families = split_list(v);
                "spec.ipFamilies"
            }
            // Before kubectl 1.31 a second `IP:` line was the load balancer IP.
            "IP" if seen_ip => {
                spec.load_balancer_ip = v.to_string();
                "spec.loadBalancerIP"
            }
            "IP" => {
                seen_ip = true;
                spec.cluster_ip = v.to_string();
                "spec.clusterIP"
            }
            "IPs" => {
                spec.cluster_ips = split_list(v);
                "spec.clusterIPs"
            }
            "External IPs" => {
                spec.external_ips = split_list(v);
                "spec.externalIPs"
            }
            "Desired LoadBalancer IP" => {
                spec.load_balancer_ip = v.to_string();
                "spec.loadBalancerIP"
            }
            "External Name" => {
                spec.external_name = v.to_string();
                "spec.externalName"
            }
            "LoadBalancer Ingress" => {
                s.value.status.load_balancer.ingress = v.split(", ").map(ingress).collect();
                "status.loadBalancer.ingress"
            }
            "Port" => {
                match named_port(v) {
                    Some((name, port, protocol)) => spec.ports.push(ServicePort {
                        name,
                        port,
                        protocol,
                        ..Default::default()
                    }),
                    None => bad(issues, f, "Port is not NAME PORT/PROTOCOL"),
                }
                "spec.ports.port"
            }
            "TargetPort" => {
                let target = v.rsplit_once('/').map(|(t, _)| match t.parse() {
                    Ok(n) => IntOrString::Int(n),
                    Err(_) => IntOrString::String(t.to_string()),
                });
                match (spec.ports.last_mut(), target) {
                    (Some(p), Some(t)) => p.target_port = Some(t),
                    _ => bad(issues, f, "TargetPort is not PORT/PROTOCOL after a Port"),
                }
                "spec.ports.targetPort"
            }
            "AppProtocol" => {
                if let Some(p) = spec.ports.last_mut() {
                    p.app_protocol = v.to_string();
                }
                "spec.ports.appProtocol"
            }
            "NodePort" => {
                match (spec.ports.last_mut(), named_port(v)) {
                    (Some(p), Some((_, port, _))) => p.node_port = Some(port),
                    _ => bad(issues, f, "NodePort is not NAME PORT/PROTOCOL after a Port"),
                }
                "spec.ports.nodePort"
            }
            "Endpoints" => {
                let (items, more) = list_with_more(v);
                endpoints_cut |= more > 0;
                let pairs: Option<Vec<_>> = items.iter().map(|i| host_port(i)).collect();
                let name = spec
                    .ports
                    .last()
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                match pairs {
                    Some(pairs) => {
                        let mut subs = subsets(&pairs);
                        for sub in &mut subs {
                            for p in &mut sub.ports {
                                p.name = name.clone();
                            }
                            if sub.ports.is_empty() {
                                sub.ports.push(EndpointPort {
                                    name: name.clone(),
                                    ..Default::default()
                                });
                            }
                        }
                        e.value.subsets.extend(subs);
                    }
                    None => bad(issues, f, "Endpoints is not a list of ADDRESS:PORT"),
                }
                continue;
            }
            "Session Affinity" => {
                spec.session_affinity = v.to_string();
                "spec.sessionAffinity"
            }
            "External Traffic Policy" => {
                spec.external_traffic_policy = v.to_string();
                "spec.externalTrafficPolicy"
            }
            "Internal Traffic Policy" => {
                spec.internal_traffic_policy = v.to_string();
                "spec.internalTrafficPolicy"
            }
            "HealthCheck NodePort" => {
                spec.health_check_node_port = v.parse().ok();
                if spec.health_check_node_port.is_none() {
                    bad(issues, f, "HealthCheck NodePort is not a number");
                }
                "spec.healthCheckNodePort"
            }
            "LoadBalancer Source Ranges" => {
                spec.load_balancer_source_ranges = split_list(v);
                "spec.loadBalancerSourceRanges"
            }
            // Not in the model; kept in `printed`.
            "Traffic Distribution" | "Events" => continue,
            other => {
                issues.push(TextIssue::UnknownField {
                    line: f.line,
                    field: other.to_string(),
                });
                continue;
            }
        };
        s.show(path);
    }
    // Printed only when set: an absent line means empty.
    for path in [
        "spec.externalIPs",
        "spec.loadBalancerIP",
        "spec.externalName",
        "status.loadBalancer.ingress",
        "spec.externalTrafficPolicy",
        "spec.healthCheckNodePort",
        "spec.loadBalancerSourceRanges",
        "spec.ports.nodePort",
        "spec.ports.name",
        "spec.ports.protocol",
    ] {
        if s.shows("spec.ports.port") || !path.starts_with("spec.ports") {
            s.show(path);
        }
    }
    for path in [
        "subsets.addresses",
        "subsets.ports.port",
        "subsets.ports.name",
    ] {
        if endpoints_cut {
            e.show_part(path);
        } else if s.shows("spec.ports.port") {
            e.show(path);
        }
    }
    (s, e)
}

/// `203.0.113.7`, `203.0.113.7 (Proxy)` (the ingress's ipMode, kubectl 1.31+) or a hostname.
fn ingress(v: &str) -> LoadBalancerIngress {
    let (addr, mode) = match v.split_once(" (") {
        Some((a, m)) => (a, m.trim_end_matches(')')),
        None => (v, ""),
    };
    if addr.parse::<std::net::IpAddr>().is_ok() {
        LoadBalancerIngress {
            ip: addr.to_string(),
            ip_mode: mode.to_string(),
            ..Default::default()
        }
    } else {
        LoadBalancerIngress {
            hostname: addr.to_string(),
            ..Default::default()
        }
    }
}

/// The `Type Status ...` rows of a `Conditions:` table (the header and `----` rows skipped).
fn conditions(f: &Field<'_>) -> Vec<Condition> {
    f.children
        .iter()
        .filter_map(|(_, c)| {
            let mut w = c.split_whitespace();
            let (t, s) = (w.next()?, w.next()?);
            (t != "Type" && !t.starts_with("--")).then(|| Condition {
                type_: t.to_string(),
                status: s.to_string(),
                ..Default::default()
            })
        })
        .collect()
}

/// Indented `Key:  value` lines (`Addresses:`, `System Info:`, `IPs:`).
fn entries<'a>(f: &'a Field<'a>) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    f.children.iter().filter_map(|(_, c)| {
        let (k, v) = c.trim().split_once(':')?;
        Some((k, v.trim()))
    })
}

/// Fields of `kubectl describe node` that the model has no place for.
const NODE_OTHER: &[&str] = &[
    "Roles",
    "CreationTimestamp",
    "Taints",
    "Lease",
    "Capacity",
    "Allocatable",
    "Non-terminated Pods",
    "Allocated resources",
    "Pods",
    "Resource Slices",
    "Events",
];

fn node(fields: &[Field<'_>], line: usize, issues: &mut Vec<TextIssue>) -> Partial<Node> {
    let mut p: Partial<Node> = Partial::new(line);
    p.printed = printed(fields);
    for f in fields {
        let v = f.value;
        if let Some(shown) = metadata_field(&mut p.value.metadata, f) {
            p.record(shown);
            continue;
        }
        let path = match f.key {
            "Unschedulable" => {
                p.value.spec.unschedulable = v == "true";
                "spec.unschedulable"
            }
            "Conditions" => {
                p.value.status.conditions = conditions(f);
                p.show("status.conditions.status");
                "status.conditions.type"
            }
            "Addresses" => {
                p.value.status.addresses = entries(f)
                    .map(|(t, a)| NodeAddress {
                        type_: t.to_string(),
                        address: a.to_string(),
                    })
                    .collect();
                "status.addresses"
            }
            "System Info" => {
                let info = &mut p.value.status.node_info;
                let mut shown = Vec::new();
                for (k, v) in entries(f) {
                    let (field, path) = match k {
                        "Kernel Version" => (&mut info.kernel_version, "kernelVersion"),
                        "OS Image" => (&mut info.os_image, "osImage"),
                        "Operating System" => (&mut info.operating_system, "operatingSystem"),
                        "Architecture" => (&mut info.architecture, "architecture"),
                        "Container Runtime Version" => (
                            &mut info.container_runtime_version,
                            "containerRuntimeVersion",
                        ),
                        "Kubelet Version" => (&mut info.kubelet_version, "kubeletVersion"),
                        "Kube-Proxy Version" => (&mut info.kube_proxy_version, "kubeProxyVersion"),
                        _ => continue,
                    };
                    *field = v.to_string();
                    shown.push(path);
                }
                for path in shown {
                    p.shown.insert(match path {
                        "kernelVersion" => "status.nodeInfo.kernelVersion",
                        "osImage" => "status.nodeInfo.osImage",
                        "operatingSystem" => "status.nodeInfo.operatingSystem",
                        "architecture" => "status.nodeInfo.architecture",
                        "containerRuntimeVersion" => "status.nodeInfo.containerRuntimeVersion",
                        "kubeletVersion" => "status.nodeInfo.kubeletVersion",
                        _ => "status.nodeInfo.kubeProxyVersion",
                    });
                }
                continue;
            }
            "PodCIDR" => {
                p.value.spec.pod_cidr = v.to_string();
                "spec.podCIDR"
            }
            "PodCIDRs" => {
                p.value.spec.pod_cidrs = split_list(v);
                "spec.podCIDRs"
            }
            "ProviderID" => {
                p.value.spec.provider_id = v.to_string();
                "spec.providerID"
            }
            k if NODE_OTHER.contains(&k) => continue,
            other => {
                issues.push(TextIssue::UnknownField {
                    line: f.line,
                    field: other.to_string(),
                });
                continue;
            }
        };
        p.show(path);
    }
    // Printed only when set.
    for path in ["spec.podCIDR", "spec.podCIDRs", "spec.providerID"] {
        p.show(path);
    }
    p
}

/// Fields of `kubectl describe pod` that the model has no place for.
const POD_OTHER: &[&str] = &[
    "Priority",
    "Priority Class Name",
    "Runtime Class Name",
    "Service Account",
    "Start Time",
    "Termination Grace Period",
    "SeccompProfile",
    "LocalhostProfile",
    "Controlled By",
    "NominatedNodeName",
    "Resources",
    "Init Containers",
    "Containers",
    "Ephemeral Containers",
    "Readiness Gates",
    "Volumes",
    "QoS Class",
    "Node-Selectors",
    "Tolerations",
    "Topology Spread Constraints",
    "Scheduling Group",
    "Events",
];

fn pod(fields: &[Field<'_>], line: usize, issues: &mut Vec<TextIssue>) -> Partial<Pod> {
    let mut p: Partial<Pod> = Partial::new(line);
    p.printed = printed(fields);
    for f in fields {
        let v = f.value;
        let status = &mut p.value.status;
        if let Some(shown) = metadata_field(&mut p.value.metadata, f) {
            p.record(shown);
            continue;
        }
        let path = match f.key {
            // `NODE/HOSTIP`, or `<none>` before the pod is scheduled.
            "Node" => {
                if let Some((node, host_ip)) = v.split_once('/') {
                    p.value.spec.node_name = node.to_string();
                    status.host_ip = host_ip.to_string();
                }
                p.show("status.hostIP");
                "spec.nodeName"
            }
            // The phase, or `Terminating (lasts 5s)` for a pod being deleted.
            "Status" => {
                if v.starts_with("Terminating") {
                    continue;
                }
                status.phase = v.to_string();
                "status.phase"
            }
            "Reason" => {
                status.reason = v.to_string();
                "status.reason"
            }
            "Message" => {
                status.message = v.to_string();
                "status.message"
            }
            "IP" => {
                status.pod_ip = v.to_string();
                "status.podIP"
            }
            "IPs" => {
                status.pod_ips = entries(f)
                    .map(|(_, ip)| PodIp { ip: ip.to_string() })
                    .collect();
                "status.podIPs"
            }
            "Conditions" => {
                status.conditions = conditions(f);
                p.show("status.conditions.status");
                "status.conditions.type"
            }
            k if POD_OTHER.contains(&k) => continue,
            other => {
                issues.push(TextIssue::UnknownField {
                    line: f.line,
                    field: other.to_string(),
                });
                continue;
            }
        };
        p.show(path);
    }
    for path in ["status.reason", "status.message"] {
        p.show(path);
    }
    p
}

#[cfg(test)]
mod tests;
