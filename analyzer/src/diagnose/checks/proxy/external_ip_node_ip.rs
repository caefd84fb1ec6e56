//! C12: in IPVS mode kube-proxy binds every Service externalIP and LoadBalancer IP that is not
//! already local to `kube-ipvs0` on every node (`pkg/proxy/ipvs/proxier.go`), so the kernel of
//! each node treats that address as its own. When the address is another node's real IP (or
//! the API server's), every other node stops reaching that node or the API server ("no route
//! to host", NotReady), and on the owner the virtual server takes over that port of its own
//! address. When kube-proxy later removes the address from kube-ipvs0, the kernel also drops
//! the `local` route the real interface needed (kubernetes #93175, #127410, #75290;
//! kubespray #5254).

use std::net::IpAddr;

use crate::diagnose::checks::{list_capped, Check, CheckInfo};
use crate::diagnose::expect::KUBE_IPVS0;
use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_CONFIGMAP_YAML, NODES_YAML, SERVICES_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};
use netsnap_bundle::names;

pub const INFO: CheckInfo = CheckInfo {
    id: "external-ip-is-node-ip",
    catalog: "C12",
    title: "IPVS mode: a Service externalIP or LoadBalancer IP is a node's or the API server's address",
    layer: Layer::Proxy,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/93175",
        "https://github.com/kubernetes/kubernetes/issues/127410",
        "https://github.com/kubernetes-sigs/kubespray/issues/5254",
        "https://github.com/kubernetes/kubernetes/issues/66966",
        "https://github.com/kubernetes/kubernetes/issues/75290",
        "https://github.com/kubernetes/kubernetes/issues/80738",
    ],
    evidence: "Services' `spec.externalIPs` and `status.loadBalancer.ingress` against every Node's InternalIP/ExternalIP, the API server address in the kube-proxy ConfigMap's kubeconfig, and this node's addresses (on kube-ipvs0 and on real interfaces).",
    fix: "Remove node and API server addresses from externalIPs (use a free address or a LoadBalancer); kube-proxy then unbinds them from kube-ipvs0.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// Whose address a Service IP collides with.
enum Owner {
    ThisNode(String),
    OtherNode(String),
    ApiServer(String),
}

fn run(cx: &Context<'_>) -> Verdicts {
    if cx.proxy_mode.as_ref().map(|m| m.mode.as_str()) != Some("ipvs") {
        return cx.not_this_mode("ipvs");
    }
    let mut out = Judgement::new();
    let mut seen = 0;
    let me = cx.identity.as_ref().map(|i| i.name.clone());
    let local = cx.node.local_addresses();
    let real_local = |ip: IpAddr| {
        local
            .iter()
            .find(|(a, dev, _)| *a == ip && *dev != KUBE_IPVS0)
            .map(|(_, dev, _)| dev.to_string())
    };
    let on_kube_ipvs0 = |ip: IpAddr| {
        local
            .iter()
            .any(|(a, dev, _)| *a == ip && *dev == KUBE_IPVS0)
    };
    let apiserver = apiserver_address(cx);

    for svc in &cx.cluster.state.services {
        let ips = svc
            .spec
            .external_ips
            .iter()
            .map(|s| ("externalIPs", s.as_str()))
            .chain(
                svc.status
                    .load_balancer
                    .ingress
                    .iter()
                    .map(|i| ("loadBalancer ingress", i.ip.as_str())),
            );
        for (field, raw) in ips {
            let Ok(ip) = raw.trim().parse::<IpAddr>() else {
                continue;
            };
            let mut owners = Vec::new();
            for n in &cx.cluster.state.nodes {
                if n.status.addresses.iter().any(|a| {
                    (a.type_ == "InternalIP" || a.type_ == "ExternalIP")
                        && a.address.parse::<IpAddr>().ok() == Some(ip)
                }) {
                    if me.as_deref() == Some(n.metadata.name.as_str()) {
                        owners.push(Owner::ThisNode(n.metadata.name.clone()));
                    } else {
                        owners.push(Owner::OtherNode(n.metadata.name.clone()));
                    }
                }
            }
            if owners.is_empty() {
                if let Some(dev) = real_local(ip) {
                    owners.push(Owner::ThisNode(format!("this node ({dev})")));
                }
            }
            if let Some((api, line)) = &apiserver {
                if *api == ip {
                    owners.push(Owner::ApiServer(line.clone()));
                }
            }
            seen += 1;
            if owners.is_empty() {
                continue;
            }
            report(
                cx,
                svc,
                field,
                ip,
                &owners,
                real_local(ip),
                on_kube_ipvs0(ip),
                &mut out,
            );
        }
    }
    out.or_clear(
        if seen == 0 {
            "does not apply: no Service has an externalIP or a LoadBalancer ingress IP".to_string()
        } else {
            format!(
                "none of the {seen} externalIP(s) and LoadBalancer IP(s) is a node's or the API \
                 server's address"
            )
        },
        Vec::new(),
    )
}

#[allow(clippy::too_many_arguments)]
fn report(
    cx: &Context<'_>,
    svc: &crate::decode::k8s::Service,
    field: &str,
    ip: IpAddr,
    owners: &[Owner],
    real_dev: Option<String>,
    on_kube_ipvs0: bool,
    out: &mut Judgement,
) {
    let name = format!("{}/{}", svc.metadata.namespace, svc.metadata.name);
    let whose: Vec<String> = owners
        .iter()
        .map(|o| match o {
            Owner::ThisNode(n) => format!("node {n}'s own address"),
            Owner::OtherNode(n) => format!("node {n}'s address"),
            Owner::ApiServer(_) => "the API server's address".to_string(),
        })
        .collect();
    let severe = owners
        .iter()
        .any(|o| matches!(o, Owner::OtherNode(_) | Owner::ApiServer(_)))
        || (on_kube_ipvs0 && real_dev.is_some());
    let mut f = cx.finding(
        &INFO,
        if severe {
            Severity::Error
        } else {
            Severity::Warning
        },
        Confidence::High,
        format!(
            "Service {name} lists {ip} in {field}, which is {}",
            list_capped(&whose, 3)
        ),
    );
    f.subject = Some(format!("{name} {ip}"));
    f.detail = "In IPVS mode kube-proxy binds externalIPs and LoadBalancer IPs to kube-ipvs0 on \
        every node where they are not already local, so those nodes treat the address as their \
        own: they can no longer reach the node (or API server) that really owns it. On the \
        owning node the virtual server takes over that port of its own address, and when the \
        address is later removed from kube-ipvs0 the kernel drops its local route too."
        .to_string();
    let key = if field == "externalIPs" {
        "externalIPs:"
    } else {
        "ip:"
    };
    let (locator, excerpt) = cx
        .cluster
        .find_line(
            SERVICES_YAML,
            Some(&format!("name: {}", svc.metadata.name)),
            &[&ip.to_string()],
        )
        .map_or_else(
            || (format!("{name} .spec"), format!("{key} {ip}")),
            |(n, l)| (format!("line {n} ({name})"), l),
        );
    f.evidence.push(Evidence::new(
        ClusterFacts::artifact(SERVICES_YAML),
        locator,
        excerpt,
    ));
    for o in owners {
        match o {
            Owner::ThisNode(n) | Owner::OtherNode(n) => {
                let (locator, excerpt) = cx
                    .cluster
                    .find_line(NODES_YAML, Some(&format!("name: {n}")), &[&ip.to_string()])
                    .map_or_else(
                        || (format!("Node {n}"), format!("address {ip}")),
                        |(l, t)| (format!("line {l} ({n})"), t),
                    );
                f.evidence.push(Evidence::new(
                    ClusterFacts::artifact(NODES_YAML),
                    locator,
                    excerpt,
                ));
            }
            Owner::ApiServer(line) => f.evidence.push(Evidence::new(
                ClusterFacts::artifact(KUBE_PROXY_CONFIGMAP_YAML),
                "data.kubeconfig.conf",
                line.clone(),
            )),
        }
    }
    if on_kube_ipvs0 || real_dev.is_some() {
        let mut where_ = Vec::new();
        if on_kube_ipvs0 {
            where_.push(KUBE_IPVS0.to_string());
        }
        if let Some(d) = &real_dev {
            where_.push(d.clone());
        }
        f.evidence.push(Evidence::new(
            names::RTNL_ADDRS,
            format!("address {ip}"),
            format!("{ip} is on {}", where_.join(" and ")),
        ));
    }
    f.fix.push(FixStep::manual(format!(
        "Remove {ip} from Service {name}'s {field} (use an unused address, or a LoadBalancer \
         implementation that allocates one): kubectl -n {} edit service {}",
        svc.metadata.namespace, svc.metadata.name
    )));
    f.fix.push(FixStep::manual(format!(
        "Verify afterwards on every node that {ip} is gone from kube-ipvs0 (ip addr show dev \
         kube-ipvs0) and that `ip route show table local` still has its local route on the \
         owning node."
    )));
    out.found(f);
}

/// The API server address kube-proxy talks to: the `server:` of the kubeconfig in its
/// ConfigMap, when it is an IP address.
fn apiserver_address(cx: &Context<'_>) -> Option<(IpAddr, String)> {
    let text = cx.cluster.text(KUBE_PROXY_CONFIGMAP_YAML)?;
    for line in text.lines() {
        let l = line.trim();
        let Some(url) = l.strip_prefix("server:") else {
            continue;
        };
        let url = url.trim().trim_matches('"');
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let host = rest.split('/').next().unwrap_or(rest);
        let host = if let Some(h) = host.strip_prefix('[') {
            h.split(']').next().unwrap_or(h)
        } else {
            host.rsplit_once(':').map_or(host, |(h, _)| h)
        };
        if let Ok(ip) = host.parse() {
            return Some((ip, l.to_string()));
        }
    }
    None
}
