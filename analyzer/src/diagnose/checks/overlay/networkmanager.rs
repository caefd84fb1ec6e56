//! C33: NetworkManager manages the CNI's interfaces. NetworkManager takes every new device it
//! is not told to leave alone: it tries DHCP on `cali*` veths ("connecting (getting IP
//! configuration)"), and it can take `vxlan.calico` or `flannel.1` down or strip their
//! routes, so pods lose connectivity a while after start (projectcalico/calico#2471; Calico's
//! docs and projectcalico/calico#3454, kubernetes-sigs/kubespray#7037 ship a `conf.d` file with
//! `[keyfile] unmanaged-devices=interface-name:cali*;interface-name:tunl*;...`).
//! NetworkManager's config format (NetworkManager.conf(5)): `unmanaged-devices` in `[keyfile]`
//! (a `;`-separated device spec list, `interface-name:` with globs), or a `[device*]` section
//! with `match-device=` and `managed=0`.

use std::collections::BTreeMap;

use netsnap_bundle::names;

use crate::diagnose::checks::{list_capped, Check, CheckInfo, EVIDENCE_ITEMS};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "networkmanager-manages-cni",
    catalog: "C33",
    title: "NetworkManager is not told to leave the CNI interfaces alone",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://docs.tigera.io/calico/latest/operations/troubleshoot/troubleshooting#configure-networkmanager",
        "https://github.com/projectcalico/calico/issues/2471",
        "https://github.com/projectcalico/calico/pull/3454",
        "https://github.com/kubernetes-sigs/kubespray/pull/7037",
        "https://networkmanager.dev/docs/api/latest/NetworkManager.conf.html",
    ],
    evidence: "`/etc/NetworkManager/conf.d` (listing and files: `unmanaged-devices`, `[device]` `managed=0`) against the CNI devices present (cali*, tunl*, vxlan.calico, flannel*); `vxlan.calico` DOWN strengthens it.",
    fix: "Add a NetworkManager conf.d drop-in marking cali*, tunl*, vxlan.calico (and flannel*) unmanaged, reload NetworkManager, let the CNI recreate its device.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const CONF_DIR: &str = "/etc/NetworkManager/conf.d";
const DROP_IN: &str = "/etc/NetworkManager/conf.d/99-netsnap-cni-unmanaged.conf";
/// What Calico's docs and kubespray mark unmanaged, plus flannel's devices.
const CNI_PATTERNS: &[&str] = &[
    "cali*",
    "tunl*",
    "vxlan.calico",
    "vxlan-v6.calico",
    "wireguard.cali",
    "wg-v6.cali",
    "flannel*",
];

/// Which links are CNI devices NetworkManager must not manage.
fn cni_device(name: &str) -> bool {
    name.starts_with("cali")
        || name.starts_with("tunl")
        || name.starts_with("vxlan.calico")
        || name.starts_with("vxlan-v6.calico")
        || name.starts_with("wireguard.cali")
        || name.starts_with("flannel")
}

/// Shell-style glob with `*` and `?`, as NetworkManager matches `interface-name:`.
fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    // Bounded: device names are at most 15 bytes and patterns short; refuse long ones.
    pattern.len() <= 256 && go(pattern.as_bytes(), name.as_bytes())
}

/// The interface-name patterns a device spec list leaves unmanaged: `interface-name:cali*`,
/// `interface-name:=vxlan.calico` (exact), `interface-name:~x` (optional match, treated alike).
fn spec_patterns(list: &str) -> Vec<String> {
    list.split([';', ','])
        .filter_map(|s| {
            let s = s.trim();
            let p = s.strip_prefix("interface-name:")?;
            let p = p
                .strip_prefix('=')
                .or_else(|| p.strip_prefix('~'))
                .unwrap_or(p);
            (!p.is_empty()).then(|| p.to_string())
        })
        .collect()
}

/// Unmanaged patterns of one NetworkManager config file, with the line they are on.
fn unmanaged_patterns(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut device_match: Option<(usize, String)> = None;
    let mut device_unmanaged = false;
    let flush = |m: &mut Option<(usize, String)>, u: &mut bool, out: &mut Vec<_>| {
        if let (Some((line, spec)), true) = (m.take(), *u) {
            for p in spec_patterns(&spec) {
                out.push((line, p, format!("match-device={spec}")));
            }
        }
        *u = false;
    };
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.starts_with('#') || l.starts_with(';') || l.is_empty() {
            continue;
        }
        if l.starts_with('[') {
            flush(&mut device_match, &mut device_unmanaged, &mut out);
            section = l.trim_matches(|c| c == '[' || c == ']').to_string();
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if section == "keyfile" && k == "unmanaged-devices" {
            for p in spec_patterns(v) {
                out.push((i + 1, p, l.to_string()));
            }
        } else if section.starts_with("device") {
            if k == "match-device" {
                device_match = Some((i + 1, v.to_string()));
            } else if k == "managed" {
                device_unmanaged = matches!(v, "0" | "false" | "no");
            }
        }
    }
    flush(&mut device_match, &mut device_unmanaged, &mut out);
    out
}

/// A listing (`networkctl status`, `nmcli device`) that shows a network manager handling a
/// CNI device: the manager will renumber, reconfigure or take it down under the CNI, which
/// is the fault itself, whatever the configuration files say (calico#2471: a `.network`
/// file matching every link made systemd-networkd configure the cali* veths and drop
/// Calico's routes).
fn shown_managed(cx: &Context<'_>) -> Option<Verdicts> {
    let managed: Vec<_> = cx
        .node
        .observations
        .iter()
        .filter(|o| o.kind == crate::observe::FactKind::LinkManaged && cni_device(&o.subject))
        .collect();
    let first = managed.first()?;
    let (manager, detail) = first
        .value
        .split_once(": ")
        .unwrap_or((first.value.as_str(), ""));
    let mut devices: Vec<&str> = managed.iter().map(|o| o.subject.as_str()).collect();
    devices.dedup();
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::High,
        format!(
            "{manager} manages the CNI device(s) {} ({detail})",
            list_capped(&devices, EVIDENCE_ITEMS)
        ),
    );
    f.subject = Some(manager.to_string());
    f.detail = format!(
        "{manager} configures the CNI's devices as its own: it runs DHCP or address setup on \
         them, takes them down or replaces their routes, so the routes the CNI programmed \
         disappear and pods lose connectivity for a while after they start (calico#2471). The \
         CNI's devices must be left unmanaged."
    );
    f.evidence
        .extend(managed.iter().take(3).map(|o| o.evidence.clone()));
    if manager == "systemd-networkd" {
        f.fix.push(FixStep::new(
            "Restrict the .network file that matches the CNI devices to the node's real NICs \
             ([Match] Name=eth* or the MAC), or add one sorting before it that matches the CNI \
             devices with [Link] Unmanaged=yes; then restart systemd-networkd.",
            vec![
                "networkctl list".to_string(),
                "printf '[Match]\\nName=cali* tunl* vxlan.calico flannel* cni0\\n\\n[Link]\\nUnmanaged=yes\\n' > /etc/systemd/network/00-cni-unmanaged.network".to_string(),
                "systemctl restart systemd-networkd".to_string(),
            ],
            FixAction::Manual,
        ));
    } else {
        f.fix.push(FixStep::new(
            "Mark the CNI devices unmanaged in a NetworkManager conf.d drop-in and reload it.",
            vec![
                format!(
                    "printf '[keyfile]\\nunmanaged-devices={}\\n' > {DROP_IN}",
                    CNI_PATTERNS
                        .iter()
                        .map(|p| format!("interface-name:{p}"))
                        .collect::<Vec<_>>()
                        .join(";")
                ),
                "systemctl reload NetworkManager".to_string(),
                "nmcli device status".to_string(),
            ],
            FixAction::Manual,
        ));
    }
    Some(Verdicts::found(f))
}

fn run(cx: &Context<'_>) -> Verdicts {
    if let Some(v) = shown_managed(cx) {
        return v;
    }
    let links = match &cx.node.links {
        Ok(l) => l,
        Err(m) => {
            return Verdicts::clear(
                format!("no CNI device is known: the node's links were not read ({m})"),
                Vec::new(),
            );
        }
    };
    let devices: Vec<&str> = links
        .iter()
        .map(|l| l.ifname())
        .filter(|n| cni_device(n))
        .collect();
    if devices.is_empty() {
        return Verdicts::clear(
            "does not apply: no CNI device (cali*, vxlan.calico, tunl0, flannel.1...) is on this \
             node",
            Vec::new(),
        );
    }
    let vxlan_down = cx.node.link("vxlan.calico").filter(|l| !l.is_up());
    let listing = names::listing_artifact(CONF_DIR);
    let listing_text = match cx.node.text(&listing) {
        Ok(t) => t,
        Err(m) => {
            // No conf.d directory: NetworkManager is most likely not installed. Only a
            // downed VXLAN device makes the question worth raising.
            let absent = cx
                .node
                .bundle
                .manifest()
                .artifact(&listing)
                .is_some_and(|a| a.status == netsnap_bundle::Status::Absent);
            if vxlan_down.is_some() && !absent {
                return Verdicts::cannot(cx.not_concluded(
                    &INFO,
                    "whether NetworkManager takes vxlan.calico down",
                    m.to_string(),
                    Some("nmcli device status; ls /etc/NetworkManager/conf.d"),
                ));
            }
            return Verdicts::clear(
                format!(
                    "nothing shows NetworkManager managing the CNI devices: {CONF_DIR} {}",
                    if absent {
                        "does not exist"
                    } else {
                        "was not collected"
                    }
                ),
                Vec::new(),
            );
        }
    };
    // Files of the directory that the bundle holds, by listing name.
    let mut configs: BTreeMap<String, String> = BTreeMap::new();
    for l in listing_text.lines() {
        let Some(name) = l.split_whitespace().nth(1) else {
            continue;
        };
        let path = names::file_artifact(&format!("{CONF_DIR}/{name}"));
        if let Ok(t) = cx.node.text(&path) {
            configs.insert(path, t);
        }
    }
    let patterns: Vec<(String, usize, String, String)> = configs
        .iter()
        .flat_map(|(path, t)| {
            unmanaged_patterns(t)
                .into_iter()
                .map(|(line, p, excerpt)| (path.clone(), line, p, excerpt))
        })
        .collect();
    let uncovered: Vec<&str> = devices
        .iter()
        .copied()
        .filter(|d| !patterns.iter().any(|(_, _, p, _)| glob(p, d)))
        .collect();
    if uncovered.is_empty() {
        return Verdicts::clear(
            "NetworkManager's configuration leaves every CNI device unmanaged",
            patterns
                .iter()
                .take(3)
                .map(|(path, line, _, excerpt)| {
                    Evidence::new(path.clone(), format!("line {line}"), excerpt.clone())
                })
                .collect(),
        );
    }
    let (severity, confidence) = if vxlan_down.is_some() {
        (Severity::Error, Confidence::Medium)
    } else {
        (Severity::Warning, Confidence::Low)
    };
    let mut f = cx.finding(
        &INFO,
        severity,
        confidence,
        format!(
            "NetworkManager is configured on this node but not told to leave {} alone",
            list_capped(&uncovered, 4)
        ),
    );
    f.detail = "NetworkManager manages every device it is not told to ignore: it tries DHCP on \
        the pods' cali* veths and can take the CNI's tunnel device down or drop its routes, \
        so cross-node pod and Service traffic breaks some time after the CNI set it up. \
        Whether NetworkManager is running is not in the bundle; its configuration directory \
        is."
    .to_string();
    f.evidence.push(Evidence::new(
        listing.clone(),
        "whole file",
        if configs.is_empty() {
            "no configuration file in the directory".to_string()
        } else {
            format!(
                "{} file(s): {}",
                configs.len(),
                list_capped(&configs.keys().collect::<Vec<_>>(), 5)
            )
        },
    ));
    for (path, line, p, excerpt) in patterns.iter().take(EVIDENCE_ITEMS) {
        f.evidence.push(Evidence::new(
            path.clone(),
            format!("line {line}"),
            format!("{excerpt} (covers {p} only)"),
        ));
    }
    f.evidence.push(Evidence::new(
        names::RTNL_LINKS,
        "CNI links",
        format!("not covered: {}", list_capped(&uncovered, EVIDENCE_ITEMS)),
    ));
    if let Some(l) = vxlan_down {
        f.evidence.push(Evidence::new(
            names::RTNL_LINKS,
            "link vxlan.calico",
            format!("vxlan.calico: <{}> (not UP)", l.summary.flags.join(",")),
        ));
    }
    // NetworkManager merges conf.d files by key, the later file winning: our drop-in sorts
    // last and must repeat the patterns the earlier files set.
    let mut spec: Vec<String> = patterns
        .iter()
        .map(|(_, _, p, _)| format!("interface-name:{p}"))
        .collect();
    for p in CNI_PATTERNS {
        let p = format!("interface-name:{p}");
        if !spec.contains(&p) {
            spec.push(p);
        }
    }
    f.fix.push(FixStep::new(
        format!(
            "Mark the CNI devices unmanaged in a drop-in of our own ({DROP_IN}, sorting after \
             the others and keeping their patterns) and reload NetworkManager."
        ),
        vec![
            format!(
                "test -e {DROP_IN} || printf '[keyfile]\\nunmanaged-devices={}\\n' > {DROP_IN}",
                spec.join(";")
            ),
            "systemctl reload NetworkManager".to_string(),
            "nmcli device status".to_string(),
        ],
        FixAction::Manual,
    ));
    if vxlan_down.is_some() {
        f.fix.push(FixStep::new(
            "Delete the downed vxlan.calico so calico-node recreates it cleanly.",
            vec!["ip link del vxlan.calico".to_string()],
            FixAction::Manual,
        ));
    }
    Verdicts::found(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("cali*", "cali1a2b3c4d5e6"));
        assert!(glob("vxlan.calico", "vxlan.calico"));
        assert!(!glob("vxlan.calico", "vxlan.calicoX"));
        assert!(glob("tunl?", "tunl0"));
        assert!(!glob("cali*", "eth0"));
        assert!(glob("*", "flannel.1"));
    }

    #[test]
    fn keyfile_and_device_sections() {
        let t = "[main]\nplugins=keyfile\n[keyfile]\nunmanaged-devices=interface-name:cali*;interface-name:=tunl0,mac:00:11:22:33:44:55\n\n[device-cni]\nmatch-device=interface-name:vxlan.calico\nmanaged=0\n[device-other]\nmatch-device=interface-name:eth*\nmanaged=1\n";
        let p: Vec<String> = unmanaged_patterns(t).into_iter().map(|x| x.1).collect();
        assert_eq!(p, ["cali*", "tunl0", "vxlan.calico"]);
        // A commented-out line and a key outside [keyfile] count for nothing.
        let t = "[keyfile]\n#unmanaged-devices=interface-name:cali*\n[main]\nunmanaged-devices=interface-name:tunl*\n";
        assert!(unmanaged_patterns(t).is_empty());
    }
}
