//! `kubectl get svc|ep|endpointslices|pods|nodes [-A] [-o wide]` tables into partial
//! [`Service`], [`Endpoints`], [`EndpointSlice`], [`Pod`] and [`Node`] objects.
//!
//! kubectl's human-readable printer (kubernetes `pkg/printers/internalversion/printers.go`,
//! cli-runtime's table printer) writes one row per object through a tabwriter with a minimum
//! cell width of 6 and a padding of 3 spaces, so every cell of a column starts at the offset of
//! its header and columns are at least 3 spaces apart. Cells are cut at the header's offsets,
//! not at whitespace: `RESTARTS` (`3 (2m ago)`) and `OS-IMAGE` hold spaces. Headers are upper
//! case; `-A` adds a `NAMESPACE` column, `-o wide` the wide columns; `kubectl get svc,ep`
//! prints one table per kind separated by a blank line, with `service/NAME` names. The kind
//! of a table is read from its header (always in the paste), which is checked against the
//! command line when that names a single resource.
//!
//! What each column carries, from the printers: `CLUSTER-IP` is the first of `clusterIPs`
//! (`<none>` when empty, `None` for a headless Service); `EXTERNAL-IP` is `<none>` or the
//! `externalIPs` of a ClusterIP or NodePort Service, the external name of an ExternalName one,
//! and for a LoadBalancer the sorted ingress IPs or hostnames followed by the `externalIPs`
//! (`<pending>` when there are none), clipped to 13 characters and `...` without `-o wide`;
//! `PORT(S)` is `PORT[:NODEPORT]/PROTO,...`; `ENDPOINTS` lists the first 3 `ip:port` pairs of
//! the ready addresses (subset by subset, port by port) and `+ N more...`; an EndpointSlice's
//! `PORTS` and `ENDPOINTS` the first 3 ports (`*` for none) and addresses; a pod's `IP` is the
//! first of `podIPs`; a node's `INTERNAL-IP`/`EXTERNAL-IP` the first address of that type.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::issue::TextIssue;
use super::Source;
use crate::decode::k8s::Endpoint as SliceEndpoint;
use crate::decode::k8s::{
    EndpointAddress, EndpointPort, EndpointSlice, EndpointSubset, Endpoints, LoadBalancerIngress,
    Node, NodeAddress, ObjectMeta, Pod, PodIp, Service, ServicePort,
};

/// A Kubernetes object read from kubectl's human-readable output, which shows only some of its
/// fields. `value` holds what the text showed; every other field keeps its default because it
/// was not shown, not because it is empty. `shown` and `partly_shown` say which is which.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Partial<T> {
    pub value: T,
    /// The 1-based line of the object's row, or of its `Name:` line in `kubectl describe`.
    pub line: usize,
    /// Fields the text showed in full, as paths of the object's YAML form (`spec.clusterIP`,
    /// `spec.ports.nodePort`). A shown field that is empty was printed as empty (`<none>`).
    pub shown: BTreeSet<&'static str>,
    /// Fields of which the text showed a part only: the first cluster IP, the first three
    /// endpoints before `+ 2 more...`, a clipped load balancer address.
    pub partly_shown: BTreeSet<&'static str>,
    /// Every column (or describe field) as printed, by its header, including those the model
    /// has no field for (`AGE`, `STATUS`, `RESTARTS`, `ROLES`, `Events`).
    pub printed: Vec<(String, String)>,
}

impl<T: Default> Partial<T> {
    pub(crate) fn new(line: usize) -> Self {
        Partial {
            value: T::default(),
            line,
            shown: BTreeSet::new(),
            partly_shown: BTreeSet::new(),
            printed: Vec::new(),
        }
    }
}

impl<T> Partial<T> {
    /// Whether the text showed the field `path` in full.
    pub fn shows(&self, path: &str) -> bool {
        self.shown.contains(path)
    }

    /// The value printed under `header` (a column such as `STATUS`, or a describe field).
    pub fn printed(&self, header: &str) -> Option<&str> {
        self.printed
            .iter()
            .find(|(h, _)| h == header)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn show(&mut self, path: &'static str) {
        self.shown.insert(path);
    }

    pub(crate) fn show_part(&mut self, path: &'static str) {
        self.partly_shown.insert(path);
    }
}

impl Partial<Pod> {
    /// `READY` (`1/2`): ready containers and containers.
    pub fn ready(&self) -> Option<(u32, u32)> {
        self.printed("READY").and_then(ready_counts)
    }

    /// `RESTARTS` (`3` or `3 (2m ago)`): restarts of all containers.
    pub fn restarts(&self) -> Option<u64> {
        self.printed("RESTARTS").and_then(restart_count)
    }
}

impl Partial<Node> {
    /// From `STATUS`: `Some(true)` for `Ready`, `Some(false)` for `NotReady` (the Ready condition
    /// is False or Unknown), `None` when the node has no Ready condition (`Unknown`).
    pub fn ready(&self) -> Option<bool> {
        let status = self.printed("STATUS")?;
        status.split(',').find_map(|w| match w {
            "Ready" => Some(true),
            "NotReady" => Some(false),
            _ => None,
        })
    }

    /// `ROLES` (`control-plane,worker`; empty for `<none>`).
    pub fn roles(&self) -> Vec<&str> {
        match self.printed("ROLES") {
            None | Some("<none>") => Vec::new(),
            Some(r) => r.split(',').collect(),
        }
    }
}

/// The resource a table lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TableKind {
    Services,
    Endpoints,
    EndpointSlices,
    Pods,
    Nodes,
    /// A resource netsnap does not read (deployments, configmaps ...).
    Other,
}

/// One table of the piece: its header line and columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub line: usize,
    pub kind: TableKind,
    pub columns: Vec<String>,
}

/// What `kubectl get` tables were read into.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TablesText {
    pub tables: Vec<Table>,
    pub services: Vec<Partial<Service>>,
    pub endpoints: Vec<Partial<Endpoints>>,
    pub endpoint_slices: Vec<Partial<EndpointSlice>>,
    pub pods: Vec<Partial<Pod>>,
    pub nodes: Vec<Partial<Node>>,
    #[serde(skip)]
    pub issues: Vec<TextIssue>,
}

const WHAT: &str = "a kubectl get table";

/// A column: its header and the character offset it starts at.
struct Column {
    name: String,
    start: usize,
}

/// Parses `kubectl get` tables.
pub fn parse(src: &Source<'_>) -> TablesText {
    let cmd = Command::read(src.command());
    let mut out = TablesText::default();
    let mut table: Option<(TableKind, Vec<Column>)> = None;
    for (n, line) in src.lines() {
        if line.trim().is_empty() {
            table = None;
            continue;
        }
        // kubectl's message for an empty list (on stderr, pasted with the rest).
        if line.starts_with("No resources found") {
            table = None;
            continue;
        }
        let Some((kind, columns)) = &table else {
            match header(line) {
                Some(columns) => {
                    let kind = kind_of(&columns);
                    check_header(&mut out.issues, n, kind, &columns, &cmd);
                    out.tables.push(Table {
                        line: n,
                        kind,
                        columns: columns.iter().map(|c| c.name.clone()).collect(),
                    });
                    table = Some((kind, columns));
                }
                None => out.issues.push(src.bad(n, WHAT, "not a table header")),
            }
            continue;
        };
        if *kind == TableKind::Other {
            continue;
        }
        if src.cut_at_end && n == src.last_line {
            out.issues.push(TextIssue::CutMidLine { line: n });
            continue;
        }
        let Some(cells) = cells(line, columns) else {
            out.issues
                .push(src.bad(n, WHAT, "its columns do not line up with the header's"));
            continue;
        };
        let row = Row {
            line: n,
            cells: columns.iter().map(|c| c.name.as_str()).zip(cells).collect(),
        };
        let mut bad = |reason| out.issues.push(src.bad(n, WHAT, reason));
        match kind {
            TableKind::Services => out.services.push(service(&row, &cmd, &mut bad)),
            TableKind::Endpoints => out.endpoints.push(endpoints(&row, &cmd, &mut bad)),
            TableKind::EndpointSlices => out.endpoint_slices.push(slice(&row, &cmd, &mut bad)),
            TableKind::Pods => out.pods.push(pod(&row, &cmd, &mut bad)),
            TableKind::Nodes => out.nodes.push(node(&row, &mut bad)),
            TableKind::Other => {}
        }
    }
    out
}

/// What the command line says: the namespace (`-n`), and the resource when it names one.
#[derive(Default)]
struct Command {
    namespace: Option<String>,
    resource: Option<TableKind>,
}

impl Command {
    fn read(command: Option<&str>) -> Command {
        let mut c = Command::default();
        let Some(command) = command else {
            return c;
        };
        let words: Vec<&str> = command.split_whitespace().collect();
        let mut resource = None;
        let mut after_get = false;
        let mut i = 0;
        while let Some(w) = words.get(i) {
            i += 1;
            match *w {
                "-n" | "--namespace" => {
                    c.namespace = words.get(i).map(|s| s.to_string());
                    i += 1;
                }
                _ if w.starts_with("--namespace=") => {
                    c.namespace = w.strip_prefix("--namespace=").map(str::to_string)
                }
                _ if w.starts_with("-n") && w.len() > 2 && !w.starts_with("--") => {
                    c.namespace = Some(w[2..].to_string())
                }
                "get" => after_get = true,
                // Flags whose value is the next word.
                "-o" | "--output" | "-l" | "--selector" | "-L" | "--label-columns"
                | "--sort-by" | "--field-selector" | "--context" | "--kubeconfig" => i += 1,
                _ if after_get && resource.is_none() && !w.starts_with('-') => resource = Some(*w),
                _ => {}
            }
        }
        c.resource = resource
            .filter(|r| !r.contains(','))
            .map(|r| r.split('/').next().unwrap_or(r))
            .map(resource_kind);
        c
    }
}

fn resource_kind(r: &str) -> TableKind {
    match r {
        "svc" | "service" | "services" => TableKind::Services,
        "ep" | "endpoints" => TableKind::Endpoints,
        "endpointslice" | "endpointslices" | "endpointslices.discovery.k8s.io" => {
            TableKind::EndpointSlices
        }
        "po" | "pod" | "pods" => TableKind::Pods,
        "no" | "node" | "nodes" => TableKind::Nodes,
        _ => TableKind::Other,
    }
}

/// The columns of a header line, split at runs of two or more spaces (a header such as
/// `NOMINATED NODE` holds one), if it looks like one.
fn header(line: &str) -> Option<Vec<Column>> {
    let chars: Vec<char> = line.chars().collect();
    let mut cols = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !(chars[i] == ' ' && chars.get(i + 1).is_none_or(|c| *c == ' ')) {
            i += 1;
        }
        cols.push(Column {
            name: chars[start..i].iter().collect(),
            start,
        });
    }
    let ok = cols.len() >= 2
        && matches!(cols[0].name.as_str(), "NAME" | "NAMESPACE")
        && cols.iter().all(|c| {
            c.name
                .chars()
                .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || "-()/ ".contains(ch))
        });
    ok.then_some(cols)
}

fn kind_of(columns: &[Column]) -> TableKind {
    let has = |n: &str| columns.iter().any(|c| c.name == n);
    if has("CLUSTER-IP") && has("PORT(S)") {
        TableKind::Services
    } else if has("ADDRESSTYPE") {
        TableKind::EndpointSlices
    } else if has("ENDPOINTS") {
        TableKind::Endpoints
    } else if has("READY") && has("RESTARTS") {
        TableKind::Pods
    } else if has("ROLES") && has("VERSION") {
        TableKind::Nodes
    } else {
        TableKind::Other
    }
}

/// The columns each printer writes (wide ones included).
fn known_columns(kind: TableKind) -> &'static [&'static str] {
    match kind {
        TableKind::Services => &[
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR",
        ],
        TableKind::Endpoints => &["ENDPOINTS", "AGE"],
        TableKind::EndpointSlices => &["ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
        TableKind::Pods => &[
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES",
        ],
        TableKind::Nodes => &[
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME",
        ],
        TableKind::Other => &[],
    }
}

fn check_header(
    issues: &mut Vec<TextIssue>,
    line: usize,
    kind: TableKind,
    columns: &[Column],
    cmd: &Command,
) {
    if kind == TableKind::Other {
        issues.push(TextIssue::Unreadable {
            line,
            what: WHAT,
            reason: "a table of a resource netsnap does not read; its rows were not used",
        });
        return;
    }
    if cmd.resource.is_some_and(|r| r != kind) {
        issues.push(TextIssue::Unreadable {
            line,
            what: WHAT,
            reason: "its columns are not those of the resource the command line names; \
                     the columns were followed",
        });
    }
    for c in columns {
        if !matches!(c.name.as_str(), "NAME" | "NAMESPACE")
            && !known_columns(kind).contains(&c.name.as_str())
        {
            issues.push(TextIssue::UnknownColumn {
                line,
                column: c.name.clone(),
            });
        }
    }
}

/// The cells of a row, cut at the header's offsets (in characters). A row whose cells do not
/// start where their headers do (spaces squeezed by a chat tool) is split at runs of three or
/// more spaces instead, if that gives as many cells as there are columns.
fn cells(line: &str, columns: &[Column]) -> Option<Vec<String>> {
    let chars: Vec<char> = line.chars().collect();
    let aligned = columns.iter().skip(1).all(|c| {
        c.start >= chars.len()
            || (c.start >= 2 && chars[c.start - 1] == ' ' && chars[c.start - 2] == ' ')
    });
    if aligned {
        let cells = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let end = columns.get(i + 1).map_or(chars.len(), |n| n.start);
                let (s, e) = (c.start.min(chars.len()), end.min(chars.len()));
                chars[s..e].iter().collect::<String>().trim().to_string()
            })
            .collect();
        return Some(cells);
    }
    let split: Vec<String> = line
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    (split.len() == columns.len()).then_some(split)
}

struct Row<'a> {
    line: usize,
    cells: Vec<(&'a str, String)>,
}

impl Row<'_> {
    fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, v)| v.as_str())
    }

    /// A new partial object with the row's name, namespace and printed cells.
    fn object<T: Default>(
        &self,
        cmd: Option<&Command>,
        meta: fn(&mut T) -> &mut ObjectMeta,
    ) -> Partial<T> {
        let mut p = Partial::new(self.line);
        p.printed = self
            .cells
            .iter()
            .map(|(c, v)| (c.to_string(), v.clone()))
            .collect();
        if let Some(name) = self.get("NAME") {
            // `kubectl get svc,ep` prefixes names with their kind (`service/web`).
            let name = name.rsplit('/').next().unwrap_or(name);
            meta(&mut p.value).name = name.to_string();
            p.show("metadata.name");
        }
        let namespace = match (self.get("NAMESPACE"), cmd) {
            (Some(ns), _) => Some(ns.to_string()),
            (None, Some(c)) => c.namespace.clone(),
            (None, None) => None,
        };
        if let Some(ns) = namespace {
            meta(&mut p.value).namespace = ns;
            p.show("metadata.namespace");
        }
        p
    }
}

fn service(row: &Row<'_>, cmd: &Command, bad: &mut dyn FnMut(&'static str)) -> Partial<Service> {
    let mut p = row.object(Some(cmd), |s: &mut Service| &mut s.metadata);
    let spec = &mut p.value.spec;
    if let Some(t) = row.get("TYPE") {
        spec.type_ = t.to_string();
        p.show("spec.type");
    }
    match row.get("CLUSTER-IP") {
        Some("<none>") => {
            p.show("spec.clusterIP");
            p.show("spec.clusterIPs");
        }
        Some(ip) => {
            if ip != "None" && ip.parse::<std::net::IpAddr>().is_err() {
                bad("CLUSTER-IP is not an address");
            }
            p.value.spec.cluster_ip = ip.to_string();
            p.value.spec.cluster_ips = vec![ip.to_string()];
            p.show("spec.clusterIP");
            p.show_part("spec.clusterIPs");
        }
        None => {}
    }
    if let Some(ext) = row.get("EXTERNAL-IP") {
        external_ip(&mut p, ext);
    }
    if let Some(ports) = row.get("PORT(S)") {
        match service_ports(ports) {
            Some(ports) => {
                p.value.spec.ports = ports;
                p.show("spec.ports.port");
                p.show("spec.ports.nodePort");
                p.show("spec.ports.protocol");
            }
            None => bad("PORT(S) is not a list of PORT[:NODEPORT]/PROTOCOL"),
        }
    }
    if let Some(sel) = row.get("SELECTOR") {
        p.value.spec.selector = labels(sel);
        p.show("spec.selector");
    }
    p
}

/// `EXTERNAL-IP`, read by the Service's type (printers.go `getServiceExternalIP`).
fn external_ip(p: &mut Partial<Service>, ext: &str) {
    let list = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
    match (p.value.spec.type_.as_str(), ext) {
        ("ExternalName", name) => {
            p.value.spec.external_name = name.to_string();
            p.show("spec.externalName");
        }
        ("LoadBalancer", "<pending>") => {
            p.show("spec.externalIPs");
            p.show("status.loadBalancer.ingress");
        }
        // The ingress addresses and the external IPs, in one list that does not say which is
        // which (and clipped without -o wide): filed as ingress, shown in part.
        ("LoadBalancer", addrs) => {
            // A clipped list ends in `...`: its last item may be cut, so it is dropped.
            let addrs = match addrs.strip_suffix("...") {
                Some(a) => a.rsplit_once(',').map_or("", |(a, _)| a),
                None => addrs,
            };
            p.value.status.load_balancer.ingress = addrs
                .split(',')
                .filter(|a| !a.is_empty())
                .map(|a| match a.parse::<std::net::IpAddr>() {
                    Ok(_) => LoadBalancerIngress {
                        ip: a.to_string(),
                        ..Default::default()
                    },
                    Err(_) => LoadBalancerIngress {
                        hostname: a.to_string(),
                        ..Default::default()
                    },
                })
                .collect();
            p.show_part("status.loadBalancer.ingress");
            p.show_part("spec.externalIPs");
        }
        (_, "<none>") => p.show("spec.externalIPs"),
        (_, ips) => {
            p.value.spec.external_ips = list(ips);
            p.show("spec.externalIPs");
        }
    }
}

/// `80:30081/TCP,53/UDP` (printers.go `makePortString`), or `<none>`.
fn service_ports(s: &str) -> Option<Vec<ServicePort>> {
    if s == "<none>" {
        return Some(Vec::new());
    }
    s.split(',')
        .map(|p| {
            let (ports, proto) = p.split_once('/')?;
            let (port, node_port) = match ports.split_once(':') {
                Some((a, b)) => (a, Some(b.parse().ok()?)),
                None => (ports, None),
            };
            if !matches!(proto, "TCP" | "UDP" | "SCTP") {
                return None;
            }
            Some(ServicePort {
                port: port.parse().ok()?,
                node_port,
                protocol: proto.to_string(),
                ..Default::default()
            })
        })
        .collect()
}

/// `app=web,tier=db` (apimachinery `labels.FormatLabels`), or `<none>`.
pub(crate) fn labels(s: &str) -> BTreeMap<String, String> {
    if s == "<none>" {
        return BTreeMap::new();
    }
    s.split(',')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.to_string(), String::new()),
        })
        .collect()
}

/// A list of at most 3 items and `+ N more...` (printers.go `formatEndpoints`,
/// `listWithMoreString`): the items and how many more there are.
pub(crate) fn list_with_more(s: &str) -> (Vec<&str>, usize) {
    let (items, more) = match s.rsplit_once(" + ") {
        Some((items, more)) => match more.strip_suffix(" more...").and_then(|m| m.parse().ok()) {
            Some(m) => (items, m),
            None => (s, 0),
        },
        None => (s, 0),
    };
    let items = match items {
        "<none>" | "<unset>" | "" => Vec::new(),
        i => i.split(',').collect(),
    };
    (items, more)
}

/// `10.244.1.5:80`, `[fd00::5]:80` (Go `net.JoinHostPort`), or a bare address (an Endpoints
/// subset without ports).
pub(crate) fn host_port(s: &str) -> Option<(String, Option<i64>)> {
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Some((ip.to_string(), None));
    }
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>().ok()?;
    Some((host.to_string(), Some(port.parse().ok()?)))
}

/// Subsets from `ip:port` pairs in kubectl's order (subset by subset, port by port, address by
/// address): consecutive pairs with the same port and distinct addresses form one subset.
/// Port names and protocols are not printed.
pub(crate) fn subsets(pairs: &[(String, Option<i64>)]) -> Vec<EndpointSubset> {
    let mut out: Vec<EndpointSubset> = Vec::new();
    for (ip, port) in pairs {
        let port = port.map(|p| EndpointPort {
            port: Some(p),
            ..Default::default()
        });
        let same = out.last().is_some_and(|s| {
            s.ports.first() == port.as_ref() && !s.addresses.iter().any(|a| a.ip == *ip)
        });
        if !same {
            out.push(EndpointSubset {
                ports: port.into_iter().collect(),
                ..Default::default()
            });
        }
        if let Some(s) = out.last_mut() {
            s.addresses.push(EndpointAddress {
                ip: ip.clone(),
                ..Default::default()
            });
        }
    }
    out
}

fn endpoints(
    row: &Row<'_>,
    cmd: &Command,
    bad: &mut dyn FnMut(&'static str),
) -> Partial<Endpoints> {
    let mut p = row.object(Some(cmd), |e: &mut Endpoints| &mut e.metadata);
    if let Some(list) = row.get("ENDPOINTS") {
        let (items, more) = list_with_more(list);
        let pairs: Option<Vec<_>> = items.iter().map(|i| host_port(i)).collect();
        match pairs {
            Some(pairs) => {
                p.value.subsets = subsets(&pairs);
                // Only ready addresses are printed.
                let path = "subsets.addresses";
                if more == 0 {
                    p.show(path);
                    p.show("subsets.ports.port");
                } else {
                    p.show_part(path);
                    p.show_part("subsets.ports.port");
                }
            }
            None => bad("ENDPOINTS is not a list of ADDRESS:PORT"),
        }
    }
    p
}

fn slice(
    row: &Row<'_>,
    cmd: &Command,
    bad: &mut dyn FnMut(&'static str),
) -> Partial<EndpointSlice> {
    let mut p = row.object(Some(cmd), |e: &mut EndpointSlice| &mut e.metadata);
    if let Some(t) = row.get("ADDRESSTYPE") {
        p.value.address_type = t.to_string();
        p.show("addressType");
    }
    if let Some(ports) = row.get("PORTS") {
        let (items, more) = list_with_more(ports);
        p.value.ports = items
            .iter()
            .map(|i| match *i {
                "*" => EndpointPort::default(),
                i => match i.parse() {
                    Ok(n) => EndpointPort {
                        port: Some(n),
                        ..Default::default()
                    },
                    Err(_) => EndpointPort {
                        name: i.to_string(),
                        ..Default::default()
                    },
                },
            })
            .collect();
        if more == 0 {
            p.show("ports.port");
        } else {
            p.show_part("ports.port");
        }
    }
    if let Some(eps) = row.get("ENDPOINTS") {
        let (items, more) = list_with_more(eps);
        if items.iter().any(|a| a.contains(' ')) {
            bad("ENDPOINTS is not a list of addresses");
        }
        p.value.endpoints = items
            .iter()
            .map(|a| SliceEndpoint {
                addresses: vec![a.to_string()],
                ..Default::default()
            })
            .collect();
        if more == 0 {
            p.show("endpoints.addresses");
        } else {
            p.show_part("endpoints.addresses");
        }
    }
    p
}

fn ready_counts(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('/')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn restart_count(s: &str) -> Option<u64> {
    let n = match s.split_once(" (") {
        Some((n, ago)) if ago.ends_with(" ago)") => n,
        Some(_) => return None,
        None => s,
    };
    n.parse().ok()
}

fn pod(row: &Row<'_>, cmd: &Command, bad: &mut dyn FnMut(&'static str)) -> Partial<Pod> {
    let mut p = row.object(Some(cmd), |o: &mut Pod| &mut o.metadata);
    if row.get("READY").is_some_and(|r| ready_counts(r).is_none()) {
        bad("READY is not READY/CONTAINERS");
    }
    if row
        .get("RESTARTS")
        .is_some_and(|r| restart_count(r).is_none())
    {
        bad("RESTARTS is not a count");
    }
    // STATUS is the phase unless a reason replaced it (printers.go `printPod`): a container's
    // waiting or terminated reason, Terminating, Init:..., Completed.
    if let Some(s @ ("Pending" | "Running" | "Succeeded" | "Failed" | "Unknown")) =
        row.get("STATUS")
    {
        p.value.status.phase = s.to_string();
        p.show("status.phase");
    }
    match row.get("IP") {
        Some("<none>") => {
            p.show("status.podIP");
            p.show("status.podIPs");
        }
        Some(ip) => {
            if ip.parse::<std::net::IpAddr>().is_err() {
                bad("IP is not an address");
            }
            p.value.status.pod_ip = ip.to_string();
            p.value.status.pod_ips = vec![PodIp { ip: ip.to_string() }];
            p.show("status.podIP");
            p.show_part("status.podIPs");
        }
        None => {}
    }
    if let Some(node) = row.get("NODE") {
        if node != "<none>" {
            p.value.spec.node_name = node.to_string();
        }
        p.show("spec.nodeName");
    }
    p
}

fn node(row: &Row<'_>, bad: &mut dyn FnMut(&'static str)) -> Partial<Node> {
    let mut p = row.object(None, |o: &mut Node| &mut o.metadata);
    if let Some(status) = row.get("STATUS") {
        let words: Vec<&str> = status.split(',').collect();
        if !words
            .iter()
            .all(|w| matches!(*w, "Ready" | "NotReady" | "Unknown" | "SchedulingDisabled"))
        {
            bad("STATUS is not a node status");
        }
        p.value.spec.unschedulable = words.contains(&"SchedulingDisabled");
        p.show("spec.unschedulable");
    }
    if let Some(v) = row.get("VERSION") {
        p.value.status.node_info.kubelet_version = v.to_string();
        p.show("status.nodeInfo.kubeletVersion");
    }
    for (column, type_) in [("INTERNAL-IP", "InternalIP"), ("EXTERNAL-IP", "ExternalIP")] {
        match row.get(column) {
            Some("<none>") | None => {}
            Some(a) => {
                if a.parse::<std::net::IpAddr>().is_err() {
                    bad("a node address is not an address");
                }
                p.value.status.addresses.push(NodeAddress {
                    type_: type_.to_string(),
                    address: a.to_string(),
                });
            }
        }
        if row.get(column).is_some() {
            p.show_part("status.addresses");
        }
    }
    let info = &mut p.value.status.node_info;
    let mut shown = Vec::new();
    for (column, field, path) in [
        ("OS-IMAGE", &mut info.os_image, "status.nodeInfo.osImage"),
        (
            "KERNEL-VERSION",
            &mut info.kernel_version,
            "status.nodeInfo.kernelVersion",
        ),
        (
            "CONTAINER-RUNTIME",
            &mut info.container_runtime_version,
            "status.nodeInfo.containerRuntimeVersion",
        ),
    ] {
        if let Some(v) = row.get(column) {
            if v != "<unknown>" {
                *field = v.to_string();
            }
            shown.push(path);
        }
    }
    for path in shown {
        p.show(path);
    }
    p
}

#[cfg(test)]
pub(crate) mod tests;
