//! `ipvsadm -L` in its views (`-Ln`, `--stats`, `--rate`, `--persistent-conn`, `--thresholds`,
//! `--timeout`), `ipvsadm -Sn`, and the same without `-n` (names instead of numbers) into the
//! [`IpvsTable`] the netlink decoder builds.
//!
//! The shapes are ipvsadm 1.31's (`ipvsadm.c`: `list_all`, `print_title`,
//! `print_service_entry`, `print_largenum`, `print_sched_flags`, `print_service_help` for
//! `-S`), checked against the VM-lab oracles in `fixtures/vm-lab/*/oracle/`. What a view does
//! not print stays `None`; see [`IpvsText`] for what the text cannot carry.

use std::net::{IpAddr, Ipv4Addr};

use netlink_ipvs::{
    IpvsDest, IpvsService, IpvsStats, AF_INET, AF_INET6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
    IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2,
    IP_VS_SVC_F_SCHED3,
};

use super::issue::TextIssue;
use super::recognize::{ipvs_target_has_names, IpvsadmView};
use super::Source;
use crate::decode::ipvs::{IpvsTable, IpvsTimeouts, IpvsVirtualServer};

/// The service flags ipvsadm prints. The kernel's flags also hold `IP_VS_SVC_F_HASHED`, which
/// no view shows: compare a text table's `flags` with a netlink one's under this mask.
pub const SHOWN_SERVICE_FLAGS: u32 = IP_VS_SVC_F_PERSISTENT
    | IP_VS_SVC_F_ONEPACKET
    | IP_VS_SVC_F_SCHED1
    | IP_VS_SVC_F_SCHED2
    | IP_VS_SVC_F_SCHED3;

/// An IPVS table read from ipvsadm's text.
///
/// What the text cannot carry, so it stays `None` (or, where the model has no `None`, is said
/// here): a destination's `addr_family` (ipvsadm prints the address only), the
/// `IP_VS_SVC_F_HASHED` flag (see [`SHOWN_SERVICE_FLAGS`]), thresholds and forwarding method in
/// the views that do not print them. `--stats` fills the counters and `--rate` the rates of
/// [`IpvsStats`], whose other half is then 0 without meaning: [`IpvsText::stats`] says which
/// half is known. Statistics go to `stats` (the text does not say whether ipvsadm read the
/// 32-bit or the 64-bit nest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsText {
    pub view: IpvsadmView,
    pub table: IpvsTable,
    /// The line of each service of `table.services`.
    pub service_lines: Vec<usize>,
    /// The lines of each service's destinations, parallel to `table.services[i].dests`.
    pub dest_lines: Vec<Vec<usize>>,
    /// Which half of the statistics the view carried, if any.
    pub stats: Option<StatsHalf>,
    /// The line of `table.timeouts` (`--timeout`).
    pub timeouts_line: Option<usize>,
    pub issues: Vec<TextIssue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsHalf {
    /// conns, inpkts, outpkts, inbytes, outbytes (`--stats`).
    Counters,
    /// cps, inpps, outpps, inbps, outbps (`--rate`).
    Rates,
}

const WHAT: &str = "ipvsadm output";

/// Parses one piece of ipvsadm output in the given view.
pub fn parse(src: &Source<'_>, view: IpvsadmView) -> IpvsText {
    let mut out = IpvsText {
        view,
        table: IpvsTable::default(),
        service_lines: Vec::new(),
        dest_lines: Vec::new(),
        stats: match view {
            IpvsadmView::Stats { .. } => Some(StatsHalf::Counters),
            IpvsadmView::Rate { .. } => Some(StatsHalf::Rates),
            _ => None,
        },
        timeouts_line: None,
        issues: Vec::new(),
    };
    match view {
        IpvsadmView::Save { .. } => parse_save(src, &mut out),
        IpvsadmView::Timeout => {
            for (n, line) in src.lines() {
                if let Some(rest) = line.strip_prefix("Timeout (tcp tcpfin udp):") {
                    let v: Vec<Option<u32>> =
                        rest.split_whitespace().map(|t| t.parse().ok()).collect();
                    if v.len() == 3 {
                        out.table.timeouts = Some(IpvsTimeouts {
                            tcp: v[0],
                            tcp_fin: v[1],
                            udp: v[2],
                        });
                        out.timeouts_line = Some(n);
                        continue;
                    }
                }
                out.issues.push(src.bad(n, WHAT, "not the --timeout line"));
            }
        }
        IpvsadmView::Connections | IpvsadmView::Daemon => {}
        _ => parse_list(src, view, &mut out),
    }
    out
}

fn parse_list(src: &Source<'_>, view: IpvsadmView, out: &mut IpvsText) {
    for (n, line) in src.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("IP Virtual Server version ") {
            match parse_version(rest) {
                Some((v, size)) => {
                    out.table.version = Some(v);
                    out.table.conn_tab_size = size;
                }
                None => out.issues.push(src.bad(n, WHAT, "unreadable version line")),
            }
            continue;
        }
        if line.starts_with("Prot LocalAddress")
            || line.trim() == "-> RemoteAddress:Port"
            || line.trim_start().starts_with("-> RemoteAddress:Port")
        {
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix("->") {
            if out.table.services.is_empty() {
                out.issues
                    .push(src.bad(n, WHAT, "a destination before any service"));
                continue;
            }
            let mut line_issues = Vec::new();
            match parse_dest(rest, view, n, &mut line_issues) {
                Some(d) => {
                    out.issues.append(&mut line_issues);
                    if let (Some(vs), Some(lines)) =
                        (out.table.services.last_mut(), out.dest_lines.last_mut())
                    {
                        vs.dests.push(d);
                        lines.push(n);
                    }
                }
                None => out
                    .issues
                    .push(src.bad(n, WHAT, "unreadable destination line")),
            }
            continue;
        }
        let mut line_issues = Vec::new();
        match parse_service(line, view, n, &mut line_issues) {
            Some(s) => {
                out.issues.append(&mut line_issues);
                // The destinations of the previous service ended with this line.
                out.table.services.push(IpvsVirtualServer {
                    service: s,
                    dests: Vec::new(),
                    dests_complete: true,
                    proc_timeout_jiffies: None,
                });
                out.service_lines.push(n);
                out.dest_lines.push(Vec::new());
            }
            None => out.issues.push(src.bad(n, WHAT, "unreadable service line")),
        }
    }
    // A paste cut short may have lost the last service's later destinations.
    if src.cut_at_end {
        if let Some(vs) = out.table.services.last_mut() {
            vs.dests_complete = false;
            out.issues.push(TextIssue::CutMidTable {
                line: src.last_line,
                what: "IPVS table",
            });
        }
    }
}

/// `1.2.1 (size=4096)`.
fn parse_version(rest: &str) -> Option<(u32, Option<u32>)> {
    let (ver, size) = rest.split_once(' ').unwrap_or((rest, ""));
    let mut parts = ver
        .split('.')
        .map(|p| p.parse::<u32>().ok().filter(|v| *v <= 0xff));
    let (a, b, c) = (parts.next()??, parts.next()??, parts.next()??);
    let size = size
        .trim()
        .strip_prefix("(size=")
        .and_then(|s| s.strip_suffix(')'))
        .and_then(|s| s.parse().ok());
    Some(((a << 16) | (b << 8) | c, size))
}

fn proto(name: &str) -> Option<u16> {
    match name {
        "TCP" => Some(IPPROTO_TCP),
        "UDP" => Some(IPPROTO_UDP),
        "SCTP" => Some(IPPROTO_SCTP),
        _ => None,
    }
}

/// `10.0.0.1:80`, `[fd00::1]:80`; with names, whatever parses is kept.
fn addr_port(
    s: &str,
    line: usize,
    issues: &mut Vec<TextIssue>,
) -> (Option<u16>, Option<IpAddr>, Option<u16>) {
    let (addr, port) = match s.strip_prefix('[') {
        Some(rest) => match rest.split_once("]:") {
            Some((a, p)) => (a, p),
            None => (rest.trim_end_matches(']'), ""),
        },
        None => s.rsplit_once(':').unwrap_or((s, "")),
    };
    let ip: Option<IpAddr> = addr.parse().ok();
    let port_n: Option<u16> = port.parse().ok();
    if ipvs_target_has_names(s) || ip.is_none() || port_n.is_none() {
        issues.push(TextIssue::NamesNotNumbers {
            line,
            what: "ipvsadm",
            name: s.to_string(),
        });
    }
    let af = match (ip, s.starts_with('[')) {
        (Some(IpAddr::V4(_)), _) => Some(AF_INET),
        (Some(IpAddr::V6(_)), _) | (None, true) => Some(AF_INET6),
        (None, false) => None,
    };
    (af, ip, port_n)
}

/// A service line: `TCP  10.0.0.1:80 rr (sh-fallback) persistent 300 mask 255.255.255.0 pe sip
/// ops`, `FWM  42 IPv6 rr`; in `--stats`/`--rate` the name is followed by five numbers.
fn parse_service(
    line: &str,
    view: IpvsadmView,
    n: usize,
    issues: &mut Vec<TextIssue>,
) -> Option<IpvsService> {
    let mut tok = line.split_whitespace().peekable();
    let prot = tok.next()?;
    let target = tok.next()?;
    let mut s = IpvsService::default();
    if prot == "FWM" {
        s.fwmark = Some(target.parse().ok()?);
        s.af = Some(AF_INET);
        if tok.peek() == Some(&"IPv6") {
            tok.next();
            s.af = Some(AF_INET6);
        }
    } else {
        s.protocol = Some(proto(prot)?);
        let (af, addr, port) = addr_port(target, n, issues);
        (s.af, s.addr, s.port) = (af, addr, port);
    }
    if let IpvsadmView::Stats { .. } | IpvsadmView::Rate { .. } = view {
        s.stats = Some(stats_columns(&mut tok, view, n, issues)?);
        return tok.next().is_none().then_some(s);
    }
    s.scheduler = Some(tok.next()?.to_string());
    let mut flags = 0;
    while let Some(t) = tok.next() {
        match t {
            t if t.starts_with('(') => {
                for f in t.trim_matches(['(', ')']).split(',') {
                    flags |= sched_flag(f)?;
                }
            }
            "persistent" => {
                flags |= IP_VS_SVC_F_PERSISTENT;
                s.timeout = tok.next()?.parse().ok();
                // ipvsadm omits the mask when it is /32 (IPv4) or /128 (IPv6).
                s.netmask = Some(match s.af {
                    Some(AF_INET6) => 128u32.swap_bytes(),
                    _ => u32::MAX,
                });
            }
            "mask" => {
                let m = tok.next()?;
                s.netmask = Some(match s.af {
                    // The model keeps the IPv6 prefix as a host-order number read big-endian
                    // (IpvsService::ipv6_prefix_len).
                    Some(AF_INET6) => m.parse::<u32>().ok()?.swap_bytes(),
                    _ => u32::from(m.parse::<Ipv4Addr>().ok()?),
                });
            }
            "pe" => s.pe_name = Some(tok.next()?.to_string()),
            "ops" => flags |= IP_VS_SVC_F_ONEPACKET,
            _ => return None,
        }
    }
    s.flags = Some(flags);
    Some(s)
}

/// `print_sched_flags`: the names of the scheduler flags.
fn sched_flag(name: &str) -> Option<u32> {
    match name {
        "sh-fallback" | "mh-fallback" | "flag-1" => Some(IP_VS_SVC_F_SCHED1),
        "sh-port" | "mh-port" | "flag-2" => Some(IP_VS_SVC_F_SCHED2),
        "flag-3" => Some(IP_VS_SVC_F_SCHED3),
        _ => None,
    }
}

/// A destination line after `->`.
fn parse_dest(
    rest: &str,
    view: IpvsadmView,
    n: usize,
    issues: &mut Vec<TextIssue>,
) -> Option<IpvsDest> {
    let mut tok = rest.split_whitespace().peekable();
    let target = tok.next()?;
    let (_, addr, port) = addr_port(target, n, issues);
    let mut d = IpvsDest {
        addr,
        port,
        ..IpvsDest::default()
    };
    // `%-6d` of an int, `%-10u` of unsigned ints.
    let num = |tok: &mut std::iter::Peekable<std::str::SplitWhitespace<'_>>| -> Option<u32> {
        let t = tok.next()?;
        t.parse::<u32>()
            .ok()
            .or_else(|| t.parse::<i32>().ok().map(|v| v as u32))
    };
    match view {
        IpvsadmView::List { .. } => {
            d.fwd_method = Some(match tok.next()? {
                "Masq" => 0,
                "Local" => 1,
                "Tunnel" => 2,
                "Route" => 3,
                // ipvsadm's fwd_name has no name for Bypass; glibc prints "(null)".
                "(null)" => 4,
                _ => return None,
            });
            d.weight = Some(num(&mut tok)?);
            d.active_conns = Some(num(&mut tok)?);
            d.inactive_conns = Some(num(&mut tok)?);
        }
        IpvsadmView::PersistentConn { .. } => {
            d.weight = Some(num(&mut tok)?);
            d.persist_conns = Some(num(&mut tok)?);
            d.active_conns = Some(num(&mut tok)?);
            d.inactive_conns = Some(num(&mut tok)?);
        }
        IpvsadmView::Thresholds { .. } => {
            d.u_threshold = Some(num(&mut tok)?);
            d.l_threshold = Some(num(&mut tok)?);
            d.active_conns = Some(num(&mut tok)?);
            d.inactive_conns = Some(num(&mut tok)?);
        }
        IpvsadmView::Stats { .. } | IpvsadmView::Rate { .. } => {
            d.stats = Some(stats_columns(&mut tok, view, n, issues)?);
        }
        _ => return None,
    }
    tok.next().is_none().then_some(d)
}

/// Five `print_largenum` columns: exact below 100,000,000, else scaled with K, M, G or T
/// (the exact value is then lost; its lower bound is kept and the loss reported).
fn stats_columns<'a>(
    tok: &mut impl Iterator<Item = &'a str>,
    view: IpvsadmView,
    n: usize,
    issues: &mut Vec<TextIssue>,
) -> Option<IpvsStats> {
    let mut v = [0u64; 5];
    for slot in &mut v {
        let t = tok.next()?;
        let (digits, scale) = match t.as_bytes().last()? {
            b'K' => (&t[..t.len() - 1], 1_000),
            b'M' => (&t[..t.len() - 1], 1_000_000),
            b'G' => (&t[..t.len() - 1], 1_000_000_000),
            b'T' => (&t[..t.len() - 1], 1_000_000_000_000),
            _ => (t, 1),
        };
        *slot = digits.parse::<u64>().ok()?.checked_mul(scale)?;
        if scale != 1 {
            issues.push(TextIssue::ScaledCounter {
                line: n,
                value: t.to_string(),
            });
        }
    }
    Some(match view {
        IpvsadmView::Rate { .. } => IpvsStats {
            cps: v[0],
            inpps: v[1],
            outpps: v[2],
            inbps: v[3],
            outbps: v[4],
            ..IpvsStats::default()
        },
        _ => IpvsStats {
            conns: v[0],
            inpkts: v[1],
            outpkts: v[2],
            inbytes: v[3],
            outbytes: v[4],
            ..IpvsStats::default()
        },
    })
}

/// `ipvsadm -S[n]`: `-A -t VIP:PORT -s SCHED [-b FLAGS] [-p TIMEOUT] [-M MASK] [--pe PE] [-o]`
/// and `-a -t VIP:PORT -r RIP:PORT -m|-g|-i -w WEIGHT [-x U] [-y L]` (print_service_entry with
/// FMT_RULE). It carries no counters, no version and no table size.
fn parse_save(src: &Source<'_>, out: &mut IpvsText) {
    for (n, line) in src.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let mut tok = line.split_whitespace();
        let cmd = tok.next();
        let mut s = IpvsService::default();
        let mut d = IpvsDest::default();
        let mut ok = matches!(cmd, Some("-A" | "-a"));
        let mut flags = 0;
        while ok {
            let Some(opt) = tok.next() else { break };
            let mut val = || tok.next();
            match opt {
                "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" => match val() {
                    Some(v) => {
                        s.protocol = match opt {
                            "-t" | "--tcp-service" => Some(IPPROTO_TCP),
                            "-u" | "--udp-service" => Some(IPPROTO_UDP),
                            _ => Some(IPPROTO_SCTP),
                        };
                        (s.af, s.addr, s.port) = addr_port(v, n, &mut out.issues);
                    }
                    None => ok = false,
                },
                "-f" | "--fwmark-service" => match val().and_then(|v| v.parse().ok()) {
                    Some(m) => {
                        s.fwmark = Some(m);
                        s.af = Some(AF_INET);
                    }
                    None => ok = false,
                },
                "-6" => s.af = Some(AF_INET6),
                "-s" | "--scheduler" => s.scheduler = val().map(str::to_string),
                "-b" | "--sched-flags" => match val() {
                    Some(v) => {
                        for f in v.split(',') {
                            match sched_flag(f) {
                                Some(b) => flags |= b,
                                None => ok = false,
                            }
                        }
                    }
                    None => ok = false,
                },
                "-p" | "--persistent" => {
                    flags |= IP_VS_SVC_F_PERSISTENT;
                    s.timeout = val().and_then(|v| v.parse().ok());
                }
                "-M" | "--netmask" => {
                    s.netmask = val().and_then(|v| {
                        v.parse::<Ipv4Addr>()
                            .ok()
                            .map(u32::from)
                            .or_else(|| v.parse::<u32>().ok().map(u32::swap_bytes))
                    })
                }
                "--pe" => s.pe_name = val().map(str::to_string),
                "-o" | "--ops" => flags |= IP_VS_SVC_F_ONEPACKET,
                "-r" | "--real-server" => match val() {
                    Some(v) => (_, d.addr, d.port) = addr_port(v, n, &mut out.issues),
                    None => ok = false,
                },
                "-m" | "--masquerading" => d.fwd_method = Some(0),
                "-i" | "--ipip" => d.fwd_method = Some(2),
                "-g" | "--gatewaying" => d.fwd_method = Some(3),
                // IP_VS_CONN_F_TUNNEL_TYPE_*: ipip 0, gue 1, gre 2 (ipvsadm.c parse_tun_type).
                "--tun-type" => {
                    d.tun_type = match val() {
                        Some("ipip") => Some(0),
                        Some("gue") => Some(1),
                        Some("gre") => Some(2),
                        _ => {
                            ok = false;
                            None
                        }
                    }
                }
                "--tun-port" => d.tun_port = val().and_then(|v| v.parse().ok()),
                // IP_VS_TUNNEL_ENCAP_FLAG_{NOCSUM,CSUM,REMCSUM}: 0, 1, 2.
                "--tun-nocsum" => d.tun_flags = Some(0),
                "--tun-csum" => d.tun_flags = Some(1),
                "--tun-remcsum" => d.tun_flags = Some(2),
                "-w" | "--weight" => d.weight = val().and_then(|v| v.parse().ok()),
                "-x" | "--u-threshold" => d.u_threshold = val().and_then(|v| v.parse().ok()),
                "-y" | "--l-threshold" => d.l_threshold = val().and_then(|v| v.parse().ok()),
                _ => ok = false,
            }
        }
        if !ok {
            out.issues.push(src.bad(n, WHAT, "not an ipvsadm -S rule"));
            continue;
        }
        if cmd == Some("-A") {
            if s.flags.is_none() {
                s.flags = Some(flags);
            }
            if flags & IP_VS_SVC_F_PERSISTENT != 0 && s.netmask.is_none() {
                s.netmask = Some(if s.af == Some(AF_INET6) {
                    128u32.swap_bytes()
                } else {
                    u32::MAX
                });
            }
            out.table.services.push(IpvsVirtualServer {
                service: s,
                dests: Vec::new(),
                dests_complete: true,
                proc_timeout_jiffies: None,
            });
            out.service_lines.push(n);
            out.dest_lines.push(Vec::new());
        } else {
            // `-a` names its service again; attach it to that service.
            let pos = out.table.services.iter().position(|vs| {
                vs.service.protocol == s.protocol
                    && vs.service.addr == s.addr
                    && vs.service.port == s.port
                    && vs.service.fwmark == s.fwmark
            });
            match pos {
                Some(i) => {
                    out.table.services[i].dests.push(d);
                    out.dest_lines[i].push(n);
                }
                None => out.issues.push(src.bad(
                    n,
                    WHAT,
                    "a destination of a service not listed before",
                )),
            }
        }
    }
    if src.cut_at_end {
        if let Some(vs) = out.table.services.last_mut() {
            vs.dests_complete = false;
        }
        out.issues.push(TextIssue::CutMidTable {
            line: src.last_line,
            what: "ipvsadm rules",
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::text::session::Piece;

    fn piece(body: &str) -> Piece {
        Piece {
            command: None,
            command_line: None,
            first_line: 1,
            last_line: body.lines().count(),
            body: body.to_string(),
        }
    }

    #[test]
    fn list_with_flags_persistence_and_ipv6() {
        let p = piece(
            "IP Virtual Server version 1.2.1 (size=4096)\n\
             Prot LocalAddress:Port Scheduler Flags\n\
             \x20 -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
             TCP  10.96.100.70:80 sh (sh-fallback,sh-port)\n\
             \x20 -> 10.244.0.5:8080              Masq    1      0          0         \n\
             TCP  10.96.0.2:80 rr persistent 300 mask 255.255.255.0 ops\n\
             \x20 -> 10.244.0.6:80                Route   -1     3          4\n\
             UDP  [fd00::1]:53 rr persistent 60 mask 64\n\
             FWM  42 IPv6 wlc\n",
        );
        let src = Source::new(&p, false);
        let t = parse(&src, IpvsadmView::List { numeric: true });
        assert!(t.issues.is_empty(), "{:?}", t.issues);
        assert_eq!(t.table.version, Some(0x010201));
        assert_eq!(t.table.conn_tab_size, Some(4096));
        assert_eq!(t.service_lines, vec![4, 6, 8, 9]);
        assert_eq!(t.dest_lines, vec![vec![5], vec![7], vec![], vec![]]);
        let s = &t.table.services;
        assert_eq!(
            s[0].service.flags,
            Some(IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2)
        );
        assert_eq!(s[0].dests[0].addr, Some("10.244.0.5".parse().expect("ip")));
        assert_eq!(s[0].dests[0].fwd_method, Some(0));
        assert_eq!(
            s[1].service.flags,
            Some(IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET)
        );
        assert_eq!(s[1].service.timeout, Some(300));
        assert_eq!(s[1].service.netmask, Some(0xffff_ff00));
        assert_eq!(s[1].dests[0].weight, Some(u32::MAX));
        assert_eq!(s[1].dests[0].fwd_method, Some(3));
        assert_eq!(s[2].service.af, Some(AF_INET6));
        assert_eq!(s[2].service.ipv6_prefix_len(), Some(64));
        assert_eq!(
            (s[3].service.fwmark, s[3].service.af),
            (Some(42), Some(AF_INET6))
        );
    }

    #[test]
    fn names_keep_what_parses_and_say_what_not() {
        let p = piece(
            "IP Virtual Server version 1.2.1 (size=4096)\n\
             Prot LocalAddress:Port Scheduler Flags\n\
             \x20 -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
             TCP  kubernetes.default.svc.cl:https rr\n\
             \x20 -> 192.168.122.96:6443          Masq    1      0          0\n\
             TCP  10.96.0.10:domain rr\n",
        );
        let t = parse(
            &Source::new(&p, false),
            IpvsadmView::List { numeric: false },
        );
        let s = &t.table.services;
        assert_eq!((s[0].service.addr, s[0].service.port), (None, None));
        assert_eq!(s[0].service.protocol, Some(IPPROTO_TCP));
        assert_eq!(s[0].dests[0].port, Some(6443));
        assert_eq!(s[1].service.addr, Some("10.96.0.10".parse().expect("ip")));
        assert_eq!(s[1].service.port, None);
        assert_eq!(t.issues.len(), 2);
        assert!(matches!(
            &t.issues[0],
            TextIssue::NamesNotNumbers { line: 4, .. }
        ));
    }

    #[test]
    fn stats_scaled_and_cut() {
        let p = piece(
            "IP Virtual Server version 1.2.1 (size=4096)\n\
             Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n\
             \x20 -> RemoteAddress:Port\n\
             TCP  10.96.0.1:443                       5 123456K        0       60        0\n\
             \x20 -> 192.168.122.96:6443              5        1        0       60\n",
        );
        let t = parse(&Source::new(&p, true), IpvsadmView::Stats { numeric: true });
        let s = t.table.services[0].service.stats.expect("stats");
        assert_eq!((s.conns, s.inpkts), (5, 123_456_000));
        assert!(t.table.services[0].dests.is_empty());
        assert!(!t.table.services[0].dests_complete);
        assert_eq!(
            t.issues,
            vec![
                TextIssue::ScaledCounter {
                    line: 4,
                    value: "123456K".into()
                },
                TextIssue::CutMidLine { line: 5 },
                TextIssue::CutMidTable {
                    line: 5,
                    what: "IPVS table"
                },
            ]
        );
    }

    #[test]
    fn save_format() {
        let p = piece(
            "-A -t 10.96.100.70:80 -s sh -b sh-fallback,sh-port\n\
             -a -t 10.96.100.70:80 -r 10.244.0.5:8080 -m -w 1\n\
             -A -f 42 -s rr -p 300\n\
             -a -f 42 -r 10.244.0.6:0 -g -w 2 -x 100 -y 50\n\
             -a -t 10.9.9.9:1 -r 10.0.0.1:1 -m -w 1\n",
        );
        let t = parse(&Source::new(&p, false), IpvsadmView::Save { numeric: true });
        let s = &t.table.services;
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0].service.flags,
            Some(IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2)
        );
        assert_eq!(s[0].dests[0].weight, Some(1));
        assert_eq!(s[1].service.flags, Some(IP_VS_SVC_F_PERSISTENT));
        assert_eq!(s[1].service.netmask, Some(u32::MAX));
        assert_eq!(s[1].dests[0].fwd_method, Some(3));
        assert_eq!(s[1].dests[0].u_threshold, Some(100));
        assert_eq!(t.dest_lines, vec![vec![2], vec![4]]);
        assert_eq!(t.issues.len(), 1, "{:?}", t.issues);
    }
}
