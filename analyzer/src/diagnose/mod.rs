//! Diagnosis: from one or more bundles to findings linked into causal chains.
//!
//! `analyze` decodes each bundle once ([`facts`]), computes what kube-proxy should have
//! programmed ([`expect`]), runs every check of [`checks::all`] on every node, and links the
//! findings ([`chain`]). Checks never print; each returns its [`Verdicts`] on the node: findings,
//! "not concluded" notes, and clear verdicts saying why nothing is wrong.

pub mod catalog;
pub mod chain;
pub mod checks;
pub mod expect;
pub mod expect_iptables;
pub mod expect_nft;
pub mod facts;
pub mod finding;
pub mod host_kind;
pub mod observations;
pub mod pasted;
pub mod scope;
pub mod suspects;
pub mod verdict;

use std::net::IpAddr;

use serde::Serialize;

pub use finding::{
    Confidence, Evidence, Finding, FixAction, FixStep, Layer, NotConcluded, Severity, Verification,
};
pub use verdict::{CheckVerdict, Judgement, Verdict, VerdictKind, Verdicts};

use crate::load::Bundle;
use expect::{IpvsExpectation, NodeInputs};
use facts::{identify_node, ClusterFacts, NodeFacts, NodeIdentity};
use scope::InputScope;

/// At most this many observations are listed per input (a native bundle's logs can repeat
/// one message thousands of times).
pub const OBSERVATIONS_SHOWN: usize = 50;

/// The version of the JSON report's schema (`docs/report-schema.md`). A new optional field
/// bumps the minor number, a changed or removed one the major.
pub const REPORT_SCHEMA_VERSION: &str = "1.3";

/// What every check declares about itself; `docs/checks.md` lists the same.
#[derive(Debug, Clone, Copy)]
pub struct CheckInfo {
    /// Stable kebab-case id, never reused.
    pub id: &'static str,
    /// Failure catalog entry, `C01` ... (empty when outside the catalog).
    pub catalog: &'static str,
    pub title: &'static str,
    pub layer: Layer,
    /// Whether its findings are causes (true) or visible consequences of a cause (false).
    pub cause: bool,
    pub references: &'static [&'static str],
    /// For `docs/checks.md`: the evidence the check reads, in a sentence or two.
    pub evidence: &'static str,
    /// For `docs/checks.md`: the fix it proposes, in a sentence.
    pub fix: &'static str,
}

/// A check: its description and the function that runs it on one node.
#[derive(Clone, Copy)]
pub struct Check {
    pub info: &'static CheckInfo,
    /// Runs the check on one node and returns what it concluded.
    ///
    /// The return type is [`Verdicts`], which cannot be empty, rather than findings pushed into
    /// a sink: a bare early `return;` ("mode is not ipvs", "the evidence is missing") would let
    /// a check say nothing at all, and a report could not tell "checked, fine" from "never
    /// looked". Every way out of a check has to name a verdict — [`Verdicts::found`],
    /// [`Verdicts::clear`] with why (a check that does not apply here is clear, and says so,
    /// citing e.g. the proxy-mode evidence) or [`Verdicts::cannot`] — and a check judging
    /// many subjects collects them in a [`Judgement`], whose only way out,
    /// [`Judgement::or_clear`], adds the clear verdict when nothing else was recorded.
    pub run: fn(&Context<'_>) -> Verdicts,
}

/// What a check sees of one node and the cluster.
pub struct Context<'a> {
    pub node: &'a NodeFacts<'a>,
    pub cluster: &'a ClusterFacts,
    /// Which Node object this is, when the Kubernetes objects say.
    pub identity: Option<NodeIdentity>,
    /// kube-proxy's configured mode (`ipvs`, `iptables`, `nftables`), when known.
    pub proxy_mode: Option<ProxyMode>,
    /// What kube-proxy in IPVS mode should have programmed here (only in IPVS mode with the
    /// Kubernetes objects at hand).
    pub ipvs_expected: Option<IpvsExpectation>,
}

/// The configured proxy mode and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyMode {
    pub mode: String,
    pub evidence: Evidence,
}

impl Context<'_> {
    /// The name of the node for reports: the Node object's, else the host name.
    pub fn node_name(&self) -> String {
        match &self.identity {
            Some(id) => id.name.clone(),
            None => self.node.host.hostname.clone(),
        }
    }

    /// A finding of `info` about this node.
    pub fn finding(
        &self,
        info: &'static CheckInfo,
        severity: Severity,
        confidence: Confidence,
        summary: impl Into<String>,
    ) -> Finding {
        Finding {
            id: info.id,
            catalog: info.catalog,
            subject: None,
            node: Some(self.node_name()),
            severity,
            layer: info.layer,
            root_cause: false,
            explains: Vec::new(),
            explained_by: Vec::new(),
            confidence,
            summary: summary.into(),
            detail: String::new(),
            evidence: Vec::new(),
            fix: Vec::new(),
            verify: Vec::new(),
            references: info.references.to_vec(),
            is_cause: info.cause,
        }
    }

    /// A "cannot conclude" note of `info`.
    pub fn not_concluded(
        &self,
        info: &'static CheckInfo,
        question: impl Into<String>,
        reason: impl Into<String>,
        would_confirm: Option<&str>,
    ) -> NotConcluded {
        NotConcluded {
            id: info.id,
            catalog: info.catalog,
            question: question.into(),
            reason: reason.into(),
            would_confirm: would_confirm.map(str::to_string),
        }
    }
}

impl Context<'_> {
    /// What a "does not apply in this proxy mode" verdict cites: where the mode was read,
    /// when it is known.
    pub fn proxy_mode_evidence(&self) -> Vec<Evidence> {
        self.proxy_mode.iter().map(|m| m.evidence.clone()).collect()
    }

    /// "kube-proxy runs in iptables mode", or that its mode is not known.
    pub fn proxy_mode_phrase(&self) -> String {
        match &self.proxy_mode {
            Some(m) => format!("kube-proxy runs in {} mode", m.mode),
            None => "kube-proxy's mode is not known".to_string(),
        }
    }

    /// The clear verdict of a check for another proxy mode (`mode`): the mode it runs in,
    /// citing where that was read, or that nothing shows `mode`.
    pub fn not_this_mode(&self, mode: &str) -> Verdicts {
        let why = match &self.proxy_mode {
            Some(m) => format!(
                "does not apply: kube-proxy runs in {} mode, not {mode}",
                m.mode
            ),
            None => format!(
                "does not apply: nothing shows kube-proxy in {mode} mode (its configuration \
                 was not read)"
            ),
        };
        Verdicts::clear(why, self.proxy_mode_evidence())
    }
}

/// One analyzed input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputSummary {
    /// The path as given.
    pub path: String,
    pub hostname: String,
    pub kernel_release: String,
    /// What the input holds: a node's state, Kubernetes objects, or both. Only inputs with
    /// node state are run as nodes.
    pub scope: InputScope,
    /// The Kubernetes Node it was matched to, and how.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_match: Option<String>,
    pub collected_at: String,
    /// Proxy mode from the kube-proxy configuration, when read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_mode: Option<String>,
    /// Problems decoding this input's evidence.
    pub notes: Vec<String>,
    /// For pasted text: every piece of every file, what it was recognised as and whether it
    /// was read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pasted: Vec<pasted::PastedPiece>,
    /// What the input's messages stated, as the signature library read them (at most
    /// [`OBSERVATIONS_SHOWN`], first in file order): each with its certainty and where it was
    /// read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<crate::observe::Observation>,
}

/// The whole result: the model behind every report format and the fix script.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: &'static str,
    pub tool: String,
    pub inputs: Vec<InputSummary>,
    /// Root causes first, in fix order, then the findings they explain, then the rest.
    pub findings: Vec<Finding>,
    pub not_concluded: Vec<NotConcluded>,
    /// Every check on every node, in registry order per node: its summary verdict (since 1.3).
    pub checks: Vec<CheckVerdict>,
    pub counts: Counts,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Checks run, summed over the nodes.
    pub checks: usize,
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    pub root_causes: usize,
    pub not_concluded: usize,
    /// Checks (per node) whose summary verdict is clear (since 1.3).
    pub clear: usize,
    /// Checks (per node) whose summary verdict is cannot-conclude (since 1.3).
    pub cannot_conclude: usize,
}

impl Counts {
    /// Checks (per node) that found something: every check has one summary verdict.
    pub fn found(&self) -> usize {
        self.checks
            .saturating_sub(self.clear)
            .saturating_sub(self.cannot_conclude)
    }
}

impl Report {
    /// Whether any error-level finding was made (exit status 1).
    pub fn has_errors(&self) -> bool {
        self.counts.error > 0
    }

    /// Findings by key.
    pub fn get(&self, key: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.key() == key)
    }
}

/// Analyzes bundles: `(path as given, bundle)`. Kubernetes objects from all of them form one
/// cluster view; each bundle that holds node state is a node ([`scope`]).
pub fn analyze(inputs: &[(String, &Bundle)]) -> Report {
    let scopes: Vec<InputScope> = inputs.iter().map(|(_, b)| scope::scope_of(b)).collect();
    // With no node among the inputs, the Service checks still judge the cluster's objects.
    let cluster_only = !scopes.iter().any(|s| s.is_node());
    // The Kubernetes objects and each node's evidence decode independently: on their own
    // threads, so a large cluster's YAML and a large IPVS table do not wait for each other.
    let (cluster, nodes) = std::thread::scope(|scope| {
        let nodes: Vec<_> = inputs
            .iter()
            .zip(&scopes)
            .enumerate()
            .map(|(i, ((path, bundle), s))| {
                (s.is_node() || (cluster_only && i == 0))
                    .then(|| scope.spawn(move || NodeFacts::from_bundle(bundle, path)))
            })
            .collect();
        let cluster = ClusterFacts::from_bundles(inputs.iter().map(|(_, b)| *b));
        let nodes: Vec<Option<NodeFacts>> = nodes
            .into_iter()
            .map(|h| h.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))))
            .collect();
        (cluster, nodes)
    });
    let mut found: Vec<Finding> = Vec::new();
    let mut not_concluded: Vec<NotConcluded> = Vec::new();
    let mut check_verdicts: Vec<CheckVerdict> = Vec::new();
    let mut suspected = Vec::new();
    let mut summaries = Vec::new();
    let k8s_spans = pasted::Citer::k8s_spans(inputs.iter().map(|(_, b)| *b));
    for (i, (((path, bundle), node), input_scope)) in
        inputs.iter().zip(nodes).zip(&scopes).enumerate()
    {
        let m = bundle.manifest();
        let Some(node) = node else {
            // Kubernetes objects only: they are in the cluster view; nothing to run here.
            summaries.push(InputSummary {
                path: path.clone(),
                hostname: m.host.hostname.clone(),
                kernel_release: m.host.kernel_release.clone(),
                scope: *input_scope,
                node: None,
                node_match: None,
                collected_at: m.started_at.clone(),
                proxy_mode: None,
                notes: cluster
                    .input_notes
                    .get(i)
                    .into_iter()
                    .flatten()
                    .chain(&cluster.state.problems)
                    .cloned()
                    .collect(),
                pasted: pasted::pieces_of(bundle.pasted()),
                observations: Vec::new(),
            });
            continue;
        };
        let cx = context(&node, &cluster);
        let before = found.len();
        let before_checks = check_verdicts.len();
        let node_name = cx.node_name();
        let checks: Vec<&Check> = checks::all()
            .filter(|c| input_scope.is_node() || c.info.layer == Layer::Service)
            .collect();
        for (check, verdicts) in checks.iter().zip(run_checks(&cx, &checks)) {
            let (verdict, why, evidence) = verdicts.summary();
            check_verdicts.push(CheckVerdict {
                id: check.info.id,
                node: node_name.clone(),
                verdict,
                why: why.map(str::to_string),
                evidence: evidence.to_vec(),
            });
            for v in verdicts {
                match v {
                    Verdict::Found(f) => found.push(f),
                    Verdict::Cannot(n) => not_concluded.push(n),
                    Verdict::Clear { .. } => {}
                }
            }
        }
        fold_stated_causes(&mut found, before);
        let signs = host_kind::kubernetes_signs(&node, &cluster);
        let plain_host = input_scope.is_node() && signs.is_empty();
        if plain_host {
            host_kind::weigh_for_plain_host(&mut found[before..]);
            not_concluded.push(host_kind::is_it_a_node());
        }
        if input_scope.is_node() {
            residual_outside_node(&cx, &found[before..], &mut not_concluded);
        }
        // A paste is a ticket even when it holds only Kubernetes objects or one log line:
        // its suspects are named whatever its scope (suspects::suspects).
        if input_scope.is_node() || bundle.is_pasted() {
            suspected.extend(suspects::suspects(&cx, &found[before..]));
        }
        let citer = pasted::Citer::new(bundle, &node.text_citations, &k8s_spans);
        for f in &mut found[before..] {
            f.evidence.retain_mut(|e| citer.cite(e));
            // Judged on the cluster's objects alone: about no node.
            if !input_scope.is_node() {
                f.node = None;
            }
        }
        for c in &mut check_verdicts[before_checks..] {
            c.evidence.retain_mut(|e| citer.cite(e));
        }
        let m = bundle.manifest();
        let mut notes = node.notes.clone();
        if !input_scope.is_node() {
            notes.push(
                "no input holds node state (links, modules, routes, sysctls, IPVS, \
                 iptables...): only the Service checks ran, on the Kubernetes objects"
                    .to_string(),
            );
        }
        if plain_host {
            notes.push(host_kind::NO_SIGN_NOTE.to_string());
        }
        notes.extend(cluster.input_notes.get(i).into_iter().flatten().cloned());
        notes.extend(cluster.state.problems.iter().cloned());
        summaries.push(InputSummary {
            path: path.clone(),
            hostname: m.host.hostname.clone(),
            kernel_release: m.host.kernel_release.clone(),
            scope: *input_scope,
            node: cx.identity.as_ref().map(|i| i.name.clone()),
            node_match: cx.identity.as_ref().map(|i| i.basis.clone()),
            collected_at: m.started_at.clone(),
            proxy_mode: cx.proxy_mode.as_ref().map(|p| p.mode.clone()),
            notes,
            pasted: pasted::pieces_of(bundle.pasted()),
            observations: shown_observations(&node.observations),
        });
    }
    let findings = chain::link(found);
    not_concluded.sort();
    not_concluded.dedup();
    // Suspects come first, in their rank order: they answer the question the user asked.
    suspected.extend(not_concluded);
    let not_concluded = suspected;
    let mut counts = Counts {
        checks: check_verdicts.len(),
        not_concluded: not_concluded.len(),
        ..Counts::default()
    };
    for c in &check_verdicts {
        match c.verdict {
            VerdictKind::Found => {}
            VerdictKind::Clear => counts.clear += 1,
            VerdictKind::CannotConclude => counts.cannot_conclude += 1,
        }
    }
    for f in &findings {
        match f.severity {
            Severity::Error => counts.error += 1,
            Severity::Warning => counts.warning += 1,
            Severity::Info => counts.info += 1,
        }
        counts.root_causes += usize::from(f.root_cause);
    }
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool: format!("netsnap {}", env!("CARGO_PKG_VERSION")),
        inputs: summaries,
        findings,
        not_concluded,
        checks: check_verdicts,
        counts,
    }
}

/// Every check on one node, each with its own verdicts, in registry order whatever thread ran
/// it: the checks only read the facts, so they share the cores, and the report stays the same
/// bytes as when they ran one after another.
fn run_checks(cx: &Context<'_>, all: &[&Check]) -> Vec<Verdicts> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4);
    let mut done: Vec<(usize, Verdicts)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(check) = all.get(i) else { break };
                        mine.push((i, (check.run)(cx)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, out)| out).collect()
}

/// The observations an input's summary lists: one per signature, subject and value (a log
/// repeats its messages), the first of each in file order, at most [`OBSERVATIONS_SHOWN`].
fn shown_observations(all: &[crate::observe::Observation]) -> Vec<crate::observe::Observation> {
    let mut seen = std::collections::BTreeSet::new();
    all.iter()
        .filter(|o| seen.insert((o.signature, o.kind, o.subject.as_str(), o.value.as_str())))
        .take(OBSERVATIONS_SHOWN)
        .cloned()
        .collect()
}

/// A cause a component stated in its own words (`component-reported-cause`) that a dedicated
/// check also reached from the node's state is one cause: the dedicated finding stays, and
/// the message joins its evidence.
fn fold_stated_causes(found: &mut Vec<Finding>, from: usize) {
    let stated_id = checks::proxy::component_messages::INFO.id;
    let mut i = from;
    while i < found.len() {
        let f = &found[i];
        let twin = (f.id == stated_id)
            .then(|| {
                found[from..].iter().position(|g| {
                    g.id != stated_id && g.catalog == f.catalog && g.severity != Severity::Info
                })
            })
            .flatten();
        match twin {
            Some(t) => {
                let stated = found.remove(i);
                let target = &mut found[from + t - usize::from(from + t > i)];
                for e in stated.evidence {
                    if !target.evidence.contains(&e) {
                        target.evidence.push(e);
                    }
                }
            }
            None => i += 1,
        }
    }
}

/// C27: filtering outside the node (cloud security groups, NSGs, source/destination checks,
/// fabric ACLs) is never in a bundle. When nothing on a node of a multi-node cluster explains a
/// failure, it is the residual suspect: say so, and what would show it.
fn residual_outside_node(cx: &Context<'_>, found: &[Finding], notes: &mut Vec<NotConcluded>) {
    let errors = found.iter().any(|f| f.severity == Severity::Error);
    if errors || cx.cluster.state.nodes.len() < 2 {
        return;
    }
    let internal: Vec<IpAddr> = cx
        .cluster
        .state
        .nodes
        .iter()
        .flat_map(|n| n.addresses_of("InternalIP"))
        .filter_map(|a| a.parse().ok())
        .collect();
    let uplink = cx
        .node
        .local_addresses()
        .into_iter()
        .find(|(ip, ..)| internal.contains(ip))
        .map_or_else(|| "<uplink>".to_string(), |(_, dev, _)| dev.to_string());
    notes.push(NotConcluded {
        id: "cloud-filtering-not-visible",
        catalog: "C27",
        question: "whether the network between the nodes (cloud security groups, NSGs, \
                   source/destination checks, switch ACLs) drops NodePort or overlay traffic"
            .to_string(),
        reason: "no cause was found on this node, and filtering outside the node cannot be \
                 seen from it"
            .to_string(),
        would_confirm: Some(format!(
            "capture on both nodes while reproducing (tcpdump -ni {uplink} 'ip proto 4 or udp \
             port 4789 or udp port 8472 or tcp portrange 30000-32767'); check the cloud's \
             security groups and flow logs for IP protocol 4, VXLAN and the NodePort range"
        )),
    });
}

/// The context checks run in: node identity, proxy mode and the IPVS expectation. Public for
/// benchmarks that time checks one by one.
pub fn context<'a>(node: &'a NodeFacts<'a>, cluster: &'a ClusterFacts) -> Context<'a> {
    let identity = identify_node(node, cluster);
    let proxy_mode = proxy_mode(cluster)
        .or_else(|| ipvs_mode_seen(node, cluster))
        .or_else(|| proxy_mode_said(node));
    let mut cx = Context {
        node,
        cluster,
        identity,
        proxy_mode,
        ipvs_expected: None,
    };
    if cx.proxy_mode.as_ref().is_some_and(|m| m.mode == "ipvs") && cluster.collected {
        let config = cluster.kube_proxy();
        let override_name = config.map_or("", |c| c.hostname_override.as_str());
        let node_name = if override_name.is_empty() {
            cx.node_name()
        } else {
            override_name.to_string()
        };
        let local_addresses: Vec<(IpAddr, String)> = node
            .local_addresses()
            .into_iter()
            .map(|(ip, dev, _)| (ip, dev.to_string()))
            .collect();
        let empty = Vec::new();
        let inputs = NodeInputs {
            node_name: &node_name,
            local_addresses,
            node_port_cidrs: config.map_or(&empty, |c| &c.node_port_addresses),
            scheduler: config.map_or("", |c| c.ipvs.scheduler.as_str()),
        };
        cx.ipvs_expected = Some(expect::expect_ipvs(&cluster.state, &inputs));
    }
    cx
}

/// IPVS mode read off the node when its configuration was not collected (pasted text seldom
/// has the ConfigMap): a Service's ClusterIP is an IPVS virtual server, which only kube-proxy's
/// IPVS mode programs (pkg/proxy/ipvs), and no other mode's rules are there (KUBE-SVC-*
/// chains, table `ip kube-proxy`), whose leftovers would make the guess ambiguous.
fn ipvs_mode_seen(node: &NodeFacts<'_>, cluster: &ClusterFacts) -> Option<ProxyMode> {
    let table = node.ipvs.as_ref().ok()?;
    let cluster_ips: Vec<(IpAddr, &str)> = cluster
        .state
        .services
        .iter()
        .flat_map(|s| {
            let name = s.metadata.name.as_str();
            s.spec
                .cluster_ips
                .iter()
                .chain(std::iter::once(&s.spec.cluster_ip))
                .filter_map(move |ip| Some((ip.parse().ok()?, name)))
        })
        .collect();
    let (ip, port, service) = table.services.iter().find_map(|v| {
        let addr = v.service.addr?;
        let (_, service) = cluster_ips.iter().find(|(ip, _)| *ip == addr)?;
        Some((addr, v.service.port.unwrap_or_default(), *service))
    })?;
    let at = match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    };
    let iptables_mode = node.iptables().iter().any(|d| {
        d.save
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .any(|c| c.name.starts_with("KUBE-SVC-"))
    });
    let nft_mode = node
        .nft()
        .as_ref()
        .is_ok_and(|r| r.tables.iter().any(|t| t.name == "kube-proxy"));
    if iptables_mode || nft_mode {
        return None;
    }
    Some(ProxyMode {
        mode: "ipvs".to_string(),
        evidence: Evidence::new(
            netsnap_bundle::names::IPVS_SERVICES,
            format!("virtual server {at}"),
            format!(
                "Service {service}'s ClusterIP {at} is an IPVS virtual server: kube-proxy runs \
                 in IPVS mode (its configuration was not collected)"
            ),
        ),
    })
}

/// The configured proxy mode as kube-proxy's own messages state it, when neither its
/// configuration nor the dataplane said: a fall-back names the mode it was configured with
/// (`Can't use ipvs proxier, trying iptables proxier`), else the mode it says it uses.
fn proxy_mode_said(node: &NodeFacts<'_>) -> Option<ProxyMode> {
    use crate::observe::FactKind;
    let (mode, o) = node
        .observed(FactKind::ProxyModeFallback)
        .map(|o| (o.subject.clone(), o))
        .chain(
            node.observed(FactKind::ProxyMode)
                .map(|o| (o.value.clone(), o)),
        )
        .find(|(mode, _)| !mode.is_empty())?;
    Some(ProxyMode {
        mode: mode.to_ascii_lowercase(),
        evidence: o.evidence.clone(),
    })
}

/// The configured proxy mode: the kube-proxy ConfigMap's `mode`, else a `--proxy-mode` flag
/// of the DaemonSet. An empty mode means iptables on Linux.
fn proxy_mode(cluster: &ClusterFacts) -> Option<ProxyMode> {
    use facts::{KUBE_PROXY_CONFIGMAP_YAML, KUBE_PROXY_DAEMONSET_YAML};
    if let Some(config) = cluster.kube_proxy() {
        let mode = config.effective_mode().to_string();
        let (locator, excerpt) =
            match cluster.find_line(KUBE_PROXY_CONFIGMAP_YAML, None, &["mode:"]) {
                Some((n, l)) => (format!("line {n} (data.config.conf)"), l),
                None => (
                    "data.config.conf".to_string(),
                    format!("mode not set: kube-proxy's default on Linux is {mode}"),
                ),
            };
        return Some(ProxyMode {
            mode,
            evidence: Evidence::new(
                ClusterFacts::artifact(KUBE_PROXY_CONFIGMAP_YAML),
                locator,
                excerpt,
            ),
        });
    }
    for ds in &cluster.state.daemon_sets {
        for c in &ds.spec.template.spec.containers {
            let args = c.command.iter().chain(&c.args);
            let mut prev_flag = false;
            for a in args {
                let mode = if let Some(m) = a.strip_prefix("--proxy-mode=") {
                    Some(m)
                } else if prev_flag {
                    Some(a.as_str())
                } else {
                    None
                };
                prev_flag = a == "--proxy-mode";
                if let Some(mode) = mode {
                    let (locator, excerpt) = cluster
                        .find_line(KUBE_PROXY_DAEMONSET_YAML, None, &["--proxy-mode"])
                        .map_or_else(
                            || ("spec.template.spec.containers".to_string(), a.clone()),
                            |(n, l)| (format!("line {n}"), l),
                        );
                    return Some(ProxyMode {
                        mode: mode.to_string(),
                        evidence: Evidence::new(
                            ClusterFacts::artifact(KUBE_PROXY_DAEMONSET_YAML),
                            locator,
                            excerpt,
                        ),
                    });
                }
            }
        }
    }
    None
}
