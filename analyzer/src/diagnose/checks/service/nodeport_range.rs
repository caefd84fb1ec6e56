//! C20: a Service's nodePort lies outside the API server's `--service-node-port-range`
//! (default 30000-32767). The API server refuses such a nodePort when the Service is created
//! or changed, so one outside the range means the range was changed (narrowed, or moved)
//! afterwards: kube-proxy still serves the port, but anything written for the range — host
//! firewall rules, Calico's `kubeNodePortRanges` (C36), cloud security groups — does not
//! cover it, and the API server's repair loop reports it. Only the range is in a bundle, from
//! the kube-apiserver static Pod (`kubectl get pods -A` lists kubeadm's mirror pods) or its
//! manifest under files/; without either this check stays quiet. A host process bound to the
//! nodePort (the other half of catalog entry C20) is not in a bundle.

use netsnap_bundle::names;

use crate::decode::k8s::Pod;
use crate::diagnose::checks::service::service_facts::services_read;
use crate::diagnose::checks::service::service_facts::{port_ref, service_evidence};
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, PODS_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "nodeport-out-of-range",
    catalog: "C20",
    title: "NodePort outside the API server's service-node-port-range",
    layer: Layer::Service,
    cause: true,
    references: &[
        "https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport",
        "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        "https://github.com/MoJo2600/pihole-kubernetes/issues/284",
    ],
    evidence: "Every Service port's nodePort against `--service-node-port-range` of the kube-apiserver static Pod in the collected Pods (or its manifest under files/etc/kubernetes/manifests); quiet when neither was collected. A host process bound to the port is not in a bundle.",
    fix: "Recreate the Service (or clear its nodePort) so it gets a port inside the range, or widen the range back; keep firewalls and Calico's kubeNodePortRanges in step with it.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// The API server's default (`kube-apiserver --help`).
const DEFAULT_RANGE: (i64, i64) = (30000, 32767);
const FLAG: &str = "--service-node-port-range";
const MANIFEST: &str = "/etc/kubernetes/manifests/kube-apiserver.yaml";

/// `30000-32767`, `30000+2768` (base and size, as the flag also accepts).
pub fn parse_range(s: &str) -> Option<(i64, i64)> {
    let s = s.trim().trim_matches(|c| c == '"' || c == '\'');
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        return (a <= b).then_some((a, b));
    }
    let (base, size) = s.split_once('+')?;
    let (base, size): (i64, i64) = (base.trim().parse().ok()?, size.trim().parse().ok()?);
    (size > 0).then(|| (base, base + size - 1))
}

/// The flag's value in a list of arguments (`--flag=v` or `--flag v`).
fn flag_value<'a>(args: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut prev = false;
    for a in args {
        if prev {
            return Some(a);
        }
        if let Some(v) = a.strip_prefix(FLAG).and_then(|r| r.strip_prefix('=')) {
            return Some(v);
        }
        prev = a == FLAG;
    }
    None
}

fn apiserver_pod(p: &Pod) -> bool {
    p.metadata.namespace == "kube-system"
        && (p.metadata.labels.get("component").map(String::as_str) == Some("kube-apiserver")
            || p.spec.containers.iter().any(|c| c.name == "kube-apiserver"))
}

/// The range and where it was read, or `None` when no API server configuration is in the
/// bundle.
fn node_port_range(cx: &Context<'_>) -> Option<((i64, i64), Evidence)> {
    for p in cx.cluster.state.pods.iter().filter(|p| apiserver_pod(p)) {
        for c in &p.spec.containers {
            let args = c.command.iter().chain(&c.args).map(String::as_str);
            let locator = format!(
                "kube-system/{} .spec.containers[{}]",
                p.metadata.name, c.name
            );
            match flag_value(args).and_then(|v| Some((v, parse_range(v)?))) {
                Some((v, r)) => {
                    let (locator, excerpt) = cx
                        .cluster
                        .find_line(
                            PODS_YAML,
                            Some(&format!("name: {}", p.metadata.name)),
                            &[FLAG],
                        )
                        .map_or_else(
                            || (locator.clone(), format!("{FLAG}={v}")),
                            |(n, l)| (format!("line {n} ({})", p.metadata.name), l),
                        );
                    return Some((
                        r,
                        Evidence::new(ClusterFacts::artifact(PODS_YAML), locator, excerpt),
                    ));
                }
                None if c.name == "kube-apiserver" => {
                    return Some((
                        DEFAULT_RANGE,
                        Evidence::new(
                            ClusterFacts::artifact(PODS_YAML),
                            locator,
                            format!("no {FLAG}: the default 30000-32767 applies"),
                        ),
                    ));
                }
                None => {}
            }
        }
    }
    let path = names::file_artifact(MANIFEST);
    let text = cx.node.text(&path).ok()?;
    let found = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(FLAG))
        .and_then(|(i, l)| {
            let v = l.split_once(FLAG)?.1.trim_start_matches(['=', ' ']);
            Some((i + 1, l.trim().to_string(), parse_range(v)?))
        });
    Some(match found {
        Some((n, line, r)) => (r, Evidence::new(path, format!("line {n}"), line)),
        None => (
            DEFAULT_RANGE,
            Evidence::new(
                path,
                "whole file",
                format!("no {FLAG}: the default 30000-32767 applies"),
            ),
        ),
    })
}

fn run(cx: &Context<'_>) -> Verdicts {
    let with_node_ports: Vec<_> = cx
        .cluster
        .state
        .services
        .iter()
        .filter(|s| {
            s.spec
                .ports
                .iter()
                .any(|p| p.node_port.is_some_and(|n| n > 0))
        })
        .collect();
    if with_node_ports.is_empty() {
        return Verdicts::clear(
            "does not apply: no Service has a NodePort",
            services_read(cx),
        );
    }
    let Some(((lo, hi), range_ev)) = node_port_range(cx) else {
        return Verdicts::clear(
            "not judged: no API server pod is in the bundle, so its --service-node-port-range is not known",
            Vec::new(),
        );
    };
    let mut out = Judgement::new();
    let clear_ev = range_ev.clone();
    for svc in with_node_ports {
        for port in &svc.spec.ports {
            let Some(np) = port.node_port.filter(|n| *n > 0) else {
                continue;
            };
            if (lo..=hi).contains(&np) {
                continue;
            }
            let subject = port_ref(svc, port);
            let mut f = cx.finding(
                &INFO,
                Severity::Warning,
                Confidence::Medium,
                format!(
                    "Service {subject} has nodePort {np}, outside the API server's range \
                     {lo}-{hi}"
                ),
            );
            f.subject = Some(subject);
            f.detail = format!(
                "The API server only assigns or accepts nodePorts inside its \
                 service-node-port-range, so {np} dates from before the range was changed. \
                 kube-proxy still serves it, but firewall rules, Calico's kubeNodePortRanges \
                 and cloud security groups written for {lo}-{hi} do not let it through, and \
                 a port outside the range may collide with a host service listening on it \
                 (not visible in a bundle: check ss -ltnp on the node)."
            );
            f.evidence.push(service_evidence(
                cx,
                svc,
                &[&format!("nodePort: {np}")],
                ".spec.ports[].nodePort",
                format!("nodePort: {np}"),
            ));
            f.evidence.push(range_ev.clone());
            let ns = &svc.metadata.namespace;
            let name = &svc.metadata.name;
            f.fix.push(FixStep::manual(format!(
                "Give {ns}/{name} a nodePort inside {lo}-{hi} (remove nodePort from its spec and \
                 re-apply it, or pick a free port in the range) and tell the clients the new \
                 port; or restore the API server's range to include {np}, together with the \
                 firewall and Calico kubeNodePortRanges."
            )));
            out.found(f);
        }
    }
    out.or_clear(
        format!("every NodePort is inside the API server's range {lo}-{hi}"),
        vec![clear_ev],
    )
}

#[cfg(test)]
mod tests {
    use super::{flag_value, parse_range};

    #[test]
    fn ranges() {
        assert_eq!(parse_range("30000-32767"), Some((30000, 32767)));
        assert_eq!(parse_range("\"80-32767\""), Some((80, 32767)));
        assert_eq!(parse_range("30000+100"), Some((30000, 30099)));
        assert_eq!(parse_range("32767-30000"), None);
        assert_eq!(parse_range("30000+0"), None);
        assert_eq!(parse_range("abc"), None);
    }

    #[test]
    fn flag_forms() {
        let a = ["kube-apiserver", "--service-node-port-range=30000-30080"];
        assert_eq!(flag_value(a.iter().copied()), Some("30000-30080"));
        let a = ["kube-apiserver", "--service-node-port-range", "1-2"];
        assert_eq!(flag_value(a.iter().copied()), Some("1-2"));
        let a = ["kube-apiserver", "--secure-port=6443"];
        assert_eq!(flag_value(a.iter().copied()), None);
    }
}
