//! What kube-proxy in iptables mode should have programmed on this node, and the difference to
//! a captured `iptables-save` dump.
//!
//! The model follows kube-proxy's `pkg/proxy/iptables/proxier.go` (`syncProxyRules`,
//! `servicePortChainName`, `servicePortEndpointChainName`) and `pkg/proxy/topology.go`
//! (`CategorizeEndpoints`), as summarised in part 1.1 of the failure catalog. It compares what
//! decides where a packet goes — the jump from `KUBE-SERVICES`/`KUBE-NODEPORTS` for each
//! Service address to the Service's own chains, the DNAT destinations behind them, and the
//! REJECT/DROP rules for Services without (local) endpoints — on decoded rule fields, not on
//! rule text, so that every generation of kube-proxy's chain layout is accepted: `KUBE-SVC` /
//! `KUBE-SVL` / `KUBE-EXT` / `KUBE-FW` (1.24+), `KUBE-XLB` with `KUBE-MARK-DROP` (before), jumps
//! straight to `KUBE-SVC` from `KUBE-NODEPORTS` (older still).
//!
//! The per-Service-port view ([`ExpectedPort`]) is shared with the nftables expectation.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use sha2::{Digest, Sha256};

use crate::decode::iptables::{IptablesSave, Rule, Table};
use crate::decode::k8s::{ClusterState, EndpointSlice, Service, ServicePort};
use crate::diagnose::expect::{Protocol, RealServer, ServicePortRef};
use crate::diagnose::Verification;

/// RFC 4648 base32 (upper case, no padding), as Go's `base32.StdEncoding` writes it before
/// kube-proxy cuts the hash short.
pub fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buf: u32 = 0;
    let mut bits = 0u32;
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
        buf &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The first `len` characters of base32(sha256(`text`)).
pub fn hash_prefix(text: &str, len: usize) -> String {
    let mut s = base32(&Sha256::digest(text.as_bytes()));
    s.truncate(len);
    s
}

/// The 16-character hash of `KUBE-SVC-`/`KUBE-SVL-`/`KUBE-EXT-`/`KUBE-FW-` chains
/// (`portProtoHash`: service port name followed by the lower-case protocol).
pub fn service_hash(service_port_name: &str, protocol: &str) -> String {
    hash_prefix(&format!("{service_port_name}{protocol}"), 16)
}

/// The `KUBE-SEP-` chain of one endpoint (`servicePortEndpointChainName`): the hash of
/// service port name, protocol and `ip:port`.
pub fn endpoint_chain(service_port_name: &str, protocol: &str, endpoint: &str) -> String {
    format!(
        "KUBE-SEP-{}",
        hash_prefix(&format!("{service_port_name}{protocol}{endpoint}"), 16)
    )
}

/// Chain prefixes kube-proxy gives a Service port, in every generation.
pub const SERVICE_CHAIN_PREFIXES: &[&str] = &[
    "KUBE-SVC-",
    "KUBE-SVL-",
    "KUBE-EXT-",
    "KUBE-FW-",
    "KUBE-XLB-",
];

/// The hash of a Service chain name (`KUBE-EXT-XPGD46QRK7WJZT7O` → `XPGD46QRK7WJZT7O`).
pub fn chain_hash(chain: &str) -> Option<&str> {
    SERVICE_CHAIN_PREFIXES
        .iter()
        .find_map(|p| chain.strip_prefix(p))
        .filter(|h| {
            h.len() == 16
                && h.bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        })
}

/// A protocol as kube-proxy writes it into chain names, hashes and `-p`.
pub fn proto_lower(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

/// One Service port as kube-proxy of one IP family sees it on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedPort {
    pub service: ServicePortRef,
    pub protocol: Protocol,
    /// The 16-character chain hash.
    pub hash: String,
    pub cluster_ips: Vec<IpAddr>,
    pub port: u16,
    pub node_port: Option<u16>,
    pub external_ips: Vec<IpAddr>,
    pub lb_ips: Vec<IpAddr>,
    pub etp_local: bool,
    pub itp_local: bool,
    /// Ready endpoints (or serving-terminating ones when none is ready).
    pub cluster_eps: BTreeSet<RealServer>,
    /// Those of them on this node.
    pub local_eps: BTreeSet<RealServer>,
}

impl ExpectedPort {
    pub fn has_endpoints(&self) -> bool {
        !self.cluster_eps.is_empty()
    }

    /// Endpoints for traffic to the ClusterIP.
    pub fn internal_eps(&self) -> &BTreeSet<RealServer> {
        if self.itp_local {
            &self.local_eps
        } else {
            &self.cluster_eps
        }
    }

    /// Endpoints for NodePort, externalIP and LoadBalancer traffic.
    pub fn external_eps(&self) -> &BTreeSet<RealServer> {
        if self.etp_local {
            &self.local_eps
        } else {
            &self.cluster_eps
        }
    }

    /// Whether the Service can be reached from outside (NodePort, externalIP, LB IP).
    pub fn externally_accessible(&self) -> bool {
        self.node_port.is_some() || !self.external_ips.is_empty() || !self.lb_ips.is_empty()
    }

    /// `ns/name:port`, as in rule comments and chain hashes.
    pub fn name(&self) -> String {
        self.service.to_string()
    }
}

/// Services kube-proxy leaves alone (`pkg/proxy/servicechangetracker.go` and the
/// `service.kubernetes.io/service-proxy-name` label filter of `server.go`): ExternalName,
/// headless, and those another proxy claims.
fn skipped(svc: &Service) -> bool {
    svc.spec.type_ == "ExternalName"
        || svc
            .metadata
            .labels
            .contains_key("service.kubernetes.io/service-proxy-name")
        || svc
            .metadata
            .labels
            .contains_key("service.kubernetes.io/headless")
}

fn same_family(ip: &IpAddr, family: u8) -> bool {
    (family == 6) == ip.is_ipv6()
}

/// The addresses of `family` among `items` (unparsable ones are left out, as kube-proxy does).
fn ips_of<'s>(items: impl Iterator<Item = &'s str>, family: u8) -> Vec<IpAddr> {
    items
        .filter_map(|s| s.trim().parse().ok())
        .filter(|ip| same_family(ip, family))
        .collect()
}

/// Every Service port kube-proxy of IP `family` (4 or 6) handles, with its endpoints as seen
/// from node `node_name`. Services without a ClusterIP of the family are left out, as
/// kube-proxy's per-family change tracker does.
pub fn expected_ports(cluster: &ClusterState, node_name: &str, family: u8) -> Vec<ExpectedPort> {
    let mut slices: HashMap<(&str, &str), Vec<&EndpointSlice>> = HashMap::new();
    for s in &cluster.endpoint_slices {
        if let Some(svc) = s.service_name() {
            slices
                .entry((s.metadata.namespace.as_str(), svc))
                .or_default()
                .push(s);
        }
    }
    let mut out = Vec::new();
    for svc in cluster.services.iter().filter(|s| !skipped(s)) {
        let spec = &svc.spec;
        let mut ips: Vec<&str> = spec.cluster_ips.iter().map(String::as_str).collect();
        if ips.is_empty() {
            ips.push(&spec.cluster_ip);
        }
        let cluster_ips: Vec<IpAddr> = ips
            .iter()
            .filter_map(|s| s.parse().ok())
            .filter(|ip| same_family(ip, family))
            .collect();
        if cluster_ips.is_empty() {
            continue;
        }
        let external_ips = ips_of(spec.external_ips.iter().map(String::as_str), family);
        // An ingress with ipMode Proxy is reached through the load balancer's own proxy:
        // kube-proxy writes no rule for it (KEP-1860, `pkg/proxy/serviceport.go`).
        let lb_ips = ips_of(
            svc.status
                .load_balancer
                .ingress
                .iter()
                .filter(|i| i.ip_mode != "Proxy")
                .map(|i| i.ip.as_str()),
            family,
        );
        let svc_slices = slices
            .get(&(svc.metadata.namespace.as_str(), svc.metadata.name.as_str()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        for port in &spec.ports {
            let Some(protocol) = Protocol::from_k8s(port.protocol()) else {
                continue;
            };
            let Some(svc_port) = port.number() else {
                continue;
            };
            let service = ServicePortRef {
                namespace: svc.metadata.namespace.clone(),
                name: svc.metadata.name.clone(),
                port_name: port.name.clone(),
            };
            let (cluster_eps, local_eps) = categorize(svc_slices, port, node_name, Some(family));
            out.push(ExpectedPort {
                hash: service_hash(&service.to_string(), proto_lower(protocol)),
                service,
                protocol,
                cluster_ips: cluster_ips.clone(),
                port: svc_port,
                node_port: port
                    .node_port
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|p| *p != 0),
                external_ips: external_ips.clone(),
                lb_ips: lb_ips.clone(),
                etp_local: spec.external_traffic_policy == "Local",
                itp_local: spec.internal_traffic_policy == "Local",
                cluster_eps,
                local_eps,
            });
        }
    }
    out.sort_by(|a, b| (&a.service, a.protocol).cmp(&(&b.service, b.protocol)));
    out
}

/// `CategorizeEndpoints` (`pkg/proxy/topology.go`): ready endpoints of the family (any family
/// when `None`); when none is ready, those serving while terminating (ProxyTerminatingEndpoints,
/// GA in 1.28). Local ones are those whose `nodeName` is kube-proxy's node name. Returns
/// (cluster, local). Shared by the IPVS, iptables and nftables expectations.
pub(crate) fn categorize(
    slices: &[&EndpointSlice],
    port: &ServicePort,
    node_name: &str,
    family: Option<u8>,
) -> (BTreeSet<RealServer>, BTreeSet<RealServer>) {
    let mut ready = Vec::new();
    let mut terminating = Vec::new();
    for slice in slices {
        let Some(ep_port) = slice
            .ports
            .iter()
            .find(|p| p.name == port.name && proto_eq(&p.protocol, port.protocol()))
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok())
        else {
            continue;
        };
        for ep in &slice.endpoints {
            let c = &ep.conditions;
            let is_ready = c.ready != Some(false);
            let serving = c.serving.unwrap_or(is_ready);
            let local = ep.node_name.as_deref() == Some(node_name);
            // kube-proxy uses the first address of an endpoint only.
            let Some(ip) = ep
                .addresses
                .first()
                .and_then(|a| a.parse::<IpAddr>().ok())
                .filter(|ip| family.is_none_or(|f| same_family(ip, f)))
            else {
                continue;
            };
            if is_ready {
                ready.push(((ip, ep_port), local));
            } else if serving && c.terminating == Some(true) {
                terminating.push(((ip, ep_port), local));
            }
        }
    }
    let source = if ready.is_empty() {
        &terminating
    } else {
        &ready
    };
    let cluster = source.iter().map(|(r, _)| *r).collect();
    // Local endpoints fall back to terminating ones on their own (ProxyTerminatingEndpoints).
    let local_ready: BTreeSet<RealServer> =
        ready.iter().filter(|(_, l)| *l).map(|(r, _)| *r).collect();
    let local = if local_ready.is_empty() {
        terminating
            .iter()
            .filter(|(_, l)| *l)
            .map(|(r, _)| *r)
            .collect()
    } else {
        local_ready
    };
    (cluster, local)
}

fn proto_eq(slice_proto: &str, svc_proto: &str) -> bool {
    (if slice_proto.is_empty() {
        "TCP"
    } else {
        slice_proto
    }) == svc_proto
}

/// Every chain hash of every Service port kube-proxy handles, whatever its family or endpoints:
/// Service chains with any other hash are left over.
pub fn known_hashes(cluster: &ClusterState) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for svc in cluster.services.iter().filter(|s| !skipped(s)) {
        for port in &svc.spec.ports {
            let Some(protocol) = Protocol::from_k8s(port.protocol()) else {
                continue;
            };
            let name = ServicePortRef {
                namespace: svc.metadata.namespace.clone(),
                name: svc.metadata.name.clone(),
                port_name: port.name.clone(),
            };
            out.insert(service_hash(&name.to_string(), proto_lower(protocol)));
        }
    }
    out
}

/// Which address of a Service port a rule serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Entry {
    ClusterIp(IpAddr),
    NodePort(u16),
    ExternalIp(IpAddr),
    LoadBalancer(IpAddr),
}

impl Entry {
    /// The nat rule kube-proxy writes for this entry, as `iptables -S` prints its parts: the
    /// fix script's check that the rule is back.
    pub fn verify(&self, port: &ExpectedPort, family: u8) -> Verification {
        let proto = format!("-p {}", proto_lower(port.protocol));
        let dest = |ip: &IpAddr| match ip {
            IpAddr::V4(a) => format!("-d {a}/32"),
            IpAddr::V6(a) => format!("-d {a}/128"),
        };
        let (chain, parts) = match self {
            Entry::NodePort(np) => ("KUBE-NODEPORTS", vec![proto, format!("--dport {np}")]),
            Entry::ClusterIp(ip) | Entry::ExternalIp(ip) | Entry::LoadBalancer(ip) => (
                "KUBE-SERVICES",
                vec![dest(ip), proto, format!("--dport {}", port.port)],
            ),
        };
        Verification::IptablesRule {
            family,
            chain: chain.to_string(),
            parts,
        }
    }

    /// How a user would name it.
    pub fn describe(&self, port: &ExpectedPort) -> String {
        let proto = proto_lower(port.protocol);
        match self {
            Entry::ClusterIp(ip) => format!("ClusterIP {}", host_port(*ip, port.port, proto)),
            Entry::NodePort(np) => format!("NodePort {np}/{proto}"),
            Entry::ExternalIp(ip) => format!("externalIP {}", host_port(*ip, port.port, proto)),
            Entry::LoadBalancer(ip) => {
                format!("LoadBalancer IP {}", host_port(*ip, port.port, proto))
            }
        }
    }
}

fn host_port(ip: IpAddr, port: u16, proto: &str) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}/{proto}"),
        IpAddr::V6(a) => format!("[{a}]:{port}/{proto}"),
    }
}

/// `ip:port` as kube-proxy writes endpoints (`[v6]:port`).
pub fn endpoint_string((ip, port): RealServer) -> String {
    SocketAddr::new(ip, port).to_string()
}

/// A Service port whose entry rules are missing.
#[derive(Debug, Clone)]
pub struct MissingEntries<'a> {
    pub port: &'a ExpectedPort,
    pub entries: Vec<Entry>,
    /// `has no endpoints` REJECT rules for those entries that are there instead.
    pub rejects: Vec<&'a Rule>,
}

/// A Service port whose endpoints in the rules differ from its EndpointSlices.
#[derive(Debug, Clone, Default)]
pub struct EndpointMismatch {
    /// The chain read (`KUBE-SVC-...`).
    pub chain: String,
    pub missing: Vec<RealServer>,
    pub extra: Vec<RealServer>,
}

/// What is wrong about one Service port's endpoints.
#[derive(Debug, Clone)]
pub struct EndpointProblems<'a> {
    pub port: &'a ExpectedPort,
    pub chains: Vec<EndpointMismatch>,
    /// REJECT "has no endpoints" rules although the port has endpoints.
    pub rejects: Vec<&'a Rule>,
    /// DROP "has no local endpoints" rules (or `KUBE-XLB` → `KUBE-MARK-DROP`) although an
    /// endpoint is on this node.
    pub drops: Vec<&'a Rule>,
}

/// A Service chain no current Service port accounts for.
#[derive(Debug, Clone)]
pub struct StaleChain<'a> {
    pub chain: String,
    /// Line of its `:CHAIN` declaration.
    pub line: usize,
    /// Rules of `KUBE-SERVICES` / `KUBE-NODEPORTS` jumping to it.
    pub referenced_by: Vec<&'a Rule>,
    /// Current Service addresses those rules also match (they intercept that traffic).
    pub hijacks: Vec<String>,
}

/// The difference between the expectation and one dump.
#[derive(Debug, Default)]
pub struct IptablesDiff<'a> {
    /// The nat `KUBE-SERVICES` chain is not there at all.
    pub no_kube_services: bool,
    /// Base-chain jumps into kube-proxy's chains that are missing (`nat PREROUTING -j
    /// KUBE-SERVICES`, ...).
    pub missing_hooks: Vec<&'static str>,
    pub missing: Vec<MissingEntries<'a>>,
    pub endpoints: Vec<EndpointProblems<'a>>,
    pub stale: Vec<StaleChain<'a>>,
}

impl IptablesDiff<'_> {
    /// A size for choosing between dumps: the fewer the differences, the likelier the dump is
    /// the one kube-proxy writes.
    pub fn weight(&self) -> usize {
        usize::from(self.no_kube_services) * 1000
            + self.missing_hooks.len() * 100
            + self.missing.iter().map(|m| m.entries.len()).sum::<usize>()
            + self
                .endpoints
                .iter()
                .map(|e| {
                    e.chains
                        .iter()
                        .map(|c| c.missing.len() + c.extra.len())
                        .sum::<usize>()
                        + e.rejects.len()
                        + e.drops.len()
                })
                .sum::<usize>()
            + self.stale.len()
    }
}

/// An address as iptables-save prints it (`10.0.0.1/32`), as a host address.
fn host_addr(s: &str) -> Option<IpAddr> {
    let (a, len) = s.split_once('/').unwrap_or((s, ""));
    let ip: IpAddr = a.parse().ok()?;
    let full = if ip.is_ipv4() { "32" } else { "128" };
    (len.is_empty() || len == full).then_some(ip)
}

fn proto_matches(r: &Rule, p: Protocol) -> bool {
    r.protocol()
        .is_some_and(|n| !n.negated && n.value.eq_ignore_ascii_case(proto_lower(p)))
}

fn dport_is(r: &Rule, port: u16) -> bool {
    r.dport().is_some_and(|d| !d.negated && d.contains(port))
}

fn dest_is(r: &Rule, ip: IpAddr) -> bool {
    r.destination()
        .is_some_and(|d| !d.negated && host_addr(d.value) == Some(ip))
}

fn jumps_to_hash(r: &Rule, hash: &str) -> bool {
    r.target_name().and_then(chain_hash) == Some(hash)
}

/// Rules of chain `name` in `table`.
fn rules<'a>(t: Option<&'a Table>, name: &str) -> Vec<&'a Rule> {
    t.map(|t| t.rules_in(name).collect()).unwrap_or_default()
}

/// Rules indexed for the per-entry lookups, so that comparing thousands of Service ports with
/// tens of thousands of rules stays linear: by host destination (`-d ip/32`), and by
/// destination port when it is a single port. A rule whose port match is a range or a list
/// is tried for every port lookup.
struct RuleIndex<'a> {
    by_dest: HashMap<IpAddr, Vec<&'a Rule>>,
    by_port: HashMap<u16, Vec<&'a Rule>>,
    port_ranges: Vec<&'a Rule>,
}

impl<'a> RuleIndex<'a> {
    fn new(rules: impl IntoIterator<Item = &'a Rule>) -> Self {
        let mut ix = RuleIndex {
            by_dest: HashMap::new(),
            by_port: HashMap::new(),
            port_ranges: Vec::new(),
        };
        for r in rules {
            if let Some(ip) = r
                .destination()
                .filter(|d| !d.negated)
                .and_then(|d| host_addr(d.value))
            {
                ix.by_dest.entry(ip).or_default().push(r);
            }
            match r.dport().filter(|d| !d.negated).map(|d| d.ranges) {
                Some(ranges) if ranges.len() == 1 && ranges[0].0 == ranges[0].1 => {
                    ix.by_port.entry(ranges[0].0).or_default().push(r);
                }
                Some(ranges) if !ranges.is_empty() => ix.port_ranges.push(r),
                _ => {}
            }
        }
        ix
    }

    /// Rules that may match destination `ip` (check the full condition on each).
    fn to_addr(&self, ip: IpAddr) -> impl Iterator<Item = &'a Rule> + '_ {
        self.by_dest.get(&ip).into_iter().flatten().copied()
    }

    /// Rules that may match destination port `port`.
    fn to_port(&self, port: u16) -> impl Iterator<Item = &'a Rule> + '_ {
        self.by_port
            .get(&port)
            .into_iter()
            .flatten()
            .chain(&self.port_ranges)
            .copied()
    }

    /// Candidates for an entry of a Service port.
    fn for_entry(&self, e: &Entry) -> Vec<&'a Rule> {
        match e {
            Entry::NodePort(np) => self.to_port(*np).collect(),
            Entry::ClusterIp(ip) | Entry::ExternalIp(ip) | Entry::LoadBalancer(ip) => {
                self.to_addr(*ip).collect()
            }
        }
    }
}

/// The DNAT destinations reachable from a Service chain through its `KUBE-SEP-` jumps.
fn dnat_targets(nat: &Table, chain: &str) -> BTreeSet<RealServer> {
    let mut out = BTreeSet::new();
    for r in nat.rules_in(chain) {
        let Some(sep) = r.target_name().filter(|t| t.starts_with("KUBE-SEP-")) else {
            continue;
        };
        for d in nat.rules_in(sep) {
            if d.target_name() == Some("DNAT") {
                if let Some(sa) = d
                    .target_option("to-destination")
                    .and_then(|v| v.parse::<SocketAddr>().ok())
                {
                    out.insert((sa.ip(), sa.port()));
                }
            }
        }
    }
    out
}

/// Whether a rule is kube-proxy's "no endpoints" REJECT or "no local endpoints" DROP (old
/// releases wrote them without the comment into nat, k8s #43969; match the target only).
fn is_target(r: &Rule, target: &str) -> bool {
    r.target_name() == Some(target)
}

/// Compares one dump (of the expectation's family) with the expected Service ports.
/// `known` is [`known_hashes`].
pub fn diff<'a>(
    ports: &'a [ExpectedPort],
    known: &BTreeSet<String>,
    save: &'a IptablesSave,
) -> IptablesDiff<'a> {
    let mut d = IptablesDiff::default();
    let nat = save.table("nat");
    let filter = save.table("filter");
    let kube_services = rules(nat, "KUBE-SERVICES");
    let nodeports = rules(nat, "KUBE-NODEPORTS");
    d.no_kube_services = nat.and_then(|t| t.chain("KUBE-SERVICES")).is_none();
    if !d.no_kube_services {
        for (chain, label) in [
            ("PREROUTING", "nat PREROUTING -j KUBE-SERVICES"),
            ("OUTPUT", "nat OUTPUT -j KUBE-SERVICES"),
        ] {
            if !rules(nat, chain)
                .iter()
                .any(|r| r.target_name() == Some("KUBE-SERVICES"))
            {
                d.missing_hooks.push(label);
            }
        }
        let wants_nodeports = ports
            .iter()
            .any(|p| p.node_port.is_some() && p.has_endpoints());
        if wants_nodeports
            && !kube_services
                .iter()
                .any(|r| r.target_name() == Some("KUBE-NODEPORTS"))
        {
            d.missing_hooks.push("nat KUBE-SERVICES -j KUBE-NODEPORTS");
        }
    }
    // Filter rules that turn traffic away, in any table kube-proxy used for them.
    let reject_rules: Vec<&Rule> = [filter, nat]
        .into_iter()
        .flatten()
        .flat_map(|t| {
            ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS"]
                .into_iter()
                .flat_map(move |c| t.rules_in(c))
        })
        .filter(|r| is_target(r, "REJECT") || is_target(r, "DROP"))
        .collect();
    // Table::chain is a scan; thousands of lookups want a set.
    let chain_names: HashSet<&str> = nat
        .map(|t| t.chains.iter().map(|c| c.name.as_str()).collect())
        .unwrap_or_default();
    let reject_ix = RuleIndex::new(reject_rules);
    let services_ix = RuleIndex::new(kube_services.iter().copied());
    let nodeports_ix = RuleIndex::new(nodeports.iter().copied());
    for p in ports {
        let turned_away = |entry: &Entry, target: &str| -> Vec<&'a Rule> {
            reject_ix
                .for_entry(entry)
                .into_iter()
                .filter(|r| is_target(r, target) && proto_matches(r, p.protocol))
                .filter(|r| match entry {
                    Entry::ClusterIp(ip) | Entry::ExternalIp(ip) | Entry::LoadBalancer(ip) => {
                        dest_is(r, *ip) && dport_is(r, p.port)
                    }
                    // `-m addrtype --dst-type LOCAL` (or, with nodePortAddresses, `-d <node IP>`).
                    Entry::NodePort(np) => {
                        (r.destination().is_none() || r.dst_type().is_some()) && dport_is(r, *np)
                    }
                })
                .collect()
        };
        let mut entries: Vec<Entry> = Vec::new();
        entries.extend(p.cluster_ips.iter().map(|ip| Entry::ClusterIp(*ip)));
        entries.extend(p.node_port.map(Entry::NodePort));
        entries.extend(p.external_ips.iter().map(|ip| Entry::ExternalIp(*ip)));
        entries.extend(p.lb_ips.iter().map(|ip| Entry::LoadBalancer(*ip)));
        let mut missing = Vec::new();
        let mut rejects: Vec<&'a Rule> = Vec::new();
        let mut drops: Vec<&'a Rule> = Vec::new();
        for e in &entries {
            let expected_nat = match e {
                // ITP=Local without a local endpoint: no nat jump, a DROP instead.
                Entry::ClusterIp(_) => !p.internal_eps().is_empty(),
                // ETP=Local without a local endpoint still jumps (pods and the node itself
                // are short-circuited to the cluster endpoints); the filter DROPs the rest.
                _ => p.has_endpoints(),
            };
            let present = match e {
                Entry::NodePort(np) => nodeports_ix.to_port(*np).any(|r| {
                    proto_matches(r, p.protocol) && dport_is(r, *np) && jumps_to_hash(r, &p.hash)
                }),
                Entry::ClusterIp(ip) | Entry::ExternalIp(ip) | Entry::LoadBalancer(ip) => {
                    services_ix.to_addr(*ip).any(|r| {
                        proto_matches(r, p.protocol)
                            && dest_is(r, *ip)
                            && dport_is(r, p.port)
                            && jumps_to_hash(r, &p.hash)
                    })
                }
            };
            if expected_nat && !present && !d.no_kube_services {
                missing.push(*e);
            }
            if p.has_endpoints() {
                rejects.extend(turned_away(e, "REJECT"));
            }
            let local_ok = match e {
                Entry::ClusterIp(_) => p.itp_local && !p.local_eps.is_empty(),
                _ => p.etp_local && !p.local_eps.is_empty(),
            };
            if local_ok {
                drops.extend(turned_away(e, "DROP"));
            }
        }
        if !missing.is_empty() {
            let reject_lines: Vec<&'a Rule> = rejects
                .iter()
                .copied()
                .filter(|r| {
                    missing.iter().any(|m| match m {
                        Entry::NodePort(np) => dport_is(r, *np),
                        Entry::ClusterIp(ip) | Entry::ExternalIp(ip) | Entry::LoadBalancer(ip) => {
                            dest_is(r, *ip)
                        }
                    })
                })
                .collect();
            // Reported with the missing rule they stand in for, not again as endpoint trouble.
            rejects.retain(|r| !reject_lines.iter().any(|x| x.line == r.line));
            d.missing.push(MissingEntries {
                port: p,
                entries: missing,
                rejects: reject_lines,
            });
        }
        // Endpoints behind the Service's chains, when the chain is there.
        let mut chains = Vec::new();
        if let Some(nat) = nat {
            let local_policy = [
                (format!("KUBE-SVC-{}", p.hash), &p.cluster_eps),
                (format!("KUBE-SVL-{}", p.hash), &p.local_eps),
                (format!("KUBE-XLB-{}", p.hash), &p.local_eps),
            ];
            for (chain, want) in local_policy {
                if !chain_names.contains(chain.as_str()) {
                    continue;
                }
                let have = dnat_targets(nat, &chain);
                // Old KUBE-XLB chains with no local endpoint only drop; nothing to compare.
                if have.is_empty() && want.is_empty() {
                    continue;
                }
                let missing: Vec<RealServer> = want.difference(&have).copied().collect();
                let extra: Vec<RealServer> = have.difference(want).copied().collect();
                if !missing.is_empty() || !extra.is_empty() {
                    chains.push(EndpointMismatch {
                        chain,
                        missing,
                        extra,
                    });
                }
            }
            // KUBE-XLB → KUBE-MARK-DROP although an endpoint is local (releases before 1.24).
            let xlb = format!("KUBE-XLB-{}", p.hash);
            if p.etp_local && !p.local_eps.is_empty() {
                drops.extend(
                    nat.rules_in(&xlb)
                        .filter(|r| is_target(r, "KUBE-MARK-DROP")),
                );
            }
        }
        rejects.sort_by_key(|r| r.line);
        rejects.dedup_by_key(|r| r.line);
        drops.sort_by_key(|r| r.line);
        drops.dedup_by_key(|r| r.line);
        if !chains.is_empty() || !rejects.is_empty() || !drops.is_empty() {
            d.endpoints.push(EndpointProblems {
                port: p,
                chains,
                rejects,
                drops,
            });
        }
    }
    if let Some(nat) = nat {
        let current: BTreeMap<(Protocol, IpAddr, u16), &ExpectedPort> = ports
            .iter()
            .flat_map(|p| {
                p.cluster_ips
                    .iter()
                    .chain(&p.external_ips)
                    .chain(&p.lb_ips)
                    .map(move |ip| ((p.protocol, *ip, p.port), p))
            })
            .collect();
        let current_np: BTreeMap<(Protocol, u16), &ExpectedPort> = ports
            .iter()
            .filter_map(|p| Some(((p.protocol, p.node_port?), p)))
            .collect();
        let mut jumps_to: HashMap<&str, Vec<&Rule>> = HashMap::new();
        for r in kube_services.iter().chain(&nodeports) {
            if let Some(t) = r.target_name() {
                jumps_to.entry(t).or_default().push(r);
            }
        }
        for c in &nat.chains {
            let Some(h) = chain_hash(&c.name) else {
                continue;
            };
            if known.contains(h) {
                continue;
            }
            let referenced_by: Vec<&Rule> =
                jumps_to.get(c.name.as_str()).cloned().unwrap_or_default();
            let mut hijacks = Vec::new();
            for r in &referenced_by {
                let proto = r
                    .protocol()
                    .filter(|n| !n.negated)
                    .and_then(|n| Protocol::from_k8s(&n.value.to_ascii_uppercase()));
                let (Some(proto), Some(dport)) = (proto, r.dport()) else {
                    continue;
                };
                if r.chain == "KUBE-NODEPORTS" {
                    for ((pp, np), p) in &current_np {
                        if *pp == proto && dport.contains(*np) {
                            hijacks.push(format!("{} NodePort {np}", p.name()));
                        }
                    }
                } else if let Some(ip) = r
                    .destination()
                    .filter(|d| !d.negated)
                    .and_then(|d| host_addr(d.value))
                {
                    for ((pp, vip, port), p) in &current {
                        if *pp == proto && *vip == ip && dport.contains(*port) {
                            hijacks.push(format!(
                                "{} {}",
                                p.name(),
                                host_port(ip, *port, proto_lower(proto))
                            ));
                        }
                    }
                }
            }
            hijacks.sort();
            hijacks.dedup();
            d.stale.push(StaleChain {
                chain: c.name.clone(),
                line: c.line,
                referenced_by,
                hijacks,
            });
        }
    }
    d
}

#[cfg(test)]
mod tests;
