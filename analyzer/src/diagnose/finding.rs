//! What a check concludes: findings with evidence, and what could not be concluded.
//!
//! One model feeds every output (text, Markdown, JSON, fix script), so everything a renderer
//! needs is here, typed, and nothing here is formatted for one renderer.

use serde::Serialize;

/// How bad a finding is for the Service traffic the user asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Breaks Service traffic on this node.
    Error,
    /// Breaks it under some conditions, or will after the next change (reboot, restart).
    Warning,
    /// Worth knowing; not a fault by itself.
    Info,
}

/// How sure the check is that its conclusion holds, given the evidence it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// The decisive evidence was all there and agrees.
    High,
    /// Strong evidence, but a piece that would settle it was missing or indirect.
    Medium,
    /// A plausible explanation; other causes fit the evidence as well.
    Low,
}

/// Where on the packet's path a cause sits. Root causes are reported, and fixed, in this
/// order: a fix further down the path cannot be verified while one before it is broken
/// (failure catalog, part 3, rule 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// Kernel modules the proxy mode needs.
    Kernel,
    /// kube-proxy itself: running, configured, programming the dataplane.
    Proxy,
    /// Services, endpoints, pods.
    Service,
    /// Node sysctls and host firewall.
    Node,
    /// CNI and overlay: tunnels, routes, MTU.
    Overlay,
    /// Outside the node (cloud filtering); never visible in a bundle.
    External,
}

/// One piece of evidence: where it is and what it says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    /// Artifact path inside the bundle (`proc/modules`, `k8s/services.yaml`), or the pasted
    /// file it came from.
    pub artifact: String,
    /// Where inside the artifact: `line 12`, `link tunl0`, `manifest entry`, `default/web
    /// .spec.ports[0]`.
    pub locator: String,
    /// The text itself, or what is missing from it (`no ip_vs entry among 43 modules`).
    pub excerpt: String,
}

impl Evidence {
    pub fn new(
        artifact: impl Into<String>,
        locator: impl Into<String>,
        excerpt: impl Into<String>,
    ) -> Self {
        Evidence {
            artifact: artifact.into(),
            locator: locator.into(),
            excerpt: excerpt.into(),
        }
    }
}

/// What a fix step does, typed, so the fix script can guard it by the exact condition it
/// fixes. The human-readable text of a step lives in [`FixStep::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FixAction {
    /// `modprobe` each module that is not loaded.
    LoadModules { modules: Vec<String> },
    /// A modules-load.d drop-in of our own so the modules come back after a reboot.
    PersistModules { modules: Vec<String> },
    /// Set a sysctl now and persist it in a sysctl.d drop-in of our own.
    SetSysctl { key: String, value: String },
    /// Restart a DaemonSet's pod on this node by deleting it (the DaemonSet recreates it), or
    /// the whole DaemonSet when the node is not known.
    RestartNodePod {
        namespace: String,
        daemonset: String,
        /// Label selector of the DaemonSet's pods.
        selector: String,
        node: Option<String>,
    },
    /// `kubectl patch <resource> <name> --type=merge -p <patch>`.
    KubectlPatch {
        resource: String,
        namespace: Option<String>,
        name: String,
        patch: String,
    },
    /// `ip link set DEV down`, when nothing needs the device any more.
    LinkDown { ifname: String },
    /// `ip addr flush dev DEV`.
    FlushAddresses { ifname: String },
    /// Delete routes through a device that carry the given protocol (`bird`).
    DeleteRoutes {
        ifname: String,
        protocol: Option<String>,
        destinations: Vec<String>,
    },
    /// Shown to the operator, never run: the step needs a judgement or access we lack.
    Manual,
}

/// One step of a finding's fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixStep {
    /// What to do and why, for a person.
    pub text: String,
    /// The commands a person would type, for reports (the fix script builds its own guarded
    /// form from `action`).
    pub commands: Vec<String>,
    pub action: FixAction,
}

impl FixStep {
    pub fn manual(text: impl Into<String>) -> Self {
        FixStep {
            text: text.into(),
            commands: Vec::new(),
            action: FixAction::Manual,
        }
    }

    pub fn new(text: impl Into<String>, commands: Vec<String>, action: FixAction) -> Self {
        FixStep {
            text: text.into(),
            commands,
            action,
        }
    }

    /// Load `modules` now, and at every boot from our own modules-load.d file. Every finding
    /// adds its modules to the same file, line by line, so one never undoes another and the
    /// user's own files stay untouched.
    pub fn load_modules(modules: &[String]) -> [FixStep; 2] {
        let list = modules.join(", ");
        let it = if modules.len() == 1 { "it" } else { "them" };
        [
            FixStep::new(
                format!("Load {list} now."),
                modules.iter().map(|m| format!("modprobe -- {m}")).collect(),
                FixAction::LoadModules {
                    modules: modules.to_vec(),
                },
            ),
            FixStep::new(
                format!(
                    "Load {it} at every boot, from {MODULES_LOAD_CONF} (ours; existing files stay \
                     untouched)."
                ),
                modules
                    .iter()
                    .map(|m| {
                        format!(
                            "grep -qx {m} {MODULES_LOAD_CONF} 2>/dev/null || echo {m} >> {MODULES_LOAD_CONF}"
                        )
                    })
                    .collect(),
                FixAction::PersistModules {
                    modules: modules.to_vec(),
                },
            ),
        ]
    }

    /// `kubectl patch RESOURCE NAME --type=merge -p PATCH` on a cluster-scoped object.
    pub fn kubectl_patch(text: impl Into<String>, resource: &str, name: &str, patch: &str) -> Self {
        FixStep::new(
            text,
            vec![format!(
                "kubectl patch {resource} {name} --type=merge -p '{patch}'"
            )],
            FixAction::KubectlPatch {
                resource: resource.to_string(),
                namespace: None,
                name: name.to_string(),
                patch: patch.to_string(),
            },
        )
    }
}

/// How to see on the node that a finding is gone. The fix script checks these at its end, and
/// prints the client probes for the operator to try.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verification {
    /// The IPVS virtual server exists (`ipvsadm -Ln -t|-u|--sctp-service ADDRESS`).
    IpvsVirtualServer {
        /// `tcp`, `udp` or `sctp`.
        protocol: String,
        /// `10.96.0.1:443`, `[fd00::1]:443`.
        address: String,
    },
    /// A nat rule of kube-proxy's exists: one line of `iptables -t nat -S CHAIN` (or
    /// `ip6tables`) holds every part (`-d 10.96.0.10/32`, `-p udp`, `--dport 53`).
    IptablesRule {
        family: u8,
        chain: String,
        parts: Vec<String>,
    },
    /// A connection to try from a client outside the node; the fix script prints it, never
    /// runs it (the node itself takes other paths than a client does).
    Connect {
        /// `tcp`, `udp` or `sctp`.
        protocol: String,
        address: String,
        /// The Service port's name, which hints at the application protocol (`https`, `dns`).
        port_name: String,
    },
}

/// The modules-load.d file netsnap's fixes write to (issue: never overwrite the user's files).
pub const MODULES_LOAD_CONF: &str = "/etc/modules-load.d/netsnap-kube-proxy.conf";

/// One conclusion of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The check's stable id (kebab-case, never reused).
    pub id: &'static str,
    /// The failure catalog entry (`C01`), or empty for findings outside the catalog.
    pub catalog: &'static str,
    /// What the finding is about when one check can fire several times (a Service port, a
    /// link); part of [`Finding::key`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The node the finding is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub severity: Severity,
    pub layer: Layer,
    /// Filled by the causal-chain pass: true when no other finding explains this one and it
    /// is a cause rather than a symptom.
    pub root_cause: bool,
    /// Keys of the findings this one explains (filled by the causal-chain pass).
    pub explains: Vec<String>,
    /// Keys of the findings that explain this one (filled by the causal-chain pass).
    pub explained_by: Vec<String>,
    pub confidence: Confidence,
    /// One sentence.
    pub summary: String,
    /// Why this matters: the mechanism, in a few sentences.
    pub detail: String,
    pub evidence: Vec<Evidence>,
    pub fix: Vec<FixStep>,
    /// What shows, once fixed, that the finding is gone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<Verification>,
    /// Upstream sources the conclusion rests on.
    pub references: Vec<&'static str>,
    /// Whether the check considers this a cause (true) or a visible consequence (false).
    #[serde(skip)]
    pub is_cause: bool,
}

impl Finding {
    /// Unique within a report: the id, and the subject when there is one.
    pub fn key(&self) -> String {
        match &self.subject {
            Some(s) => format!("{}[{}]", self.id, s),
            None => self.id.to_string(),
        }
    }
}

/// A question a check could not answer, and why: missing evidence is information, never a
/// silent pass.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NotConcluded {
    /// The check's id.
    pub id: &'static str,
    pub catalog: &'static str,
    /// What could not be decided.
    pub question: String,
    /// Why: which evidence was missing or unreadable.
    pub reason: String,
    /// What would settle it (evidence to collect, a command to run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_confirm: Option<String>,
}
