//! Expected vs actual, IPVS mode: kube-proxy binds every ClusterIP, externalIP (not already
//! local) and LoadBalancer IP to the dummy device `kube-ipvs0`, so the kernel accepts packets
//! for them as local and IPVS (hooked at LOCAL_IN) sees them (`pkg/proxy/ipvs/proxier.go`,
//! `netlink_linux.go`). Without the address, packets to the ClusterIP are routed away instead.
//! `kube-ipvs0` being DOWN/NOARP is normal (failure catalog part 3, rule 7).

use std::net::IpAddr;

use crate::diagnose::checks::proxy::evidence_rules::not_applicable;
use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::expect::KUBE_IPVS0;
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};
use netsnap_bundle::names;

pub const INFO: CheckInfo = CheckInfo {
    id: "kube-ipvs0-missing",
    // A symptom of any cause that stops kube-proxy (C01, C03, C05, C06...): the cause it is
    // folded under carries the catalog entry (`chain`).
    catalog: "",
    title: "kube-ipvs0 or its Service addresses are missing",
    layer: Layer::Proxy,
    cause: false,
    references: &["https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/ipvs/proxier.go"],
    evidence: "Links and addresses: `kube-ipvs0` and the ClusterIPs, externalIPs and LB IPs kube-proxy binds to it.",
    fix: "Fix the cause that stops kube-proxy; restart it.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    let Some(exp) = &cx.ipvs_expected else {
        return not_applicable(cx, "ipvs");
    };
    if exp.kube_ipvs0.is_empty() {
        return Verdicts::clear(
            "no Service address is expected on kube-ipvs0 here",
            Vec::new(),
        );
    }
    let links = match &cx.node.links {
        Ok(l) => l,
        Err(m) => {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "whether kube-ipvs0 holds the Service addresses",
                m.to_string(),
                Some("ip -d addr show kube-ipvs0"),
            ));
        }
    };
    let Some(link) = links.iter().find(|l| l.ifname() == KUBE_IPVS0) else {
        let mut f = cx.finding(
            &INFO,
            Severity::Error,
            Confidence::High,
            format!(
                "kube-ipvs0 does not exist, so none of the {} Service addresses is local to this node",
                exp.kube_ipvs0.len()
            ),
        );
        f.detail = "kube-proxy in IPVS mode creates the dummy device kube-ipvs0 and binds every \
            ClusterIP to it; its absence means kube-proxy never completed a sync on this node."
            .to_string();
        f.evidence.push(Evidence::new(
            names::RTNL_LINKS,
            "links",
            format!("no kube-ipvs0 among {} links", links.len()),
        ));
        f.fix.push(FixStep::manual(
            "Fix what stops kube-proxy (see the cause above); it creates kube-ipvs0 itself.",
        ));
        return Verdicts::found(f);
    };
    if let Err(m) = cx.node.addrs_known_for(KUBE_IPVS0) {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether kube-ipvs0 holds the Service addresses",
            m.to_string(),
            Some("ip -d addr show kube-ipvs0"),
        ));
    }
    let have: Vec<IpAddr> = cx
        .node
        .addrs_of(link.summary.ifindex)
        .filter_map(|a| a.ip)
        .collect();
    let missing: Vec<IpAddr> = exp
        .kube_ipvs0
        .iter()
        .filter(|ip| !have.contains(ip))
        .copied()
        .collect();
    if missing.is_empty() {
        return Verdicts::clear(
            format!(
                "kube-ipvs0 holds all {} Service addresses expected on it",
                exp.kube_ipvs0.len()
            ),
            vec![Evidence::new(
                names::RTNL_LINKS,
                format!("link {KUBE_IPVS0}"),
                format!("{} addresses", have.len()),
            )],
        );
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::High,
        format!(
            "kube-ipvs0 lacks {} of {} Service addresses: {}",
            missing.len(),
            exp.kube_ipvs0.len(),
            list_capped(&missing, 3)
        ),
    );
    f.subject = Some(KUBE_IPVS0.to_string());
    f.detail = "Packets to a Service address that is not bound to kube-ipvs0 are not local, so \
        IPVS never sees them; they follow the routing table instead."
        .to_string();
    f.evidence.push(Evidence::new(
        names::RTNL_ADDRS,
        "link kube-ipvs0",
        format!(
            "{} addresses; missing {}",
            have.len(),
            list_capped(&missing, EVIDENCE_ITEMS)
        ),
    ));
    f.fix.push(FixStep::manual(
        "Restart kube-proxy on this node and read its log for errors binding addresses.",
    ));
    Verdicts::found(f)
}
