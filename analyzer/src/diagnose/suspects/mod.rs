//! Suspects: when the evidence shows a symptom (a probe that timed out or was refused, a
//! packet capture whose answer never arrived, a health table, a component's error) — or, in a
//! paste, nothing but context — and no check could prove the cause, the catalog entries that
//! would explain it, ranked, each with the one command whose output would settle it.
//!
//! The mapping is by the symptom's shape, from the catalog and upstream behaviour, never case
//! by case ([`entries`] holds the lists):
//!
//! 1. **Signs** come from every shape of evidence: probe outcomes (the signature library's, and
//!    the outcome lines under a typed probe command in any language, [`read`]), tcpdump
//!    conversations (a SYN leaving unanswered, a SYN-ACK arriving but retransmitted: never
//!    delivered), Cilium's health table, ARP replies from several MACs, send queues holding
//!    unacknowledged data, tunnel devices dropping on transmit. The target of a probe is
//!    classified from every source that names addresses: Service objects, headerless kubectl
//!    rows, describe output, the NodePort range, pod addresses, placeholders (`[nodeport]`).
//! 2. **Context** rules entries out or raises them: the proxy mode (any source; a fallback
//!    from IPVS keeps the IPVS entries in), Cilium's kube-proxy replacement, the CNI (links,
//!    pools, routes, logs, install commands, `--pod-network-cidr`), the encapsulation (pools,
//!    devices, capture headers), facts such as `ip_forward = 1`, the OS, where probes ran.
//! 3. **A paste is a ticket**: with no symptom at all, the complaint (the Service is
//!    unreachable) is implied and the suspects come from the context alone, saying so. A
//!    collected bundle is a snapshot: without a symptom it names no suspect.
//! 4. **Messages**: a component message supports every entry it fits, not only the one its
//!    signature names (kube-proxy's "required kernel modules are not loaded" fits C01, C02 and
//!    C04). When a cause was found only from such a message, the other entries it fits are
//!    still named.
//! 5. **Score** (explicit, per entry): for each distinct sign whose list holds the entry,
//!    [`SIGN_WEIGHT`] minus [`SIGN_STEP`] per position; for each context list,
//!    [`CONTEXT_WEIGHT`] minus [`CONTEXT_STEP`] per position ([`PATH_WEIGHT`] for where the
//!    probe ran, a path hint of catalog part 3 rule 4). When an implied complaint about an
//!    unknown address is the only sign, the two swap weights: the context is all there is;
//!    [`RAISE`] per fact that makes the entry likelier; [`SUPPORT`] when a pasted or logged
//!    message fits it. Entries the evidence rules out are dropped, with the reason kept for
//!    the tests. At most [`MAX_SUSPECTS`] are listed.

mod entries;
mod read;

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::decode::modules::ModuleStatus;
use crate::diagnose::catalog;
use crate::diagnose::checks::proxy::component_messages;
use crate::diagnose::{Context, Evidence, Finding, NotConcluded, Severity};
use crate::load::pasted::pasted_artifact;
use crate::observe::{FactKind, Observation};
use crate::signatures;

use entries::{Outcome, Target};
use read::{Printed, Read};

/// The id of every suspect note.
pub const SUSPECT_ID: &str = "suspect";

/// At most this many suspects are named per node: a list an SRE reads in one look. In the
/// corpus of real threads, a cause the paste cannot prove ranks within the first six when its
/// evidence is there at all; longer lists only add the generic tail of every list.
const MAX_SUSPECTS: usize = 6;
/// Score of the first entry of a sign's list, and what each later position costs.
const SIGN_WEIGHT: i64 = 100;
const SIGN_STEP: i64 = 6;
/// The same for a context's list (the CNI, the encapsulation, the proxy mode).
const CONTEXT_WEIGHT: i64 = 60;
const CONTEXT_STEP: i64 = 4;
/// The same for where the probes ran (from a node itself).
const PATH_WEIGHT: i64 = 80;
/// A fact that makes an entry likelier (an el7 node for br_netfilter, Docker for FORWARD
/// DROP, two uplinks for a wrong interface).
const RAISE: i64 = 40;
/// A component message that fits the entry.
const SUPPORT: i64 = 150;

/// One sign: the entries that explain it, what it is, where it was seen.
#[derive(Debug, Clone)]
struct Sign {
    list: &'static [&'static str],
    what: String,
    evidence: Evidence,
    /// Nothing of a symptom was pasted: the complaint is implied.
    implied: bool,
    /// For an implied complaint: whether the address is unknown too.
    blind: bool,
}

/// A Service as the suspects see it, from objects or table rows.
#[derive(Debug, Clone, Default)]
struct Svc {
    type_: String,
    addresses: Vec<String>,
    external: Vec<String>,
    node_ports: Vec<u16>,
    /// `Cluster` or `Local` when the object says.
    etp: Option<String>,
    /// Whether the paste shows endpoints for it (Some(true)), shows none (Some(false)).
    endpoints: Option<bool>,
}

/// What the evidence establishes around the symptom.
#[derive(Debug, Default)]
struct Setting {
    read: Read,
    /// kube-proxy's mode as far as known (configured, or in use).
    mode: Option<(String, Evidence)>,
    /// kube-proxy wanted IPVS (configured, or fell back from it).
    ipvs_wanted: Option<Evidence>,
    /// Why IPVS cannot be in use (kube-proxy older than the IPVS proxier).
    ipvs_impossible: Option<String>,
    /// (cni, inferred, evidence): inferred ones raise their entries, never rule others out.
    cni: Vec<(&'static str, bool, Evidence)>,
    /// (`vxlan` | `ipip`, evidence).
    encapsulation: Vec<(&'static str, Evidence)>,
    /// Every Calico pool shown says ipipMode Never, and one uses VXLAN.
    pools_vxlan_not_ipip: Option<Evidence>,
    /// Every Calico pool shown says vxlanMode Never.
    pools_no_vxlan: Option<Evidence>,
    from_node: Option<Evidence>,
    localhost_probe: Option<Evidence>,
    multi_nic: Option<Evidence>,
    services: Vec<Svc>,
    /// A failing Service address whose Service answered on another (or the same) address.
    service_answered: Option<Evidence>,
}

impl Setting {
    fn has_cni(&self, cni: &str) -> bool {
        self.cni
            .iter()
            .any(|(c, _, _)| *c == cni || (*c == "canal" && (cni == "calico" || cni == "flannel")))
    }

    /// The CNIs the evidence states (not inferred); canal is Calico's policy on flannel.
    fn stated_cni(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for (c, inferred, _) in &self.cni {
            if *inferred {
                continue;
            }
            let names: &[&'static str] = if *c == "canal" {
                &["calico", "flannel"]
            } else {
                std::slice::from_ref(c)
            };
            for n in names {
                if !out.contains(n) {
                    out.push(n);
                }
            }
        }
        out
    }

    fn encapsulated(&self, kind: &str) -> bool {
        self.encapsulation.iter().any(|(k, _)| *k == kind)
    }

    fn mode(&self) -> Option<&str> {
        self.mode.as_ref().map(|(m, _)| m.as_str())
    }
}

/// The pasted files' texts, as (file, text).
fn pasted_texts(cx: &Context<'_>) -> Vec<(String, String)> {
    cx.node
        .bundle
        .pasted()
        .iter()
        .filter_map(|f| {
            let bytes = cx.node.bundle.file(&pasted_artifact(&f.path))?;
            Some((f.path.clone(), String::from_utf8_lossy(bytes).into_owned()))
        })
        .collect()
}

fn setting(cx: &Context<'_>) -> Setting {
    let texts = pasted_texts(cx);
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(f, t)| (f.as_str(), t.as_str()))
        .collect();
    let read = read::read_all(&files);
    let mut s = Setting::default();
    let obs = &cx.node.observations;
    // The proxy mode: the configuration's, else a pasted kube-proxy configuration fragment,
    // else what kube-proxy said it uses.
    s.mode = cx
        .proxy_mode
        .as_ref()
        .map(|m| (m.mode.clone(), m.evidence.clone()))
        .or_else(|| read.proxy_mode.clone())
        .or_else(|| {
            obs.iter()
                .find(|o| o.kind == FactKind::ProxyMode)
                .map(|o| (o.value.clone(), o.evidence.clone()))
        });
    // IPVS wanted: configured, or kube-proxy fell back from it or said it cannot use it (its
    // IPVS check runs only when the mode asks for IPVS). The IPVS entries stay in then,
    // whatever mode it fell back to.
    s.ipvs_wanted = s
        .mode
        .as_ref()
        .filter(|(m, _)| m == "ipvs")
        .map(|(_, e)| e.clone())
        .or_else(|| {
            obs.iter()
                .find(|o| {
                    o.kind == FactKind::IpvsUnavailable
                        || (o.kind == FactKind::ProxyModeFallback && o.subject.contains("ipvs"))
                })
                .map(|o| o.evidence.clone())
        });
    // The IPVS proxier arrived in Kubernetes 1.8 (alpha): older kube-proxy has no IPVS mode.
    if let Some((minor, e)) = &read.k8s_minor {
        if *minor < 8 {
            s.ipvs_impossible = Some(format!(
                "Kubernetes 1.{minor} has no IPVS proxier (it arrived in 1.8) ({} {})",
                e.artifact, e.locator
            ));
        }
    }
    cni_and_encapsulation(cx, &read, &mut s);
    s.services = services(cx, &read);
    // Where probes ran.
    s.from_node = read
        .probes
        .iter()
        .filter(|p| p.from_node)
        .map(|p| p.evidence.clone())
        .chain(
            read.probe_commands
                .iter()
                .filter(|(_, node, _)| *node)
                .map(|(_, _, e)| e.clone()),
        )
        .next();
    s.localhost_probe = read
        .probe_commands
        .iter()
        .find(|(t, _, _)| t.starts_with("localhost") || t.starts_with("127."))
        .map(|(_, _, e)| e.clone());
    // Two or more uplinks: interfaces that are neither virtual nor loopback.
    let mut uplinks: Vec<(String, Evidence)> = read
        .interfaces
        .iter()
        .map(|(n, e)| (n.clone(), e.clone()))
        .collect();
    if let Ok(links) = cx.node.links.as_ref() {
        for l in links {
            if !uplinks.iter().any(|(n, _)| n == l.ifname()) {
                uplinks.push((
                    l.ifname().to_string(),
                    Evidence::new("links", format!("link {}", l.ifname()), l.ifname()),
                ));
            }
        }
    }
    uplinks.retain(|(n, _)| is_uplink(n));
    if uplinks.len() >= 2 {
        s.multi_nic = Some(uplinks[1].1.clone());
    }
    s.read = read;
    s
}

/// A physical-looking interface name (Ethernet, bond, VLAN on one, wireless).
fn is_uplink(name: &str) -> bool {
    let base = name.split(['@', '.']).next().unwrap_or(name);
    ["eth", "en", "em", "bond", "wl", "ib"]
        .iter()
        .any(|p| base.starts_with(p) && base.len() > p.len())
}

fn cni_and_encapsulation(cx: &Context<'_>, read: &Read, s: &mut Setting) {
    let obs = &cx.node.observations;
    let link_names: Vec<String> = cx
        .node
        .links
        .as_ref()
        .map(|l| l.iter().map(|l| l.ifname().to_string()).collect())
        .unwrap_or_default();
    let names = link_names
        .iter()
        .map(|n| {
            (
                n.as_str(),
                Evidence::new("links", format!("link {n}"), n.as_str()),
            )
        })
        .chain(read.interfaces.iter().map(|(n, e)| (n.as_str(), e.clone())))
        .collect::<Vec<_>>();
    let mut push = |cni: &'static str, inferred: bool, e: Evidence| {
        if !s.cni.iter().any(|(c, i, _)| *c == cni && *i == inferred) {
            s.cni.push((cni, inferred, e));
        }
    };
    for (n, e) in &names {
        if n.starts_with("cali") || *n == "vxlan.calico" {
            push("calico", false, e.clone());
        }
        if n.starts_with("flannel") {
            push("flannel", false, e.clone());
        }
        if n.starts_with("cilium") {
            push("cilium", false, e.clone());
        }
        if n.starts_with("antrea") {
            push("antrea", false, e.clone());
        }
        if n.starts_with("weave") {
            push("weave", false, e.clone());
        }
    }
    let pools = &cx.cluster.state.ip_pools;
    if let Some(p) = pools.first() {
        push(
            "calico",
            false,
            Evidence::new(
                "k8s/ippools",
                format!("pool {}", p.metadata.name),
                &p.spec.cidr,
            ),
        );
    }
    for o in obs {
        let sig = o.signature.unwrap_or("");
        if sig.starts_with("calico") || sig.starts_with("bird") {
            push("calico", false, o.evidence.clone());
        }
        if matches!(o.kind, FactKind::CalicoIpipMode | FactKind::CalicoVxlanMode) {
            push("calico", false, o.evidence.clone());
        }
        if matches!(
            o.kind,
            FactKind::FlannelInterface | FactKind::FlannelBackend
        ) || sig.starts_with("flannel")
        {
            push("flannel", false, o.evidence.clone());
        }
    }
    if let Some((_, _, e)) = read.bird_routes.first() {
        push("calico", false, e.clone());
    }
    if let Some((_, _, e)) = read.pools.first() {
        push("calico", false, e.clone());
    }
    for (c, inferred, e) in &read.cni {
        push(c, *inferred, e.clone());
    }
    // k3s ships flannel with the VXLAN backend unless told otherwise (k3s docs, "Networking
    // options": --flannel-backend defaults to vxlan): a hint, never a rule.
    if let Some(e) = &read.k3s {
        push("flannel", true, e.clone());
        if s.stated_cni().is_empty() || s.has_cni("flannel") {
            s.encapsulation.push(("vxlan", e.clone()));
        }
    }
    // Encapsulation: pools, flannel's backend, devices that carry traffic, capture headers.
    let mut enc = |k: &'static str, e: Evidence| {
        if !s.encapsulation.iter().any(|(x, _)| *x == k) {
            s.encapsulation.push((k, e));
        }
    };
    let mode_of = |kind: FactKind| {
        obs.iter()
            .filter(move |o| o.kind == kind)
            .map(|o| (o.value.clone(), o.evidence.clone()))
    };
    let on = |m: &str| matches!(m, "Always" | "CrossSubnet");
    let ipip: Vec<(String, Evidence)> = pools
        .iter()
        .map(|p| {
            (
                p.spec.ipip_mode.clone(),
                Evidence::new(
                    "k8s/ippools",
                    format!("pool {}", p.metadata.name),
                    format!("ipipMode: {}", p.spec.ipip_mode),
                ),
            )
        })
        .chain(mode_of(FactKind::CalicoIpipMode))
        .chain(read.pools.iter().map(|(i, _, e)| (i.clone(), e.clone())))
        .collect();
    let vxlan: Vec<(String, Evidence)> = pools
        .iter()
        .map(|p| {
            (
                p.spec.vxlan_mode.clone(),
                Evidence::new(
                    "k8s/ippools",
                    format!("pool {}", p.metadata.name),
                    format!("vxlanMode: {}", p.spec.vxlan_mode),
                ),
            )
        })
        .chain(mode_of(FactKind::CalicoVxlanMode))
        .chain(read.pools.iter().map(|(_, v, e)| (v.clone(), e.clone())))
        .collect();
    for (m, e) in ipip.iter().filter(|(m, _)| on(m)) {
        let _ = m;
        enc("ipip", e.clone());
    }
    for (m, e) in vxlan.iter().filter(|(m, _)| on(m)) {
        let _ = m;
        enc("vxlan", e.clone());
    }
    let ipip_never = !ipip.is_empty() && ipip.iter().all(|(m, _)| m == "Never");
    if ipip_never && vxlan.iter().any(|(m, _)| on(m)) {
        s.pools_vxlan_not_ipip = ipip.first().map(|(_, e)| e.clone());
    }
    if !vxlan.is_empty() && vxlan.iter().all(|(m, _)| m == "Never") && !ipip.is_empty() {
        s.pools_no_vxlan = vxlan.first().map(|(_, e)| e.clone());
    }
    for o in obs.iter().filter(|o| o.kind == FactKind::FlannelBackend) {
        match o.value.as_str() {
            "vxlan" => enc("vxlan", o.evidence.clone()),
            "ipip" => enc("ipip", o.evidence.clone()),
            _ => {}
        }
    }
    for (n, e) in &names {
        if *n == "flannel.1" || *n == "vxlan.calico" || *n == "cilium_vxlan" {
            enc("vxlan", e.clone());
        }
    }
    // tunl0 exists whenever the ipip module is loaded; it carries traffic when it is up with
    // an address or routes use it (catalog C28).
    if let Some(t) = cx.node.link("tunl0") {
        let addressed = cx.node.addrs_of(t.summary.ifindex).next().is_some();
        if t.is_up() && addressed {
            enc(
                "ipip",
                Evidence::new("links", "link tunl0", "tunl0 up with an address"),
            );
        }
    }
    if let Some(r) = cx.node.routes_via("tunl0").next() {
        enc(
            "ipip",
            Evidence::new(
                "routes",
                format!("route {}", r.dst),
                format!("{} dev tunl0", r.dst),
            ),
        );
    }
    for dev in ["flannel.1", "vxlan.calico"] {
        if let Some(r) = cx.node.routes_via(dev).next() {
            enc(
                "vxlan",
                Evidence::new(
                    "routes",
                    format!("route {}", r.dst),
                    format!("{} dev {dev}", r.dst),
                ),
            );
        }
    }
    for (k, e) in &read.encapsulation {
        enc(k, e.clone());
    }
    // An IPIP tunnel device in use with no CNI named: Calico's (flannel's IPIP backend uses
    // flannel.ipip, Cilium has none).
    if s.encapsulated("ipip") && s.cni.is_empty() {
        if let Some((_, e)) = s.encapsulation.iter().find(|(k, _)| *k == "ipip") {
            let e = e.clone();
            s.cni.push(("calico", true, e));
        }
    }
}

fn services(cx: &Context<'_>, read: &Read) -> Vec<Svc> {
    let cluster = cx.cluster;
    let mut out: Vec<Svc> = cluster
        .state
        .services
        .iter()
        .map(|sv| {
            let (ns, name) = (&sv.metadata.namespace, &sv.metadata.name);
            let mut addresses: Vec<String> = sv.spec.cluster_ips.clone();
            if !sv.spec.cluster_ip.is_empty() && !addresses.contains(&sv.spec.cluster_ip) {
                addresses.push(sv.spec.cluster_ip.clone());
            }
            let mut external = sv.spec.external_ips.clone();
            external.extend(
                sv.status
                    .load_balancer
                    .ingress
                    .iter()
                    .map(|i| i.ip.clone())
                    .filter(|i| !i.is_empty()),
            );
            if !sv.spec.load_balancer_ip.is_empty() {
                external.push(sv.spec.load_balancer_ip.clone());
            }
            let ready_endpoints = cluster
                .endpoints_of(ns, name)
                .map(|e| e.subsets.iter().any(|s| !s.addresses.is_empty()))
                .or_else(|| {
                    let mut slices = cluster.slices_of(ns, name).peekable();
                    slices.peek()?;
                    Some(slices.any(|s| !s.endpoints.is_empty()))
                });
            Svc {
                type_: if sv.spec.type_.is_empty() {
                    "ClusterIP".to_string()
                } else {
                    sv.spec.type_.clone()
                },
                addresses,
                external,
                node_ports: sv
                    .spec
                    .ports
                    .iter()
                    .filter_map(|p| p.node_port.and_then(|n| u16::try_from(n).ok()))
                    .collect(),
                etp: (!sv.spec.external_traffic_policy.is_empty())
                    .then(|| sv.spec.external_traffic_policy.clone()),
                endpoints: ready_endpoints,
            }
        })
        .collect();
    for (row, _) in &read.services {
        if out
            .iter()
            .any(|s| s.addresses.iter().any(|a| row.addresses.contains(a)))
        {
            continue;
        }
        out.push(Svc {
            type_: row.type_.clone(),
            addresses: row.addresses.clone(),
            external: row.external.clone(),
            node_ports: row.node_ports.clone(),
            etp: None,
            endpoints: None,
        });
    }
    out
}

/// What kind of address `subject` (`addr:port`, `addr`, a URL, a placeholder) is.
fn classify(cx: &Context<'_>, services: &[Svc], subject: &str) -> Target {
    let (host, port) = host_port(subject);
    let lower = subject.to_ascii_lowercase();
    let ip: Option<IpAddr> = host.parse().ok();
    if port == Some(53) || host.ends_with(".svc.cluster.local") || host.contains("kube-dns") {
        return Target::Dns;
    }
    if let Some(ip) = ip {
        let is = |s: &str| s.parse::<IpAddr>().ok() == Some(ip);
        for s in services {
            if s.addresses.iter().any(|a| is(a)) {
                return Target::ClusterIp;
            }
            if s.external.iter().any(|a| is(a)) {
                return Target::LoadBalancer;
            }
        }
        if cx
            .cluster
            .state
            .pods
            .iter()
            .any(|p| p.status.pod_ips.iter().any(|a| is(&a.ip)) || is(&p.status.pod_ip))
        {
            return Target::Pod;
        }
    }
    let node_ports = services.iter().flat_map(|s| s.node_ports.iter());
    if port.is_some_and(|p| (30000..=32767).contains(&p))
        || port.is_some_and(|p| node_ports.clone().any(|n| *n == p))
        || lower.contains("nodeport")
    {
        return Target::NodePort;
    }
    if host.contains(".svc") || lower.contains("clusterip") || lower.contains("cluster-ip") {
        return Target::ClusterIp;
    }
    if let Some(IpAddr::V4(v4)) = ip {
        // kubeadm's defaults: 10.96.0.0/12 for Services, 10.244.0.0/16 (flannel) and
        // 192.168.0.0/16 (Calico) for pods; only a hint when the objects were not pasted.
        let o = v4.octets();
        if o[0] == 10 && (96..112).contains(&o[1]) {
            return Target::ClusterIp;
        }
        if o[0] == 10 && o[1] == 244 {
            return Target::Pod;
        }
    }
    Target::Unknown
}

/// `10.0.0.1:80`, `[fd00::1]:80`, `http://x:80/path`, `x port 80` → (host, port).
fn host_port(subject: &str) -> (String, Option<u16>) {
    let s = subject
        .trim()
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let s = s.split('/').next().unwrap_or(s);
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once(']') {
            if h.contains(':') || h.parse::<IpAddr>().is_ok() {
                return (h.to_string(), p.trim_start_matches(':').parse().ok());
            }
        }
    }
    if let Some((h, p)) = s.split_once(" port ") {
        return (h.to_string(), p.trim().parse().ok());
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h.to_string(), p.trim().parse().ok()),
        _ => (s.to_string(), None),
    }
}

/// The host part of a probe's address, for grouping attempts at one address.
fn host_of(subject: &str) -> String {
    host_port(subject).0
}

/// One attempt at an address: what it aimed at, how it ended, where it was read.
struct Attempt {
    target: Target,
    subject: String,
    failed: Option<Outcome>,
    evidence: Evidence,
}

/// Every probe outcome: the pasted transcript's (with the typed command's address), then the
/// signature library's on lines the transcript did not read (and a native bundle's).
fn attempts(cx: &Context<'_>, s: &Setting) -> Vec<Attempt> {
    let mut out = Vec::new();
    let choose = |subject: Option<&str>, typed: Option<&str>| -> (Target, String) {
        let by_msg = subject.map(|x| (classify(cx, &s.services, x), x.to_string()));
        let by_typed = typed.map(|x| (classify(cx, &s.services, x), x.to_string()));
        match (by_msg, by_typed) {
            (Some(m), Some(t)) if m.0 == Target::Unknown && t.0 != Target::Unknown => t,
            (Some(m), _) => m,
            (None, Some(t)) => t,
            (None, None) => (Target::Unknown, String::new()),
        }
    };
    for p in &s.read.probes {
        let (target, subject) = choose(p.subject.as_deref(), p.typed.as_deref());
        out.push(Attempt {
            target,
            subject,
            failed: match p.printed {
                Printed::Answered => None,
                Printed::Refused => Some(Outcome::Refused),
                Printed::Timeout | Printed::NoRoute => Some(Outcome::Dropped),
            },
            evidence: p.evidence.clone(),
        });
    }
    for o in &cx.node.observations {
        let failed = match o.kind {
            FactKind::ProbeFailed => match o.value.as_str() {
                "refused" | "reset" => Some(Outcome::Refused),
                _ => Some(Outcome::Dropped),
            },
            FactKind::ProbeAnswered => None,
            _ => continue,
        };
        let seen = out.iter().any(|a| {
            a.evidence.artifact == o.evidence.artifact && a.evidence.locator == o.evidence.locator
        });
        if seen {
            continue;
        }
        let target = if o.value == "dns" {
            Target::Dns
        } else {
            classify(cx, &s.services, &o.subject)
        };
        out.push(Attempt {
            target,
            subject: o.subject.clone(),
            failed,
            evidence: o.evidence.clone(),
        });
    }
    out
}

fn signs(cx: &Context<'_>, s: &mut Setting) -> Vec<Sign> {
    let mut out = Vec::new();
    let sign = |list, what: String, evidence: Evidence| Sign {
        list,
        what,
        evidence,
        implied: false,
        blind: false,
    };
    let attempts = attempts(cx, s);
    for a in attempts.iter() {
        let Some(outcome) = a.failed else { continue };
        let host = host_of(&a.subject);
        // The same address answered too: some paths work and others do not.
        // Within one pasted block: separate blocks are often "expected" and "actual", or
        // before and after a change.
        let answered = attempts.iter().any(|b| {
            b.failed.is_none()
                && !host.is_empty()
                && host_of(&b.subject) == host
                && b.evidence.artifact == a.evidence.artifact
        });
        let outcome = if answered {
            Outcome::Intermittent
        } else {
            outcome
        };
        // Another address of the same Service answered: it has endpoints that listen.
        if let Some(svc) = s
            .services
            .iter()
            .find(|v| v.addresses.iter().chain(&v.external).any(|x| *x == host))
        {
            let sibling = attempts.iter().find(|b| {
                b.failed.is_none()
                    && svc
                        .addresses
                        .iter()
                        .chain(&svc.external)
                        .any(|x| *x == host_of(&b.subject))
            });
            if let Some(b) = sibling {
                s.service_answered = Some(b.evidence.clone());
            }
        }
        let word = match outcome {
            Outcome::Refused => "refused",
            Outcome::Intermittent => "failed, and answered at other times",
            _ => "no answer",
        };
        out.push(sign(
            entries::connection(a.target, outcome),
            format!("{word}: {} ({})", a.subject, a.target.describe()),
            a.evidence.clone(),
        ));
    }
    let r = &s.read;
    for (server, e) in &r.reply_retransmitted {
        out.push(sign(
            entries::REPLY_NOT_DELIVERED,
            format!("the answer from {server} arrives but is sent again: it was not delivered"),
            e.clone(),
        ));
    }
    for (dst, e) in &r.request_unanswered {
        out.push(sign(
            entries::REQUEST_UNANSWERED,
            format!("a connection to {dst} leaves with no answer in the capture"),
            e.clone(),
        ));
    }
    if let Some(e) = r.send_queue_stuck.first() {
        out.push(sign(
            entries::DATA_STALLED,
            "established connections hold unacknowledged data in their send queues".to_string(),
            e.clone(),
        ));
    }
    for (dev, n, e) in &r.tunnel_tx_drops {
        out.push(sign(
            entries::TUNNEL_TX_DROPS,
            format!("{dev} dropped {n} packets on transmit"),
            e.clone(),
        ));
    }
    for (name, node_ok, ep_ok, e) in &r.health {
        if !node_ok && *ep_ok {
            out.push(sign(
                entries::NODE_HEALTH_UNREACHABLE,
                format!("Cilium health: node {name} unreachable while its endpoints answer"),
                e.clone(),
            ));
        } else if !ep_ok {
            out.push(sign(
                entries::connection(Target::Pod, Outcome::Dropped),
                format!("Cilium health: the endpoints of {name} are unreachable"),
                e.clone(),
            ));
        }
    }
    for (ip, (macs, e)) in &r.arp {
        if macs.len() > 1 {
            out.push(sign(
                entries::ARP_SEVERAL_MACS,
                format!("{} MAC addresses answer ARP for {ip}", macs.len()),
                e.clone(),
            ));
        }
    }
    out
}

/// The complaint a paste implies when it shows no symptom: the Service it is about (its type,
/// from the objects or the probe commands typed), unreachable.
fn implied(cx: &Context<'_>, s: &Setting) -> Sign {
    let rank = |t: Target| match t {
        Target::LoadBalancer => 4,
        Target::NodePort => 3,
        Target::ClusterIp => 2,
        Target::Dns => 1,
        _ => 0,
    };
    let mut best = (Target::Unknown, None::<Evidence>);
    for sv in &s.services {
        let t = match sv.type_.as_str() {
            "LoadBalancer" => Target::LoadBalancer,
            "NodePort" => Target::NodePort,
            _ => Target::ClusterIp,
        };
        if rank(t) > rank(best.0) {
            best = (t, None);
        }
    }
    for (target, _, e) in &s.read.probe_commands {
        let t = classify(cx, &s.services, target);
        if rank(t) > rank(best.0) {
            best = (t, Some(e.clone()));
        }
    }
    let evidence = best
        .1
        .or_else(|| {
            cx.node
                .bundle
                .pasted()
                .first()
                .map(|f| Evidence::new(&f.path, "file", ""))
        })
        .unwrap_or_else(|| Evidence::new("", "", ""));
    Sign {
        list: entries::connection(best.0, Outcome::Unknown),
        what: format!(
            "no symptom was pasted: the complaint is taken to be {} that cannot be reached",
            best.0.describe()
        ),
        evidence,
        implied: true,
        blind: best.0 == Target::Unknown,
    }
}

/// The context's lists: (list, weight, step, why).
fn context_lists(s: &Setting, blind: bool) -> Vec<(&'static [&'static str], i64, i64, String)> {
    let (w, step) = if blind {
        (SIGN_WEIGHT, SIGN_STEP)
    } else {
        (CONTEXT_WEIGHT, CONTEXT_STEP)
    };
    let mut out = Vec::new();
    let cite = |e: &Evidence| format!("{} {}", e.artifact, e.locator);
    let cni_e = |c: &str| {
        s.cni
            .iter()
            .find(|(x, _, _)| *x == c || *x == "canal")
            .map(|(_, _, e)| cite(e))
            .unwrap_or_default()
    };
    let vxlan = s.encapsulated("vxlan");
    let ipip = s.encapsulated("ipip");
    if s.has_cni("calico") {
        let list = if vxlan {
            entries::CALICO_VXLAN
        } else if ipip {
            entries::CALICO_IPIP
        } else {
            entries::CALICO
        };
        out.push((list, w, step, format!("Calico ({})", cni_e("calico"))));
    }
    if s.has_cni("flannel") {
        out.push((
            entries::FLANNEL,
            w,
            step,
            format!("flannel ({})", cni_e("flannel")),
        ));
    }
    if s.has_cni("cilium") {
        out.push((
            entries::CILIUM,
            w,
            step,
            format!("Cilium ({})", cni_e("cilium")),
        ));
    }
    if s.cni.is_empty() {
        if let Some((k, e)) = s.encapsulation.first() {
            let list = if *k == "vxlan" {
                entries::VXLAN_ANY
            } else {
                entries::IPIP_ANY
            };
            out.push((list, w, step, format!("{k} overlay ({})", cite(e))));
        }
    }
    if s.ipvs_impossible.is_none() {
        if let Some(e) = &s.ipvs_wanted {
            out.push((
                entries::IPVS,
                w,
                step,
                format!("kube-proxy wants IPVS ({})", cite(e)),
            ));
        }
    }
    if let Some(e) = &s.from_node {
        out.push((
            entries::FROM_NODE,
            PATH_WEIGHT,
            SIGN_STEP,
            format!("probed from a node itself ({})", cite(e)),
        ));
    }
    out
}

/// Facts that make an entry likelier: (entry, why).
fn raises(s: &Setting) -> Vec<(&'static str, String)> {
    let cite = |e: &Evidence| format!("{} {}", e.artifact, e.locator);
    let mut out = Vec::new();
    let r = &s.read;
    if let Some(e) = &r.el7 {
        // kubeadm's install guide (RHEL/CentOS 7): "traffic being routed incorrectly due to
        // iptables being bypassed" unless net.bridge.bridge-nf-call-iptables is 1.
        out.push(("C22", format!("RHEL/CentOS 7, where bridged traffic bypasses iptables unless bridge-nf-call-iptables is set ({})", cite(e))));
    }
    if let Some(e) = &r.docker {
        // Docker 1.13 sets the filter FORWARD policy to DROP (moby PR 28257).
        out.push((
            "C23",
            format!(
                "Docker runs here and sets the FORWARD policy to DROP ({})",
                cite(e)
            ),
        ));
    }
    if let Some(e) = &r.filter_chains {
        for c in ["C23", "C14", "C26"] {
            out.push((
                c,
                format!("the paste shows the filter chains ({})", cite(e)),
            ));
        }
    }
    if let Some(e) = &s.multi_nic {
        for c in ["C37", "C29", "C24", "C10", "C57"] {
            out.push((
                c,
                format!("the node has more than one uplink ({})", cite(e)),
            ));
        }
    }
    if let Some(e) = &s.localhost_probe {
        out.push((
            "C11",
            format!("a NodePort probed on localhost ({})", cite(e)),
        ));
    }
    if s.services.iter().any(|v| v.etp.as_deref() == Some("Local")) {
        out.push((
            "C19",
            "a Service has externalTrafficPolicy Local".to_string(),
        ));
    }
    // Consecutive MACs of one vendor prefix are ports of one machine: one node answering
    // from several interfaces rather than several nodes.
    for (ip, (macs, e)) in &r.arp {
        let prefixes: std::collections::BTreeSet<&str> =
            macs.iter().filter_map(|m| m.get(..14)).collect();
        if macs.len() > 1 && prefixes.len() == 1 {
            out.push((
                "C57",
                format!(
                    "the MACs answering for {ip} differ only in the last byte: one machine ({})",
                    cite(e)
                ),
            ));
        }
    }
    // One pod block routed by BIRD through tunl0 in one place and past it in another.
    for (dst, dev, e) in &r.bird_routes {
        if dev != "tunl0"
            && r.bird_routes
                .iter()
                .any(|(d, v, _)| d == dst && v == "tunl0")
        {
            out.push((
                "C49",
                format!(
                    "{dst} is routed via {dev}, elsewhere via tunl0 ({})",
                    cite(e)
                ),
            ));
            break;
        }
    }
    out
}

/// Why an entry is out of the running, from the facts at hand; None when it stays in.
fn ruled_out(cx: &Context<'_>, s: &Setting, entry: &str, found: &[Finding]) -> Option<String> {
    let cite = |e: &Evidence| format!("{} {}", e.artifact, e.locator);
    if found
        .iter()
        .any(|f| f.catalog == entry && f.severity != Severity::Info)
    {
        return Some("reported as a finding".to_string());
    }
    if let Some(e) = &s.read.kube_proxy_replaced {
        if entries::KUBE_PROXY.contains(&entry) {
            return Some(format!("Cilium replaces kube-proxy ({})", cite(e)));
        }
    }
    if entries::IPVS_ONLY.contains(&entry) {
        if let Some(why) = &s.ipvs_impossible {
            return Some(why.clone());
        }
        if let (Some(m), None) = (s.mode(), &s.ipvs_wanted) {
            if m != "ipvs" {
                return Some(format!("kube-proxy runs in {m} mode"));
            }
        }
    }
    let sysctl_is = |key: &str, v: &str| cx.node.sysctl(key) == Some(v);
    let loaded = |m: &str| {
        matches!(
            cx.node.module(m),
            ModuleStatus::Loaded { .. } | ModuleStatus::BuiltIn { .. }
        )
    };
    let shown = match entry {
        "C01" => s.mode() == Some("ipvs") && loaded("ip_vs"),
        "C21" => sysctl_is("net.ipv4.ip_forward", "1"),
        "C22" => loaded("br_netfilter") && sysctl_is("net.bridge.bridge-nf-call-iptables", "1"),
        _ => false,
    };
    if shown {
        return Some("the evidence shows it is not the case".to_string());
    }
    let cni = s.stated_cni();
    if !cni.is_empty() {
        let only = |c: &str, list: &[&str]| list.contains(&entry) && !cni.contains(&c);
        if only("calico", entries::CALICO_ONLY)
            || only("flannel", entries::FLANNEL_ONLY)
            || only("cilium", entries::CILIUM_ONLY)
        {
            return Some(format!("the CNI is {}", cni.join(", ")));
        }
        // br_netfilter matters where pods hang off a Linux bridge (flannel's cni0, the bridge
        // plugin, kubenet); Calico's and Cilium's routed veths never cross one (catalog C22).
        if entry == "C22" && cni.iter().all(|c| *c == "calico" || *c == "cilium") {
            return Some(format!(
                "the CNI ({}) routes pod traffic without a bridge",
                cni.join(", ")
            ));
        }
    }
    if entries::VXLAN_ONLY.contains(&entry) && !s.encapsulated("vxlan") {
        if let Some(e) = &s.pools_no_vxlan {
            return Some(format!("no pool uses VXLAN ({})", cite(e)));
        }
    }
    if entries::IPIP_ONLY.contains(&entry) {
        if let Some(e) = &s.pools_vxlan_not_ipip {
            return Some(format!(
                "every pool says ipipMode Never and VXLAN carries the overlay ({})",
                cite(e)
            ));
        }
    }
    let external: Vec<&Svc> = s
        .services
        .iter()
        .filter(|v| v.type_ == "NodePort" || v.type_ == "LoadBalancer")
        .collect();
    if entry == "C19"
        && !external.is_empty()
        && external.iter().all(|v| v.etp.as_deref() == Some("Cluster"))
    {
        return Some(
            "every NodePort or LoadBalancer Service shown has externalTrafficPolicy Cluster"
                .to_string(),
        );
    }
    if matches!(entry, "C16" | "C17" | "C18") {
        if let Some(e) = &s.service_answered {
            return Some(format!(
                "the Service answered on one of its addresses: it has endpoints that listen ({})",
                cite(e)
            ));
        }
    }
    if matches!(entry, "C16" | "C17")
        && !s.services.is_empty()
        && s.services.iter().all(|v| v.endpoints == Some(true))
    {
        return Some("every Service shown has ready endpoints".to_string());
    }
    if entry == "C23" {
        if let Some(e) = &s.read.forward_accept {
            return Some(format!("the FORWARD policy is ACCEPT ({})", cite(e)));
        }
    }
    None
}

/// The catalog entries a component message fits beyond its signature's own: the same words
/// are printed for several causes (failure catalog, appendix).
fn fits(o: &Observation) -> &'static [&'static str] {
    match o.kind {
        // "required kernel modules are not loaded": not installed (C01), built in and invisible
        // to lsmod (C02, fixed upstream by PR 82223), or modprobe impossible in the container
        // (C04).
        FactKind::IpvsUnavailable | FactKind::ProxyModeFallback => &["C01", "C02", "C04"],
        FactKind::ModuleNotLoaded | FactKind::ModuleLoadFailed if o.subject.contains("ip_vs") => {
            &["C01", "C02", "C04"]
        }
        FactKind::IpsetFailed => &["C05"],
        FactKind::IptablesRestoreFailed | FactKind::IptablesExtensionMissing => &["C09", "C08"],
        FactKind::IptablesTableMissing => &["C08", "C09"],
        FactKind::IptablesLegacyTablesPresent => &["C08"],
        FactKind::NodeNotFound | FactKind::NodeIpFallback => &["C07"],
        FactKind::FlannelInterface => &["C37"],
        FactKind::CalicoAutodetected | FactKind::NodeAddressConflict => &["C29"],
        FactKind::BgpNotEstablished => &["C30", "C29"],
        FactKind::ServiceNoEndpoints => &["C16", "C17"],
        FactKind::ApiServerUnreachable => &["C06"],
        FactKind::ConntrackTableFull => &["C25"],
        FactKind::MartianSource => &["C24"],
        FactKind::PodCidrMissing => &["C35"],
        FactKind::IpvsNetlinkMismatch => &["C41"],
        FactKind::NftablesFailed => &["C42", "C43"],
        FactKind::IpvsNoDestination => &["C16", "C17", "C19"],
        _ => &[],
    }
}

/// The messages that support an entry: its signature names it, or the message fits it.
fn support<'a>(cx: &'a Context<'_>, entry: &str) -> Vec<&'a Observation> {
    cx.node
        .observations
        .iter()
        // Probe outcomes are signs, not a component's word about a cause.
        .filter(|o| !matches!(o.kind, FactKind::ProbeFailed | FactKind::ProbeAnswered))
        .filter(|o| {
            o.signature
                .and_then(|id| signatures::all().find(|s| s.id == id))
                .is_some_and(|s| s.catalog.contains(&entry))
                || (o.signature.is_some() && fits(o).contains(&entry))
        })
        .collect()
}

#[derive(Default)]
struct Score {
    points: i64,
    why: Vec<String>,
    evidence: Vec<Evidence>,
}

/// The ranked suspects of one node, as "not concluded" notes, given its findings.
pub fn suspects(cx: &Context<'_>, found: &[Finding]) -> Vec<NotConcluded> {
    let stated_id = component_messages::INFO.id;
    // A cause a check proved explains what was seen: suspects are for what is not explained.
    let is_proven = |f: &&Finding| f.severity == Severity::Error && f.is_cause;
    if found.iter().filter(is_proven).any(|f| f.id != stated_id) {
        return Vec::new();
    }
    // Found only from a component's own words: the entries the same words fit stay named.
    let stated_only = found.iter().any(|f| is_proven(&f));
    let mut s = setting(cx);
    let mut signs = signs(cx, &mut s);
    // A collected bundle is a snapshot, not a complaint: without a symptom in it, messages
    // alone (kube-proxy logs harmless modprobe failures) name no suspect. A paste is a ticket:
    // someone has a problem, and with no symptom pasted the complaint is implied.
    let pasted = cx.node.bundle.is_pasted();
    if signs.is_empty() && !pasted {
        return Vec::new();
    }
    if stated_only {
        signs.clear();
    } else if signs.is_empty() {
        signs.push(implied(cx, &s));
    }
    let blind = !signs.is_empty() && signs.iter().all(|g| g.implied && g.blind);
    let mut score: BTreeMap<&'static str, Score> = BTreeMap::new();
    let mut counted: Vec<*const &str> = Vec::new();
    for g in &signs {
        let first = !counted.contains(&g.list.as_ptr());
        counted.push(g.list.as_ptr());
        // An implied complaint about an unknown address says least: its generic list weighs
        // as a context, and the context's lists weigh as signs.
        let (w, step) = if blind {
            (CONTEXT_WEIGHT, CONTEXT_STEP)
        } else {
            (SIGN_WEIGHT, SIGN_STEP)
        };
        for (i, entry) in g.list.iter().enumerate() {
            let e = score.entry(entry).or_default();
            if first {
                e.points += (w - step * i64::try_from(i).unwrap_or(99)).max(5);
            }
            if !e.why.contains(&g.what) && e.why.len() < 3 {
                e.why.push(g.what.clone());
                e.evidence.push(g.evidence.clone());
            }
        }
    }
    if !stated_only {
        for (list, w, step, why) in context_lists(&s, blind) {
            for (i, entry) in list.iter().enumerate() {
                let e = score.entry(entry).or_default();
                e.points += (w - step * i64::try_from(i).unwrap_or(99)).max(5);
                e.why.push(format!("common with {why}"));
            }
        }
        for (entry, why) in raises(&s) {
            if let Some(e) = score.get_mut(entry) {
                e.points += RAISE;
                e.why.push(why);
            } else {
                score.insert(
                    entry,
                    Score {
                        points: RAISE,
                        why: vec![why],
                        evidence: Vec::new(),
                    },
                );
            }
        }
    }
    for entry in catalog::CATALOG.iter().map(|c| c.id) {
        let backing = support(cx, entry);
        if backing.is_empty() {
            continue;
        }
        let e = score.entry(entry).or_default();
        e.points += SUPPORT;
        for o in backing.into_iter().take(2) {
            e.why.push(format!("said: {}", o.evidence.excerpt));
            e.evidence.push(o.evidence.clone());
        }
    }
    let mut ranked: Vec<(&'static str, Score)> = score
        .into_iter()
        .filter(|(entry, _)| ruled_out(cx, &s, entry, found).is_none())
        .collect();
    ranked.sort_by(|a, b| b.1.points.cmp(&a.1.points).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(MAX_SUSPECTS)
        .enumerate()
        .map(|(i, (entry, sc))| {
            let title = catalog::CATALOG
                .iter()
                .find(|c| c.id == entry)
                .map_or(entry, |c| c.title);
            let mut at: Vec<String> = sc
                .evidence
                .iter()
                .filter(|e| !e.artifact.is_empty())
                .map(|e| format!("{} {}", e.artifact, e.locator))
                .collect();
            at.dedup();
            at.truncate(2);
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" ({})", at.join(", "))
            };
            NotConcluded {
                id: SUSPECT_ID,
                catalog: entry,
                question: format!("suspect {}: {title}", i + 1),
                reason: format!("would explain: {}{at}", sc.why.join("; ")),
                would_confirm: Some(entries::settle(entry).to_string()),
            }
        })
        .collect()
}

/// For an input of which nothing was recognised: what to paste, for the symptom its prose
/// describes.
pub fn what_to_paste(texts: &[&str]) -> String {
    let all = texts.join("\n").to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| all.contains(w));
    let mut cmds = vec![
        "the failing probe with its output (curl -v -m 5 http://ADDRESS:PORT)",
        "kubectl get svc,endpointslices -A -o wide",
        "kubectl -n kube-system get configmap kube-proxy -o yaml",
        "kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200",
    ];
    if has(&["nodeport", "node port", "30"]) {
        cmds.extend(["iptables-save", "ipvsadm -Ln", "ip -d addr"]);
    }
    if has(&[
        "pod",
        "overlay",
        "calico",
        "flannel",
        "tunl0",
        "vxlan",
        "ipip",
        "跨节点",
    ]) {
        cmds.extend([
            "ip -d link; ip route",
            "kubectl get ippools -o yaml (Calico) or the flannel logs",
        ]);
    }
    cmds.extend(["lsmod", "sysctl -a"]);
    format!(
        "Paste command output, not a description: {} (or run netsnap-collect on the node)",
        cmds.join("; ")
    )
}

#[cfg(test)]
mod tests;
