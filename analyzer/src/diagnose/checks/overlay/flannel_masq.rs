//! C38: flannel runs without its masquerade rules. With `--ip-masq` flanneld writes
//! `FLANNEL_IPMASQ=true` to /run/flannel/subnet.env and installs a `FLANNEL-POSTRTG` chain in
//! the nat table (jumped to from POSTROUTING; flannel's pkg/trafficmngr/iptables, older
//! releases wrote the same RETURN/MASQUERADE rules straight into POSTROUTING) that masquerades
//! pod traffic leaving the pod network. Without it, traffic from pods to addresses outside the
//! pod network leaves with the pod address and its replies do not come back; with kube-proxy's
//! `clusterCIDR` unset as well, kube-proxy does not masquerade off-cluster traffic to Services
//! either, and node-to-ClusterIP traffic fails intermittently
//! (opsnull/follow-me-install-kubernetes-cluster#553, flannel-io/flannel#1679, #1703,
//! kubernetes/kubernetes#20391).

use super::cni_evidence::{env_file_value, flannel_in_use, pods_labelled, SUBNET_ENV};
use crate::diagnose::checks::overlay::cni_evidence::cni_not_in_use;
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_CONFIGMAP_YAML, PODS_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "flannel-masquerade-missing",
    catalog: "C38",
    title: "flannel runs without IP masquerade",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://github.com/flannel-io/flannel/blob/master/Documentation/configuration.md",
        "https://github.com/flannel-io/flannel/issues/1679",
        "https://github.com/flannel-io/flannel/issues/1703",
        "https://github.com/opsnull/follow-me-install-kubernetes-cluster/issues/553",
        "https://github.com/kubernetes/kubernetes/issues/20391",
    ],
    evidence: "/run/flannel/subnet.env `FLANNEL_IPMASQ`; flannel pod args (`--ip-masq`); the nat table's `FLANNEL-POSTRTG` chain or MASQUERADE rules for the flannel network; kube-proxy `clusterCIDR`.",
    fix: "Run flanneld with `--ip-masq` (restart its pods) and set kube-proxy's `clusterCIDR` to the pod network.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const IPMASQ: &str = "FLANNEL_IPMASQ";
const NETWORK: &str = "FLANNEL_NETWORK";
const CHAIN: &str = "FLANNEL-POSTRTG";

fn run(cx: &Context<'_>) -> Verdicts {
    if !flannel_in_use(cx) {
        return cni_not_in_use("flannel");
    }
    let mut evidence = Vec::new();
    let mut off = false;
    let mut network = None;
    if let Ok(t) = cx.node.text(SUBNET_ENV) {
        network = env_file_value(&t, NETWORK).map(|(_, v)| v);
        if let Some((line, v)) = env_file_value(&t, IPMASQ) {
            if v == "false" {
                off = true;
                evidence.push(Evidence::new(
                    SUBNET_ENV,
                    format!("line {line}"),
                    format!("{IPMASQ}={v}"),
                ));
            }
        }
    }
    // mk-docker-opts.sh gives Docker the masquerading flannel does not do itself
    // (`DOCKER_OPT_IPMASQ` is the opposite of `FLANNEL_IPMASQ`): pods on docker0 are
    // masqueraded by Docker's own rule.
    if off {
        if let Ok(opts) = cx.node.text(super::flannel_lease::DOCKER_OPTS) {
            if let Some((line, v)) = env_file_value(&opts, "DOCKER_OPT_IPMASQ") {
                if v.ends_with("=true") {
                    evidence.push(Evidence::new(
                        super::flannel_lease::DOCKER_OPTS,
                        format!("line {line}"),
                        format!("DOCKER_OPT_IPMASQ={v}"),
                    ));
                    return Verdicts::clear(
                        "flannel leaves masquerading to Docker, which does it (--ip-masq=true)",
                        evidence,
                    );
                }
            }
        }
    }
    let flannel_pods: Vec<_> = pods_labelled(cx, "app", "flannel").collect();
    let node = cx.identity.as_ref().map(|i| i.name.as_str());
    let mine = flannel_pods
        .iter()
        .find(|p| Some(p.spec.node_name.as_str()) == node)
        .or(flannel_pods.first());
    if let Some(p) = mine {
        let c = p
            .spec
            .containers
            .iter()
            .find(|c| {
                c.command
                    .iter()
                    .chain(&c.args)
                    .any(|a| a.contains("flanneld"))
            })
            .or(p.spec.containers.first());
        if let Some(c) = c {
            let args: Vec<&String> = c.command.iter().chain(&c.args).collect();
            let masq = args
                .iter()
                .any(|a| *a == "--ip-masq" || *a == "--ip-masq=true");
            if !masq {
                off = true;
                evidence.push(Evidence::new(
                    ClusterFacts::artifact(PODS_YAML),
                    format!(
                        "{}/{} .spec.containers[{}]",
                        p.metadata.namespace, p.metadata.name, c.name
                    ),
                    format!(
                        "no --ip-masq among: {}",
                        args.iter()
                            .map(|a| a.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                ));
            }
        }
    }
    if !off {
        return Verdicts::clear(
            "neither subnet.env nor flanneld's arguments turn flannel's masquerading off",
            evidence,
        );
    }
    // The dataplane decides: flannel's chain, or its older rules in POSTROUTING.
    let dumps = cx.node.iptables();
    let mut rules_seen = false;
    for d in dumps.iter().filter(|d| d.family == 4) {
        for t in d.save.tables.iter().filter(|t| t.name == "nat") {
            if let Some(c) = t.chains.iter().find(|c| c.name == CHAIN) {
                rules_seen = true;
                evidence.push(Evidence::new(
                    d.artifact.clone(),
                    format!("line {}", c.line),
                    format!(":{CHAIN} exists (masquerade rules present after all)"),
                ));
            }
            if let Some(net) = &network {
                let needle = format!("-s {net}");
                if let Some(r) = t.rules.iter().find(|r| {
                    r.chain == "POSTROUTING"
                        && r.raw.contains(&needle)
                        && r.raw.contains("MASQUERADE")
                }) {
                    rules_seen = true;
                    evidence.push(Evidence::new(
                        d.artifact.clone(),
                        format!("line {}", r.line),
                        r.raw.clone(),
                    ));
                }
            }
        }
    }
    if rules_seen {
        // Configured off, yet masquerading happens (another flanneld, a manual rule): no fault.
        return Verdicts::clear(
            "flannel's masquerading is configured off, yet masquerade rules for the pod network \
             are present",
            evidence,
        );
    }
    let with_nat = dumps
        .iter()
        .find(|d| d.family == 4 && d.save.tables.iter().any(|t| t.name == "nat"));
    let confidence = match with_nat {
        Some(d) => {
            evidence.push(Evidence::new(
                d.artifact.clone(),
                "table nat",
                format!("no {CHAIN} chain and no MASQUERADE rule for the flannel network"),
            ));
            Confidence::High
        }
        None => Confidence::Medium,
    };
    let kp_cidr_empty = kube_proxy_cluster_cidr_empty(cx);
    if kp_cidr_empty == Some(true) {
        evidence.push(Evidence::new(
            ClusterFacts::artifact(KUBE_PROXY_CONFIGMAP_YAML),
            "data.config.conf clusterCIDR",
            "clusterCIDR not set: kube-proxy does not masquerade off-cluster traffic to Services",
        ));
    }
    let mut f = cx.finding(
        &INFO,
        if kp_cidr_empty == Some(true) {
            Severity::Error
        } else {
            Severity::Warning
        },
        confidence,
        "flannel runs without IP masquerade on this node",
    );
    f.detail = "Pod traffic leaving the pod network keeps the pod's source address; replies \
        from outside (and, with kube-proxy's clusterCIDR unset, from Service backends reached \
        from the node) cannot find their way back, so such connections hang."
        .to_string();
    f.evidence = evidence;
    f.fix.push(FixStep::new(
        "Add --ip-masq to flanneld's arguments in its DaemonSet (kube-flannel.yml ships it) and \
         let the pods restart.",
        vec!["kubectl -n kube-flannel get daemonset -o jsonpath='{.items[*].spec.template.spec.containers[*].args}'".to_string()],
        FixAction::Manual,
    ));
    if kp_cidr_empty == Some(true) {
        f.fix.push(FixStep::manual(match &network {
            Some(n) => format!(
                "Set clusterCIDR: {n} in the kube-proxy ConfigMap (config.conf) and restart kube-proxy."
            ),
            None => "Set clusterCIDR to the pod network in the kube-proxy ConfigMap (config.conf) and restart kube-proxy.".to_string(),
        }));
    }
    Verdicts::found(f)
}

/// Whether kube-proxy's clusterCIDR is empty, when its configuration was read.
fn kube_proxy_cluster_cidr_empty(cx: &Context<'_>) -> Option<bool> {
    cx.cluster
        .kube_proxy()
        .map(|c| c.cluster_cidr.trim().is_empty())
}
