//! The proxy mode in effect, against the configured one (failure catalog part 3, rule 1). Each
//! mode leaves its own signature: IPVS virtual servers for the ClusterIPs (`ipvs`),
//! `KUBE-SVC-*`/`KUBE-SEP-*` chains in the nat table (`iptables`), the `ip kube-proxy` nftables
//! table (`nftables`), and kube-proxy logs `Using <mode> Proxier` at start. kube-proxy up to
//! v1.25 fell back from IPVS to iptables silently (PR #111806 removed that); a mode switch
//! without a reboot or `kube-proxy --cleanup` leaves the old mode's state behind, where it keeps
//! intercepting Service traffic (`pkg/proxy/{iptables,ipvs,nftables}/proxier.go`
//! `CleanupLeftovers`).

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::diagnose::checks::proxy::kube_proxy::{log_evidence, log_lines};
use crate::diagnose::checks::{list_capped, restart_kube_proxy, Check, CheckInfo};
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};
use netsnap_bundle::names;

pub const INFO: CheckInfo = CheckInfo {
    id: "proxy-mode-mismatch",
    catalog: "",
    title: "The proxy mode in effect differs from the configured one, or another mode's state is left over",
    layer: Layer::Proxy,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/pull/111806",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/ipvs/README.md",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/nftables/README.md",
    ],
    evidence: "Configured mode (ConfigMap or `--proxy-mode`) against IPVS virtual servers on Service ClusterIPs, `KUBE-SVC-*`/`KUBE-SEP-*` chains in the iptables dumps, the `ip kube-proxy` nftables table, and the kube-proxy log's `Using ... Proxier` line.",
    fix: "Make kube-proxy run the configured mode (fix what made it fall back), and remove the other mode's leftovers with `kube-proxy --cleanup` or a reboot.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const MODES: &[&str] = &["ipvs", "iptables", "nftables"];
const IPTABLES_MODE_PREFIXES: &[&str] = &[
    "KUBE-SVC-",
    "KUBE-SEP-",
    "KUBE-SVL-",
    "KUBE-EXT-",
    "KUBE-XLB-",
];

/// What each mode left on the node: evidence per mode that shows state of that mode.
fn observed(cx: &Context<'_>) -> Vec<(&'static str, Evidence)> {
    let mut seen = Vec::new();
    let cluster_ips: BTreeSet<IpAddr> = cx
        .cluster
        .state
        .services
        .iter()
        .flat_map(|s| {
            s.spec
                .cluster_ips
                .iter()
                .chain(std::iter::once(&s.spec.cluster_ip))
        })
        .filter_map(|ip| ip.parse().ok())
        .collect();
    if let Ok(t) = &cx.node.ipvs {
        let on_cluster_ips: Vec<String> = t
            .services
            .iter()
            .filter_map(|vs| {
                let a = vs.service.addr?;
                cluster_ips
                    .contains(&a)
                    .then(|| format!("{a}:{}", vs.service.port.unwrap_or(0)))
            })
            .collect();
        if !on_cluster_ips.is_empty() {
            seen.push((
                "ipvs",
                Evidence::new(
                    names::IPVS_SERVICES,
                    "IPVS table",
                    format!(
                        "{} virtual servers on Service ClusterIPs: {}",
                        on_cluster_ips.len(),
                        list_capped(&on_cluster_ips, 3)
                    ),
                ),
            ));
        }
    }
    for d in cx.node.iptables() {
        let chains: Vec<&str> = d
            .save
            .table("nat")
            .map(|t| {
                t.chains
                    .iter()
                    .map(|c| c.name.as_str())
                    .filter(|n| IPTABLES_MODE_PREFIXES.iter().any(|p| n.starts_with(p)))
                    .collect()
            })
            .unwrap_or_default();
        if !chains.is_empty() {
            seen.push((
                "iptables",
                Evidence::new(
                    d.artifact.clone(),
                    "nat table",
                    format!(
                        "{} iptables-mode chains: {}",
                        chains.len(),
                        list_capped(&chains, 4)
                    ),
                ),
            ));
            break;
        }
    }
    if let Ok(rs) = cx.node.nft() {
        for family in ["ip", "ip6"] {
            if rs.table(family, "kube-proxy").is_some() {
                seen.push((
                    "nftables",
                    Evidence::new(
                        names::command_artifact("nft-j-list-ruleset"),
                        format!("table {family} kube-proxy"),
                        format!(
                            "table {family} kube-proxy with {} chains",
                            rs.chains_of(family, "kube-proxy").count()
                        ),
                    ),
                ));
                break;
            }
        }
    }
    seen
}

/// The mode kube-proxy says it uses, from its newest `Using ... Proxier` line on this node.
fn logged_mode(cx: &Context<'_>) -> Option<(&'static str, Evidence)> {
    let lines = log_lines(cx, &["Proxier"]);
    lines.iter().rev().find_map(|(n, l)| {
        let lower = l.to_ascii_lowercase();
        MODES
            .iter()
            .find(|m| lower.contains(&format!("using {m} proxier")))
            .map(|m| (*m, log_evidence(*n, l)))
    })
}

fn run(cx: &Context<'_>) -> Verdicts {
    let Some(configured) = &cx.proxy_mode else {
        return Verdicts::clear(
            "not judged: kube-proxy's configured mode is not known, so there is nothing to \
             compare the node's rules with",
            Vec::new(),
        );
    };
    let want = configured.mode.as_str();
    if !MODES.contains(&want) {
        return Verdicts::clear(
            format!(
                "not judged: kube-proxy's configured mode {want:?} is not one this check knows"
            ),
            vec![configured.evidence.clone()],
        );
    }
    let seen = observed(cx);
    let logged = logged_mode(cx);
    let has = |m: &str| seen.iter().any(|(s, _)| *s == m);
    let others: Vec<&(&str, Evidence)> = seen.iter().filter(|(m, _)| *m != want).collect();
    let log_other = logged.as_ref().filter(|(m, _)| *m != want);
    if others.is_empty() && log_other.is_none() {
        let mut ev = vec![configured.evidence.clone()];
        ev.extend(seen.iter().map(|(_, e)| e.clone()));
        return Verdicts::clear(
            format!("the node's rules and kube-proxy's log agree with the configured {want} mode"),
            ev,
        );
    }
    let (severity, confidence, summary) = if let Some((m, _)) = log_other {
        (
            Severity::Error,
            Confidence::High,
            format!("kube-proxy is configured for {want} mode but runs in {m} mode"),
        )
    } else if !has(want) {
        let modes: Vec<&str> = others.iter().map(|(m, _)| *m).collect();
        (
            Severity::Warning,
            Confidence::Medium,
            format!(
                "kube-proxy is configured for {want} mode, but only {} state is programmed on \
                 this node",
                modes.join(" and ")
            ),
        )
    } else {
        let modes: Vec<&str> = others.iter().map(|(m, _)| *m).collect();
        (
            Severity::Warning,
            Confidence::High,
            format!(
                "{} state is left over next to kube-proxy's {want} rules",
                modes.join(" and ")
            ),
        )
    };
    let mut f = cx.finding(&INFO, severity, confidence, summary);
    f.detail = "Each proxy mode programs its own dataplane and removes other modes' leftovers \
        only at start-up. A fallback (IPVS to iptables up to v1.25) means the configured mode \
        is not what serves traffic, and leftovers of a previous mode keep matching Service \
        addresses: iptables KUBE-SVC chains DNAT to endpoints that no longer exist, and IPVS \
        virtual servers on kube-ipvs0 addresses answer for Services the other mode now handles."
        .to_string();
    f.evidence.push(configured.evidence.clone());
    for (_, ev) in &seen {
        f.evidence.push(ev.clone());
    }
    if let Some((_, ev)) = &logged {
        f.evidence.push(ev.clone());
    }
    if log_other.is_some() || !has(want) {
        f.fix.push(FixStep::manual(format!(
            "Find out why kube-proxy does not run in {want} mode (its start-up log explains the \
             fallback: missing kernel modules or tools for that mode) and fix that first."
        )));
    }
    for (m, _) in &others {
        f.fix.push(FixStep::manual(match *m {
            "iptables" => "Remove iptables-mode leftovers: run kube-proxy --cleanup on the node \
                (with the same iptables backend) or reboot it, then let kube-proxy resync."
                .to_string(),
            "ipvs" => "Remove IPVS leftovers: ipvsadm -C clears the virtual servers and ip link \
                delete kube-ipvs0 the Service addresses (or kube-proxy --cleanup, or a reboot)."
                .to_string(),
            _ => "Remove nftables leftovers: nft delete table ip kube-proxy (and ip6 kube-proxy), \
                or kube-proxy --cleanup."
                .to_string(),
        }));
    }
    f.fix.push(restart_kube_proxy(
        cx,
        "Restart kube-proxy on this node afterwards.",
    ));
    Verdicts::found(f)
}
