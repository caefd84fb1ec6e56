//! C16: a Service port has no endpoints at all, so kube-proxy has nowhere to send its
//! traffic: iptables mode REJECTs it ("has no endpoints"), IPVS mode keeps a virtual server
//! without real servers (connections time out or are refused). The EndpointSlice controller
//! lists the Pods the Service's selector picks (`pkg/controller/endpointslice`); a selector
//! that matches no Pod (typo, wrong key, other namespace) leaves the slices empty, and a
//! Service without a selector only has the endpoints someone writes by hand (kubernetes#47711,
//! the "Debug Services" task page). ExternalName Services have no endpoints by design.

use crate::diagnose::checks::service::service_facts::no_services;
use crate::diagnose::checks::service::service_facts::services_read;
use crate::diagnose::checks::service::service_facts::{
    dataplane_evidence, pods_collected, port_endpoints, port_ref, selected_pods, selector_text,
    selects, service_evidence, EpSource,
};
use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::facts::{
    ClusterFacts, ENDPOINTSLICES_COMMAND, ENDPOINTSLICES_YAML, ENDPOINTS_YAML, PODS_YAML,
};
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "service-no-endpoints",
    catalog: "C16",
    title: "Service port without any endpoint",
    layer: Layer::Service,
    cause: true,
    references: &[
        "https://kubernetes.io/docs/tasks/debug/debug-application/debug-service/",
        "https://github.com/kubernetes/kubernetes/issues/47711",
        "https://github.com/kubernetes/kubernetes/issues/7341",
    ],
    evidence: "Every Service port (ExternalName excepted): its EndpointSlices (else v1 Endpoints) for that port; the selector against the labels of the Pods in its namespace; selector-less Services' hand-made endpoints; this node's IPVS virtual server without real servers or `has no endpoints` REJECT rule.",
    fix: "Correct the Service's selector (or the Pods' labels) so it picks the backend Pods; for a selector-less Service, create its EndpointSlice.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    let stated = stated_without_endpoints(cx);
    if !stated.is_empty() {
        let mut out = Judgement::new();
        for f in stated {
            out.found(f);
        }
        // The Services that were pasted are judged as below too.
        if cx.cluster.state.services.is_empty() {
            return out.or_clear("", Vec::new());
        }
        return judge_services(cx, out);
    }
    if let Some(v) = no_services(cx) {
        return v;
    }
    judge_services(cx, Judgement::new())
}

/// Services whose lack of endpoints a paste states without the Service object itself: a
/// kube-proxy rule that exists only for a Service port without endpoints (the iptables REJECT
/// commented `has no endpoints`, the nftables no-endpoint element `goto reject-chain`), or the
/// Service's Endpoints object without any address (the endpoints controller names it after
/// the Service and writes every selected Pod into it, `pkg/controller/endpoint`). A Service
/// whose object was read is judged from its object instead. Pastes only: a native bundle
/// holds every Service.
fn stated_without_endpoints(cx: &Context<'_>) -> Vec<crate::diagnose::Finding> {
    if !cx.node.bundle.is_pasted() {
        return Vec::new();
    }
    let known = |ns: &str, name: &str| {
        cx.cluster
            .state
            .services
            .iter()
            .any(|s| s.metadata.name == name && (ns.is_empty() || s.metadata.namespace == ns))
    };
    let mut out: Vec<crate::diagnose::Finding> = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for o in cx
        .node
        .observed(crate::observe::FactKind::ServiceNoEndpoints)
    {
        let (ns, name) = o
            .subject
            .split_once('/')
            .unwrap_or(("", o.subject.as_str()));
        if name.is_empty() || known(ns, name) || done.contains(&o.subject) {
            continue;
        }
        done.push(o.subject.clone());
        let mut f = cx.finding(
            &INFO,
            Severity::Error,
            Confidence::High,
            format!("Service {} has no endpoints", o.subject),
        );
        f.subject = Some(o.subject.clone());
        f.detail = "kube-proxy writes this rule only for a Service port without any endpoint \
            (iptables: a REJECT commented `has no endpoints`; nftables: a no-endpoint map \
            element `goto reject-chain`), so connections to it are refused. The Service's \
            selector matches no ready Pod, or the Service has no selector and nobody wrote its \
            endpoints."
            .to_string();
        f.evidence.push(o.evidence.clone());
        f.fix.push(no_endpoints_step(ns, name));
        out.push(f);
    }
    for e in &cx.cluster.state.endpoints {
        let (ns, name) = (&e.metadata.namespace, &e.metadata.name);
        let qualified = format!("{ns}/{name}");
        let empty = e
            .subsets
            .iter()
            .all(|s| s.addresses.is_empty() && s.not_ready_addresses.is_empty());
        if !empty || known(ns, name) || done.contains(&qualified) {
            continue;
        }
        done.push(qualified.clone());
        let mut f = cx.finding(
            &INFO,
            Severity::Error,
            Confidence::High,
            format!("Service {qualified} has no endpoints: its Endpoints object lists no address"),
        );
        f.subject = Some(qualified.clone());
        f.detail = "The endpoints controller keeps an Endpoints object named after each Service \
            with a selector, listing the address of every Pod the selector picks; this one lists \
            none, ready or not, so no Pod matches the selector (a typo, a wrong key, another \
            namespace) and kube-proxy has nowhere to send the Service's traffic."
            .to_string();
        f.evidence.push(cx.cluster.field_evidence(
            &[ENDPOINTS_YAML],
            name,
            "subsets",
            format!("Endpoints {qualified}: no address"),
        ));
        f.fix.push(no_endpoints_step(ns, name));
        out.push(f);
    }
    out
}

fn no_endpoints_step(ns: &str, name: &str) -> FixStep {
    let ns = if ns.is_empty() { "<namespace>" } else { ns };
    let mut step = FixStep::manual(format!(
        "Compare the selector of Service {ns}/{name} with its backend Pods' labels and correct \
            one of them."
    ));
    step.commands = vec![
        format!("kubectl -n {ns} get service {name} -o jsonpath='{{.spec.selector}}'"),
        format!("kubectl -n {ns} get pods --show-labels"),
    ];
    step
}

fn judge_services(cx: &Context<'_>, mut out: Judgement) -> Verdicts {
    let services = &cx.cluster.state.services;
    // Not collected is not empty: without either list no Service is known to lack endpoints.
    if let Err(m) = cx.cluster.endpoints_known() {
        out.cannot(cx.not_concluded(
            &INFO,
            "whether the Services have endpoints",
            m.to_string(),
            Some(ENDPOINTSLICES_COMMAND),
        ));
        return out.or_clear("", Vec::new());
    }
    for svc in services {
        if svc.spec.type_ == "ExternalName" {
            continue;
        }
        let headless = svc.spec.cluster_ip == "None";
        let name = format!("{}/{}", svc.metadata.namespace, svc.metadata.name);
        for port in &svc.spec.ports {
            let pe = port_endpoints(cx, svc, port);
            if pe.as_ref().is_some_and(|p| !p.eps.is_empty()) {
                continue;
            }
            let subject = port_ref(svc, port);
            let selector = &svc.spec.selector;
            let pods = selected_pods(cx, svc);
            let (summary, confidence, detail) = if selector.is_empty() {
                (
                    match &pe {
                        None => format!(
                            "Service {name} has no selector and nobody created endpoints for it"
                        ),
                        Some(_) => format!(
                            "Service {name} has no selector, and its hand-made endpoints have no \
                             address for port {}",
                            port.port
                        ),
                    },
                    Confidence::High,
                    "A Service without a selector gets no endpoints from Kubernetes: whoever \
                     created it must also create its EndpointSlice (or Endpoints) with the \
                     backend addresses. Until then kube-proxy has nowhere to send its traffic."
                        .to_string(),
                )
            } else if pods.is_empty() && pods_collected(cx) {
                (
                    format!(
                        "Service {subject} has no endpoints: its selector {} matches no Pod in \
                         namespace {}",
                        selector_text(selector),
                        svc.metadata.namespace
                    ),
                    Confidence::High,
                    "The EndpointSlice controller lists the Pods whose labels contain every \
                     key=value of the Service's selector, in the Service's namespace. No Pod \
                     matches, so the Service has no endpoints and kube-proxy rejects (iptables) \
                     or black-holes (IPVS, a virtual server without real servers) its traffic."
                        .to_string(),
                )
            } else if pods.is_empty() {
                (
                    format!("Service {subject} has no endpoints"),
                    Confidence::Medium,
                    "The Service's EndpointSlices list no address for this port; the Pods were \
                     not collected, so whether its selector matches any cannot be told."
                        .to_string(),
                )
            } else {
                let names: Vec<&str> = pods.iter().map(|p| p.metadata.name.as_str()).collect();
                (
                    format!(
                        "Service {subject} has no endpoints although its selector matches {} \
                         Pod(s): {}",
                        pods.len(),
                        list_capped(&names, 3)
                    ),
                    Confidence::Medium,
                    "The selector matches Pods, but none is an endpoint of this port: the Pods \
                     have no IP yet (Pending), or a named targetPort is not defined in them \
                     (see target-port-mismatch), or the EndpointSlices were read before the \
                     controller caught up."
                        .to_string(),
                )
            };
            let severity = if headless {
                Severity::Warning
            } else {
                Severity::Error
            };
            let mut f = cx.finding(&INFO, severity, confidence, summary);
            f.subject = Some(subject.clone());
            f.detail = detail;
            if selector.is_empty() {
                f.evidence.push(service_evidence(
                    cx,
                    svc,
                    &["type:"],
                    ".spec",
                    "no spec.selector".to_string(),
                ));
            } else {
                let first = selector
                    .iter()
                    .next()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .unwrap_or_default();
                f.evidence.push(service_evidence(
                    cx,
                    svc,
                    &[&first],
                    ".spec.selector",
                    format!("selector: {}", selector_text(selector)),
                ));
            }
            match &pe {
                Some(p) => f.evidence.push(Evidence::new(
                    p.source.artifact(),
                    name.clone(),
                    format!(
                        "{} {} of {name}, no address for port {}",
                        p.objects,
                        match p.source {
                            EpSource::Slices => "EndpointSlice(s)",
                            EpSource::Endpoints => "Endpoints subset(s)",
                        },
                        if port.name.is_empty() {
                            port.port.to_string()
                        } else {
                            port.name.clone()
                        }
                    ),
                )),
                None => f.evidence.push(Evidence::new(
                    ClusterFacts::artifact(ENDPOINTSLICES_YAML),
                    name.clone(),
                    format!("no EndpointSlice or Endpoints object for {name}"),
                )),
            }
            if !selector.is_empty() && pods.is_empty() && pods_collected(cx) {
                let in_ns = cx
                    .cluster
                    .state
                    .pods
                    .iter()
                    .filter(|p| p.metadata.namespace == svc.metadata.namespace)
                    .count();
                let elsewhere: Vec<String> = cx
                    .cluster
                    .state
                    .pods
                    .iter()
                    .filter(|p| p.metadata.namespace != svc.metadata.namespace)
                    .filter(|p| selects(selector, &p.metadata.labels))
                    .map(|p| format!("{}/{}", p.metadata.namespace, p.metadata.name))
                    .collect();
                let mut excerpt = format!(
                    "none of {in_ns} Pod(s) in namespace {} has the labels {}",
                    svc.metadata.namespace,
                    selector_text(selector)
                );
                if !elsewhere.is_empty() {
                    excerpt.push_str(&format!(
                        "; in other namespaces: {}",
                        list_capped(&elsewhere, EVIDENCE_ITEMS)
                    ));
                }
                f.evidence.push(Evidence::new(
                    ClusterFacts::artifact(PODS_YAML),
                    format!("namespace {}", svc.metadata.namespace),
                    excerpt,
                ));
            }
            f.evidence.extend(dataplane_evidence(cx, svc, port));
            let ns = &svc.metadata.namespace;
            let svc_name = &svc.metadata.name;
            if selector.is_empty() {
                f.fix.push(FixStep::manual(format!(
                    "Create the EndpointSlice of {name} with the backend addresses (label \
                     kubernetes.io/service-name: {svc_name}), or give the Service a selector \
                     matching its Pods."
                )));
            } else {
                let mut step = FixStep::manual(format!(
                    "Compare the selector {} with the backend Pods' labels and correct one of \
                     them (kubectl -n {ns} patch service {svc_name} with the right selector, or \
                     relabel the Pods' template).",
                    selector_text(selector)
                ));
                step.commands = vec![
                    format!("kubectl -n {ns} get pods --show-labels"),
                    format!("kubectl -n {ns} get endpointslices -l kubernetes.io/service-name={svc_name}"),
                ];
                f.fix.push(step);
            }
            out.found(f);
        }
    }
    out.or_clear(
        "every Service port (ExternalName aside) has at least one endpoint",
        services_read(cx),
    )
}
