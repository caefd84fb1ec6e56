//! The fix script: one bash script from a [`Report`], the same model the other reports render.
//!
//! Sections follow the report's order (root causes in fix order, each before what it explains),
//! one per finding with something to do. Every step calls a guarded function of
//! `script/prelude.sh` that first checks the exact condition the step fixes, so a second run
//! changes nothing; the script is a dry run unless given `--apply`, records how to undo each
//! change for `--rollback`, refuses other hosts unless given `--any-host`, and ends by checking
//! the Services the findings were about.
//!
//! Every value from the bundle (pool, node, interface and module names) reaches the script
//! single-quoted, and reaches comments with control characters removed: bundles come from
//! strangers.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde_json::Value;

use crate::diagnose::{Finding, FixAction, InputSummary, Report, Verification};

/// The helpers every script starts with (`script/prelude.sh`).
pub const PRELUDE: &str = include_str!("script/prelude.sh");

/// Words of the script that are ours rather than the bundle's.
mod words {
    pub const TITLE: &str = "netsnap fix script";
    pub const NOTHING: &str = "Nothing to fix: no finding in this evidence has a fix step.";
    pub const DRY_RUN: &str =
        "Dry run: nothing is changed. Run again with --apply to make the changes.";
    pub const WRONG_HOST: &str = "This script was made from the evidence of another host";
    pub const NOT_ROOT: &str = "--apply changes kernel and network settings: run it as root.";
    pub const DONE_ABOVE: &str = "already done above, in section";
    pub const EXPLAINED: &str = "Explains, and is fixed with it";
    pub const VERIFY: &str = "Verification";
    pub const TRY: &str =
        "Then try the Services: ClusterIPs from a node or pod, NodePorts from outside too";
    pub const SUMMARY_CHANGES: &str = "change(s)";
    pub const MADE: &str = "made";
    pub const TO_MAKE: &str = "to make with --apply";
    pub const SUMMARY_MANUAL: &str = "manual step(s) left for you";
    pub const STILL_FAILING: &str = "check(s) still failing";
}

/// Writes the fix script for `report`.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let hosts: Vec<&str> = report
        .inputs
        .iter()
        .map(|i| i.hostname.as_str())
        .filter(|h| !h.is_empty())
        .collect();
    writeln!(out, "#!/usr/bin/env bash")?;
    // SC2317: the helpers are also called through `run`, `undo` and the rollback journal,
    // which shellcheck cannot follow, and a script with nothing to do calls none of them.
    // SC2016: words from the bundle are single-quoted on purpose, `$` and backticks included.
    writeln!(out, "# shellcheck disable=SC2317,SC2016")?;
    writeln!(out, "# {} ({}).", words::TITLE, report.tool)?;
    for input in &report.inputs {
        writeln!(
            out,
            "# Evidence: {} (host {}, node {}, {}).",
            comment(&input.path),
            comment(&input.hostname),
            comment(input.node.as_deref().unwrap_or("unknown")),
            comment(&super::input_origin(input)),
        )?;
    }
    writeln!(
        out,
        "# Dry run unless given --apply; --rollback undoes what --apply did; --help for more."
    )?;
    writeln!(
        out,
        "FIX_ID={}",
        quote(&fix_id(&node_inputs(&report.inputs)))
    )?;
    out.write_all(PRELUDE.as_bytes())?;

    let sections = sections(report);
    let verifications: BTreeSet<&Verification> =
        report.findings.iter().flat_map(|f| &f.verify).collect();
    let local = sections
        .iter()
        .flat_map(|s| &s.finding.fix)
        .any(|st| is_node_local(&st.action));

    writeln!(out)?;
    writeln!(out, "EXPECTED_HOSTS=({})", quoted_list(&hosts))?;
    writeln!(
        out,
        "if [ \"$ANY_HOST\" -eq 0 ] && [ \"${{#EXPECTED_HOSTS[@]}}\" -gt 0 ] && \
         ! printf '%s\\n' \"${{EXPECTED_HOSTS[@]}}\" | grep -qxF -- \"$THIS_HOST\"; then"
    )?;
    writeln!(
        out,
        "  fail {}\"${{EXPECTED_HOSTS[*]}}), not $THIS_HOST; run it there, or pass --any-host.\"",
        quote(&format!("{} (", words::WRONG_HOST))
    )?;
    writeln!(out, "fi")?;
    if local {
        writeln!(
            out,
            "if [ \"$APPLY\" -eq 1 ] && [ \"$(id -u)\" -ne 0 ]; then fail {}; fi",
            quote(words::NOT_ROOT)
        )?;
    }
    writeln!(out, "[ \"$APPLY\" -eq 1 ] || say {}", quote(words::DRY_RUN))?;

    if sections.is_empty() {
        writeln!(out, "say {}", quote(words::NOTHING))?;
        writeln!(out, "exit 0")?;
        return Ok(());
    }

    let mut done: BTreeMap<String, usize> = BTreeMap::new();
    for (n, s) in sections.iter().enumerate() {
        let n = n + 1;
        section(report, s, n, &mut done, out)?;
    }

    writeln!(out)?;
    writeln!(out, "section {}", quote(words::VERIFY))?;
    let mut connects = Vec::new();
    for v in &verifications {
        match v {
            Verification::IpvsVirtualServer { protocol, address } => {
                writeln!(
                    out,
                    "verify_ipvs {} {}",
                    quote(ipvsadm_flag(protocol)),
                    quote(address)
                )?;
            }
            Verification::IptablesRule {
                family,
                chain,
                parts,
            } => {
                writeln!(
                    out,
                    "verify_iptables {} {} {}",
                    family,
                    quote(chain),
                    quoted_list(parts)
                )?;
            }
            Verification::Connect {
                protocol,
                address,
                port_name,
            } => {
                if let Some(cmd) = client_probe(protocol, address, port_name) {
                    connects.push(cmd);
                }
            }
        }
    }
    if !connects.is_empty() {
        writeln!(out, "say {}", quote(&format!("{}:", words::TRY)))?;
        for c in connects {
            writeln!(out, "say {}", quote(&format!("  {c}")))?;
        }
    }
    writeln!(
        out,
        "if [ \"$APPLY\" -eq 1 ]; then done_word={}; else done_word={}; fi",
        quote(words::MADE),
        quote(words::TO_MAKE)
    )?;
    writeln!(
        out,
        "say \"\" \"Summary: $CHANGES {} $done_word, $MANUAL {}, $UNVERIFIED {}.\"",
        words::SUMMARY_CHANGES,
        words::SUMMARY_MANUAL,
        words::STILL_FAILING
    )?;
    writeln!(
        out,
        "if [ \"$APPLY\" -eq 1 ] && [ \"$UNVERIFIED\" -gt 0 ]; then exit 1; fi"
    )?;
    Ok(())
}

/// A finding and whether its steps stand for findings it explains.
struct Section<'a> {
    finding: &'a Finding,
    /// Findings it explains, whose own steps only say "fix the cause".
    folded: Vec<&'a Finding>,
}

/// The findings that get a section: each one no other finding explains, and each explained
/// one with a step that acts and that its causes' sections do not already take. The rest are
/// fixed with their cause: their own steps only say "fix the cause" (or repeat its restart).
fn sections(report: &Report) -> Vec<Section<'_>> {
    let by_key: BTreeMap<String, &Finding> = report.findings.iter().map(|f| (f.key(), f)).collect();
    let acting = |f: &Finding| -> Vec<String> {
        f.fix
            .iter()
            .filter(|s| s.action != FixAction::Manual)
            .map(|s| serde_json::to_string(&s.action).unwrap_or_default())
            .collect()
    };
    let own_steps = |f: &Finding| -> bool {
        let causes: BTreeSet<String> = f
            .explained_by
            .iter()
            .filter_map(|k| by_key.get(k))
            .flat_map(|c| acting(c))
            .collect();
        acting(f).iter().any(|a| !causes.contains(a))
    };
    let with_section: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| !f.fix.is_empty())
        .filter(|f| f.explained_by.is_empty() || own_steps(f))
        .collect();
    with_section
        .iter()
        .map(|f| Section {
            finding: f,
            folded: f
                .explains
                .iter()
                .filter_map(|k| by_key.get(k).copied())
                .filter(|e| !with_section.iter().any(|s| s.key() == e.key()))
                .collect(),
        })
        .collect()
}

fn section(
    report: &Report,
    s: &Section<'_>,
    n: usize,
    done: &mut BTreeMap<String, usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let f = s.finding;
    writeln!(out)?;
    writeln!(out, "# --- {n}. {} ---", comment(&f.key()))?;
    writeln!(out, "# {}", comment(&f.summary))?;
    for e in &f.evidence {
        writeln!(
            out,
            "# evidence: {} ({}): {}",
            comment(&e.artifact),
            comment(&e.locator),
            comment(&e.excerpt)
        )?;
    }
    for e in &s.folded {
        writeln!(out, "# {}: {}", words::EXPLAINED, comment(&e.key()))?;
    }
    writeln!(
        out,
        "section {}",
        quote(&format!("{n}. {} [{}]", f.summary, f.key()))
    )?;
    let host = host_of(report, f);
    let mut local_open = false;
    for step in &f.fix {
        let local = is_node_local(&step.action);
        if local != local_open {
            if local_open {
                writeln!(out, "fi")?;
            }
            if local {
                writeln!(
                    out,
                    "if ! on_host {}; then say {}; else",
                    quote(host),
                    quote(&format!("  (steps for host {host}; not this one)"))
                )?;
            }
            local_open = local;
        }
        let dedupe = serde_json::to_string(&step.action).unwrap_or_default();
        if step.action != FixAction::Manual {
            if let Some(first) = done.get(&format!("{host} {dedupe}")) {
                writeln!(
                    out,
                    "say {}",
                    quote(&format!("  {} {first}: {}", words::DONE_ABOVE, step.text))
                )?;
                continue;
            }
            done.insert(format!("{host} {dedupe}"), n);
        }
        writeln!(out, "# {}", comment(&step.text))?;
        step_call(&step.action, &step.text, &restart_check(s), out)?;
        if let FixAction::RestartNodePod { daemonset, .. } = &step.action {
            if daemonset == "kube-proxy" {
                for (flag, address) in section_ipvs(s) {
                    writeln!(out, "wait_ipvs {} {}", quote(flag), quote(address))?;
                }
            }
        }
    }
    if local_open {
        writeln!(out, "fi")?;
    }
    Ok(())
}

/// The IPVS virtual servers a section's findings (its own and those folded into it) expect.
fn section_ipvs<'a>(s: &'a Section<'_>) -> Vec<(&'static str, &'a str)> {
    let mut seen = BTreeSet::new();
    s.folded
        .iter()
        .flat_map(|e| &e.verify)
        .chain(&s.finding.verify)
        .filter_map(|v| match v {
            Verification::IpvsVirtualServer { protocol, address } => {
                Some((ipvsadm_flag(protocol), address.as_str()))
            }
            _ => None,
        })
        .filter(|x| seen.insert(*x))
        .collect()
}

/// What a restart in this section fixes, as a check that is true while it is still broken:
/// kube-proxy's missing virtual servers, or routes calico-node should have removed. Empty when
/// the section has neither (the restart then follows changes made in the run).
fn restart_check(s: &Section<'_>) -> Vec<String> {
    let ipvs = section_ipvs(s);
    if !ipvs.is_empty() {
        let mut check = vec!["any_ipvs_missing".to_string()];
        for (flag, address) in ipvs {
            check.push(quote(flag));
            check.push(quote(address));
        }
        return check;
    }
    for step in &s.finding.fix {
        if let FixAction::DeleteRoutes {
            ifname,
            protocol,
            destinations,
        } = &step.action
        {
            let mut check = vec![
                "any_route_via".to_string(),
                quote(ifname),
                quote(protocol.as_deref().unwrap_or("")),
            ];
            check.extend(destinations.iter().map(|d| quote(d)));
            return check;
        }
    }
    Vec::new()
}

fn step_call(
    action: &FixAction,
    text: &str,
    restart_check: &[String],
    out: &mut dyn Write,
) -> io::Result<()> {
    match action {
        FixAction::LoadModules { modules } => {
            for m in modules {
                writeln!(out, "load_module {}", quote(m))?;
            }
        }
        FixAction::PersistModules { modules } => {
            for m in modules {
                writeln!(out, "persist_module {}", quote(m))?;
            }
        }
        FixAction::SetSysctl { key, value } => {
            writeln!(out, "set_sysctl {} {}", quote(key), quote(value))?;
        }
        FixAction::RestartNodePod {
            namespace,
            daemonset,
            selector,
            node,
        } => {
            let mut call = format!(
                "restart_node_pod {} {} {} {}",
                quote(namespace),
                quote(daemonset),
                quote(selector),
                quote(node.as_deref().unwrap_or(""))
            );
            for word in restart_check {
                call.push(' ');
                call.push_str(word);
            }
            writeln!(out, "{call}")?;
        }
        FixAction::KubectlPatch {
            resource,
            namespace,
            name,
            patch,
        } => match patch_leaves(patch) {
            Some(leaves) => {
                for leaf in leaves {
                    writeln!(
                        out,
                        "patch_object {} {} {} {} {} {} {} {} {}",
                        quote(resource),
                        quote(namespace.as_deref().unwrap_or("")),
                        quote(name),
                        quote(&leaf.patch),
                        quote(&leaf.jsonpath),
                        quote(&leaf.want),
                        quote(if leaf.string { "string" } else { "raw" }),
                        quote(&leaf.prefix),
                        quote(&leaf.suffix),
                    )?;
                }
            }
            None => {
                writeln!(
                    out,
                    "manual {}",
                    quote(&format!(
                        "{text} (kubectl patch {resource} {name} --type=merge -p '{patch}')"
                    ))
                )?;
            }
        },
        FixAction::LinkDown { ifname } => writeln!(out, "link_down {}", quote(ifname))?,
        FixAction::FlushAddresses { ifname } => writeln!(out, "flush_addresses {}", quote(ifname))?,
        FixAction::DeleteRoutes {
            ifname,
            protocol,
            destinations,
        } => {
            for d in destinations {
                writeln!(
                    out,
                    "delete_route {} {} {}",
                    quote(ifname),
                    quote(protocol.as_deref().unwrap_or("")),
                    quote(d)
                )?;
            }
        }
        FixAction::Manual => writeln!(out, "manual {}", quote(text))?,
    }
    Ok(())
}

/// Steps that change this node (as opposed to the cluster through kubectl).
fn is_node_local(a: &FixAction) -> bool {
    matches!(
        a,
        FixAction::LoadModules { .. }
            | FixAction::PersistModules { .. }
            | FixAction::SetSysctl { .. }
            | FixAction::LinkDown { .. }
            | FixAction::FlushAddresses { .. }
            | FixAction::DeleteRoutes { .. }
    )
}

/// The host a finding's node-local steps belong on: the input whose node it names, else the
/// only input.
fn host_of<'r>(report: &'r Report, f: &Finding) -> &'r str {
    let by_node = report
        .inputs
        .iter()
        .find(|i| i.node.is_some() && i.node == f.node);
    match (by_node, node_inputs(&report.inputs).as_slice()) {
        (Some(i), _) => &i.hostname,
        (None, [only]) => &only.hostname,
        _ => "",
    }
}

/// One scalar field a merge patch sets, in the forms the script needs.
struct PatchLeaf {
    /// A patch setting only this field.
    patch: String,
    /// `{.spec.ipipMode}`, for `kubectl get -o jsonpath=`.
    jsonpath: String,
    /// The value as kubectl's jsonpath prints it.
    want: String,
    /// Whether the value is a JSON string (the old value is quoted when patched back).
    string: bool,
    /// The patch around the value: `{"spec":{"ipipMode":` and `}}`.
    prefix: String,
    suffix: String,
}

/// The scalar fields of a merge patch, or `None` for a shape the script cannot guard (arrays,
/// or keys jsonpath cannot name plainly).
fn patch_leaves(patch: &str) -> Option<Vec<PatchLeaf>> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<PatchLeaf>) -> Option<()> {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return None;
                    }
                    path.push(k.clone());
                    walk(v, path, out)?;
                    path.pop();
                }
                Some(())
            }
            Value::Array(_) | Value::Null => None,
            scalar => {
                let mut prefix = String::new();
                for k in path.iter() {
                    prefix.push_str(&format!("{{{}:", Value::String(k.clone())));
                }
                let suffix = "}".repeat(path.len());
                out.push(PatchLeaf {
                    patch: format!("{prefix}{scalar}{suffix}"),
                    jsonpath: format!("{{.{}}}", path.join(".")),
                    want: match scalar {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                    string: scalar.is_string(),
                    prefix,
                    suffix,
                });
                Some(())
            }
        }
    }
    let v: Value = serde_json::from_str(patch).ok()?;
    let mut out = Vec::new();
    walk(&v, &mut Vec::new(), &mut out)?;
    (!out.is_empty()).then_some(out)
}

fn ipvsadm_flag(protocol: &str) -> &'static str {
    match protocol {
        "udp" => "-u",
        "sctp" => "--sctp-service",
        _ => "-t",
    }
}

/// What a user would run from a client to see the Service answer.
fn client_probe(protocol: &str, address: &str, port_name: &str) -> Option<String> {
    let port = address.rsplit(':').next().unwrap_or_default();
    match protocol {
        "udp" | "tcp" if port == "53" => {
            let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let tcp = if protocol == "tcp" { " +tcp" } else { "" };
            Some(format!(
                "dig +short{tcp} @{host} kubernetes.default.svc.cluster.local"
            ))
        }
        "tcp" if port_name.contains("https") || port == "443" || port == "6443" => {
            Some(format!("curl -k -sS -m 5 -o /dev/null -w '%{{http_code}}\\n' https://{address}/"))
        }
        "tcp" => Some(format!(
            "curl -sS -m 5 -o /dev/null -w '%{{http_code}}\\n' http://{address}/   # any HTTP code means the Service answers"
        )),
        _ => None,
    }
}

/// The inputs the fix script acts on: the nodes (a folder of Kubernetes objects is no host),
/// or every input when none is a node.
fn node_inputs(inputs: &[InputSummary]) -> Vec<&InputSummary> {
    let nodes: Vec<&InputSummary> = inputs.iter().filter(|i| i.scope.is_node()).collect();
    if nodes.is_empty() {
        inputs.iter().collect()
    } else {
        nodes
    }
}

/// The rollback file's name: the evidence it was made from, in characters safe in a path.
fn fix_id(inputs: &[&InputSummary]) -> String {
    let raw = inputs
        .iter()
        .map(|i| {
            // Pasted text may name no host and has no collection time: the id must still be
            // a name of its own for the rollback journal.
            let host = if i.hostname.is_empty() {
                "unknown-host"
            } else {
                &i.hostname
            };
            format!("{host}-{}", i.collected_at)
        })
        .collect::<Vec<_>>()
        .join("-");
    let id: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(120)
        .collect();
    format!("fix-{}", id.trim_matches(['-', '.']))
}

/// `s` as one bash word in single quotes.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| quote(s.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `s` safe inside a `#` comment line: no line breaks or other control characters.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_hostile_names() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(comment("x\ny\r\u{1b}[0m"), "x y  [0m");
    }

    #[test]
    fn merge_patch_leaves() {
        let leaves =
            patch_leaves(r#"{"spec":{"ipipMode":"Never","vxlanMode":"Never"}}"#).expect("leaves");
        assert_eq!(leaves.len(), 2);
        assert_eq!(leaves[0].jsonpath, "{.spec.ipipMode}");
        assert_eq!(leaves[0].want, "Never");
        assert_eq!(leaves[0].patch, r#"{"spec":{"ipipMode":"Never"}}"#);
        assert_eq!(leaves[0].prefix, r#"{"spec":{"ipipMode":"#);
        assert_eq!(leaves[0].suffix, "}}");
        assert!(leaves[0].string);
        let b = patch_leaves(r#"{"spec":{"natOutgoing":true}}"#).expect("bool");
        assert_eq!(b[0].want, "true");
        assert!(!b[0].string);
        assert!(patch_leaves(r#"{"spec":{"x":[1]}}"#).is_none());
        assert!(patch_leaves(r#"{"metadata":{"annotations":{"a.b/c":"d"}}}"#).is_none());
        assert!(patch_leaves("not json").is_none());
    }

    #[test]
    fn fix_id_is_a_safe_file_name() {
        let input = InputSummary {
            path: "b".into(),
            hostname: "../../etc/x y".into(),
            kernel_release: String::new(),
            scope: crate::diagnose::scope::InputScope::Node,
            node: None,
            node_match: None,
            collected_at: "2026-11-25T10:00:00Z".into(),
            proxy_mode: None,
            notes: Vec::new(),
            pasted: Vec::new(),
            observations: Vec::new(),
        };
        let unnamed = InputSummary {
            hostname: String::new(),
            collected_at: String::new(),
            ..input.clone()
        };
        assert_eq!(fix_id(&[&unnamed]), "fix-unknown-host");
        let id = fix_id(&[&input]);
        assert_eq!(id, "fix-etc-x-y-2026-11-25T10-00-00Z");
        assert!(!id.contains('/') && !id.contains(' '), "{id}");
    }
}
