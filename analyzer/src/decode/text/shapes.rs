//! Output shapes that no parser reads into the model but that are evidence all the same, told
//! by the form of their lines: packet captures, conntrack entries, the CNIs' and firewalls'
//! status listings, HTTP answers, version and OS listings. A piece of these shapes is
//! recognised (never a reason to refuse an input), listed with what it is, and scanned for the
//! messages the signature library knows like any other piece.

use std::sync::OnceLock;

use regex::Regex;

/// A recognised shape of tool output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `tcpdump` lines (`12:24:33.244816 IP a.1 > b.2: Flags [S]`).
    Tcpdump,
    /// `conntrack -L` entries (`tcp 6 117 SYN_SENT src=... dst=...`).
    Conntrack,
    /// `calicoctl node status` (and its BGP peer table).
    CalicoctlStatus,
    /// `ufw status`, `firewall-cmd --list-all`, `firewall-cmd --state`.
    FirewallStatus,
    /// An HTTP answer as `curl -i|-I|-v` prints it.
    HttpResponse,
    /// `kubectl version`, `kubeadm version`, `uname -a`, `cat /etc/os-release`.
    Versions,
    /// A kubectl table pasted without its header row: `name  ClusterIP  10.96.0.1  <none>
    /// 443/TCP  5d`.
    KubectlRows,
    /// `ip route get`, `ping` and `traceroute` output.
    PathProbe,
    /// `ss -ltn` / `netstat -tlnp` listening sockets.
    Sockets,
    /// `curl -v` progress lines (`* Trying 10.0.0.1...`, `* connect to ... failed`).
    CurlVerbose,
    /// Commands as typed, without prompts (install steps, `kubeadm init ...`).
    Commands,
    /// A fragment of YAML (a configuration file or object cut out of a larger paste).
    YamlFragment,
    /// An INI-style configuration file or an environment file (systemd units and `.network`
    /// files, `/run/flannel/subnet.env`).
    IniFile,
    /// A fragment of `nft list` output (a map, set or chain without its table).
    NftFragment,
    /// `cilium status` / `cilium-dbg` listings.
    CiliumStatus,
    /// `networkctl status` / `nmcli` device listings.
    LinkManager,
    /// Kubernetes events (`kubectl get events`, the Events of `describe`).
    Events,
    /// journalctl or syslog lines (`Dec 29 13:41:12 node2 flanneld[15205]: ...`), whatever the
    /// component's own format inside.
    Journal,
}

impl Shape {
    pub fn label(self) -> &'static str {
        match self {
            Shape::Tcpdump => "tcpdump",
            Shape::Conntrack => "conntrack",
            Shape::CalicoctlStatus => "calicoctl node status",
            Shape::FirewallStatus => "firewall status",
            Shape::HttpResponse => "HTTP response",
            Shape::Versions => "versions",
            Shape::KubectlRows => "kubectl rows without header",
            Shape::PathProbe => "ping / ip route get / traceroute",
            Shape::Sockets => "listening sockets",
            Shape::CurlVerbose => "curl -v",
            Shape::Commands => "commands",
            Shape::YamlFragment => "YAML fragment",
            Shape::IniFile => "configuration file",
            Shape::NftFragment => "nft fragment",
            Shape::CiliumStatus => "cilium status",
            Shape::LinkManager => "networkctl / nmcli",
            Shape::Events => "Kubernetes events",
            Shape::Journal => "journal / syslog",
        }
    }
}

/// The line forms of each shape, in the order tried. Each is matched anywhere in a line, so
/// prompts and prefixes do not matter.
const FORMS: &[(Shape, &str)] = &[
    (
        Shape::Tcpdump,
        r"(^|\s)\d{2}:\d{2}:\d{2}\.\d{6}\s.*\b(IP6?|ARP|ICMP)\b|tcpdump: listening on|^\s*(IP6?\s)?[\w.:-]+\.\d+ > [\w.:-]+\.\d+: (Flags|UDP|VXLAN)",
    ),
    (
        Shape::Conntrack,
        r"^\s*(ipv4\s+2\s+)?(tcp|udp|icmp|sctp)\s+\d+\s+(\d+\s+)?([A-Z_]+\s+)?src=\S+ dst=\S+",
    ),
    (
        Shape::CalicoctlStatus,
        r"Calico process is (not )?running|PEER ADDRESS\s*\|\s*PEER TYPE|\|\s*(node-to-node mesh|global|node specific)\s*\|",
    ),
    (
        Shape::FirewallStatus,
        r"^Status: (in)?active$|^\s*(target|services|ports|masquerade|forward-ports|rich rules):\s|^\s*To\s+Action\s+From\s*$|^(running|not running)$|^\S+( \(v6\))?\s+(ALLOW|DENY|REJECT|LIMIT)( IN| OUT| FWD)?\s+\S+|^-+\s+-+\s+-+$",
    ),
    (Shape::HttpResponse, r"^(< )?HTTP/[0-9.]+ \d{3}\b"),
    (
        Shape::Versions,
        r#"(Client|Server) Version: (version\.Info\{|v\d)|^PRETTY_NAME=|^VERSION_ID=|^Linux \S+ \d+\.\d+\S* .*GNU/Linux|^kubeadm version: "#,
    ),
    (
        Shape::KubectlRows,
        r"^\S+\s+(ClusterIP|NodePort|LoadBalancer|ExternalName)\s+(\d+\.\d+\.\d+\.\d+|None|[0-9a-f:]+)\s+\S+\s+\S+|^\S+\s+\d+/\d+\s+(Running|Pending|CrashLoopBackOff|Error|ContainerCreating|Completed|Terminating|Init:\S+)\s+\d+",
    ),
    (
        Shape::PathProbe,
        r"^PING \S+ \(|^\d+ bytes from |packets transmitted|^traceroute to |\sdev \S+ src \S+|Destination (Host|Net) Unreachable",
    ),
    (
        Shape::Sockets,
        r"^(tcp|udp)6?\s+\d+\s+\d+\s+\S+:\S+\s+\S+\s+(LISTEN|ESTAB)|^(LISTEN|ESTAB)\s+\d+\s+\d+\s",
    ),
    (
        Shape::CurlVerbose,
        r"^\* +(About to connect|Trying|Connected to|connect to|Failed to connect|Closing connection|Connection #|Immediate connect fail|\S*连接)|^> (GET|HEAD|POST) ",
    ),
    (
        Shape::NftFragment,
        r"^\s*(table|chain|map|set) \S+ \{|^\s*elements = \{|^\s*type \w+(_\w+)?( \. \w+)* :? ?\w*|^\s*(ip|ip6|meta|ct|fib) .*(counter|jump|goto|accept|drop|return|dnat|snat|masquerade)",
    ),
    (
        Shape::CiliumStatus,
        r"Cluster health:|KubeProxyReplacement:|cilium-dbg|^\s*Name\s+IP\s+Reachable|Cilium:\s+(Ok|Failure)|# Address\s+NodePort\s+Primary|^\S+\s+(true|false)\s+(true|false)\s+\S+$|^\s*\d+\s+\S+:\d+\s+(ClusterIP|NodePort|LoadBalancer|ExternalIPs|HostPort|LocalRedirect)\s|^\s+\d+ => \S+:\d+",
    ),
    (
        Shape::LinkManager,
        r"^\s*(Link File|Network File|Type|State|Driver|HW Address|Address):\s|^●\s+\d+: \S+|^DEVICE\s+TYPE\s+STATE\s+CONNECTION",
    ),
    (
        Shape::Events,
        r"\b(FailedScheduling|FailedCreatePodSandBox|Unhealthy|BackOff|FailedMount|NetworkNotReady)\b|didn't have free ports|nodes are available:",
    ),
    (
        Shape::Journal,
        r"^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \S+ [\w./@-]+(\[\d+\])?: |^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\S* \S+ [\w./@-]+(\[\d+\])?: ",
    ),
    (
        Shape::Commands,
        r"^\s*(sudo\s+)?(kubeadm|kubectl|helm|systemctl|modprobe|sysctl|iptables|ip|curl|wget|k3s|rke2|calicoctl|docker|crictl|ethtool|tcpdump|echo|export|cat|vi|apt|yum|dnf)\s+\S",
    ),
    (
        Shape::IniFile,
        r"^\[[A-Za-z][\w .-]*\]$|^[A-Z][A-Za-z0-9_]+=\S",
    ),
    (
        Shape::YamlFragment,
        r#"^\s*(- )?[a-zA-Z][\w.-]*:( [^ ].*|)$"#,
    ),
];

fn compiled() -> &'static [(Shape, Regex)] {
    static C: OnceLock<Vec<(Shape, Regex)>> = OnceLock::new();
    C.get_or_init(|| {
        FORMS
            .iter()
            .filter_map(|(s, p)| Some((*s, Regex::new(p).ok()?)))
            .collect()
    })
}

/// The first shape, in [`FORMS`] order (specific before generic), that at least a third of a
/// piece's non-empty lines have.
pub fn shape_of(lines: &[&str]) -> Option<Shape> {
    let lines: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_end())
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    if lines.is_empty() {
        return None;
    }
    compiled()
        .iter()
        .map(|(s, re)| (*s, lines.iter().filter(|l| re.is_match(l)).count()))
        .find(|(_, n)| *n > 0 && *n * 3 >= lines.len())
        .map(|(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Option<Shape> {
        shape_of(&text.lines().collect::<Vec<_>>())
    }

    #[test]
    fn real_lines_are_their_shape() {
        assert_eq!(
            shape("12:24:33.244816 eno1  Out IP node1.47053 > node2.4789: VXLAN, flags [I] (0x08), vni 4096\nIP node1.43700 > 100.65.107.133.15010: Flags [S], seq 1137234856, win 64860, length 0"),
            Some(Shape::Tcpdump)
        );
        assert_eq!(
            shape("tcp      6 3069 CLOSE_WAIT src=10.10.12.0 dst=10.10.28.7 sport=59973 dport=5222 src=10.10.28.7 dst=10.10.12.0 sport=5222 dport=59973 [ASSURED] mark=0 use=1"),
            Some(Shape::Conntrack)
        );
        assert_eq!(
            shape("| 10.5.4.136 | node-to-node mesh | down  | 06:44:51 | Error: No listening socket |"),
            Some(Shape::CalicoctlStatus)
        );
        assert_eq!(
            shape("Status: active\nTo                         Action      From\n--                         ------      ----\n443                        ALLOW       Anywhere"),
            Some(Shape::FirewallStatus)
        );
        assert_eq!(
            shape(
                "whoami-headless   LoadBalancer   10.239.37.140   10.1.2.220   80:31591/TCP   5s"
            ),
            Some(Shape::KubectlRows)
        );
        assert_eq!(
            shape("HTTP/1.1 200 OK\nDate: Fri, 13 May 2022 17:35:05 GMT\nContent-Length: 203"),
            Some(Shape::HttpResponse)
        );
    }

    #[test]
    fn journal_lines_are_a_log() {
        assert_eq!(
            shape("Dec 29 13:41:12 kube-node-2 flanneld-start[15205]: I1229 13:41:12.913005   15205 network.go:243] L3 miss but route for 192.168.47.7 not found"),
            Some(Shape::Journal)
        );
    }

    #[test]
    fn prose_is_no_shape() {
        assert_eq!(
            shape("I tried everything and the service still times out."),
            None
        );
        assert_eq!(shape(""), None);
    }
}
