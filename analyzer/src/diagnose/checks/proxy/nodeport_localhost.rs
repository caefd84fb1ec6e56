//! C11: `127.0.0.1:<nodePort>` does not reach a Service in IPVS or nftables mode. IPVS never
//! bound NodePorts to loopback in current code (`GetAllLocalAddressesExcept` skips loopback);
//! older IPVS releases even created `127.0.0.1:<nodePort>` virtual servers whose replies could
//! not be routed (kubernetes #96879, #56320, #67730); nftables mode does not support localhost
//! NodePorts (`pkg/proxy/nftables/README.md`). Only iptables mode does, with
//! `route_localnet=1` (`iptables.localhostNodePorts`). Not a fault: said only when something
//! shows localhost NodePorts are expected here.

use std::net::IpAddr;

use crate::diagnose::checks::{ipvs_table_or_empty, list_capped, Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_CONFIGMAP_YAML};
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};
use netsnap_bundle::names;

pub const INFO: CheckInfo = CheckInfo {
    id: "nodeport-localhost-unsupported",
    catalog: "C11",
    title: "NodePorts via 127.0.0.1 do not work in IPVS or nftables mode",
    layer: Layer::Proxy,
    cause: false,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/56320",
        "https://github.com/kubernetes/kubernetes/issues/67730",
        "https://github.com/kubernetes/kubernetes/issues/96879",
        "https://github.com/kubernetes/kubernetes/issues/111840",
    ],
    evidence: "Proxy mode ipvs or nftables with a NodePort Service, and a sign that localhost NodePorts are expected: `iptables.localhostNodePorts: true` in the ConfigMap, `route_localnet=1`, or a `127.0.0.1:<nodePort>` IPVS virtual server of an old release.",
    fix: "Test NodePorts on a node address, not 127.0.0.1; use iptables mode if localhost NodePorts are required.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    let Some(mode) = &cx.proxy_mode else {
        return Verdicts::clear(
            "does not apply: nothing shows kube-proxy in ipvs or nftables mode (its \
             configuration was not read)",
            Vec::new(),
        );
    };
    if mode.mode != "ipvs" && mode.mode != "nftables" {
        return Verdicts::clear(
            format!(
                "does not apply: kube-proxy runs in {} mode, which supports localhost NodePorts",
                mode.mode
            ),
            vec![mode.evidence.clone()],
        );
    }
    let node_ports: Vec<u16> = cx
        .cluster
        .state
        .services
        .iter()
        .flat_map(|s| s.spec.ports.iter())
        .filter_map(|p| p.node_port.and_then(|n| u16::try_from(n).ok()))
        .collect();
    if node_ports.is_empty() {
        return Verdicts::clear(
            "does not apply: no Service has a NodePort",
            vec![mode.evidence.clone()],
        );
    }
    let mut signs: Vec<Evidence> = Vec::new();
    if let Some(config) = cx.cluster.kube_proxy() {
        let section = if mode.mode == "ipvs" {
            &config.iptables
        } else {
            &config.nftables
        };
        if config.iptables.localhost_node_ports == Some(true)
            || section.localhost_node_ports == Some(true)
        {
            let (locator, excerpt) = cx
                .cluster
                .find_line(
                    KUBE_PROXY_CONFIGMAP_YAML,
                    None,
                    &["localhostNodePorts:", "true"],
                )
                .map_or_else(
                    || {
                        (
                            "data.config.conf".to_string(),
                            "localhostNodePorts: true".to_string(),
                        )
                    },
                    |(n, l)| (format!("line {n} (data.config.conf)"), l),
                );
            signs.push(Evidence::new(
                ClusterFacts::artifact(KUBE_PROXY_CONFIGMAP_YAML),
                locator,
                excerpt,
            ));
        }
    }
    if cx.node.sysctl("net.ipv4.conf.all.route_localnet") == Some("1") {
        signs.push(Evidence::new(
            names::SYSCTLS,
            "net.ipv4.conf.all.route_localnet",
            "net.ipv4.conf.all.route_localnet = 1",
        ));
    }
    if let Ok((table, _)) = ipvs_table_or_empty(cx) {
        let lo: Vec<String> = table
            .services
            .iter()
            .filter_map(|vs| {
                let addr: IpAddr = vs.service.addr?;
                let port = vs.service.port?;
                (addr.is_loopback() && node_ports.contains(&port)).then(|| format!("{addr}:{port}"))
            })
            .collect();
        if !lo.is_empty() {
            signs.push(Evidence::new(
                names::IPVS_SERVICES,
                "IPVS table",
                format!("loopback virtual servers: {}", list_capped(&lo, 5)),
            ));
        }
    }
    if signs.is_empty() {
        return Verdicts::clear(
            format!(
                "nothing shows NodePorts expected on localhost in {} mode (no \
                 localhostNodePorts, route_localnet or loopback virtual server)",
                mode.mode
            ),
            vec![mode.evidence.clone()],
        );
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Info,
        Confidence::High,
        format!(
            "kube-proxy runs in {} mode: 127.0.0.1:<nodePort> (e.g. 127.0.0.1:{}) does not reach \
             Services on this node; use a node address",
            mode.mode, node_ports[0]
        ),
    );
    f.detail = "Only iptables mode can serve NodePorts on localhost (it DNATs in OUTPUT and \
        needs route_localnet=1). In IPVS mode loopback is not among the NodePort addresses (old \
        releases created 127.0.0.1 virtual servers that never answered), and nftables mode does \
        not support it, so `curl 127.0.0.1:<nodePort>` hangs or is refused while \
        `<nodeIP>:<nodePort>` works."
        .to_string();
    f.evidence.push(mode.evidence.clone());
    f.evidence.extend(signs);
    f.fix.push(FixStep::manual(
        "Test NodePorts on a node address (e.g. curl <node InternalIP>:<nodePort>); switch to \
         iptables mode only if localhost NodePorts are a requirement.",
    ));
    Verdicts::found(f)
}
