//! Kernel messages (dmesg, `journalctl -k`, syslog `kernel:` lines) on the Service path:
//! conntrack, reverse-path filtering, IPVS, bridge netfilter, the neighbour table, UDP
//! checksum errors (VXLAN offload) and the modules whose load banners prove they are in the
//! running kernel.
//!
//! Sources link the file at a release tag; kernel lines move between releases, so no line
//! anchor is given.

use super::{Component, Part, Signature};
use crate::observe::{Certainty, FactKind};

/// A link into torvalds/linux at a tag.
macro_rules! linux {
    ($tail:literal) => {
        concat!("https://github.com/torvalds/linux/blob/", $tail)
    };
}

pub const SIGNATURES: &[Signature] = &[
    Signature {
        id: "kernel-conntrack-table-full",
        component: Component::Kernel,
        versions: "v2.6.15 – (`ip_conntrack:` before v2.6.26; `nf_conntrack: nf_conntrack:` with the pr_fmt prefix on newer kernels)",
        sources: &[linux!("v6.1/net/netfilter/nf_conntrack_core.c"), linux!("v3.10/net/netfilter/nf_conntrack_core.c")],
        pattern: r"(?:nf|ip)_conntrack: table full, dropping packet",
        kind: FactKind::ConntrackTableFull,
        subject: Part::None,
        value: Part::None,
        certainty: Certainty::Kernel,
        catalog: &["C25"],
        examples: &[
            "[1234567.890123] nf_conntrack: nf_conntrack: table full, dropping packet",
            "Nov 25 10:00:00 node1 kernel: nf_conntrack: table full, dropping packet.",
            "Nov 25 10:00:00 node1 kernel: ip_conntrack: table full, dropping packet.",
        ],
    },
    Signature {
        id: "kernel-martian-source",
        component: Component::Kernel,
        versions: "v2.6.0 – (`IPv4: ` prefix from v3.3)",
        sources: &[linux!("v6.1/net/ipv4/route.c")],
        pattern: r"martian source (?P<dst>[0-9A-Fa-f.:]+) from (?P<src>[0-9A-Fa-f.:]+), on dev (?P<dev>\S+)",
        kind: FactKind::MartianSource,
        subject: Part::Capture("dev"),
        value: Part::Join(&["src", "dst"], " -> "),
        certainty: Certainty::Kernel,
        catalog: &["C24"],
        examples: &[
            "[ 8123.456789] IPv4: martian source 10.244.1.5 from 10.244.0.3, on dev eth0",
            "Nov 25 10:00:00 node1 kernel: martian source 10.96.0.10 from 192.168.1.20, on dev flannel.1",
        ],
    },
    Signature {
        id: "kernel-ipvs-no-destination",
        component: Component::Kernel,
        versions: "v2.6.28 –",
        sources: &[linux!("v6.1/net/netfilter/ipvs/ip_vs_sched.c")],
        pattern: r"IPVS: (?P<sched>\w+): (?P<vs>(?:TCP|UDP|SCTP) \S+:\d+) - no destination available",
        kind: FactKind::IpvsNoDestination,
        subject: Part::Capture("vs"),
        value: Part::Capture("sched"),
        certainty: Certainty::Kernel,
        catalog: &["C16", "C17"],
        examples: &[
            "[ 4512.987654] IPVS: rr: TCP 10.96.0.10:53 - no destination available",
            "Nov 25 10:00:00 node1 kernel: IPVS: wrr: UDP 10.96.0.10:53 - no destination available",
        ],
    },
    Signature {
        id: "kernel-ipvs-scheduler-missing",
        component: Component::Kernel,
        versions: "v2.6.28 –",
        sources: &[linux!("v6.1/net/netfilter/ipvs/ip_vs_sched.c")],
        pattern: r"IPVS: Scheduler module (?P<module>ip_vs_\w+) not found",
        kind: FactKind::ModuleLoadFailed,
        subject: Part::Capture("module"),
        value: Part::Fixed("scheduler module not found"),
        certainty: Certainty::Kernel,
        catalog: &["C03"],
        examples: &["[  812.345678] IPVS: Scheduler module ip_vs_sed not found"],
    },
    Signature {
        id: "kernel-ipvs-loaded",
        component: Component::Kernel,
        versions: "v2.6.0 –",
        sources: &[linux!("v6.1/net/netfilter/ipvs/ip_vs_core.c"), linux!("v6.1/net/netfilter/ipvs/ip_vs_ctl.c")],
        pattern: r"IPVS: (?:ipvs loaded\.|Creating netns size=\d+)",
        kind: FactKind::ModuleLoaded,
        subject: Part::Fixed("ip_vs"),
        value: Part::None,
        certainty: Certainty::Kernel,
        catalog: &["C01", "C02"],
        examples: &[
            "[   12.345678] IPVS: ipvs loaded.",
            "[   12.345001] IPVS: Creating netns size=2048 id=0",
        ],
    },
    Signature {
        id: "kernel-bridge-without-br-netfilter",
        component: Component::Kernel,
        versions: "v3.18 –",
        sources: &[linux!("v6.1/net/bridge/br.c")],
        pattern: r"bridge: filtering via arp/ip/ip6tables is no longer available by default",
        kind: FactKind::ModuleNotLoaded,
        subject: Part::Fixed("br_netfilter"),
        value: Part::Fixed("not loaded when the bridge module loaded"),
        certainty: Certainty::Inferred,
        catalog: &["C22"],
        examples: &[
            "[   15.123456] bridge: filtering via arp/ip/ip6tables is no longer available by default. Update your scripts to load br_netfilter if you need this.",
        ],
    },
    Signature {
        id: "kernel-br-netfilter-loaded",
        component: Component::Kernel,
        versions: "v2.6.0 –",
        sources: &[linux!("v6.1/net/bridge/br_netfilter_hooks.c")],
        pattern: r"Bridge firewalling registered",
        kind: FactKind::ModuleLoaded,
        subject: Part::Fixed("br_netfilter"),
        value: Part::None,
        certainty: Certainty::Kernel,
        catalog: &["C22"],
        examples: &["[   15.234567] Bridge firewalling registered"],
    },
    Signature {
        id: "kernel-ip-tables-loaded",
        component: Component::Kernel,
        versions: "v2.6.0 –",
        sources: &[linux!("v6.1/net/ipv4/netfilter/ip_tables.c")],
        pattern: r"ip_tables: \(C\) 2000-2006 Netfilter Core Team",
        kind: FactKind::ModuleLoaded,
        subject: Part::Fixed("ip_tables"),
        value: Part::None,
        certainty: Certainty::Kernel,
        catalog: &["C08"],
        examples: &["[    9.876543] ip_tables: (C) 2000-2006 Netfilter Core Team"],
    },
    Signature {
        id: "kernel-nf-tables-loaded",
        component: Component::Kernel,
        versions: "v3.13 –",
        sources: &[linux!("v6.1/net/netfilter/nf_tables_api.c")],
        pattern: r"nf_tables: \(c\) 2007-2009 Patrick McHardy",
        kind: FactKind::ModuleLoaded,
        subject: Part::Fixed("nf_tables"),
        value: Part::None,
        certainty: Certainty::Kernel,
        catalog: &["C08"],
        examples: &["[    9.912345] nf_tables: (c) 2007-2009 Patrick McHardy <kaber@trash.net>"],
    },
    Signature {
        id: "kernel-ipip-loaded",
        component: Component::Kernel,
        versions: "v2.6.0 –",
        sources: &[linux!("v6.1/net/ipv4/ipip.c")],
        pattern: r"ipip: IPv4 (?:and MPLS )?over IPv4 tunneling driver",
        kind: FactKind::ModuleLoaded,
        subject: Part::Fixed("ipip"),
        value: Part::None,
        certainty: Certainty::Kernel,
        catalog: &["C28"],
        examples: &["[   20.111111] ipip: IPv4 and MPLS over IPv4 tunneling driver"],
    },
    Signature {
        id: "kernel-udp-bad-checksum",
        component: Component::Kernel,
        versions: "v2.6.0 – (`UDP%s: bad checksum. From %pI4:%u to %pI4:%u ulen %d`, a rate-limited net_dbg; `UDPLite` for UDP-Lite)",
        sources: &[
            linux!("v5.4/net/ipv4/udp.c"),
            "https://github.com/flannel-io/flannel/issues/1279",
        ],
        pattern: r"UDP(?:Lite)?: bad checksum\. From (?P<src>[0-9.]+):(?P<sport>\d+) to (?P<dst>[0-9.]+):(?P<dport>\d+)",
        kind: FactKind::UdpBadChecksum,
        subject: Part::AddrPort("dst", "dport"),
        value: Part::AddrPort("src", "sport"),
        certainty: Certainty::Kernel,
        catalog: &["C31"],
        examples: &[
            "[ 1423.035722] UDP: bad checksum. From 172.16.9.99:27503 to 172.16.80.252:8472 ulen 75",
            "Nov 25 10:00:00 node1 kernel: UDP: bad checksum. From 10.0.0.12:52311 to 10.0.0.11:4789 ulen 110",
        ],
    },
    Signature {
        id: "kernel-neighbour-table-overflow",
        component: Component::Kernel,
        versions: "v2.6.0 –",
        sources: &[linux!("v6.1/net/core/neighbour.c")],
        pattern: r"neighbour: (?P<table>\w+): neighbor table overflow!",
        kind: FactKind::ComponentError,
        subject: Part::Fixed("kernel"),
        value: Part::Capture("table"),
        certainty: Certainty::Kernel,
        catalog: &[],
        examples: &["[98765.432100] neighbour: arp_cache: neighbor table overflow!"],
    },
];
