//! Everything the checks read about one node, decoded once from its bundle. Each piece is
//! either known or missing with the reason, so a check can say "cannot conclude: X was not
//! collected (skipped: ...)" instead of passing silently.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::OnceLock;

use netsnap_bundle::{names, HostInfo};

use crate::decode::ipset::{parse_ipset_list, parse_ipset_save, Ipsets};
use crate::decode::iptables::{parse_iptables_save_bytes, IptablesSave};
use crate::decode::ipvs::IpvsTable;
use crate::decode::k8s::{
    self, ClusterState, EndpointSlice, Endpoints, K8sObject, KubeProxyConfiguration, Node, Pod,
};
use crate::decode::modules::{ModuleEvidence, ModuleStatus};
use crate::decode::nft::{parse_nft_json, NftRuleset};
use crate::decode::rtnl::{self, Address, Link, LinkNames, Route};
use crate::decode::sysctl::{parse_sysctls, SysctlValue};
use crate::decode::text::TextContent;
use crate::diagnose::finding::Evidence;
use crate::diagnose::observations;
use crate::diagnose::pasted::{TextCitations, TextFacts};
use crate::load::Bundle;
use crate::observe::{FactKind, Observation};
use crate::show;

/// The kernel's `local` routing table (`RT_TABLE_LOCAL`).
const RT_TABLE_LOCAL: u32 = 255;

/// Evidence that is missing: which artifact, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub artifact: String,
    pub why: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.artifact, self.why)
    }
}

/// A piece of evidence, decoded, or why there is none.
pub type Known<T> = Result<T, Missing>;

/// One node's evidence.
#[derive(Debug)]
pub struct NodeFacts<'a> {
    pub bundle: &'a Bundle,
    /// Where the bundle was read from, as given.
    pub origin: String,
    pub host: HostInfo,
    pub modules: ModuleEvidence,
    /// Why `/proc/modules` is missing, when it is.
    pub modules_missing: Option<Missing>,
    pub sysctls: Known<BTreeMap<String, SysctlValue>>,
    pub links: Known<Vec<Link>>,
    pub addrs: Known<Vec<Address>>,
    /// Every table, both families; route cache entries are left out.
    pub routes: Known<Vec<Route>>,
    pub ipvs: Known<IpvsTable>,
    /// Notes from decoding (partly undecodable artifacts), for the report.
    pub notes: Vec<String>,
    /// What the input's messages (logs, kernel messages, pasted text) said, by signature.
    pub observations: Vec<Observation>,
    /// Where the facts taken from pasted text were read, for evidence.
    pub text_citations: TextCitations,
    /// For pasted text: the links whose addresses a listing showed (None: all, as netlink).
    addrs_shown_for: Option<std::collections::BTreeSet<String>>,
    iptables: OnceLock<Vec<IptablesDump>>,
    ipsets: OnceLock<Known<Ipsets>>,
    nft: OnceLock<Known<NftRuleset>>,
}

/// One `iptables-save`-style dump of the node.
#[derive(Debug)]
pub struct IptablesDump {
    /// `commands/iptables-legacy-save.txt` ...
    pub artifact: String,
    /// 4 or 6.
    pub family: u8,
    pub save: IptablesSave,
}

/// The collector's `nft -j list ruleset` command name (`commands/<name>.txt`).
pub const NFT_COMMAND: &str = "nft-j-list-ruleset";

/// The collector's iptables dumps, by artifact name: each backend separately when the
/// variant tools exist, and the plain `iptables-save` (whatever backend it is).
pub const IPTABLES_COMMANDS: &[(&str, u8)] = &[
    ("iptables-legacy-save", 4),
    ("iptables-nft-save", 4),
    ("iptables-save", 4),
    ("ip6tables-legacy-save", 6),
    ("ip6tables-nft-save", 6),
    ("ip6tables-save", 6),
];

impl<'a> NodeFacts<'a> {
    pub fn from_bundle(bundle: &'a Bundle, origin: &str) -> Self {
        let mut notes = Vec::new();
        let modules = show::modules::evidence(bundle, &mut Vec::new());
        let modules_missing = missing(bundle, names::PROC_MODULES);
        let sysctls = text(bundle, names::SYSCTLS).map(|t| parse_sysctls(&t));
        let links = netlink(bundle, names::RTNL_LINKS, &mut notes, rtnl::decode_links);
        let link_names = LinkNames::from_links(links.as_deref().unwrap_or_default());
        let addrs = netlink(bundle, names::RTNL_ADDRS, &mut notes, rtnl::decode_addrs);
        let mut routes: Known<Vec<Route>> = Ok(Vec::new());
        for path in [names::RTNL_ROUTES_V4, names::RTNL_ROUTES_V6] {
            let got = netlink(bundle, path, &mut notes, |b| {
                rtnl::decode_routes(path, b, &link_names)
            });
            routes = match (routes, got) {
                (Ok(mut all), Ok(more)) => {
                    all.extend(more.into_iter().filter(|r| !r.cloned));
                    Ok(all)
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
        }
        let mut ipvs_notes = Vec::new();
        let ipvs = show::ipvs_table(bundle, &mut ipvs_notes).map_err(|e| Missing {
            artifact: names::IPVS_SERVICES.to_string(),
            why: e.to_string(),
        });
        notes.extend(ipvs_notes);
        // Pasted text stands in for what only the collector can store (netlink, /proc/modules).
        let mut modules = modules;
        let mut modules_missing = modules_missing;
        let mut text_citations = TextCitations::default();
        let mut addrs_shown_for = None;
        let (links, addrs, routes, ipvs) = if bundle.pasted().is_empty() {
            (links, addrs, routes, ipvs)
        } else {
            let text = TextFacts::from_pasted(bundle.pasted());
            text_citations = text.citations;
            if addrs.is_err() {
                addrs_shown_for = Some(text.addrs_shown_for);
            }
            if modules.proc_modules.is_none() && text.modules.is_some() {
                modules.proc_modules = text.modules;
                modules.filtered = text.modules_filtered;
                modules_missing = None;
            }
            (
                links.or_else(|m| text.links.ok_or(m)),
                addrs.or_else(|m| text.addrs.ok_or(m)),
                routes.or_else(|m| text.routes.ok_or(m)),
                ipvs.or_else(|m| text.ipvs.ok_or(m)),
            )
        };
        if let (Some(shown), Ok(links)) = (&addrs_shown_for, &links) {
            let unknown: Vec<&str> = links
                .iter()
                .map(Link::ifname)
                .filter(|n| !shown.contains(*n))
                .collect();
            if !shown.is_empty() && !unknown.is_empty() {
                notes.push(format!(
                    "the pasted address listings cover {} of {} links: the addresses of {} are \
                     unknown (paste `ip a` for all)",
                    links.len() - unknown.len(),
                    links.len(),
                    unknown.join(", ")
                ));
            }
        }
        NodeFacts {
            observations: observations::collect(bundle),
            bundle,
            origin: origin.to_string(),
            host: bundle.manifest().host.clone(),
            modules,
            modules_missing,
            sysctls,
            links,
            addrs,
            routes,
            ipvs,
            notes,
            text_citations,
            addrs_shown_for,
            iptables: OnceLock::new(),
            ipsets: OnceLock::new(),
            nft: OnceLock::new(),
        }
    }

    /// Every iptables dump that was collected, decoded on first use. Empty when none was
    /// (see [`NodeFacts::iptables_missing`] for why).
    pub fn iptables(&self) -> &[IptablesDump] {
        self.iptables.get_or_init(|| {
            let mut dumps: Vec<IptablesDump> = IPTABLES_COMMANDS
                .iter()
                .filter_map(|(name, family)| {
                    let artifact = names::command_artifact(name);
                    let bytes = self.bundle.evidence(&artifact).bytes()?;
                    Some(IptablesDump {
                        artifact,
                        family: *family,
                        save: parse_iptables_save_bytes(bytes),
                    })
                })
                .collect();
            dumps.extend(pasted_listings(self.bundle, &dumps));
            dumps
        })
    }

    /// Why each iptables dump is missing, for "cannot conclude" notes.
    pub fn iptables_missing(&self) -> Vec<Missing> {
        IPTABLES_COMMANDS
            .iter()
            .filter_map(|(name, _)| missing(self.bundle, &names::command_artifact(name)))
            .collect()
    }

    /// `nft -j list ruleset`, decoded on first use (several checks read it); for pasted text,
    /// the first `nft list ruleset` pasted.
    pub fn nft(&self) -> &Known<NftRuleset> {
        self.nft.get_or_init(|| {
            text(self.bundle, &names::command_artifact(NFT_COMMAND))
                .map(|t| parse_nft_json(t.as_bytes()))
                .or_else(|m| {
                    self.bundle
                        .pasted()
                        .iter()
                        .flat_map(|f| f.pieces())
                        .find_map(|p| match &p.content {
                            TextContent::Nft(t) => Some(t.ruleset.clone()),
                            _ => None,
                        })
                        .ok_or(m)
                })
        })
    }

    /// `ipset save`, decoded on first use.
    pub fn ipsets(&self) -> &Known<Ipsets> {
        self.ipsets.get_or_init(|| {
            // `ipset list` is what people paste; the collector stores `ipset save`.
            text(self.bundle, &names::command_artifact("ipset-save"))
                .map(|t| parse_ipset_save(&t))
                .or_else(|m| {
                    text(self.bundle, &names::command_artifact("ipset-list"))
                        .map(|t| parse_ipset_list(&t))
                        .map_err(|_| m)
                })
        })
    }

    /// The status of a kernel module.
    pub fn module(&self, name: &str) -> ModuleStatus {
        match self.modules.status(name) {
            ModuleStatus::Unknown => {
                self.module_observed(name)
                    .map_or(ModuleStatus::Unknown, |o| match o.kind {
                        FactKind::ModuleLoaded => ModuleStatus::Loaded {
                            refcount: None,
                            users: Vec::new(),
                            state: String::new(),
                        },
                        FactKind::ModuleBuiltIn => ModuleStatus::BuiltIn {
                            evidence: "a component's message",
                        },
                        _ => ModuleStatus::NotLoaded { config: None },
                    })
            }
            known => known,
        }
    }

    /// What a message said of module `name` when no module list was collected: the
    /// strongest statement (a kernel's or tool's before a component's).
    pub fn module_observed(&self, name: &str) -> Option<&Observation> {
        self.observations
            .iter()
            .filter(|o| {
                matches!(
                    o.kind,
                    FactKind::ModuleNotLoaded
                        | FactKind::ModuleLoadFailed
                        | FactKind::ModuleLoaded
                        | FactKind::ModuleBuiltIn
                ) && o.subject == name
            })
            .min_by_key(|o| o.certainty)
    }

    /// The observations of `kind`.
    pub fn observed(&self, kind: FactKind) -> impl Iterator<Item = &Observation> {
        observations::of_kind(&self.observations, kind)
    }

    /// A sysctl's value, when it was read.
    pub fn sysctl(&self, key: &str) -> Option<&str> {
        match self.sysctls.as_ref().ok()?.get(key)? {
            SysctlValue::Value(v) => Some(v.as_str()),
            _ => None,
        }
    }

    /// The link named `name`.
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links
            .as_ref()
            .ok()?
            .iter()
            .find(|l| l.ifname() == name)
    }

    /// Whether the addresses of link `ifname` are known: collected (netlink lists them all),
    /// or shown by a pasted address listing that covered that link.
    pub fn addrs_known_for(&self, ifname: &str) -> Result<(), Missing> {
        if let Err(m) = &self.addrs {
            return Err(m.clone());
        }
        match &self.addrs_shown_for {
            Some(shown) if !shown.contains(ifname) => Err(Missing {
                artifact: names::RTNL_ADDRS.to_string(),
                why: format!(
                    "was not pasted for {ifname} (`ip a` shows addresses, `ip link` does not)"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The addresses of the link with index `ifindex`.
    pub fn addrs_of(&self, ifindex: u32) -> impl Iterator<Item = &Address> {
        self.addrs
            .iter()
            .flatten()
            .filter(move |a| a.ifindex == ifindex)
    }

    /// Every local address with the link it is on.
    pub fn local_addresses(&self) -> Vec<(IpAddr, &str, &Address)> {
        let (Ok(links), Ok(addrs)) = (&self.links, &self.addrs) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for a in addrs {
            let Some(ip) = a.ip else { continue };
            let name = links
                .iter()
                .find(|l| l.summary.ifindex == a.ifindex)
                .map_or("?", Link::ifname);
            out.push((ip, name, a));
        }
        out
    }

    /// Routes whose device (or one of whose nexthops' devices) is `dev`, outside the `local`
    /// table (whose entries the kernel derives from the device's own addresses).
    pub fn routes_via<'s>(&'s self, dev: &'s str) -> impl Iterator<Item = &'s Route> + 's {
        self.routes.iter().flatten().filter(move |r| {
            r.table_id != RT_TABLE_LOCAL
                && (r.dev.as_deref() == Some(dev)
                    || r.nexthops
                        .iter()
                        .flatten()
                        .any(|n| n.dev.as_deref() == Some(dev)))
        })
    }

    /// The text of an artifact, when present.
    pub fn text(&self, path: &str) -> Known<String> {
        text(self.bundle, path)
    }
}

/// The Kubernetes side: every object from every input, and which Node each bundle is.
#[derive(Debug, Default)]
pub struct ClusterFacts {
    pub state: ClusterState,
    /// Which `k8s/` artifact each kind came from, for evidence: resource file name → path.
    pub sources: BTreeMap<&'static str, String>,
    /// `k8s/` artifacts that were not collected, and why.
    pub missing: Vec<Missing>,
    /// Whether any Kubernetes object was read at all.
    pub collected: bool,
    /// Raw texts of the `k8s/` artifacts (YAML and logs), for line lookups.
    pub texts: BTreeMap<String, String>,
    /// Per input (in the order given): objects and fields of its Kubernetes objects that
    /// could not be read, for that input's notes.
    pub input_notes: Vec<Vec<String>>,
    /// EndpointSlices by (namespace, Service name), Endpoints and Pods by namespace: checks
    /// ask per Service, and clusters have thousands of them.
    slices_by_service: HashMap<(String, String), Vec<usize>>,
    endpoints_by_name: HashMap<(String, String), usize>,
    pods_by_namespace: HashMap<String, Vec<usize>>,
}

/// The resources the collector reads with `kubectl get -o yaml` (see the collector's kubectl
/// probe), by artifact file name.
pub const SERVICES_YAML: &str = "services.yaml";
pub const ENDPOINTS_YAML: &str = "endpoints.yaml";
pub const ENDPOINTSLICES_YAML: &str = "endpointslices.discovery.k8s.io.yaml";
/// What collects the endpoints when neither list was read ([`ClusterFacts::endpoints_known`]).
pub const ENDPOINTSLICES_COMMAND: &str = "kubectl get endpointslices -A -o yaml";
pub const NODES_YAML: &str = "nodes.yaml";
pub const PODS_YAML: &str = "pods.yaml";
pub const KUBE_PROXY_CONFIGMAP_YAML: &str = "configmap-kube-system-kube-proxy.yaml";
pub const KUBE_PROXY_DAEMONSET_YAML: &str = "daemonset-kube-system-kube-proxy.yaml";
pub const KUBE_PROXY_LOGS: &str = "logs-kube-system-kube-proxy.txt";
pub const IPPOOLS_YAML: &[&str] = &[
    "ippools.crd.projectcalico.org.yaml",
    "ippools.projectcalico.org.yaml",
];
pub const FELIX_YAML: &[&str] = &[
    "felixconfigurations.crd.projectcalico.org.yaml",
    "felixconfigurations.projectcalico.org.yaml",
];

impl ClusterFacts {
    /// Reads every `k8s/*` artifact of every bundle. A later bundle's copy of an object
    /// replaces an earlier one.
    pub fn from_bundles<'b>(bundles: impl IntoIterator<Item = &'b Bundle>) -> Self {
        let mut facts = ClusterFacts::default();
        let prefix = format!("{}/", names::K8S_DIR);
        let bundles: Vec<&Bundle> = bundles.into_iter().collect();
        for &bundle in &bundles {
            let mut notes = Vec::new();
            // Listed artifacts, and files put into k8s/ by hand (a fixture, an import).
            let mut paths: Vec<&str> = bundle
                .manifest()
                .artifacts
                .iter()
                .map(|a| a.path.as_str())
                .chain(bundle.paths())
                .filter(|p| p.starts_with(&prefix))
                .collect();
            paths.sort_unstable();
            paths.dedup();
            for path in paths {
                let ev = bundle.evidence(path);
                let Some(bytes) = ev.bytes() else {
                    if let Some(why) = ev.absence() {
                        facts.missing.push(Missing {
                            artifact: path.to_string(),
                            why: why.to_string(),
                        });
                    }
                    continue;
                };
                let text = String::from_utf8_lossy(bytes).into_owned();
                if path.ends_with(".yaml") || path.ends_with(".json") {
                    match k8s::parse_objects(&text) {
                        Ok(objects) => {
                            notes.extend(unreadable(&objects, &shown_as(bundle, path)));
                            facts.collected |= !objects.is_empty();
                            facts.state.add(objects);
                        }
                        Err(e) => facts.state.problems.push(format!("{path}: {e}")),
                    }
                }
                facts.texts.insert(path.to_string(), text);
            }
            facts.input_notes.push(notes);
        }
        facts.add_pasted_partials(&bundles);
        facts.slices_from_endpoints();
        facts.index();
        facts
    }

    /// EndpointSlices from v1 Endpoints when no slice was read at all (only `kubectl get ep`
    /// pasted, or a cluster from before EndpointSlices): the same content the EndpointSlice
    /// controllers publish for a selector or mirror for custom Endpoints (kubernetes
    /// pkg/controller/endpointslicemirroring): one slice per subset, ready addresses ready,
    /// `notReadyAddresses` not ready, the subset's ports.
    fn slices_from_endpoints(&mut self) {
        let st = &mut self.state;
        if !st.endpoint_slices.is_empty() || st.endpoints.is_empty() {
            return;
        }
        let mut slices = Vec::new();
        for e in &st.endpoints {
            for (i, subset) in e.subsets.iter().enumerate() {
                let endpoint = |a: &k8s::EndpointAddress, ready: bool| k8s::Endpoint {
                    addresses: vec![a.ip.clone()],
                    conditions: k8s::EndpointConditions {
                        ready: Some(ready),
                        serving: Some(ready),
                        terminating: Some(false),
                    },
                    hostname: a.hostname.clone(),
                    node_name: a.node_name.clone(),
                    zone: None,
                    target_ref: a.target_ref.clone(),
                };
                let endpoints: Vec<k8s::Endpoint> = subset
                    .addresses
                    .iter()
                    .map(|a| endpoint(a, true))
                    .chain(
                        subset
                            .not_ready_addresses
                            .iter()
                            .map(|a| endpoint(a, false)),
                    )
                    .collect();
                let v6 = endpoints
                    .first()
                    .and_then(|x| x.addresses.first())
                    .is_some_and(|a| a.contains(':'));
                let mut metadata = k8s::ObjectMeta {
                    name: format!("{}-from-endpoints-{i}", e.metadata.name),
                    namespace: e.metadata.namespace.clone(),
                    ..k8s::ObjectMeta::default()
                };
                metadata
                    .labels
                    .insert(k8s::SERVICE_NAME_LABEL.to_string(), e.metadata.name.clone());
                slices.push(K8sObject::EndpointSlice(Box::new(EndpointSlice {
                    metadata,
                    address_type: if v6 { "IPv6" } else { "IPv4" }.to_string(),
                    endpoints,
                    ports: subset.ports.clone(),
                })));
            }
        }
        st.problems.push(
            "no EndpointSlice was read: the v1 Endpoints stand in for them, as the EndpointSlice \
             controllers would publish them"
                .to_string(),
        );
        st.add(slices);
    }

    /// Objects from kubectl's human-readable output, which shows only some of their fields:
    /// Nodes (their addresses tell which node a bundle is), and Services with their Endpoints
    /// from `kubectl describe svc`, which prints every field the checks read. Never over an
    /// object read from YAML or JSON. `kubectl get` tables of Services, Endpoints and Pods
    /// leave out target ports, traffic policies and labels, so checks would read defaults as
    /// facts: they are not used (the report lists them as not read).
    fn add_pasted_partials(&mut self, bundles: &[&Bundle]) {
        let st = &self.state;
        let mut objects = Vec::new();
        let node = |n: &Node| !st.nodes.iter().any(|m| m.metadata.name == n.metadata.name);
        let same = |a: &k8s::ObjectMeta, b: &k8s::ObjectMeta| {
            a.name == b.name && a.namespace == b.namespace
        };
        for p in bundles
            .iter()
            .flat_map(|b| b.pasted())
            .flat_map(|f| f.pieces())
        {
            match &p.content {
                TextContent::KubectlTables(t) => objects.extend(
                    t.nodes
                        .iter()
                        .filter(|n| node(&n.value))
                        .map(|n| K8sObject::Node(Box::new(n.value.clone()))),
                ),
                TextContent::KubectlDescribe(d) => {
                    objects.extend(
                        d.nodes
                            .iter()
                            .filter(|n| node(&n.value))
                            .map(|n| K8sObject::Node(Box::new(n.value.clone()))),
                    );
                    for s in &d.services {
                        if !st
                            .services
                            .iter()
                            .any(|x| same(&x.metadata, &s.value.metadata))
                        {
                            objects.push(K8sObject::Service(Box::new(s.value.clone())));
                        }
                    }
                    for e in &d.endpoints {
                        if !st
                            .endpoints
                            .iter()
                            .any(|x| same(&x.metadata, &e.value.metadata))
                        {
                            objects.push(K8sObject::Endpoints(Box::new(e.value.clone())));
                        }
                    }
                }
                _ => {}
            }
        }
        if !objects.is_empty() {
            self.collected = true;
            self.state.add(objects);
        }
    }

    fn index(&mut self) {
        let st = &self.state;
        for (i, s) in st.endpoint_slices.iter().enumerate() {
            if let Some(svc) = s.service_name() {
                self.slices_by_service
                    .entry((s.metadata.namespace.clone(), svc.to_string()))
                    .or_default()
                    .push(i);
            }
        }
        for (i, e) in st.endpoints.iter().enumerate() {
            self.endpoints_by_name
                .entry((e.metadata.namespace.clone(), e.metadata.name.clone()))
                .or_insert(i);
        }
        for (i, p) in st.pods.iter().enumerate() {
            self.pods_by_namespace
                .entry(p.metadata.namespace.clone())
                .or_default()
                .push(i);
        }
    }

    /// The EndpointSlices of Service `namespace/name`.
    pub fn slices_of<'s>(
        &'s self,
        namespace: &str,
        name: &str,
    ) -> impl Iterator<Item = &'s EndpointSlice> + 's {
        self.slices_by_service
            .get(&(namespace.to_string(), name.to_string()))
            .into_iter()
            .flatten()
            .filter_map(|i| self.state.endpoint_slices.get(*i))
    }

    /// The v1 Endpoints object `namespace/name`.
    pub fn endpoints_of(&self, namespace: &str, name: &str) -> Option<&Endpoints> {
        self.endpoints_by_name
            .get(&(namespace.to_string(), name.to_string()))
            .and_then(|i| self.state.endpoints.get(*i))
    }

    /// The Pods of a namespace.
    pub fn pods_in<'s>(&'s self, namespace: &str) -> impl Iterator<Item = &'s Pod> + 's {
        self.pods_by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .filter_map(|i| self.state.pods.get(*i))
    }

    /// The kube-proxy configuration, when the ConfigMap was read.
    pub fn kube_proxy(&self) -> Option<&KubeProxyConfiguration> {
        self.state.kube_proxy_config.as_ref()
    }

    /// The artifact path of a `k8s/` file name.
    pub fn artifact(name: &str) -> String {
        names::k8s_artifact(name)
    }

    /// The first line of artifact `name` (a `k8s/` file name) that contains every needle
    /// after the line containing `after` (when given): (1-based line number, trimmed text).
    pub fn find_line(
        &self,
        name: &str,
        after: Option<&str>,
        needles: &[&str],
    ) -> Option<(usize, String)> {
        let text = self.texts.get(&Self::artifact(name))?;
        find_line(text, after, needles)
    }

    /// Evidence for `field` of the object named `name`, from whichever of `files` (`k8s/` file
    /// names) mentions it: the field's line after the object's name (`line N (name)`), else
    /// `fallback` at `name .spec.field`.
    pub fn field_evidence(
        &self,
        files: &[&str],
        name: &str,
        field: &str,
        fallback: String,
    ) -> Evidence {
        let file = files
            .iter()
            .find(|f| self.text(f).is_some_and(|t| t.contains(name)))
            .or(files.first())
            .copied()
            .unwrap_or_default();
        let (locator, excerpt) = self
            .find_line(
                file,
                Some(&format!("name: {name}")),
                &[&format!("{field}:")],
            )
            .map_or_else(
                || (format!("{name} .spec.{field}"), fallback),
                |(n, l)| (format!("line {n} ({name})"), l),
            );
        Evidence::new(Self::artifact(file), locator, excerpt)
    }

    /// The text of a `k8s/` artifact.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.texts.get(&Self::artifact(name)).map(String::as_str)
    }

    /// Whether the Services' endpoints were read at all: an EndpointSlice or Endpoints object,
    /// or a listing of either that came back empty. Without them a Service's endpoints are
    /// unknown, not none, and nothing can be compared with them.
    pub fn endpoints_known(&self) -> Known<()> {
        let st = &self.state;
        let listed = [ENDPOINTSLICES_YAML, ENDPOINTS_YAML]
            .iter()
            .any(|name| self.text(name).is_some());
        if listed || !st.endpoint_slices.is_empty() || !st.endpoints.is_empty() {
            return Ok(());
        }
        let why = self
            .why_missing(ENDPOINTSLICES_YAML)
            .map_or("was not collected", |m| m.why.as_str());
        Err(Missing {
            artifact: Self::artifact(ENDPOINTSLICES_YAML),
            why: format!("{why}, nor were v1 Endpoints"),
        })
    }

    /// Why a `k8s/` artifact is missing, if it is listed as not collected.
    pub fn why_missing(&self, name: &str) -> Option<&Missing> {
        let path = Self::artifact(name);
        self.missing.iter().find(|m| m.artifact == path)
    }
}

/// What the report says of objects, or fields of objects, that could not be read from
/// `source`: which object, which field, why, and that the rest of the object is used.
fn unreadable(objects: &[K8sObject], source: &str) -> Vec<String> {
    objects
        .iter()
        .filter_map(|o| match o {
            K8sObject::UnreadableField { id, path, error } => Some(format!(
                "{id} {path} could not be read ({error}): left out, the rest of the object is \
                 used ({source})"
            )),
            K8sObject::Malformed { id, error } => Some(format!(
                "{id} could not be read ({error}): left out ({source})"
            )),
            _ => None,
        })
        .collect()
}

/// The name the user knows an artifact by: the pasted file(s) it was taken from, else its path
/// in the bundle.
fn shown_as(bundle: &Bundle, path: &str) -> String {
    match bundle.manifest().artifact(path).map(|a| &a.source) {
        Some(netsnap_bundle::Source::Pasted { spans }) if !spans.is_empty() => {
            let mut files: Vec<&str> = spans.iter().map(|s| s.file.as_str()).collect();
            files.dedup();
            files.join(", ")
        }
        _ => path.to_string(),
    }
}

/// The first line containing every needle, after the first line containing `after`.
pub fn find_line(text: &str, after: Option<&str>, needles: &[&str]) -> Option<(usize, String)> {
    let mut lines = text.lines().enumerate();
    if let Some(after) = after {
        lines.by_ref().find(|(_, l)| l.contains(after))?;
    }
    lines
        .find(|(_, l)| needles.iter().all(|n| l.contains(n)))
        .map(|(i, l)| (i + 1, l.trim().to_string()))
}

/// How the bundle's node was matched to a Kubernetes Node object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    pub name: String,
    /// "InternalIP 192.168.122.96 is a local address", "hostname", "hostnameOverride".
    pub basis: String,
}

/// Which Node object this bundle's node is: the Node one of whose addresses is a local
/// address of the bundle (what kubelet registered), else the one named like the host.
pub fn identify_node(node: &NodeFacts<'_>, cluster: &ClusterFacts) -> Option<NodeIdentity> {
    let local: Vec<IpAddr> = node.local_addresses().iter().map(|(ip, ..)| *ip).collect();
    let by_addr = |n: &Node| {
        n.status
            .addresses
            .iter()
            .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
            .find(|a| {
                a.address
                    .parse()
                    .is_ok_and(|ip: IpAddr| local.contains(&ip))
            })
            .map(|a| format!("its {} {} is a local address", a.type_, a.address))
    };
    for n in &cluster.state.nodes {
        if let Some(basis) = by_addr(n) {
            return Some(NodeIdentity {
                name: n.metadata.name.clone(),
                basis,
            });
        }
    }
    let host = node.host.hostname.as_str();
    let short = host.split('.').next().unwrap_or(host);
    cluster
        .state
        .nodes
        .iter()
        .find(|n| n.metadata.name == host || n.metadata.name == short)
        .map(|n| NodeIdentity {
            name: n.metadata.name.clone(),
            basis: format!("its name matches the host name {host}"),
        })
}

/// Pasted `iptables -L` listings, one dump per family (its tables together), for the families
/// no `iptables-save` output gives. The artifact is the pasted file: rules carry its lines.
fn pasted_listings(bundle: &Bundle, saves: &[IptablesDump]) -> Vec<IptablesDump> {
    let mut out: Vec<IptablesDump> = Vec::new();
    for f in bundle.pasted() {
        for p in f.pieces() {
            let TextContent::IptablesList(t) = &p.content else {
                continue;
            };
            let six = p
                .piece
                .command
                .as_deref()
                .is_some_and(|c| c.split_whitespace().any(|w| w.starts_with("ip6tables")));
            let family = if six { 6 } else { 4 };
            if saves.iter().any(|d| d.family == family) {
                continue;
            }
            // `iptables-legacy -L` and `iptables-nft -L` show one backend each, and plain
            // `iptables -L` whichever the host's alternative points to: listings of different
            // tools are different views, never one table (k3s#1114 pasted FORWARD from both).
            let variant = listing_backend(p.piece.command.as_deref());
            let mut save = t.save.clone();
            if let Some((program, backend)) = variant {
                save.header = Some(crate::decode::iptables::Header {
                    line: p.piece.first_line,
                    text: p.piece.command.clone().unwrap_or_default(),
                    program: program.to_string(),
                    version: None,
                    backend,
                });
            }
            let same = |d: &IptablesDump| {
                d.family == family
                    && d.save.header.as_ref().map(|h| h.backend) == variant.map(|(_, b)| b)
            };
            match out.iter_mut().find(|d| same(d)) {
                Some(d) => {
                    d.save.tables.extend(t.save.tables.iter().cloned());
                    if !d.artifact.split(" + ").any(|a| a == f.path) {
                        d.artifact = format!("{} + {}", d.artifact, f.path);
                    }
                }
                None => out.push(IptablesDump {
                    artifact: f.path.clone(),
                    family,
                    save,
                }),
            }
        }
    }
    out
}

/// The backend a listing's command names: `iptables-legacy` / `iptables-nft` (and their ip6
/// forms); None for plain `iptables`, whose backend the listing does not say.
fn listing_backend(
    command: Option<&str>,
) -> Option<(&'static str, crate::decode::iptables::Backend)> {
    use crate::decode::iptables::Backend;
    let tool = command?
        .split_whitespace()
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .find(|w| w.starts_with("iptables") || w.starts_with("ip6tables"))?;
    match tool.split_once('-').map(|(_, v)| v) {
        Some("legacy") => Some(("iptables-legacy", Backend::Legacy)),
        Some("nft") => Some(("iptables-nft", Backend::NfTables)),
        _ => None,
    }
}

fn missing(bundle: &Bundle, path: &str) -> Option<Missing> {
    bundle.evidence(path).absence().map(|why| Missing {
        artifact: path.to_string(),
        why: why.to_string(),
    })
}

fn text(bundle: &Bundle, path: &str) -> Known<String> {
    let ev = bundle.evidence(path);
    match ev.bytes() {
        Some(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        None => Err(missing(bundle, path).unwrap_or(Missing {
            artifact: path.to_string(),
            why: "is missing".to_string(),
        })),
    }
}

fn netlink<T>(
    bundle: &Bundle,
    path: &str,
    notes: &mut Vec<String>,
    decode: impl FnOnce(&[u8]) -> rtnl::Decoded<T>,
) -> Known<Vec<T>> {
    let ev = bundle.evidence(path);
    let Some(bytes) = ev.bytes() else {
        return Err(missing(bundle, path).unwrap_or(Missing {
            artifact: path.to_string(),
            why: "is missing".to_string(),
        }));
    };
    let d = decode(bytes);
    notes.extend(d.errors.iter().map(ToString::to_string));
    if !d.complete {
        notes.push(format!("{path}: the dump is incomplete (no NLMSG_DONE)"));
    }
    Ok(d.items)
}
