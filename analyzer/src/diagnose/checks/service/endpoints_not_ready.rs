//! C17: a Service port has endpoints, but none is ready, so kube-proxy uses none of them
//! (`CategorizeEndpoints` in `pkg/proxy/topology.go`: ready endpoints, else those still
//! serving while terminating). The EndpointSlice controller marks an endpoint not ready while
//! its Pod's Ready condition is False (readiness probe failing, containers not started); the
//! dataplane then looks exactly as with no endpoints (kubernetes#36335, the "Debug Services"
//! task page).

use crate::diagnose::checks::service::service_facts::no_services;
use crate::diagnose::checks::service::service_facts::services_read;
use crate::diagnose::checks::service::service_facts::{
    dataplane_evidence, port_endpoints, port_ref, service_evidence,
};
use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::facts::{ClusterFacts, PODS_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "endpoints-not-ready",
    catalog: "C17",
    title: "Service endpoints exist but none is ready",
    layer: Layer::Service,
    cause: true,
    references: &[
        "https://kubernetes.io/docs/tasks/debug/debug-application/debug-service/",
        "https://github.com/kubernetes/kubernetes/issues/36335",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/topology.go",
    ],
    evidence: "Every Service port's EndpointSlice endpoints (else Endpoints `notReadyAddresses`): all with `ready: false`; the Pods behind them with their phase and Ready condition (reason, message); this node's IPVS virtual server without real servers or `has no endpoints` rule.",
    fix: "Find why the Pods are not Ready (readiness probe, crashing container) and fix the application or its probe; `publishNotReadyAddresses` only suits headless peer discovery.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    if let Some(v) = no_services(cx) {
        return v;
    }
    let mut out = Judgement::new();
    for svc in &cx.cluster.state.services {
        if svc.spec.type_ == "ExternalName" {
            continue;
        }
        for port in &svc.spec.ports {
            let Some(pe) = port_endpoints(cx, svc, port) else {
                continue;
            };
            if pe.eps.is_empty() || pe.eps.iter().any(|e| e.ready) {
                continue;
            }
            let subject = port_ref(svc, port);
            let terminating = pe.eps.iter().filter(|e| e.serving_terminating).count();
            let mut pods: Vec<String> = Vec::new();
            let mut pod_ev = Vec::new();
            for e in &pe.eps {
                let Some(r) = e.pod.filter(|r| r.kind == "Pod") else {
                    continue;
                };
                let ns = if r.namespace.is_empty() {
                    svc.metadata.namespace.as_str()
                } else {
                    r.namespace.as_str()
                };
                if pods.contains(&r.name) {
                    continue;
                }
                pods.push(r.name.clone());
                let pod = cx
                    .cluster
                    .state
                    .pods
                    .iter()
                    .find(|p| p.metadata.namespace == ns && p.metadata.name == r.name);
                let excerpt = match pod {
                    Some(p) => {
                        let mut s = format!("phase {}", p.status.phase);
                        match p.status.conditions.iter().find(|c| c.type_ == "Ready") {
                            Some(c) => {
                                s.push_str(&format!(", Ready={}", c.status));
                                if !c.reason.is_empty() {
                                    s.push_str(&format!(" reason {}", c.reason));
                                }
                                if !c.message.is_empty() {
                                    s.push_str(&format!(": {}", c.message));
                                }
                            }
                            None => s.push_str(", no Ready condition"),
                        }
                        if p.metadata.deletion_timestamp.is_some() {
                            s.push_str(", terminating");
                        }
                        s
                    }
                    None => "not in the collected Pods".to_string(),
                };
                if pod_ev.len() < EVIDENCE_ITEMS {
                    pod_ev.push(Evidence::new(
                        ClusterFacts::artifact(PODS_YAML),
                        format!("{ns}/{} .status.conditions", r.name),
                        excerpt,
                    ));
                }
            }
            let addrs: Vec<String> = pe
                .eps
                .iter()
                .map(|e| match e.port {
                    Some(p) => format!("{}:{p}", e.ip),
                    None => e.ip.to_string(),
                })
                .collect();
            let who = if pods.is_empty() {
                list_capped(&addrs, 3)
            } else {
                list_capped(&pods, 3)
            };
            let (severity, summary) = if terminating > 0 {
                (
                    Severity::Warning,
                    format!(
                        "Service {subject} has no ready endpoint; kube-proxy falls back to {terminating} \
                         terminating one(s) still serving ({who})"
                    ),
                )
            } else {
                (
                    Severity::Error,
                    format!(
                        "Service {subject} has {} endpoint(s), none ready: {who}",
                        pe.eps.len()
                    ),
                )
            };
            let mut f = cx.finding(&INFO, severity, Confidence::High, summary);
            f.subject = Some(subject);
            f.detail = "An endpoint is ready while its Pod's Ready condition is True; kube-proxy \
                programs only ready endpoints (or, when there are none, those still serving \
                while they terminate). With none, the Service behaves as if it had no \
                endpoints: iptables mode rejects, IPVS mode keeps a virtual server without real \
                servers. The Pods' Ready condition says why they are not ready."
                .to_string();
            f.evidence.push(Evidence::new(
                pe.source.artifact(),
                format!("{}/{}", svc.metadata.namespace, svc.metadata.name),
                format!("not ready: {}", list_capped(&addrs, EVIDENCE_ITEMS)),
            ));
            f.evidence.extend(pod_ev);
            if svc.spec.publish_not_ready_addresses {
                f.evidence.push(service_evidence(
                    cx,
                    svc,
                    &["publishNotReadyAddresses:"],
                    ".spec.publishNotReadyAddresses",
                    "publishNotReadyAddresses: true".to_string(),
                ));
            }
            f.evidence.extend(dataplane_evidence(cx, svc, port));
            let ns = &svc.metadata.namespace;
            let mut step = FixStep::manual(
                "Find why the Pods are not Ready (failing readiness probe, crashing or waiting \
                 containers) and fix the application or its probe. publishNotReadyAddresses is \
                 only right for headless peer discovery, not to hide a failing probe.",
            );
            step.commands = pods
                .iter()
                .take(3)
                .map(|p| format!("kubectl -n {ns} describe pod {p}"))
                .collect();
            f.fix.push(step);
            out.found(f);
        }
    }
    out.or_clear(
        "no Service port's endpoints are all not ready",
        services_read(cx),
    )
}
