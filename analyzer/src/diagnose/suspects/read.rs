//! What the suspects need from pasted text that no decoder or signature states: probe
//! commands with the outcome printed under them (in any language curl's C library speaks),
//! tcpdump conversations, arping replies, Cilium's health table, send queues, tunnel drop
//! counters, interface names, install commands, configuration keys, versions and prompts.
//!
//! Pure: one file's text in, what it shows out; every item keeps the file and line it was read
//! at. Lines a signature already turned into an observation are read again here only for what
//! the observation lacks (the command above a curl message names the address typed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::Evidence;

/// How a probe ended, as printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Printed {
    Timeout,
    Refused,
    NoRoute,
    Answered,
}

/// One outcome line of a probe, with the command typed above it when the paste shows one.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ProbeLine {
    pub evidence: Evidence,
    /// The address the message names (`10.0.0.1:80`), if it names one.
    pub subject: Option<String>,
    /// The address the command above it aimed at.
    pub typed: Option<String>,
    pub printed: Printed,
    /// The command ran on a node (a host shell's prompt, or localhost as the target).
    pub from_node: bool,
}

/// A Service row of a `kubectl get svc` table, with or without its header.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct ServiceRow {
    pub type_: String,
    pub addresses: Vec<String>,
    pub external: Vec<String>,
    pub node_ports: Vec<u16>,
}

/// Everything read from the pasted files.
#[derive(Debug, Clone, Default)]
pub(super) struct Read {
    pub probes: Vec<ProbeLine>,
    /// Probe commands whatever their outcome: (target, from a node, evidence).
    pub probe_commands: Vec<(String, bool, Evidence)>,
    /// A SYN-ACK seen more than once with one sequence number: (server, evidence).
    pub reply_retransmitted: Vec<(String, Evidence)>,
    /// A SYN seen with no SYN-ACK from its destination anywhere in the capture.
    pub request_unanswered: Vec<(String, Evidence)>,
    /// Overlay headers seen: `vxlan` or `ipip`, with the line.
    pub encapsulation: Vec<(&'static str, Evidence)>,
    /// ARP replies: address → MACs, with the first reply's line.
    pub arp: BTreeMap<String, (BTreeSet<String>, Evidence)>,
    /// Cilium health rows: (node, node reachable, endpoints reachable, evidence).
    pub health: Vec<(String, bool, bool, Evidence)>,
    /// Established (or closing) sockets holding unacknowledged data in their send queue.
    pub send_queue_stuck: Vec<Evidence>,
    /// Tunnel devices with transmit drops: (device, drops, evidence).
    pub tunnel_tx_drops: Vec<(String, u64, Evidence)>,
    /// Interface names listed (ifconfig, netstat -i, ip link).
    pub interfaces: BTreeMap<String, Evidence>,
    /// CNI named by an install command, a manifest, a pod or a log: (cni, inferred, evidence).
    pub cni: Vec<(&'static str, bool, Evidence)>,
    /// Cilium's kube-proxy replacement switched on.
    pub kube_proxy_replaced: Option<Evidence>,
    /// kube-proxy's mode from a pasted configuration fragment.
    pub proxy_mode: Option<(String, Evidence)>,
    /// The Kubernetes minor version (server, or kube-proxy's own).
    pub k8s_minor: Option<(u32, Evidence)>,
    pub k3s: Option<Evidence>,
    /// RHEL/CentOS 7 (os-release, or an el7 kernel).
    pub el7: Option<Evidence>,
    /// Filter-table chains were shown (INPUT, FORWARD, KUBE-FORWARD).
    pub filter_chains: Option<Evidence>,
    pub forward_accept: Option<Evidence>,
    pub docker: Option<Evidence>,
    pub services: Vec<(ServiceRow, Evidence)>,
    /// Calico pools from a `calicoctl get ippool -o wide` table: (ipipMode, vxlanMode, line).
    pub pools: Vec<(String, String, Evidence)>,
    /// Routes of the BGP daemon (`proto bird`): (destination, device, evidence).
    pub bird_routes: Vec<(String, String, Evidence)>,
}

fn re(s: &str) -> Regex {
    Regex::new(s).unwrap_or_else(|e| panic!("suspects pattern {s}: {e}"))
}

/// A shell prompt and the command after it: `$ `, `# `, `[root@host ~]# `, `root@host:~$ `.
static PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\s*(?P<prompt>\[[^\]]+\][#$]|[\w.-]+@[\w.-]+:[^\s#$]*[#$]|[#$>]|➜\s+\S+)\s*(?P<cmd>.*)$")
});
/// A host's shell: a RHEL-style `[user@host ~]#` or a Debian-style `user@host:~#` in a home
/// directory. `kubectl exec` shells start in the image's working directory (`/`), so `~` is a
/// login shell on a machine.
static HOST_PROMPT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\[[\w.-]+@[\w.-]+ ~[^\]]*\][#$]$|^[\w.-]+@[\w.-]+:~[^\s]*[#$]$"));
static PROBE_CMD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:sudo\s+)?(?P<tool>curl|wget|nc|ncat|telnet|nslookup|dig|ping|arping|http)(?:\s+(?P<args>.*))?$",
    )
});
static ADDR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:https?://)?(?P<host>\[[0-9a-fA-F:]+\]|\d{1,3}(?:\.\d{1,3}){3}|localhost|\[[\w-]+\]|[\w-]+(?:\.[\w-]+)*\.(?:svc|local|cluster\.local))(?:(?::\s*|\s+)(?P<port>\d{1,5}|\[[\w-]+\]))?",
    )
});
/// The address a curl or nc message names: `Failed to connect to H port P`, `Failed connect
/// to H:P`, `connect to H port P`.
static MSG_ADDR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:Failed to connect to|Failed connect to|connect to|Trying|Connected to)\s+(?P<host>\[[^\]]+\]|[^\s:;]+)(?:\s+\([^)]*\))?(?:(?::| port )(?P<port>\d+))?",
    )
});
/// Outcomes as the C library prints them (curl and nc pass on strerror): English and the
/// glibc Chinese catalogue, which is what the corpus holds; and the resolvers' own words.
static TIMEOUT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)timed out|连接超时|操作超时|no servers could be reached|Request timeout for icmp_seq|100% packet loss|Operation now in progress",
    )
});
static REFUSED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)connection refused|拒绝连接|连接被拒绝|Connection reset by peer"));
static NO_ROUTE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)no route to host|没有到主机的路由|host is unreachable"));
static ANSWERED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?:<\s*)?HTTP/\d(?:\.\d)?\s+\d{3}\b|^\*\s+Connected to |^\s*Connected to \S+\.$|Non-authoritative answer|^\d+ bytes from \d|succeeded!|;; ANSWER SECTION",
    )
});
static TCPDUMP: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"IP6?\s+(?P<src>[\w.:-]+)\.(?P<sport>\d+)\s+>\s+(?P<dst>[\w.:-]+)\.(?P<dport>\d+):\s+Flags\s+\[(?P<flags>[^\]]+)\](?:,\s+seq\s+(?P<seq>\d+))?",
    )
});
static VXLAN: LazyLock<Regex> = LazyLock::new(|| re(r"\bVXLAN\b|\.(?:4789|8472):\s+UDP|\botv\b"));
static IPIP: LazyLock<Regex> =
    LazyLock::new(|| re(r"ipip-proto-4|IP-in-IP|proto IPIP \(4\)|\bIPIP\b.*\bIP\b"));
static ARPING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)bytes from (?P<mac>(?:[0-9a-f]{2}:){5}[0-9a-f]{2}) \((?P<ip>[\d.]+)\)|Unicast reply from (?P<ip2>[\d.]+) \[(?P<mac2>(?:[0-9a-f]{2}:){5}[0-9a-f]{2})\]",
    )
});
static HEALTH_ROW: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?P<name>\S+)\s+(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)\s+(?P<node>true|false)\s+(?P<ep>true|false)\s*$",
    )
});
static NETSTAT_TCP: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*tcp6?\s+\d+\s+(?P<sendq>\d+)\s+\S+\s+\S+\s+(?:ESTABLISHED|CLOSE_WAIT|LAST_ACK|FIN_WAIT1)\b",
    )
});
static IFCONFIG_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?P<dev>[\w.@-]+?)(?:@\S+)?:\s+flags=|^\d+:\s+(?P<dev2>[\w.-]+)(?:@\S+)?:\s+<")
});
static IFCONFIG_TX: LazyLock<Regex> = LazyLock::new(|| {
    re(r"TX errors \d+\s+dropped (?P<drop>\d+)|TX packets:\d+ errors:\d+ dropped:(?P<drop2>\d+)")
});
/// `netstat -i`: Iface MTU [Met] RX-OK RX-ERR RX-DRP RX-OVR TX-OK TX-ERR TX-DRP TX-OVR Flg.
static NETSTAT_I: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?P<dev>[\w.-]+)\s+\d+\s+(?:\d+\s+)?\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+(?P<txdrp>\d+)\s+\d+\s+[A-Z]+\s*$",
    )
});
static INSTALL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:kubectl\s+(?:apply|create)\s+-f|helm\s+(?:install|upgrade)|wget|curl)\s.*?(?P<cni>flannel|calico|tigera|canal|cilium|weave|antrea)",
    )
});
static POD_CIDR_FLAG: LazyLock<Regex> =
    LazyLock::new(|| re(r"--pod-network-cidr[= ](?P<cidr>\d+\.\d+\.\d+\.\d+/\d+)"));
static KPR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)kubeProxyReplacement["']?\s*[:=]\s*["']?(?P<v>strict|true|partial|probe|disabled|false)|KubeProxyReplacement:\s+(?P<s>Strict|True|Partial|False|Disabled)"#,
    )
});
static MODE_KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r#"^\s*mode:\s*["']?(?P<m>ipvs|iptables|nftables|userspace)["']?\s*$"#));
static KUBE_PROXY_KEYS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"KubeProxyConfiguration|kubeProxyIPVSConfiguration|kubeProxyIPTablesConfiguration|masqueradeAll|portRange:|clusterCIDR:|^\s*ipvs:\s*$|^\s*iptables:\s*$",
    )
});
static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"Server Version:.*?GitVersion:"v1\.(?P<a>\d+)|Server Version:\s+v1\.(?P<b>\d+)|\] Version: v1\.(?P<c>\d+)|\bv1\.(?P<d>\d+)\.\d+[+-]k3s"#,
    )
});
static EL7: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"CentOS Linux 7|Red Hat Enterprise Linux (?:Server )?(?:release )?7|\b3\.10\.0-\d+[\w.]*\.el7"#,
    )
});
static FILTER_CHAIN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^Chain (?:INPUT|FORWARD|KUBE-FORWARD|KUBE-FIREWALL)\b|^-A (?:INPUT|FORWARD|KUBE-FORWARD) |^:(?:INPUT|FORWARD) ",
    )
});
static FORWARD_ACCEPT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Chain FORWARD \(policy ACCEPT|^:FORWARD ACCEPT\b|^-P FORWARD ACCEPT\b"));
static DOCKER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^docker0\b|^\d+:\s+docker0:|\bDOCKER-(?:USER|ISOLATION)|^Chain DOCKER\b")
});
static SVC_ROW: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:[\w.-]+\s+)?[\w.-]+\s+(?P<type>ClusterIP|NodePort|LoadBalancer)\s+(?P<cip>\d{1,3}(?:\.\d{1,3}){3}|None|[0-9a-f:]+:[0-9a-f:]*)\s+(?P<ext>\S+)\s+(?P<ports>\S+)",
    )
});
static BIRD_ROUTE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?P<dst>\d{1,3}(?:\.\d{1,3}){3}/\d+)\s+via\s+\S+\s+dev\s+(?P<dev>\S+).*\bproto bird\b")
});

/// Reads one pasted file.
pub(super) fn read_file(file: &str, text: &str, out: &mut Read) {
    let cite = |line: usize, t: &str| Evidence::new(file, format!("line {line}"), t.trim());
    // The probe command in effect: its target and whether it ran on a node.
    let mut typed: Option<(Option<String>, bool)> = None;
    let mut iface: Option<String> = None;
    let mut syn: Vec<(String, String, Evidence)> = Vec::new();
    let mut synack: BTreeMap<(String, String, String), (usize, Evidence)> = BTreeMap::new();
    let mut sendq = 0usize;
    // Column positions of a pool table's IPIPMODE and VXLANMODE, once its header was seen.
    let mut pool_columns: Option<(usize, usize, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        let (prompt, body) = match PROMPT.captures(line) {
            Some(c) => (
                c.name("prompt").map_or("", |m| m.as_str()).to_string(),
                c.name("cmd").map_or("", |m| m.as_str()),
            ),
            None => (String::new(), line.trim()),
        };
        // A probe command, typed after a prompt or listed as a step.
        if let Some(c) = PROBE_CMD.captures(body) {
            let tool = c.name("tool").map_or("", |m| m.as_str());
            let args = c.name("args").map_or("", |m| m.as_str());
            let target = probe_target(tool, args);
            let local = target
                .as_deref()
                .is_some_and(|t| t.starts_with("localhost") || t.starts_with("127."));
            let from_node = HOST_PROMPT.is_match(prompt.trim()) || local;
            if let Some(t) = &target {
                out.probe_commands
                    .push((t.clone(), from_node, cite(n, line)));
            }
            typed = Some((target, from_node));
            continue;
        }
        if !prompt.is_empty() && !body.is_empty() {
            // Another command: the probe's output ended.
            typed = None;
        }
        probe_outcome(line, n, &typed, &cite, out);
        tcpdump_line(line, n, &cite, &mut syn, &mut synack, out);
        if let Some(c) = ARPING.captures(line) {
            let mac = c.name("mac").or(c.name("mac2")).map_or("", |m| m.as_str());
            let ip = c.name("ip").or(c.name("ip2")).map_or("", |m| m.as_str());
            let e = out
                .arp
                .entry(ip.to_string())
                .or_insert_with(|| (BTreeSet::new(), cite(n, line)));
            e.0.insert(mac.to_ascii_lowercase());
        }
        if let Some(c) = HEALTH_ROW.captures(line) {
            out.health.push((
                c["name"].to_string(),
                &c["node"] == "true",
                &c["ep"] == "true",
                cite(n, line),
            ));
        }
        if let Some(c) = NETSTAT_TCP.captures(line) {
            if c["sendq"].parse::<u64>().unwrap_or(0) > 0 {
                sendq += 1;
                if out.send_queue_stuck.len() < 2 {
                    out.send_queue_stuck.push(cite(n, line));
                }
            }
        }
        interfaces(line, n, &cite, &mut iface, out);
        pool_row(line, n, &cite, &mut pool_columns, out);
        context_line(line, body, n, &cite, out);
    }
    // One socket with data queued is a moment; several on one peer are a stall.
    if sendq < 2 {
        out.send_queue_stuck.clear();
    }
    for ((server, _, _), (count, ev)) in synack {
        if count > 1 {
            out.reply_retransmitted.push((server, ev));
        }
    }
    for (client_dst, _client, ev) in syn {
        let answered = out
            .reply_retransmitted
            .iter()
            .any(|(s, _)| *s == client_dst);
        if !answered && !out.request_unanswered.iter().any(|(d, _)| *d == client_dst) {
            out.request_unanswered.push((client_dst, ev));
        }
    }
}

/// The address a probe command aims at: nslookup's and dig's server (port 53), else the
/// first address among the arguments.
fn probe_target(tool: &str, args: &str) -> Option<String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    if tool == "nslookup" {
        return words
            .iter()
            .filter(|w| !w.starts_with('-'))
            .nth(1)
            .map(|s| format!("{s}:53"));
    }
    if tool == "dig" {
        return words
            .iter()
            .find_map(|w| w.strip_prefix('@'))
            .map(|s| format!("{s}:53"));
    }
    let c = ADDR.captures(args)?;
    let host = c.name("host")?.as_str();
    Some(match c.name("port") {
        Some(p) => format!("{host}:{}", p.as_str()),
        None => host.to_string(),
    })
}

fn probe_outcome(
    line: &str,
    n: usize,
    typed: &Option<(Option<String>, bool)>,
    cite: &dyn Fn(usize, &str) -> Evidence,
    out: &mut Read,
) {
    let printed = if ANSWERED.is_match(line) {
        Printed::Answered
    } else if REFUSED.is_match(line) {
        Printed::Refused
    } else if NO_ROUTE.is_match(line) {
        Printed::NoRoute
    } else if TIMEOUT.is_match(line) {
        Printed::Timeout
    } else {
        return;
    };
    // A failure line counts once: curl -v prints it twice (`* Failed connect` and `curl: (7)`).
    let subject = MSG_ADDR.captures(line).map(|c| {
        let host = c.name("host").map_or("", |m| m.as_str());
        match c.name("port") {
            Some(p) => format!("{host}:{}", p.as_str()),
            None => host.to_string(),
        }
    });
    let (typed_target, from_node) = typed.clone().unwrap_or((None, false));
    if subject.is_none() && typed_target.is_none() {
        return;
    }
    if printed != Printed::Answered
        && out.probes.last().is_some_and(|p| {
            p.printed == printed
                && p.subject == subject
                && p.typed == typed_target
                && p.evidence.artifact == cite(n, line).artifact
                && p.evidence.locator == format!("line {}", n - 1)
        })
    {
        return;
    }
    out.probes.push(ProbeLine {
        evidence: cite(n, line),
        subject,
        typed: typed_target,
        printed,
        from_node,
    });
}

fn tcpdump_line(
    line: &str,
    n: usize,
    cite: &dyn Fn(usize, &str) -> Evidence,
    syn: &mut Vec<(String, String, Evidence)>,
    synack: &mut BTreeMap<(String, String, String), (usize, Evidence)>,
    out: &mut Read,
) {
    if VXLAN.is_match(line) && (line.contains(" > ") || line.contains("VXLAN")) {
        if !out.encapsulation.iter().any(|(k, _)| *k == "vxlan") {
            out.encapsulation.push(("vxlan", cite(n, line)));
        }
    } else if IPIP.is_match(line)
        && line.contains(" > ")
        && !out.encapsulation.iter().any(|(k, _)| *k == "ipip")
    {
        out.encapsulation.push(("ipip", cite(n, line)));
    }
    let Some(c) = TCPDUMP.captures(line) else {
        return;
    };
    let src = format!("{}:{}", &c["src"], &c["sport"]);
    let dst = format!("{}:{}", &c["dst"], &c["dport"]);
    let seq = c.name("seq").map_or("", |m| m.as_str()).to_string();
    match &c["flags"] {
        "S" if !syn.iter().any(|(d, s, _)| *d == dst && *s == src) => {
            syn.push((dst, src, cite(n, line)));
        }
        "S." => {
            // The answer exists: the SYN to this server was answered.
            syn.retain(|(d, s, _)| !(*d == src && *s == dst));
            let e = synack
                .entry((src, dst, seq))
                .or_insert_with(|| (0, cite(n, line)));
            e.0 += 1;
        }
        _ => {}
    }
}

fn interfaces(
    line: &str,
    n: usize,
    cite: &dyn Fn(usize, &str) -> Evidence,
    iface: &mut Option<String>,
    out: &mut Read,
) {
    let tunnel = |d: &str| {
        d == "tunl0"
            || d.starts_with("flannel")
            || d.starts_with("vxlan")
            || d.starts_with("cilium_vxlan")
            || d.starts_with("wireguard")
    };
    if let Some(c) = IFCONFIG_HEAD.captures(line) {
        let dev = c.name("dev").or(c.name("dev2")).map_or("", |m| m.as_str());
        *iface = Some(dev.to_string());
        out.interfaces
            .entry(dev.to_string())
            .or_insert_with(|| cite(n, line));
        return;
    }
    if let Some(c) = NETSTAT_I.captures(line) {
        let dev = c["dev"].to_string();
        let drops: u64 = c["txdrp"].parse().unwrap_or(0);
        if tunnel(&dev) && drops > 0 {
            out.tunnel_tx_drops
                .push((dev.clone(), drops, cite(n, line)));
        }
        out.interfaces.entry(dev).or_insert_with(|| cite(n, line));
        return;
    }
    if let Some(c) = IFCONFIG_TX.captures(line) {
        let drops: u64 = c
            .name("drop")
            .or(c.name("drop2"))
            .and_then(|m| m.as_str().parse().ok())
            .unwrap_or(0);
        if let Some(dev) = iface.as_deref() {
            if tunnel(dev) && drops > 0 {
                out.tunnel_tx_drops
                    .push((dev.to_string(), drops, cite(n, line)));
            }
        }
    }
}

/// `calicoctl get ippool -o wide`: `NAME CIDR NAT IPIPMODE VXLANMODE DISABLED SELECTOR`.
fn pool_row(
    line: &str,
    n: usize,
    cite: &dyn Fn(usize, &str) -> Evidence,
    columns: &mut Option<(usize, usize, usize)>,
    out: &mut Read,
) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = |w: &str| words.iter().position(|x| *x == w);
    if let (Some(i), Some(v)) = (at("IPIPMODE"), at("VXLANMODE")) {
        *columns = Some((i, v, words.len()));
        return;
    }
    let Some((i, v, len)) = *columns else { return };
    let mode = |w: &str| matches!(w, "Always" | "CrossSubnet" | "Never");
    if words.len() == len && mode(words[i]) && mode(words[v]) {
        out.pools
            .push((words[i].to_string(), words[v].to_string(), cite(n, line)));
    } else if words.is_empty() || words.len() != len {
        *columns = None;
    }
}

fn context_line(
    line: &str,
    body: &str,
    n: usize,
    cite: &dyn Fn(usize, &str) -> Evidence,
    out: &mut Read,
) {
    let set = |slot: &mut Option<Evidence>| {
        if slot.is_none() {
            *slot = Some(cite(n, line));
        }
    };
    if let Some(c) = INSTALL.captures(body) {
        let cni = match c["cni"].to_ascii_lowercase().as_str() {
            "flannel" => "flannel",
            "calico" | "tigera" => "calico",
            "canal" => "canal",
            "cilium" => "cilium",
            "weave" => "weave",
            _ => "antrea",
        };
        out.cni.push((cni, false, cite(n, line)));
    }
    if let Some(c) = POD_CIDR_FLAG.captures(body) {
        // kubeadm's install guide pairs --pod-network-cidr=10.244.0.0/16 with flannel's
        // default net-conf.json and 192.168.0.0/16 with Calico's default pool: a hint only.
        match &c["cidr"] {
            "10.244.0.0/16" => out.cni.push(("flannel", true, cite(n, line))),
            "192.168.0.0/16" => out.cni.push(("calico", true, cite(n, line))),
            _ => {}
        }
    }
    for (prefix, cni) in [
        ("kube-flannel", "flannel"),
        ("calico-node", "calico"),
        ("cilium-", "cilium"),
    ] {
        let named = line.split_whitespace().any(|w| w.starts_with(prefix));
        if named
            && !line.contains("apply")
            && !out
                .cni
                .iter()
                .any(|(c, inferred, _)| *c == cni && !inferred)
        {
            out.cni.push((cni, false, cite(n, line)));
        }
    }
    if let Some(c) = KPR.captures(line) {
        let v = c
            .name("v")
            .or(c.name("s"))
            .map_or("", |m| m.as_str())
            .to_ascii_lowercase();
        if v == "strict" || v == "true" {
            set(&mut out.kube_proxy_replaced);
        }
        if !out.cni.iter().any(|(c, _, _)| *c == "cilium") {
            out.cni.push(("cilium", false, cite(n, line)));
        }
    }
    if let Some(c) = MODE_KEY.captures(line) {
        if out.proxy_mode.is_none() {
            out.proxy_mode = Some((c["m"].to_string(), cite(n, line)));
        }
    }
    if let Some(c) = VERSION.captures(line) {
        let minor = ["a", "b", "c", "d"]
            .iter()
            .find_map(|k| c.name(k))
            .and_then(|m| m.as_str().parse().ok());
        if let (Some(m), None) = (minor, &out.k8s_minor) {
            out.k8s_minor = Some((m, cite(n, line)));
        }
    }
    if line.contains("k3s") {
        set(&mut out.k3s);
    }
    if EL7.is_match(line) {
        set(&mut out.el7);
    }
    if FILTER_CHAIN.is_match(
        line.trim_start_matches(|c: char| !c.is_ascii_alphabetic() && c != ':' && c != '-'),
    ) {
        set(&mut out.filter_chains);
    }
    if FORWARD_ACCEPT.is_match(line) {
        set(&mut out.forward_accept);
    }
    if DOCKER.is_match(line) {
        set(&mut out.docker);
    }
    if let Some(c) = SVC_ROW.captures(line.trim()) {
        let mut row = ServiceRow {
            type_: c["type"].to_string(),
            ..ServiceRow::default()
        };
        if &c["cip"] != "None" {
            row.addresses.push(c["cip"].to_string());
        }
        row.external = c["ext"]
            .split(',')
            .filter(|e| !e.starts_with('<') && *e != "None")
            .map(str::to_string)
            .collect();
        row.node_ports = c["ports"]
            .split(',')
            .filter_map(|p| p.split_once(':'))
            .filter_map(|(_, np)| np.split('/').next()?.parse().ok())
            .collect();
        out.services.push((row, cite(n, line)));
    }
    if let Some(c) = BIRD_ROUTE.captures(line.trim()) {
        out.bird_routes
            .push((c["dst"].to_string(), c["dev"].to_string(), cite(n, line)));
    }
}

/// Drops a `mode:` read from a file that holds no kube-proxy configuration keys.
pub(super) fn finish(files: &[(&str, &str)], out: &mut Read) {
    if let Some((_, e)) = &out.proxy_mode {
        let holds_keys = files
            .iter()
            .find(|(f, _)| *f == e.artifact)
            .is_some_and(|(_, t)| t.lines().any(|l| KUBE_PROXY_KEYS.is_match(l)));
        if !holds_keys {
            out.proxy_mode = None;
        }
    }
}

/// Reads every pasted file.
pub(super) fn read_all(files: &[(&str, &str)]) -> Read {
    let mut out = Read::default();
    for (f, t) in files {
        read_file(f, t, &mut out);
    }
    finish(files, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Read {
        read_all(&[("t.txt", text)])
    }

    #[test]
    fn probe_outcomes_in_english_and_chinese_with_the_typed_target() {
        let r = one("[root@n1 ~]# curl http://10.0.0.5/x -v\n* Failed connect to 10.0.0.5:80; 连接超时\ncurl: (7) Failed connect to 10.0.0.5:80; 连接超时\n");
        assert_eq!(r.probes.len(), 1, "{:?}", r.probes);
        assert_eq!(r.probes[0].printed, Printed::Timeout);
        assert_eq!(r.probes[0].subject.as_deref(), Some("10.0.0.5:80"));
        assert!(r.probes[0].from_node);
        let r = one("# curl 10.1.1.1 -I\ncurl: (7) Failed to connect to 10.9.9.9 port 80: Connection refused\n");
        assert_eq!(r.probes[0].printed, Printed::Refused);
        assert_eq!(r.probes[0].typed.as_deref(), Some("10.1.1.1"));
        assert!(!r.probes[0].from_node);
    }

    #[test]
    fn nslookup_timeout_aims_at_its_server() {
        let r = one("[root@h ~]# nslookup example.com 10.43.0.10\n;; connection timed out; no servers could be reached\n");
        assert_eq!(r.probes[0].typed.as_deref(), Some("10.43.0.10:53"));
        assert_eq!(r.probes[0].printed, Printed::Timeout);
    }

    #[test]
    fn tcpdump_reply_retransmitted_and_overlay() {
        let r = one("10:00:00.000001 eth0 Out IP a.1 > b.4789: VXLAN, flags [I] (0x08), vni 1\nIP 10.0.0.1.4000 > 10.1.0.1.80: Flags [S], seq 1, win 1\n10:00:00.000002 eth0 In IP b.2 > a.4789: VXLAN\nIP 10.1.0.1.80 > 10.0.0.1.4000: Flags [S.], seq 7, ack 2, win 1\nIP 10.1.0.1.80 > 10.0.0.1.4000: Flags [S.], seq 7, ack 2, win 1\n");
        assert_eq!(r.encapsulation[0].0, "vxlan");
        assert_eq!(r.reply_retransmitted.len(), 1);
        assert!(r.request_unanswered.is_empty());
        let r = one("IP 10.0.0.1.4000 > 10.1.0.1.80: Flags [S], seq 1, win 1\n");
        assert_eq!(r.request_unanswered[0].0, "10.1.0.1:80");
    }

    #[test]
    fn arping_health_sendq_and_tunnel_drops() {
        let r = one("60 bytes from 00:00:00:00:00:01 (10.0.0.9): index=0\n60 bytes from 00:00:00:00:00:02 (10.0.0.9): index=1\n");
        assert_eq!(r.arp["10.0.0.9"].0.len(), 2);
        let r = one("  n2   10.0.0.2   false   true\n");
        assert!(!r.health[0].1);
        assert!(r.health[0].2);
        let r = one("tcp 0 5000 10.0.0.1:80 10.0.0.2:1 ESTABLISHED\ntcp 1 8000 10.0.0.1:80 10.0.0.2:2 CLOSE_WAIT\n");
        assert_eq!(r.send_queue_stuck.len(), 2);
        let r =
            one("tunl0: flags=193<UP,RUNNING,NOARP> mtu 1440\nTX errors 0 dropped 12 overruns 0\n");
        assert_eq!(r.tunnel_tx_drops[0].1, 12);
    }

    #[test]
    fn context_from_commands_values_and_rows() {
        let r = one("kubectl apply -f https://example.org/kube-flannel.yml\n");
        assert_eq!(r.cni[0].0, "flannel");
        assert!(!r.cni[0].1);
        let r = one("kubeProxyReplacement: strict\n");
        assert!(r.kube_proxy_replaced.is_some());
        let r = one("mode: \"ipvs\"\nkubeProxyIPVSConfiguration:\n  scheduler: rr\n");
        assert_eq!(r.proxy_mode.as_ref().map(|m| m.0.as_str()), Some("ipvs"));
        let r = one("mode: ipvs\n");
        assert!(r.proxy_mode.is_none(), "a bare mode: is not kube-proxy's");
        let r = one("web   LoadBalancer   10.0.0.1   192.0.2.7   80:31000/TCP   5s\n");
        assert_eq!(r.services[0].0.external, vec!["192.0.2.7".to_string()]);
        assert_eq!(r.services[0].0.node_ports, vec![31000]);
        let r = one("NAME   CIDR   NAT   IPIPMODE   VXLANMODE   DISABLED   SELECTOR\np1   10.0.0.0/16   true   Never   Always   false   all()\n");
        assert_eq!(r.pools[0].0, "Never");
        assert_eq!(r.pools[0].1, "Always");
        let r = one("Server Version: version.Info{Major:\"1\", Minor:\"4\", GitVersion:\"v1.4.7\"}\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n");
        assert_eq!(r.k8s_minor.as_ref().map(|m| m.0), Some(4));
        assert!(r.el7.is_some());
    }
}
