//! The failure catalog's entries (`C01` ... `C41`), for coverage reporting: which entries a
//! bundle can show at all, and why not where it cannot.

/// Whether an entry's evidence can be in a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// A bundle can carry the evidence.
    InBundle,
    /// It cannot: the reason, and what would confirm the cause instead.
    NotInBundle(&'static str),
}

/// One catalog entry.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    pub id: &'static str,
    pub title: &'static str,
    pub visibility: Visibility,
}

const fn e(id: &'static str, title: &'static str) -> CatalogEntry {
    CatalogEntry {
        id,
        title,
        visibility: Visibility::InBundle,
    }
}

const fn hidden(id: &'static str, title: &'static str, why: &'static str) -> CatalogEntry {
    CatalogEntry {
        id,
        title,
        visibility: Visibility::NotInBundle(why),
    }
}

pub const CATALOG: &[CatalogEntry] = &[
    e("C01", "IPVS mode without the IPVS kernel modules"),
    e("C02", "IPVS built into the kernel, lsmod shows nothing"),
    e("C03", "Non-default IPVS scheduler whose module is missing"),
    e("C04", "kube-proxy container cannot modprobe"),
    e(
        "C05",
        "ipset missing or too old, or no ip_set in the kernel",
    ),
    e("C06", "kube-proxy not running on the node"),
    e("C07", "kube-proxy node name differs from the Node object"),
    e("C08", "iptables backend mismatch (legacy vs nft)"),
    e("C09", "iptables-restore fails (missing netfilter modules)"),
    e(
        "C10",
        "nodePortAddresses limits which addresses serve NodePorts",
    ),
    e("C11", "NodePort via 127.0.0.1 in IPVS or nftables mode"),
    e("C12", "externalIP equal to a node address (IPVS)"),
    e("C13", "IPVS with ARP-announced VIPs but no strictARP"),
    e("C14", "Host firewall INPUT DROP breaks IPVS NodePorts"),
    e(
        "C15",
        "IPVS connection reuse and graceful termination artefacts",
    ),
    e("C16", "Service without endpoints"),
    e("C17", "Endpoints exist but none is ready"),
    e("C18", "targetPort does not match the container port"),
    e(
        "C19",
        "externalTrafficPolicy Local without a local endpoint",
    ),
    e("C20", "NodePort outside the range, or port collision"),
    e("C21", "net.ipv4.ip_forward = 0"),
    e("C22", "br_netfilter missing or bridge-nf-call-iptables = 0"),
    e("C23", "FORWARD policy DROP without accept rules"),
    e("C24", "Strict rp_filter with asymmetric paths"),
    e("C25", "conntrack table full"),
    e("C26", "firewalld, ufw or nftables host firewall blocking"),
    hidden(
        "C27",
        "Cloud or fabric filtering",
        "security groups, NSGs and source/destination checks live outside the node; when no \
         error-level cause is found on a node of a multi-node cluster, the report says so as \
         `cloud-filtering-not-visible` under \"not concluded\", with the capture that would \
         show it (tcpdump -ni <uplink> 'ip proto 4 or udp port 4789 or udp port 8472') and \
         the cloud's flow logs to read",
    ),
    e("C28", "Calico IPIP where unwanted; tunl0 left behind"),
    e("C29", "Calico autodetected the wrong address"),
    e("C30", "Calico BGP peering down"),
    e("C31", "VXLAN checksum offload bug"),
    e("C32", "MTU mismatch"),
    e(
        "C33",
        "NetworkManager or systemd-networkd managing CNI interfaces",
    ),
    e("C34", "Pod or Service CIDR overlaps the node network"),
    e(
        "C35",
        "Cluster/pod CIDR mismatch between kubeadm, Node and CNI",
    ),
    e("C36", "Calico not told the NodePort range"),
    e("C37", "flannel chose the wrong interface"),
    e("C38", "flannel masquerade missing or out of order"),
    e(
        "C39",
        "Cilium kube-proxy replacement bound to the wrong devices",
    ),
    e("C40", "Calico VXLAN device missing or down"),
    e(
        "C41",
        "kube-proxy and kernel disagree on the IPVS netlink API",
    ),
    e(
        "C42",
        "nftables mode: kernel lacks an nf_tables expression kube-proxy uses",
    ),
    e("C43", "nft version skew breaks kube-proxy nftables sync"),
    e(
        "C48",
        "flannel subnet lease and the bridge's subnet disagree",
    ),
    e("C49", "Calico IPIP pool, but pod-block routes bypass tunl0"),
    e(
        "C50",
        "Calico eBPF VXLAN broken across mixed Calico versions",
    ),
    e(
        "C54",
        "k3s ServiceLB (klipper-lb) pod cannot get its host ports",
    ),
    e(
        "C55",
        "MetalLB skips nodes labelled exclude-from-external-load-balancers",
    ),
    e(
        "C56",
        "LoadBalancer address put in spec.externalIPs, never announced",
    ),
    e(
        "C57",
        "MetalLB layer2 answers ARP from several interfaces of one node",
    ),
];
