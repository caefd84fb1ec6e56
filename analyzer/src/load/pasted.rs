//! Loose text as a bundle: a folder (or tar) of files people pasted instead of running the
//! collector — `ipvsadm -Ln`, `ip a`, `lsmod`, `kubectl get svc -o yaml`, a whole terminal
//! session — read into the same [`Bundle`] the analysis reads.
//!
//! Every file is kept as it was under `pasted/` and decoded by [`crate::decode::text`]. What
//! the collector would have stored as text (sysctls, `/proc/modules`, `iptables-save`,
//! `ipset`, `ethtool -k`, kubectl YAML/JSON, logs, `cat` of a node file) becomes the artifact
//! at the collector's path, recorded in the manifest as `pasted` with the line ranges it was
//! taken from, so every check reads it unchanged and evidence can point back at the pasted
//! line. What the collector stores as netlink (links, addresses, routes, the IPVS table)
//! cannot be rebuilt as netlink: the node's facts take those from the decoded text directly
//! ([`PastedFile`], read by `diagnose::facts`). Native artifacts nothing was pasted for are
//! listed as absent with what to paste, so a check says what is missing instead of guessing.
//!
//! `netsnap import` writes such a bundle out; loading it again decodes `pasted/` once more
//! and finds the derived artifacts already there.

use std::collections::BTreeMap;

use netsnap_bundle::{
    names, Artifact, CollectorInfo, HostInfo, Manifest, PastedSpan, Source, Status,
};
use sha2::{Digest, Sha256};

use crate::decode::k8s::{self, K8sObject};
use crate::decode::text::{
    decode_text, IpvsadmView, LogSource, Piece, TextContent, TextFile, TextKind, TextPiece,
};
use crate::error::{Error, Result};

/// Where the pasted originals are kept inside a bundle.
pub const PASTED_DIR: &str = "pasted";

/// The name an imported bundle's manifest gives its collector.
pub const IMPORTER: &str = "netsnap import";

/// One pasted file, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct PastedFile {
    /// Relative to the folder it was read from (`ticket/ipvsadm.txt`).
    pub path: String,
    pub text: TextFile,
}

impl PastedFile {
    /// Every piece with a parsed kind, in file order.
    pub fn pieces(&self) -> impl Iterator<Item = &TextPiece> {
        self.text.pieces.iter()
    }
}

/// The bundle path of pasted file `path`.
pub fn pasted_artifact(path: &str) -> String {
    format!("{PASTED_DIR}/{path}")
}

/// Decodes the `pasted/` files of a bundle.
pub fn decode_pasted(files: &BTreeMap<String, Vec<u8>>) -> Vec<PastedFile> {
    let prefix = format!("{PASTED_DIR}/");
    files
        .iter()
        .filter_map(|(p, bytes)| {
            let path = p.strip_prefix(&prefix)?;
            Some(PastedFile {
                path: path.to_string(),
                text: decode_text(bytes),
            })
        })
        .collect()
}

/// A bundle's content: its manifest, its files by path, its pasted files decoded.
pub type Built = (Manifest, BTreeMap<String, Vec<u8>>, Vec<PastedFile>);

/// Builds the files and manifest of a bundle from loose files (no manifest): the originals
/// under `pasted/`, the derived artifacts at the collector's paths.
pub fn build(loose: BTreeMap<String, Vec<u8>>) -> Result<Built> {
    if loose.is_empty() {
        return Err(Error::NothingPasted {
            why: "the folder holds no file".to_string(),
        });
    }
    let mut files = BTreeMap::new();
    let mut decoded = Vec::new();
    for (path, bytes) in loose {
        decoded.push(PastedFile {
            path: path.clone(),
            text: decode_text(&bytes),
        });
        files.insert(pasted_artifact(&path), bytes);
    }
    // Refused only when nothing at all was recognised: no piece of a known kind and no line a
    // signature knows (one log line or error message in a page of prose is evidence).
    let recognised = decoded.iter().any(|f| {
        f.pieces().any(|p| {
            !matches!(p.kind, TextKind::Unknown(_))
                || !crate::signatures::scan(&p.piece.body, &f.path, p.piece.first_line).is_empty()
        })
    });
    if !recognised {
        let names: Vec<&str> = decoded.iter().map(|f| f.path.as_str()).collect();
        let texts: Vec<&str> = decoded
            .iter()
            .flat_map(|f| f.pieces().map(|p| p.piece.body.as_str()))
            .collect();
        return Err(Error::NothingPasted {
            why: format!(
                "no command output, Kubernetes object or known message was recognised in {}. {}",
                names.join(", "),
                crate::diagnose::suspects::what_to_paste(&texts)
            ),
        });
    }
    let mut derived = Derived::default();
    for f in &decoded {
        for piece in f.pieces() {
            derived.add(&f.path, piece);
        }
    }
    let uname = decoded
        .iter()
        .flat_map(PastedFile::pieces)
        .find_map(|p| uname(&p.piece));
    let host = HostInfo {
        hostname: uname
            .as_ref()
            .and_then(|u| u.0.clone())
            .or_else(|| prompt_host(&files, &decoded))
            .unwrap_or_default(),
        kernel_release: uname.map(|u| u.1).unwrap_or_default(),
        ..HostInfo::default()
    };
    let mut manifest = Manifest::new(
        CollectorInfo {
            name: IMPORTER.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        host,
        String::new(),
    );
    for f in &decoded {
        let path = pasted_artifact(&f.path);
        let bytes = files.get(&path).map(Vec::as_slice).unwrap_or_default();
        let lines = bytes.split(|b| *b == b'\n').count();
        manifest.artifacts.push(stored(
            path,
            vec![PastedSpan {
                file: f.path.clone(),
                first_line: 1,
                lines,
            }],
            bytes,
        ));
    }
    for (path, (text, spans)) in derived.texts {
        manifest
            .artifacts
            .push(stored(path.clone(), spans, text.as_bytes()));
        files.insert(path, text.into_bytes());
    }
    for (path, (reason, span)) in derived.failed {
        if !files.contains_key(&path) {
            let mut a = not_stored(path, Status::Error, reason);
            a.source = Source::Pasted { spans: vec![span] };
            manifest.artifacts.push(a);
        }
    }
    let typed = TypedKinds::of(&decoded);
    for (path, paste) in NATIVE_HINTS {
        let provided = files.contains_key(*path)
            || manifest.artifacts.iter().any(|a| a.path == *path)
            || typed.provides(path);
        if !provided {
            manifest.artifacts.push(not_stored(
                (*path).to_string(),
                Status::Absent,
                format!("nothing pasted for it: paste the output of {paste}"),
            ));
        }
    }
    manifest.artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((manifest, files, decoded))
}

/// The collector artifacts a diagnosis leans on, with what to paste to provide each.
const NATIVE_HINTS: &[(&str, &str)] = &[
    (names::IPVS_SERVICES, "`ipvsadm -Ln`"),
    (names::RTNL_LINKS, "`ip -d link` (or `ip a`)"),
    (names::RTNL_ADDRS, "`ip a`"),
    (names::RTNL_ROUTES_V4, "`ip route show table all`"),
    (names::PROC_MODULES, "`lsmod` (or `cat /proc/modules`)"),
    (names::SYSCTLS, "`sysctl -a`"),
    ("commands/iptables-save.txt", "`iptables-save`"),
    ("k8s/services.yaml", "`kubectl get svc -A -o yaml`"),
    (
        "k8s/endpointslices.discovery.k8s.io.yaml",
        "`kubectl get endpointslices -A -o yaml`",
    ),
    ("k8s/nodes.yaml", "`kubectl get nodes -o yaml`"),
    (
        "k8s/configmap-kube-system-kube-proxy.yaml",
        "`kubectl -n kube-system get cm kube-proxy -o yaml`",
    ),
];

/// Which netlink-stored facts the decoded text provides (they have no artifact of their own).
struct TypedKinds {
    ipvs: bool,
    links: bool,
    addrs: bool,
    routes: bool,
    modules: bool,
}

impl TypedKinds {
    fn of(files: &[PastedFile]) -> Self {
        let mut t = TypedKinds {
            ipvs: false,
            links: false,
            addrs: false,
            routes: false,
            modules: false,
        };
        for p in files.iter().flat_map(PastedFile::pieces) {
            match &p.content {
                TextContent::Ipvs(i) if shows_table(i.view) => t.ipvs = true,
                TextContent::Links(l) => {
                    t.links |= !l.links.is_empty();
                    t.addrs |= !l.addresses.is_empty();
                }
                TextContent::Routes(r) => t.routes |= !r.routes.is_empty(),
                TextContent::Modules(m) => t.modules |= !m.modules.is_empty(),
                _ => {}
            }
        }
        t
    }

    fn provides(&self, path: &str) -> bool {
        match path {
            names::IPVS_SERVICES => self.ipvs,
            names::RTNL_LINKS => self.links,
            names::RTNL_ADDRS => self.addrs,
            names::RTNL_ROUTES_V4 => self.routes,
            names::PROC_MODULES => self.modules,
            _ => false,
        }
    }
}

/// Whether an ipvsadm view lists the virtual servers (an empty list is a table too).
pub fn shows_table(view: IpvsadmView) -> bool {
    !matches!(
        view,
        IpvsadmView::Timeout | IpvsadmView::Connections | IpvsadmView::Daemon
    )
}

/// The host of the first `user@host` prompt of the pasted sessions.
fn prompt_host(files: &BTreeMap<String, Vec<u8>>, decoded: &[PastedFile]) -> Option<String> {
    decoded.iter().find_map(|f| {
        let bytes = files.get(&pasted_artifact(&f.path))?;
        let text = String::from_utf8_lossy(bytes);
        let lines: Vec<&str> = text.lines().collect();
        f.pieces().find_map(|p| {
            let line = lines.get(p.piece.command_line?.checked_sub(1)?)?;
            host_of_prompt(line)
        })
    })
}

/// `root@node1:~# ...`, `[root@k8s-master ~]# ...` → the host.
fn host_of_prompt(line: &str) -> Option<String> {
    let (user, rest) = line.split_once('@')?;
    let user = user.rsplit(['[', ' ']).next().unwrap_or(user);
    if user.is_empty()
        || !user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return None;
    }
    let host: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect();
    (!host.is_empty() && host.len() <= 253).then_some(host)
}

/// Artifacts derived from pieces: text at the collector's path and the spans it came from.
#[derive(Default)]
struct Derived {
    texts: BTreeMap<String, (String, Vec<PastedSpan>)>,
    /// A command the paste shows failing: its artifact, the error and where it is.
    failed: BTreeMap<String, (String, PastedSpan)>,
}

impl Derived {
    fn add(&mut self, file: &str, piece: &TextPiece) {
        let p = &piece.piece;
        let span = PastedSpan {
            file: file.to_string(),
            first_line: p.first_line,
            lines: p.body.lines().count(),
        };
        if let TextKind::CommandError = piece.kind {
            if let Some(path) = p.command.as_deref().and_then(command_path) {
                let first = p.body.lines().next().unwrap_or_default().trim();
                self.failed.entry(path).or_insert_with(|| {
                    let why = format!(
                        "`{}` failed in the paste ({file}:{}): {first}",
                        p.command.as_deref().unwrap_or_default(),
                        p.first_line
                    );
                    (why, span.clone())
                });
            }
            return;
        }
        if p.body.trim().is_empty() {
            // A save tool prints nothing when there are no rules: that is its whole output.
            if let Some(path) = p.command.as_deref().and_then(command_path) {
                if path.starts_with("commands/ip") {
                    self.texts.entry(path).or_default().1.push(span);
                }
            }
            return;
        }
        // `cat /etc/...`: the node file itself, whatever its content is; shown twice, it is
        // the same file, and the first showing stands.
        if let Some(path) = p.command.as_deref().and_then(cat_path) {
            if !self.texts.contains_key(&path) {
                self.append(path, &p.body, span);
            }
            return;
        }
        let Some(path) = derived_path(piece) else {
            return;
        };
        if is_document(&path) {
            // Documents do not concatenate like lines: a second paste of the same resource
            // gets its own artifact (every k8s/ artifact is read).
            let mut path = path;
            let mut n = 2;
            while self.texts.contains_key(&path) {
                path = numbered(&path, n);
                n += 1;
            }
            self.texts.insert(path, (ended(&p.body), vec![span]));
        } else {
            self.append(path, &p.body, span);
        }
    }

    fn append(&mut self, path: String, body: &str, span: PastedSpan) {
        let entry = self.texts.entry(path).or_default();
        entry.0.push_str(&ended(body));
        entry.1.push(span);
    }
}

/// Artifacts that are one document (YAML, JSON), not lines that add up.
fn is_document(path: &str) -> bool {
    (path.starts_with("k8s/") && !path.starts_with("k8s/logs-"))
        || path.ends_with(".conflist")
        || path == names::command_artifact("nft-j-list-ruleset")
}

fn ended(body: &str) -> String {
    let mut s = body.to_string();
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// `k8s/services.yaml` → `k8s/services.2.yaml`.
fn numbered(path: &str, n: usize) -> String {
    match path.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{n}.{ext}"),
        None => format!("{path}.{n}"),
    }
}

/// `uname -a` (host and release) or `uname -r` (release).
fn uname(piece: &Piece) -> Option<(Option<String>, String)> {
    let words: Vec<&str> = piece.command.as_deref()?.split_whitespace().collect();
    if words.first() != Some(&"uname") {
        return None;
    }
    let first = piece.body.lines().find(|l| !l.trim().is_empty())?;
    let fields: Vec<&str> = first.split_whitespace().collect();
    let plain = |w: &&str| {
        w.len() <= 64
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.+~".contains(c))
    };
    match (words.get(1).copied(), fields.as_slice()) {
        (Some("-r"), [release]) if plain(release) => Some((None, (*release).to_string())),
        (Some("-a"), ["Linux", host, release, ..]) if plain(host) && plain(release) => {
            Some((Some((*host).to_string()), (*release).to_string()))
        }
        _ => None,
    }
}

/// Whether the analysis reads a piece: as a collector artifact, or as typed facts.
pub fn is_read(piece: &TextPiece) -> bool {
    if uname(&piece.piece).is_some() || crate::diagnose::pasted::empty_module_grep(piece).is_some()
    {
        return true;
    }
    let typed = match &piece.content {
        TextContent::Ipvs(t) => shows_table(t.view),
        TextContent::Links(_) | TextContent::Routes(_) | TextContent::Modules(_) => true,
        TextContent::Sysctls(_) => true,
        // See `ClusterFacts::add_pasted_partials` for which partial objects are used.
        TextContent::Nft(_) | TextContent::IptablesList(_) => true,
        TextContent::KubectlTables(t) => !t.nodes.is_empty(),
        TextContent::KubectlDescribe(d) => !d.services.is_empty() || !d.nodes.is_empty(),
        _ => false,
    };
    let states_facts = matches!(piece.kind, TextKind::Shown(_))
        && !crate::diagnose::observations::of_piece(piece, "").is_empty();
    typed
        || states_facts
        || derived_path(piece).is_some()
        || piece.piece.command.as_deref().and_then(cat_path).is_some()
        || piece
            .piece
            .command
            .as_deref()
            .and_then(command_path)
            .is_some_and(|path| {
                matches!(piece.kind, TextKind::CommandError)
                    || (piece.piece.body.trim().is_empty() && path.starts_with("commands/ip"))
            })
}

/// The kind label of a piece that was not recognised.
pub const NOT_RECOGNISED: &str = "not recognised";

/// A short name of a piece's kind, for the report.
pub fn kind_label(kind: &TextKind) -> &'static str {
    match kind {
        TextKind::Ipvsadm(_) => "ipvsadm",
        TextKind::IpLink { .. } => "ip link",
        TextKind::IpAddr { .. } => "ip addr",
        TextKind::IpBrief => "ip -br",
        TextKind::IpJson => "ip -j",
        TextKind::IpRoute => "ip route",
        TextKind::IpRule => "ip rule",
        TextKind::IpNeigh => "ip neigh",
        TextKind::Ifconfig => "ifconfig",
        TextKind::Lsmod => "lsmod",
        TextKind::ProcModules => "/proc/modules",
        TextKind::Sysctl => "sysctl",
        TextKind::IptablesSave => "iptables-save",
        TextKind::IptablesList => "iptables -L",
        TextKind::NftRuleset => "nft list ruleset",
        TextKind::IpsetList => "ipset list",
        TextKind::IpsetSave => "ipset save",
        TextKind::EthtoolFeatures => "ethtool -k",
        TextKind::KubectlYaml => "kubectl YAML",
        TextKind::KubectlJson => "kubectl JSON",
        TextKind::KubectlTable => "kubectl get table",
        TextKind::KubectlDescribe => "kubectl describe",
        TextKind::Klog(LogSource::KubeProxy) => "kube-proxy log",
        TextKind::Klog(LogSource::Flannel) => "flannel log",
        TextKind::Klog(LogSource::Other) => "log",
        TextKind::CalicoLog => "calico-node log",
        TextKind::CniConfig => "CNI config",
        TextKind::Dmesg => "kernel log",
        TextKind::CommandError => "command error",
        TextKind::Shown(shape) => shape.label(),
        TextKind::Unknown(_) => NOT_RECOGNISED,
    }
}

/// The collector artifact a piece's text stands for, by its kind (and command line).
fn derived_path(piece: &TextPiece) -> Option<String> {
    let command = piece.piece.command.as_deref().unwrap_or_default();
    let words: Vec<&str> = command.split_whitespace().collect();
    let tool = words
        .iter()
        .find(|w| !matches!(**w, "sudo" | "time"))
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .unwrap_or_default();
    let body = &piece.piece.body;
    let path = match &piece.kind {
        TextKind::Sysctl => names::SYSCTLS.to_string(),
        // A filtered list (`cat /proc/modules | grep ip_vs`) is not the file: it is read as
        // typed facts that know the filter.
        TextKind::ProcModules if command.contains('|') => return None,
        TextKind::ProcModules => names::PROC_MODULES.to_string(),
        TextKind::IptablesSave => {
            let name = match tool {
                "iptables-legacy-save"
                | "iptables-nft-save"
                | "ip6tables-legacy-save"
                | "ip6tables-nft-save"
                | "ip6tables-save" => tool,
                _ => "iptables-save",
            };
            names::command_artifact(name)
        }
        TextKind::IpsetSave => names::command_artifact("ipset-save"),
        TextKind::IpsetList => names::command_artifact("ipset-list"),
        TextKind::NftRuleset if body.trim_start().starts_with('{') => {
            names::command_artifact("nft-j-list-ruleset")
        }
        TextKind::NftRuleset => names::command_artifact("nft-list-ruleset"),
        TextKind::EthtoolFeatures => {
            let dev = ethtool_device(&words, body)?;
            names::command_artifact(&format!("ethtool-k-{dev}"))
        }
        TextKind::KubectlYaml | TextKind::KubectlJson => {
            let ext = if matches!(piece.kind, TextKind::KubectlJson) {
                "json"
            } else {
                "yaml"
            };
            names::k8s_artifact(&format!("{}.{ext}", resource_of(body)))
        }
        TextKind::Klog(LogSource::KubeProxy) => {
            names::k8s_artifact("logs-kube-system-kube-proxy.txt")
        }
        TextKind::Klog(LogSource::Flannel) => names::k8s_artifact("logs-kube-flannel-flannel.txt"),
        TextKind::CalicoLog => names::k8s_artifact("logs-kube-system-calico-node.txt"),
        TextKind::Dmesg => names::KMSG.to_string(),
        TextKind::CniConfig => names::file_artifact("/etc/cni/net.d/pasted.conflist"),
        _ => return None,
    };
    Some(path)
}

/// The device of `ethtool -k DEV` output: from the command, else its `Features for DEV:` line.
fn ethtool_device(words: &[&str], body: &str) -> Option<String> {
    let from_command = words
        .iter()
        .position(|w| *w == "-k" || *w == "--show-features" || *w == "--show-offload")
        .and_then(|i| words.get(i + 1));
    let dev = match from_command {
        Some(d) => (*d).to_string(),
        None => body
            .lines()
            .find_map(|l| l.trim().strip_prefix("Features for "))?
            .trim_end_matches(':')
            .to_string(),
    };
    let safe = !dev.is_empty()
        && dev.len() <= 15
        && dev
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    safe.then_some(dev)
}

/// The collector's file name for the objects of a kubectl paste: by the kind of its first
/// object, as the collector names `kubectl get <resource> -A -o yaml`.
fn resource_of(text: &str) -> String {
    let objects = k8s::parse_objects(text).unwrap_or_default();
    let name = objects.iter().find_map(|o| {
        Some(match o {
            K8sObject::Service(_) => "services",
            K8sObject::Endpoints(_) => "endpoints",
            K8sObject::EndpointSlice(_) => "endpointslices.discovery.k8s.io",
            K8sObject::Node(_) => "nodes",
            K8sObject::Pod(_) => "pods",
            K8sObject::ConfigMap(c) if c.metadata.name == "kube-proxy" => {
                "configmap-kube-system-kube-proxy"
            }
            K8sObject::DaemonSet(d) if d.metadata.name == "kube-proxy" => {
                "daemonset-kube-system-kube-proxy"
            }
            K8sObject::IpPool(_) => "ippools.crd.projectcalico.org",
            K8sObject::FelixConfiguration(_) => "felixconfigurations.crd.projectcalico.org",
            K8sObject::BgpConfiguration(_) => "bgpconfigurations.crd.projectcalico.org",
            K8sObject::NetworkPolicy(_) => "networkpolicies.networking.k8s.io",
            _ => return None,
        })
    });
    name.unwrap_or("objects").to_string()
}

/// The collector path of a node file shown with `cat PATH` (one absolute path).
fn cat_path(command: &str) -> Option<String> {
    let words: Vec<&str> = command
        .split_whitespace()
        .filter(|w| *w != "sudo")
        .collect();
    let [cat, path] = words.as_slice() else {
        return None;
    };
    if *cat != "cat" || !path.starts_with('/') || path.contains("..") || path.contains('*') {
        return None;
    }
    Some(match *path {
        "/proc/modules" => names::PROC_MODULES.to_string(),
        "/proc/net/ip_vs" => names::PROC_NET_IP_VS.to_string(),
        "/proc/cmdline" => names::PROC_CMDLINE.to_string(),
        p if p.starts_with("/proc/") || p.starts_with("/sys/") => return None,
        p => names::file_artifact(p),
    })
}

/// The artifact a failing command would have produced.
fn command_path(command: &str) -> Option<String> {
    let tool = command
        .split_whitespace()
        .find(|w| !matches!(*w, "sudo" | "time"))?;
    let tool = tool.rsplit('/').next().unwrap_or(tool);
    Some(match tool {
        "ipvsadm" => names::IPVS_SERVICES.to_string(),
        "iptables-save"
        | "iptables-legacy-save"
        | "iptables-nft-save"
        | "ip6tables-save"
        | "ip6tables-legacy-save"
        | "ip6tables-nft-save" => names::command_artifact(tool),
        "ipset" if command.split_whitespace().any(|w| w == "save") => {
            names::command_artifact("ipset-save")
        }
        "nft" => names::command_artifact("nft-list-ruleset"),
        _ => return None,
    })
}

fn stored(path: String, spans: Vec<PastedSpan>, bytes: &[u8]) -> Artifact {
    Artifact {
        path,
        source: Source::Pasted { spans },
        status: Status::Ok,
        reason: None,
        bytes: bytes.len() as u64,
        sha256: Some(hex(&Sha256::digest(bytes))),
        duration_ms: 0,
        truncated: false,
        exit_code: None,
        stderr: None,
    }
}

fn not_stored(path: String, status: Status, reason: String) -> Artifact {
    Artifact {
        path,
        source: Source::Pasted { spans: Vec::new() },
        status,
        reason: Some(reason),
        bytes: 0,
        sha256: None,
        duration_ms: 0,
        truncated: false,
        exit_code: None,
        stderr: None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> (Manifest, BTreeMap<String, Vec<u8>>) {
        let loose = files
            .iter()
            .map(|(p, t)| ((*p).to_string(), t.as_bytes().to_vec()))
            .collect();
        let (m, f, _) = build(loose).expect("builds");
        (m, f)
    }

    #[test]
    fn a_session_becomes_artifacts_with_their_lines() {
        let (m, files) = load(&[(
            "ticket.txt",
            "root@node1:~# uname -a\nLinux node1 6.1.0-27-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 x86_64 GNU/Linux\n\
             root@node1:~# sysctl net.ipv4.ip_forward\nnet.ipv4.ip_forward = 0\n\
             root@node1:~# cat /etc/modules-load.d/k8s.conf\noverlay\nbr_netfilter\n\
             root@node1:~# ipvsadm -Ln\nCan't initialize ipvs: Protocol not available\n\
             Are you sure that IP Virtual Server is built in the kernel or as module?\n",
        )]);
        assert_eq!(m.host.hostname, "node1");
        assert_eq!(m.host.kernel_release, "6.1.0-27-amd64");
        assert_eq!(
            files.get(names::SYSCTLS).map(Vec::as_slice),
            Some(&b"net.ipv4.ip_forward = 0\n"[..])
        );
        let sysctl = m.artifact(names::SYSCTLS).expect("listed");
        assert_eq!(
            sysctl.source,
            Source::Pasted {
                spans: vec![PastedSpan {
                    file: "ticket.txt".into(),
                    first_line: 4,
                    lines: 1
                }]
            }
        );
        assert_eq!(
            files
                .get("files/etc/modules-load.d/k8s.conf")
                .map(Vec::as_slice),
            Some(&b"overlay\nbr_netfilter\n"[..])
        );
        let ipvs = m.artifact(names::IPVS_SERVICES).expect("listed");
        assert_eq!(ipvs.status, Status::Error);
        assert!(
            ipvs.reason
                .as_deref()
                .is_some_and(|r| r.contains("ticket.txt:9") && r.contains("Protocol not available")),
            "{ipvs:?}"
        );
        let links = m.artifact(names::RTNL_LINKS).expect("listed as absent");
        assert_eq!(links.status, Status::Absent);
        assert!(files.contains_key("pasted/ticket.txt"));
    }

    #[test]
    fn kubectl_pastes_are_named_by_kind_and_never_merged() {
        let svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  type: NodePort\n";
        let (_, files) = load(&[("a.yaml", svc), ("b.yaml", svc)]);
        assert!(files.contains_key("k8s/services.yaml"));
        assert!(files.contains_key("k8s/services.2.yaml"));
    }

    #[test]
    fn json_documents_are_never_concatenated() {
        let conf = "{\n  \"cniVersion\": \"0.3.1\",\n  \"name\": \"k8s-pod-network\",\n  \"plugins\": []\n}\n";
        let (_, files) = load(&[("a.json", conf), ("b.json", conf)]);
        let first = files
            .get("files/etc/cni/net.d/pasted.conflist")
            .expect("first");
        assert_eq!(first.as_slice(), conf.as_bytes());
        assert!(files.contains_key("files/etc/cni/net.d/pasted.2.conflist"));
        let cat = format!("root@node1:~# cat /etc/cni/net.d/10-calico.conflist\n{conf}");
        let (_, files) = load(&[("a.txt", &cat), ("b.txt", &cat)]);
        let shown = files
            .get("files/etc/cni/net.d/10-calico.conflist")
            .expect("cat");
        assert_eq!(shown.as_slice(), conf.as_bytes());
    }

    #[test]
    fn prose_alone_is_an_error_that_names_the_files() {
        let loose = [(
            "notes.txt".to_string(),
            b"Hi, my NodePort times out.\n".to_vec(),
        )]
        .into_iter()
        .collect();
        let err = build(loose).expect_err("nothing to analyze");
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }

    #[test]
    fn cat_paths_stay_inside_files() {
        assert_eq!(cat_path("cat /etc/../proc/x"), None);
        assert_eq!(
            cat_path("sudo cat /proc/modules").as_deref(),
            Some("proc/modules")
        );
        assert_eq!(cat_path("cat /sys/module/ip_vs/refcnt"), None);
        assert_eq!(cat_path("cat a b"), None);
    }
}
