//! C13: in IPVS mode every LoadBalancer IP is bound to `kube-ipvs0` on every node. Without
//! `ipvs.strictARP: true` (which makes kube-proxy set `net.ipv4.conf.all.arp_ignore=1` and
//! `arp_announce=2`, `pkg/proxy/ipvs/proxier.go`), each node answers ARP requests for those
//! addresses on its real interfaces, so an L2 announcer (MetalLB's speaker) competes with every
//! node: the address's MAC flaps and connections reset (metallb #153; MetalLB's installation
//! notes require strictARP with kube-proxy IPVS).

use crate::diagnose::checks::sysctl_evidence;
use crate::diagnose::checks::{list_capped, restart_kube_proxy, Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_CONFIGMAP_YAML};
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};
use netsnap_bundle::names;

pub const INFO: CheckInfo = CheckInfo {
    id: "ipvs-strict-arp-off",
    catalog: "C13",
    title: "IPVS mode with LoadBalancer IPs but without strictARP",
    layer: Layer::Proxy,
    cause: true,
    references: &[
        "https://github.com/metallb/metallb/issues/153",
        "https://github.com/kubernetes/kubernetes/issues/59976",
        "https://github.com/antrea-io/antrea/issues/3785",
        "https://github.com/kubernetes-sigs/kubespray/pull/5180",
        "https://github.com/kubermatic/kubermatic/issues/7309",
    ],
    evidence: "kube-proxy ConfigMap `mode: ipvs` and `ipvs.strictARP`; LoadBalancer Services with ingress IPs; MetalLB pods or ConfigMaps; sysctls `net.ipv4.conf.all.arp_ignore` and `arp_announce`.",
    fix: "Set `ipvs.strictARP: true` in the kube-proxy ConfigMap and restart kube-proxy (it then sets arp_ignore=1, arp_announce=2).",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    let Some(mode) = &cx.proxy_mode else {
        return cx.not_this_mode("ipvs");
    };
    if mode.mode != "ipvs" {
        return cx.not_this_mode("ipvs");
    }
    let Some(config) = cx.cluster.kube_proxy() else {
        return Verdicts::clear(
            "not judged: IPVS mode was seen on the node, but kube-proxy's configuration \
             (ipvs.strictARP) was not read",
            vec![mode.evidence.clone()],
        );
    };
    if config.ipvs.strict_arp {
        return Verdicts::clear(
            "kube-proxy's ipvs.strictARP is on",
            vec![mode.evidence.clone()],
        );
    }
    let lb: Vec<String> = cx
        .cluster
        .state
        .services
        .iter()
        .filter(|s| s.spec.type_ == "LoadBalancer")
        .flat_map(|s| {
            s.status
                .load_balancer
                .ingress
                .iter()
                .filter(|i| !i.ip.is_empty())
                .map(move |i| format!("{}/{} {}", s.metadata.namespace, s.metadata.name, i.ip))
        })
        .collect();
    let metallb = metallb_evidence(cx);
    if lb.is_empty() && metallb.is_none() {
        return Verdicts::clear(
            "does not apply: no LoadBalancer Service has an ingress IP and no MetalLB is seen",
            vec![mode.evidence.clone()],
        );
    }
    let ignore = cx.node.sysctl("net.ipv4.conf.all.arp_ignore");
    let announce = cx.node.sysctl("net.ipv4.conf.all.arp_announce");
    // Set by hand (or by a tuning profile), the sysctls do what strictARP would have done.
    if ignore.is_some_and(|v| v.trim() == "1") && announce.is_some_and(|v| v.trim() == "2") {
        let mut ev = sysctl_evidence(cx, "net.ipv4.conf.all.arp_ignore");
        ev.extend(sysctl_evidence(cx, "net.ipv4.conf.all.arp_announce"));
        return Verdicts::clear(
            "arp_ignore = 1 and arp_announce = 2 are set: they do what strictARP would",
            ev,
        );
    }
    if let Err(missing) = &cx.node.sysctls {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether this node answers ARP for LoadBalancer IPs",
            missing.to_string(),
            Some("sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce"),
        ));
    }
    let confidence = if metallb.is_some() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let summary = if lb.is_empty() {
        "MetalLB runs with kube-proxy in IPVS mode, but strictARP is off".to_string()
    } else {
        format!(
            "IPVS mode binds LoadBalancer IPs ({}) to kube-ipvs0 on every node, and strictARP is \
             off: every node answers ARP for them",
            list_capped(&lb, 3)
        )
    };
    let mut f = cx.finding(&INFO, Severity::Warning, confidence, summary);
    f.detail = "With arp_ignore=0 the kernel answers ARP requests on any interface for any \
        local address, including those on kube-ipvs0. The LoadBalancer IP then resolves to \
        whichever node answered last instead of the announcing node, so clients reach it only \
        sometimes and established connections reset. Announcers that use BGP are not affected."
        .to_string();
    f.evidence.push(mode.evidence.clone());
    let (locator, excerpt) = cx
        .cluster
        .find_line(KUBE_PROXY_CONFIGMAP_YAML, None, &["strictARP:"])
        .map_or_else(
            || {
                (
                    "data.config.conf".to_string(),
                    "strictARP not set (false)".to_string(),
                )
            },
            |(n, l)| (format!("line {n} (data.config.conf)"), l),
        );
    f.evidence.push(Evidence::new(
        ClusterFacts::artifact(KUBE_PROXY_CONFIGMAP_YAML),
        locator,
        excerpt,
    ));
    if !lb.is_empty() {
        f.evidence.push(Evidence::new(
            "k8s/services.yaml",
            "status.loadBalancer.ingress",
            list_capped(&lb, 5),
        ));
    }
    f.evidence.extend(metallb);
    f.evidence.push(Evidence::new(
        names::SYSCTLS,
        "net.ipv4.conf.all.arp_ignore / arp_announce",
        format!(
            "arp_ignore = {}, arp_announce = {}",
            ignore.unwrap_or("?"),
            announce.unwrap_or("?")
        ),
    ));
    f.fix.push(FixStep::manual(
        "Set ipvs.strictARP: true in the kube-proxy ConfigMap: kubectl -n kube-system get \
         configmap kube-proxy -o yaml | sed 's/strictARP: false/strictARP: true/' | kubectl \
         apply -f -",
    ));
    f.fix.push(restart_kube_proxy(
        cx,
        "Restart kube-proxy so it sets arp_ignore=1 and arp_announce=2.",
    ));
    Verdicts::found(f)
}

/// A MetalLB pod or ConfigMap, when the objects show one.
fn metallb_evidence(cx: &Context<'_>) -> Option<Evidence> {
    let pod = cx.cluster.state.pods.iter().find(|p| {
        p.metadata
            .labels
            .iter()
            .any(|(k, v)| (k == "app" || k == "app.kubernetes.io/name") && v == "metallb")
            || p.metadata.namespace == "metallb-system"
    });
    if let Some(p) = pod {
        return Some(Evidence::new(
            "k8s/pods.yaml",
            format!("{}/{}", p.metadata.namespace, p.metadata.name),
            format!("MetalLB pod {} on {}", p.metadata.name, p.spec.node_name),
        ));
    }
    cx.cluster
        .state
        .config_maps
        .iter()
        .find(|c| c.metadata.namespace == "metallb-system")
        .map(|c| {
            Evidence::new(
                "k8s/configmaps",
                format!("{}/{}", c.metadata.namespace, c.metadata.name),
                "MetalLB configuration".to_string(),
            )
        })
}
