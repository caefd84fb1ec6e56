//! The checks, one per file, each small and alike: a [`CheckInfo`] and a `run` function that
//! reads the [`Context`] and adds findings or "not concluded" notes. [`all`] is the registry;
//! `docs/checks.md` lists the same checks (a test keeps the two in step).

use std::borrow::Cow;

use netsnap_bundle::names;

use super::facts::Missing;
use super::{Check, CheckInfo, Context, Evidence, FixAction, FixStep};
use crate::decode::ipvs::IpvsTable;
use crate::decode::modules::ModuleStatus;

mod kernel;
mod node;
mod overlay;
pub(crate) mod proxy;
mod service;

/// Every check, by layer. Each layer's directory has its own list, so checks of different
/// layers are added without touching the same lines.
pub fn all() -> impl Iterator<Item = &'static Check> {
    kernel::CHECKS
        .iter()
        .chain(proxy::CHECKS)
        .chain(service::CHECKS)
        .chain(node::CHECKS)
        .chain(overlay::CHECKS)
}

/// The descriptions of every check.
pub fn infos() -> impl Iterator<Item = &'static CheckInfo> {
    all().map(|c| c.info)
}

/// At most this many items are quoted in one finding's evidence; the rest are counted.
pub const EVIDENCE_ITEMS: usize = 10;

/// The IPVS table, or, when IPVS was skipped because ip_vs is not loaded, an empty table: no
/// module, no virtual servers (the skip is then itself the evidence). Other reasons for a
/// missing table are returned.
pub fn ipvs_table_or_empty<'a>(
    cx: &'a Context<'_>,
) -> Result<(Cow<'a, IpvsTable>, Evidence), Missing> {
    match &cx.node.ipvs {
        Ok(t) => Ok((
            Cow::Borrowed(t),
            Evidence::new(
                names::IPVS_SERVICES,
                "IPVS table",
                format!("{} virtual servers", t.services.len()),
            ),
        )),
        Err(m) => match cx.node.module("ip_vs") {
            ModuleStatus::NotLoaded { .. } | ModuleStatus::NotAvailable => {
                let why = cx
                    .node
                    .bundle
                    .evidence(names::IPVS_SERVICES)
                    .absence()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| m.why.clone());
                Ok((
                    Cow::Owned(IpvsTable::default()),
                    Evidence::new(
                        "manifest.json",
                        names::IPVS_SERVICES,
                        format!("no IPVS table: {why}"),
                    ),
                ))
            }
            _ => Err(m.clone()),
        },
    }
}

/// Evidence that modules are not in `/proc/modules` (and not built in): one line per artifact.
pub fn module_absence_evidence(cx: &Context<'_>, modules: &[String]) -> Vec<Evidence> {
    let mut ev = Vec::new();
    let list = modules.join(", ");
    if let Some(p) = &cx.node.modules.proc_modules {
        let excerpt = match &cx.node.modules.filtered {
            Some(Some(words)) => format!(
                "no {list} among the {} loaded modules matching {}",
                p.len(),
                words.join(" or ")
            ),
            _ => format!("no {list} among {} loaded modules", p.len()),
        };
        ev.push(Evidence::new(names::PROC_MODULES, "whole file", excerpt));
    }
    if let Some(b) = &cx.node.modules.builtin {
        ev.push(Evidence::new(
            names::MODULES_BUILTIN,
            "whole file",
            format!(
                "none of {list} is built in ({} built-in modules listed)",
                b.len()
            ),
        ));
    }
    if cx.node.modules.proc_modules.is_none() {
        for module in modules {
            if let Some(o) = cx.node.module_observed(module) {
                ev.push(o.evidence.clone());
            }
        }
    }
    if let Some(c) = &cx.node.modules.config {
        for module in modules {
            let sym = format!("CONFIG_{}", module.to_ascii_uppercase());
            if let Some(v) = c.get(&sym) {
                ev.push(Evidence::new(
                    names::KERNEL_CONFIG,
                    sym.clone(),
                    format!("{sym}={v}"),
                ));
            }
        }
    }
    ev
}

/// What the node's module evidence says of one module, as a line of evidence (for a clear
/// verdict that rests on it).
pub fn module_status_evidence(cx: &Context<'_>, module: &str) -> Evidence {
    match cx.node.module(module) {
        ModuleStatus::Loaded { .. } => Evidence::new(
            names::PROC_MODULES,
            module.to_string(),
            format!("{module} is loaded"),
        ),
        ModuleStatus::BuiltIn { evidence } => {
            let artifact = match evidence {
                "modules.builtin" => names::MODULES_BUILTIN,
                "kernel config" => names::KERNEL_CONFIG,
                _ => names::SYS_MODULE,
            };
            Evidence::new(
                artifact,
                module.to_string(),
                format!("{module} is built into the kernel"),
            )
        }
        ModuleStatus::NotLoaded { .. } => Evidence::new(
            names::PROC_MODULES,
            module.to_string(),
            format!("{module} is not loaded"),
        ),
        ModuleStatus::NotAvailable => Evidence::new(
            names::KERNEL_CONFIG,
            module.to_string(),
            format!("{module} is not in this kernel"),
        ),
        ModuleStatus::Unknown => Evidence::new(
            "manifest.json",
            names::PROC_MODULES,
            format!("no module evidence: whether {module} is loaded is not known"),
        ),
    }
}

/// A sysctl's value as read, as a line of evidence (for a clear verdict that rests on it).
pub fn sysctl_evidence(cx: &Context<'_>, key: &str) -> Vec<Evidence> {
    cx.node
        .sysctl(key)
        .map(|v| Evidence::new(names::SYSCTLS, key.to_string(), format!("{key} = {v}")))
        .into_iter()
        .collect()
}

/// A fix step restarting a DaemonSet's pod on this node.
pub fn restart_node_pod(
    cx: &Context<'_>,
    text: &str,
    namespace: &str,
    daemonset: &str,
    selector: &str,
) -> FixStep {
    let node = cx.identity.as_ref().map(|i| i.name.clone());
    let command = match &node {
        Some(n) => format!(
            "kubectl -n {namespace} delete pod -l {selector} --field-selector spec.nodeName={n}"
        ),
        None => format!("kubectl -n {namespace} rollout restart daemonset/{daemonset}"),
    };
    FixStep::new(
        text,
        vec![command],
        FixAction::RestartNodePod {
            namespace: namespace.to_string(),
            daemonset: daemonset.to_string(),
            selector: selector.to_string(),
            node,
        },
    )
}

/// A fix step restarting kube-proxy's pod on this node (its DaemonSet's `k8s-app=kube-proxy`
/// pods in kube-system, as kubeadm and most installers deploy it).
pub fn restart_kube_proxy(cx: &Context<'_>, text: &str) -> FixStep {
    restart_node_pod(cx, text, "kube-system", "kube-proxy", "k8s-app=kube-proxy")
}

/// "a, b, c and 7 more".
pub fn list_capped<T: std::fmt::Display>(items: &[T], cap: usize) -> String {
    let mut s = items
        .iter()
        .take(cap)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > cap {
        s.push_str(&format!(" and {} more", items.len() - cap));
    }
    s
}

#[cfg(test)]
mod tests;
