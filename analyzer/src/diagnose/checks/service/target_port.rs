//! C18: a Service port's `targetPort` does not fit the Pods it selects. A named targetPort is
//! looked up in each Pod's container ports (name and protocol, `FindPort` in
//! `pkg/api/v1/pod/util.go`); a Pod without it is left out of that port's endpoints by the
//! EndpointSlice controller, so when no Pod defines it the port has no endpoints. A numeric
//! targetPort is used as is: `containerPort` lists are informational (a process may listen on
//! a port its container does not declare), so a number no container declares is only a
//! likely mistake (connections are refused if nothing listens there).

use crate::decode::k8s::{Pod, Service, ServicePort};
use crate::diagnose::checks::service::service_facts::no_services;
use crate::diagnose::checks::service::service_facts::services_read;
use crate::diagnose::checks::service::service_facts::{
    port_ref, selected_pods, service_evidence, target_of, Target,
};
use crate::diagnose::checks::{list_capped, Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, PODS_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "target-port-mismatch",
    catalog: "C18",
    title: "Service targetPort not defined by the selected Pods",
    layer: Layer::Service,
    cause: true,
    references: &[
        "https://kubernetes.io/docs/concepts/services-networking/service/",
        "https://kubernetes.io/docs/tasks/debug/debug-application/debug-service/",
    ],
    evidence: "Every Service port's `targetPort` against the container ports (name, number, protocol) of the Pods its selector picks; EndpointSlice ports. A named port no Pod defines is an error; a number no container declares a warning, since `containerPort` is informational.",
    fix: "Set the Service's `targetPort` to the port the application listens on (or name the container port as the Service expects).",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// Container ports of a Pod as `name/number/protocol` text, for evidence.
fn declared(pod: &Pod) -> Vec<String> {
    pod.spec
        .containers
        .iter()
        .flat_map(|c| &c.ports)
        .map(|p| {
            let proto = if p.protocol.is_empty() {
                "TCP"
            } else {
                p.protocol.as_str()
            };
            if p.name.is_empty() {
                format!("{}/{proto}", p.container_port)
            } else {
                format!("{} {}/{proto}", p.name, p.container_port)
            }
        })
        .collect()
}

fn proto_eq(container: &str, service: &str) -> bool {
    (if container.is_empty() {
        "TCP"
    } else {
        container
    }) == service
}

fn defines_name(pod: &Pod, name: &str, protocol: &str) -> bool {
    pod.spec
        .containers
        .iter()
        .flat_map(|c| &c.ports)
        .any(|p| p.name == name && proto_eq(&p.protocol, protocol))
}

fn declares_number(pod: &Pod, n: i64, protocol: &str) -> bool {
    pod.spec
        .containers
        .iter()
        .flat_map(|c| &c.ports)
        .any(|p| p.container_port == n && proto_eq(&p.protocol, protocol))
}

fn pod_evidence(pods: &[&Pod]) -> Vec<Evidence> {
    pods.iter()
        .take(3)
        .map(|p| {
            let ports = declared(p);
            Evidence::new(
                ClusterFacts::artifact(PODS_YAML),
                format!(
                    "{}/{} .spec.containers[*].ports",
                    p.metadata.namespace, p.metadata.name
                ),
                if ports.is_empty() {
                    "no container ports declared".to_string()
                } else {
                    format!("declares {}", ports.join(", "))
                },
            )
        })
        .collect()
}

fn target_evidence(cx: &Context<'_>, svc: &Service, port: &ServicePort, target: &str) -> Evidence {
    let needle = format!("targetPort: {target}");
    service_evidence(
        cx,
        svc,
        &[&needle],
        &format!(".spec.ports[{}].targetPort", port.name),
        needle.clone(),
    )
}

fn run(cx: &Context<'_>) -> Verdicts {
    if let Some(v) = no_services(cx) {
        return v;
    }
    let mut out = Judgement::new();
    for svc in &cx.cluster.state.services {
        if svc.spec.type_ == "ExternalName" || svc.spec.selector.is_empty() {
            continue;
        }
        let pods = selected_pods(cx, svc);
        if pods.is_empty() {
            // service-no-endpoints says so.
            continue;
        }
        for port in &svc.spec.ports {
            let protocol = port.protocol();
            let subject = port_ref(svc, port);
            let ns = &svc.metadata.namespace;
            let name = &svc.metadata.name;
            match target_of(port) {
                Target::Name(target) => {
                    let lacking: Vec<&Pod> = pods
                        .iter()
                        .copied()
                        .filter(|p| !defines_name(p, &target, protocol))
                        .collect();
                    if lacking.is_empty() {
                        continue;
                    }
                    let all = lacking.len() == pods.len();
                    let names: Vec<&str> =
                        lacking.iter().map(|p| p.metadata.name.as_str()).collect();
                    let summary = if all {
                        format!(
                            "Service {subject} targets the port named {target}, which none of \
                             its {} Pod(s) defines ({protocol})",
                            pods.len()
                        )
                    } else {
                        format!(
                            "Service {subject} targets the port named {target}, which {} of its \
                             {} Pods do not define: {}",
                            lacking.len(),
                            pods.len(),
                            list_capped(&names, 3)
                        )
                    };
                    let mut f = cx.finding(
                        &INFO,
                        if all {
                            Severity::Error
                        } else {
                            Severity::Warning
                        },
                        Confidence::High,
                        summary,
                    );
                    f.subject = Some(subject);
                    f.detail = format!(
                        "A named targetPort is resolved in each selected Pod by container port \
                         name and protocol. A Pod without a port named {target} is left out of \
                         this Service port's endpoints, so {}.",
                        if all {
                            "the port has no endpoints at all and its traffic is rejected or \
                             dropped"
                        } else {
                            "only the other Pods receive its traffic"
                        }
                    );
                    f.evidence.push(target_evidence(cx, svc, port, &target));
                    f.evidence.extend(pod_evidence(&lacking));
                    f.fix.push(FixStep::manual(format!(
                        "Name the application's container port {target} in the Pod template, or \
                         set targetPort of {ns}/{name} to the port the application listens on."
                    )));
                    out.found(f);
                }
                Target::Number(n) => {
                    let declaring: Vec<&Pod> = pods
                        .iter()
                        .copied()
                        .filter(|p| p.spec.containers.iter().any(|c| !c.ports.is_empty()))
                        .collect();
                    if declaring.is_empty()
                        || declaring.iter().any(|p| declares_number(p, n, protocol))
                    {
                        continue;
                    }
                    let mut f = cx.finding(
                        &INFO,
                        Severity::Warning,
                        Confidence::Medium,
                        format!(
                            "Service {subject} sends to port {n}/{protocol}, which none of its \
                             Pods' containers declares"
                        ),
                    );
                    f.subject = Some(subject);
                    f.detail = format!(
                        "kube-proxy forwards to the endpoints' port {n} whatever the Pods \
                         declare, because containerPort lists are informational. But the Pods \
                         declare other ports, so {n} is likely a mistake: if nothing listens \
                         on {n}, connections are refused right after the Service address \
                         accepted them."
                    );
                    f.evidence
                        .push(target_evidence(cx, svc, port, &n.to_string()));
                    f.evidence.extend(pod_evidence(&declaring));
                    f.fix.push(FixStep::manual(format!(
                        "Check which port the application listens on (kubectl -n {ns} exec \
                         <pod> -- ss -ltn) and set targetPort of {ns}/{name} to it."
                    )));
                    out.found(f);
                }
                // Neither targetPort nor port was read (the input's notes say which field).
                Target::Unknown => {}
            }
        }
    }
    out.or_clear(
        "every Service port's targetPort is a port its selected Pods have",
        services_read(cx),
    )
}
