//! The signature library: messages that components on the Service path print, read from their
//! upstream source, each tied to the source line, the versions that print it, the fact it
//! establishes and the failure-catalog entries it supports. `docs/signatures.md` is generated
//! from [`ALL`] (a test keeps it current).
//!
//! A pattern is a regular expression matched anywhere in one line, so prefixes that other tools
//! add (`kubectl logs --prefix`, journalctl, syslog, klog headers, quotes) do not stop it. Named
//! captures feed the observation's subject and value ([`Part::Capture`]).

use std::sync::OnceLock;

use regex::{Regex, RegexSet};
use serde::Serialize;

use crate::diagnose::finding::Evidence;
use crate::observe::{Certainty, FactKind, Observation};

mod kube_proxy;

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
    kube_proxy::SIGNATURES.iter()
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
        let part = |p: Part| match p {
            Part::None => String::new(),
            Part::Fixed(s) => s.to_string(),
            Part::Capture(name) => caps
                .name(name)
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
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

/// Every signature match in a text, line by line (`line N`, 1-based from `first_line`).
pub fn scan(text: &str, artifact: &str, first_line: usize) -> Vec<Match> {
    text.lines()
        .enumerate()
        .flat_map(|(i, l)| match_line(l, artifact, &format!("line {}", first_line + i)))
        .collect()
}

#[cfg(test)]
mod tests;
