//! Kubernetes objects as `kubectl get -o yaml|json` prints them: a single object, a `kind: List`
//! (what `kubectl get -A -o yaml` prints), a typed list (`ServiceList`, what the API server
//! returns), several YAML documents separated by `---`, or JSON.
//!
//! The structs are hand-written and minimal: only what the checks read. Every field has a
//! default and unknown fields are ignored, so objects from any Kubernetes or Calico version load.
//! A field whose value has another type than the field (a hand-edited `port: "80"`) is left out
//! of its object and named, and the rest of the object is used (`fields.rs`).
//!
//! # Hostile input
//!
//! yaml_serde 0.10.7 (libyaml-rs 0.3.0) was measured unfit for strangers' input (see `tests`
//! below): its alias "repetition limit" let a 159 KB document (a 10,000-key mapping aliased
//! 10,000 times) take 78 s and 16 GB, and its recursion limit applied only after the whole
//! document was loaded (120 KB of nested `[` took 9 s). It was also the slow part of analyzing
//! a large cluster. YAML is therefore read in one streaming pass over `saphyr-parser` events
//! (`yaml.rs`), which refuses deep nesting at the first event past the limit and charges every
//! value, and every alias at its full expanded size, against a budget proportional to the input.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Largest input accepted by [`parse_objects`]: `kubectl get pods -A -o yaml` of a cluster with
/// a few thousand pods.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 64 << 20;
/// Deepest nesting of mappings and sequences accepted. Kubernetes objects nest about 10 deep
/// (List > items > Pod > spec > containers > securityContext > capabilities > add).
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// Limits for [`parse_objects_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_input_bytes: usize,
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

impl Limits {
    /// How many values (one per scalar, mapping or sequence) plus string bytes the input may
    /// expand to. Without aliases a document never expands beyond its own length; the slack
    /// leaves room for the odd anchor in a hand-written file.
    fn expansion_budget(&self, input_len: usize) -> u64 {
        (input_len as u64)
            .saturating_mul(2)
            .saturating_add(64 * 1024)
    }
}

/// Why a text could not be read as Kubernetes objects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum K8sDecodeError {
    #[error("the Kubernetes input is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "the Kubernetes input nests mappings or sequences deeper than {limit} levels \
         (line {line}); refusing it"
    )]
    TooDeep { limit: usize, line: usize },
    #[error(
        "YAML aliases in the Kubernetes input expand to more than {limit} values and bytes \
         (an alias bomb?); refusing it"
    )]
    AliasExpansion { limit: u64 },
    #[error("the Kubernetes input is not valid YAML: {message}")]
    Yaml { message: String },
    #[error("document {document} of the Kubernetes input is not an object but {found}")]
    NotAnObject {
        document: usize,
        found: &'static str,
    },
}

// ---------------------------------------------------------------------------------------------
// Object types
// ---------------------------------------------------------------------------------------------

/// The part of `metadata` the checks read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    #[serde(deserialize_with = "lenient_string_map")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "lenient_string_map")]
    pub annotations: BTreeMap<String, String>,
    pub creation_timestamp: Option<String>,
    /// Set while the object is being deleted (a terminating pod still has endpoints).
    pub deletion_timestamp: Option<String>,
}

/// A Service port's `targetPort`: a number, or the name of a container port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    String(String),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Service {
    pub metadata: ObjectMeta,
    pub spec: ServiceSpec,
    pub status: ServiceStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceSpec {
    /// ClusterIP (when empty), NodePort, LoadBalancer or ExternalName.
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(rename = "clusterIP")]
    pub cluster_ip: String,
    #[serde(rename = "clusterIPs")]
    pub cluster_ips: Vec<String>,
    pub ports: Vec<ServicePort>,
    #[serde(rename = "externalIPs")]
    pub external_ips: Vec<String>,
    pub external_name: String,
    /// Cluster (when empty) or Local.
    pub external_traffic_policy: String,
    pub internal_traffic_policy: String,
    /// None (when empty) or ClientIP.
    pub session_affinity: String,
    pub session_affinity_config: SessionAffinityConfig,
    #[serde(rename = "loadBalancerIP")]
    pub load_balancer_ip: String,
    pub load_balancer_source_ranges: Vec<String>,
    pub ip_families: Vec<String>,
    pub ip_family_policy: String,
    #[serde(deserialize_with = "lenient_string_map")]
    pub selector: BTreeMap<String, String>,
    pub health_check_node_port: Option<i64>,
    pub allocate_load_balancer_node_ports: Option<bool>,
    pub publish_not_ready_addresses: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SessionAffinityConfig {
    #[serde(rename = "clientIP")]
    pub client_ip: ClientIpConfig,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientIpConfig {
    pub timeout_seconds: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServicePort {
    pub name: String,
    /// TCP (when empty), UDP or SCTP.
    pub protocol: String,
    pub port: i64,
    pub target_port: Option<IntOrString>,
    pub node_port: Option<i64>,
    pub app_protocol: String,
}

impl ServicePort {
    /// The port number, when it was read: the API server only accepts 1-65535
    /// (`ValidateServicePort`), so 0 is a `port` that was missing or could not be read.
    pub fn number(&self) -> Option<u16> {
        u16::try_from(self.port).ok().filter(|p| *p != 0)
    }

    /// The protocol with the API server's default applied.
    pub fn protocol(&self) -> &str {
        if self.protocol.is_empty() {
            "TCP"
        } else {
            &self.protocol
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceStatus {
    pub load_balancer: LoadBalancerStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoadBalancerStatus {
    pub ingress: Vec<LoadBalancerIngress>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoadBalancerIngress {
    pub ip: String,
    pub hostname: String,
    /// VIP or Proxy (Kubernetes 1.30+).
    pub ip_mode: String,
}

/// The object kube-proxy or a CNI points at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectReference {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Endpoints {
    pub metadata: ObjectMeta,
    pub subsets: Vec<EndpointSubset>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointSubset {
    pub addresses: Vec<EndpointAddress>,
    pub not_ready_addresses: Vec<EndpointAddress>,
    pub ports: Vec<EndpointPort>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointAddress {
    pub ip: String,
    pub hostname: String,
    pub node_name: Option<String>,
    pub target_ref: Option<ObjectReference>,
}

/// A port of an Endpoints subset or of an EndpointSlice (same fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointPort {
    pub name: String,
    pub protocol: String,
    pub port: Option<i64>,
    pub app_protocol: String,
}

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// `discovery.k8s.io/v1` EndpointSlice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointSlice {
    pub metadata: ObjectMeta,
    /// IPv4, IPv6 or FQDN.
    pub address_type: String,
    pub endpoints: Vec<Endpoint>,
    pub ports: Vec<EndpointPort>,
}

impl EndpointSlice {
    /// The Service this slice belongs to, from its `kubernetes.io/service-name` label.
    pub fn service_name(&self) -> Option<&str> {
        self.metadata
            .labels
            .get(SERVICE_NAME_LABEL)
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Endpoint {
    pub addresses: Vec<String>,
    pub conditions: EndpointConditions,
    pub hostname: String,
    pub node_name: Option<String>,
    pub zone: Option<String>,
    pub target_ref: Option<ObjectReference>,
}

/// Absent conditions mean different things (an absent `ready` counts as ready), so they stay
/// `Option`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointConditions {
    pub ready: Option<bool>,
    pub serving: Option<bool>,
    pub terminating: Option<bool>,
}

/// Annotation Calico's node agent sets to the node's IPv4 address and prefix.
pub const CALICO_IPV4_ADDRESS: &str = "projectcalico.org/IPv4Address";
/// Annotation Calico sets to the address of the node's `tunl0`.
pub const CALICO_IPIP_TUNNEL_ADDR: &str = "projectcalico.org/IPv4IPIPTunnelAddr";
/// Annotation Calico sets to the address of the node's `vxlan.calico`.
pub const CALICO_VXLAN_TUNNEL_ADDR: &str = "projectcalico.org/IPv4VXLANTunnelAddr";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Node {
    pub metadata: ObjectMeta,
    pub spec: NodeSpec,
    pub status: NodeStatus,
}

impl Node {
    /// An address of the given type (`InternalIP`, `ExternalIP`, `Hostname`).
    pub fn addresses_of<'a>(&'a self, type_: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.status
            .addresses
            .iter()
            .filter(move |a| a.type_ == type_)
            .map(|a| a.address.as_str())
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotations.get(key).map(String::as_str)
    }

    /// Status of a condition (`Ready`: "True", "False", "Unknown").
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.status.conditions.iter().find(|c| c.type_ == type_)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeSpec {
    #[serde(rename = "podCIDR")]
    pub pod_cidr: String,
    #[serde(rename = "podCIDRs")]
    pub pod_cidrs: Vec<String>,
    #[serde(rename = "providerID")]
    pub provider_id: String,
    pub unschedulable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeStatus {
    pub addresses: Vec<NodeAddress>,
    pub conditions: Vec<Condition>,
    pub node_info: NodeSystemInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeAddress {
    #[serde(rename = "type")]
    pub type_: String,
    pub address: String,
}

/// A node or pod condition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// "True", "False" or "Unknown".
    pub status: String,
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeSystemInfo {
    pub kernel_version: String,
    pub os_image: String,
    pub operating_system: String,
    pub architecture: String,
    pub container_runtime_version: String,
    pub kubelet_version: String,
    /// Deprecated upstream and often wrong (it reports the kubelet's version); kept as printed.
    pub kube_proxy_version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Pod {
    pub metadata: ObjectMeta,
    pub spec: PodSpec,
    pub status: PodStatus,
}

impl Pod {
    /// Whether the pod's `Ready` condition is "True".
    pub fn is_ready(&self) -> bool {
        self.status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodSpec {
    pub node_name: String,
    pub host_network: bool,
    pub containers: Vec<Container>,
    pub init_containers: Vec<Container>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub ports: Vec<ContainerPort>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerPort {
    pub name: String,
    pub container_port: i64,
    pub host_port: Option<i64>,
    #[serde(rename = "hostIP")]
    pub host_ip: String,
    pub protocol: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodStatus {
    /// Pending, Running, Succeeded, Failed, Unknown.
    pub phase: String,
    #[serde(rename = "hostIP")]
    pub host_ip: String,
    #[serde(rename = "hostIPs")]
    pub host_ips: Vec<PodIp>,
    #[serde(rename = "podIP")]
    pub pod_ip: String,
    #[serde(rename = "podIPs")]
    pub pod_ips: Vec<PodIp>,
    pub conditions: Vec<Condition>,
    /// Why the pod is in its phase (`Evicted` ...).
    pub reason: String,
    pub message: String,
    pub container_statuses: Vec<ContainerStatus>,
}

/// A container's state as the kubelet reports it: restarts, the current and the last state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: String,
    pub ready: bool,
    pub restart_count: i64,
    pub state: ContainerState,
    pub last_state: ContainerState,
}

/// Exactly one of the three is set for a current state; all may be empty for `lastState`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerState {
    pub waiting: Option<ContainerStateDetail>,
    pub running: Option<Value>,
    pub terminated: Option<ContainerStateDetail>,
}

/// `waiting` (reason `CrashLoopBackOff` ...) or `terminated` (exit code, reason, message).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerStateDetail {
    pub reason: String,
    pub message: String,
    pub exit_code: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodIp {
    pub ip: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConfigMap {
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "lenient_string_map")]
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DaemonSet {
    pub metadata: ObjectMeta,
    pub spec: DaemonSetSpec,
    pub status: DaemonSetStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DaemonSetSpec {
    pub template: PodTemplate,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodTemplate {
    pub metadata: ObjectMeta,
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DaemonSetStatus {
    pub desired_number_scheduled: i64,
    pub number_ready: i64,
    pub number_available: i64,
}

/// `kubeproxy.config.k8s.io/v1alpha1` KubeProxyConfiguration, from the `config.conf` key of
/// the `kube-system/kube-proxy` ConfigMap (kubeadm). Durations stay as written ("15m0s").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeProxyConfiguration {
    pub api_version: String,
    pub kind: String,
    /// iptables (when empty, on Linux), ipvs, nftables or kernelspace.
    pub mode: String,
    pub ipvs: KubeProxyIpvs,
    pub iptables: KubeProxyIptables,
    pub nftables: KubeProxyIptables,
    pub node_port_addresses: Vec<String>,
    #[serde(rename = "clusterCIDR")]
    pub cluster_cidr: String,
    pub hostname_override: String,
    pub bind_address: String,
    pub metrics_bind_address: String,
    pub healthz_bind_address: String,
    pub detect_local_mode: String,
    pub feature_gates: BTreeMap<String, bool>,
    pub conntrack: KubeProxyConntrack,
}

impl KubeProxyConfiguration {
    /// The proxy mode kube-proxy runs in: an empty `mode` means iptables on Linux
    /// (`pkg/proxy/apis/config/validation`, kube-proxy's platform default).
    pub fn effective_mode(&self) -> &str {
        if self.mode.is_empty() {
            "iptables"
        } else {
            &self.mode
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeProxyIpvs {
    pub scheduler: String,
    #[serde(rename = "strictARP")]
    pub strict_arp: bool,
    #[serde(rename = "excludeCIDRs")]
    pub exclude_cidrs: Vec<String>,
    pub tcp_timeout: String,
    pub tcp_fin_timeout: String,
    pub udp_timeout: String,
    pub sync_period: String,
    pub min_sync_period: String,
}

/// The `iptables` (and `nftables`) sections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeProxyIptables {
    pub masquerade_all: bool,
    pub masquerade_bit: Option<i64>,
    pub localhost_node_ports: Option<bool>,
    pub sync_period: String,
    pub min_sync_period: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeProxyConntrack {
    pub max_per_core: Option<i64>,
    pub min: Option<i64>,
    pub tcp_established_timeout: String,
    pub tcp_close_wait_timeout: String,
    pub tcp_be_liberal: bool,
    pub udp_timeout: String,
    pub udp_stream_timeout: String,
}

/// Calico IPPool, `crd.projectcalico.org/v1` (the CRD Calico stores) or `projectcalico.org/v3`
/// (served by the Calico API server); the spec is the same.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IpPool {
    pub api_version: String,
    pub metadata: ObjectMeta,
    pub spec: IpPoolSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IpPoolSpec {
    pub cidr: String,
    /// Never (when empty), Always or CrossSubnet.
    pub ipip_mode: String,
    /// Never (when empty), Always or CrossSubnet.
    pub vxlan_mode: String,
    pub nat_outgoing: bool,
    pub disabled: bool,
    pub node_selector: String,
    pub block_size: Option<i64>,
    pub allowed_uses: Vec<String>,
    /// Fields of older Calico versions (`ipip: {enabled, mode}`) and future ones.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Calico FelixConfiguration; Felix has many settings, the ones checks read are typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FelixConfiguration {
    pub api_version: String,
    pub metadata: ObjectMeta,
    pub spec: FelixConfigurationSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FelixConfigurationSpec {
    pub ipip_enabled: Option<bool>,
    #[serde(rename = "ipipMTU")]
    pub ipip_mtu: Option<i64>,
    pub vxlan_enabled: Option<bool>,
    #[serde(rename = "vxlanMTU")]
    pub vxlan_mtu: Option<i64>,
    pub bpf_enabled: Option<bool>,
    pub iptables_backend: String,
    pub chain_insert_mode: String,
    pub interface_prefix: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BgpConfiguration {
    pub api_version: String,
    pub metadata: ObjectMeta,
    pub spec: BgpConfigurationSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BgpConfigurationSpec {
    pub node_to_node_mesh_enabled: Option<bool>,
    #[serde(rename = "asNumber")]
    pub as_number: Option<i64>,
    #[serde(rename = "serviceClusterIPs")]
    pub service_cluster_ips: Vec<CidrEntry>,
    #[serde(rename = "serviceExternalIPs")]
    pub service_external_ips: Vec<CidrEntry>,
    #[serde(rename = "serviceLoadBalancerIPs")]
    pub service_load_balancer_ips: Vec<CidrEntry>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CidrEntry {
    pub cidr: String,
}

/// Calico's own Node resource (not the Kubernetes Node of the same name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CalicoNode {
    pub api_version: String,
    pub metadata: ObjectMeta,
    pub spec: CalicoNodeSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CalicoNodeSpec {
    pub bgp: Option<CalicoNodeBgp>,
    #[serde(rename = "ipv4VXLANTunnelAddr")]
    pub ipv4_vxlan_tunnel_addr: String,
    #[serde(rename = "vxlanTunnelMACAddr")]
    pub vxlan_tunnel_mac_addr: String,
    pub addresses: Vec<CalicoNodeAddress>,
    pub orch_refs: Vec<OrchRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CalicoNodeBgp {
    #[serde(rename = "ipv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "ipv6Address")]
    pub ipv6_address: String,
    #[serde(rename = "ipv4IPIPTunnelAddr")]
    pub ipv4_ipip_tunnel_addr: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CalicoNodeAddress {
    pub address: String,
    #[serde(rename = "type")]
    pub type_: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OrchRef {
    pub node_name: String,
    pub orchestrator: String,
}

/// `networking.k8s.io/v1` NetworkPolicy. Rules stay untyped: checks only ask whether there
/// are any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkPolicy {
    pub metadata: ObjectMeta,
    pub spec: NetworkPolicySpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    pub pod_selector: LabelSelector,
    pub policy_types: Vec<String>,
    pub ingress: Vec<Value>,
    pub egress: Vec<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(deserialize_with = "lenient_string_map")]
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// Identity of an object, for kinds not modelled here and for objects that failed to decode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObjectId {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.kind)?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        f.write_str(&self.name)
    }
}

/// One decoded object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "object")]
pub enum K8sObject {
    Service(Box<Service>),
    Endpoints(Box<Endpoints>),
    EndpointSlice(Box<EndpointSlice>),
    Node(Box<Node>),
    Pod(Box<Pod>),
    ConfigMap(Box<ConfigMap>),
    DaemonSet(Box<DaemonSet>),
    IpPool(Box<IpPool>),
    FelixConfiguration(Box<FelixConfiguration>),
    BgpConfiguration(Box<BgpConfiguration>),
    CalicoNode(Box<CalicoNode>),
    NetworkPolicy(Box<NetworkPolicy>),
    /// A kind not modelled here (or an item of a `kind: List` without `kind`).
    Other(ObjectId),
    /// A known kind that could not be read even with its unreadable fields left out; kept so
    /// that one odd object does not hide the rest of a list.
    Malformed {
        id: ObjectId,
        error: String,
    },
    /// A field of the object before it whose value has an unexpected type (`port: "80"`,
    /// `addresses:` as a mapping): left out of that object, which is used without it.
    UnreadableField {
        id: ObjectId,
        /// Where in the object: `.spec.ports[0].port`.
        path: String,
        error: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Decodes every object in `text` with the default [`Limits`].
pub fn parse_objects(text: &str) -> Result<Vec<K8sObject>, K8sDecodeError> {
    parse_objects_with(text, &Limits::default())
}

/// Decodes every object in `text`.
pub fn parse_objects_with(text: &str, limits: &Limits) -> Result<Vec<K8sObject>, K8sDecodeError> {
    let text = accepted_text(text, limits)?;
    // A large `kubectl get -A -o yaml` list: items are read and typed on all cores.
    if let Some((head, parts)) = yaml::load_list_in_parallel(
        text,
        limits.max_depth,
        |len| limits.expansion_budget(len),
        |head, item| {
            let mut out = Vec::new();
            if let Value::Object(item) = item {
                classify_item(item, &object_id(head), 1, &mut out);
            }
            out
        },
    ) {
        if is_list_kind(&object_id(&head).kind) {
            return Ok(parts.into_iter().flatten().collect());
        }
    }
    let mut out = Vec::new();
    for (i, doc) in documents(text, limits)?.into_iter().enumerate() {
        match doc {
            Value::Null => {}
            Value::Object(map) => classify(map, None, 0, &mut out),
            other => {
                return Err(K8sDecodeError::NotAnObject {
                    document: i + 1,
                    found: json_type(&other),
                })
            }
        }
    }
    Ok(out)
}

/// Decodes a KubeProxyConfiguration (the `config.conf` value of the kube-proxy ConfigMap).
pub fn parse_kube_proxy_config(text: &str) -> Result<KubeProxyConfiguration, K8sDecodeError> {
    let docs = documents(text, &Limits::default())?;
    let doc = docs
        .into_iter()
        .find(|d| !d.is_null())
        .unwrap_or(Value::Object(Map::new()));
    match doc {
        Value::Object(mut map) => {
            strip_nulls(&mut map);
            serde_json::from_value(Value::Object(map)).map_err(|e| K8sDecodeError::Yaml {
                message: format!("KubeProxyConfiguration: {e}"),
            })
        }
        other => Err(K8sDecodeError::NotAnObject {
            document: 1,
            found: json_type(&other),
        }),
    }
}

/// The input's documents as JSON values, after the size, depth and alias checks.
fn documents(text: &str, limits: &Limits) -> Result<Vec<Value>, K8sDecodeError> {
    let text = accepted_text(text, limits)?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // `kubectl -o json`. serde_json has no aliases and refuses nesting beyond 128; on a
        // syntax error fall through: a YAML flow mapping also starts with `{`.
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            if depth_of(&v) > limits.max_depth {
                return Err(K8sDecodeError::TooDeep {
                    limit: limits.max_depth,
                    line: 1,
                });
            }
            return Ok(vec![v]);
        }
    }
    if let Some((mut list, items)) = yaml::load_list_in_parallel(
        text,
        limits.max_depth,
        |len| limits.expansion_budget(len),
        |_, item| item,
    ) {
        list.insert("items".to_string(), Value::Array(items));
        return Ok(vec![Value::Object(list)]);
    }
    let budget = limits.expansion_budget(text.len());
    yaml::load(text, limits.max_depth, budget)
}

/// `text` without a byte-order mark, if it is within the size limit.
fn accepted_text<'a>(text: &'a str, limits: &Limits) -> Result<&'a str, K8sDecodeError> {
    if text.len() > limits.max_input_bytes {
        return Err(K8sDecodeError::TooLarge {
            size: text.len(),
            limit: limits.max_input_bytes,
        });
    }
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

fn is_list_kind(kind: &str) -> bool {
    kind == "List" || kind.ends_with("List")
}

fn depth_of(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth_of).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth_of).max().unwrap_or(0),
        _ => 0,
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

/// `key: null` means "not set", which `#[serde(default)]` only understands when the key is
/// absent (kubectl prints `creationTimestamp: null` in every pod template).
fn strip_nulls(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
    for v in map.values_mut() {
        strip_nulls_value(v);
    }
}

fn strip_nulls_value(v: &mut Value) {
    match v {
        Value::Object(m) => strip_nulls(m),
        Value::Array(a) => a.iter_mut().for_each(strip_nulls_value),
        _ => {}
    }
}

/// Labels, annotations and ConfigMap data are strings to Kubernetes, but a hand-written file may
/// say `enabled: true`; keep the scalar's text instead of failing.
fn lenient_string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let map = Option::<BTreeMap<String, Value>>::deserialize(d)?.unwrap_or_default();
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, v)
        })
        .collect())
}

fn str_field(map: &Map<String, Value>, key: &str) -> String {
    map.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn object_id(map: &Map<String, Value>) -> ObjectId {
    let meta = map.get("metadata").and_then(Value::as_object);
    let meta_str = |k: &str| meta.map(|m| str_field(m, k)).unwrap_or_default();
    ObjectId {
        api_version: str_field(map, "apiVersion"),
        kind: str_field(map, "kind"),
        namespace: meta_str("namespace"),
        name: meta_str("name"),
    }
}

/// Files one item of the list `list` (a `List`'s items carry their own kind, a typed list's
/// take it from the list's).
fn classify_item(
    item: Map<String, Value>,
    list: &ObjectId,
    nesting: usize,
    out: &mut Vec<K8sObject>,
) {
    match list.kind.strip_suffix("List").unwrap_or_default() {
        "" => classify(item, None, nesting, out),
        item_kind => classify(item, Some((&list.api_version, item_kind)), nesting, out),
    }
}

/// Lists inside lists are not something kubectl prints; this bounds the recursion anyway.
const MAX_LIST_NESTING: usize = 2;

/// Files one object (or the items of a list) into `out`. `inherited` is the (apiVersion, kind)
/// of a typed list's items, which the API server leaves out of each item.
fn classify(
    mut map: Map<String, Value>,
    inherited: Option<(&str, &str)>,
    nesting: usize,
    out: &mut Vec<K8sObject>,
) {
    if let Some((api_version, kind)) = inherited {
        map.entry("apiVersion")
            .or_insert_with(|| Value::from(api_version));
        map.entry("kind").or_insert_with(|| Value::from(kind));
    }
    // `kubectl get configmap -o yaml` prints apiVersion, data, kind, metadata in that order: a
    // paste cut inside data has no kind. A data key config.conf holding a
    // KubeProxyConfiguration is kube-proxy's ConfigMap (kubernetes#92033 pasted one so).
    if !map.contains_key("kind") {
        let kube_proxy = map
            .get("data")
            .and_then(|d| d.get(KUBE_PROXY_CONFIG_KEY))
            .and_then(Value::as_str)
            .is_some_and(|c| {
                c.lines()
                    .any(|l| l.trim() == "kind: KubeProxyConfiguration")
            });
        if kube_proxy {
            map.insert("kind".to_string(), Value::from("ConfigMap"));
        }
    }
    let id = object_id(&map);
    if let Some(Value::Array(_)) = map.get("items") {
        if is_list_kind(&id.kind) {
            if nesting >= MAX_LIST_NESTING {
                out.push(K8sObject::Other(id));
                return;
            }
            let items = match map.remove("items") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            for item in items {
                // A null or scalar item carries no object.
                if let Value::Object(m) = item {
                    classify_item(m, &id, nesting + 1, out);
                }
            }
            return;
        }
    }
    strip_nulls(&mut map);
    let group = id
        .api_version
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or_default();
    let value = Value::Object(map);
    // A field of an unexpected type is left out and named after the object, not the object
    // dropped for it (`fields`).
    let mut left_out = Vec::new();
    macro_rules! typed {
        ($variant:ident) => {
            match fields::read_leniently(value) {
                Ok((o, fields)) => {
                    left_out = fields;
                    K8sObject::$variant(Box::new(o))
                }
                Err(e) => K8sObject::Malformed {
                    id: id.clone(),
                    error: e.to_string(),
                },
            }
        };
    }
    let object = match (group, id.kind.as_str()) {
        ("", "Service") => typed!(Service),
        ("", "Endpoints") => typed!(Endpoints),
        ("", "Node") => typed!(Node),
        ("", "Pod") => typed!(Pod),
        ("", "ConfigMap") => typed!(ConfigMap),
        ("discovery.k8s.io", "EndpointSlice") => typed!(EndpointSlice),
        ("apps", "DaemonSet") => typed!(DaemonSet),
        ("networking.k8s.io", "NetworkPolicy") => typed!(NetworkPolicy),
        ("crd.projectcalico.org" | "projectcalico.org", kind) => match kind {
            "IPPool" => typed!(IpPool),
            "FelixConfiguration" => typed!(FelixConfiguration),
            "BGPConfiguration" => typed!(BgpConfiguration),
            "Node" => typed!(CalicoNode),
            _ => K8sObject::Other(id.clone()),
        },
        _ => K8sObject::Other(id.clone()),
    };
    out.push(object);
    out.extend(left_out.into_iter().map(|f| K8sObject::UnreadableField {
        id: id.clone(),
        path: f.path,
        error: f.error,
    }));
}

// ---------------------------------------------------------------------------------------------
// Cluster state
// ---------------------------------------------------------------------------------------------

/// Where kubeadm keeps kube-proxy's configuration.
pub const KUBE_PROXY_CONFIGMAP: (&str, &str) = ("kube-system", "kube-proxy");
/// The ConfigMap key holding the KubeProxyConfiguration.
pub const KUBE_PROXY_CONFIG_KEY: &str = "config.conf";

/// Every object decoded from a bundle's `k8s/` artifacts, filed by kind. Adding the same object
/// (same kind, namespace and name) again replaces it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClusterState {
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoints>,
    pub endpoint_slices: Vec<EndpointSlice>,
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub config_maps: Vec<ConfigMap>,
    pub daemon_sets: Vec<DaemonSet>,
    /// From the `config.conf` key of the `kube-system/kube-proxy` ConfigMap.
    pub kube_proxy_config: Option<KubeProxyConfiguration>,
    pub ip_pools: Vec<IpPool>,
    pub felix_configurations: Vec<FelixConfiguration>,
    pub bgp_configurations: Vec<BgpConfiguration>,
    pub calico_nodes: Vec<CalicoNode>,
    pub network_policies: Vec<NetworkPolicy>,
    pub other: Vec<ObjectId>,
    pub malformed: Vec<(ObjectId, String)>,
    /// Fields left out of the objects they belong to: (object, `.path`, why).
    pub unreadable_fields: Vec<(ObjectId, String, String)>,
    /// What could not be understood beyond single objects (an unreadable kube-proxy
    /// configuration), for the report.
    pub problems: Vec<String>,
    #[serde(skip)]
    index: Index,
}

/// Position of each filed object in its list, by (list, namespace, name).
type Index = HashMap<(&'static str, String, String), usize>;

fn upsert<T>(
    index: &mut Index,
    list_name: &'static str,
    list: &mut Vec<T>,
    item: T,
    meta: fn(&T) -> &ObjectMeta,
) {
    let m = meta(&item);
    let key = (list_name, m.namespace.clone(), m.name.clone());
    match index.get(&key) {
        Some(&i) if i < list.len() => list[i] = item,
        _ => {
            index.insert(key, list.len());
            list.push(item);
        }
    }
}

impl ClusterState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Files decoded objects.
    pub fn add(&mut self, objects: impl IntoIterator<Item = K8sObject>) {
        for object in objects {
            match object {
                K8sObject::Service(o) => {
                    upsert(&mut self.index, "services", &mut self.services, *o, |o| {
                        &o.metadata
                    })
                }
                K8sObject::Endpoints(o) => {
                    upsert(&mut self.index, "endpoints", &mut self.endpoints, *o, |o| {
                        &o.metadata
                    })
                }
                K8sObject::EndpointSlice(o) => upsert(
                    &mut self.index,
                    "endpoint_slices",
                    &mut self.endpoint_slices,
                    *o,
                    |o| &o.metadata,
                ),
                K8sObject::Node(o) => upsert(&mut self.index, "nodes", &mut self.nodes, *o, |o| {
                    &o.metadata
                }),
                K8sObject::Pod(o) => {
                    upsert(&mut self.index, "pods", &mut self.pods, *o, |o| &o.metadata)
                }
                K8sObject::ConfigMap(o) => {
                    let meta = &o.metadata;
                    // A pasted ConfigMap cut before its metadata is kube-proxy's when its
                    // config.conf says it is a KubeProxyConfiguration.
                    let unnamed_kube_proxy = meta.name.is_empty()
                        && o.data.get(KUBE_PROXY_CONFIG_KEY).is_some_and(|c| {
                            c.lines()
                                .any(|l| l.trim() == "kind: KubeProxyConfiguration")
                        });
                    if (meta.namespace.as_str(), meta.name.as_str()) == KUBE_PROXY_CONFIGMAP
                        || unnamed_kube_proxy
                    {
                        self.file_kube_proxy_config(&o);
                    }
                    upsert(
                        &mut self.index,
                        "config_maps",
                        &mut self.config_maps,
                        *o,
                        |o| &o.metadata,
                    )
                }
                K8sObject::DaemonSet(o) => upsert(
                    &mut self.index,
                    "daemon_sets",
                    &mut self.daemon_sets,
                    *o,
                    |o| &o.metadata,
                ),
                K8sObject::IpPool(o) => {
                    upsert(&mut self.index, "ip_pools", &mut self.ip_pools, *o, |o| {
                        &o.metadata
                    })
                }
                K8sObject::FelixConfiguration(o) => upsert(
                    &mut self.index,
                    "felix_configurations",
                    &mut self.felix_configurations,
                    *o,
                    |o| &o.metadata,
                ),
                K8sObject::BgpConfiguration(o) => upsert(
                    &mut self.index,
                    "bgp_configurations",
                    &mut self.bgp_configurations,
                    *o,
                    |o| &o.metadata,
                ),
                K8sObject::CalicoNode(o) => upsert(
                    &mut self.index,
                    "calico_nodes",
                    &mut self.calico_nodes,
                    *o,
                    |o| &o.metadata,
                ),
                K8sObject::NetworkPolicy(o) => upsert(
                    &mut self.index,
                    "network_policies",
                    &mut self.network_policies,
                    *o,
                    |o| &o.metadata,
                ),
                K8sObject::Other(id) => self.other.push(id),
                K8sObject::Malformed { id, error } => self.malformed.push((id, error)),
                K8sObject::UnreadableField { id, path, error } => {
                    self.unreadable_fields.push((id, path, error))
                }
            }
        }
    }

    fn file_kube_proxy_config(&mut self, cm: &ConfigMap) {
        let Some(text) = cm.data.get(KUBE_PROXY_CONFIG_KEY) else {
            self.problems.push(format!(
                "ConfigMap kube-system/kube-proxy has no {KUBE_PROXY_CONFIG_KEY} key"
            ));
            return;
        };
        match parse_kube_proxy_config(text) {
            Ok(c) => self.kube_proxy_config = Some(c),
            Err(e) => self.problems.push(format!(
                "ConfigMap kube-system/kube-proxy: {KUBE_PROXY_CONFIG_KEY} cannot be read: {e}"
            )),
        }
    }

    /// Why field `path` (`.spec.ipipMode`) of the `kind` object `meta` could not be read, when
    /// it, or the part of the object holding it, was left out: its default is then no fact,
    /// and a check that would read it says it cannot conclude.
    pub fn unreadable_field(&self, kind: &str, meta: &ObjectMeta, path: &str) -> Option<&str> {
        self.unreadable_fields
            .iter()
            .find(|(id, left_out, _)| {
                id.kind == kind
                    && id.namespace == meta.namespace
                    && id.name == meta.name
                    && path
                        .strip_prefix(left_out.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .map(|(.., error)| error.as_str())
    }

    /// The Service `namespace/name`.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.metadata.namespace == namespace && s.metadata.name == name)
    }

    /// The EndpointSlices of the Service `namespace/name`.
    pub fn slices_of<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a EndpointSlice> + 'a {
        self.endpoint_slices
            .iter()
            .filter(move |s| s.metadata.namespace == namespace && s.service_name() == Some(name))
    }
}

mod fields;
mod yaml;

#[cfg(test)]
mod tests;
