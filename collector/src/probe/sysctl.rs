//! Selected sysctls a Service-debugging SRE asks for first, in the `key = value` format of
//! procps `sysctl` (see `names::SYSCTLS`):
//!
//! - forwarding: `net.ipv4.ip_forward`, `net.ipv6.conf.{all,default}.{forwarding,disable_ipv6}`;
//! - per interface (`all`, `default` and every entry of `/proc/sys/net/ipv4/conf`):
//!   `rp_filter`, `forwarding`, `accept_local`, `route_localnet` (NodePort on 127.0.0.1),
//!   `arp_ignore`, `arp_announce` (IPVS VIPs on kube-ipvs0), `src_valid_mark` (Calico),
//!   `proxy_arp`, `log_martians`;
//! - bridge netfilter: `net.bridge.bridge-nf-call-{iptables,ip6tables,arptables}` (absent when
//!   br_netfilter is not loaded, which is itself evidence);
//! - every `net.ipv4.vs.*` (`conntrack`, `conn_reuse_mode`, `expire_nodest_conn`, ...);
//! - conntrack: `net.netfilter.nf_conntrack_{max,count,buckets,tcp_be_liberal,tcp_loose}`;
//! - ports and binding: `net.ipv4.ip_local_port_range`, `net.ipv4.ip_local_reserved_ports`,
//!   `net.ipv4.ip_nonlocal_bind`, `net.ipv6.ip_nonlocal_bind`, `net.core.somaxconn`.
//!
//! As procps does, a `.` inside one path component (an interface called `vxlan.calico`) is
//! shown as `/`: `net.ipv4.conf.vxlan/calico.rp_filter`. Reading sysctls never loads modules.

use std::fs;
use std::io;
use std::time::Instant;

use netsnap_bundle::{names, Source};

use super::io_status;
use crate::collect::{cap, Ctx, Record};

const CONF_KEYS: &[&str] = &[
    "rp_filter",
    "forwarding",
    "accept_local",
    "route_localnet",
    "arp_ignore",
    "arp_announce",
    "src_valid_mark",
    "proxy_arp",
    "log_martians",
];

const FIXED: &[&str] = &[
    "net/ipv4/ip_forward",
    "net/ipv6/conf/all/forwarding",
    "net/ipv6/conf/all/disable_ipv6",
    "net/ipv6/conf/default/forwarding",
    "net/ipv6/conf/default/disable_ipv6",
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
    "net/bridge/bridge-nf-call-arptables",
    "net/netfilter/nf_conntrack_max",
    "net/netfilter/nf_conntrack_count",
    "net/netfilter/nf_conntrack_buckets",
    "net/netfilter/nf_conntrack_tcp_be_liberal",
    "net/netfilter/nf_conntrack_tcp_loose",
    "net/ipv4/ip_local_port_range",
    "net/ipv4/ip_local_reserved_ports",
    "net/ipv4/ip_nonlocal_bind",
    "net/ipv6/ip_nonlocal_bind",
    "net/core/somaxconn",
];

fn source() -> Source {
    Source::Files {
        paths: vec![
            "/proc/sys/net/core".into(),
            "/proc/sys/net/bridge".into(),
            "/proc/sys/net/ipv4".into(),
            "/proc/sys/net/ipv6".into(),
            "/proc/sys/net/netfilter".into(),
        ],
    }
}

pub fn planned() -> Vec<(String, Source)> {
    vec![(names::SYSCTLS.to_string(), source())]
}

/// The sysctl key for a path below `/proc/sys` (`net/ipv4/conf/vxlan.calico/rp_filter` ->
/// `net.ipv4.conf.vxlan/calico.rp_filter`).
pub fn key_of(rel: &str) -> String {
    rel.split('/')
        .map(|c| c.replace('.', "/"))
        .collect::<Vec<_>>()
        .join(".")
}

/// One line for a sysctl read result.
pub fn line(rel: &str, result: &io::Result<String>) -> String {
    let key = key_of(rel);
    match result {
        Ok(v) => format!("{key} = {}\n", v.trim_end_matches('\n')),
        Err(e) => match io_status(e) {
            netsnap_bundle::Status::Absent => format!("# absent: {key}\n"),
            netsnap_bundle::Status::Denied => format!("# denied: {key}\n"),
            _ => format!("# error: {key}: {e}\n"),
        },
    }
}

fn sorted_dir(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Every key to read, relative to `/proc/sys`, in output order.
fn keys() -> Vec<String> {
    let mut keys: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
    let mut ifaces = vec!["all".to_string(), "default".to_string()];
    ifaces.extend(
        sorted_dir("/proc/sys/net/ipv4/conf")
            .into_iter()
            .filter(|n| n != "all" && n != "default"),
    );
    for i in ifaces {
        for k in CONF_KEYS {
            keys.push(format!("net/ipv4/conf/{i}/{k}"));
        }
    }
    for k in sorted_dir("/proc/sys/net/ipv4/vs") {
        keys.push(format!("net/ipv4/vs/{k}"));
    }
    keys
}

pub fn probe(ctx: &Ctx) {
    let started = Instant::now();
    let mut text = String::new();
    for rel in keys() {
        if ctx.expired() {
            break;
        }
        let result = fs::read_to_string(format!("/proc/sys/{rel}"));
        text.push_str(&line(&rel, &result));
    }
    ctx.put(Record::stored(
        names::SYSCTLS,
        source(),
        text.into_bytes(),
        cap::TEXT,
        started,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_lines_match_procps() {
        assert_eq!(
            key_of("net/ipv4/conf/vxlan.calico/rp_filter"),
            "net.ipv4.conf.vxlan/calico.rp_filter"
        );
        assert_eq!(
            line("net/ipv4/ip_local_port_range", &Ok("32768\t60999\n".into())),
            "net.ipv4.ip_local_port_range = 32768\t60999\n"
        );
        let absent = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(
            line("net/bridge/bridge-nf-call-iptables", &Err(absent)),
            "# absent: net.bridge.bridge-nf-call-iptables\n"
        );
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(
            line("net/ipv4/vs/conntrack", &Err(denied)),
            "# denied: net.ipv4.vs.conntrack\n"
        );
    }
}
