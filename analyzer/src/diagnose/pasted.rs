//! Pasted text in the diagnosis: the node facts the collector stores as netlink (links,
//! addresses, routes, the IPVS table) and `lsmod`'s module list, taken from the decoded text
//! when the input has no native artifact for them; and citations, so that a finding made on
//! pasted evidence points at the pasted file and line (`ticket.txt`, `line 7`) instead of a
//! collector artifact the user never had.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use netsnap_bundle::{names, PastedSpan, Source};
use serde::Serialize;

use crate::decode::ipvs::IpvsTable;
use crate::decode::modules::{grep_filter, LoadedModule};
use crate::decode::rtnl::{Address, Link, Route};
use crate::decode::text::{TextContent, TextKind};
use crate::diagnose::finding::Evidence;
use crate::load::pasted::{is_read, kind_label, shows_table};
use crate::load::{Bundle, PastedFile};

/// Where each typed fact taken from text was read: per collector artifact it stands in for,
/// the pieces (file and line range) and the line of every item by a key the evidence of a
/// check names (interface, address, prefix, `addr:port`, module).
#[derive(Debug, Default, Clone)]
pub struct TextCitations {
    by_artifact: BTreeMap<&'static str, Cited>,
}

#[derive(Debug, Default, Clone)]
struct Cited {
    /// (file, first line, last line) of each piece used.
    pieces: Vec<(String, usize, usize)>,
    /// (key, file, line).
    items: Vec<(String, String, usize)>,
}

impl Cited {
    fn piece(&mut self, file: &str, first: usize, last: usize) {
        self.pieces.push((file.to_string(), first, last));
    }

    fn item(&mut self, key: String, file: &str, line: usize) {
        self.items.push((key, file.to_string(), line));
    }
}

/// The typed facts of a pasted input that has no native artifact for them.
#[derive(Debug, Default)]
pub struct TextFacts {
    pub links: Option<Vec<Link>>,
    pub addrs: Option<Vec<Address>>,
    /// The links an address listing showed (`ip a` lists every link, `ip a show eth0` one, `ip
    /// link` none): the addresses of other links are unknown, not absent.
    pub addrs_shown_for: BTreeSet<String>,
    pub routes: Option<Vec<Route>>,
    pub ipvs: Option<IpvsTable>,
    pub modules: Option<BTreeMap<String, LoadedModule>>,
    /// What `grep` let into the module lists (see `ModuleEvidence::filtered`).
    pub modules_filtered: Option<Option<Vec<String>>>,
    pub citations: TextCitations,
}

impl TextFacts {
    /// Reads every piece of every pasted file. Pieces of the same kind add up (an `ip a` and
    /// an `ip -d link` of the same node); an item seen twice keeps its first reading.
    pub fn from_pasted(files: &[PastedFile]) -> Self {
        let mut out = TextFacts::default();
        let cites = &mut out.citations.by_artifact;
        for f in files {
            for p in f.pieces() {
                let (first, last) = (p.piece.first_line, p.piece.last_line);
                match &p.content {
                    TextContent::Links(t) => {
                        if lists_addresses(p) {
                            out.addrs_shown_for
                                .extend(t.links.iter().map(|l| l.value.ifname().to_string()));
                        }
                        if !t.links.is_empty() {
                            let links = out.links.get_or_insert_with(Vec::new);
                            let c = cites.entry(names::RTNL_LINKS).or_default();
                            c.piece(&f.path, first, last);
                            for l in &t.links {
                                let name = l.value.ifname().to_string();
                                if links.iter().all(|k: &Link| k.ifname() != name) {
                                    c.item(name, &f.path, l.line);
                                    links.push(l.value.clone());
                                }
                            }
                        }
                        if !t.addresses.is_empty() {
                            // Addresses join their link by index, and indexes differ between
                            // pastes (ifconfig and `ip -br` print none): join by name to the
                            // link that was kept.
                            let kept = out.links.as_deref().unwrap_or_default();
                            let ifindex_of = |piece_index: u32| {
                                let name = t
                                    .links
                                    .iter()
                                    .find(|l| l.value.summary.ifindex == piece_index)?
                                    .value
                                    .ifname();
                                kept.iter()
                                    .find(|k| k.ifname() == name)
                                    .map(|k| k.summary.ifindex)
                            };
                            let joined: Vec<(Address, usize)> = t
                                .addresses
                                .iter()
                                .map(|a| {
                                    let mut v = a.value.clone();
                                    v.ifindex = ifindex_of(v.ifindex).unwrap_or(v.ifindex);
                                    (v, a.line)
                                })
                                .collect();
                            let addrs = out.addrs.get_or_insert_with(Vec::new);
                            let c = cites.entry(names::RTNL_ADDRS).or_default();
                            c.piece(&f.path, first, last);
                            for (a, line) in joined {
                                let seen = addrs
                                    .iter()
                                    .any(|b: &Address| b.ifindex == a.ifindex && b.ip == a.ip);
                                if !seen {
                                    if let Some(ip) = a.ip {
                                        c.item(ip.to_string(), &f.path, line);
                                    }
                                    addrs.push(a);
                                }
                            }
                        }
                    }
                    TextContent::Routes(t) if !t.routes.is_empty() => {
                        let routes = out.routes.get_or_insert_with(Vec::new);
                        let c = cites.entry(names::RTNL_ROUTES_V4).or_default();
                        c.piece(&f.path, first, last);
                        for r in &t.routes {
                            if !routes.contains(&r.value) {
                                c.item(r.value.dst.clone(), &f.path, r.line);
                                routes.push(r.value.clone());
                            }
                        }
                    }
                    TextContent::Ipvs(t) if out.ipvs.is_none() && shows_table(t.view) => {
                        let c = cites.entry(names::IPVS_SERVICES).or_default();
                        c.piece(&f.path, first, last);
                        for (i, s) in t.table.services.iter().enumerate() {
                            if let (Some(line), Some(key)) = (
                                t.service_lines.get(i),
                                addr_port(s.service.addr, s.service.port),
                            ) {
                                c.item(key, &f.path, *line);
                            }
                        }
                        out.ipvs = Some(t.table.clone());
                    }
                    // `lsmod | grep ip_vs` printing nothing: none of those is loaded.
                    TextContent::None if empty_module_grep(p).is_some() => {
                        out.modules_filtered = merge_filters(
                            out.modules.is_none(),
                            out.modules_filtered.take(),
                            empty_module_grep(p),
                        );
                        out.modules.get_or_insert_with(BTreeMap::new);
                        cites.entry(names::PROC_MODULES).or_default().piece(
                            &f.path,
                            p.piece.command_line.unwrap_or(first),
                            last,
                        );
                    }
                    TextContent::Nft(t) => {
                        // The ruleset itself is read by `NodeFacts::nft`; here only where.
                        let c = cites.entry(NFT_ARTIFACT).or_default();
                        c.piece(&f.path, first, last);
                        for (chain, line) in t.ruleset.chains.iter().zip(&t.chain_lines) {
                            c.item(chain.name.clone(), &f.path, *line);
                        }
                    }
                    TextContent::Modules(t) if !t.modules.is_empty() => {
                        let filter = p.piece.command.as_deref().and_then(grep_filter);
                        out.modules_filtered = merge_filters(
                            out.modules.is_none(),
                            out.modules_filtered.take(),
                            filter,
                        );
                        let modules = out.modules.get_or_insert_with(BTreeMap::new);
                        let c = cites.entry(names::PROC_MODULES).or_default();
                        c.piece(&f.path, first, last);
                        for m in &t.modules {
                            if !modules.contains_key(&m.value.name) {
                                c.item(m.value.name.clone(), &f.path, m.line);
                                modules.insert(m.value.name.clone(), m.value.clone());
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        // The IPv6 route artifact is cited like the IPv4 one: text has both in one paste.
        if let Some(c) = cites.get(names::RTNL_ROUTES_V4).cloned() {
            cites.insert(names::RTNL_ROUTES_V6, c);
        }
        if let Some(c) = cites.get(names::IPVS_SERVICES).cloned() {
            cites.insert(names::IPVS_DESTS, c);
        }
        out
    }
}

/// One piece of a pasted file, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PastedPiece {
    pub file: String,
    /// First and last line of its output (1-based, inclusive).
    pub lines: [usize; 2],
    /// The command line shown above it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// What it was recognised as (`ipvsadm`, `ip addr`, `kubectl YAML`, `not recognised`).
    pub kind: &'static str,
    /// Whether the analysis read it.
    pub read: bool,
    /// Why it was not read, or what was wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Every piece of every pasted file, in file order, with why a piece was not read.
pub fn pieces_of(files: &[PastedFile]) -> Vec<PastedPiece> {
    let mut out = Vec::new();
    for f in files {
        for p in f.pieces() {
            let read = is_read(p);
            if let Some(Some(words)) = empty_module_grep(p) {
                out.push(PastedPiece {
                    file: f.path.clone(),
                    lines: [p.piece.command_line.unwrap_or(p.piece.first_line); 2],
                    command: p.piece.command.clone(),
                    kind: "lsmod",
                    read,
                    notes: vec![format!(
                        "printed nothing: no module matching {} is loaded",
                        words.join(" or ")
                    )],
                });
                continue;
            }
            let mut notes: Vec<String> = p.all_issues().map(ToString::to_string).collect();
            if let TextContent::KubectlTables(t) = &p.content {
                let unused =
                    t.services.len() + t.endpoints.len() + t.endpoint_slices.len() + t.pods.len();
                if unused > 0 {
                    notes.push(format!(
                        "{unused} Service, Endpoints or Pod row(s) not used: a table leaves out \
                         target ports, traffic policies and labels (paste `-o yaml` instead)"
                    ));
                }
            }
            let said = crate::signatures::scan(&p.piece.body, &f.path, p.piece.first_line);
            let read = read || !said.is_empty();
            if !said.is_empty() {
                notes.push(messages_note(&said));
            }
            if let TextKind::Unknown(why) = &p.kind {
                if said.is_empty() {
                    notes.insert(0, why.to_string());
                }
            } else if !read {
                notes.insert(
                    0,
                    format!(
                        "recognised as {}, which no check reads yet",
                        kind_label(&p.kind)
                    ),
                );
            }
            let kind = match (&p.kind, said.is_empty()) {
                (TextKind::Unknown(_), false) => MESSAGES,
                _ => kind_label(&p.kind),
            };
            out.push(PastedPiece {
                file: f.path.clone(),
                lines: [p.piece.first_line, p.piece.last_line],
                command: p.piece.command.clone(),
                kind,
                read,
                notes,
            });
        }
        for issue in &f.text.issues {
            out.push(PastedPiece {
                file: f.path.clone(),
                lines: [1, 1],
                command: None,
                kind: "file",
                read: true,
                notes: vec![issue.to_string()],
            });
        }
    }
    out
}

/// The kind label of a piece read only for the known messages in it (log lines, tool errors,
/// probes amid prose).
pub const MESSAGES: &str = "messages";

/// "known messages: kube-proxy-ipvs-fallback-iptables (line 3), ...", at most a few named.
fn messages_note(said: &[crate::signatures::Match]) -> String {
    const NAMED: usize = 5;
    let mut named: Vec<String> = said
        .iter()
        .take(NAMED)
        .map(|m| format!("{} ({})", m.signature.id, m.observation.evidence.locator))
        .collect();
    if said.len() > NAMED {
        named.push(format!("{} more", said.len() - NAMED));
    }
    format!("known messages: {}", named.join(", "))
}

type Filter = Option<Option<Vec<String>>>;

/// The filter of module lists put together: an unfiltered list shows everything; filters add
/// up. `first`: no list was read before this one.
fn merge_filters(first: bool, before: Filter, this: Filter) -> Filter {
    match (first, before, this) {
        (true, _, f) => f,
        (false, None, _) | (false, _, None) => None,
        (false, Some(Some(mut a)), Some(Some(b))) => {
            a.extend(b);
            Some(Some(a))
        }
        (false, Some(_), Some(_)) => Some(None),
    }
}

/// The filter of a module listing whose grep matched nothing (`lsmod | grep ip_vs` printing
/// nothing, which is how people show a module is missing).
pub fn empty_module_grep(p: &crate::decode::text::TextPiece) -> Filter {
    let command = p.piece.command.as_deref()?;
    let lists = command.starts_with("lsmod")
        || command.starts_with("sudo lsmod")
        || command.contains("/proc/modules");
    if !lists || !p.piece.body.trim().is_empty() {
        return None;
    }
    grep_filter(command)?.map(Some)
}

/// Whether a links piece is an address listing (`ip a`, `ip -j addr`, `ifconfig`, `ip -br a`).
fn lists_addresses(p: &crate::decode::text::TextPiece) -> bool {
    if matches!(p.kind, TextKind::IpAddr { .. } | TextKind::Ifconfig) {
        return true;
    }
    if let TextContent::Links(t) = &p.content {
        if !t.addresses.is_empty() {
            return true;
        }
    }
    let words: Vec<&str> = p
        .piece
        .command
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    words.first() == Some(&"ip")
        && words
            .iter()
            .skip(1)
            .find(|w| !w.starts_with('-'))
            .is_some_and(|w| "address".starts_with(*w) && !w.is_empty())
}

/// The collector's `nft -j list ruleset` artifact, which a pasted `nft list ruleset` stands
/// in for.
const NFT_ARTIFACT: &str = "commands/nft-j-list-ruleset.txt";

/// `10.96.0.1:443`, `[fd00::1]:443`: how ipvsadm -Ln and the checks write a service.
fn addr_port(addr: Option<IpAddr>, port: Option<u16>) -> Option<String> {
    let port = port?;
    Some(match addr? {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    })
}

/// Points evidence at pasted files: node evidence through the node's own input, Kubernetes
/// evidence through whichever input the objects were pasted in.
pub struct Citer<'a> {
    node: &'a Bundle,
    typed: &'a TextCitations,
    k8s: &'a BTreeMap<String, Vec<PastedSpan>>,
}

impl<'a> Citer<'a> {
    pub fn new(
        node: &'a Bundle,
        typed: &'a TextCitations,
        k8s: &'a BTreeMap<String, Vec<PastedSpan>>,
    ) -> Self {
        Citer { node, typed, k8s }
    }

    /// The spans of every pasted `k8s/` artifact of all inputs (the first input's wins).
    pub fn k8s_spans<'b>(
        bundles: impl IntoIterator<Item = &'b Bundle>,
    ) -> BTreeMap<String, Vec<PastedSpan>> {
        let mut out = BTreeMap::new();
        for b in bundles {
            for a in &b.manifest().artifacts {
                if let (true, Source::Pasted { spans }) = (a.path.starts_with("k8s/"), &a.source) {
                    if !spans.is_empty() {
                        out.entry(a.path.clone()).or_insert_with(|| spans.clone());
                    }
                }
            }
        }
        out
    }

    /// Points `ev` at the pasted file and line it came from; false when it is no evidence
    /// at all for pasted text (that nothing was pasted for an artifact says nothing of the node).
    pub fn cite(&self, ev: &mut Evidence) -> bool {
        if ev.artifact.starts_with("k8s/") {
            if let Some(spans) = self.k8s.get(&ev.artifact) {
                cite_spans(ev, spans);
            }
            return true;
        }
        if !self.node.is_pasted() {
            return true;
        }
        // "manifest.json, <artifact>": why an artifact is missing; for a failed command the
        // paste shows where it failed.
        if ev.artifact == names::MANIFEST {
            let Some(Source::Pasted { spans }) = self
                .node
                .manifest()
                .artifact(&ev.locator)
                .map(|a| &a.source)
            else {
                return true;
            };
            let Some(s) = spans.first() else {
                return false;
            };
            ev.artifact = s.file.clone();
            ev.locator = format!("line {}", s.first_line);
            return true;
        }
        if let Some(Source::Pasted { spans }) = self
            .node
            .manifest()
            .artifact(&ev.artifact)
            .map(|a| &a.source)
        {
            if !spans.is_empty() && self.node.file(&ev.artifact).is_some() {
                cite_spans(ev, spans);
                return true;
            }
        }
        if let Some(c) = self.typed.by_artifact.get(ev.artifact.as_str()) {
            cite_items(ev, c);
        }
        true
    }
}

/// `line N` of a derived artifact → the pasted file and its line.
fn cite_spans(ev: &mut Evidence, spans: &[PastedSpan]) {
    let Some(first) = spans.first() else { return };
    let line = ev.locator.strip_prefix("line ").and_then(|r| {
        let digits: String = r.chars().take_while(char::is_ascii_digit).collect();
        Some((digits.parse::<usize>().ok()?, r[digits.len()..].to_string()))
    });
    if let Some((n, rest)) = line {
        let mut before = 0;
        for s in spans {
            if n > before && n <= before + s.lines {
                ev.artifact = s.file.clone();
                ev.locator = format!("line {}{rest}", s.first_line + n - before - 1);
                return;
            }
            before += s.lines;
        }
    }
    ev.artifact = first.file.clone();
    ev.locator = format!(
        "{} (lines {}-{})",
        ev.locator,
        first.first_line,
        first.first_line + first.lines.saturating_sub(1)
    );
}

/// A typed fact's evidence → the line of the item it names, else the piece it came from.
fn cite_items(ev: &mut Evidence, c: &Cited) {
    let named = |text: &str| {
        c.items
            .iter()
            .find(|(key, ..)| contains_word(text, key))
            .cloned()
    };
    // Evidence about a whole listing ("no ip_vs among 14 modules") names no one item.
    let item = if ev.locator == "whole file" {
        None
    } else {
        named(&ev.locator).or_else(|| named(&ev.excerpt))
    };
    if let Some((_, file, line)) = item {
        ev.artifact = file;
        ev.locator = format!("line {line} ({})", ev.locator);
        return;
    }
    let files: BTreeSet<&str> = c.pieces.iter().map(|(f, ..)| f.as_str()).collect();
    if let Some((file, ..)) = c.pieces.first() {
        let in_file = c.pieces.iter().filter(|(f, ..)| f == file);
        let first = in_file.clone().map(|p| p.1).min().unwrap_or(1);
        let last = in_file.map(|p| p.2).max().unwrap_or(first).max(first);
        ev.locator = format!("{} (lines {first}-{last})", ev.locator);
        ev.artifact = if files.len() == 1 {
            file.clone()
        } else {
            files.into_iter().collect::<Vec<_>>().join(", ")
        };
    }
}

/// `key` occurs in `text` not as part of a longer name or address (`eth1` is not in `eth10`,
/// `10.0.0.1:80` is not in `10.0.0.1:8080`).
fn contains_word(text: &str, key: &str) -> bool {
    if key.is_empty() {
        return false;
    }
    let inside = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(key).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + key.len()..].chars().next();
        !before.is_some_and(|c| inside(c) || c == '.') && !after.is_some_and(inside)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nft_artifact_is_the_collectors() {
        assert_eq!(
            NFT_ARTIFACT,
            names::command_artifact(crate::diagnose::facts::NFT_COMMAND)
        );
    }

    #[test]
    fn words_are_whole() {
        assert!(contains_word("link eth1", "eth1"));
        assert!(!contains_word("link eth10", "eth1"));
        assert!(contains_word("TCP 10.0.0.1:80 rr", "10.0.0.1:80"));
        assert!(!contains_word("TCP 10.0.0.1:8080", "10.0.0.1:80"));
        assert!(contains_word("no ip_vs, ip_vs_rr.", "ip_vs_rr"));
        assert!(!contains_word("ip_vs_rr", "ip_vs"));
    }

    #[test]
    fn addresses_of_several_pastes_join_their_link_by_name() {
        use crate::decode::text::decode_text;
        let files = vec![
            PastedFile {
                path: "a.txt".into(),
                text: decode_text(
                    b"$ ip a\n1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff\n    inet 192.168.122.96/24 brd 192.168.122.255 scope global eth0\n       valid_lft forever preferred_lft forever\n",
                ),
            },
            PastedFile {
                path: "b.txt".into(),
                text: decode_text(
                    b"$ ip -br a\nlo               UNKNOWN        127.0.0.1/8\neth0             UP             192.168.122.96/24 10.0.0.9/24\n",
                ),
            },
        ];
        let t = TextFacts::from_pasted(&files);
        let links = t.links.expect("links");
        assert_eq!(links.len(), 2);
        let eth0 = links
            .iter()
            .find(|l| l.ifname() == "eth0")
            .expect("eth0")
            .summary
            .ifindex;
        let addrs = t.addrs.expect("addresses");
        let on_eth0: Vec<String> = addrs
            .iter()
            .filter(|a| a.ifindex == eth0)
            .filter_map(|a| a.ip.map(|ip| ip.to_string()))
            .collect();
        assert_eq!(on_eth0, ["192.168.122.96", "10.0.0.9"]);
        assert_eq!(addrs.len(), 3, "{addrs:?}");
    }

    #[test]
    fn lines_of_a_concatenated_artifact_map_back() {
        let spans = vec![
            PastedSpan {
                file: "a.txt".into(),
                first_line: 10,
                lines: 2,
            },
            PastedSpan {
                file: "b.txt".into(),
                first_line: 3,
                lines: 5,
            },
        ];
        let mut ev = Evidence::new("sysctl.txt", "line 4", "x");
        cite_spans(&mut ev, &spans);
        assert_eq!(
            (ev.artifact.as_str(), ev.locator.as_str()),
            ("b.txt", "line 4")
        );
        let mut ev = Evidence::new("sysctl.txt", "line 2 (eth0)", "x");
        cite_spans(&mut ev, &spans);
        assert_eq!(
            (ev.artifact.as_str(), ev.locator.as_str()),
            ("a.txt", "line 11 (eth0)")
        );
    }
}
