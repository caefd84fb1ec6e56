//! C25: the conntrack table is full. Every Service connection needs a conntrack entry (kube-
//! proxy's DNAT and IPVS with `net.ipv4.vs.conntrack=1` both do); when the table holds
//! `nf_conntrack_max` entries and none can be evicted early, `__nf_conntrack_alloc` fails,
//! the packet is dropped and the kernel logs "nf_conntrack: table full, dropping packet"
//! (net/netfilter/nf_conntrack_core.c, rate limited; the module's pr_fmt prefix doubles the
//! "nf_conntrack: " in the log). `conntrack -S` counts `drop` and `early_drop` per CPU.
//! kubernetes#18604, #71261, #97377.

use netsnap_bundle::names;

use super::sysctl_line;
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "conntrack-table-full",
    catalog: "C25",
    title: "conntrack table full: new connections dropped",
    layer: Layer::Node,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/18604",
        "https://github.com/kubernetes/kubernetes/issues/71261",
        "https://github.com/kubernetes/kubernetes/issues/97377",
    ],
    evidence: "`kmsg.txt` \"nf_conntrack: table full, dropping packet\"; `sysctl.txt` `nf_conntrack_count` against `nf_conntrack_max`; `commands/conntrack-S.txt` `drop`/`early_drop` counters.",
    fix: "Raise `net.netfilter.nf_conntrack_max` (kube-proxy `conntrack.maxPerCore` sets it at start), then look for what fills the table.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const MAX: &str = "net.netfilter.nf_conntrack_max";
const COUNT: &str = "net.netfilter.nf_conntrack_count";
const TABLE_FULL: &str = "table full, dropping packet";
/// Filled to this share of the maximum counts as "near the maximum".
const NEAR_FULL: f64 = 0.9;

/// Sums of `conntrack -S` counters over all CPUs: (drop, early_drop).
pub fn conntrack_stat_drops(text: &str) -> (u64, u64) {
    let mut drop = 0u64;
    let mut early = 0u64;
    for token in text.split_whitespace() {
        let Some((k, v)) = token.split_once('=') else {
            continue;
        };
        let Ok(n) = v.parse::<u64>() else { continue };
        match k {
            "drop" => drop = drop.saturating_add(n),
            "early_drop" => early = early.saturating_add(n),
            _ => {}
        }
    }
    (drop, early)
}

fn run(cx: &Context<'_>) -> Verdicts {
    let kmsg = cx.node.text(names::KMSG).ok();
    let log_lines: Vec<(usize, String)> = kmsg
        .as_deref()
        .unwrap_or_default()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(TABLE_FULL))
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .collect();
    let num = |k: &str| cx.node.sysctl(k).and_then(|v| v.trim().parse::<u64>().ok());
    let (max, count) = (num(MAX), num(COUNT));
    let near_full = match (count, max) {
        (Some(c), Some(m)) if m > 0 => (c as f64) >= (m as f64) * NEAR_FULL,
        _ => false,
    };
    let stats = cx.node.text(&names::command_artifact("conntrack-S")).ok();
    let (drops, early_drops) = stats.as_deref().map_or((0, 0), conntrack_stat_drops);
    if log_lines.is_empty() && !near_full {
        if kmsg.is_none() && max.is_none() && stats.is_none() {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "whether the conntrack table overflows",
                "neither the kernel log, the conntrack sysctls nor conntrack -S were collected",
                Some("dmesg | grep 'table full'; sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max"),
            ));
        }
        // Drop counters alone have other causes (invalid packets, helpers): not a finding.
        let mut ev = Vec::new();
        if kmsg.is_some() {
            ev.push(Evidence::new(
                names::KMSG,
                "whole log",
                format!("no \"{TABLE_FULL}\" line"),
            ));
        }
        if let (Some(c), Some(m)) = (count, max) {
            ev.push(Evidence::new(
                names::SYSCTLS,
                COUNT,
                format!("{COUNT} = {c}, {MAX} = {m}"),
            ));
        }
        let why = match (kmsg.is_some(), max.is_some()) {
            (true, true) => {
                "the conntrack table is not near full and the kernel log shows no overflow"
            }
            (true, false) => {
                "the kernel log shows no conntrack overflow (the table's fill was not read)"
            }
            (false, true) => {
                "the conntrack table is not near full (the kernel log was not collected)"
            }
            (false, false) => {
                "conntrack -S alone shows no overflow (drop counters have other causes too)"
            }
        };
        return Verdicts::clear(why, ev);
    }
    let (severity, confidence) = match (!log_lines.is_empty(), near_full) {
        (true, true) => (Severity::Error, Confidence::High),
        (true, false) => (Severity::Warning, Confidence::High),
        _ => (Severity::Warning, Confidence::Medium),
    };
    let summary = match (count, max) {
        (Some(c), Some(m)) if near_full => {
            format!("The conntrack table is full ({c} of {m} entries): new connections are dropped")
        }
        _ => format!(
            "The kernel dropped packets because the conntrack table was full ({} log lines)",
            log_lines.len()
        ),
    };
    let mut f = cx.finding(&INFO, severity, confidence, summary);
    f.detail = "Each new connection through a Service needs a conntrack entry. While the table \
        is full the kernel drops the first packet of new connections, so Service calls fail \
        intermittently under load while established ones keep working."
        .to_string();
    if !log_lines.is_empty() && !near_full {
        f.detail.push_str(
            " The table is not full at the moment of the snapshot: it overflowed earlier, and \
             will again under the same load.",
        );
    }
    for (n, l) in log_lines.iter().take(3) {
        f.evidence
            .push(Evidence::new(names::KMSG, format!("line {n}"), l.clone()));
    }
    if log_lines.len() > 3 {
        f.evidence.push(Evidence::new(
            names::KMSG,
            "whole file",
            format!("{} lines say \"{TABLE_FULL}\"", log_lines.len()),
        ));
    }
    let sysctl_text = cx.node.text(names::SYSCTLS).unwrap_or_default();
    if let (Some(c), Some(m)) = (count, max) {
        f.evidence.push(Evidence::new(
            names::SYSCTLS,
            sysctl_line(&sysctl_text, COUNT),
            format!("{COUNT} = {c} ({MAX} = {m})"),
        ));
    }
    if drops > 0 || early_drops > 0 {
        f.evidence.push(Evidence::new(
            names::command_artifact("conntrack-S"),
            "all CPUs",
            format!("drop={drops} early_drop={early_drops}"),
        ));
    }
    if let Some(m) = max {
        let new_max = m.saturating_mul(2).max(131_072);
        f.fix.push(FixStep::new(
            format!("Raise the table size (now {m}) to {new_max}, now and at boot."),
            vec![
                format!("sysctl -w {MAX}={new_max}"),
                format!("echo '{MAX} = {new_max}' > /etc/sysctl.d/90-netsnap-conntrack.conf"),
            ],
            FixAction::SetSysctl {
                key: MAX.to_string(),
                value: new_max.to_string(),
            },
        ));
    }
    f.fix.push(FixStep::manual(
        "kube-proxy sizes nf_conntrack_max from conntrack.maxPerCore x CPUs (at least \
         conntrack.min) when it starts: keep its ConfigMap in line with the new value. Then find \
         what fills the table (`conntrack -L | awk '{print $3}' | sort | uniq -c`).",
    ));
    Verdicts::found(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_drop_counters_over_cpus() {
        let text = "cpu=0   \tfound=0 invalid=3 insert=0 insert_failed=2 drop=5 early_drop=1 error=0 search_restart=0\n\
                    cpu=1   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=7 early_drop=0 error=0 search_restart=0\n";
        assert_eq!(conntrack_stat_drops(text), (12, 1));
        assert_eq!(conntrack_stat_drops("drop=x early_drop=\n"), (0, 0));
    }
}
