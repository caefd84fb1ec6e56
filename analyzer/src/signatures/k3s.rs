//! k3s's own messages on the Service path: the embedded flannel (`pkg/agent/flannel`), logged
//! through logrus (`level=... msg="..."`). flannel's and kube-proxy's own lines inside a k3s
//! log are recognised by their signatures.

use super::{Component, Part, Signature};
use crate::observe::{Certainty, FactKind};

pub const SIGNATURES: &[Signature] = &[
    Signature {
        id: "k3s-flannel-exited",
        component: Component::K3s,
        versions: "v0.1.0 –",
        sources: &[
            "https://github.com/k3s-io/k3s/blob/v1.29.0%2Bk3s1/pkg/agent/flannel/setup.go",
            "https://github.com/k3s-io/k3s/issues/72",
        ],
        pattern: r#"flannel exited: (?P<err>(?:[^"\\]|\\.)+)"#,
        kind: FactKind::ComponentNotRunning,
        subject: Part::Fixed("flannel"),
        value: Part::Capture("err"),
        certainty: Certainty::Component,
        catalog: &["C06", "C35", "C37"],
        examples: &[
            r#"time="2024-03-01T10:00:00Z" level=fatal msg="flannel exited: operation not supported""#,
            r#"Mar 01 10:00:00 node1 k3s[812]: time="2024-03-01T10:00:00Z" level=fatal msg="flannel exited: failed to register network: failed to acquire lease: node \"node1\" pod cidr not assigned""#,
        ],
    },
    Signature {
        id: "k3s-waiting-for-pod-cidr",
        component: Component::K3s,
        versions: "v0.1.0 – v1.21.x",
        sources: &["https://github.com/k3s-io/k3s/blob/v1.20.0%2Bk3s1/pkg/agent/flannel/setup.go"],
        pattern: r"[Ww]aiting for node (?P<node>\S+) CIDR not assigned yet",
        kind: FactKind::PodCidrMissing,
        subject: Part::Capture("node"),
        value: Part::None,
        certainty: Certainty::Component,
        catalog: &["C35"],
        examples: &[
            r#"time="2021-03-01T10:00:00Z" level=info msg="waiting for node agent-1 CIDR not assigned yet""#,
        ],
    },
    Signature {
        id: "k3s-sysctl-missing",
        component: Component::K3s,
        versions: "v0.1.0 –",
        sources: &[
            "https://github.com/k3s-io/k3s/blob/v1.29.0%2Bk3s1/pkg/agent/syssetup/setup.go",
            "https://github.com/openeverest/openeverest/pull/3181",
        ],
        // k3s (and rke2, through the same agent code) sets the bridge sysctls at start; the
        // file under /proc/sys/net/bridge exists only while br_netfilter is loaded, so its
        // absence means bridged pod traffic bypasses iptables.
        pattern: r"Failed to set sysctl: open /proc/sys/(?P<key>net/bridge/bridge-nf-call-ip6?tables): no such file or directory",
        kind: FactKind::Sysctl,
        subject: Part::Capture("key"),
        value: Part::Fixed("not-1"),
        certainty: Certainty::Component,
        catalog: &["C22"],
        examples: &[
            r#"level=error msg="Failed to set sysctl: open /proc/sys/net/bridge/bridge-nf-call-iptables: no such file or directory""#,
        ],
    },
];
