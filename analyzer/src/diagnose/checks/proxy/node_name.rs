//! C07: kube-proxy looks itself up under a name that is not this node's Node object. kube-proxy
//! uses `--hostname-override` (which wins over the config file's `hostnameOverride`,
//! `cmd/kube-proxy/app/server.go` `processHostnameOverrideFlag`), else `hostnameOverride`, else
//! the host name, lowercased. With the wrong name it cannot read its Node (log: `Failed to
//! retrieve node info`), falls back to 127.0.0.1 as node IP on older releases, and treats no
//! endpoint as local, so `externalTrafficPolicy: Local` Services drop everything on this node
//! (kubernetes #57518, PR #59678, kubespray #3610).

use crate::diagnose::checks::proxy::kube_proxy::{kube_proxy_known, log_evidence, log_lines};
use crate::diagnose::checks::{restart_kube_proxy, Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_CONFIGMAP_YAML, KUBE_PROXY_DAEMONSET_YAML};
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "kube-proxy-node-name-mismatch",
    catalog: "C07",
    title: "kube-proxy's node name differs from the Node object's name",
    layer: Layer::Proxy,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/pull/59678",
        "https://github.com/kubernetes/kubernetes/issues/57518",
        "https://github.com/kubernetes/kops/issues/2584",
        "https://github.com/kubernetes/kubernetes/issues/61486",
        "https://github.com/kubernetes-sigs/kubespray/issues/3610",
    ],
    evidence: "`--hostname-override` in the kube-proxy DaemonSet (with `$(VAR)` resolved from the container's env), `hostnameOverride` in its ConfigMap, else the node's host name, against the Node object's name; kube-proxy log lines `Failed to retrieve node info` / `127.0.0.1 as nodeIP`.",
    fix: "Set `--hostname-override=$(NODE_NAME)` with NODE_NAME from `spec.nodeName` in the DaemonSet (not one name in the shared ConfigMap), then restart kube-proxy.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// Log lines of a kube-proxy that could not find its own Node (wording of v1.1x to v1.2x).
const LOG_NEEDLES: &[&str] = &[
    "Failed to retrieve node info",
    "127.0.0.1 as nodeIP",
    "Can't determine this node's IP",
];

/// How kube-proxy names itself here, and the evidence for it.
struct Effective {
    name: String,
    /// Whether the name was set explicitly (a literal override), not derived from the host.
    explicit: bool,
    evidence: Evidence,
}

fn run(cx: &Context<'_>) -> Verdicts {
    if !cx.cluster.collected || !kube_proxy_known(cx) {
        return Verdicts::clear(
            "not judged: no kube-proxy is known from the cluster objects, so there is no node \
             name of its to compare",
            Vec::new(),
        );
    }
    let Some(id) = &cx.identity else {
        return Verdicts::clear(
            "not judged: no Node object matches this bundle, so there is no name to compare \
             kube-proxy's with",
            Vec::new(),
        );
    };
    let logs = log_lines(cx, LOG_NEEDLES);
    let effective = effective_name(cx);
    let mismatch = match &effective {
        Some(Some(e)) => e.name != id.name,
        // `$(NODE_NAME)` from spec.nodeName: right by construction.
        Some(None) => false,
        None => false,
    };
    if !mismatch && logs.is_empty() {
        let ev = match &effective {
            Some(Some(e)) => vec![e.evidence.clone()],
            _ => Vec::new(),
        };
        return Verdicts::clear(
            match &effective {
                Some(Some(_)) => format!("kube-proxy's node name is the Node's, {}", id.name),
                Some(None) => "kube-proxy takes its node name from spec.nodeName".to_string(),
                None => format!(
                    "nothing shows kube-proxy using a node name other than {}",
                    id.name
                ),
            },
            ev,
        );
    }
    let (confidence, summary) = match &effective {
        Some(Some(e)) if mismatch => (
            if e.explicit || !logs.is_empty() {
                Confidence::High
            } else {
                Confidence::Medium
            },
            format!(
                "kube-proxy on this node calls itself {}, but the Node object is {}",
                e.name, id.name
            ),
        ),
        _ => (
            Confidence::Medium,
            format!(
                "kube-proxy on node {} could not find its own Node object",
                id.name
            ),
        ),
    };
    let mut f = cx.finding(&INFO, Severity::Error, confidence, summary);
    f.detail = "kube-proxy decides which endpoints are local by comparing their nodeName with \
        its own node name. Under a name no Node has, it cannot read its Node (and older \
        releases fall back to 127.0.0.1 as node IP), no endpoint is local, and NodePort or \
        LoadBalancer traffic of Services with externalTrafficPolicy Local is dropped on this \
        node."
        .to_string();
    if let Some(Some(e)) = &effective {
        f.evidence.push(e.evidence.clone());
    }
    f.evidence.push(Evidence::new(
        "k8s/nodes.yaml",
        format!("Node {}", id.name),
        format!("this bundle is Node {} ({})", id.name, id.basis),
    ));
    for (n, line) in logs.iter().take(2) {
        f.evidence.push(log_evidence(*n, line));
    }
    f.fix.push(FixStep::manual(
        "In the kube-proxy DaemonSet, pass --hostname-override=$(NODE_NAME) with NODE_NAME taken \
         from the pod's spec.nodeName (env valueFrom.fieldRef), and leave hostnameOverride empty \
         in the shared ConfigMap (kubectl -n kube-system edit ds kube-proxy).",
    ));
    f.fix.push(restart_kube_proxy(
        cx,
        "Restart kube-proxy on this node so it looks itself up under the right name.",
    ));
    Verdicts::found(f)
}

/// kube-proxy's effective node name: `Some(Some(..))` a known name, `Some(None)` an override
/// taken from the pod's own `spec.nodeName` (right on every node), `None` unknown.
fn effective_name(cx: &Context<'_>) -> Option<Option<Effective>> {
    let ds = cx
        .cluster
        .state
        .daemon_sets
        .iter()
        .find(|d| d.metadata.name == "kube-proxy");
    if let Some(ds) = ds {
        for c in &ds.spec.template.spec.containers {
            let mut args = c.command.iter().chain(&c.args);
            let mut value = None;
            while let Some(a) = args.next() {
                if let Some(v) = a.strip_prefix("--hostname-override=") {
                    value = Some(v.to_string());
                } else if a == "--hostname-override" {
                    value = args.next().cloned();
                }
            }
            let Some(v) = value else { continue };
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            if v.starts_with("$(") {
                // `$(VAR)` is expanded by the kubelet from the container's env; only a fieldRef
                // to spec.nodeName is known to be right, anything else is not readable here.
                let yaml = cx.cluster.text(KUBE_PROXY_DAEMONSET_YAML).unwrap_or("");
                return yaml.contains("fieldPath: spec.nodeName").then_some(None);
            }
            let (locator, excerpt) = cx
                .cluster
                .find_line(KUBE_PROXY_DAEMONSET_YAML, None, &["--hostname-override"])
                .map_or_else(
                    || {
                        (
                            "spec.template.spec.containers".to_string(),
                            format!("--hostname-override={v}"),
                        )
                    },
                    |(n, l)| (format!("line {n}"), l),
                );
            return Some(Some(Effective {
                name: v.to_ascii_lowercase(),
                explicit: true,
                evidence: Evidence::new(
                    ClusterFacts::artifact(KUBE_PROXY_DAEMONSET_YAML),
                    locator,
                    excerpt,
                ),
            }));
        }
    }
    let config = cx.cluster.kube_proxy();
    if let Some(o) = config
        .map(|c| c.hostname_override.trim())
        .filter(|o| !o.is_empty())
    {
        let (locator, excerpt) = cx
            .cluster
            .find_line(KUBE_PROXY_CONFIGMAP_YAML, None, &["hostnameOverride:"])
            .map_or_else(
                || {
                    (
                        "data.config.conf".to_string(),
                        format!("hostnameOverride: {o}"),
                    )
                },
                |(n, l)| (format!("line {n} (data.config.conf)"), l),
            );
        return Some(Some(Effective {
            name: o.to_ascii_lowercase(),
            explicit: true,
            evidence: Evidence::new(
                ClusterFacts::artifact(KUBE_PROXY_CONFIGMAP_YAML),
                locator,
                excerpt,
            ),
        }));
    }
    // No override: kube-proxy runs with the host network (the node's UTS namespace) and uses
    // the host name. Only trusted when kube-proxy's configuration was actually read.
    if ds.is_none() && config.is_none() {
        return None;
    }
    let host = cx.node.host.hostname.trim();
    if host.is_empty() {
        return None;
    }
    Some(Some(Effective {
        name: host.to_ascii_lowercase(),
        explicit: false,
        evidence: Evidence::new(
            "manifest.json",
            "host.hostname",
            format!(
                "no --hostname-override or hostnameOverride: kube-proxy uses the host name {host}"
            ),
        ),
    }))
}
