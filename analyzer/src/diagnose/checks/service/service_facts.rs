//! What the Service checks share: which endpoints a Service port has (EndpointSlices, as
//! kube-proxy reads them, else the v1 Endpoints of clusters without slices), which Pods its
//! selector picks, and where in the collected YAML a Service or port is.
//!
//! Endpoint semantics follow `pkg/proxy/endpointslicecache.go` and `topology.go`: an
//! endpoint whose `ready` condition is unset counts as ready; a slice port belongs to a
//! Service port when name and protocol agree.

use std::collections::BTreeMap;

use crate::decode::k8s::{IntOrString, ObjectReference, Pod, Service, ServicePort};
use crate::diagnose::expect::virtual_addr;
use crate::diagnose::facts::{
    ClusterFacts, ENDPOINTSLICES_YAML, ENDPOINTS_YAML, PODS_YAML, SERVICES_YAML,
};
use crate::diagnose::{Context, Evidence, Verdicts};

/// One endpoint address of a Service port.
#[derive(Debug, Clone)]
pub struct Ep<'a> {
    pub ip: &'a str,
    pub port: Option<i64>,
    pub node: Option<&'a str>,
    pub pod: Option<&'a ObjectReference>,
    pub ready: bool,
    /// Not ready but still serving while its pod terminates (kube-proxy falls back to these).
    pub serving_terminating: bool,
}

/// Where a port's endpoints were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpSource {
    Slices,
    Endpoints,
}

impl EpSource {
    pub fn artifact(self) -> String {
        ClusterFacts::artifact(match self {
            EpSource::Slices => ENDPOINTSLICES_YAML,
            EpSource::Endpoints => ENDPOINTS_YAML,
        })
    }
}

/// The endpoints of one Service port.
#[derive(Debug, Clone)]
pub struct PortEndpoints<'a> {
    pub source: EpSource,
    pub eps: Vec<Ep<'a>>,
    /// Slices (or Endpoints subsets) of the Service, whatever their ports.
    pub objects: usize,
}

impl PortEndpoints<'_> {
    pub fn ready(&self) -> impl Iterator<Item = &Ep<'_>> {
        self.eps.iter().filter(|e| e.ready)
    }
}

fn proto(p: &str) -> &str {
    if p.is_empty() {
        "TCP"
    } else {
        p
    }
}

/// The endpoints of `port` of `svc`: from its EndpointSlices when it has any, else from its
/// v1 Endpoints object; `None` when neither exists.
pub fn port_endpoints<'a>(
    cx: &'a Context<'_>,
    svc: &Service,
    port: &ServicePort,
) -> Option<PortEndpoints<'a>> {
    let ns = svc.metadata.namespace.as_str();
    let name = svc.metadata.name.as_str();
    let slices: Vec<_> = cx.cluster.slices_of(ns, name).collect();
    if !slices.is_empty() {
        let mut eps = Vec::new();
        for s in &slices {
            let Some(sp) = s
                .ports
                .iter()
                .find(|p| p.name == port.name && proto(&p.protocol) == port.protocol())
            else {
                continue;
            };
            for e in &s.endpoints {
                let ready = e.conditions.ready != Some(false);
                let serving_terminating = !ready
                    && e.conditions.serving == Some(true)
                    && e.conditions.terminating == Some(true);
                for ip in &e.addresses {
                    eps.push(Ep {
                        ip,
                        port: sp.port,
                        node: e.node_name.as_deref(),
                        pod: e.target_ref.as_ref(),
                        ready,
                        serving_terminating,
                    });
                }
            }
        }
        return Some(PortEndpoints {
            source: EpSource::Slices,
            eps,
            objects: slices.len(),
        });
    }
    let ep = cx.cluster.endpoints_of(ns, name)?;
    let mut eps = Vec::new();
    for sub in &ep.subsets {
        let Some(sp) = sub.ports.iter().find(|p| {
            (p.name == port.name || sub.ports.len() == 1) && proto(&p.protocol) == port.protocol()
        }) else {
            continue;
        };
        for (list, ready) in [(&sub.addresses, true), (&sub.not_ready_addresses, false)] {
            for a in list {
                eps.push(Ep {
                    ip: &a.ip,
                    port: sp.port,
                    node: a.node_name.as_deref(),
                    pod: a.target_ref.as_ref(),
                    ready,
                    serving_terminating: false,
                });
            }
        }
    }
    Some(PortEndpoints {
        source: EpSource::Endpoints,
        eps,
        objects: ep.subsets.len(),
    })
}

/// Whether a label selector (`spec.selector`, equality only) matches these labels.
pub fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Pods in the Service's namespace its selector picks, leaving out finished ones
/// (`Succeeded`, `Failed`), which never get endpoints.
pub fn selected_pods<'a>(cx: &'a Context<'_>, svc: &Service) -> Vec<&'a Pod> {
    cx.cluster
        .pods_in(&svc.metadata.namespace)
        .filter(|p| selects(&svc.spec.selector, &p.metadata.labels))
        .filter(|p| !matches!(p.status.phase.as_str(), "Succeeded" | "Failed"))
        .collect()
}

/// Whether the Pods list was collected (objects may still be empty).
pub fn pods_collected(cx: &Context<'_>) -> bool {
    cx.cluster.text(PODS_YAML).is_some()
}

/// `namespace/name:port-name`, kube-proxy's name for a Service port (the port name only when
/// it has one).
pub fn port_ref(svc: &Service, port: &ServicePort) -> String {
    let mut s = format!("{}/{}", svc.metadata.namespace, svc.metadata.name);
    if !port.name.is_empty() {
        s.push(':');
        s.push_str(&port.name);
    }
    s
}

/// A Service port's `targetPort`, resolved as the API server defaults it: unset means the
/// same number as `port`; a string of digits is a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Number(i64),
    Name(String),
    /// Unset, and `port` was not read either.
    Unknown,
}

pub fn target_of(port: &ServicePort) -> Target {
    match &port.target_port {
        None => port
            .number()
            .map_or(Target::Unknown, |n| Target::Number(i64::from(n))),
        Some(IntOrString::Int(n)) => Target::Number(*n),
        Some(IntOrString::String(s)) => match s.parse() {
            Ok(n) => Target::Number(n),
            Err(_) => Target::Name(s.clone()),
        },
    }
}

/// Evidence for a line of the Service's YAML: the first line containing every needle after
/// the Service's `name:` line, else a field locator.
pub fn service_evidence(
    cx: &Context<'_>,
    svc: &Service,
    needles: &[&str],
    field: &str,
    fallback: String,
) -> Evidence {
    let after = format!("name: {}", svc.metadata.name);
    let (locator, excerpt) = cx
        .cluster
        .find_line(SERVICES_YAML, Some(&after), needles)
        .map_or_else(
            || {
                (
                    format!("{}/{} {field}", svc.metadata.namespace, svc.metadata.name),
                    fallback,
                )
            },
            |(n, l)| {
                (
                    format!(
                        "line {n} ({}/{})",
                        svc.metadata.namespace, svc.metadata.name
                    ),
                    l,
                )
            },
        );
    Evidence::new(ClusterFacts::artifact(SERVICES_YAML), locator, excerpt)
}

/// The selector as `kubectl get -l` takes it.
pub fn selector_text(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Evidence from this node's dataplane that a Service port has nowhere to send traffic: its
/// ClusterIP virtual server without real servers (IPVS), or kube-proxy's `has no endpoints`
/// REJECT rule (iptables).
pub fn dataplane_evidence(cx: &Context<'_>, svc: &Service, port: &ServicePort) -> Vec<Evidence> {
    let mut ev = Vec::new();
    if let Ok(table) = &cx.node.ipvs {
        let ips: Vec<std::net::IpAddr> = svc
            .spec
            .cluster_ips
            .iter()
            .chain(std::iter::once(&svc.spec.cluster_ip))
            .filter_map(|s| s.parse().ok())
            .collect();
        for vs in &table.services {
            let Some(va) = virtual_addr(vs) else { continue };
            if ips.contains(&va.addr)
                && i64::from(va.port) == port.port
                && va.protocol.ipvsadm() == port.protocol()
                && vs.dests.is_empty()
            {
                ev.push(Evidence::new(
                    netsnap_bundle::names::IPVS_SERVICES,
                    va.to_string(),
                    format!(
                        "{va} {}: no real server",
                        vs.service.scheduler.as_deref().unwrap_or("?")
                    ),
                ));
            }
        }
    }
    let comment = format!("\"{} has no endpoints\"", port_ref(svc, port));
    for dump in cx.node.iptables() {
        for t in &dump.save.tables {
            if let Some(r) = t.rules.iter().find(|r| r.raw.contains(&comment)) {
                ev.push(Evidence::new(
                    dump.artifact.clone(),
                    format!("line {}", r.line),
                    r.raw.clone(),
                ));
            }
        }
    }
    ev
}

/// Why a check over the Services has nothing to judge, when it has not: the Kubernetes objects
/// were not collected, or there is no Service.
pub fn no_services(cx: &Context<'_>) -> Option<Verdicts> {
    if !cx.cluster.state.services.is_empty() {
        return None;
    }
    Some(Verdicts::clear(
        if cx.cluster.collected {
            "does not apply: there is no Service in the cluster objects"
        } else {
            "not judged: the Kubernetes objects were not collected, so no Service is known"
        },
        Vec::new(),
    ))
}

/// The Services read, as evidence for a verdict over all of them.
pub fn services_read(cx: &Context<'_>) -> Vec<Evidence> {
    vec![Evidence::new(
        ClusterFacts::artifact(SERVICES_YAML),
        "whole file",
        format!("{} Service(s)", cx.cluster.state.services.len()),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selector_is_a_subset_of_the_labels() {
        let labels = map(&[("app", "web"), ("pod-template-hash", "7c9d6b5f48")]);
        assert!(selects(&map(&[("app", "web")]), &labels));
        assert!(!selects(&map(&[("app", "Web")]), &labels));
        assert!(!selects(&map(&[("app", "web"), ("tier", "fe")]), &labels));
        // An empty selector selects nothing: the Service manages its endpoints by hand.
        assert!(!selects(&BTreeMap::new(), &labels));
    }

    #[test]
    fn target_port_defaults_to_the_port() {
        let mut p = ServicePort {
            port: 80,
            ..ServicePort::default()
        };
        assert_eq!(target_of(&p), Target::Number(80));
        p.target_port = Some(IntOrString::Int(8080));
        assert_eq!(target_of(&p), Target::Number(8080));
        p.target_port = Some(IntOrString::String("http".into()));
        assert_eq!(target_of(&p), Target::Name("http".into()));
        p.target_port = Some(IntOrString::String("8080".into()));
        assert_eq!(target_of(&p), Target::Number(8080));
        // A port that could not be read says nothing of where it sends.
        p.port = 0;
        p.target_port = None;
        assert_eq!(target_of(&p), Target::Unknown);
    }
}
