//! kubelet's messages on the Service path (runtime network readiness, CNI configuration, pod
//! sandboxes, hairpin mode, its own iptables chains), the kubectl client's connection error,
//! and kubeadm's preflight checks that people paste next to them.

use super::{Component, Part, Signature};
use crate::observe::{Certainty, FactKind};

/// A link into kubernetes/kubernetes at a tag.
macro_rules! k8s {
    ($tail:literal) => {
        concat!("https://github.com/kubernetes/kubernetes/blob/", $tail)
    };
}

pub const SIGNATURES: &[Signature] = &[
    Signature {
        id: "kubelet-network-plugin-not-ready",
        component: Component::Kubelet,
        versions: "v1.6.0 – (dockershim `docker: network plugin is not ready: cni config uninitialized` until v1.23.x; containerd `cni plugin not initialized`)",
        sources: &[
            k8s!("v1.18.0/pkg/kubelet/kubelet.go"),
            k8s!("v1.18.0/pkg/kubelet/dockershim/network/cni/cni.go"),
            "https://github.com/containerd/containerd/blob/v1.6.0/pkg/cri/server/status.go",
        ],
        pattern: r#"NetworkReady=false reason:NetworkPluginNotReady message:(?P<msg>[^"\]}]+)"#,
        kind: FactKind::CniError,
        subject: Part::None,
        value: Part::Capture("msg"),
        certainty: Certainty::Component,
        catalog: &["C06"],
        examples: &[
            "E0301 10:00:00.000000    1234 kubelet.go:2183] Container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized",
            r#"E0301 10:00:00.000000    1234 kubelet.go:2373] "Container runtime network not ready" networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized""#,
            "  Ready            False   Mon, 01 Mar 2024 10:00:00 +0000   KubeletNotReady             container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
        ],
    },
    Signature {
        id: "kubelet-cni-config-missing",
        component: Component::Kubelet,
        versions: "v1.6.0 – (kubelet dockershim `no networks found in`; containerd CRI `no network config found in`)",
        sources: &[
            k8s!("v1.18.0/pkg/kubelet/dockershim/network/cni/cni.go"),
            "https://github.com/containerd/go-cni/blob/v1.1.9/opts.go",
        ],
        pattern: r"(?P<detail>no network(?:s| config) found in /[\w/.-]+)",
        kind: FactKind::CniError,
        subject: Part::None,
        value: Part::Capture("detail"),
        certainty: Certainty::Component,
        catalog: &["C06"],
        examples: &[
            "W0301 10:00:00.000000    1234 cni.go:237] Unable to update cni config: no networks found in /etc/cni/net.d",
            r#"time="2024-03-01T10:00:00Z" level=error msg="failed to load cni during init, please check CRI plugin status before setting up network for pods" error="cni config load failed: no network config found in /etc/cni/net.d: cni plugin not initialized: failed to load cni config""#,
        ],
    },
    Signature {
        id: "kubelet-pod-sandbox-failed",
        component: Component::Kubelet,
        versions: "v1.6.0 –",
        sources: &[k8s!("v1.29.0/pkg/kubelet/kuberuntime/kuberuntime_manager.go")],
        pattern: r#"Failed to create (?:pod sandbox: (?P<err>.+)|sandbox for pod"?,? ?"?err"?[=:]"(?P<err2>(?:[^"\\]|\\.)+))"#,
        kind: FactKind::RuntimeError,
        subject: Part::Fixed("kubelet"),
        value: Part::Join(&["err", "err2"], ""),
        certainty: Certainty::Component,
        catalog: &["C06"],
        examples: &[
            r#"  Warning  FailedCreatePodSandBox  3m  kubelet  Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "4f1c0b6d": plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory"#,
            r#"E0301 10:00:00.000000    1234 kuberuntime_sandbox.go:72] "Failed to create sandbox for pod" err="rpc error: code = Unknown desc = failed to setup network for sandbox \"5e6f\": plugin type=\"calico\" failed (add): error getting ClusterInformation: connection is unauthorized: Unauthorized" pod="default/web-0""#,
        ],
    },
    Signature {
        id: "kubelet-dockershim-cni-setup-failed",
        component: Component::Kubelet,
        versions: "v1.6.0 – v1.23.x (dockershim)",
        sources: &[k8s!("v1.18.0/pkg/kubelet/dockershim/network/cni/cni.go")],
        pattern: r#"networkPlugin cni failed to set up pod "(?P<pod>[^"]+)" network: (?P<err>.+)"#,
        kind: FactKind::CniError,
        subject: Part::None,
        value: Part::Capture("err"),
        certainty: Certainty::Component,
        catalog: &["C06"],
        examples: &[
            r#"E0301 10:00:00.000000    1234 cni.go:364] Error adding default_web-0/3b2a1c to network calico/k8s-pod-network: networkPlugin cni failed to set up pod "web-0_default" network: stat /var/lib/calico/nodename: no such file or directory: check that the calico/node container is running and has mounted /var/lib/calico/"#,
        ],
    },
    Signature {
        id: "kubelet-hairpin-fallback",
        component: Component::Kubelet,
        versions: "v1.6.0 – (quoted form from v1.21.0)",
        sources: &[k8s!("v1.18.0/pkg/kubelet/kubelet.go"), k8s!("v1.23.0/pkg/kubelet/kubelet.go")],
        pattern: r#"Hairpin mode (?:set to "promiscuous-bridge"|is set) but kubenet is not enabled, falling back to "?(?:hairpin-veth|HairpinVeth)"#,
        kind: FactKind::HairpinMode,
        subject: Part::Fixed("kubelet"),
        value: Part::Fixed("hairpin-veth"),
        certainty: Certainty::Component,
        catalog: &["C18"],
        examples: &[
            r#"W0301 10:00:00.000000    1234 kubelet.go:585] Hairpin mode set to "promiscuous-bridge" but kubenet is not enabled, falling back to "hairpin-veth""#,
            r#"I0301 10:00:00.000000    1234 kubelet.go:525] "Hairpin mode is set but kubenet is not enabled, falling back to HairpinVeth" hairpinMode=promiscuous-bridge"#,
        ],
    },
    Signature {
        id: "kubelet-iptables-chain-jump-failed",
        component: Component::Kubelet,
        versions: "v1.6.0 – v1.22.x",
        sources: &[k8s!("v1.18.0/pkg/kubelet/kubelet_network_linux.go")],
        pattern: r"Failed to ensure that (?P<table>\w+) chain (?P<chain>\S+) jumps to (?P<target>\S+?): (?P<err>.+)",
        kind: FactKind::IptablesRestoreFailed,
        subject: Part::Fixed("kubelet"),
        value: Part::Capture("err"),
        certainty: Certainty::Component,
        catalog: &["C08", "C09"],
        examples: &[
            "E0301 10:00:00.000000    1234 kubelet_network_linux.go:111] Failed to ensure that nat chain POSTROUTING jumps to KUBE-POSTROUTING: error appending rule: exit status 1: iptables: No chain/target/match by that name.",
        ],
    },
    Signature {
        id: "kubectl-connection-refused",
        component: Component::Kubectl,
        versions: "v1.5.0 –",
        sources: &["https://github.com/kubernetes/kubernetes/blob/v1.29.0/staging/src/k8s.io/kubectl/pkg/cmd/util/helpers.go"],
        pattern: r"The connection to the server (?P<addr>\S+) was refused",
        kind: FactKind::ApiServerUnreachable,
        subject: Part::Fixed("kubectl"),
        value: Part::Capture("addr"),
        certainty: Certainty::Tool,
        catalog: &[],
        examples: &["The connection to the server 10.0.0.10:6443 was refused - did you specify the right host or port?"],
    },
    Signature {
        id: "kubeadm-preflight-bridge-nf-missing",
        component: Component::Kubeadm,
        versions: "v1.6.0 –",
        sources: &[k8s!("v1.18.0/cmd/kubeadm/app/preflight/checks.go")],
        pattern: r"FileContent--proc-sys-net-bridge-bridge-nf-call-ip6?tables\]: /proc/sys/net/bridge/bridge-nf-call-ip6?tables does not exist",
        kind: FactKind::ModuleNotLoaded,
        subject: Part::Fixed("br_netfilter"),
        value: Part::None,
        certainty: Certainty::Tool,
        catalog: &["C22"],
        examples: &[
            "\t[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables]: /proc/sys/net/bridge/bridge-nf-call-iptables does not exist",
        ],
    },
    Signature {
        id: "kubeadm-preflight-bridge-nf-unset",
        component: Component::Kubeadm,
        versions: "v1.6.0 –",
        sources: &[k8s!("v1.18.0/cmd/kubeadm/app/preflight/checks.go")],
        pattern: r"FileContent--proc-sys-net-bridge-bridge-nf-call-iptables\]: /proc/sys/net/bridge/bridge-nf-call-iptables contents are not set to 1",
        kind: FactKind::Sysctl,
        subject: Part::Fixed("net.bridge.bridge-nf-call-iptables"),
        value: Part::Fixed("not-1"),
        certainty: Certainty::Tool,
        catalog: &["C22"],
        examples: &[
            "[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables]: /proc/sys/net/bridge/bridge-nf-call-iptables contents are not set to 1",
        ],
    },
    Signature {
        id: "kubeadm-preflight-ip-forward",
        component: Component::Kubeadm,
        versions: "v1.6.0 –",
        sources: &[k8s!("v1.18.0/cmd/kubeadm/app/preflight/checks.go")],
        pattern: r"FileContent--proc-sys-net-ipv4-ip_forward\]: /proc/sys/net/ipv4/ip_forward contents are not set to 1",
        kind: FactKind::Sysctl,
        subject: Part::Fixed("net.ipv4.ip_forward"),
        value: Part::Fixed("not-1"),
        certainty: Certainty::Tool,
        catalog: &["C21"],
        examples: &["[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1"],
    },
    Signature {
        id: "kubeadm-preflight-ipvs-modules",
        component: Component::Kubeadm,
        versions: "v1.10.0 – v1.2x (`will not be used, because` until v1.13.x, then `may not be used because`)",
        sources: &[
            k8s!("v1.13.0/pkg/util/ipvs/kernelcheck_linux.go"),
            "https://github.com/kubernetes/kubeadm/issues/975",
            "https://github.com/puppetlabs/puppetlabs-kubernetes/pull/310",
        ],
        pattern: r"[Tt]he IPVS proxier (?:will|may) not be used,? because the following required kernel modules are not loaded: \[(?P<modules>[^\]]*)\]",
        kind: FactKind::ModuleNotLoaded,
        subject: Part::Capture("modules"),
        value: Part::None,
        certainty: Certainty::Tool,
        catalog: &["C01", "C02"],
        examples: &[
            " [WARNING RequiredIPVSKernelModulesAvailable]: the IPVS proxier will not be used, because the following required kernel modules are not loaded: [ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack_ipv4] or no builtin kernel ipvs support: map[ip_vs:{} ip_vs_rr:{} ip_vs_wrr:{} ip_vs_sh:{} nf_conntrack_ipv4:{}]",
            "The IPVS proxier may not be used because the following required kernel modules are not loaded: [ip_vs_sh ip_vs ip_vs_rr ip_vs_wrr]",
        ],
    },
];
