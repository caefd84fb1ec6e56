//! `ipvsadm -Ln` and `ipvsadm -Ln --stats`, replayed from a decoded [`IpvsTable`].
//!
//! A pure function of the table, so that the VM lab can compare it byte for byte with the real
//! tool. The formats, the order and the quirks are those of ipvsadm 1.31 (`ipvsadm.c`:
//! `list_all`, `print_title`, `print_service_entry`, `print_largenum`, `print_sched_flags`;
//! `libipvs/libipvs.c`: `ipvs_cmp_services`, `ipvs_cmp_dests`, the netlink parse callbacks),
//! run on glibc (whose `qsort` is a merge sort and whose `inet_ntop` has its own IPv6 rules).
//!
//! Values the kernel always sends but the table lacks (a bundle cut short, the proc source)
//! print as 0 or empty, as libipvs's zeroed entries would; a missing version prints `?`.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv6Addr};

use netlink_ipvs::{
    ForwardMethod, IpvsDest, IpvsService, IpvsStats, AF_INET, AF_INET6, IPPROTO_SCTP, IPPROTO_TCP,
    IPPROTO_UDP, IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1,
    IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3,
};

use crate::decode::ipvs::{IpvsTable, IpvsVirtualServer};

// The tool's own words, kept together.
const TITLE_LIST: &str = "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
const TITLE_STATS_LEFT: &str = "Prot LocalAddress:Port";
const TITLE_STATS_COLUMNS: [&str; 5] = ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"];
const TITLE_STATS_DEST: &str = "  -> RemoteAddress:Port\n";
const UNKNOWN: &str = "?";
/// What glibc's printf prints for a NULL `%s` (ipvsadm's `fwd_name` has no name for Bypass;
/// `inet_ntop` returns NULL for an unknown family).
const NULL_STR: &str = "(null)";

/// Prints what `ipvsadm -Ln` prints.
pub fn render_ipvsadm_list(table: &IpvsTable, out: &mut impl Write) -> io::Result<()> {
    write_version(table, out)?;
    out.write_all(TITLE_LIST.as_bytes())?;
    for vs in sorted_services(table) {
        writeln!(out, "{}", service_line(&vs.service))?;
        for d in sorted_dests(vs) {
            writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
                dest_name(d, vs.service.af),
                fwd_name(d),
                d.weight.unwrap_or(0) as i32,
                d.active_conns.unwrap_or(0),
                d.inactive_conns.unwrap_or(0),
            )?;
        }
    }
    Ok(())
}

/// Prints what `ipvsadm -Ln --stats` prints.
pub fn render_ipvsadm_stats(table: &IpvsTable, out: &mut impl Write) -> io::Result<()> {
    write_version(table, out)?;
    write!(out, "{TITLE_STATS_LEFT:<33}")?;
    for c in TITLE_STATS_COLUMNS {
        write!(out, " {c:>8}")?;
    }
    writeln!(out)?;
    out.write_all(TITLE_STATS_DEST.as_bytes())?;
    for vs in sorted_services(table) {
        let s = vs.service.best_stats().unwrap_or_default();
        write!(out, "{:<33}", service_name(&vs.service))?;
        for v in [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes] {
            out.write_all(largenum(v).as_bytes())?;
        }
        writeln!(out)?;
        for d in sorted_dests(vs) {
            let s = dest_stats(d);
            write!(out, "  -> {:<28}", dest_name(d, vs.service.af))?;
            for v in [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes] {
                out.write_all(largenum(v).as_bytes())?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

fn write_version(table: &IpvsTable, out: &mut impl Write) -> io::Result<()> {
    // NVERSION() in ip_vs.h: three bytes, printed with %d.
    let version = table.version.map_or_else(
        || format!("{UNKNOWN}.{UNKNOWN}.{UNKNOWN}"),
        |v| format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff),
    );
    let size = table
        .conn_tab_size
        .map_or_else(|| UNKNOWN.to_string(), |s| (s as i32).to_string());
    writeln!(out, "IP Virtual Server version {version} (size={size})")
}

/// The destination statistics ipvsadm shows. libipvs reads a destination's STATS64 nest with
/// its 32-bit parser (`ipvs_dests_parse_cb` calls `ipvs_parse_stats`), so on the little-endian
/// nodes it runs on, the counters and rates keep only their low 32 bits; the byte counters are
/// read as u64.
fn dest_stats(d: &IpvsDest) -> IpvsStats {
    let s = d.stats64.or(d.stats).unwrap_or_default();
    let low = |v: u64| v & 0xffff_ffff;
    IpvsStats {
        conns: low(s.conns),
        inpkts: low(s.inpkts),
        outpkts: low(s.outpkts),
        cps: low(s.cps),
        inpps: low(s.inpps),
        outpps: low(s.outpps),
        inbps: low(s.inbps),
        outbps: low(s.outbps),
        ..s
    }
}

/// `print_largenum` without `--exact`: 9 columns, scaled with K, M, G, T.
fn largenum(i: u64) -> String {
    if i < 100_000_000 {
        format!("{i:>9}")
    } else if i < 1_000_000_000 {
        format!("{:>8}K", i / 1_000)
    } else if i < 100_000_000_000 {
        format!("{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        format!("{:>8}G", i / 1_000_000_000)
    } else {
        format!("{:>8}T", i / 1_000_000_000_000)
    }
}

fn protocol_name(p: Option<u16>) -> &'static str {
    match p {
        Some(IPPROTO_TCP) => "TCP",
        Some(IPPROTO_UDP) => "UDP",
        Some(IPPROTO_SCTP) => "SCTP",
        _ => "?",
    }
}

/// `inet_ntop(af, addr)` as glibc prints it.
fn ntop(af: Option<u16>, addr: Option<IpAddr>) -> String {
    match (af, addr) {
        (Some(AF_INET), Some(IpAddr::V4(a))) => a.to_string(),
        (Some(AF_INET6), Some(IpAddr::V6(a))) => inet_ntop6(&a),
        // Decoded with another family than the one printed: show what we have.
        (Some(AF_INET | AF_INET6), Some(a)) => a.to_string(),
        (Some(AF_INET), None) => "0.0.0.0".to_string(),
        (Some(AF_INET6), None) => "::".to_string(),
        _ => NULL_STR.to_string(),
    }
}

/// glibc's `inet_ntop6` (resolv/inet_ntop.c, from BIND): the first longest run of two or more
/// zero words becomes `::`, hex in lower case, and the last 32 bits in dotted form for
/// IPv4-compatible (`::a.b.c.d`, first six words zero) and IPv4-mapped (`::ffff:a.b.c.d`)
/// addresses. Unlike Rust's `Display`, which keeps `::a.b.c.d` in hex.
fn inet_ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    let (mut best_base, mut best_len) = (None::<usize>, 0);
    let mut i = 0;
    while i < 8 {
        if w[i] == 0 {
            let start = i;
            while i < 8 && w[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                (best_base, best_len) = (Some(start), i - start);
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_base = None;
    }
    let mut s = String::new();
    for (i, word) in w.iter().enumerate() {
        if let Some(b) = best_base {
            if i >= b && i < b + best_len {
                if i == b {
                    s.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            s.push(':');
        }
        if i == 6 && best_base == Some(0) && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            s.push_str(&format!("{}.{}.{}.{}", o[12], o[13], o[14], o[15]));
            return s;
        }
        s.push_str(&format!("{word:x}"));
    }
    if best_base.is_some_and(|b| b + best_len == 8) {
        s.push(':');
    }
    s
}

/// `addrport_to_anyname` with `-n`: brackets for every family but AF_INET.
fn addrport(af: Option<u16>, addr: Option<IpAddr>, port: Option<u16>) -> String {
    let (open, close) = if af == Some(AF_INET) {
        ("", "")
    } else {
        ("[", "]")
    };
    format!("{open}{}{close}:{}", ntop(af, addr), port.unwrap_or(0))
}

/// Cuts a C string buffer at `n` bytes (ipvsadm writes a NUL there).
fn cut(mut s: String, n: usize) -> String {
    if s.len() > n {
        let mut end = n;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn service_name(s: &IpvsService) -> String {
    match s.fwmark.filter(|m| *m != 0) {
        // "%d" of an unsigned mark.
        Some(m) if s.af == Some(AF_INET6) => format!("FWM  {} IPv6", m as i32),
        Some(m) => format!("FWM  {}", m as i32),
        None => {
            let name = format!(
                "{:<4} {}",
                protocol_name(s.protocol),
                addrport(s.af, s.addr, s.port)
            );
            if s.af == Some(AF_INET6) {
                name
            } else {
                cut(name, 33)
            }
        }
    }
}

fn sched_flags(s: &IpvsService, flags: u32) -> String {
    let names: &[(u32, &str)] = match s.scheduler.as_deref() {
        Some("sh") => &[
            (IP_VS_SVC_F_SCHED1, "sh-fallback"),
            (IP_VS_SVC_F_SCHED2, "sh-port"),
        ],
        Some("mh") => &[
            (IP_VS_SVC_F_SCHED1, "mh-fallback"),
            (IP_VS_SVC_F_SCHED2, "mh-port"),
        ],
        _ => &[
            (IP_VS_SVC_F_SCHED1, "flag-1"),
            (IP_VS_SVC_F_SCHED2, "flag-2"),
            (IP_VS_SVC_F_SCHED3, "flag-3"),
        ],
    };
    names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(",")
}

fn service_line(s: &IpvsService) -> String {
    let flags = s.flags.unwrap_or(0);
    let mut line = format!(
        "{} {}",
        service_name(s),
        s.scheduler.as_deref().unwrap_or_default()
    );
    if flags & (IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3) != 0 {
        line.push_str(&format!(" ({})", sched_flags(s, flags)));
    }
    if flags & IP_VS_SVC_F_PERSISTENT != 0 {
        match s.timeout {
            Some(t) => line.push_str(&format!(" persistent {t}")),
            None => line.push_str(&format!(" persistent {UNKNOWN}")),
        }
        let netmask = s.netmask.unwrap_or(0);
        if s.af == Some(AF_INET) && netmask != 0xffff_ffff {
            line.push_str(&format!(" mask {}", std::net::Ipv4Addr::from(netmask)));
        }
        if s.af == Some(AF_INET6) {
            let prefix = s.ipv6_prefix_len().unwrap_or(0);
            if prefix != 128 {
                line.push_str(&format!(" mask {}", prefix as i32));
            }
        }
        if let Some(pe) = s.pe_name.as_deref().filter(|p| !p.is_empty()) {
            line.push_str(&format!(" pe {pe}"));
        }
    }
    if flags & IP_VS_SVC_F_ONEPACKET != 0 {
        line.push_str(" ops");
    }
    line
}

/// The family libipvs gives a destination: its ADDR_FAMILY, else the service's.
fn dest_af(d: &IpvsDest, service_af: Option<u16>) -> Option<u16> {
    d.addr_family.or(service_af)
}

fn dest_name(d: &IpvsDest, service_af: Option<u16>) -> String {
    let af = dest_af(d, service_af);
    let name = addrport(af, d.addr, d.port);
    if af == Some(AF_INET6) {
        name
    } else {
        cut(name, 28)
    }
}

fn fwd_name(d: &IpvsDest) -> &'static str {
    match d.forward_method().unwrap_or(ForwardMethod::Masq) {
        ForwardMethod::Masq => "Masq",
        ForwardMethod::Local => "Local",
        ForwardMethod::Tunnel => "Tunnel",
        ForwardMethod::Route => "Route",
        ForwardMethod::Bypass | ForwardMethod::Other(_) => NULL_STR,
    }
}

/// The address as four host-order words (`ntohl` of `s6_addr32[i]`, or of `addr.ip` in word 0),
/// the way the comparators read `union nf_inet_addr`.
fn addr_words(addr: Option<IpAddr>) -> [u32; 4] {
    match addr {
        Some(IpAddr::V4(a)) => [u32::from(a), 0, 0, 0],
        Some(IpAddr::V6(a)) => {
            let o = a.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
        None => [0; 4],
    }
}

/// `ntohl(a) - ntohl(b)` computed in unsigned int and returned as int: it wraps, so
/// 192.168.x.x sorts before 10.x.x.x.
fn addr_cmp(af: Option<u16>, a: Option<IpAddr>, b: Option<IpAddr>) -> i32 {
    let (wa, wb) = (addr_words(a), addr_words(b));
    let words = if af == Some(AF_INET6) { 4 } else { 1 };
    (0..words)
        .map(|i| wa[i].wrapping_sub(wb[i]) as i32)
        .find(|r| *r != 0)
        .unwrap_or(0)
}

/// `ipvs_cmp_services`: fwmark, family, protocol, address, port.
fn cmp_services(a: &IpvsService, b: &IpvsService) -> i32 {
    let r = a.fwmark.unwrap_or(0).wrapping_sub(b.fwmark.unwrap_or(0)) as i32;
    if r != 0 {
        return r;
    }
    let r = i32::from(a.af.unwrap_or(0)) - i32::from(b.af.unwrap_or(0));
    if r != 0 {
        return r;
    }
    let r = i32::from(a.protocol.unwrap_or(0)) - i32::from(b.protocol.unwrap_or(0));
    if r != 0 {
        return r;
    }
    let r = addr_cmp(a.af, a.addr, b.addr);
    if r != 0 {
        return r;
    }
    i32::from(a.port.unwrap_or(0)) - i32::from(b.port.unwrap_or(0))
}

/// `ipvs_cmp_dests`: address (with the first destination's family), then port.
fn cmp_dests(a: &IpvsDest, b: &IpvsDest, service_af: Option<u16>) -> i32 {
    let r = addr_cmp(dest_af(a, service_af), a.addr, b.addr);
    if r != 0 {
        return r;
    }
    i32::from(a.port.unwrap_or(0)) - i32::from(b.port.unwrap_or(0))
}

fn sorted_services(table: &IpvsTable) -> Vec<&IpvsVirtualServer> {
    let mut v: Vec<_> = table.services.iter().collect();
    glibc_msort(&mut v, |a, b| cmp_services(&a.service, &b.service));
    v
}

fn sorted_dests(vs: &IpvsVirtualServer) -> Vec<&IpvsDest> {
    let mut v: Vec<_> = vs.dests.iter().collect();
    glibc_msort(&mut v, |a, b| cmp_dests(a, b, vs.service.af));
    v
}

/// glibc's `qsort` (stdlib/msort.c `msort_with_tmp`): a top-down merge sort that splits at
/// `n / 2` and takes from the left run while `cmp(left, right) <= 0`. The wrapping comparators
/// are not a total order, so the result depends on the algorithm: this reproduces ipvsadm's
/// order where a library sort (which may also panic on such a comparator) would not.
fn glibc_msort<T: Copy>(v: &mut [T], cmp: impl Fn(T, T) -> i32 + Copy) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    glibc_msort(&mut v[..n1], cmp);
    glibc_msort(&mut v[n1..], cmp);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(v[i], v[j]) <= 0 {
            merged.push(v[i]);
            i += 1;
        } else {
            merged.push(v[j]);
            j += 1;
        }
    }
    merged.extend_from_slice(&v[i..n1]);
    // What is left of the right run is already in place.
    v[..merged.len()].copy_from_slice(&merged);
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_ipvs::IP_VS_SVC_F_HASHED;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn af_of(a: IpAddr) -> u16 {
        if a.is_ipv4() {
            AF_INET
        } else {
            AF_INET6
        }
    }

    fn svc(proto: u16, addr: &str, port: u16, sched: &str, flags: u32) -> IpvsService {
        let a = ip(addr);
        IpvsService {
            af: Some(af_of(a)),
            protocol: Some(proto),
            addr: Some(a),
            port: Some(port),
            scheduler: Some(sched.into()),
            flags: Some(flags | IP_VS_SVC_F_HASHED),
            timeout: Some(0),
            netmask: Some(0xffff_ffff),
            ..Default::default()
        }
    }

    fn dst(addr: &str, port: u16, fwd: u32, weight: u32, active: u32, inactive: u32) -> IpvsDest {
        let a = ip(addr);
        IpvsDest {
            addr: Some(a),
            port: Some(port),
            fwd_method: Some(fwd),
            weight: Some(weight),
            active_conns: Some(active),
            inactive_conns: Some(inactive),
            addr_family: Some(af_of(a)),
            ..Default::default()
        }
    }

    fn vs(service: IpvsService, dests: Vec<IpvsDest>) -> IpvsVirtualServer {
        IpvsVirtualServer {
            service,
            dests,
            dests_complete: true,
            proc_timeout_jiffies: None,
        }
    }

    fn table(services: Vec<IpvsVirtualServer>) -> IpvsTable {
        IpvsTable {
            version: Some(0x010201),
            conn_tab_size: Some(4096),
            services,
            ..Default::default()
        }
    }

    fn render(t: &IpvsTable, f: fn(&IpvsTable, &mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(t, &mut out).expect("writes to a Vec");
        String::from_utf8(out).expect("ASCII")
    }

    /// Services in kernel (hash) order, covering every branch of the service and destination
    /// lines. Expected text: the format strings of ipvsadm 1.31 applied with Python's printf,
    /// glibc's `inet_ntop` and a transcription of glibc's merge sort (written independently).
    fn mixed_table() -> IpvsTable {
        let fwm = IpvsService {
            af: Some(AF_INET6),
            fwmark: Some(42),
            scheduler: Some("sh".into()),
            flags: Some(IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2),
            timeout: Some(300),
            // Prefix 64 as a little-endian node stores it, read big-endian.
            netmask: Some(64u32.swap_bytes()),
            pe_name: Some("sip".into()),
            ..Default::default()
        };
        let mut sctp = svc(
            IPPROTO_SCTP,
            "10.0.0.5",
            3868,
            "wlc",
            IP_VS_SVC_F_PERSISTENT,
        );
        sctp.timeout = Some(600);
        sctp.netmask = Some(0xffff_ff00);
        table(vec![
            vs(
                svc(IPPROTO_TCP, "10.96.0.1", 443, "rr", 0),
                vec![
                    dst("192.168.122.97", 6443, 0, 1, 1, 0),
                    dst("192.168.122.96", 6443, 0, 1, 3, 0),
                ],
            ),
            vs(
                svc(IPPROTO_UDP, "10.96.0.10", 53, "rr", IP_VS_SVC_F_ONEPACKET),
                vec![dst("10.244.0.4", 53, 0, 1, 0, 0)],
            ),
            vs(fwm, vec![dst("2001:db8::7", 0, 3, 1, 0, 0)]),
            vs(
                svc(IPPROTO_TCP, "192.168.122.96", 30081, "rr", 0),
                vec![
                    dst("10.244.2.3", 8080, 0, 1, 0, 5),
                    dst("10.244.1.2", 8080, 0, 1, 2, 0),
                ],
            ),
            vs(sctp, vec![]),
            vs(
                svc(IPPROTO_TCP, "2001:db8::1", 80, "rr", 0),
                vec![
                    dst("2001:db8::2", 80, 3, 1, 0, 0),
                    dst("::ffff:10.1.1.1", 80, 0, 1, 0, 0),
                ],
            ),
            vs(
                svc(IPPROTO_TCP, "172.16.0.1", 80, "rr", IP_VS_SVC_F_SCHED3),
                vec![
                    dst("10.1.0.9", 80, 2, 0, 0, 0),
                    dst("127.0.0.1", 80, 1, 5, 0, 0),
                    dst("10.1.0.8", 80, 4, 1, 0, 0),
                ],
            ),
        ])
    }

    const MIXED_LIST: &str = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  172.16.0.1:80 rr (flag-3)
  -> 10.1.0.8:80                  (null)  1      0          0         
  -> 10.1.0.9:80                  Tunnel  0      0          0         
  -> 127.0.0.1:80                 Local   5      0          0         
TCP  192.168.122.96:30081 rr
  -> 10.244.1.2:8080              Masq    1      2          0         
  -> 10.244.2.3:8080              Masq    1      0          5         
TCP  10.96.0.1:443 rr
  -> 192.168.122.96:6443          Masq    1      3          0         
  -> 192.168.122.97:6443          Masq    1      1          0         
UDP  10.96.0.10:53 rr ops
  -> 10.244.0.4:53                Masq    1      0          0         
SCTP 10.0.0.5:3868 wlc persistent 600 mask 255.255.255.0
TCP  [2001:db8::1]:80 rr
  -> [::ffff:10.1.1.1]:80         Masq    1      0          0         
  -> [2001:db8::2]:80             Route   1      0          0         
FWM  42 IPv6 sh (sh-fallback,sh-port) persistent 300 mask 64 pe sip
  -> [2001:db8::7]:0              Route   1      0          0         
";

    #[test]
    fn list_matches_ipvsadm_formats_and_order() {
        assert_eq!(render(&mixed_table(), render_ipvsadm_list), MIXED_LIST);
    }

    #[test]
    fn list_of_an_empty_table_is_the_header() {
        let t = table(vec![]);
        assert_eq!(
            render(&t, render_ipvsadm_list),
            format!("IP Virtual Server version 1.2.1 (size=4096)\n{TITLE_LIST}")
        );
        let unknown = IpvsTable::default();
        assert!(render(&unknown, render_ipvsadm_list)
            .starts_with("IP Virtual Server version ?.?.? (size=?)\n"));
    }

    #[test]
    fn stats_use_largenum_and_the_dest_32_bit_quirk() {
        let mut s = svc(IPPROTO_TCP, "10.96.0.1", 443, "rr", 0);
        s.stats = Some(IpvsStats {
            conns: 1,
            ..Default::default()
        });
        s.stats64 = Some(IpvsStats {
            conns: 123_456_789,
            inpkts: 5,
            outpkts: 99_999_999,
            inbytes: 150_000_000_000,
            outbytes: 200_000_000_000_000,
            ..Default::default()
        });
        let mut d = dst("192.168.122.96", 6443, 0, 1, 0, 0);
        d.stats64 = Some(IpvsStats {
            conns: 0x1_0000_0007,
            inpkts: 1_000_000_000,
            inbytes: 5_000_000_000,
            outbytes: 42,
            ..Default::default()
        });
        let fwm = IpvsService {
            af: Some(AF_INET6),
            fwmark: Some(42),
            scheduler: Some("rr".into()),
            ..Default::default()
        };
        let t = table(vec![vs(fwm, vec![]), vs(s, vec![d])]);
        let expected = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.96.0.1:443                 123456K        5 99999999     150G     200T
  -> 192.168.122.96:6443                 7    1000M        0    5000M       42
FWM  42 IPv6                             0        0        0        0        0
";
        assert_eq!(render(&t, render_ipvsadm_stats), expected);
    }

    #[test]
    fn ipv6_text_matches_glibc_inet_ntop() {
        // Right-hand sides printed by glibc's inet_ntop (through Python's socket module).
        for (input, glibc) in [
            ("::", "::"),
            ("::1", "::1"),
            ("::2", "::2"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("2001:db8::1", "2001:db8::1"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("fe80::1:0:0:1", "fe80::1:0:0:1"),
            ("1::", "1::"),
            ("0:1:0:0:0:0:0:0", "0:1::"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"),
            ("0:0:0:0:0:1:0:0", "::1:0:0"),
            ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),
            ("0:0:0:0:ffff::", "::ffff:0:0:0"),
        ] {
            let a: Ipv6Addr = input.parse().expect("test address");
            assert_eq!(inet_ntop6(&a), glibc, "{input}");
        }
    }

    #[test]
    fn merge_sort_follows_glibc_on_a_non_transitive_comparator() {
        // With wrapping subtraction: 0.0.0.0 > 128.0.0.1 > 64.0.0.0 > 0.0.0.0 (a cycle).
        // glibc's msort of [a, b, c]: sorts [b, c] to [c, b], then merges [a] with it: a <= c.
        let a = Some(ip("0.0.0.0"));
        let b = Some(ip("128.0.0.1"));
        let c = Some(ip("64.0.0.0"));
        assert!(addr_cmp(Some(AF_INET), a, b) > 0);
        assert!(addr_cmp(Some(AF_INET), b, c) > 0);
        assert!(addr_cmp(Some(AF_INET), a, c) < 0);
        let mut v = [a, b, c];
        glibc_msort(&mut v, |x, y| addr_cmp(Some(AF_INET), x, y));
        assert_eq!(v, [a, c, b]);
        // And a plain case sorts.
        let mut n = [5, 3, 9, 1, 1, 0, 7];
        glibc_msort(&mut n, |x: i32, y: i32| x - y);
        assert_eq!(n, [0, 1, 1, 3, 5, 7, 9]);
    }

    #[test]
    fn names_are_cut_like_ipvsadm_buffers() {
        // Only reachable with odd inputs (an IPv4 family with an IPv6 address in the table).
        let long = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff";
        let mut s = svc(IPPROTO_TCP, long, 65535, "rr", 0);
        s.af = Some(AF_INET);
        assert_eq!(service_name(&s), "TCP  2001:db8:aaaa:bbbb:cccc:dddd");
        let mut d = dst(long, 65535, 0, 1, 0, 0);
        d.addr_family = Some(AF_INET);
        assert_eq!(dest_name(&d, Some(AF_INET)), "2001:db8:aaaa:bbbb:cccc:dddd");
        d.addr_family = Some(AF_INET6);
        assert_eq!(dest_name(&d, None), format!("[{long}]:65535"));
    }

    #[test]
    fn fwmark_and_mh_flags_and_missing_values() {
        let mut s = IpvsService {
            af: Some(AF_INET),
            fwmark: Some(0x8000_0001),
            scheduler: Some("mh".into()),
            flags: Some(IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_PERSISTENT),
            ..Default::default()
        };
        // "%d" of a mark above 2^31; no timeout known; netmask absent reads as 0.0.0.0.
        assert_eq!(
            service_line(&s),
            "FWM  -2147483647 mh (mh-fallback) persistent ? mask 0.0.0.0"
        );
        s.scheduler = Some("rr".into());
        s.flags = Some(IP_VS_SVC_F_SCHED2);
        assert_eq!(service_line(&s), "FWM  -2147483647 rr (flag-2)");
    }
}
