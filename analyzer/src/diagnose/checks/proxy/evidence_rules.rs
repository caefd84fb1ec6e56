//! What the iptables- and nftables-mode expectation checks share: kube-proxy's node name, the
//! expected Service ports per IP family, the dump kube-proxy writes to, and how an expected
//! rule is shown to a user.

use std::collections::BTreeSet;
use std::net::IpAddr;

use netsnap_bundle::names;

use crate::decode::nft::NftRuleset;
use crate::diagnose::checks::{list_capped, restart_kube_proxy, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::expect::RealServer;
use crate::diagnose::expect_iptables::{
    self, endpoint_string, proto_lower, Entry, ExpectedPort, IptablesDiff,
};
use crate::diagnose::facts::{
    ClusterFacts, IptablesDump, Missing, ENDPOINTSLICES_COMMAND, ENDPOINTSLICES_YAML, SERVICES_YAML,
};
use crate::diagnose::Verdicts;
use crate::diagnose::{Context, Evidence, FixStep, NotConcluded};

/// The `nft -j list ruleset` artifact.
pub fn nft_artifact() -> String {
    names::command_artifact(crate::diagnose::facts::NFT_COMMAND)
}

/// Whether kube-proxy is configured for `mode` and the Kubernetes objects were read: the
/// expectation checks of the other modes stay silent.
pub fn applies(cx: &Context<'_>, mode: &str) -> bool {
    cx.proxy_mode.as_ref().is_some_and(|m| m.mode == mode) && cx.cluster.collected
}

/// The clear verdict when [`applies`] is false: kube-proxy runs in another mode, or there is
/// no expectation to compare with.
pub fn not_applicable(cx: &Context<'_>, mode: &str) -> Verdicts {
    if cx.proxy_mode.as_ref().is_none_or(|m| m.mode != mode) {
        return cx.not_this_mode(mode);
    }
    Verdicts::clear(
        "nothing to compare with: the Kubernetes objects were not collected, so what kube-proxy \
         should have programmed is not known",
        cx.proxy_mode_evidence(),
    )
}

/// Evidence that `dump` was compared with the expected Service ports of its family.
pub fn compared_evidence(dump: &IptablesDump, fam: &FamilyPorts) -> Evidence {
    Evidence::new(
        dump.artifact.clone(),
        "Service chains",
        format!(
            "compared with the {} expected IPv{} Service port(s)",
            fam.ports.len(),
            fam.family
        ),
    )
}

/// `why` when rules were compared, else that there was nothing to compare.
pub fn no_dump_or(compared: &[Evidence], why: &str) -> String {
    if compared.is_empty() {
        "nothing to compare: no Service port is expected here, or no dump of its family was \
         read (iptables-service-rules-missing says which)"
            .to_string()
    } else {
        why.to_string()
    }
}

/// When the Services' endpoints are unknown (neither EndpointSlices nor Endpoints were read,
/// so every Service would look as if it had none, and its rules as wrong), the "cannot
/// conclude" of `info` to say so; None when they are known or there is no Service to judge.
pub fn endpoints_unknown(
    cx: &Context<'_>,
    info: &'static CheckInfo,
    question: &str,
) -> Option<NotConcluded> {
    let Err(m) = cx.cluster.endpoints_known() else {
        return None;
    };
    (!cx.cluster.state.services.is_empty())
        .then(|| cx.not_concluded(info, question, m.to_string(), Some(ENDPOINTSLICES_COMMAND)))
}

/// The node name kube-proxy matches `nodeName` of endpoints against: `hostnameOverride`, else
/// the Node this bundle is.
pub fn kube_proxy_node_name(cx: &Context<'_>) -> String {
    match cx.cluster.kube_proxy().map(|c| c.hostname_override.trim()) {
        Some(o) if !o.is_empty() => o.to_string(),
        _ => cx.node_name(),
    }
}

/// Whether EndpointSlices carry topology hints (`hints.forZones` / `forNodes`). kube-proxy then
/// keeps only the endpoints hinted for its zone or node (`pkg/proxy/topology.go`
/// `topologyModeFromHints`), which the decoded slices do not tell: endpoints missing from the
/// rules are no evidence then, only unexpected ones are.
pub fn topology_hints(cx: &Context<'_>) -> bool {
    cx.cluster
        .text(ENDPOINTSLICES_YAML)
        .is_some_and(|t| t.contains("forZones") || t.contains("forNodes"))
}

/// The Service ports of one IP family.
pub struct FamilyPorts {
    pub family: u8,
    pub ports: Vec<ExpectedPort>,
}

/// The expected Service ports of each IP family that has any.
pub fn expected(cx: &Context<'_>) -> Vec<FamilyPorts> {
    let node = kube_proxy_node_name(cx);
    [4, 6]
        .into_iter()
        .map(|family| FamilyPorts {
            family,
            ports: expect_iptables::expected_ports(&cx.cluster.state, &node, family),
        })
        .filter(|f| !f.ports.is_empty())
        .collect()
}

/// The dump of `family` kube-proxy most likely writes to (the one closest to the expectation:
/// with both backends collected, the other one holds leftovers or nothing) and its difference;
/// or why no dump of the family is there.
pub fn iptables_diff<'a>(
    cx: &'a Context<'_>,
    fam: &'a FamilyPorts,
    known: &BTreeSet<String>,
) -> Result<(&'a IptablesDump, IptablesDiff<'a>), Vec<Missing>> {
    let mut best: Option<(&IptablesDump, IptablesDiff<'a>)> = None;
    for dump in cx.node.iptables().iter().filter(|d| d.family == fam.family) {
        let d = expect_iptables::diff(&fam.ports, known, &dump.save);
        if best.as_ref().is_none_or(|(_, b)| d.weight() < b.weight()) {
            best = Some((dump, d));
        }
    }
    best.ok_or_else(|| {
        let want = if fam.family == 6 {
            "ip6tables"
        } else {
            "iptables"
        };
        cx.node
            .iptables_missing()
            .into_iter()
            .filter(|m| {
                m.artifact
                    .rsplit('/')
                    .next()
                    .is_some_and(|f| f.starts_with(&format!("{want}-")))
            })
            .collect()
    })
}

/// The `nft -j list ruleset` capture, decoded, or why it is missing.
pub fn nft_ruleset<'a>(cx: &'a Context<'_>) -> Result<&'a NftRuleset, Missing> {
    cx.node.nft().as_ref().map_err(Clone::clone)
}

/// "IPv6" for family 6: findings of a dual-stack Service port are per family.
pub fn subject(p: &ExpectedPort, family: u8) -> String {
    if family == 6 {
        format!("{} (IPv6)", p.name())
    } else {
        p.name()
    }
}

fn addr_arg(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    }
}

/// The rule kube-proxy (1.24+) writes for one entry, in `iptables-save` syntax.
pub fn expected_rule(p: &ExpectedPort, e: &Entry) -> String {
    let proto = proto_lower(p.protocol);
    let h = &p.hash;
    match e {
        Entry::ClusterIp(ip) => {
            let chain = if p.itp_local { "KUBE-SVL" } else { "KUBE-SVC" };
            format!(
                "-A KUBE-SERVICES -d {} -p {proto} -m {proto} --dport {} -j {chain}-{h}",
                addr_arg(*ip),
                p.port
            )
        }
        Entry::NodePort(np) => {
            format!("-A KUBE-NODEPORTS -p {proto} -m {proto} --dport {np} -j KUBE-EXT-{h}")
        }
        Entry::ExternalIp(ip) | Entry::LoadBalancer(ip) => format!(
            "-A KUBE-SERVICES -d {} -p {proto} -m {proto} --dport {} -j KUBE-EXT-{h}",
            addr_arg(*ip),
            p.port
        ),
    }
}

/// Endpoints as `ip:port`, capped.
pub fn fmt_endpoints(eps: &[RealServer]) -> String {
    let v: Vec<String> = eps.iter().map(|e| endpoint_string(*e)).collect();
    list_capped(&v, EVIDENCE_ITEMS)
}

/// Evidence pointing at the Service in `services.yaml`.
pub fn service_evidence(cx: &Context<'_>, p: &ExpectedPort) -> Option<Evidence> {
    let (n, line) = cx.cluster.find_line(
        SERVICES_YAML,
        Some(&format!("name: {}", p.service.name)),
        &["clusterIP:"],
    )?;
    Some(Evidence::new(
        ClusterFacts::artifact(SERVICES_YAML),
        format!("line {n} ({}/{})", p.service.namespace, p.service.name),
        line,
    ))
}

/// The fix every expectation finding shares: kube-proxy rewrites its rules on a full sync.
pub fn resync_fix(cx: &Context<'_>) -> Vec<FixStep> {
    vec![
        FixStep::manual(
            "Read kube-proxy's log on this node for sync errors (iptables-restore or nft \
             failures, API errors) and fix their cause first.",
        ),
        restart_kube_proxy(
            cx,
            "Restart kube-proxy on this node; it rewrites every Service rule on start.",
        ),
    ]
}
