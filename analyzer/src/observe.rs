//! Observations: every recognised thing in the evidence — a netlink dump, a pasted table, one
//! log line, a tool's error message, a probe's outcome — as one statement about one subject,
//! with where it was read and how sure that statement is.
//!
//! Decoders and the signature library ([`crate::signatures`]) emit observations; the diagnosis
//! derives the facts its checks read from whichever observations establish them, so a native
//! bundle and a paste meet a check through one road (ARCHITECTURE.md, principle 11).

use serde::Serialize;

use crate::diagnose::finding::Evidence;

/// What an observation is about. The kind is closed so that checks match on it; the subject
/// and value are text because they come from the evidence (a module name, a pool name, an
/// `addr:port`). New kinds are added at the end, never renamed: signatures name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FactKind {
    /// kube-proxy's proxy mode in use or configured. value: `ipvs`, `iptables`, `nftables`,
    /// `userspace`, `kernelspace`.
    ProxyMode,
    /// kube-proxy wanted one mode and fell back to another. subject: the wanted mode, value:
    /// the mode used.
    ProxyModeFallback,
    /// kube-proxy cannot use IPVS. value: the reason as printed.
    IpvsUnavailable,
    /// The IPVS scheduler configured or in use. value: `rr`, `wrr`, ...
    IpvsScheduler,
    /// A kernel module is not loaded. subject: the module.
    ModuleNotLoaded,
    /// A kernel module could not be loaded. subject: the module, value: the reason.
    ModuleLoadFailed,
    /// A kernel module is loaded. subject: the module.
    ModuleLoaded,
    /// A kernel module is built into the kernel. subject: the module.
    ModuleBuiltIn,
    /// kube-proxy's ipset use failed (version or set creation). value: the reason.
    IpsetFailed,
    /// iptables-restore (or -save) failed for kube-proxy or the CNI. value: the detail.
    IptablesRestoreFailed,
    /// The iptables backend in use. value: `legacy` or `nf_tables`.
    IptablesBackend,
    /// kube-proxy (or another component) did not find its Node object. subject: the name used.
    NodeNotFound,
    /// A component cannot reach the API server. subject: the component, value: the address.
    ApiServerUnreachable,
    /// A component is not running or crash-looping. subject: the component.
    ComponentNotRunning,
    /// The node's (or a node's) address. subject: the node, value: the address.
    NodeAddress,
    /// A pod CIDR (per node, or a pool's). subject: the node or pool, value: the CIDR.
    PodCidr,
    /// The cluster-wide pod CIDR. value: the CIDR.
    ClusterCidr,
    /// The Service CIDR. value: the CIDR.
    ServiceCidr,
    /// A Calico IPPool's IPIP mode. subject: the pool, value: `Always`, `CrossSubnet`, `Never`.
    CalicoIpipMode,
    /// A Calico IPPool's VXLAN mode. subject: the pool, value: the mode.
    CalicoVxlanMode,
    /// The address or interface Calico autodetected. subject: the node, value: what it chose.
    CalicoAutodetected,
    /// A BGP session is not established. subject: the peer, value: the state.
    BgpNotEstablished,
    /// The interface flannel uses. subject: the node, value: the interface.
    FlannelInterface,
    /// flannel's backend. value: `vxlan`, `host-gw`, ...
    FlannelBackend,
    /// The conntrack table is full (the kernel drops packets).
    ConntrackTableFull,
    /// The kernel logged a martian source (reverse-path filtering dropped a packet). subject:
    /// the device.
    MartianSource,
    /// A sysctl's value. subject: the key, value: the value.
    Sysctl,
    /// A Service has no endpoints. subject: `namespace/name`.
    ServiceNoEndpoints,
    /// A probe (curl, nc, telnet, ping) of an address failed. subject: `addr:port` or the URL,
    /// value: `timeout`, `refused`, `no-route`, `reset`, `unreachable`, `dns`.
    ProbeFailed,
    /// A probe of an address answered. subject: `addr:port` or the URL.
    ProbeAnswered,
    /// A CNI plugin failed to set up or tear down a pod's network. value: the detail.
    CniError,
    /// The container runtime failed (exec, sandbox). value: the detail.
    RuntimeError,
    /// kube-proxy and the kernel disagree on the IPVS netlink API. value: the detail.
    IpvsNetlinkMismatch,
    /// A component's error on the Service path that is none of the above. subject: the
    /// component, value: the message.
    ComponentError,
}

/// How the statement was made, strongest first: a kernel's own state outranks a tool's
/// output, which outranks a component's log, a configuration, an inference or a person's
/// comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Certainty {
    /// The kernel's own state (netlink, /proc, /sys, dmesg).
    Kernel,
    /// A tool's output (ipvsadm, iptables-save, lsmod, kubectl get).
    Tool,
    /// A component said so in its log or error message (kube-proxy, kubelet, calico-node).
    Component,
    /// A configuration object or file (ConfigMap, IPPool, flags, CNI config).
    Config,
    /// Inferred from other state (e.g. IPVS mode from a ClusterIP among the virtual servers).
    Inferred,
    /// A person reported it in a comment; never decisive.
    Reported,
}

/// One statement read from the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observation {
    pub kind: FactKind,
    /// What it is about (a module, a pool, `addr:port`); empty when the kind needs none.
    pub subject: String,
    /// What it says about the subject; empty when the kind says it all.
    pub value: String,
    pub certainty: Certainty,
    /// Where it was read: artifact or pasted file, line, excerpt.
    pub evidence: Evidence,
    /// The signature that recognised it, when one did (`docs/signatures.md`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<&'static str>,
}

impl Observation {
    pub fn new(
        kind: FactKind,
        subject: impl Into<String>,
        value: impl Into<String>,
        certainty: Certainty,
        evidence: Evidence,
    ) -> Self {
        Observation {
            kind,
            subject: subject.into(),
            value: value.into(),
            certainty,
            evidence,
            signature: None,
        }
    }
}
