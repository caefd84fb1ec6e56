//! C19: `externalTrafficPolicy: Local` on a NodePort/LoadBalancer Service, and no ready
//! endpoint on this node. External traffic to this node's NodePort (or the LB address routed
//! here) is only sent to local endpoints, to keep the client's source address: with none,
//! iptables mode drops it ("has no local endpoints"); IPVS mode still installs every cluster
//! endpoint as a real server so local Pods can reach the Service (kubernetes PR #97081), but
//! the NodePort is in KUBE-NODE-PORT-LOCAL-TCP and is not masqueraded, so a remote Pod's reply
//! goes straight to the client from the Pod's address and is dropped. NodePorts then answer
//! only on nodes that run a backend (kubernetes#66354, #125167, #66062).

use crate::diagnose::checks::service::service_facts::services_read;
use crate::diagnose::checks::service::service_facts::{port_endpoints, port_ref, service_evidence};
use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::expect::virtual_addr;
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "external-traffic-policy-local-no-local-endpoint",
    catalog: "C19",
    title: "externalTrafficPolicy Local without a local endpoint on this node",
    layer: Layer::Service,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/66354",
        "https://github.com/kubernetes/kubernetes/issues/125167",
        "https://github.com/kubernetes/kubernetes/issues/66062",
        "https://github.com/kubernetes/kubernetes/pull/97081",
    ],
    evidence: "NodePort and LoadBalancer Services with `externalTrafficPolicy: Local`; the nodes of their ready endpoints against this node's name; this node's IPVS virtual server for the NodePort, the KUBE-NODE-PORT-LOCAL-* ipset, the `has no local endpoints` iptables rule.",
    fix: "Send external traffic only to nodes with a backend (LB health checks on healthCheckNodePort), run a backend on every node that receives traffic, or switch the Service to `externalTrafficPolicy: Cluster`.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    let candidates: Vec<_> = cx
        .cluster
        .state
        .services
        .iter()
        .filter(|s| {
            s.spec.external_traffic_policy == "Local"
                && matches!(s.spec.type_.as_str(), "NodePort" | "LoadBalancer")
        })
        .collect();
    if candidates.is_empty() {
        let stated = stated_by_rules(cx);
        if !stated.is_empty() {
            let mut j = Judgement::new();
            for f in stated {
                j.found(f);
            }
            return j.or_clear("", Vec::new());
        }
        return Verdicts::clear(
            "does not apply: no NodePort or LoadBalancer Service has externalTrafficPolicy: Local",
            services_read(cx),
        );
    }
    // kube-proxy's node name: hostnameOverride, else the Node this bundle was matched to.
    let override_name = cx
        .cluster
        .kube_proxy()
        .map(|c| c.hostname_override.as_str())
        .filter(|h| !h.is_empty() && !h.contains("$("));
    let Some(node) = override_name
        .map(str::to_string)
        .or_else(|| cx.identity.as_ref().map(|i| i.name.clone()))
    else {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether this node has a local endpoint for the externalTrafficPolicy: Local Services",
            "the bundle could not be matched to a Node object (no Node address is a local \
             address, no Node is named like the host)",
            Some("kubectl get nodes -o wide"),
        ));
    };
    let mut out = Judgement::new();
    let judged = candidates.len();
    for svc in candidates {
        for port in &svc.spec.ports {
            let Some(pe) = port_endpoints(cx, svc, port) else {
                continue;
            };
            let ready: Vec<_> = pe.ready().collect();
            // No ready endpoint anywhere is service-no-endpoints / endpoints-not-ready.
            if ready.is_empty() || ready.iter().any(|e| e.node == Some(node.as_str())) {
                continue;
            }
            let subject = port_ref(svc, port);
            let elsewhere: Vec<String> = ready
                .iter()
                .map(|e| format!("{} on {}", e.ip, e.node.unwrap_or("an unknown node")))
                .collect();
            let np = port.node_port.filter(|p| *p > 0);
            let mode = cx
                .proxy_mode
                .as_ref()
                .map(|m| m.mode.as_str())
                .unwrap_or("");
            let mut f = cx.finding(
                &INFO,
                Severity::Warning,
                Confidence::High,
                format!(
                    "Service {subject} has externalTrafficPolicy Local and no ready endpoint on \
                     {node}: {} from outside fails on this node",
                    match np {
                        Some(p) => format!("NodePort {p}"),
                        None => "load-balancer traffic".to_string(),
                    }
                ),
            );
            f.subject = Some(subject);
            f.detail = format!(
                "With externalTrafficPolicy Local, traffic arriving from outside is only sent \
                 to endpoints on the node it arrived at, so the client's source address is \
                 kept. This node has none (ready endpoints: {}). {} It answers only on nodes \
                 with a backend, by design; a load balancer must health-check \
                 healthCheckNodePort to skip this node.",
                list_capped(&elsewhere, 3),
                if mode == "ipvs" {
                    "In IPVS mode kube-proxy still lists every cluster endpoint as a real \
                     server (kubernetes PR #97081, so Pods on this node can use the Service), \
                     but does not masquerade the NodePort (KUBE-NODE-PORT-LOCAL-*): a remote \
                     Pod replies to the client directly from its own address and the client \
                     drops the reply."
                } else {
                    "kube-proxy drops such traffic (\"has no local endpoints\")."
                }
            );
            f.evidence.push(service_evidence(
                cx,
                svc,
                &["externalTrafficPolicy: Local"],
                ".spec.externalTrafficPolicy",
                "externalTrafficPolicy: Local".to_string(),
            ));
            f.evidence.push(Evidence::new(
                pe.source.artifact(),
                format!("{}/{}", svc.metadata.namespace, svc.metadata.name),
                format!(
                    "ready endpoints: {}; none on {node}",
                    list_capped(&elsewhere, EVIDENCE_ITEMS)
                ),
            ));
            if let (Some(np), Ok(table)) = (np, &cx.node.ipvs) {
                for vs in &table.services {
                    let Some(va) = virtual_addr(vs) else { continue };
                    if i64::from(va.port) == np && va.protocol.ipvsadm() == port.protocol() {
                        let reals: Vec<String> = vs
                            .dests
                            .iter()
                            .filter_map(|d| Some(format!("{}:{}", d.addr?, d.port?)))
                            .collect();
                        f.evidence.push(Evidence::new(
                            netsnap_bundle::names::IPVS_SERVICES,
                            va.to_string(),
                            format!("real servers: {}", list_capped(&reals, EVIDENCE_ITEMS)),
                        ));
                        break;
                    }
                }
            }
            if let (Some(np), Ok(sets)) = (np, cx.node.ipsets()) {
                let set_name = format!("KUBE-NODE-PORT-LOCAL-{}", port.protocol());
                if let Some(set) = sets.set(&set_name) {
                    if let Some(e) = set.entries.iter().find(|e| e.text == np.to_string()) {
                        f.evidence.push(Evidence::new(
                            netsnap_bundle::names::command_artifact("ipset-save"),
                            format!("line {}", e.line),
                            format!("add {set_name} {}", e.text),
                        ));
                    }
                }
            }
            let comment = format!("\"{} has no local endpoints\"", port_ref(svc, port));
            for dump in cx.node.iptables() {
                for t in &dump.save.tables {
                    if let Some(r) = t.rules.iter().find(|r| r.raw.contains(&comment)) {
                        f.evidence.push(Evidence::new(
                            dump.artifact.clone(),
                            format!("line {}", r.line),
                            r.raw.clone(),
                        ));
                    }
                }
            }
            let ns = svc.metadata.namespace.clone();
            let name = svc.metadata.name.clone();
            f.fix.push(FixStep::manual(
                "If clients must keep their source address: send external traffic only to \
                 nodes with a backend (load-balancer health checks on healthCheckNodePort), or \
                 run a backend on every node that receives it (DaemonSet, spread constraints).",
            ));
            // Shown, never run: it gives up the client's source address, a choice for the
            // Service's owner.
            let patch = r#"{"spec":{"externalTrafficPolicy":"Cluster"}}"#;
            let mut step = FixStep::manual(
                "Otherwise let every node forward to any endpoint (the client address is then \
                 masqueraded).",
            );
            step.commands = vec![format!(
                "kubectl -n {ns} patch service {name} --type=merge -p '{patch}'"
            )];
            f.fix.push(step);
            out.found(f);
        }
    }
    out.or_clear(
        format!(
            "none of the {judged} externalTrafficPolicy: Local Service(s) has its ready \
             endpoints only on nodes other than {node}"
        ),
        services_read(cx),
    )
}

/// Services a pasted kube-proxy rule shows without a local endpoint here: kube-proxy writes a
/// DROP commented `<svc> has no local endpoints` (iptables) or a no-endpoint map element with
/// verdict `drop` (nftables, its `externalTrafficFilterVerdict`) only for a Service port with
/// externalTrafficPolicy Local, endpoints elsewhere and none on this node
/// (`pkg/proxy/{iptables,nftables}/proxier.go`). External traffic to that address or NodePort
/// is dropped on this node, and in nftables mode before v1.34 so is traffic from this node's
/// own Pods to a LoadBalancer or external IP (kubernetes#131765). Pastes only: a native bundle
/// holds the objects, judged below.
fn stated_by_rules(cx: &Context<'_>) -> Vec<crate::diagnose::Finding> {
    if !cx.node.bundle.is_pasted() {
        return Vec::new();
    }
    let mut out: Vec<crate::diagnose::Finding> = Vec::new();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for o in cx
        .node
        .observed(crate::observe::FactKind::ServiceNoLocalEndpoints)
    {
        if seen.contains(&(o.subject.as_str(), o.value.as_str())) {
            continue;
        }
        seen.push((o.subject.as_str(), o.value.as_str()));
        let what = if o.value.contains(" . ") {
            format!(" for {}", o.value.replace(" . ", " "))
        } else {
            String::new()
        };
        let mut f = cx.finding(
            &INFO,
            Severity::Warning,
            Confidence::High,
            format!(
                "kube-proxy drops traffic to Service {}{what} on this node: externalTrafficPolicy \
                    Local and no local endpoint",
                o.subject
            ),
        );
        f.subject = Some(o.subject.clone());
        f.detail =
            "kube-proxy writes this drop only for a Service port with externalTrafficPolicy \
            Local whose endpoints are all on other nodes: external traffic to its NodePort, \
            LoadBalancer or external IP that reaches this node is dropped instead of forwarded. \
            In nftables mode before the fix of kubernetes#131765 the drop also caught this \
            node's own Pods reaching the LoadBalancer IP."
                .to_string();
        f.evidence.push(o.evidence.clone());
        let ns_name = o.subject.split_once('/');
        let mut step = FixStep::manual(
            "Send external traffic only to nodes with a backend (LB health checks on the \
             Service's healthCheckNodePort), run a backend on every node that receives \
             traffic, or switch the Service to externalTrafficPolicy: Cluster.",
        );
        if let Some((ns, name)) = ns_name {
            step.commands = vec![
                format!("kubectl -n {ns} get endpointslices -l kubernetes.io/service-name={name} -o wide"),
                format!("kubectl -n {ns} get service {name} -o jsonpath='{{.spec.externalTrafficPolicy}}'"),
            ];
        }
        f.fix.push(step);
        out.push(f);
    }
    out
}
