//! What a piece of pasted text is: from its command line when the paste shows one, else from
//! the shape of its first lines. The command line decides only when the output agrees with it
//! (an `ipvsadm -Ln` whose output is "Can't initialize ipvs" is a command error, itself
//! evidence); the file's name is never used.

use super::issue::{looked_like, UnknownReason, UnknownWhy};

/// The views of `ipvsadm -L` (ipvsadm.c `print_title` / `print_service_entry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpvsadmView {
    /// `-L`: Forward Weight ActiveConn InActConn. `numeric` is false when addresses and ports
    /// are names (`-L` without `-n`).
    List { numeric: bool },
    /// `--stats`: Conns InPkts OutPkts InBytes OutBytes.
    Stats { numeric: bool },
    /// `--rate`: CPS InPPS OutPPS InBPS OutBPS.
    Rate { numeric: bool },
    /// `--persistent-conn`: Weight PersistConn ActiveConn InActConn.
    PersistentConn { numeric: bool },
    /// `--thresholds`: Uthreshold Lthreshold ActiveConn InActConn.
    Thresholds { numeric: bool },
    /// `-S` / `-Sn`: the rules as ipvsadm commands.
    Save { numeric: bool },
    /// `--timeout`.
    Timeout,
    /// `-c`: the connection table.
    Connections,
    /// `--daemon`.
    Daemon,
}

/// Where a klog-formatted log comes from, guessed from its source files and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    KubeProxy,
    Flannel,
    Other,
}

/// The kind of a piece of pasted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextKind {
    Ipvsadm(IpvsadmView),
    /// `ip link` (`-d` adds the kind lines, `-s` the counters).
    IpLink {
        details: bool,
        stats: bool,
    },
    /// `ip addr`.
    IpAddr {
        details: bool,
    },
    /// `ip -br link|addr`.
    IpBrief,
    /// `ip -j ...`: JSON.
    IpJson,
    /// `ip route` / `ip -6 route` / `ip route show table all|N`.
    IpRoute,
    IpRule,
    IpNeigh,
    Ifconfig,
    Lsmod,
    ProcModules,
    /// `sysctl -a`, `sysctl key`, or `/etc/sysctl.d` files.
    Sysctl,
    IptablesSave,
    /// `iptables -L -n [-v]` / `iptables -t nat -L`.
    IptablesList,
    NftRuleset,
    IpsetList,
    IpsetSave,
    /// `ethtool -k`.
    EthtoolFeatures,
    KubectlYaml,
    KubectlJson,
    /// `kubectl get ... [-o wide]`.
    KubectlTable,
    /// `kubectl describe ...`.
    KubectlDescribe,
    /// A klog log (`I1125 10:00:00.000000       1 server.go:...] ...`).
    Klog(LogSource),
    /// calico-node's own log format (`2026-11-25 10:00:00.000 [INFO][57] felix/...`).
    CalicoLog,
    /// A CNI network configuration (`.conflist` / `.conf` JSON).
    CniConfig,
    Dmesg,
    /// A tool's error message instead of its output (`Can't initialize ipvs: Protocol not
    /// available`, `command not found`).
    CommandError,
    /// Output of a recognised shape that no parser reads into the model (tcpdump, conntrack,
    /// firewall status...).
    Shown(super::shapes::Shape),
    Unknown(UnknownReason),
}

/// How many non-empty lines are looked at to recognise a piece by its content.
const SIGNATURE_LINES: usize = 30;

/// Recognises a piece from its command line (if any) and its output.
pub fn recognize(command: Option<&str>, body: &str) -> TextKind {
    if body.trim().is_empty() {
        return TextKind::Unknown(UnknownReason {
            why: UnknownWhy::Empty,
            looked_like: String::new(),
        });
    }
    let by_content = from_content(body);
    // Shapes no parser reads come last: a tool's error message is a command error first.
    let shown = |otherwise: TextKind| {
        let lines: Vec<&str> = body.lines().take(SIGNATURE_LINES).collect();
        super::shapes::shape_of(&lines).map_or(otherwise, TextKind::Shown)
    };
    let Some(command) = command else {
        return match by_content {
            Some(k) => k,
            None => shown(unknown(UnknownWhy::NoSignature, body)),
        };
    };
    match (from_command(command), by_content) {
        // The command refines what the content cannot say (numeric or not, ip addr vs link).
        (Some(c), Some(b)) if same_family(&c, &b) => refine(c, b),
        (Some(_), Some(b)) => b,
        (Some(TextKind::Lsmod), None) if is_lsmod_body(body) => TextKind::Lsmod,
        (Some(_), None) if looks_like_error(body) => TextKind::CommandError,
        (Some(_), None) => shown(unknown(UnknownWhy::CommandOutputMismatch, body)),
        (None, Some(b)) => b,
        (None, None) if looks_like_error(body) => TextKind::CommandError,
        (None, None) => shown(unknown(UnknownWhy::CommandNotRead, body)),
    }
}

fn unknown(why: UnknownWhy, body: &str) -> TextKind {
    TextKind::Unknown(UnknownReason {
        why,
        looked_like: looked_like(body),
    })
}

fn same_family(a: &TextKind, b: &TextKind) -> bool {
    use TextKind as K;
    matches!(
        (a, b),
        (K::Ipvsadm(_), K::Ipvsadm(_))
            | (
                K::IpLink { .. } | K::IpAddr { .. },
                K::IpLink { .. } | K::IpAddr { .. }
            )
            | (K::Lsmod | K::ProcModules, K::Lsmod | K::ProcModules)
            | (K::Klog(_), K::Klog(_))
    ) || std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn refine(command: TextKind, content: TextKind) -> TextKind {
    use TextKind as K;
    match (command, content) {
        // `ip addr` of links without addresses looks like `ip link`.
        (K::IpAddr { .. }, K::IpLink { details, .. }) => K::IpAddr { details },
        (K::IpLink { .. }, K::IpAddr { details }) => K::IpAddr { details },
        (K::Ipvsadm(c), K::Ipvsadm(b)) => K::Ipvsadm(match (c, b) {
            (IpvsadmView::List { numeric }, IpvsadmView::List { .. }) => {
                IpvsadmView::List { numeric }
            }
            (_, b) => b,
        }),
        (K::Klog(LogSource::Other), b) => b,
        (c @ K::Klog(_), K::Klog(_)) => c,
        (K::ProcModules | K::Lsmod, b) => b,
        (_, b) => b,
    }
}

/// The kind a command line announces. `sudo`, `ip netns exec NS` and pipes are looked through.
pub fn from_command(command: &str) -> Option<TextKind> {
    let command = command.split('|').next().unwrap_or_default();
    let mut words: Vec<&str> = command.split_whitespace().collect();
    while let Some(w) = words.first() {
        if *w == "sudo" || *w == "time" || w.contains('=') {
            words.remove(0);
        } else if words.len() > 4 && words[..3] == ["ip", "netns", "exec"] {
            words.drain(..4);
        } else {
            break;
        }
    }
    let tool = words.first()?.rsplit('/').next()?;
    let args = &words[1..];
    let has = |flag: &str| args.contains(&flag);
    let short = |c: char| {
        args.iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].contains(c))
    };
    Some(match tool {
        "ipvsadm" => {
            let numeric = short('n') || has("--numeric");
            TextKind::Ipvsadm(if short('S') || has("--save") {
                IpvsadmView::Save { numeric }
            } else if has("--stats") {
                IpvsadmView::Stats { numeric }
            } else if has("--rate") {
                IpvsadmView::Rate { numeric }
            } else if has("--persistent-conn") {
                IpvsadmView::PersistentConn { numeric }
            } else if has("--thresholds") {
                IpvsadmView::Thresholds { numeric }
            } else if has("--timeout") {
                IpvsadmView::Timeout
            } else if has("--daemon") {
                IpvsadmView::Daemon
            } else if short('c') || has("--connection") {
                IpvsadmView::Connections
            } else {
                IpvsadmView::List { numeric }
            })
        }
        "ip" => ip_command(args)?,
        "lsmod" => TextKind::Lsmod,
        "cat" if has("/proc/modules") => TextKind::ProcModules,
        "sysctl" => TextKind::Sysctl,
        "iptables-save"
        | "ip6tables-save"
        | "iptables-legacy-save"
        | "iptables-nft-save"
        | "ip6tables-legacy-save"
        | "ip6tables-nft-save" => TextKind::IptablesSave,
        "iptables" | "ip6tables" | "iptables-legacy" | "iptables-nft" if short('L') => {
            TextKind::IptablesList
        }
        "iptables" | "ip6tables" | "iptables-legacy" | "iptables-nft" if short('S') => {
            TextKind::IptablesSave
        }
        "nft" => TextKind::NftRuleset,
        "ipset" if args.first().is_some_and(|a| *a == "save" || *a == "-S") => TextKind::IpsetSave,
        "ipset" => TextKind::IpsetList,
        "ethtool" if short('k') => TextKind::EthtoolFeatures,
        "kubectl" | "k" => {
            let output = args
                .iter()
                .position(|a| *a == "-o" || *a == "--output")
                .and_then(|i| args.get(i + 1).copied())
                .or_else(|| {
                    args.iter()
                        .find_map(|a| a.strip_prefix("-o").or_else(|| a.strip_prefix("--output=")))
                        .map(|o| o.trim_start_matches('='))
                });
            // The verb may follow global flags (`kubectl -n kube-system logs ...`).
            let verb = args
                .iter()
                .copied()
                .find(|a| matches!(*a, "logs" | "describe" | "get"));
            match (verb, output) {
                (Some("logs"), _) => TextKind::Klog(LogSource::Other),
                (Some("describe"), _) => TextKind::KubectlDescribe,
                (_, Some("yaml")) => TextKind::KubectlYaml,
                (_, Some("json")) => TextKind::KubectlJson,
                (Some("get"), _) => TextKind::KubectlTable,
                _ => return None,
            }
        }
        "dmesg" => TextKind::Dmesg,
        "ifconfig" => TextKind::Ifconfig,
        _ => return None,
    })
}

/// `ip [OPTIONS] OBJECT [COMMAND]`, with iproute2's prefix matching of objects (ip/ip.c
/// `matches`: `a`, `addr`, `address`; `l`, `link`; `r`, `ro`, `route`; `ru`, `rule`; `n`,
/// `neigh`).
fn ip_command(args: &[&str]) -> Option<TextKind> {
    let mut details = false;
    let mut stats = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if let Some(opt) = a.strip_prefix('-') {
            let opt = opt.trim_start_matches('-');
            match opt {
                "j" | "json" => return Some(TextKind::IpJson),
                "br" | "brief" => return Some(TextKind::IpBrief),
                "n" | "netns" | "b" | "batch" | "rc" | "rcvbuf" | "l" | "loops" | "f"
                | "family" => i += 1,
                o if o.starts_with('d') => details = true,
                o if o.starts_with('s') => stats = true,
                _ => {}
            }
            i += 1;
            continue;
        }
        let obj = *a;
        let prefix_of = |full: &str, min: usize| obj.len() >= min && full.starts_with(obj);
        return Some(if prefix_of("address", 1) {
            TextKind::IpAddr { details }
        } else if prefix_of("link", 1) {
            TextKind::IpLink { details, stats }
        } else if prefix_of("rule", 2) {
            TextKind::IpRule
        } else if prefix_of("route", 1) {
            TextKind::IpRoute
        } else if prefix_of("neighbour", 1) || obj == "neighbor" {
            TextKind::IpNeigh
        } else {
            return None;
        });
    }
    None
}

/// `lsmod | grep ...` loses the title; its lines are `name size count [holders]`.
fn is_lsmod_body(body: &str) -> bool {
    body.lines().filter(|l| !l.trim().is_empty()).all(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        (3..=4).contains(&w.len())
            && w[1].bytes().all(|b| b.is_ascii_digit())
            && w[2].parse::<i64>().is_ok()
    })
}

fn looks_like_error(body: &str) -> bool {
    let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
    lines.len() <= 6
        && lines.iter().any(|l| {
            let l = l.to_ascii_lowercase();
            [
                "can't initialize ipvs",
                "command not found",
                "permission denied",
                "no such file",
                "not found",
                "error:",
                "operation not permitted",
                "protocol not available",
                "unable to",
                "cannot",
            ]
            .iter()
            .any(|p| l.contains(p))
        })
}

/// Recognises a piece by the shape of its first non-empty lines.
pub fn from_content(body: &str) -> Option<TextKind> {
    let lines: Vec<&str> = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(SIGNATURE_LINES)
        .collect();
    let first = *lines.first()?;
    let t = first.trim_start();
    let any = |f: &dyn Fn(&str) -> bool| lines.iter().any(|l| f(l));
    let share = |f: &dyn Fn(&str) -> bool| {
        let n = lines.iter().filter(|l| f(l)).count();
        n * 2 > lines.len()
    };

    // ipvsadm (ipvsadm.c list_all / print_title).
    if first.starts_with("IP Virtual Server version") {
        let title = lines.get(1).copied().unwrap_or_default();
        let numeric = !lines
            .iter()
            .skip(3)
            .any(|l| ipvs_line_has_names(l.trim_start()));
        let view = if title.contains("Scheduler Flags") {
            IpvsadmView::List { numeric }
        } else if title.contains("InPkts") {
            IpvsadmView::Stats { numeric }
        } else if title.contains("InPPS") {
            IpvsadmView::Rate { numeric }
        } else if title.contains("PersistConn") {
            IpvsadmView::PersistentConn { numeric }
        } else if title.contains("Uthreshold") {
            IpvsadmView::Thresholds { numeric }
        } else if title.starts_with("IPVS connection entries") || title.contains("expire") {
            IpvsadmView::Connections
        } else {
            IpvsadmView::List { numeric }
        };
        return Some(TextKind::Ipvsadm(view));
    }
    if first.starts_with("Timeout (tcp tcpfin udp):") {
        return Some(TextKind::Ipvsadm(IpvsadmView::Timeout));
    }
    if first.starts_with("IPVS connection entries") {
        return Some(TextKind::Ipvsadm(IpvsadmView::Connections));
    }
    if first.starts_with("master sync daemon") || first.starts_with("backup sync daemon") {
        return Some(TextKind::Ipvsadm(IpvsadmView::Daemon));
    }
    if share(&|l: &str| {
        let mut w = l.split_whitespace();
        matches!(w.next(), Some("-A" | "-a"))
            && matches!(w.next(), Some("-t" | "-u" | "-f" | "--sctp-service"))
    }) {
        let numeric = !lines.iter().any(|l| {
            l.split_whitespace()
                .nth(2)
                .is_some_and(ipvs_target_has_names)
        });
        return Some(TextKind::Ipvsadm(IpvsadmView::Save { numeric }));
    }

    // iproute2.
    if is_ip_link_header(first) {
        let details = any(&|l: &str| {
            l.starts_with("    ") && (l.contains(" promiscuity ") || l.contains(" minmtu "))
        });
        let stats = any(&|l: &str| l.trim_start().starts_with("RX:"));
        if any(&|l: &str| {
            let l = l.trim_start();
            l.starts_with("inet ") || l.starts_with("inet6 ")
        }) {
            return Some(TextKind::IpAddr { details });
        }
        return Some(TextKind::IpLink { details, stats });
    }
    if share(&is_ip_rule_line) {
        return Some(TextKind::IpRule);
    }
    if share(&is_ip_route_line) {
        return Some(TextKind::IpRoute);
    }
    if share(&|l: &str| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() >= 3
            && (w[1] == "UP" || w[1] == "DOWN" || w[1] == "UNKNOWN" || w[1] == "LOWERLAYERDOWN")
            && !w[0].contains(':')
    }) {
        return Some(TextKind::IpBrief);
    }
    if share(&|l: &str| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() >= 4
            && w[0].parse::<std::net::IpAddr>().is_ok()
            && w[1] == "dev"
            && (l.contains(" lladdr ") || l.ends_with("FAILED") || l.ends_with("INCOMPLETE"))
    }) {
        return Some(TextKind::IpNeigh);
    }
    if is_ifconfig_header(first) {
        return Some(TextKind::Ifconfig);
    }

    // Kernel modules: lsmod (kmod tools/lsmod.c prints this title) and /proc/modules
    // (kernel/module/procfs.c m_show: name size refcnt users state address [taints]).
    if first.starts_with("Module") && first.contains("Size") && first.contains("Used by") {
        return Some(TextKind::Lsmod);
    }
    if share(&is_proc_modules_line) {
        return Some(TextKind::ProcModules);
    }

    // Netfilter.
    if t.starts_with("# Generated by iptables")
        || t.starts_with("# Generated by ip6tables")
        || (first.starts_with('*') && any(&|l: &str| l.starts_with(':') || l == "COMMIT"))
    {
        return Some(TextKind::IptablesSave);
    }
    if first.starts_with("Chain ") && (first.contains("(policy ") || first.contains(" references)"))
    {
        return Some(TextKind::IptablesList);
    }
    if share(&|l: &str| l.starts_with("-P ") || l.starts_with("-A ") || l.starts_with("-N ")) {
        return Some(TextKind::IptablesSave);
    }
    if is_nft_table_line(first) {
        return Some(TextKind::NftRuleset);
    }
    if first.starts_with("Name: ")
        && any(&|l: &str| {
            l.starts_with("Type: hash:")
                || l.starts_with("Type: bitmap:")
                || l.starts_with("Type: list:")
        })
    {
        return Some(TextKind::IpsetList);
    }
    if first.starts_with("create ")
        && first.split_whitespace().nth(2).is_some_and(|t| {
            t.starts_with("hash:") || t.starts_with("bitmap:") || t.starts_with("list:")
        })
    {
        return Some(TextKind::IpsetSave);
    }
    if first.starts_with("Features for ") {
        return Some(TextKind::EthtoolFeatures);
    }

    // Kubernetes and CNI.
    if t.starts_with('{') || t.starts_with('[') {
        let head: String = body.chars().take(4096).collect();
        if head.contains("\"cniVersion\"") {
            return Some(TextKind::CniConfig);
        }
        if head.contains("\"apiVersion\"") || head.contains("\"kind\"") {
            return Some(TextKind::KubectlJson);
        }
        if head.contains("\"ifname\"") || head.contains("\"dst\"") || head.contains("\"priority\"")
        {
            return Some(TextKind::IpJson);
        }
    }
    // kubectl sorts the keys: a `kind: List` or a ConfigMap names its kind only after its
    // items or data, possibly hundreds of lines down.
    if any(&|l: &str| l.starts_with("apiVersion:"))
        && any(&|l: &str| {
            ["kind:", "items:", "data:", "metadata:", "spec:"]
                .iter()
                .any(|k| l.starts_with(k))
        })
    {
        return Some(TextKind::KubectlYaml);
    }
    if first.starts_with("Name:") && any(&|l: &str| l.starts_with("Namespace:")) {
        return Some(TextKind::KubectlDescribe);
    }
    if is_kubectl_table_header(first) {
        return Some(TextKind::KubectlTable);
    }

    // Logs, with or without the `[pod/NAME/CONTAINER] ` of `kubectl logs --prefix`.
    let is_klog_line = |l: &str| is_klog_line(without_pod_prefix(l));
    let is_calico_log_line = |l: &str| is_calico_log_line(without_pod_prefix(l));
    if share(&is_klog_line) {
        let text: String = lines.join("\n").to_ascii_lowercase();
        let source = if text.contains("proxier")
            || text.contains("kube-proxy")
            || text.contains("server_others.go")
            || text.contains("proxy mode")
        {
            LogSource::KubeProxy
        } else if text.contains("flannel")
            || text.contains("subnet.env")
            || text.contains("vxlan_network")
        {
            LogSource::Flannel
        } else {
            LogSource::Other
        };
        return Some(TextKind::Klog(source));
    }
    if share(&is_calico_log_line) {
        return Some(TextKind::CalicoLog);
    }
    if share(&is_dmesg_line) {
        return Some(TextKind::Dmesg);
    }

    // sysctl last: `key = value` is a loose shape.
    if share(&is_sysctl_line) {
        return Some(TextKind::Sysctl);
    }
    None
}

/// `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 ...` (ip/ipaddress.c print_linkinfo).
pub(crate) fn is_ip_link_header(l: &str) -> bool {
    let Some((index, rest)) = l.split_once(": ") else {
        return false;
    };
    !index.is_empty()
        && index.bytes().all(|b| b.is_ascii_digit())
        && rest
            .split_once(": <")
            .is_some_and(|(name, flags)| !name.contains(' ') && flags.contains('>'))
}

/// `32766:\tfrom all lookup main` (ip/iprule.c print_rule).
fn is_ip_rule_line(l: &str) -> bool {
    let Some((prio, rest)) = l.split_once(':') else {
        return false;
    };
    !prio.is_empty() && prio.bytes().all(|b| b.is_ascii_digit()) && {
        let r = rest.trim_start();
        r.starts_with("from ") || r.starts_with("not from ")
    }
}

const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "nat",
    "xresolve",
];

/// `default via 10.0.0.1 dev eth0`, `10.0.0.0/8 dev eth0 proto kernel ...`,
/// `local 10.0.0.1 dev eth0 table local ...`, a multipath `\tnexthop via ...` line.
pub(crate) fn is_ip_route_line(l: &str) -> bool {
    if l.starts_with('\t') && l.trim_start().starts_with("nexthop ") {
        return true;
    }
    let mut w = l.split_whitespace();
    let mut first = w.next().unwrap_or_default();
    if ROUTE_TYPES.contains(&first) {
        first = w.next().unwrap_or_default();
    }
    let dst_ok = first == "default"
        || first
            .split('/')
            .next()
            .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok());
    let second = w.next().unwrap_or_default();
    dst_ok
        && (second.is_empty()
            || [
                "via", "dev", "proto", "scope", "table", "metric", "src", "from", "nhid", "tos",
                "nexthop", "pref", "mtu",
            ]
            .contains(&second))
}

fn is_proc_modules_line(l: &str) -> bool {
    let w: Vec<&str> = l.split_whitespace().collect();
    w.len() >= 6
        && w[1].bytes().all(|b| b.is_ascii_digit())
        && (w[2] == "-" || w[2].bytes().all(|b| b.is_ascii_digit()))
        && matches!(w[4], "Live" | "Loading" | "Unloading")
        && w[5].starts_with("0x")
}

fn is_ifconfig_header(l: &str) -> bool {
    // net-tools 2.x: `eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500`;
    // net-tools 1.60: `eth0      Link encap:Ethernet  HWaddr 52:54:00:12:34:56`.
    l.split_once(": flags=")
        .is_some_and(|(n, _)| !n.contains(' '))
        || l.contains(" Link encap:")
}

fn is_nft_table_line(l: &str) -> bool {
    // `nft -a` appends `# handle N`.
    let l = l.split_once(" # handle ").map_or(l, |(a, _)| a);
    let w: Vec<&str> = l.split_whitespace().collect();
    w.len() == 4
        && w[0] == "table"
        && matches!(w[1], "ip" | "ip6" | "inet" | "arp" | "bridge" | "netdev")
        && w[3] == "{"
}

fn is_kubectl_table_header(l: &str) -> bool {
    let cols: Vec<&str> = l
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    cols.len() >= 2
        && (cols[0] == "NAME" || cols[0] == "NAMESPACE")
        && cols.iter().all(|c| {
            c.chars()
                .all(|ch| ch.is_ascii_uppercase() || "-()/ ".contains(ch))
        })
}

/// A log line without the `[pod/NAME/CONTAINER] ` that `kubectl logs --prefix` puts first.
fn without_pod_prefix(l: &str) -> &str {
    match l.strip_prefix("[pod/").and_then(|r| r.split_once("] ")) {
        Some((_, rest)) => rest,
        None => l,
    }
}

/// klog's header (k8s.io/klog `formatHeader`): `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg`.
fn is_klog_line(l: &str) -> bool {
    let b = l.as_bytes();
    b.len() > 22
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
        && b[8] == b':'
        && b[11] == b':'
        && b[14] == b'.'
        && l.contains("] ")
}

/// calico-node (libcalico-go logutils): `2026-11-25 10:00:00.000 [INFO][57] felix/... `.
fn is_calico_log_line(l: &str) -> bool {
    let b = l.as_bytes();
    b.len() > 25
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && l[10..].contains(" [")
        && [
            "[INFO]",
            "[WARNING]",
            "[ERROR]",
            "[DEBUG]",
            "[FATAL]",
            "[PANIC]",
        ]
        .iter()
        .any(|lv| l.contains(lv))
}

/// `[    1.234567] msg` (dmesg), `[Mon Nov 25 10:00:00 2026] msg` (dmesg -T).
fn is_dmesg_line(l: &str) -> bool {
    let Some(rest) = l.strip_prefix('[') else {
        return false;
    };
    let Some((stamp, _)) = rest.split_once(']') else {
        return false;
    };
    let s = stamp.trim();
    s.split_once('.').is_some_and(|(a, b)| {
        a.bytes().all(|c| c.is_ascii_digit())
            && b.len() == 6
            && b.bytes().all(|c| c.is_ascii_digit())
    }) || (s.len() == 24 && s.as_bytes()[3] == b' ')
}

/// `net.ipv4.ip_forward = 1` (procps `sysctl -a`), or `net.ipv4.ip_forward=1` in a
/// `sysctl.d` file.
pub(crate) fn is_sysctl_line(l: &str) -> bool {
    let Some((k, _)) = l.split_once(" = ").or_else(|| l.split_once('=')) else {
        return l.starts_with('#') || l.starts_with(';') || l.starts_with("sysctl: ");
    };
    let k = k.trim();
    !k.is_empty()
        && (k.contains('.') || k.contains('/'))
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/*:@+".contains(c))
}

/// In `ipvsadm -L` without `-n`, a service or destination whose address or port is a name.
fn ipvs_line_has_names(l: &str) -> bool {
    let target = if let Some(rest) = l.strip_prefix("->") {
        rest.split_whitespace().next()
    } else {
        l.split_whitespace().nth(1)
    };
    target.is_some_and(ipvs_target_has_names)
}

pub(crate) fn ipvs_target_has_names(target: &str) -> bool {
    if target.chars().all(|c| c.is_ascii_digit()) {
        return false; // FWM
    }
    match target.rsplit_once(':') {
        Some((addr, port)) => {
            let addr = addr.trim_start_matches('[').trim_end_matches(']');
            addr.parse::<std::net::IpAddr>().is_err() || port.parse::<u16>().is_err()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        for (cmd, want) in [
            (
                "ipvsadm -Ln",
                TextKind::Ipvsadm(IpvsadmView::List { numeric: true }),
            ),
            (
                "sudo ipvsadm -L",
                TextKind::Ipvsadm(IpvsadmView::List { numeric: false }),
            ),
            (
                "ipvsadm -Ln --stats",
                TextKind::Ipvsadm(IpvsadmView::Stats { numeric: true }),
            ),
            (
                "ipvsadm -L -n --rate",
                TextKind::Ipvsadm(IpvsadmView::Rate { numeric: true }),
            ),
            (
                "ipvsadm -Sn",
                TextKind::Ipvsadm(IpvsadmView::Save { numeric: true }),
            ),
            ("ip a", TextKind::IpAddr { details: false }),
            (
                "ip -d link show",
                TextKind::IpLink {
                    details: true,
                    stats: false,
                },
            ),
            (
                "ip -s l",
                TextKind::IpLink {
                    details: false,
                    stats: true,
                },
            ),
            ("ip -n ns1 route show table all", TextKind::IpRoute),
            ("ip -6 r", TextKind::IpRoute),
            ("ip ru", TextKind::IpRule),
            ("ip -br a", TextKind::IpBrief),
            ("ip -j -d link", TextKind::IpJson),
            ("ip netns exec ns1 ip rule show", TextKind::IpRule),
            ("cat /proc/modules", TextKind::ProcModules),
            ("lsmod | grep ip_vs", TextKind::Lsmod),
            ("sysctl -a", TextKind::Sysctl),
            ("iptables-save -t nat", TextKind::IptablesSave),
            ("iptables -t nat -L -n -v", TextKind::IptablesList),
            ("nft list ruleset", TextKind::NftRuleset),
            ("ipset save", TextKind::IpsetSave),
            ("ipset list", TextKind::IpsetList),
            ("ethtool -k eth0", TextKind::EthtoolFeatures),
            ("kubectl get svc -A -o yaml", TextKind::KubectlYaml),
            ("kubectl get ep -ojson", TextKind::KubectlJson),
            ("kubectl get pods -o wide", TextKind::KubectlTable),
            ("kubectl describe svc web", TextKind::KubectlDescribe),
            (
                "kubectl -n kube-system logs ds/kube-proxy",
                TextKind::Klog(LogSource::Other),
            ),
        ] {
            assert_eq!(from_command(cmd), Some(want), "{cmd}");
        }
        assert_eq!(from_command("ls -l"), None);
        assert_eq!(from_command("ip xfrm state"), None);
    }

    #[test]
    fn a_failed_command_is_a_command_error() {
        let body = "Can't initialize ipvs: Protocol not available\n\
                    Are you sure that IP Virtual Server is built in the kernel or as module?";
        assert_eq!(recognize(Some("ipvsadm -Ln"), body), TextKind::CommandError);
    }

    #[test]
    fn unknown_keeps_what_it_looked_like() {
        let k = recognize(
            None,
            "\nhello world, my service does not work\nplease help\n",
        );
        let TextKind::Unknown(r) = k else {
            panic!("{k:?}")
        };
        assert_eq!(r.why, UnknownWhy::NoSignature);
        assert_eq!(r.looked_like, "hello world, my service does not work");
        assert!(r.to_string().contains("hello world"));
        let k = recognize(Some("ls -l"), "total 0\n-rw-r--r-- 1 root root 0 a\n");
        assert!(matches!(
            k,
            TextKind::Unknown(UnknownReason {
                why: UnknownWhy::CommandNotRead,
                ..
            })
        ));
    }

    #[test]
    fn content_signatures() {
        for (body, want) in [
            ("I1125 10:00:00.000000       1 server_others.go:72] \"Using ipvs Proxier\"\nI1125 10:00:00.100000       1 proxier.go:350] x", TextKind::Klog(LogSource::KubeProxy)),
            ("2026-11-25 10:00:00.000 [INFO][57] felix/int_dataplane.go 1100: x\n", TextKind::CalicoLog),
            ("[pod/calico-node-6jq7f/calico-node] 2026-11-20 08:20:00.412 [INFO][71] felix/int_dataplane.go 1100: x\n", TextKind::CalicoLog),
            ("[pod/kube-proxy-t5d6r/kube-proxy] I1120 08:19:31.402117       1 server.go:698] \"Using ipvs Proxier\"\n", TextKind::Klog(LogSource::KubeProxy)),
            ("[    1.234567] IPVS: Registered protocols (TCP, UDP, SCTP, AH, ESP)\n", TextKind::Dmesg),
            ("Features for eth0:\nrx-checksumming: on\n", TextKind::EthtoolFeatures),
            ("table inet filter {\n\tchain input {\n", TextKind::NftRuleset),
            ("create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\n", TextKind::IpsetSave),
            ("Name: KUBE-CLUSTER-IP\nType: hash:ip,port\nRevision: 7\n", TextKind::IpsetList),
            ("NAMESPACE     NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\n", TextKind::KubectlTable),
            ("Name:              web\nNamespace:         default\nType: NodePort\n", TextKind::KubectlDescribe),
            ("apiVersion: v1\nkind: Service\n", TextKind::KubectlYaml),
            ("apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Service\n", TextKind::KubectlYaml),
            ("apiVersion: v1\ndata:\n  config.conf: |\n    mode: ipvs\n", TextKind::KubectlYaml),
            ("{\n  \"cniVersion\": \"0.3.1\",\n  \"name\": \"k8s-pod-network\",\n  \"plugins\": []\n}", TextKind::CniConfig),
            ("{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"List\"\n}", TextKind::KubectlJson),
            ("Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n pkts bytes target\n", TextKind::IptablesList),
            ("eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n", TextKind::Ifconfig),
            ("lo               UNKNOWN        127.0.0.1/8 ::1/128\neth0             UP             10.0.0.1/24\n", TextKind::IpBrief),
            ("net.ipv4.ip_forward = 1\n", TextKind::Sysctl),
        ] {
            assert_eq!(from_content(body), Some(want), "{body}");
        }
    }
}
