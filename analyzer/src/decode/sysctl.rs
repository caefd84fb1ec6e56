//! Sysctls: the collector's `sysctl.txt` (`key = value`, plus `# absent: key`,
//! `# denied: key`, `# error: key: reason`, see `bundle/src/names.rs`), or plain `sysctl -a`
//! output pasted by a user.

use std::collections::BTreeMap;

use serde::Serialize;

/// One key's value, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "value", rename_all = "kebab-case")]
pub enum SysctlValue {
    /// As `sysctl` prints it (multi-value keys keep their tab separators).
    Value(String),
    /// The key does not exist on the node (e.g. `net.ipv4.vs.*` without ip_vs).
    Absent,
    Denied,
    Error(String),
}

/// Keys use dots; a `/`-separated key (`net/ipv4/ip_forward`) is accepted too.
pub fn parse_sysctls(text: &str) -> BTreeMap<String, SysctlValue> {
    let mut out = BTreeMap::new();
    let key = |k: &str| k.trim().replace('/', ".");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# absent:") {
            out.insert(key(rest), SysctlValue::Absent);
        } else if let Some(rest) = line.strip_prefix("# denied:") {
            out.insert(key(rest), SysctlValue::Denied);
        } else if let Some(rest) = line.strip_prefix("# error:") {
            let (k, why) = rest.split_once(": ").unwrap_or((rest, ""));
            out.insert(key(k), SysctlValue::Error(why.trim().to_string()));
        } else if let Some(rest) = line.strip_prefix("sysctl: permission denied on key ") {
            // `sysctl -a` run as a user reports unreadable keys on stderr like this.
            out.insert(
                key(rest.trim_matches(['\'', '"', ' '])),
                SysctlValue::Denied,
            );
        } else if line.starts_with('#') || line.starts_with(';') {
            continue;
        } else if let Some((k, v)) = line.split_once(" = ").or_else(|| line.split_once('=')) {
            let k = key(k);
            if !k.is_empty() && !k.contains(' ') {
                out.insert(k, SysctlValue::Value(v.trim_matches(' ').to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_format_and_sysctl_a() {
        let text = "net.ipv4.ip_forward = 1\n\
                    net.ipv4.ip_local_port_range = 32768\t60999\n\
                    net.bridge.bridge-nf-call-iptables = 1\n\
                    # absent: net.ipv4.vs.conntrack\n\
                    # denied: kernel.secret\n\
                    # error: net.core.x: Input/output error\n\
                    # a comment\n\
                    sysctl: permission denied on key 'fs.protected_regular'\n\
                    net/ipv4/conf/all/rp_filter=2\n\
                    not a sysctl line\n";
        let s = parse_sysctls(text);
        assert_eq!(s["net.ipv4.ip_forward"], SysctlValue::Value("1".into()));
        assert_eq!(
            s["net.ipv4.ip_local_port_range"],
            SysctlValue::Value("32768\t60999".into())
        );
        assert_eq!(s["net.ipv4.vs.conntrack"], SysctlValue::Absent);
        assert_eq!(s["kernel.secret"], SysctlValue::Denied);
        assert_eq!(
            s["net.core.x"],
            SysctlValue::Error("Input/output error".into())
        );
        assert_eq!(s["fs.protected_regular"], SysctlValue::Denied);
        assert_eq!(
            s["net.ipv4.conf.all.rp_filter"],
            SysctlValue::Value("2".into())
        );
        assert_eq!(s.len(), 8);
    }
}
