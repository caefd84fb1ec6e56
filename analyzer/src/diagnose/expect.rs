//! What kube-proxy in IPVS mode should have programmed on this node, computed from the
//! Kubernetes objects and the node's addresses, and the difference to what the bundle shows.
//!
//! The rules follow kube-proxy's `pkg/proxy/ipvs/proxier.go` (`syncService`, `syncEndpoint`)
//! and `pkg/proxy/topology.go` (`CategorizeEndpoints`), as summarised in part 1.2 of the
//! failure catalog.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;

use crate::decode::ipvs::{IpvsTable, IpvsVirtualServer};
use crate::decode::k8s::{ClusterState, EndpointSlice, Service};
use crate::diagnose::Verification;

/// A transport protocol of a Service port, as IPVS numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn from_k8s(p: &str) -> Option<Protocol> {
        match p {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    pub fn from_number(n: u16) -> Option<Protocol> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// As `ipvsadm` prints it.
    pub fn ipvsadm(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// As `ipvsadm` takes it: `-t`, `-u`, `--sctp-service`.
    pub fn ipvsadm_flag(self) -> &'static str {
        match self {
            Protocol::Tcp => "-t",
            Protocol::Udp => "-u",
            Protocol::Sctp => "--sctp-service",
        }
    }
}

/// An IPVS virtual service address: protocol, address, port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtualAddr {
    pub protocol: Protocol,
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for VirtualAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{} {}:{}", self.protocol.ipvsadm(), a, self.port),
            IpAddr::V6(a) => write!(f, "{} [{}]:{}", self.protocol.ipvsadm(), a, self.port),
        }
    }
}

impl VirtualAddr {
    /// The virtual server exists: what the fix script checks once kube-proxy has resynced.
    pub fn verify_ipvs(&self) -> Verification {
        Verification::IpvsVirtualServer {
            protocol: self.protocol.ipvsadm().to_ascii_lowercase(),
            address: self.host_port(),
        }
    }

    /// The connection a client should try once the Service works.
    pub fn verify_connect(&self, port_name: &str) -> Verification {
        Verification::Connect {
            protocol: self.protocol.ipvsadm().to_ascii_lowercase(),
            address: self.host_port(),
            port_name: port_name.to_string(),
        }
    }

    /// `addr:port` as `ipvsadm -t` takes it.
    pub fn host_port(&self) -> String {
        match self.addr {
            IpAddr::V4(a) => format!("{a}:{}", self.port),
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
        }
    }
}

/// Which address of a Service a virtual server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    ClusterIp,
    NodePort,
    ExternalIp,
    LoadBalancer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ClusterIp => "ClusterIP",
            Role::NodePort => "NodePort",
            Role::ExternalIp => "externalIP",
            Role::LoadBalancer => "LoadBalancer IP",
        }
    }
}

/// A Service port, as kube-proxy names it: `namespace/name:port-name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServicePortRef {
    pub namespace: String,
    pub name: String,
    pub port_name: String,
}

impl fmt::Display for ServicePortRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)?;
        if !self.port_name.is_empty() {
            write!(f, ":{}", self.port_name)?;
        }
        Ok(())
    }
}

/// A real server address.
pub type RealServer = (IpAddr, u16);

/// One virtual server kube-proxy should have created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedVirtualServer {
    pub vaddr: VirtualAddr,
    pub service: ServicePortRef,
    pub role: Role,
    pub scheduler: String,
    /// Persistence timeout (sessionAffinity: ClientIP).
    pub persistent: Option<u32>,
    pub reals: BTreeSet<RealServer>,
}

/// What kube-proxy in IPVS mode should have programmed on one node.
#[derive(Debug, Clone, Default)]
pub struct IpvsExpectation {
    pub virtual_servers: Vec<ExpectedVirtualServer>,
    /// Addresses kube-proxy binds to `kube-ipvs0`.
    pub kube_ipvs0: BTreeSet<IpAddr>,
    /// Node addresses that serve NodePorts.
    pub nodeport_addresses: Vec<IpAddr>,
    /// Service ports with no usable endpoint at all.
    pub without_endpoints: Vec<ServicePortRef>,
}

/// Inputs of the expectation besides the cluster objects.
#[derive(Debug, Clone)]
pub struct NodeInputs<'a> {
    /// The Node name kube-proxy uses (hostnameOverride, else the matched Node).
    pub node_name: &'a str,
    /// Local addresses and the link each is on.
    pub local_addresses: Vec<(IpAddr, String)>,
    /// kube-proxy's `nodePortAddresses` (CIDRs; `primary` is not resolved here).
    pub node_port_cidrs: &'a [String],
    /// `ipvs.scheduler`, empty for the default.
    pub scheduler: &'a str,
}

/// kube-proxy's default IPVS scheduler (`pkg/proxy/ipvs/proxier.go`: "IPVS scheduler not
/// specified, use rr by default").
pub const DEFAULT_SCHEDULER: &str = "rr";
/// Default ClientIP affinity timeout (`v1.DefaultClientIPServiceAffinitySeconds`).
const DEFAULT_AFFINITY_SECONDS: u32 = 10800;

pub fn expect_ipvs(cluster: &ClusterState, node: &NodeInputs<'_>) -> IpvsExpectation {
    let scheduler = if node.scheduler.is_empty() {
        DEFAULT_SCHEDULER
    } else {
        node.scheduler
    };
    let nodeport_addresses = nodeport_addresses(node);
    let mut slices: HashMap<(&str, &str), Vec<&EndpointSlice>> = HashMap::new();
    for s in &cluster.endpoint_slices {
        if let Some(svc) = s.service_name() {
            slices
                .entry((s.metadata.namespace.as_str(), svc))
                .or_default()
                .push(s);
        }
    }
    let mut exp = IpvsExpectation {
        nodeport_addresses: nodeport_addresses.clone(),
        ..IpvsExpectation::default()
    };
    for svc in &cluster.services {
        let spec = &svc.spec;
        if spec.type_ == "ExternalName" {
            continue;
        }
        let cluster_ips: Vec<IpAddr> = service_cluster_ips(svc);
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
            let sref = ServicePortRef {
                namespace: svc.metadata.namespace.clone(),
                name: svc.metadata.name.clone(),
                port_name: port.name.clone(),
            };
            let (cluster_eps, local_eps) = crate::diagnose::expect_iptables::categorize(
                svc_slices,
                port,
                node.node_name,
                None,
            );
            if cluster_eps.is_empty() {
                exp.without_endpoints.push(sref.clone());
            }
            let persistent = (spec.session_affinity == "ClientIP").then(|| {
                spec.session_affinity_config
                    .client_ip
                    .timeout_seconds
                    .and_then(|t| u32::try_from(t).ok())
                    .unwrap_or(DEFAULT_AFFINITY_SECONDS)
            });
            let internal = if spec.internal_traffic_policy == "Local" {
                &local_eps
            } else {
                &cluster_eps
            };
            // ETP=Local: only local endpoints, except that with none at all IPVS still
            // installs every cluster endpoint so local pods can reach the Service
            // (kubernetes PR #97081).
            let external = if spec.external_traffic_policy == "Local" && !local_eps.is_empty() {
                &local_eps
            } else {
                &cluster_eps
            };
            let mut add = |addr: IpAddr, vport: u16, role: Role, reals: &BTreeSet<RealServer>| {
                let reals = reals
                    .iter()
                    .filter(|(ip, _)| ip.is_ipv4() == addr.is_ipv4())
                    .copied()
                    .collect();
                exp.virtual_servers.push(ExpectedVirtualServer {
                    vaddr: VirtualAddr {
                        protocol,
                        addr,
                        port: vport,
                    },
                    service: sref.clone(),
                    role,
                    scheduler: scheduler.to_string(),
                    persistent,
                    reals,
                });
            };
            for ip in &cluster_ips {
                add(*ip, svc_port, Role::ClusterIp, internal);
            }
            for ip in spec.external_ips.iter().filter_map(|s| s.parse().ok()) {
                add(ip, svc_port, Role::ExternalIp, external);
            }
            for ip in svc
                .status
                .load_balancer
                .ingress
                .iter()
                .filter_map(|i| i.ip.parse().ok())
            {
                add(ip, svc_port, Role::LoadBalancer, external);
            }
            if let Some(np) = port.node_port.and_then(|p| u16::try_from(p).ok()) {
                let families: BTreeSet<bool> = cluster_ips.iter().map(IpAddr::is_ipv4).collect();
                for ip in &nodeport_addresses {
                    // A single-stack Service gets NodePorts of its own family only.
                    if families.is_empty() || families.contains(&ip.is_ipv4()) {
                        add(*ip, np, Role::NodePort, external);
                    }
                }
            }
        }
        for ip in &cluster_ips {
            exp.kube_ipvs0.insert(*ip);
        }
        let local: BTreeSet<IpAddr> = node.local_addresses.iter().map(|(ip, _)| *ip).collect();
        for ip in spec.external_ips.iter().filter_map(|s| s.parse().ok()) {
            // kube-proxy binds an externalIP to kube-ipvs0 only when it is not already a
            // local address of the node.
            if !local.contains(&ip) || is_on_kube_ipvs0(node, ip) {
                exp.kube_ipvs0.insert(ip);
            }
        }
        for ing in &svc.status.load_balancer.ingress {
            if let Ok(ip) = ing.ip.parse() {
                exp.kube_ipvs0.insert(ip);
            }
        }
    }
    exp.virtual_servers.sort_by_key(|e| e.vaddr);
    exp.virtual_servers.dedup_by(|a, b| a.vaddr == b.vaddr);
    exp
}

fn is_on_kube_ipvs0(node: &NodeInputs<'_>, ip: IpAddr) -> bool {
    node.local_addresses
        .iter()
        .any(|(a, dev)| *a == ip && dev == KUBE_IPVS0)
}

/// kube-proxy's dummy device for IPVS service addresses.
pub const KUBE_IPVS0: &str = "kube-ipvs0";

/// ClusterIPs that get virtual servers: none for headless Services.
fn service_cluster_ips(svc: &Service) -> Vec<IpAddr> {
    let spec = &svc.spec;
    let mut ips: Vec<&str> = spec.cluster_ips.iter().map(String::as_str).collect();
    if ips.is_empty() && !spec.cluster_ip.is_empty() {
        ips.push(&spec.cluster_ip);
    }
    ips.into_iter().filter_map(|s| s.parse().ok()).collect()
}

/// Node addresses that get NodePort virtual servers: every local address except those on
/// kube-ipvs0, loopback and IPv6 link-local (`GetAllLocalAddressesExcept` and `isValidForSet`
/// in kube-proxy), narrowed to `nodePortAddresses` when it is set.
fn nodeport_addresses(node: &NodeInputs<'_>) -> Vec<IpAddr> {
    let cidrs: Vec<(IpAddr, u8)> = node
        .node_port_cidrs
        .iter()
        .filter_map(|c| parse_cidr(c))
        .collect();
    let mut out: Vec<IpAddr> = node
        .local_addresses
        .iter()
        .filter(|(_, dev)| dev != KUBE_IPVS0)
        .map(|(ip, _)| *ip)
        .filter(|ip| !ip.is_loopback() && !is_link_local_v6(ip))
        .filter(|ip| cidrs.is_empty() || cidrs.iter().any(|c| cidr_contains(*c, *ip)))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn is_link_local_v6(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// `10.0.0.0/8` → (10.0.0.0, 8); a bare address is a host prefix.
pub fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a.parse().ok()?, l.parse().ok()?),
        None => {
            let a: IpAddr = s.parse().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if matches!(addr, IpAddr::V4(_)) {
        32
    } else {
        128
    };
    (len <= max).then_some((addr, len))
}

pub fn cidr_contains((net, len): (IpAddr, u8), ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// The difference between expected and captured virtual servers.
#[derive(Debug, Default)]
pub struct IpvsDiff<'e, 'a> {
    pub missing: Vec<&'e ExpectedVirtualServer>,
    /// Present, with real servers missing, extra (weight > 0) or a different scheduler.
    pub wrong: Vec<VsMismatch<'e, 'a>>,
    /// Captured virtual servers that no Service accounts for (not fwmark services, which
    /// kube-proxy never creates, and not inside `ipvs.excludeCIDRs`).
    pub unexpected: Vec<&'a IpvsVirtualServer>,
}

#[derive(Debug)]
pub struct VsMismatch<'e, 'a> {
    pub expected: &'e ExpectedVirtualServer,
    pub actual: &'a IpvsVirtualServer,
    pub missing_reals: Vec<RealServer>,
    /// Real servers with a non-zero weight that no endpoint accounts for (weight 0 ones are
    /// kube-proxy's graceful termination and expected).
    pub extra_reals: Vec<RealServer>,
    pub scheduler: Option<String>,
}

pub fn virtual_addr(vs: &IpvsVirtualServer) -> Option<VirtualAddr> {
    let s = &vs.service;
    Some(VirtualAddr {
        protocol: Protocol::from_number(s.protocol?)?,
        addr: s.addr?,
        port: s.port?,
    })
}

pub fn diff<'e, 'a>(
    exp: &'e IpvsExpectation,
    table: &'a IpvsTable,
    exclude_cidrs: &[String],
) -> IpvsDiff<'e, 'a> {
    let actual: BTreeMap<VirtualAddr, &IpvsVirtualServer> = table
        .services
        .iter()
        .filter_map(|vs| Some((virtual_addr(vs)?, vs)))
        .collect();
    let expected: BTreeSet<VirtualAddr> = exp.virtual_servers.iter().map(|e| e.vaddr).collect();
    let mut d = IpvsDiff::default();
    for e in &exp.virtual_servers {
        let Some(vs) = actual.get(&e.vaddr) else {
            d.missing.push(e);
            continue;
        };
        let have: BTreeSet<RealServer> = vs
            .dests
            .iter()
            .filter_map(|r| Some((r.addr?, r.port?)))
            .collect();
        let weighted: BTreeSet<RealServer> = vs
            .dests
            .iter()
            .filter(|r| r.weight != Some(0))
            .filter_map(|r| Some((r.addr?, r.port?)))
            .collect();
        let missing_reals: Vec<_> = e.reals.difference(&have).copied().collect();
        let extra_reals: Vec<_> = if vs.dests_complete {
            weighted.difference(&e.reals).copied().collect()
        } else {
            Vec::new()
        };
        let scheduler = vs
            .service
            .scheduler
            .as_ref()
            .filter(|s| **s != e.scheduler)
            .cloned();
        if !missing_reals.is_empty() || !extra_reals.is_empty() || scheduler.is_some() {
            d.wrong.push(VsMismatch {
                expected: e,
                actual: vs,
                missing_reals,
                extra_reals,
                scheduler,
            });
        }
    }
    let excluded: Vec<(IpAddr, u8)> = exclude_cidrs.iter().filter_map(|c| parse_cidr(c)).collect();
    for (va, vs) in &actual {
        if !expected.contains(va) && !excluded.iter().any(|c| cidr_contains(*c, va.addr)) {
            d.unexpected.push(vs);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let net = parse_cidr("10.244.0.0/16").expect("cidr");
        assert!(cidr_contains(net, "10.244.3.4".parse().expect("ip")));
        assert!(!cidr_contains(net, "10.245.0.1".parse().expect("ip")));
        assert!(!cidr_contains(net, "fd00::1".parse().expect("ip")));
        assert!(cidr_contains(
            parse_cidr("0.0.0.0/0").expect("cidr"),
            "1.2.3.4".parse().expect("ip")
        ));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(cidr_contains(
            parse_cidr("fd00:122::/64").expect("cidr"),
            "fd00:122::96".parse().expect("ip")
        ));
    }
}
