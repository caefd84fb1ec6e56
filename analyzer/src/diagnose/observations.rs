//! The observations of one input: every line of its logs, kernel messages and pasted text that
//! a signature of [`crate::signatures`] recognises, with the file and line it was read at.
//!
//! A pasted input is read from its originals (every piece, prose included: a log line pasted
//! in the middle of a sentence is still the component's word), so what the paste said is
//! cited where the user pasted it. A native bundle is read from the artifacts that hold
//! messages: the kernel log and the components' logs.

use netsnap_bundle::names;

use crate::decode::text::kubectl_get::TablesText;
use crate::decode::text::link_manager;
use crate::decode::text::shapes::Shape;
use crate::decode::text::{TextContent, TextKind, TextPiece};
use crate::diagnose::Evidence;
use crate::load::Bundle;
use crate::observe::{Certainty, FactKind, Observation};
use crate::signatures;

/// Artifacts of a native bundle that hold messages: the kernel's and the components' logs
/// (`k8s/logs-<namespace>-<name>.txt`, as the collector names `kubectl logs` output).
fn is_message_artifact(path: &str) -> bool {
    path == names::KMSG
        || path
            .strip_prefix("k8s/logs-")
            .is_some_and(|rest| rest.ends_with(".txt"))
}

/// Every observation a signature makes in `bundle`, in file and line order.
pub fn collect(bundle: &Bundle) -> Vec<Observation> {
    let mut out = Vec::new();
    if bundle.pasted().is_empty() {
        for path in bundle.paths().filter(|p| is_message_artifact(p)) {
            if let Some(bytes) = bundle.file(path) {
                let text = String::from_utf8_lossy(bytes);
                out.extend(
                    signatures::scan(&text, path, 1)
                        .into_iter()
                        .map(|m| m.observation),
                );
            }
        }
    } else {
        for f in bundle.pasted() {
            for p in f.pieces() {
                out.extend(of_piece(p, &f.path));
            }
        }
    }
    out
}

/// What one pasted piece states: its known messages, and the rows of listings that state facts
/// by themselves (kubectl tables, Cilium's listings, the links a network manager manages).
pub fn of_piece(p: &TextPiece, file: &str) -> Vec<Observation> {
    let mut out: Vec<Observation> = signatures::scan(&p.piece.body, file, p.piece.first_line)
        .into_iter()
        .map(|m| m.observation)
        .collect();
    if let TextContent::KubectlTables(t) = &p.content {
        tables(t, file, &mut out);
    }
    cilium_rows(&p.piece.body, file, p.piece.first_line, &mut out);
    nft_unsupported(&p.piece.body, file, p.piece.first_line, &mut out);
    if p.kind == TextKind::Shown(Shape::FirewallStatus) {
        firewall_status(&p.piece, file, &mut out);
    }
    if p.kind == TextKind::Shown(Shape::LinkManager) {
        for m in link_manager::managed_links(&p.piece.body) {
            let line = p.piece.first_line + m.line;
            let excerpt = p.piece.body.lines().nth(m.line).unwrap_or_default();
            out.push(Observation::new(
                FactKind::LinkManaged,
                m.device,
                format!("{}: {}", m.manager, m.detail),
                Certainty::Tool,
                Evidence::new(file, format!("line {line}"), excerpt.trim()),
            ));
        }
    }
    out
}

/// What kubectl tables state on their own: a Service whose Endpoints row shows `<none>`, and
/// the pods of the Service path's components that are not running or not ready.
fn tables(t: &TablesText, file: &str, out: &mut Vec<Observation>) {
    let cite = |line: usize, excerpt: String| Evidence::new(file, format!("line {line}"), excerpt);
    for e in &t.endpoints {
        let shown = e.shown.contains("subsets.addresses");
        let none = e.value.subsets.iter().all(|s| s.addresses.is_empty());
        if shown && none {
            let name = qualified(&e.value.metadata.namespace, &e.value.metadata.name);
            out.push(Observation::new(
                FactKind::ServiceNoEndpoints,
                name.clone(),
                "",
                Certainty::Tool,
                cite(e.line, format!("Endpoints {name}: <none>")),
            ));
        }
    }
    for p in &t.pods {
        let name = p.value.metadata.name.as_str();
        let Some(component) = COMPONENT_PODS
            .iter()
            .find(|c| name.starts_with(&format!("{c}-")))
        else {
            continue;
        };
        let printed = |h: &str| {
            p.printed
                .iter()
                .find(|(k, _)| k == h)
                .map_or("", |(_, v)| v.as_str())
        };
        let status = printed("STATUS");
        let ready = printed("READY");
        let not_ready = ready
            .split_once('/')
            .is_some_and(|(a, b)| a.trim() != b.trim());
        if (!status.is_empty() && status != "Running" && status != "Completed") || not_ready {
            out.push(Observation::new(
                FactKind::ComponentNotRunning,
                *component,
                format!("{status} {ready}").trim().to_string(),
                Certainty::Tool,
                cite(p.line, format!("pod {name}: READY {ready} STATUS {status}")),
            ));
        }
    }
}

/// Pod name prefixes of the components on the Service path (their DaemonSets' names).
const COMPONENT_PODS: &[&str] = &[
    "kube-proxy",
    "calico-node",
    "kube-flannel-ds",
    "kube-flannel",
    "cilium",
    "coredns",
    "speaker",
];

fn qualified(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// The observations of `kind`.
pub fn of_kind(all: &[Observation], kind: FactKind) -> impl Iterator<Item = &Observation> {
    all.iter().filter(move |o| o.kind == kind)
}

/// Rows of Cilium's own listings: `cilium service list` (`ID  Frontend  Service Type  Backend`,
/// the NodePort frontends its kube-proxy replacement serves) and `cilium-dbg statedb
/// node-addresses` (`Address  NodePort  Primary  DeviceName`: whether an address serves
/// NodePorts; cilium `pkg/datapath/tables/node_address.go`).
fn cilium_rows(body: &str, file: &str, first_line: usize, out: &mut Vec<Observation>) {
    static FRONTEND: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    static ADDRESS: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let frontend = FRONTEND
        .get_or_init(|| regex::Regex::new(r"^\s*\d+\s+(\S+:\d+)\s+NodePort\s").ok())
        .as_ref();
    let address = ADDRESS
        .get_or_init(|| {
            regex::Regex::new(r"^([0-9A-Fa-f.:]+)\s+(true|false)\s+(true|false)\s+(\S+)\s*$").ok()
        })
        .as_ref();
    for (i, line) in body.lines().enumerate() {
        let cite = || Evidence::new(file, format!("line {}", first_line + i), line.trim());
        if let Some(c) = frontend.and_then(|re| re.captures(line)) {
            out.push(Observation::new(
                FactKind::NodePortFrontend,
                &c[1],
                "",
                Certainty::Tool,
                cite(),
            ));
        } else if let Some(c) = address.and_then(|re| re.captures(line)) {
            out.push(Observation::new(
                FactKind::CiliumNodeAddress,
                &c[1],
                format!("nodeport={} dev={}", &c[2], &c[4]),
                Certainty::Tool,
                cite(),
            ));
        }
    }
}

/// What `ufw status` and `firewall-cmd --list-all` state: whether the firewall is active, and
/// what it allows. `ufw status` prints `Status: active|inactive`, then one `To  Action  From`
/// row per rule (`443  ALLOW  Anywhere`, `22/tcp (v6)  ALLOW IN  Anywhere (v6)`,
/// `Anywhere  ALLOW  10.0.0.0/8`); `firewall-cmd --list-all` prints `<zone> (active)` and
/// `ports: 6443/tcp 10250/tcp` (ufw's `ufw.py` status; firewalld's `firewall-cmd`).
fn firewall_status(piece: &crate::decode::text::Piece, file: &str, out: &mut Vec<Observation>) {
    let cite = |line: usize, excerpt: &str| {
        Evidence::new(file, format!("line {line}"), excerpt.trim().to_string())
    };
    let mut firewalld = false;
    for (n, line) in piece.numbered_lines() {
        let t = line.trim();
        if let Some(state) = t.strip_prefix("Status: ") {
            let state = state.trim();
            if state == "active" || state == "inactive" {
                out.push(Observation::new(
                    FactKind::FirewallState,
                    "ufw",
                    state,
                    Certainty::Tool,
                    cite(n, t),
                ));
            }
            continue;
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        if let Some(i) = words.iter().position(|w| *w == "ALLOW") {
            // `To` is everything before the action, less ` (v6)`.
            let to: Vec<&str> = words[..i]
                .iter()
                .copied()
                .filter(|w| *w != "(v6)")
                .collect();
            let from: Vec<&str> = words[i + 1..]
                .iter()
                .copied()
                .filter(|w| !matches!(*w, "IN" | "FWD" | "(v6)"))
                .collect();
            let value = match (to.as_slice(), from.first()) {
                (["Anywhere"], Some(src)) if *src != "Anywhere" => format!("from {src}"),
                ([port], _) => (*port).to_string(),
                _ => continue,
            };
            out.push(Observation::new(
                FactKind::FirewallAllows,
                "ufw",
                value,
                Certainty::Tool,
                cite(n, t),
            ));
            continue;
        }
        if t.ends_with("(active)") && !t.contains(':') {
            firewalld = true;
            out.push(Observation::new(
                FactKind::FirewallState,
                "firewalld",
                "active",
                Certainty::Tool,
                cite(n, t),
            ));
            continue;
        }
        if firewalld {
            if let Some(ports) = t.strip_prefix("ports:") {
                for p in ports.split_whitespace() {
                    out.push(Observation::new(
                        FactKind::FirewallAllows,
                        "firewalld",
                        p,
                        Certainty::Tool,
                        cite(n, t),
                    ));
                }
            }
        }
    }
}

/// nf_tables expressions that live in kernel modules of their own (`nft_<name>`): a kernel
/// without the module answers a rule using one with ENOENT, and nft prints "Could not process
/// rule: No such file or directory" with the rule and a caret line under the part it rejected
/// (netfilter's `nf_tables_expr_parse` finds no type after `request_module("nft-expr-%s")`).
/// ENOENT under anything else is a missing chain, set or map (`jump nosuchchain`).
const NFT_MODULE_EXPRESSIONS: &[&str] = &[
    "fib",
    "numgen",
    "ct",
    "dnat",
    "snat",
    "masquerade",
    "redirect",
    "reject",
    "limit",
    "log",
    "quota",
    "hash",
    "jhash",
    "symhash",
    "socket",
    "tproxy",
    "osf",
    "synproxy",
    "xfrm",
    "fwd",
    "dup",
    "queue",
    "connlimit",
];

/// nft's rejection of a rule whose expression the kernel lacks: the error line, the rule
/// echoed under it, and the caret line marking the expression.
fn nft_unsupported(body: &str, file: &str, first_line: usize, out: &mut Vec<Observation>) {
    let lines: Vec<&str> = body.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !line.contains("Error: Could not process rule: No such file or directory") {
            continue;
        }
        let (Some(rule), Some(carets)) = (lines.get(i + 1), lines.get(i + 2)) else {
            continue;
        };
        let rule: Vec<char> = rule.chars().collect();
        let marked: String = carets
            .chars()
            .enumerate()
            .filter(|(_, c)| *c == '^')
            .filter_map(|(n, _)| rule.get(n))
            .collect();
        let Some(expr) = marked.split_whitespace().next() else {
            continue;
        };
        if NFT_MODULE_EXPRESSIONS.contains(&expr) {
            // `add rule <family> <table> <chain> ...`: the table says whose ruleset it was.
            let words: Vec<String> = rule
                .iter()
                .collect::<String>()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            let table = words
                .iter()
                .position(|w| w == "rule")
                .and_then(|n| Some(format!("{} {}", words.get(n + 1)?, words.get(n + 2)?)));
            let value = match table {
                Some(t) => format!("{} (table {t})", marked.trim()),
                None => marked.trim().to_string(),
            };
            out.push(Observation::new(
                FactKind::NftExpressionUnsupported,
                expr,
                value,
                Certainty::Tool,
                Evidence::new(file, format!("line {}", first_line + i), line.trim()),
            ));
        }
    }
}

#[cfg(test)]
mod nft_tests {
    use super::*;

    #[test]
    fn a_rejected_expression_is_named_and_a_missing_chain_is_not() {
        // The first: as kube-proxy printed it on a kernel without nft_fib (siderolabs/pkgs#951);
        // the second: nft 1.0.6 on this project's development machine, a jump to no chain.
        let text = "│     /dev/stdin:892:87-100: Error: Could not process rule: No such file or directory\n│     add rule ip kube-proxy external-3BXM2ZZ4-haproxy/external-kubernetes-ingress/tcp/http fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\" \n│                                                                                           ^^^^^^^^^^^^^^ \n/tmp/r.nft:3:22-32: Error: Could not process rule: No such file or directory\nadd rule ip t c jump nosuchchain\n                     ^^^^^^^^^^^\n";
        let mut out = Vec::new();
        nft_unsupported(text, "f.txt", 1, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, FactKind::NftExpressionUnsupported);
        assert_eq!(out[0].subject, "fib");
        assert_eq!(out[0].evidence.locator, "line 1");
    }
}

#[cfg(test)]
mod firewall_tests {
    use super::*;
    use crate::decode::text::Piece;

    #[test]
    fn ufw_status_states_what_it_allows() {
        let piece = Piece {
            command: None,
            command_line: None,
            first_line: 1,
            last_line: 6,
            body: "Status: active\nTo                         Action      From\n--                         ------      ----\n443                        ALLOW       Anywhere\n22/tcp (v6)                ALLOW IN    Anywhere (v6)\nAnywhere                   ALLOW       10.0.0.0/8"
                .to_string(),
        };
        let mut out = Vec::new();
        firewall_status(&piece, "f.txt", &mut out);
        let got: Vec<(FactKind, &str)> = out.iter().map(|o| (o.kind, o.value.as_str())).collect();
        assert_eq!(
            got,
            [
                (FactKind::FirewallState, "active"),
                (FactKind::FirewallAllows, "443"),
                (FactKind::FirewallAllows, "22/tcp"),
                (FactKind::FirewallAllows, "from 10.0.0.0/8"),
            ]
        );
        assert_eq!(out[1].evidence.locator, "line 4");
    }
}
