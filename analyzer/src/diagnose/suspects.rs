//! Suspects: when the evidence shows a symptom (a probe that timed out or was refused, a
//! component's error) but no check could prove its cause, the catalog entries that would
//! explain it, ranked, each with the one command whose output would settle it.
//!
//! The mapping is by the symptom's shape, from the catalog and upstream behaviour, not case by
//! case: what answers a connection with a reset (nothing listens or a REJECT rule: no
//! endpoints, kube-proxy not programming the port) differs from what drops it silently (a
//! firewall, the overlay, forwarding, reverse-path filtering). Facts the evidence establishes
//! rule entries out (ip_forward is 1, the proxy mode is not IPVS) or raise them (a component
//! message that supports the entry).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::decode::modules::ModuleStatus;
use crate::diagnose::catalog;
use crate::diagnose::{Context, Evidence, Finding, NotConcluded, Severity};
use crate::observe::{FactKind, Observation};
use crate::signatures;

/// The id of every suspect note.
pub const SUSPECT_ID: &str = "suspect";

/// At most this many suspects are named per node.
const MAX_SUSPECTS: usize = 6;

/// What kind of address a failed probe aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    NodePort,
    ClusterIp,
    LoadBalancer,
    Pod,
    /// A Service's DNS name or the cluster DNS.
    Dns,
    Unknown,
}

impl Target {
    fn describe(self) -> &'static str {
        match self {
            Target::NodePort => "a NodePort",
            Target::ClusterIp => "a ClusterIP",
            Target::LoadBalancer => "a LoadBalancer or external IP",
            Target::Pod => "a pod address",
            Target::Dns => "cluster DNS",
            Target::Unknown => "a Service",
        }
    }
}

/// How a probe failed, as far as the suspects go: a silent drop, or an answer that refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Dropped,
    Refused,
}

/// The catalog entries that explain a symptom, most likely first (failure catalog, part 2,
/// with part 3's order: what stops kube-proxy first, then the node, then the overlay).
fn candidates(target: Target, outcome: Outcome) -> &'static [&'static str] {
    use Outcome::{Dropped, Refused};
    match (target, outcome) {
        // A reset: nothing listens and no rule takes the port (kube-proxy did not program it,
        // or not on this address), or kube-proxy's REJECT for a Service without endpoints
        // (iptables/nftables modes), or the pod's application refused.
        (Target::NodePort, Refused) => &["C16", "C06", "C01", "C10", "C18", "C11", "C17", "C19"],
        (Target::ClusterIp | Target::Unknown, Refused) => {
            &["C16", "C18", "C06", "C01", "C17", "C09", "C05"]
        }
        (Target::LoadBalancer, Refused) => &["C16", "C12", "C18", "C06", "C01", "C19"],
        (Target::Pod, Refused) => &["C18", "C17"],
        (Target::Dns, Refused) => &["C16", "C17", "C06"],
        (Target::NodePort, Dropped) => &[
            "C26", "C19", "C28", "C14", "C23", "C01", "C22", "C24", "C21", "C37", "C29", "C30",
            "C31", "C32", "C36", "C27",
        ],
        (Target::ClusterIp | Target::Unknown, Dropped) => &[
            "C28", "C22", "C23", "C37", "C29", "C30", "C31", "C01", "C24", "C21", "C38", "C32",
            "C26", "C34", "C35", "C27",
        ],
        (Target::LoadBalancer, Dropped) => {
            &["C13", "C19", "C26", "C12", "C28", "C23", "C24", "C27"]
        }
        (Target::Pod, Dropped) => &[
            "C28", "C37", "C29", "C30", "C31", "C32", "C23", "C21", "C24", "C34", "C35", "C33",
            "C40", "C26", "C27",
        ],
        (Target::Dns, Dropped) => &[
            "C22", "C28", "C23", "C37", "C29", "C30", "C31", "C24", "C38", "C01", "C26", "C27",
        ],
    }
}

/// The command whose output settles whether a catalog entry is the cause.
fn settle(entry: &str) -> &'static str {
    match entry {
        "C01" => "lsmod | grep -e ip_vs -e nf_conntrack; kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i -e ipvs -e modul",
        "C02" => "grep ip_vs /lib/modules/$(uname -r)/modules.builtin",
        "C03" => "kubectl -n kube-system get configmap kube-proxy -o yaml | grep -i scheduler; lsmod | grep ip_vs_",
        "C04" => "kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i modprobe",
        "C05" => "kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i ipset; lsmod | grep ip_set",
        "C06" => "kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide",
        "C07" => "kubectl get nodes -o wide; hostname; kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i node",
        "C08" => "iptables --version; iptables-legacy-save | grep -c KUBE; iptables-nft-save | grep -c KUBE",
        "C09" => "kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i iptables-restore",
        "C10" => "kubectl -n kube-system get configmap kube-proxy -o yaml | grep -A3 nodePortAddresses",
        "C11" => "ipvsadm -Ln | grep 127.0.0.1; curl -m 5 http://<node address>:<nodePort>",
        "C12" => "kubectl get svc -A -o wide | grep -v '<none>'; ip -br addr",
        "C13" => "kubectl -n kube-system get configmap kube-proxy -o yaml | grep strictARP",
        "C14" => "iptables -S INPUT | head -5; ipvsadm -Ln",
        "C15" => "sysctl net.ipv4.vs.conn_reuse_mode net.ipv4.vs.expire_nodest_conn",
        "C16" => "kubectl get endpointslices -A -l kubernetes.io/service-name=<service>; kubectl get svc <service> -o yaml (selector)",
        "C17" => "kubectl get pods -o wide; kubectl describe pod <pod> (Readiness)",
        "C18" => "kubectl get svc <service> -o yaml (targetPort); kubectl exec <pod> -- ss -ltnp",
        "C19" => "kubectl get svc <service> -o jsonpath='{.spec.externalTrafficPolicy}'; kubectl get pods -o wide",
        "C20" => "kubectl get svc <service> -o yaml (nodePort); grep service-node-port-range /etc/kubernetes/manifests/kube-apiserver.yaml",
        "C21" => "sysctl net.ipv4.ip_forward",
        "C22" => "lsmod | grep br_netfilter; sysctl net.bridge.bridge-nf-call-iptables",
        "C23" => "iptables -S FORWARD | head -5",
        "C24" => "sysctl -a 2>/dev/null | grep '\\.rp_filter'",
        "C25" => "dmesg | grep 'table full'; sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max",
        "C26" => "systemctl is-active firewalld ufw; iptables -S INPUT | head -5; nft list ruleset | head -50",
        "C27" => "tcpdump -ni any 'ip proto 4 or udp port 4789 or udp port 8472 or tcp portrange 30000-32767' on both nodes while reproducing; the cloud's security groups",
        "C28" => "kubectl get ippools -o yaml | grep -e cidr -e ipipMode -e vxlanMode; ip -d link show tunl0; ip route | grep tunl0",
        "C29" => "kubectl -n kube-system logs -l k8s-app=calico-node --tail=500 | grep -i autodetect; kubectl get nodes -o yaml | grep projectcalico.org/IPv4Address",
        "C30" => "calicoctl node status",
        "C31" => "ethtool -k flannel.1 | grep tx-checksum; ethtool -k vxlan.calico | grep tx-checksum",
        "C32" => "ip -d link | grep -e mtu -e vxlan -e ipip; ping -M do -s 1472 <other node address>",
        "C33" => "nmcli device status; ls /etc/NetworkManager/conf.d/",
        "C34" => "kubectl get nodes -o jsonpath='{..podCIDR}'; ip -br addr; ip route",
        "C35" => "kubectl -n kube-system get configmap kubeadm-config -o yaml | grep -i subnet; cat /etc/cni/net.d/*; kubectl get ippools -o yaml",
        "C36" => "kubectl get felixconfiguration default -o yaml | grep -i kubeNodePortRanges",
        "C37" => "kubectl -n kube-flannel logs -l app=flannel --tail=200 | grep -i interface; ip -d link show flannel.1",
        "C38" => "iptables -t nat -S POSTROUTING",
        "C39" => "cilium status --verbose | grep -A6 KubeProxyReplacement",
        "C40" => "ip -d link show vxlan.calico; kubectl get felixconfiguration default -o yaml",
        "C41" => "uname -r; kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200 | grep -i ipvs",
        _ => "netsnap-collect on the node (a whole bundle settles most entries at once)",
    }
}

/// Catalog entries that only apply to kube-proxy's IPVS mode.
const IPVS_ONLY: &[&str] = &[
    "C01", "C02", "C03", "C05", "C11", "C12", "C13", "C14", "C15", "C41",
];
/// Catalog entries of Calico, and of flannel.
const CALICO: &[&str] = &["C28", "C29", "C30", "C36", "C40"];
const FLANNEL: &[&str] = &["C37", "C38"];

/// One symptom: what failed, where it was seen.
#[derive(Debug, Clone)]
struct Symptom {
    target: Target,
    outcome: Outcome,
    what: String,
    evidence: Evidence,
}

/// Why an entry is out of the running, from the facts at hand; None when it stays in.
fn ruled_out(cx: &Context<'_>, entry: &str, found: &[Finding]) -> Option<String> {
    if found
        .iter()
        .any(|f| f.catalog == entry && f.severity != Severity::Info)
    {
        return Some("reported as a finding".to_string());
    }
    let mode = cx.proxy_mode.as_ref().map(|m| m.mode.as_str());
    if IPVS_ONLY.contains(&entry) && mode.is_some_and(|m| m != "ipvs") {
        return Some(format!(
            "kube-proxy runs in {} mode",
            mode.unwrap_or_default()
        ));
    }
    let sysctl_is = |key: &str, v: &str| cx.node.sysctl(key) == Some(v);
    let loaded = |m: &str| {
        matches!(
            cx.node.module(m),
            ModuleStatus::Loaded { .. } | ModuleStatus::BuiltIn { .. }
        )
    };
    let out = match entry {
        "C01" => mode == Some("ipvs") && loaded("ip_vs"),
        "C21" => sysctl_is("net.ipv4.ip_forward", "1"),
        "C22" => loaded("br_netfilter") && sysctl_is("net.bridge.bridge-nf-call-iptables", "1"),
        _ => false,
    };
    if out {
        return Some("the evidence shows it is not the case".to_string());
    }
    let cni = cni_seen(cx);
    if !cni.is_empty() {
        if CALICO.contains(&entry) && !cni.contains(&"calico") {
            return Some(format!("the CNI is {}", cni.join(", ")));
        }
        if FLANNEL.contains(&entry) && !cni.contains(&"flannel") {
            return Some(format!("the CNI is {}", cni.join(", ")));
        }
    }
    None
}

/// The CNIs the evidence shows (links, pools, component messages).
fn cni_seen(cx: &Context<'_>) -> Vec<&'static str> {
    let mut out = Vec::new();
    let links: Vec<&str> = cx
        .node
        .links
        .as_ref()
        .map(|l| l.iter().map(|l| l.ifname()).collect())
        .unwrap_or_default();
    let has_link = |p: &str| links.iter().any(|l| l.starts_with(p));
    if !cx.cluster.state.ip_pools.is_empty()
        || has_link("cali")
        || has_link("vxlan.calico")
        || cx.node.observations.iter().any(|o| {
            o.signature
                .is_some_and(|s| s.starts_with("calico") || s.starts_with("bird"))
        })
    {
        out.push("calico");
    }
    if has_link("flannel")
        || cx
            .node
            .observations
            .iter()
            .any(|o| o.kind == FactKind::FlannelInterface || o.kind == FactKind::FlannelBackend)
    {
        out.push("flannel");
    }
    if has_link("cilium") {
        out.push("cilium");
    }
    out
}

/// What kind of address `subject` (`addr:port`, `addr`, a URL) is, from the cluster's objects.
fn classify(cx: &Context<'_>, subject: &str) -> Target {
    let (host, port) = host_port(subject);
    let ip: Option<IpAddr> = host.parse().ok();
    let state = &cx.cluster.state;
    if port == Some(53) || host.ends_with(".svc.cluster.local") || host.contains("kube-dns") {
        return Target::Dns;
    }
    if let Some(ip) = ip {
        let is = |s: &str| s.parse::<IpAddr>().ok() == Some(ip);
        for s in &state.services {
            if is(&s.spec.cluster_ip) || s.spec.cluster_ips.iter().any(|a| is(a)) {
                return Target::ClusterIp;
            }
            if s.spec.external_ips.iter().any(|a| is(a))
                || is(&s.spec.load_balancer_ip)
                || s.status.load_balancer.ingress.iter().any(|i| is(&i.ip))
            {
                return Target::LoadBalancer;
            }
        }
        if state
            .pods
            .iter()
            .any(|p| p.status.pod_ips.iter().any(|a| is(&a.ip)) || is(&p.status.pod_ip))
        {
            return Target::Pod;
        }
    }
    if port.is_some_and(|p| (30000..=32767).contains(&p)) {
        return Target::NodePort;
    }
    if host.contains(".svc") {
        return Target::ClusterIp;
    }
    if let Some(IpAddr::V4(v4)) = ip {
        // kubeadm's defaults: 10.96.0.0/12 for Services, 10.244.0.0/16 (flannel) and
        // 192.168.0.0/16 (Calico) for pods; only a hint when the objects were not pasted.
        let o = v4.octets();
        if o[0] == 10 && (96..112).contains(&o[1]) {
            return Target::ClusterIp;
        }
        if o[0] == 10 && o[1] == 244 {
            return Target::Pod;
        }
    }
    Target::Unknown
}

/// `10.0.0.1:80`, `[fd00::1]:80`, `http://x:80/path`, `x port 80` → (host, port).
fn host_port(subject: &str) -> (String, Option<u16>) {
    let s = subject
        .trim()
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let s = s.split('/').next().unwrap_or(s);
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once(']') {
            return (h.to_string(), p.trim_start_matches(':').parse().ok());
        }
    }
    if let Some((h, p)) = s.split_once(" port ") {
        return (h.to_string(), p.trim().parse().ok());
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h.to_string(), p.parse().ok()),
        _ => (s.to_string(), None),
    }
}

fn symptoms(cx: &Context<'_>) -> Vec<Symptom> {
    cx.node
        .observed(FactKind::ProbeFailed)
        .map(|o| {
            let outcome = match o.value.as_str() {
                "refused" | "reset" => Outcome::Refused,
                _ => Outcome::Dropped,
            };
            let target = classify(cx, &o.subject);
            Symptom {
                target,
                outcome,
                what: format!(
                    "{} to {} ({}){}",
                    if o.value.is_empty() {
                        "probe failed"
                    } else {
                        o.value.as_str()
                    },
                    o.subject,
                    target.describe(),
                    ""
                ),
                evidence: o.evidence.clone(),
            }
        })
        .collect()
}

/// The messages that support an entry: observations whose signature names it.
fn support<'a>(cx: &'a Context<'_>, entry: &str) -> Vec<&'a Observation> {
    cx.node
        .observations
        .iter()
        .filter(|o| {
            o.signature
                .and_then(|id| signatures::all().find(|s| s.id == id))
                .is_some_and(|s| s.catalog.contains(&entry))
        })
        .collect()
}

/// The ranked suspects of one node, as "not concluded" notes, given its findings.
pub fn suspects(cx: &Context<'_>, found: &[Finding]) -> Vec<NotConcluded> {
    // A cause proven at error explains what was seen; suspects are for what is not explained.
    if found
        .iter()
        .any(|f| f.severity == Severity::Error && f.is_cause)
    {
        return Vec::new();
    }
    let symptoms = symptoms(cx);
    // A collected bundle is a snapshot, not a complaint: without a symptom in it, messages
    // alone (kube-proxy logs harmless modprobe failures) name no suspect. A paste is a ticket:
    // someone has a problem, and the messages in it say where to look.
    if symptoms.is_empty() && !cx.node.bundle.is_pasted() {
        return Vec::new();
    }
    // Score: position in each symptom's list (earlier is likelier), raised by supporting
    // messages; entries that messages support are suspects even without a probe.
    let mut score: BTreeMap<&'static str, (i64, Vec<String>, Vec<Evidence>)> = BTreeMap::new();
    for s in &symptoms {
        let list = candidates(s.target, s.outcome);
        for (i, entry) in list.iter().enumerate() {
            let e = score.entry(entry).or_default();
            e.0 += 100 - i64::try_from(i).unwrap_or(100);
            if !e.1.contains(&s.what) {
                e.1.push(s.what.clone());
                e.2.push(s.evidence.clone());
            }
        }
    }
    for entry in catalog::CATALOG.iter().map(|c| c.id) {
        let backing = support(cx, entry);
        if backing.is_empty() {
            continue;
        }
        let e = score.entry(entry).or_default();
        e.0 += 200;
        for o in backing.into_iter().take(2) {
            e.1.push(format!("said: {}", o.evidence.excerpt));
            e.2.push(o.evidence.clone());
        }
    }
    let mut ranked: Vec<(&'static str, i64, Vec<String>, Vec<Evidence>)> = score
        .into_iter()
        .filter(|(entry, _)| ruled_out(cx, entry, found).is_none())
        .map(|(entry, (s, why, ev))| (entry, s, why, ev))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(MAX_SUSPECTS)
        .enumerate()
        .map(|(i, (entry, _, why, ev))| {
            let title = catalog::CATALOG
                .iter()
                .find(|c| c.id == entry)
                .map_or(entry, |c| c.title);
            let at: Vec<String> = ev
                .iter()
                .take(2)
                .map(|e| format!("{} {}", e.artifact, e.locator))
                .collect();
            NotConcluded {
                id: SUSPECT_ID,
                catalog: entry,
                question: format!("suspect {}: {title}", i + 1),
                reason: format!("would explain {} ({})", why.join("; "), at.join(", ")),
                would_confirm: Some(settle(entry).to_string()),
            }
        })
        .collect()
}

/// For an input of which nothing was recognised: what to paste, for the symptom its prose
/// describes.
pub fn what_to_paste(texts: &[&str]) -> String {
    let all = texts.join("\n").to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| all.contains(w));
    let mut cmds = vec![
        "the failing probe with its output (curl -v -m 5 http://ADDRESS:PORT)",
        "kubectl get svc,endpointslices -A -o wide",
        "kubectl -n kube-system get configmap kube-proxy -o yaml",
        "kubectl -n kube-system logs -l k8s-app=kube-proxy --tail=200",
    ];
    if has(&["nodeport", "node port", "30"]) {
        cmds.extend(["iptables-save", "ipvsadm -Ln", "ip -d addr"]);
    }
    if has(&[
        "pod",
        "overlay",
        "calico",
        "flannel",
        "tunl0",
        "vxlan",
        "ipip",
        "跨节点",
    ]) {
        cmds.extend([
            "ip -d link; ip route",
            "kubectl get ippools -o yaml (Calico) or the flannel logs",
        ]);
    }
    cmds.extend(["lsmod", "sysctl -a"]);
    format!(
        "Paste command output, not a description: {} (or run netsnap-collect on the node)",
        cmds.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_reads_every_shape() {
        assert_eq!(
            host_port("10.0.0.1:30081"),
            ("10.0.0.1".into(), Some(30081))
        );
        assert_eq!(
            host_port("http://10.0.0.1:80/x"),
            ("10.0.0.1".into(), Some(80))
        );
        assert_eq!(host_port("[fd00::1]:443"), ("fd00::1".into(), Some(443)));
        assert_eq!(host_port("10.0.0.1 port 80"), ("10.0.0.1".into(), Some(80)));
        assert_eq!(host_port("fd00::1"), ("fd00::1".into(), None));
    }

    #[test]
    fn every_candidate_is_a_catalog_entry_with_a_command() {
        for t in [
            Target::NodePort,
            Target::ClusterIp,
            Target::LoadBalancer,
            Target::Pod,
            Target::Dns,
            Target::Unknown,
        ] {
            for o in [Outcome::Dropped, Outcome::Refused] {
                for e in candidates(t, o) {
                    assert!(catalog::CATALOG.iter().any(|c| c.id == *e), "{e}");
                    assert!(
                        !settle(e).starts_with("netsnap-collect"),
                        "{e} has no command"
                    );
                }
            }
        }
    }
}
