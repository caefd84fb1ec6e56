//! Which catalog entries explain which sign, most likely first, and the one command that
//! settles each entry.
//!
//! The lists follow the failure catalog (part 2: each entry's symptom; part 3: kube-proxy
//! programming first, then the node, then the overlay) and what the corpus of real threads
//! shows to be common. They are ordered lists, not sets: the position is part of the score
//! (see the module above).

/// How a connection attempt failed, as far as the suspects go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Outcome {
    /// No answer: something dropped the packet (or its reply) silently.
    Dropped,
    /// An answer that refused: a reset or an ICMP reject.
    Refused,
    /// The same address failed and answered: some paths (backends) work, others do not.
    Intermittent,
    /// Nothing was pasted of the attempt: the complaint ("unreachable") is implied.
    Unknown,
}

/// What kind of address a probe aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Target {
    NodePort,
    ClusterIp,
    LoadBalancer,
    Pod,
    /// A Service's DNS name or the cluster DNS.
    Dns,
    Unknown,
}

impl Target {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Target::NodePort => "a NodePort",
            Target::ClusterIp => "a ClusterIP",
            Target::LoadBalancer => "a LoadBalancer or external IP",
            Target::Pod => "a pod address",
            Target::Dns => "cluster DNS",
            Target::Unknown => "a Service",
        }
    }
}

/// The catalog entries that explain a failed connection to `target`, most likely first.
pub(super) fn connection(target: Target, outcome: Outcome) -> &'static [&'static str] {
    use Outcome::{Dropped, Intermittent, Refused, Unknown};
    match (target, outcome) {
        // A reset: nothing listens and no rule takes the port (kube-proxy did not program it,
        // or not on this address), or kube-proxy's REJECT for a Service without endpoints
        // (iptables/nftables modes), or the pod's application refused. With IPVS, an address
        // that every node holds on kube-ipvs0 but that has no real server on the node that
        // answered ARP (strictARP off, externalTrafficPolicy Local) is refused by the node's
        // own stack (C13, C19).
        (Target::NodePort, Refused) => &["C16", "C06", "C01", "C10", "C18", "C11", "C17", "C19"],
        (Target::ClusterIp | Target::Unknown, Refused) => {
            &["C16", "C18", "C06", "C01", "C17", "C09", "C05"]
        }
        (Target::LoadBalancer, Refused) => &[
            "C19", "C13", "C16", "C12", "C18", "C06", "C01", "C17", "C57",
        ],
        (Target::Pod, Refused) => &["C18", "C17"],
        (Target::Dns, Refused) => &["C16", "C17", "C06"],
        (Target::NodePort, Dropped) => &[
            "C26", "C19", "C23", "C28", "C14", "C01", "C39", "C22", "C24", "C21", "C37", "C29",
            "C30", "C31", "C32", "C36", "C27",
        ],
        (Target::ClusterIp | Target::Unknown, Dropped) => &[
            "C28", "C22", "C23", "C37", "C29", "C30", "C31", "C01", "C24", "C21", "C38", "C32",
            "C26", "C34", "C35", "C27",
        ],
        (Target::LoadBalancer, Dropped) => &[
            "C13", "C19", "C57", "C26", "C55", "C56", "C12", "C28", "C23", "C24", "C27",
        ],
        (Target::Pod, Dropped) => &[
            "C28", "C37", "C29", "C30", "C31", "C32", "C23", "C21", "C24", "C34", "C35", "C33",
            "C40", "C49", "C50", "C26", "C27",
        ],
        (Target::Dns, Dropped) => &[
            "C22", "C28", "C23", "C37", "C29", "C30", "C31", "C24", "C38", "C01", "C26", "C27",
        ],
        // Fails, then answers: some backends are reachable and others not — the ones across
        // the overlay (catalog part 3, rule 3), masquerade that only breaks replies from other
        // nodes (C38: "ClusterIP from nodes times out intermittently"), or the kernel dropping
        // some flows (C15, C25).
        (_, Intermittent) => &[
            "C38", "C31", "C23", "C21", "C22", "C37", "C28", "C26", "C29", "C32", "C15", "C25",
            "C24",
        ],
        // Nothing of the attempt was pasted: what most often breaks this kind of address in
        // the corpus and the catalog, the Service layer and the node's filtering first.
        (Target::NodePort, Unknown) => &[
            "C23", "C26", "C19", "C16", "C39", "C14", "C01", "C37", "C22", "C28", "C17", "C18",
            "C10", "C21", "C31", "C32", "C27",
        ],
        (Target::ClusterIp, Unknown) => &[
            "C16", "C23", "C22", "C38", "C01", "C28", "C37", "C31", "C17", "C18", "C26", "C21",
            "C06", "C32", "C27",
        ],
        (Target::LoadBalancer, Unknown) => &[
            "C19", "C13", "C57", "C55", "C56", "C54", "C16", "C12", "C26", "C27",
        ],
        (Target::Pod, Unknown) => &[
            "C28", "C37", "C23", "C26", "C29", "C30", "C31", "C32", "C21", "C33", "C40", "C34",
            "C35", "C49", "C50", "C27",
        ],
        (Target::Dns, Unknown) => connection(Target::Dns, Dropped),
        (Target::Unknown, Unknown) => &[
            "C16", "C23", "C26", "C19", "C22", "C01", "C37", "C28", "C31", "C14", "C38", "C17",
            "C21", "C06", "C32", "C27",
        ],
    }
}

/// A reply seen arriving at the client's node (encapsulated or not) that the client never
/// took: the SYN-ACK is retransmitted. Dropped after arrival: bad checksums of VXLAN packets
/// (C31: the receiver discards them), Calico eBPF VXLAN across mixed versions (C50: the
/// decapsulated reply is marked for another host and dropped), a VXLAN device down or
/// managed away (C40, C33), reverse-path filtering (C24), un-NAT missed on a bridge (C22).
pub(super) const REPLY_NOT_DELIVERED: &[&str] =
    &["C31", "C50", "C40", "C24", "C33", "C22", "C38", "C32"];

/// A request seen leaving with no answer at all: lost on the way or at the far node.
pub(super) const REQUEST_UNANSWERED: &[&str] = &[
    "C26", "C27", "C23", "C28", "C31", "C37", "C29", "C32", "C24", "C21",
];

/// Data stuck unacknowledged in the send queue of established connections: the handshake's
/// small packets pass and full-size ones do not (C32), or offload corrupts them (C31).
pub(super) const DATA_STALLED: &[&str] = &["C32", "C31", "C25"];

/// A tunnel device that drops on transmit: packets too big for it (C32), no neighbour or
/// forwarding entry for the remote end (C37, C40), or the tunnel where it should not be (C28).
pub(super) const TUNNEL_TX_DROPS: &[&str] = &["C32", "C37", "C40", "C28", "C27"];

/// Cilium's health probes to other nodes fail while those nodes' endpoints answer: the
/// node-to-node health port (4240/tcp) or ICMP is filtered, in the cloud or on the host.
pub(super) const NODE_HEALTH_UNREACHABLE: &[&str] = &["C27", "C26", "C24"];

/// Several MAC addresses answer ARP for one address: one node answering from several
/// interfaces (C57), every IPVS node answering for addresses on kube-ipvs0 (C13), or an
/// address that is also a node's or another host's (C12, C34).
pub(super) const ARP_SEVERAL_MACS: &[&str] = &["C57", "C13", "C12", "C34"];

/// What each context makes common, most likely first: the entries of a CNI, an
/// encapsulation or a proxy mode, as the catalog and the corpus show them.
pub(super) const CALICO_VXLAN: &[&str] = &["C40", "C33", "C31", "C32", "C26", "C29", "C50", "C27"];
pub(super) const CALICO_IPIP: &[&str] = &["C28", "C49", "C29", "C30", "C32", "C26", "C27"];
pub(super) const CALICO: &[&str] = &["C28", "C29", "C30", "C33", "C32", "C34", "C36"];
pub(super) const FLANNEL: &[&str] = &[
    "C37", "C23", "C22", "C38", "C31", "C35", "C34", "C26", "C32",
];
pub(super) const CILIUM: &[&str] = &["C39", "C26", "C27", "C24", "C32"];
pub(super) const IPVS: &[&str] = &[
    "C01", "C14", "C19", "C13", "C02", "C04", "C05", "C11", "C03", "C15",
];
/// Probes sent from a node itself (or a host-network pod) to Service addresses: the
/// checksum-offload bug hits node-originated VXLAN traffic (C31), flannel without masquerade
/// breaks ClusterIP from nodes (C38), un-NAT missed on a bridge (C22). Localhost NodePorts
/// (C11) are raised by the probe itself.
pub(super) const FROM_NODE: &[&str] = &["C31", "C38", "C22"];

/// The command whose output settles whether a catalog entry is the cause.
pub(super) fn settle(entry: &str) -> &'static str {
    match entry {
        "C01" => "lsmod | grep -e ip_vs -e nf_conntrack; kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i -e ipvs -e modul",
        "C02" => "grep ip_vs /lib/modules/$(uname -r)/modules.builtin",
        "C03" => "kubectl -n kube-system get configmap kube-proxy -o yaml | grep -i scheduler; lsmod | grep ip_vs_",
        "C04" => "kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i modprobe",
        "C05" => "kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i ipset; lsmod | grep ip_set",
        "C06" => "kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide",
        "C07" => "kubectl get nodes -o wide; hostname; kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i node",
        "C08" => "iptables --version; iptables-legacy-save | grep -c KUBE; iptables-nft-save | grep -c KUBE",
        "C09" => "kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i iptables-restore",
        "C10" => "kubectl -n kube-system get configmap kube-proxy -o yaml | grep -A3 nodePortAddresses",
        "C11" => "ipvsadm -Ln | grep 127.0.0.1; curl -m 5 http://<node address>:<nodePort>",
        "C12" => "kubectl get svc -A -o wide | grep -v '<none>'; ip -br addr",
        "C13" => "kubectl -n kube-system get configmap kube-proxy -o yaml | grep strictARP",
        "C14" => "iptables -S INPUT | head -5; ipvsadm -Ln",
        "C15" => "sysctl net.ipv4.vs.conn_reuse_mode net.ipv4.vs.expire_nodest_conn",
        "C16" => "kubectl get endpointslices -A -l kubernetes.io/service-name=<service>; kubectl get svc <service> -o yaml (selector)",
        "C17" => "kubectl get pods -o wide; kubectl describe pod <pod> (Readiness)",
        "C18" => "kubectl get svc <service> -o yaml (targetPort); kubectl exec <pod> -- ss -ltnp",
        "C19" => "kubectl get svc <service> -o jsonpath='{.spec.externalTrafficPolicy}'; kubectl get pods -o wide",
        "C20" => "kubectl get svc <service> -o yaml (nodePort); grep service-node-port-range /etc/kubernetes/manifests/kube-apiserver.yaml",
        "C21" => "sysctl net.ipv4.ip_forward",
        "C22" => "lsmod | grep br_netfilter; sysctl net.bridge.bridge-nf-call-iptables",
        "C23" => "iptables -S FORWARD | head -5",
        "C24" => "sysctl -a 2>/dev/null | grep '\\.rp_filter'",
        "C25" => "dmesg | grep 'table full'; sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max",
        "C26" => "systemctl is-active firewalld ufw; iptables -S INPUT | head -5; nft list ruleset | head -50",
        "C27" => "tcpdump -ni any 'ip proto 4 or udp port 4789 or udp port 8472 or tcp portrange 30000-32767' on both nodes while reproducing; the cloud's security groups",
        "C28" => "kubectl get ippools -o yaml | grep -e cidr -e ipipMode -e vxlanMode; ip -d link show tunl0; ip route | grep tunl0",
        "C29" => "kubectl -n kube-system logs -l k8s-app=calico-node --tail=500 | grep -i autodetect; kubectl get nodes -o yaml | grep projectcalico.org/IPv4Address",
        "C30" => "calicoctl node status",
        "C31" => "ethtool -k flannel.1 | grep tx-checksum; ethtool -k vxlan.calico | grep tx-checksum",
        "C32" => "ip -d link | grep -e mtu -e vxlan -e ipip; ping -M do -s 1472 <other node address>",
        "C33" => "nmcli device status; ls /etc/NetworkManager/conf.d/",
        "C34" => "kubectl get nodes -o jsonpath='{..podCIDR}'; ip -br addr; ip route",
        "C35" => "kubectl -n kube-system get configmap kubeadm-config -o yaml | grep -i subnet; cat /etc/cni/net.d/*; kubectl get ippools -o yaml",
        "C36" => "kubectl get felixconfiguration default -o yaml | grep -i kubeNodePortRanges",
        "C37" => "kubectl -n kube-flannel logs -l app=flannel --tail=200 | grep -i interface; ip -d link show flannel.1",
        "C38" => "iptables -t nat -S POSTROUTING",
        "C39" => "cilium status --verbose | grep -A6 KubeProxyReplacement",
        "C40" => "ip -d link show vxlan.calico; kubectl get felixconfiguration default -o yaml",
        "C41" => "uname -r; kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i ipvs",
        "C42" => "uname -r; kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i -e nft -e 'Could not process rule'",
        "C43" => "nft --version; kubectl -n kube-system exec <kube-proxy pod> -- nft --version",
        "C48" => "cat /run/flannel/subnet.env; ip -br addr show cni0; ip -br addr show docker0",
        "C49" => "kubectl get ippools -o yaml | grep ipipMode; ip route | grep bird (pod blocks should go via tunl0 onlink)",
        "C50" => "kubectl get felixconfiguration default -o yaml | grep bpfEnabled; kubectl -n calico-system get pods -l k8s-app=calico-node -o jsonpath='{..image}'",
        "C54" => "kubectl -n kube-system get pods -l svccontroller.k3s.cattle.io/svcname -o wide; kubectl describe pod <svclb pod> (Events)",
        "C55" => "kubectl get nodes --show-labels | grep node.kubernetes.io/exclude-from-external-load-balancers",
        "C56" => "kubectl get svc <service> -o yaml | grep -A3 -e externalIPs -e 'type:'",
        "C57" => "arping -I <client interface> <LoadBalancer IP> (several MACs?); ip -br link on the announcing node; kubectl get l2advertisements -A -o yaml (interfaces)",
        _ => "netsnap-collect on the node (a whole bundle settles most entries at once)",
    }
}

/// Entries that only apply to kube-proxy's IPVS mode.
pub(super) const IPVS_ONLY: &[&str] = &[
    "C01", "C02", "C03", "C05", "C11", "C12", "C13", "C14", "C15", "C41",
];
/// Entries about kube-proxy itself: out when something else implements Services (Cilium's
/// kube-proxy replacement).
pub(super) const KUBE_PROXY: &[&str] = &[
    "C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09", "C10", "C11", "C12", "C13",
    "C14", "C15", "C41", "C42", "C43",
];
/// Entries of one CNI.
pub(super) const CALICO_ONLY: &[&str] = &["C28", "C29", "C30", "C36", "C40", "C49", "C50"];
pub(super) const FLANNEL_ONLY: &[&str] = &["C37", "C38", "C48"];
pub(super) const CILIUM_ONLY: &[&str] = &["C39"];
/// Entries that need a VXLAN overlay, and an IPIP one.
pub(super) const VXLAN_ONLY: &[&str] = &["C31", "C40", "C50"];
pub(super) const IPIP_ONLY: &[&str] = &["C28", "C49"];
/// An overlay whose CNI the evidence does not name: what breaks encapsulated traffic anywhere.
pub(super) const VXLAN_ANY: &[&str] = &["C31", "C32", "C26", "C40", "C27"];
pub(super) const IPIP_ANY: &[&str] = &["C28", "C32", "C27", "C26"];
