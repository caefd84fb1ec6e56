//! C36: with kube-proxy in IPVS mode, Felix must know the NodePort range to tell NodePort
//! traffic (which IPVS answers on the host) from traffic to the host itself: its
//! `kubeNodePortRanges` (FelixConfiguration, env `FELIX_KUBENODEPORTRANGES`, default
//! `30000:32767`) go into Calico's forward/host-endpoint rules. When the API server hands out
//! NodePorts outside it (`--service-node-port-range`), Calico policy treats those NodePorts as
//! host traffic and drops or allows them wrongly (projectcalico/calico#2890,
//! kubernetes-sigs/kubespray#4172; Calico docs: FelixConfiguration `kubeNodePortRanges`).

use super::cni_evidence::{calico_in_use, calico_resource, node_pod, pod_env_of, EnvLookup};
use crate::diagnose::checks::overlay::cni_evidence::cni_not_in_use;
use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::facts::{ClusterFacts, FELIX_YAML, PODS_YAML, SERVICES_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "calico-nodeport-range-unknown",
    catalog: "C36",
    title: "NodePorts outside the range Felix knows (Calico with IPVS)",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://docs.tigera.io/calico/latest/reference/resources/felixconfig",
        "https://github.com/projectcalico/calico/pull/2890",
        "https://github.com/kubernetes-sigs/kubespray/issues/4172",
        "https://github.com/projectcalico/calico/issues/8002",
    ],
    evidence: "FelixConfiguration `kubeNodePortRanges` (or calico-node env `FELIX_KUBENODEPORTRANGES`, default 30000:32767) against the Services' NodePorts and the API server's `--service-node-port-range` (kube-apiserver pod), in IPVS mode.",
    fix: "`kubectl patch` the FelixConfiguration so `kubeNodePortRanges` covers the API server's NodePort range.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const FIELD: &str = "kubeNodePortRanges";
const ENV: &str = "FELIX_KUBENODEPORTRANGES";
const APISERVER_FLAG: &str = "--service-node-port-range";

/// One range: `30000:32767` (Felix), `30000-32767` (API server) or a single port.
fn parse_range(s: &str) -> Option<(u16, u16)> {
    let s = s.trim().trim_matches('"');
    let (a, b) = s.split_once([':', '-']).unwrap_or((s, s));
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b).then_some((a, b))
}

fn covered(ranges: &[(u16, u16)], port: i64) -> bool {
    ranges
        .iter()
        .any(|(a, b)| i64::from(*a) <= port && port <= i64::from(*b))
}

fn run(cx: &Context<'_>) -> Verdicts {
    if cx.proxy_mode.as_ref().is_none_or(|m| m.mode != "ipvs") {
        return cx.not_this_mode("ipvs");
    }
    if !calico_in_use(cx) {
        return cni_not_in_use("Calico");
    }
    // Felix's ranges: env overrides the FelixConfiguration, which overrides the default.
    let felix = cx
        .cluster
        .state
        .felix_configurations
        .iter()
        .find(|fc| fc.metadata.name == "default");
    let pod = node_pod(cx, "k8s-app", "calico-node");
    let env = pod.map(|p| (p, pod_env_of(cx, p, ENV)));
    let (ranges, source): (Vec<(u16, u16)>, Evidence) = match (&env, felix) {
        (Some((p, EnvLookup::Set(line, v))), _) if !v.is_empty() => (
            v.split(',').filter_map(parse_range).collect(),
            Evidence::new(
                ClusterFacts::artifact(PODS_YAML),
                format!("line {line} ({})", p.metadata.name),
                format!("{ENV}={v}"),
            ),
        ),
        (_, Some(fc)) if fc.spec.extra.contains_key(FIELD) => {
            let list: Vec<String> = match fc.spec.extra.get(FIELD) {
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .map(|v| match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            };
            let (locator, excerpt) = cx
                .cluster
                .find_line(FELIX_YAML[0], Some("name: default"), &[FIELD])
                .map_or_else(
                    || {
                        (
                            "default .spec".to_string(),
                            format!("{FIELD}: {}", list.join(", ")),
                        )
                    },
                    |(n, l)| {
                        (
                            format!("line {n} (default)"),
                            format!("{l} {}", list.join(", ")),
                        )
                    },
                );
            (
                list.iter().filter_map(|s| parse_range(s)).collect(),
                Evidence::new(ClusterFacts::artifact(FELIX_YAML[0]), locator, excerpt),
            )
        }
        (_, Some(_)) => (
            vec![(30000, 32767)],
            Evidence::new(
                ClusterFacts::artifact(FELIX_YAML[0]),
                "default .spec",
                format!("{FIELD} not set: Felix uses 30000:32767"),
            ),
        ),
        (_, None) => {
            if cx.cluster.state.felix_configurations.is_empty() {
                let outside = cx.cluster.state.services.iter().any(|s| {
                    s.spec
                        .ports
                        .iter()
                        .filter_map(|p| p.node_port)
                        .any(|n| !covered(&[(30000, 32767)], n))
                });
                if outside {
                    return Verdicts::cannot(cx.not_concluded(
                        &INFO,
                        "whether Felix knows the NodePorts outside 30000-32767",
                        "no FelixConfiguration was collected",
                        Some("kubectl get felixconfiguration default -o yaml (spec.kubeNodePortRanges)"),
                    ));
                }
                return Verdicts::clear(
                    "no FelixConfiguration was collected, and every NodePort is inside Felix's \
                     default range 30000-32767",
                    Vec::new(),
                );
            }
            return Verdicts::clear(
                "not judged: FelixConfigurations were collected but none is named default, and \
                 calico-node's environment sets no NodePort range",
                Vec::new(),
            );
        }
    };
    if ranges.is_empty() {
        return Verdicts::clear(
            "not judged: Felix's NodePort ranges could not be parsed",
            vec![source],
        );
    }
    let mut outside: Vec<String> = Vec::new();
    for s in &cx.cluster.state.services {
        for p in &s.spec.ports {
            if let Some(n) = p.node_port.filter(|n| !covered(&ranges, *n)) {
                outside.push(format!("{}/{}:{n}", s.metadata.namespace, s.metadata.name));
            }
        }
    }
    // The API server's range, from the kube-apiserver static pod, when collected.
    let apiserver = cx.cluster.state.pods.iter().find_map(|p| {
        p.spec.containers.iter().find_map(|c| {
            c.command
                .iter()
                .chain(&c.args)
                .find_map(|a| a.strip_prefix(&format!("{APISERVER_FLAG}=")))
                .map(|v| (p.metadata.name.clone(), v.to_string()))
        })
    });
    let apiserver_outside = apiserver.as_ref().and_then(|(name, v)| {
        let (a, b) = parse_range(v)?;
        (!covered(&ranges, i64::from(a)) || !covered(&ranges, i64::from(b)))
            .then(|| (name.clone(), v.clone()))
    });
    if outside.is_empty() && apiserver_outside.is_none() {
        return Verdicts::clear(
            "every NodePort, and the API server's range when known, is inside Felix's NodePort \
             ranges",
            vec![source],
        );
    }
    let mut f = cx.finding(
        &INFO,
        if outside.is_empty() {
            Severity::Warning
        } else {
            Severity::Error
        },
        Confidence::Medium,
        if outside.is_empty() {
            "The API server's NodePort range reaches beyond the ranges Felix knows".to_string()
        } else {
            format!(
                "{} NodePort(s) lie outside the ranges Felix knows ({})",
                outside.len(),
                list_capped(&outside, 3)
            )
        },
    );
    f.detail = "kube-proxy in IPVS mode answers NodePorts on the host itself, so Felix must \
        know which ports are NodePorts to apply Service rather than host policy to them. \
        Traffic to a NodePort outside kubeNodePortRanges is treated as traffic to the host and \
        can be dropped by Calico's host-endpoint or failsafe rules."
        .to_string();
    f.evidence.push(source);
    if !outside.is_empty() {
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(SERVICES_YAML),
            ".spec.ports[].nodePort",
            list_capped(&outside, EVIDENCE_ITEMS),
        ));
    }
    if let Some((name, v)) = &apiserver {
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(PODS_YAML),
            format!("{name} .spec.containers[].command"),
            format!("{APISERVER_FLAG}={v}"),
        ));
    }
    let want = apiserver
        .as_ref()
        .and_then(|(_, v)| parse_range(v))
        .map(|(a, b)| format!("{a}:{b}"));
    let mut list: Vec<String> = ranges.iter().map(|(a, b)| format!("{a}:{b}")).collect();
    match want {
        Some(w) => list.push(w),
        None => list.push("<the API server's --service-node-port-range, as FROM:TO>".to_string()),
    }
    list.dedup();
    let patch = format!(
        r#"{{"spec":{{"{FIELD}":[{}]}}}}"#,
        list.iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let (resource, name) = felix.map_or_else(
        || {
            (
                "felixconfigurations.crd.projectcalico.org".to_string(),
                "default".to_string(),
            )
        },
        |fc| {
            (
                calico_resource("felixconfigurations", &fc.api_version),
                fc.metadata.name.clone(),
            )
        },
    );
    let text = "Make Felix's NodePort ranges cover the API server's range (an env \
        FELIX_KUBENODEPORTRANGES on calico-node overrides this; change it there if set).";
    if apiserver.is_some() && !matches!(&env, Some((_, EnvLookup::Set(..)))) {
        f.fix.push(FixStep::new(
            text,
            vec![format!(
                "kubectl patch {resource} {name} --type=merge -p '{patch}'"
            )],
            FixAction::KubectlPatch {
                resource,
                namespace: None,
                name,
                patch,
            },
        ));
    } else {
        f.fix.push(FixStep::new(
            text,
            vec![format!(
                "kubectl patch {resource} {name} --type=merge -p '{patch}'"
            )],
            FixAction::Manual,
        ));
    }
    Verdicts::found(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("30000:32767"), Some((30000, 32767)));
        assert_eq!(parse_range("20000-22767"), Some((20000, 22767)));
        assert_eq!(parse_range("\"30081\""), Some((30081, 30081)));
        assert_eq!(parse_range("32767:30000"), None);
        assert_eq!(parse_range("70000:80000"), None);
        let r = [(30000, 32767)];
        assert!(covered(&r, 30000) && covered(&r, 32767));
        assert!(!covered(&r, 29999) && !covered(&r, 32768));
    }
}
