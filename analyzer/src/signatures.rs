//! The signature library: messages that components on the Service path print, read from their
//! upstream source, each tied to the source line, the versions that print it, the fact it
//! establishes and the failure-catalog entries it supports. `docs/signatures.md` is generated
//! from [`all`] by [`markdown`] (a test keeps it current).
//!
//! A pattern is a regular expression matched anywhere in one line, so prefixes that other tools
//! add (`kubectl logs --prefix`, journalctl, syslog, klog headers, quotes) do not stop it. Named
//! captures feed the observation's subject and value ([`Part::Capture`], [`Part::AddrPort`],
//! [`Part::Join`]).
//!
//! One file per component (`kube_proxy.rs`, `kubelet.rs`, ...), each a `SIGNATURES` table.
//! Where the wording changed between versions, each wording is its own signature or its own
//! example, with the versions that print it.

use std::sync::OnceLock;

use regex::{Regex, RegexSet};
use serde::Serialize;

use crate::diagnose::finding::Evidence;
use crate::observe::{Certainty, FactKind, Observation};

mod calico;
mod flannel;
mod k3s;
mod kernel;
mod kube_proxy;
mod kubelet;
mod probes;
mod runtime;
mod tools;

/// Who prints a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    KubeProxy,
    Kubelet,
    Flannel,
    CalicoNode,
    CalicoFelix,
    Bird,
    K3s,
    Rke2,
    Kernel,
    Ipset,
    Iptables,
    Nft,
    Ipvsadm,
    Modprobe,
    Runc,
    Containerd,
    Kubectl,
    Curl,
    Cilium,
    Metallb,
    Coredns,
    Kubeadm,
    Calicoctl,
    Netcat,
    Telnet,
    Ping,
    Wget,
    Busybox,
    CniPlugins,
}

impl Component {
    /// The name as printed in `docs/signatures.md` and in JSON (kebab-case).
    pub fn name(self) -> &'static str {
        match self {
            Component::KubeProxy => "kube-proxy",
            Component::Kubelet => "kubelet",
            Component::Flannel => "flannel",
            Component::CalicoNode => "calico-node",
            Component::CalicoFelix => "calico-felix",
            Component::Bird => "bird",
            Component::K3s => "k3s",
            Component::Rke2 => "rke2",
            Component::Kernel => "kernel",
            Component::Ipset => "ipset",
            Component::Iptables => "iptables",
            Component::Nft => "nft",
            Component::Ipvsadm => "ipvsadm",
            Component::Modprobe => "modprobe",
            Component::Runc => "runc",
            Component::Containerd => "containerd",
            Component::Kubectl => "kubectl",
            Component::Curl => "curl",
            Component::Cilium => "cilium",
            Component::Metallb => "metallb",
            Component::Coredns => "coredns",
            Component::Kubeadm => "kubeadm",
            Component::Calicoctl => "calicoctl",
            Component::Netcat => "netcat",
            Component::Telnet => "telnet",
            Component::Ping => "ping",
            Component::Wget => "wget",
            Component::Busybox => "busybox",
            Component::CniPlugins => "cni-plugins",
        }
    }
}

/// Where a part of the observation comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Nothing (the kind says it all).
    None,
    /// A fixed text.
    Fixed(&'static str),
    /// The named capture of the pattern.
    Capture(&'static str),
    /// A probe's target from two named captures, address and port: `addr:port`, `[v6]:port`,
    /// or the address alone when the port capture did not take part.
    AddrPort(&'static str, &'static str),
    /// The named captures that took part, in order, joined by the separator.
    Join(&'static [&'static str], &'static str),
}

/// One known message.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// Stable kebab-case id, never reused.
    pub id: &'static str,
    pub component: Component,
    /// The versions that print it, as upstream tags (`v1.10.0 – v1.19.x`, `v1.20.0 –`).
    pub versions: &'static str,
    /// The upstream source lines that print it (permalinks with line numbers).
    pub sources: &'static [&'static str],
    /// A regular expression matched anywhere in one line.
    pub pattern: &'static str,
    /// The fact it establishes.
    pub kind: FactKind,
    pub subject: Part,
    pub value: Part,
    pub certainty: Certainty,
    /// Failure-catalog entries it supports (`C01`).
    pub catalog: &'static [&'static str],
    /// Real lines as the component prints them, each of which must match (tested).
    pub examples: &'static [&'static str],
}

/// Every signature, by component.
pub fn all() -> impl Iterator<Item = &'static Signature> {
    kube_proxy::SIGNATURES
        .iter()
        .chain(kubelet::SIGNATURES)
        .chain(flannel::SIGNATURES)
        .chain(calico::SIGNATURES)
        .chain(k3s::SIGNATURES)
        .chain(kernel::SIGNATURES)
        .chain(tools::SIGNATURES)
        .chain(runtime::SIGNATURES)
        .chain(probes::SIGNATURES)
}

struct Compiled {
    set: RegexSet,
    each: Vec<Regex>,
    sigs: Vec<&'static Signature>,
}

fn compiled() -> &'static Compiled {
    static C: OnceLock<Compiled> = OnceLock::new();
    C.get_or_init(|| {
        let sigs: Vec<&'static Signature> = all().collect();
        // The patterns are ours and tested (every signature's examples must match), so a bad
        // one is a bug caught by the test suite; at run time it is left out, never a panic.
        let each: Vec<Regex> = sigs
            .iter()
            .map(|s| Regex::new(s.pattern).unwrap_or_else(|_| never()))
            .collect();
        let set =
            RegexSet::new(each.iter().map(Regex::as_str)).unwrap_or_else(|_| RegexSet::empty());
        Compiled { set, each, sigs }
    })
}

/// A regex that matches nothing.
fn never() -> Regex {
    Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable!("a constant pattern"))
}

/// A signature that matched one line, with the observation it makes.
#[derive(Debug, Clone)]
pub struct Match {
    pub signature: &'static Signature,
    pub observation: Observation,
}

/// Every signature matching `line`; `evidence` locates the line (artifact, `line N`) and its
/// excerpt is replaced by the line itself.
pub fn match_line(line: &str, artifact: &str, locator: &str) -> Vec<Match> {
    let c = compiled();
    let mut out = Vec::new();
    for i in c.set.matches(line).iter() {
        let (Some(sig), Some(re)) = (c.sigs.get(i), c.each.get(i)) else {
            continue;
        };
        let Some(caps) = re.captures(line) else {
            continue;
        };
        let cap = |name: &str| caps.name(name).map(|m| m.as_str().trim()).unwrap_or("");
        let part = |p: Part| match p {
            Part::None => String::new(),
            Part::Fixed(s) => s.to_string(),
            Part::Capture(name) => cap(name).to_string(),
            Part::AddrPort(addr, port) => addr_port(cap(addr), cap(port)),
            Part::Join(names, sep) => names
                .iter()
                .map(|n| cap(n))
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join(sep),
        };
        let mut observation = Observation::new(
            sig.kind,
            part(sig.subject),
            part(sig.value),
            sig.certainty,
            Evidence::new(artifact, locator, line.trim()),
        );
        observation.signature = Some(sig.id);
        out.push(Match {
            signature: sig,
            observation,
        });
    }
    out
}

/// `addr:port` (IPv6 in brackets), or the address alone when there is no port.
fn addr_port(addr: &str, port: &str) -> String {
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    match (addr.contains(':'), port.is_empty()) {
        (_, true) => addr.to_string(),
        (true, false) => format!("[{addr}]:{port}"),
        (false, false) => format!("{addr}:{port}"),
    }
}

/// Every signature match in a text, line by line (`line N`, 1-based from `first_line`).
pub fn scan(text: &str, artifact: &str, first_line: usize) -> Vec<Match> {
    text.lines()
        .enumerate()
        .flat_map(|(i, l)| match_line(l, artifact, &format!("line {}", first_line + i)))
        .collect()
}

/// `docs/signatures.md`: every signature, by component, with its versions, pattern, fact,
/// catalog entries, sources and examples. A pure function of [`all`], so a test can keep the
/// document current.
pub fn markdown() -> String {
    use std::fmt::Write as _;
    let mut sigs: Vec<&Signature> = all().collect();
    sigs.sort_by_key(|s| s.component);
    let mut out = String::new();
    out.push_str("<!-- Generated from analyzer/src/signatures/*.rs by `signatures::markdown()`. ");
    out.push_str(
        "Do not edit: run `NETSNAP_UPDATE_DOCS=1 cargo test -p netsnap --lib signatures`. -->\n\n",
    );
    out.push_str("# Signature library\n\n");
    out.push_str(
        "Messages that components on the Service path print, read from their upstream source. ",
    );
    out.push_str(
        "Each pattern is a regular expression matched anywhere in one line, so prefixes such as ",
    );
    out.push_str("`kubectl logs --prefix`, journalctl, syslog, klog headers and JSON quoting do not stop it. ");
    out.push_str(
        "A match becomes an observation (`kind`, `subject`, `value`, certainty) with the line as ",
    );
    out.push_str("its evidence. Sources point at the upstream file at a release tag; a `#L` anchor is given ");
    out.push_str(
        "where the line is known (from the source at that tag, or from the klog header of a ",
    );
    out.push_str(
        "printed line whose version the reporter gave). Thread links show the line as printed.\n\n",
    );
    let _ = writeln!(out, "{} signatures.\n", sigs.len());
    let mut counts: Vec<(Component, usize)> = Vec::new();
    for s in &sigs {
        match counts.last_mut() {
            Some((c, n)) if *c == s.component => *n += 1,
            _ => counts.push((s.component, 1)),
        }
    }
    out.push_str("| component | signatures |\n|---|---|\n");
    for (c, n) in &counts {
        let _ = writeln!(out, "| {} | {n} |", c.name());
    }
    let mut current = None;
    for s in sigs {
        if current != Some(s.component) {
            current = Some(s.component);
            let _ = writeln!(out, "\n## {}\n", s.component.name());
        }
        let _ = writeln!(out, "### `{}`\n", s.id);
        let _ = writeln!(out, "- versions: {}", s.versions);
        let _ = writeln!(out, "- pattern: {}", code(s.pattern));
        let _ = writeln!(
            out,
            "- fact: `{}` subject {} value {} ({})",
            kebab(&format!("{:?}", s.kind)),
            describe(s.subject),
            describe(s.value),
            kebab(&format!("{:?}", s.certainty)),
        );
        let catalog = if s.catalog.is_empty() {
            "none".to_string()
        } else {
            s.catalog.join(", ")
        };
        let _ = writeln!(out, "- catalog: {catalog}");
        out.push_str("- sources:\n");
        for src in s.sources {
            let _ = writeln!(out, "  - <{src}>");
        }
        out.push_str("- examples:\n\n  ```text\n");
        for ex in s.examples {
            let _ = writeln!(out, "  {ex}");
        }
        out.push_str("  ```\n\n");
    }
    out
}

/// An inline code span that survives backticks inside (Markdown: a longer fence, padded).
fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

fn describe(p: Part) -> String {
    match p {
        Part::None => "(none)".to_string(),
        Part::Fixed(s) => code(s),
        Part::Capture(n) => format!("<{n}>"),
        Part::AddrPort(a, p) => format!("<{a}>:<{p}>"),
        Part::Join(names, sep) => names
            .iter()
            .map(|n| format!("<{n}>"))
            .collect::<Vec<_>>()
            .join(sep),
    }
}

/// `ProxyModeFallback` → `proxy-mode-fallback` (the serde name).
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests;
