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
    /// A kernel module is not loaded. subject: the module; kube-proxy's IPVS check names
    /// several at once, and then subject is their space-separated list as printed.
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
    /// A component cannot reach the API server. subject: the component (empty when one log
    /// line does not say which; the artifact does), value: the address.
    ApiServerUnreachable,
    /// A component is not running or crash-looping. subject: the component.
    ComponentNotRunning,
    /// The node's (or a node's) address. subject: the node (empty: the node the evidence
    /// came from), value: the address.
    NodeAddress,
    /// A pod CIDR (per node, or a pool's). subject: the node or pool, value: the CIDR.
    PodCidr,
    /// The cluster-wide pod CIDR. value: the CIDR, or `unset` when a component says none
    /// was configured.
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
    /// A sysctl's value. subject: the key (dotted or slashed as printed), value: the value,
    /// or `not-1` when a message says only that it is unset or not 1.
    Sysctl,
    /// A Service has no endpoints. subject: `namespace/name`.
    ServiceNoEndpoints,
    /// A probe (curl, nc, telnet, ping) of an address failed. subject: `addr:port` or the URL,
    /// value: `timeout`, `refused`, `no-route`, `reset`, `unreachable`, `dns`, or
    /// `connect-failed` (curl ≥ 7.86 prints "Couldn't connect to server" for a refused and an
    /// unreachable peer alike). ping names no target on its failure lines: subject is empty
    /// there and the target is on the `PING addr` line above.
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
    /// The kernel is older than a component needs. subject: what needs it (`kube-proxy
    /// nftables`, or a sysctl such as `net/ipv4/vs/conn_reuse_mode`), value: the minimum
    /// kernel version.
    KernelTooOld,
    /// The kernel's IPVS found no usable real server for a virtual service (it logs this per
    /// dropped connection). subject: `TCP addr:port` as printed, value: the scheduler.
    IpvsNoDestination,
    /// A node has no pod CIDR assigned (flannel cannot take a lease). subject: the node.
    PodCidrMissing,
    /// Two nodes claim one address (Calico). subject: the address, value: the other node.
    NodeAddressConflict,
    /// A component could not find its node's IP and fell back to another address. subject:
    /// the component, value: the address it uses (`127.0.0.1`, `loopback`).
    NodeIpFallback,
    /// `iptables-nft-save` warned that iptables-legacy tables exist too (two backends hold
    /// rules).
    IptablesLegacyTablesPresent,
    /// An iptables table could not be initialised (module missing or wrong backend). subject:
    /// the table (`nat`), value: the reason as printed.
    IptablesTableMissing,
    /// An iptables extension (target or match) is not supported by the kernel or userspace.
    /// subject: the extension (`MARK`, `comment`, `--random-fully`), value: the detail.
    IptablesExtensionMissing,
    /// `nft` (or kube-proxy in nftables mode) failed to apply or list rules. value: the
    /// detail.
    NftablesFailed,
    /// The hairpin mode a component uses. subject: the component, value: the mode
    /// (`hairpin-veth`, `promiscuous-bridge`, `none`).
    HairpinMode,
    /// The kernel dropped a UDP datagram whose checksum was wrong. subject: the destination
    /// `addr:port` (a VXLAN port, 4789 or 8472, names an overlay's encapsulated traffic),
    /// value: the source `addr:port`.
    UdpBadChecksum,
    /// A network manager handles a link (`networkctl status`, `nmcli device`). subject: the
    /// link, value: `manager: what the listing says`.
    LinkManaged,
    /// A NodePort frontend Cilium's kube-proxy replacement serves (`cilium service list`).
    /// subject: `addr:port`.
    NodePortFrontend,
    /// A node address as Cilium sees it (`cilium-dbg statedb node-addresses`). subject: the
    /// address, value: `nodeport=true|false dev=DEVICE`.
    CiliumNodeAddress,
    /// A Service port has endpoints, but none on this node for external traffic
    /// (externalTrafficPolicy: Local): kube-proxy drops what arrives for it here. subject:
    /// `namespace/name`, value: the address or port turned away as printed.
    ServiceNoLocalEndpoints,
    /// The kernel lacks an nf_tables expression a ruleset uses: nft could not add a rule
    /// holding it. subject: the expression (`fib`, `numgen`), value: nft's error.
    NftExpressionUnsupported,
    /// A host firewall manager's state as its status command prints it. subject: `ufw` or
    /// `firewalld`, value: `active` or `inactive`.
    FirewallState,
    /// What a host firewall manager's status lists as allowed. subject: `ufw` or `firewalld`,
    /// value: the port spec as printed (`443`, `22/tcp`, `30000:32767/tcp`), or `from <source>`
    /// for a rule that allows every port from a source.
    FirewallAllows,
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
