//! Calico's messages: calico-node start-up (address autodetection), its readiness probe (BIRD
//! and Felix health), Felix, the Calico CNI plugin and `calicoctl node status`.
//!
//! The start-up code lived in `calico_node/startup/startup.go` (projectcalico/calico v3.0) and
//! moved to `node/pkg/lifecycle/startup/` in the monorepo; the wording is unchanged.

use super::{Component, Part, Signature};
use crate::observe::{Certainty, FactKind};

/// A link into projectcalico/calico at a tag.
macro_rules! calico {
    ($tail:literal) => {
        concat!("https://github.com/projectcalico/calico/blob/", $tail)
    };
}

pub const SIGNATURES: &[Signature] = &[
    Signature {
        id: "calico-autodetected-on-interface",
        component: Component::CalicoNode,
        versions: "v3.0.0 –",
        sources: &[
            calico!("v3.0.0/calico_node/startup/startup.go#L483"),
            calico!("v3.32.1/node/pkg/lifecycle/startup/autodetection/autodetection_methods.go#L103"),
            calico!("v3.32.1/node/pkg/lifecycle/startup/autodetection/autodetection_methods.go#L161"),
        ],
        pattern: r"Using autodetected IPv[46] address on interface (?P<iface>\S+): (?P<cidr>[0-9A-Fa-f.:]+/\d+)",
        kind: FactKind::CalicoAutodetected,
        subject: Part::None,
        value: Part::Join(&["cidr", "iface"], " dev "),
        certainty: Certainty::Component,
        catalog: &["C29"],
        examples: &[
            "2018-06-01 10:00:00.123 [INFO][9] startup.go 483: Using autodetected IPv4 address on interface br-3c1d2e4f5a6b: 172.18.0.1/16",
            "2024-03-01 10:00:00.123 [INFO][9] startup/autodetection_methods.go 103: Using autodetected IPv4 address on interface eth0: 10.0.0.5/24",
            "2024-03-01 10:00:00.123 [INFO][9] startup/autodetection_methods.go 161: Using autodetected IPv4 address on interface ens3: 192.168.1.20/24 while skipping matching interfaces",
        ],
    },
    Signature {
        id: "calico-autodetected-matching",
        component: Component::CalicoNode,
        versions: "v3.0.0 –",
        sources: &[
            calico!("v3.0.0/calico_node/startup/startup.go#L497"),
            calico!("v3.32.1/node/pkg/lifecycle/startup/autodetection/autodetection_methods.go#L117"),
            calico!("v3.32.1/node/pkg/lifecycle/startup/autodetection/autodetection_methods.go#L131"),
        ],
        pattern: r"Using autodetected IPv[46] address (?P<cidr>[0-9A-Fa-f.:]+/\d+) on (?:matching )?interface (?P<iface>\S+)",
        kind: FactKind::CalicoAutodetected,
        subject: Part::None,
        value: Part::Join(&["cidr", "iface"], " dev "),
        certainty: Certainty::Component,
        catalog: &["C29"],
        examples: &[
            "2024-03-01 10:00:00.123 [INFO][9] startup/autodetection_methods.go 117: Using autodetected IPv4 address 10.0.0.5/24 on matching interface eth0",
            "2024-03-01 10:00:00.123 [INFO][9] startup/autodetection_methods.go 131: Using autodetected IPv4 address 10.0.0.5/24 on interface eth0 matching cidrs [10.0.0.0/8]",
        ],
    },
    Signature {
        id: "calico-autodetected-can-reach",
        component: Component::CalicoNode,
        versions: "v3.0.0 –",
        sources: &[
            calico!("v3.0.0/calico_node/startup/startup.go#L509"),
            calico!("v3.32.1/node/pkg/lifecycle/startup/autodetection/autodetection_methods.go#L143"),
        ],
        pattern: r"Using autodetected IPv[46] address (?P<cidr>[0-9A-Fa-f.:]+/\d+), detected by connecting to (?P<dest>\S+)",
        kind: FactKind::CalicoAutodetected,
        subject: Part::None,
        value: Part::Capture("cidr"),
        certainty: Certainty::Component,
        catalog: &["C29"],
        examples: &[
            "2024-03-01 10:00:00.123 [INFO][9] startup/autodetection_methods.go 143: Using autodetected IPv4 address 10.0.0.5/24, detected by connecting to 10.0.0.1",
        ],
    },
    Signature {
        id: "calico-autodetect-failed",
        component: Component::CalicoNode,
        versions: "v3.0.0 –",
        sources: &[
            calico!("v3.0.0/calico_node/startup/startup.go#L308"),
            calico!("v3.32.1/node/pkg/lifecycle/startup/startup.go#L633"),
        ],
        pattern: r"Couldn't autodetect an IPv[46] address",
        kind: FactKind::CalicoAutodetected,
        subject: Part::None,
        value: Part::Fixed("failed"),
        certainty: Certainty::Component,
        catalog: &["C29"],
        examples: &[
            "2024-03-01 10:00:00.123 [WARNING][9] startup/startup.go 633: Couldn't autodetect an IPv4 address. If auto-detecting, choose a different autodetection method. Otherwise provide an explicit address.",
        ],
    },
    Signature {
        id: "calico-address-in-use",
        component: Component::CalicoNode,
        versions: "v3.0.0 –",
        sources: &[
            calico!("v3.0.0/calico_node/startup/startup.go#L757"),
            calico!("v3.32.1/node/pkg/lifecycle/startup/startup.go#L1207"),
            "https://github.com/projectcalico/calico/issues/2042",
        ],
        pattern: r"Calico node '(?P<other>[^']+)' is already using the IPv[46] address (?P<addr>[0-9A-Fa-f.:]+?)\.?(?:\s|$)",
        kind: FactKind::NodeAddressConflict,
        subject: Part::Capture("addr"),
        value: Part::Capture("other"),
        certainty: Certainty::Component,
        catalog: &["C29"],
        examples: &[
            "2024-03-01 10:00:00.123 [WARNING][9] startup/startup.go 1207: Calico node 'worker-2' is already using the IPv4 address 10.0.2.15.",
        ],
    },
    Signature {
        id: "calico-bgp-not-established",
        component: Component::CalicoNode,
        versions: "v3.2.0 –",
        sources: &[
            calico!("v3.32.1/node/pkg/health/health.go#L216"),
            calico!("v3.32.1/node/pkg/health/health.go#L230"),
            "https://github.com/projectcalico/calico/issues/2561",
        ],
        pattern: r"BGP not established with (?P<peers>[0-9A-Fa-f.:]+(?:,[0-9A-Fa-f.:]+)*)",
        kind: FactKind::BgpNotEstablished,
        subject: Part::Capture("peers"),
        value: Part::Fixed("not established"),
        certainty: Certainty::Component,
        catalog: &["C29", "C30"],
        examples: &[
            "Warning  Unhealthy  2m (x30 over 7m)  kubelet  Readiness probe failed: calico/node is not ready: BIRD is not ready: BGP not established with 192.168.1.21,192.168.1.22",
            "calico/node is not ready: BIRD is not ready: BGP not established with 10.0.0.12",
        ],
    },
    Signature {
        id: "calico-bgp-zero-peers",
        component: Component::CalicoNode,
        versions: "v3.2.0 –",
        sources: &[calico!("v3.32.1/node/pkg/health/health.go#L207")],
        pattern: r"Number of node\(s\) with BGP peering established = 0\b",
        kind: FactKind::BgpNotEstablished,
        subject: Part::Fixed("all peers"),
        value: Part::Fixed("0 established"),
        certainty: Certainty::Component,
        catalog: &["C30"],
        examples: &["2024-03-01 10:00:00.123 [INFO][312] health.go 207: Number of node(s) with BGP peering established = 0"],
    },
    Signature {
        id: "calico-bird-socket-unreachable",
        component: Component::CalicoNode,
        versions: "v3.2.0 –",
        sources: &[
            calico!("v3.32.1/node/pkg/health/bird/bird.go#L50"),
            calico!("v3.32.1/node/pkg/status/populators/bird_conn.go#L66"),
        ],
        pattern: r"[Ee]rror querying BIRD: unable to connect to BIRDv(?P<v>[46]) socket",
        kind: FactKind::ComponentNotRunning,
        subject: Part::Fixed("bird"),
        value: Part::Fixed("BIRD control socket unreachable"),
        certainty: Certainty::Component,
        catalog: &["C30"],
        examples: &[
            "Readiness probe failed: calico/node is not ready: BIRD is not ready: Error querying BIRD: unable to connect to BIRDv4 socket: dial unix /var/run/calico/bird.ctl: connect: connection refused",
        ],
    },
    Signature {
        id: "calico-felix-not-ready",
        component: Component::CalicoNode,
        versions: "v3.2.0 –",
        sources: &[
            calico!("v3.32.1/node/pkg/health/health.go#L80"),
            calico!("v3.32.1/node/pkg/health/health.go#L127"),
        ],
        pattern: r"calico/node is not ready: [Ff]elix is not (?P<state>ready|live)",
        kind: FactKind::ComponentNotRunning,
        subject: Part::Fixed("calico-felix"),
        value: Part::Capture("state"),
        certainty: Certainty::Component,
        catalog: &["C06"],
        examples: &[
            r#"Readiness probe failed: calico/node is not ready: felix is not ready: Get "http://localhost:9099/readiness": dial tcp 127.0.0.1:9099: connect: connection refused"#,
            r#"Liveness probe failed: calico/node is not ready: Felix is not live: Get "http://localhost:9099/liveness": dial tcp 127.0.0.1:9099: connect: connection refused"#,
        ],
    },
    Signature {
        id: "calico-felix-iptables-restore-failed",
        component: Component::CalicoFelix,
        versions: "v3.0.0 –",
        sources: &[calico!("v3.32.1/felix/iptables/table.go#L1460")],
        pattern: r"Failed to execute ip\(6\)tables-restore command",
        kind: FactKind::IptablesRestoreFailed,
        subject: Part::Fixed("calico-felix"),
        value: Part::Fixed("ip(6)tables-restore failed"),
        certainty: Certainty::Component,
        catalog: &["C08", "C09"],
        examples: &[
            r#"2024-03-01 10:00:00.123 [WARNING][77] felix/table.go 1460: Failed to execute ip(6)tables-restore command error=exit status 2 errorOutput="iptables-restore v1.8.7 (nf_tables): unknown option \"--random-fully\"\n" ipVersion=0x4 table="nat""#,
        ],
    },
    Signature {
        id: "calico-felix-typha-unreachable",
        component: Component::CalicoFelix,
        versions: "v3.0.0 –",
        sources: &[calico!("v3.32.1/felix/daemon/daemon.go#L605")],
        pattern: r"Failed to connect to Typha",
        kind: FactKind::ComponentError,
        subject: Part::Fixed("calico-felix"),
        value: Part::Fixed("cannot connect to Typha"),
        certainty: Certainty::Component,
        catalog: &["C06"],
        examples: &[
            "2024-03-01 10:00:00.123 [ERROR][77] felix/daemon.go 605: Failed to connect to Typha. error=dial tcp 10.96.45.3:5473: i/o timeout",
        ],
    },
    Signature {
        id: "calico-cni-nodename-missing",
        component: Component::CalicoNode,
        versions: "v3.0.0 – (Calico CNI plugin)",
        sources: &[calico!("v3.32.1/cni-plugin/pkg/plugin/plugin.go#L192")],
        pattern: r"check that the calico/node container is running and has mounted /var/lib/calico/",
        kind: FactKind::ComponentNotRunning,
        subject: Part::Fixed("calico-node"),
        value: Part::Fixed("/var/lib/calico/nodename missing"),
        certainty: Certainty::Component,
        catalog: &["C06"],
        examples: &[
            r#"Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "9a8b7c": plugin type="calico" failed (add): stat /var/lib/calico/nodename: no such file or directory: check that the calico/node container is running and has mounted /var/lib/calico/"#,
        ],
    },
    Signature {
        id: "calico-cni-cluster-information",
        component: Component::CalicoNode,
        versions: "v3.0.0 – (Calico CNI plugin)",
        sources: &[calico!("v3.32.1/cni-plugin/pkg/plugin/plugin.go#L86")],
        pattern: r"error getting ClusterInformation: (?P<err>.+)",
        kind: FactKind::CniError,
        subject: Part::Fixed("calico"),
        value: Part::Capture("err"),
        certainty: Certainty::Component,
        catalog: &["C06"],
        examples: &[
            r#"Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "5e6f": plugin type="calico" failed (add): error getting ClusterInformation: connection is unauthorized: Unauthorized"#,
        ],
    },
    Signature {
        id: "calicoctl-process-not-running",
        component: Component::Calicoctl,
        versions: "v3.0.0 –",
        sources: &[calico!("v3.32.1/calicoctl/calicoctl/commands/node/status.go#L76")],
        pattern: r"^\s*Calico process is not running\.",
        kind: FactKind::ComponentNotRunning,
        subject: Part::Fixed("calico-node"),
        value: Part::None,
        certainty: Certainty::Tool,
        catalog: &["C06", "C30"],
        examples: &["Calico process is not running."],
    },
    Signature {
        id: "calicoctl-peer-not-established",
        component: Component::Calicoctl,
        versions: "v3.0.0 –",
        sources: &[
            calico!("v3.32.1/calicoctl/calicoctl/commands/node/status.go#L355"),
            "https://github.com/projectcalico/calico/issues/2561",
            // The INFO column is BIRD's bgp_get_status(): the BGP state, or for a protocol
            // that is down its last error, prefixed with its class (bgp_err_classes: "Error: ",
            // "Socket: ", "Received: ", "BGP Error: ", "Automatic shutdown: ").
            "https://github.com/projectcalico/bird/blob/v0.3.3/proto/bgp/bgp.c",
            "https://github.com/projectcalico/calico/issues/7893",
        ],
        pattern: r"^\s*\|\s*(?P<peer>[0-9A-Fa-f.:]+)\s*\|\s*(?:node-to-node mesh|global|node specific)\s*\|\s*\w+\s*\|[^|]*\|\s*(?P<info>(?:(?:Connect|Active|Idle|OpenSent|OpenConfirm|Passive|Close)\b|(?:Error|Socket|Received|BGP Error|Automatic shutdown):)[^|]*?)\s*\|",
        kind: FactKind::BgpNotEstablished,
        subject: Part::Capture("peer"),
        value: Part::Capture("info"),
        certainty: Certainty::Tool,
        catalog: &["C29", "C30"],
        examples: &[
            "| 192.168.1.22 | node-to-node mesh | start | 09:12:44 | Connect Socket: Connection refused |",
            "| 10.0.0.12    | node-to-node mesh | start | 2024-03-01 | Active Socket: Connection timed out |",
            "| 10.0.0.13    | global            | start | 09:12:44 | Idle                           |",
            "| 10.5.4.136 | node-to-node mesh | down  | 06:44:51 | Error: No listening socket |",
        ],
    },
];
