//! Expected vs actual, IPVS mode: a virtual server exists but its real servers do not match
//! the Service's usable endpoints (`pkg/proxy/ipvs/proxier.go` `syncEndpoint`; endpoint choice
//! per `pkg/proxy/topology.go` `CategorizeEndpoints`). Real servers with weight 0 are
//! kube-proxy's graceful termination and expected.

use crate::diagnose::checks::proxy::evidence_rules::not_applicable;
use crate::diagnose::checks::{ipvs_table_or_empty, list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::expect::{self, RealServer};
use crate::diagnose::facts::ENDPOINTSLICES_COMMAND;
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "ipvs-real-servers-wrong",
    catalog: "",
    title: "IPVS real servers differ from the Service's endpoints",
    layer: Layer::Proxy,
    cause: false,
    references: &[
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/ipvs/proxier.go",
        "https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/topology.go",
    ],
    evidence: "Each virtual server's real servers against the Service's ready (or serving-terminating) endpoints from EndpointSlices, honouring traffic policies; weight-0 real servers are ignored.",
    fix: "Read kube-proxy's log for sync errors; restart kube-proxy.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn fmt_reals(r: &[RealServer]) -> String {
    let v: Vec<String> = r
        .iter()
        .map(|(ip, port)| match ip {
            std::net::IpAddr::V4(a) => format!("{a}:{port}"),
            std::net::IpAddr::V6(a) => format!("[{a}]:{port}"),
        })
        .collect();
    list_capped(&v, EVIDENCE_ITEMS)
}

fn run(cx: &Context<'_>) -> Verdicts {
    let Some(exp) = &cx.ipvs_expected else {
        return not_applicable(cx, "ipvs");
    };
    let (table, table_ev) = match ipvs_table_or_empty(cx) {
        Ok(t) => t,
        Err(m) => {
            // ipvs-virtual-server-missing says why the table is missing.
            return Verdicts::clear(
                format!("nothing to compare: the IPVS table was not read ({m})"),
                Vec::new(),
            );
        }
    };
    // Endpoints that were not collected are unknown, not none: every real server would look
    // wrong.
    if let Err(m) = cx.cluster.endpoints_known() {
        if table.services.iter().any(|vs| !vs.dests.is_empty()) {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "whether the IPVS real servers are the Services' endpoints",
                m.to_string(),
                Some(ENDPOINTSLICES_COMMAND),
            ));
        }
        return Verdicts::clear("no real server to compare", vec![table_ev]);
    }
    let mut out = Judgement::new();
    let excluded = cx
        .cluster
        .kube_proxy()
        .map(|c| c.ipvs.exclude_cidrs.clone())
        .unwrap_or_default();
    let diff = expect::diff(exp, &table, &excluded);
    for w in &diff.wrong {
        if w.missing_reals.is_empty() && w.extra_reals.is_empty() {
            continue;
        }
        let none_left = w.actual.dests.iter().all(|d| d.weight == Some(0));
        let severity = if none_left || !w.extra_reals.is_empty() {
            Severity::Error
        } else {
            Severity::Warning
        };
        let mut parts = Vec::new();
        if !w.missing_reals.is_empty() {
            parts.push(format!("lacks {}", fmt_reals(&w.missing_reals)));
        }
        if !w.extra_reals.is_empty() {
            parts.push(format!(
                "still sends to {} (no such ready endpoint)",
                fmt_reals(&w.extra_reals)
            ));
        }
        let mut f = cx.finding(
            &INFO,
            severity,
            Confidence::High,
            format!(
                "IPVS virtual server {} of {} {}",
                w.expected.vaddr,
                w.expected.service,
                parts.join(" and ")
            ),
        );
        f.subject = Some(format!("{} {}", w.expected.service, w.expected.vaddr));
        f.detail = "kube-proxy keeps each virtual server's real servers equal to the Service's \
            ready endpoints (local ones only where a traffic policy is Local). A difference \
            means kube-proxy is not syncing, or stale state is left behind."
            .to_string();
        f.evidence.push(Evidence::new(
            table_ev.artifact.clone(),
            w.expected.vaddr.to_string(),
            format!(
                "{} real servers: {}",
                w.actual.dests.len(),
                fmt_reals(
                    &w.actual
                        .dests
                        .iter()
                        .filter_map(|d| Some((d.addr?, d.port?)))
                        .collect::<Vec<_>>()
                )
            ),
        ));
        f.evidence.push(Evidence::new(
            "k8s/endpointslices.discovery.k8s.io.yaml",
            w.expected.service.to_string(),
            format!(
                "usable endpoints: {}",
                fmt_reals(&w.expected.reals.iter().copied().collect::<Vec<_>>())
            ),
        ));
        f.verify.push(
            w.expected
                .vaddr
                .verify_connect(&w.expected.service.port_name),
        );
        f.fix.push(FixStep::manual(
            "Check kube-proxy's log on this node for sync errors, then restart it so it \
             resyncs the real servers.",
        ));
        out.found(f);
    }
    let why = if table.services.is_empty() {
        "no IPVS virtual server to compare: there are none here (ipvs-virtual-server-missing \
         judges the missing ones)"
    } else {
        "every IPVS virtual server here has the real servers its endpoints call for"
    };
    out.or_clear(why, vec![table_ev])
}
