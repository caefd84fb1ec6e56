//! C06: kube-proxy is not running on this node, so nothing programs (or keeps programming) the
//! Service dataplane. The kubelet restarts a container that exits with a growing back-off and
//! reports `CrashLoopBackOff` as the waiting reason (kubelet `pkg/kubelet/kuberuntime`); since
//! v1.26 kube-proxy exits when its configured mode cannot be used (kubernetes PR #111806)
//! instead of falling back, so a crash loop means no rules at all. The log's error lines
//! (`"Error running ProxyServer"`, `"command failed"`, klog `F` lines) say why.

use crate::diagnose::checks::proxy::kube_proxy::{
    kube_proxy_known, kube_proxy_pods, log_evidence, log_lines, node_pods, PodState,
};
use crate::diagnose::checks::{restart_kube_proxy, Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, KUBE_PROXY_DAEMONSET_YAML, PODS_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "kube-proxy-not-running",
    catalog: "C06",
    title: "kube-proxy is not running on the node",
    layer: Layer::Proxy,
    cause: true,
    references: &[
        "https://kubernetes.io/docs/tasks/debug/debug-application/debug-service/",
        "https://github.com/kubernetes/kubernetes/pull/111806",
    ],
    evidence: "The node's kube-proxy pod in `k8s/pods.yaml` (missing, phase, waiting reason such as CrashLoopBackOff, restart count, last termination); the DaemonSet's ready count; error lines of that pod's log.",
    fix: "Fix what the log's error line names (configuration, kernel support, API server reachability), then restart kube-proxy on the node.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// Restarts of a Running, ready kube-proxy worth a warning: a few restarts after a node reboot
/// or an API server outage are normal.
const RESTARTS_WORTH_NOTING: i64 = 5;

/// Log phrases of a kube-proxy that gave up (klog error/fatal lines of `cmd/kube-proxy`).
const FATAL_NEEDLES: &[&str] = &[
    "\"Error running ProxyServer\"",
    "\"command failed\"",
    "failed complete:",
    "Error running ProxyServer",
];

fn run(cx: &Context<'_>) -> Verdicts {
    if !cx.cluster.collected {
        return Verdicts::clear(
            "not judged: the Kubernetes objects were not collected, so kube-proxy's pods are not \
             known",
            Vec::new(),
        );
    }
    if !kube_proxy_known(cx) {
        return Verdicts::clear(
            "does not apply: no kube-proxy DaemonSet, pod or ConfigMap is in the cluster objects \
             (kube-proxy runs outside Kubernetes, or a replacement does its work)",
            Vec::new(),
        );
    }
    let Some(id) = &cx.identity else {
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether kube-proxy runs on this node",
            "no Node object matches this bundle's addresses or host name, so its kube-proxy pod \
             cannot be picked out",
            Some("kubectl get nodes -o wide; kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide"),
        ));
    };
    let Some(pods) = node_pods(cx) else {
        let why = cx.cluster.why_missing(PODS_YAML).map_or_else(
            || "k8s/pods.yaml could not be read".to_string(),
            ToString::to_string,
        );
        return Verdicts::cannot(cx.not_concluded(
            &INFO,
            "whether kube-proxy runs on this node",
            why,
            Some("kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide"),
        ));
    };
    let node = id.name.clone();
    let ds = cx
        .cluster
        .state
        .daemon_sets
        .iter()
        .find(|d| d.metadata.name == "kube-proxy");
    let ds_evidence = ds.map(|d| {
        let (locator, excerpt) = cx
            .cluster
            .find_line(
                KUBE_PROXY_DAEMONSET_YAML,
                Some("status:"),
                &["numberReady:"],
            )
            .map_or_else(
                || ("status".to_string(), String::new()),
                |(n, l)| (format!("line {n}"), l),
            );
        Evidence::new(
            ClusterFacts::artifact(KUBE_PROXY_DAEMONSET_YAML),
            locator,
            format!(
                "{excerpt} (desired {}, ready {}, available {})",
                d.status.desired_number_scheduled, d.status.number_ready, d.status.number_available
            )
            .trim()
            .to_string(),
        )
    });
    let fatal: Vec<(usize, String)> = log_lines(cx, FATAL_NEEDLES);

    if pods.is_empty() {
        // Without a DaemonSet, kube-proxy may run as a static pod or a system service whose
        // pod is not labelled like kubeadm's; only a DaemonSet with pods elsewhere is evidence.
        let elsewhere = kube_proxy_pods(cx).map_or(0, |p| p.len());
        if ds.is_none() || elsewhere == 0 {
            return Verdicts::clear(
                format!(
                    "no kube-proxy pod is on node {node}, but no kube-proxy DaemonSet runs pods \
                     elsewhere either: it may run as a static pod or a system service"
                ),
                ds_evidence.into_iter().collect(),
            );
        }
        let mut f = cx.finding(
            &INFO,
            Severity::Error,
            Confidence::Medium,
            format!("no kube-proxy pod is scheduled on node {node}"),
        );
        f.detail = format!(
            "The kube-proxy DaemonSet runs {elsewhere} pod(s) on other nodes but none on {node}: \
             nothing programs Service addresses here. A nodeSelector, a taint the DaemonSet does \
             not tolerate, or a pod deleted and not recreated are the usual reasons."
        );
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(PODS_YAML),
            "pods labelled k8s-app=kube-proxy",
            format!("{elsewhere} kube-proxy pod(s), none with spec.nodeName {node}"),
        ));
        f.evidence.extend(ds_evidence);
        f.fix.push(FixStep::manual(format!(
            "Compare the DaemonSet's nodeSelector, affinity and tolerations with node {node}'s \
             labels and taints (kubectl -n kube-system get ds kube-proxy -o yaml; kubectl \
             describe node {node})."
        )));
        return Verdicts::found(f);
    }

    let mut out = Judgement::new();
    for pod in &pods {
        judge_pod(cx, pod, &node, ds_evidence.clone(), &fatal, &mut out);
    }
    out.or_clear(format!("kube-proxy runs on node {node}"), Vec::new())
}

fn judge_pod(
    cx: &Context<'_>,
    pod: &PodState,
    node: &str,
    ds_evidence: Option<Evidence>,
    fatal: &[(usize, String)],
    out: &mut Judgement,
) {
    let name = pod.metadata.name.as_str();
    let statuses = &pod.status.container_statuses;
    let waiting = statuses
        .iter()
        .find_map(|c| c.state.waiting.as_ref().map(|w| (c, w)));
    let terminated = statuses
        .iter()
        .find_map(|c| c.state.terminated.as_ref().map(|t| (c, t)));
    let restarts: i64 = statuses.iter().map(|c| c.restart_count).sum();
    let all_ready = !statuses.is_empty() && statuses.iter().all(|c| c.ready);
    let phase = pod.status.phase.as_str();

    let (severity, confidence, state) = if let Some((_, w)) = waiting {
        (
            Severity::Error,
            Confidence::High,
            format!("waiting ({})", w.reason),
        )
    } else if let Some((_, t)) = terminated {
        (
            Severity::Error,
            Confidence::High,
            format!("terminated ({})", t.reason),
        )
    } else if phase != "Running" && !phase.is_empty() {
        (
            Severity::Error,
            Confidence::High,
            format!("in phase {phase}"),
        )
    } else if restarts >= RESTARTS_WORTH_NOTING && !fatal.is_empty() {
        (
            Severity::Warning,
            Confidence::Medium,
            format!("running but restarted {restarts} times"),
        )
    } else if statuses.is_empty() || all_ready {
        out.clear(
            name,
            format!("kube-proxy pod {name} on node {node} is running"),
            vec![Evidence::new(
                ClusterFacts::artifact(PODS_YAML),
                name,
                format!(
                    "phase {}, {}",
                    if phase.is_empty() { "unknown" } else { phase },
                    if all_ready {
                        "ready"
                    } else {
                        "no container status"
                    }
                ),
            )],
        );
        return;
    } else {
        (
            Severity::Warning,
            Confidence::Medium,
            "running but not ready".to_string(),
        )
    };

    let summary = format!("kube-proxy pod {name} on node {node} is {state}");
    let mut f = cx.finding(&INFO, severity, confidence, summary);
    f.subject = Some(name.to_string());
    f.detail = "Without a running kube-proxy nothing creates or updates this node's Service \
        rules (IPVS virtual servers, iptables or nftables chains): new Services and endpoint \
        changes never arrive, and since v1.26 a kube-proxy that cannot use its configured mode \
        exits before programming anything."
        .to_string();
    let pod_line = |needle: &str| {
        cx.cluster
            .find_line(PODS_YAML, Some(&format!("name: {name}")), &[needle])
    };
    if let Some((_, w)) = waiting {
        let (locator, excerpt) = pod_line("reason:")
            .filter(|(_, l)| l.contains(&w.reason))
            .map_or_else(
                || {
                    (
                        format!("{name} .status.containerStatuses"),
                        format!("waiting: {}", w.reason),
                    )
                },
                |(n, l)| (format!("line {n} ({name})"), l),
            );
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(PODS_YAML),
            locator,
            excerpt,
        ));
    } else {
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(PODS_YAML),
            format!("{name} .status"),
            format!("phase: {phase}; {state}"),
        ));
    }
    if restarts > 0 {
        let (locator, excerpt) = pod_line("restartCount:").map_or_else(
            || {
                (
                    format!("{name} .status.containerStatuses"),
                    format!("restartCount: {restarts}"),
                )
            },
            |(n, l)| (format!("line {n} ({name})"), l),
        );
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(PODS_YAML),
            locator,
            excerpt,
        ));
    }
    if let Some(last) = statuses
        .iter()
        .find_map(|c| c.last_state.terminated.as_ref())
    {
        let mut s = format!(
            "last termination: {} (exit code {})",
            if last.reason.is_empty() {
                "?"
            } else {
                &last.reason
            },
            last.exit_code
                .map_or_else(|| "?".to_string(), |c| c.to_string())
        );
        if !last.message.is_empty() {
            s.push_str(&format!(": {}", last.message.trim()));
        }
        f.evidence.push(Evidence::new(
            ClusterFacts::artifact(PODS_YAML),
            format!("{name} .status.containerStatuses[].lastState"),
            s,
        ));
    }
    f.evidence.extend(ds_evidence);
    for (n, line) in fatal.iter().take(2) {
        f.evidence.push(log_evidence(*n, line));
    }
    if fatal.is_empty() {
        f.fix.push(FixStep::manual(format!(
            "Read why it stops: kubectl -n kube-system logs {name} --previous"
        )));
    } else {
        f.fix.push(FixStep::manual(
            "Correct what the quoted log line names (kube-proxy ConfigMap or DaemonSet, kernel \
             support for the proxy mode, API server address or credentials).",
        ));
    }
    f.fix.push(restart_kube_proxy(
        cx,
        "Then restart kube-proxy on this node.",
    ));
    out.found(f);
}
