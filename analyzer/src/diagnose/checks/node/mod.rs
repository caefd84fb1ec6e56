//! Node sysctls, conntrack and host firewall.

use crate::decode::sysctl::SysctlValue;
use crate::diagnose::Check;

mod br_netfilter;
mod conntrack_full;
mod ip_forward;
mod rp_filter;
mod sysctl_files;

pub const CHECKS: &[Check] = &[
    ip_forward::CHECK,
    br_netfilter::CHECK,
    rp_filter::CHECK,
    conntrack_full::CHECK,
];

/// Why a sysctl has no value, as a phrase after its key.
fn unreadable(v: &SysctlValue) -> String {
    match v {
        SysctlValue::Value(_) => "was read".to_string(),
        SysctlValue::Absent => "does not exist on the node".to_string(),
        SysctlValue::Denied => "could not be read (permission denied)".to_string(),
        SysctlValue::Error(e) => format!("could not be read ({e})"),
    }
}

/// The 1-based line of `key = ...` in `sysctl.txt`, as a locator.
fn sysctl_line(text: &str, key: &str) -> String {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || l.strip_prefix("# absent: ")
                    .is_some_and(|k| k.trim() == key)
        })
        .map_or_else(|| "key".to_string(), |n| format!("line {}", n + 1))
}
