//! C09: kube-proxy's `iptables-restore` fails, typically because a netfilter extension module
//! its rules use is missing from the kernel. kube-proxy writes all its rules in one
//! `iptables-restore --noflush` per table; one refused line fails the whole transaction, the
//! sync is aborted and retried, and the rules stay as they were (in IPVS mode after the
//! virtual servers were written, so the state is partial). iptables names the missing piece:
//! "Extension MARK revision 0 not supported, missing kernel module?", "Couldn't load target
//! `MASQUERADE'", "can't initialize iptables table `nat'" (flannel-io/flannel#853,
//! rancher/rke2#8487, kubernetes#105208).

use crate::decode::modules::ModuleStatus;
use crate::diagnose::checks::kernel::kube_proxy_facts::no_log_lines;
use crate::diagnose::checks::kernel::kube_proxy_facts::{log_evidence, log_lines};
use crate::diagnose::checks::{
    list_capped, module_absence_evidence, restart_kube_proxy, Check, CheckInfo,
};
use crate::diagnose::{Confidence, Context, FixStep, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "iptables-restore-failing",
    catalog: "C09",
    title: "kube-proxy's iptables-restore fails (missing netfilter modules)",
    layer: Layer::Kernel,
    cause: true,
    references: &[
        "https://github.com/flannel-io/flannel/issues/853",
        "https://github.com/rancher/rke2/issues/8487",
        "https://github.com/kubernetes/kubernetes/issues/105208",
    ],
    evidence: "kube-proxy log lines of this node's pod: `Failed to execute iptables-restore`, `iptables-restore: line N failed`, `Extension X revision 0 not supported, missing kernel module?`, `Couldn't load target/match`, `can't initialize iptables table`; the named `xt_*`/`iptable_*` modules absent from `/proc/modules` and not built in.",
    fix: "Load the missing netfilter modules (persisted in a modules-load.d file of our own) or use a kernel with them; restart kube-proxy.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const NEEDLES: &[&str] = &[
    "iptables-restore",
    "ip6tables-restore",
    "missing kernel module?",
    "Couldn't load target",
    "Couldn't load match",
    "can't initialize iptables table",
];

/// The kernel module behind an iptables extension or table named in an error line.
fn module_for(name: &str) -> Option<String> {
    let m = match name {
        "MARK" | "mark" => "xt_mark",
        "comment" => "xt_comment",
        "conntrack" => "xt_conntrack",
        "addrtype" => "xt_addrtype",
        "statistic" => "xt_statistic",
        "MASQUERADE" => "xt_MASQUERADE",
        "set" => "xt_set",
        "recent" => "xt_recent",
        "multiport" => "xt_multiport",
        "physdev" => "xt_physdev",
        "DNAT" | "SNAT" => "xt_nat",
        "REJECT" => "ipt_REJECT",
        "nat" => "iptable_nat",
        "filter" => "iptable_filter",
        "mangle" => "iptable_mangle",
        "raw" => "iptable_raw",
        _ => return None,
    };
    Some(m.to_string())
}

/// Modules named by one iptables error line: `Extension MARK revision 0 not supported`,
/// ``Couldn't load target `MASQUERADE'``, ``can't initialize iptables table `nat'``.
pub fn modules_in_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |name: &str| {
        let name = name.trim_start_matches(['`', '\'', '"', '\\']);
        let end = name
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(name.len());
        if let Some(m) = module_for(&name[..end]) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        match *w {
            "Extension" => add(next),
            "target" | "match" | "table"
                if i > 0 && matches!(words[i - 1], "load" | "find" | "iptables") =>
            {
                add(next)
            }
            _ => {}
        }
    }
    out
}

fn run(cx: &Context<'_>) -> Verdicts {
    let lines: Vec<(usize, String)> = log_lines(cx, NEEDLES)
        .into_iter()
        .filter(|(_, l)| {
            let lower = l.to_ascii_lowercase();
            lower.contains("fail")
                || lower.contains("not supported")
                || lower.contains("couldn't")
                || lower.contains("can't")
        })
        .collect();
    if lines.is_empty() {
        if let Some(v) = from_messages(cx) {
            return v;
        }
        return no_log_lines(cx, "failing iptables-restore");
    }
    let mut named: Vec<String> = Vec::new();
    for (_, l) in &lines {
        for m in modules_in_line(l) {
            if !named.contains(&m) {
                named.push(m);
            }
        }
    }
    let missing: Vec<String> = named
        .iter()
        .filter(|m| {
            matches!(
                cx.node.module(m),
                ModuleStatus::NotLoaded { .. } | ModuleStatus::NotAvailable
            )
        })
        .cloned()
        .collect();
    let (summary, confidence) = if missing.is_empty() {
        (
            "kube-proxy's iptables-restore fails on this node".to_string(),
            Confidence::Medium,
        )
    } else {
        (
            format!(
                "kube-proxy's iptables-restore fails: {} not loaded on this node",
                match missing.len() {
                    1 => format!("{} is", missing[0]),
                    _ => format!("{} are", list_capped(&missing, 5)),
                }
            ),
            Confidence::High,
        )
    };
    let mut f = cx.finding(&INFO, Severity::Error, confidence, summary);
    f.detail = "kube-proxy writes its rules per table in one iptables-restore transaction; a \
        single line the kernel refuses (an extension whose module is missing) fails the whole \
        transaction. The sync is aborted and retried, and Service rules stay missing or stale \
        (in IPVS mode the virtual servers were already written, so the state is partial). \
        Until the last failure is older than the log, the rules on this node cannot be trusted."
        .to_string();
    for (n, line) in lines.iter().take(4) {
        f.evidence.push(log_evidence(*n, line));
    }
    if !missing.is_empty() {
        f.evidence.extend(module_absence_evidence(cx, &missing));
    }
    let loadable: Vec<String> = missing
        .iter()
        .filter(|m| matches!(cx.node.module(m), ModuleStatus::NotLoaded { .. }))
        .cloned()
        .collect();
    let absent: Vec<String> = missing
        .iter()
        .filter(|m| matches!(cx.node.module(m), ModuleStatus::NotAvailable))
        .cloned()
        .collect();
    if !absent.is_empty() {
        f.fix.push(FixStep::manual(format!(
            "This kernel was built without {}: use a kernel with these netfilter options.",
            absent.join(", ")
        )));
    }
    if !loadable.is_empty() {
        f.fix.extend(FixStep::load_modules(&loadable));
    }
    if missing.is_empty() {
        f.fix.push(FixStep::manual(
            "Read the failing line in kube-proxy's log (iptables-restore names the line \
             number and the extension it could not use) and check the iptables backend \
             (legacy or nft) kube-proxy and the host use.",
        ));
    }
    f.fix.push(restart_kube_proxy(
        cx,
        "Restart kube-proxy on this node so it rewrites its rules.",
    ));
    Verdicts::found(f)
}

/// Kernel modules the iptables binaries need for kube-proxy's rules: the legacy tables
/// (`ip_tables`, `iptable_*`) and the extensions (`xt_*`, `ipt_*`). iptables-nft needs no
/// `ip_tables`/`iptable_*` (nf_tables holds its tables) but still loads the `xt_*` matches and
/// targets through nft_compat.
fn iptables_module(m: &str) -> Option<bool> {
    let legacy_only = m == "ip_tables"
        || m == "ip6_tables"
        || m.starts_with("iptable_")
        || m.starts_with("ip6table_");
    let both = m.starts_with("xt_") || m.starts_with("ipt_") || m.starts_with("ip6t_");
    (legacy_only || both).then_some(legacy_only)
}

/// The same failure from what a paste states on its own: iptables' errors about extensions,
/// tables and restore lines (whichever component ran it, shown without kube-proxy's log
/// around it), and modprobe failing to find a netfilter module iptables needs ("Module
/// ip_tables not found in directory /lib/modules/...": the kernel has no such module).
/// Pastes only: a native bundle's kube-proxy log is read above.
fn from_messages(cx: &Context<'_>) -> Option<Verdicts> {
    use crate::observe::FactKind as K;
    if !cx.node.bundle.is_pasted() {
        return None;
    }
    if cx.proxy_mode.as_ref().is_some_and(|m| m.mode == "nftables") {
        return None;
    }
    let backend_nft = cx
        .node
        .observed(K::IptablesBackend)
        .any(|o| o.value == "nf_tables");
    let errors: Vec<&crate::observe::Observation> = cx
        .node
        .observations
        .iter()
        .filter(|o| {
            matches!(
                o.kind,
                K::IptablesRestoreFailed | K::IptablesExtensionMissing | K::IptablesTableMissing
            )
        })
        .collect();
    let unavailable: Vec<&crate::observe::Observation> = cx
        .node
        .observed(K::ModuleLoadFailed)
        .filter(|o| o.value.contains("not found"))
        .filter(|o| iptables_module(&o.subject).is_some_and(|legacy| !(legacy && backend_nft)))
        .collect();
    if errors.is_empty() && unavailable.is_empty() {
        return None;
    }
    let mut named: Vec<String> = Vec::new();
    for o in &errors {
        let from_subject = match o.kind {
            K::IptablesTableMissing => module_for(&o.subject),
            _ => module_for(o.subject.trim_start_matches('-')),
        };
        for m in from_subject
            .into_iter()
            .chain(modules_in_line(&o.evidence.excerpt))
        {
            if !named.contains(&m) {
                named.push(m);
            }
        }
    }
    let absent: Vec<String> = unavailable.iter().map(|o| o.subject.clone()).collect();
    let summary = if !absent.is_empty() {
        format!(
            "iptables cannot work on this node: the kernel has no {} module",
            list_capped(&absent, 5)
        )
    } else if !named.is_empty() {
        format!(
            "iptables-restore fails on this node: the kernel refuses {}",
            list_capped(&named, 5)
        )
    } else {
        "iptables-restore fails on this node".to_string()
    };
    // An iptables error is the failure itself; a module modprobe cannot find is the failure
    // only where the iptables in use needs it (legacy, or a backend not shown).
    let severity = if errors.is_empty() {
        Severity::Warning
    } else {
        Severity::Error
    };
    let mut f = cx.finding(&INFO, severity, Confidence::High, summary);
    f.detail = "kube-proxy writes its rules per table in one iptables-restore transaction; a \
        line the kernel refuses (an extension or table whose module is missing, or a revision \
        the kernel does not support) fails the whole transaction, so Service rules are never \
        programmed and kube-proxy's sync keeps failing (its health check then fails too). In \
        iptables mode without the ip_tables module, iptables-legacy cannot open any table."
        .to_string();
    for o in errors.iter().chain(&unavailable).take(4) {
        f.evidence.push(o.evidence.clone());
    }
    if !absent.is_empty() {
        f.fix.push(FixStep::manual(format!(
            "This kernel has no {}: install the kernel's extra modules package, boot a kernel \
             with these netfilter options, or run kube-proxy in nftables mode \
             (--proxy-mode=nftables, kernel 5.13 or later).",
            absent.join(", ")
        )));
    }
    if !named.is_empty() {
        f.fix.push(FixStep::manual(format!(
            "Check that {} can be loaded (modprobe, lsmod); a kernel update that broke an \
             extension's revision needs a kernel without the regression.",
            named.join(", ")
        )));
    }
    f.fix.push(restart_kube_proxy(
        cx,
        "Restart kube-proxy on this node so it rewrites its rules.",
    ));
    Some(Verdicts::found(f))
}

#[cfg(test)]
mod tests {
    use super::modules_in_line;

    #[test]
    fn modules_from_iptables_errors() {
        assert_eq!(
            modules_in_line(
                "Warning: Extension MARK revision 0 not supported, missing kernel module?"
            ),
            vec!["xt_mark"]
        );
        assert_eq!(
            modules_in_line("iptables-restore v1.8.7 (legacy): Couldn't load target `MASQUERADE':No such file or directory"),
            vec!["xt_MASQUERADE"]
        );
        assert_eq!(
            modules_in_line("iptables-restore: unable to initialize table 'nat'"),
            Vec::<String>::new()
        );
        assert_eq!(
            modules_in_line("can't initialize iptables table `nat': Table does not exist (do you need to insmod?)"),
            vec!["iptable_nat"]
        );
        assert_eq!(
            modules_in_line("Couldn't load match `comment':No such file or directory"),
            vec!["xt_comment"]
        );
        assert!(modules_in_line("Extension").is_empty());
    }
}
