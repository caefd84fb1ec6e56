//! Kernel modules: which are loaded (`/proc/modules`), built in (`modules.builtin`,
//! `modules.builtin.modinfo`, `/sys/module`, the kernel config), or neither.
//!
//! Module names are normalised with `-` → `_`, as the kernel does (`lsmod` shows `_`, modprobe
//! accepts either).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use serde::Serialize;

/// The modules the checks ask about, with the kernel config symbol that builds each.
pub const WATCHED: &[(&str, &str)] = &[
    ("ip_vs", "CONFIG_IP_VS"),
    ("ip_vs_rr", "CONFIG_IP_VS_RR"),
    ("ip_vs_wrr", "CONFIG_IP_VS_WRR"),
    ("ip_vs_sh", "CONFIG_IP_VS_SH"),
    ("ip_vs_lc", "CONFIG_IP_VS_LC"),
    ("ip_vs_wlc", "CONFIG_IP_VS_WLC"),
    ("ip_vs_lblc", "CONFIG_IP_VS_LBLC"),
    ("ip_vs_sed", "CONFIG_IP_VS_SED"),
    ("ip_vs_nq", "CONFIG_IP_VS_NQ"),
    ("ip_vs_mh", "CONFIG_IP_VS_MH"),
    ("nf_conntrack", "CONFIG_NF_CONNTRACK"),
    ("nf_nat", "CONFIG_NF_NAT"),
    ("br_netfilter", "CONFIG_BRIDGE_NETFILTER"),
    ("overlay", "CONFIG_OVERLAY_FS"),
    ("ipip", "CONFIG_NET_IPIP"),
    ("vxlan", "CONFIG_VXLAN"),
    ("ip_set", "CONFIG_IP_SET"),
    ("xt_set", "CONFIG_NETFILTER_XT_SET"),
    ("nf_tables", "CONFIG_NF_TABLES"),
    ("iptable_nat", "CONFIG_IP_NF_NAT"),
    ("iptable_filter", "CONFIG_IP_NF_FILTER"),
    ("xt_conntrack", "CONFIG_NETFILTER_XT_MATCH_CONNTRACK"),
    ("xt_MASQUERADE", "CONFIG_NETFILTER_XT_TARGET_MASQUERADE"),
    ("xt_mark", "CONFIG_NETFILTER_XT_MARK"),
    ("xt_comment", "CONFIG_NETFILTER_XT_MATCH_COMMENT"),
];

/// The kernel's spelling of a module name.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// One line of `/proc/modules`: `name size refcount users state address [taints]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadedModule {
    pub name: String,
    pub size: u64,
    /// `None` when the kernel prints `-` (built without module unloading).
    pub refcount: Option<u32>,
    pub users: Vec<String>,
    /// `Live`, `Loading` or `Unloading`.
    pub state: String,
}

/// What a `... | grep PATTERN` at the end of a command lets through, for module names:
/// `Some(patterns)` for plain words (`grep ip_vs`, `grep -E 'ip_vs|br_netfilter'`,
/// `egrep "a|b"`, `grep -e a -e b`), `Some(None)` for a filter that cannot be read this way
/// (a regular expression, `-v`, `-i`), `None` when the command has no grep.
pub fn grep_filter(command: &str) -> Option<Option<Vec<String>>> {
    // The last pipe outside quotes (`grep -E 'a|b'` holds one inside).
    let mut quote = None;
    let mut last_pipe = None;
    for (i, c) in command.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '|') => last_pipe = Some(i),
            _ => {}
        }
    }
    let tail = &command[last_pipe? + 1..];
    let words: Vec<&str> = tail.split_whitespace().collect();
    let (tool, args) = words.split_first()?;
    let extended = match *tool {
        "grep" => false,
        "egrep" => true,
        _ => return Some(None).filter(|_| command.contains("grep")),
    };
    let mut extended = extended;
    let mut patterns = Vec::new();
    let mut expect_pattern = false;
    for a in args {
        let a = a.trim_matches(|c| c == '\'' || c == '"');
        if expect_pattern {
            patterns.push(a.to_string());
            expect_pattern = false;
        } else if *a == *"-E" {
            extended = true;
        } else if a == "-e" {
            expect_pattern = true;
        } else if a == "-w" || a == "--color=auto" || a == "--color" {
        } else if a.starts_with('-') {
            return Some(None);
        } else {
            patterns.push(a.to_string());
        }
    }
    let mut words = Vec::new();
    for p in patterns {
        let alternatives: Vec<&str> = if extended {
            p.split('|').collect()
        } else {
            p.split("\\|").collect()
        };
        for w in alternatives {
            if w.is_empty() || !w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Some(None);
            }
            words.push(w.to_string());
        }
    }
    Some((!words.is_empty()).then_some(words))
}

/// Parses `/proc/modules`; lines that do not fit are skipped.
pub fn parse_proc_modules(text: &str) -> BTreeMap<String, LoadedModule> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 {
            continue;
        }
        let users = if f[3] == "-" {
            Vec::new()
        } else {
            f[3].split(',')
                .filter(|u| !u.is_empty())
                .map(normalize)
                .collect()
        };
        let name = normalize(f[0]);
        out.insert(
            name.clone(),
            LoadedModule {
                name,
                size: f[1].parse().unwrap_or(0),
                refcount: f[2].parse().ok(),
                users,
                state: f[4].to_string(),
            },
        );
    }
    out
}

/// `modules.builtin`: one path per line, `kernel/net/netfilter/ipvs/ip_vs.ko`.
pub fn parse_modules_builtin(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let file = l.trim().rsplit('/').next()?;
            let name = file.strip_suffix(".ko").unwrap_or(file);
            (!name.is_empty()).then(|| normalize(name))
        })
        .collect()
}

/// `modules.builtin.modinfo`: NUL-separated `module.key=value` records.
pub fn parse_builtin_modinfo(data: &[u8]) -> BTreeSet<String> {
    data.split(|b| *b == 0)
        .filter_map(|rec| {
            let rec = std::str::from_utf8(rec).ok()?;
            let (module, _) = rec.split_once('=')?.0.split_once('.')?;
            (!module.is_empty()).then(|| normalize(module))
        })
        .collect()
}

/// `sys/module.txt`: `NAME INITSTATE` per line, `-` when there is no `initstate` file (code
/// built in, known to `/sys/module` only for its parameters).
pub fn parse_sys_module(text: &str) -> BTreeMap<String, Option<String>> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = normalize(f.next()?);
            let state = f.next().filter(|s| *s != "-").map(str::to_string);
            Some((name, state))
        })
        .collect()
}

/// Kernel config: `CONFIG_X=y|m|"text"`, and `# CONFIG_X is not set` as `n`.
pub fn parse_kernel_config(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            if let Some(rest) = l.strip_prefix("# ") {
                let sym = rest.strip_suffix(" is not set")?;
                return sym
                    .starts_with("CONFIG_")
                    .then(|| (sym.to_string(), "n".into()));
            }
            let (k, v) = l.split_once('=')?;
            k.starts_with("CONFIG_")
                .then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// `/proc/config.gz` decompressed, at most `cap` bytes (a kernel config is ~300 KB).
pub fn gunzip_config(data: &[u8], cap: u64) -> std::io::Result<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(data)
        .take(cap)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// What is known about one module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ModuleStatus {
    Loaded {
        #[serde(skip_serializing_if = "Option::is_none")]
        refcount: Option<u32>,
        users: Vec<String>,
        state: String,
    },
    BuiltIn {
        evidence: &'static str,
    },
    /// Not loaded, and buildable as a module (`=m`) or of unknown config.
    NotLoaded {
        #[serde(skip_serializing_if = "Option::is_none")]
        config: Option<String>,
    },
    /// Not in the kernel at all (`# CONFIG_X is not set`).
    NotAvailable,
    /// The evidence needed to tell was not collected.
    Unknown,
}

/// All module evidence of a bundle, parsed. `None` fields were not collected.
#[derive(Debug, Clone, Default)]
pub struct ModuleEvidence {
    pub proc_modules: Option<BTreeMap<String, LoadedModule>>,
    /// The module list is only the lines a `grep` let through (`lsmod | grep ip_vs`): a module
    /// missing from it is not loaded only if the filter would have shown it. `Some(None)`: a
    /// filter that could not be read, so nothing follows from a module's absence.
    pub filtered: Option<Option<Vec<String>>>,
    pub builtin: Option<BTreeSet<String>>,
    pub sys_module: Option<BTreeMap<String, Option<String>>>,
    pub config: Option<BTreeMap<String, String>>,
}

impl ModuleEvidence {
    /// The status of `name` (either spelling).
    pub fn status(&self, name: &str) -> ModuleStatus {
        let name = normalize(name);
        if let Some(m) = self.proc_modules.as_ref().and_then(|p| p.get(&name)) {
            return ModuleStatus::Loaded {
                refcount: m.refcount,
                users: m.users.clone(),
                state: m.state.clone(),
            };
        }
        if self.builtin.as_ref().is_some_and(|b| b.contains(&name)) {
            return ModuleStatus::BuiltIn {
                evidence: "modules.builtin",
            };
        }
        let config = WATCHED
            .iter()
            .find(|(m, _)| normalize(m) == name)
            .and_then(|(_, sym)| self.config.as_ref()?.get(*sym).cloned());
        if config.as_deref() == Some("y") {
            return ModuleStatus::BuiltIn {
                evidence: "kernel config",
            };
        }
        match self.sys_module.as_ref().and_then(|s| s.get(&name)) {
            // /proc/modules was not collected but /sys/module says it is live.
            Some(Some(state)) if self.proc_modules.is_none() => {
                return ModuleStatus::Loaded {
                    refcount: None,
                    users: Vec::new(),
                    state: state.clone(),
                }
            }
            Some(None) => {
                return ModuleStatus::BuiltIn {
                    evidence: "/sys/module",
                }
            }
            _ => {}
        }
        if config.as_deref() == Some("n") {
            return ModuleStatus::NotAvailable;
        }
        if self.proc_modules.is_some() && self.would_show(&name) {
            return ModuleStatus::NotLoaded { config };
        }
        ModuleStatus::Unknown
    }

    /// Whether the module list would hold `name` if it were loaded (see `filtered`).
    fn would_show(&self, name: &str) -> bool {
        match &self.filtered {
            None => true,
            Some(None) => false,
            Some(Some(patterns)) => patterns.iter().any(|p| name.contains(p.as_str())),
        }
    }

    /// The watched modules, then every other loaded module, with their status.
    pub fn report(&self) -> Vec<(String, ModuleStatus)> {
        let mut out: Vec<(String, ModuleStatus)> = WATCHED
            .iter()
            .map(|(m, _)| (m.to_string(), self.status(m)))
            .collect();
        if let Some(p) = &self.proc_modules {
            for name in p.keys() {
                if !WATCHED.iter().any(|(m, _)| normalize(m) == *name) {
                    out.push((name.clone(), self.status(name)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_MODULES: &str = "\
ip_vs_rr 12288 4 - Live 0x0000000000000000
ip_vs 221184 6 ip_vs_rr,ip_vs_sh, Live 0xffffffffc0a00000
nf_conntrack 196608 5 xt_conntrack,nf_nat,ip_vs, Live 0x0000000000000000
br_netfilter 32768 0 - Loading 0x0000000000000000 (OE)
short line
";

    #[test]
    fn grep_filters_say_what_a_module_list_can_show() {
        let words = |v: &[&str]| Some(Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        assert_eq!(grep_filter("lsmod"), None);
        assert_eq!(grep_filter("lsmod | grep ip_vs"), words(&["ip_vs"]));
        assert_eq!(
            grep_filter("lsmod | grep -E 'ip_vs|br_netfilter'"),
            words(&["ip_vs", "br_netfilter"])
        );
        assert_eq!(
            grep_filter("lsmod | egrep \"ip_vs|nf_conntrack\""),
            words(&["ip_vs", "nf_conntrack"])
        );
        assert_eq!(
            grep_filter("lsmod | grep -e ip_vs -e overlay"),
            words(&["ip_vs", "overlay"])
        );
        assert_eq!(grep_filter("lsmod | grep -v ip_vs"), Some(None));
        assert_eq!(grep_filter("lsmod | grep '^ip_vs'"), Some(None));
        assert_eq!(grep_filter("lsmod | sort | grep ip_vs"), words(&["ip_vs"]));
        let mut ev = ModuleEvidence {
            proc_modules: Some(parse_proc_modules("ip_vs 221184 6 - Live 0x0\n")),
            filtered: grep_filter("lsmod | grep ip_vs"),
            ..ModuleEvidence::default()
        };
        assert!(matches!(ev.status("ip_vs"), ModuleStatus::Loaded { .. }));
        assert!(matches!(
            ev.status("ip_vs_sh"),
            ModuleStatus::NotLoaded { .. }
        ));
        assert_eq!(ev.status("br_netfilter"), ModuleStatus::Unknown);
        ev.filtered = None;
        assert!(matches!(
            ev.status("br_netfilter"),
            ModuleStatus::NotLoaded { .. }
        ));
    }

    #[test]
    fn proc_modules_lines() {
        let m = parse_proc_modules(PROC_MODULES);
        assert_eq!(m.len(), 4);
        let ipvs = &m["ip_vs"];
        assert_eq!(ipvs.refcount, Some(6));
        assert_eq!(ipvs.users, ["ip_vs_rr", "ip_vs_sh"]);
        assert_eq!(ipvs.state, "Live");
        assert_eq!(m["br_netfilter"].state, "Loading");
        assert!(m["ip_vs_rr"].users.is_empty());
    }

    #[test]
    fn builtin_lists_and_config() {
        let b =
            parse_modules_builtin("kernel/net/ipv4/ip_tunnel.ko\nkernel/fs/overlayfs/overlay.ko\n");
        assert!(b.contains("overlay") && b.contains("ip_tunnel"));
        let mi = parse_builtin_modinfo(
            b"br_netfilter.license=GPL\0br_netfilter.description=x\0nf-nat.file=y\0\0garbage\0",
        );
        assert_eq!(
            mi.into_iter().collect::<Vec<_>>(),
            ["br_netfilter", "nf_nat"]
        );
        let c = parse_kernel_config(
            "CONFIG_IP_VS=m\n# CONFIG_NET_IPIP is not set\nCONFIG_VXLAN=y\n#x\n",
        );
        assert_eq!(c["CONFIG_IP_VS"], "m");
        assert_eq!(c["CONFIG_NET_IPIP"], "n");
        let s = parse_sys_module("ip_vs live\nkeyboard -\n");
        assert_eq!(s["ip_vs"].as_deref(), Some("live"));
        assert_eq!(s["keyboard"], None);
    }

    #[test]
    fn status_combines_the_evidence() {
        let ev = ModuleEvidence {
            proc_modules: Some(parse_proc_modules(PROC_MODULES)),
            builtin: Some(parse_modules_builtin("kernel/fs/overlayfs/overlay.ko\n")),
            sys_module: Some(parse_sys_module("nf_nat -\n")),
            config: Some(parse_kernel_config(
                "CONFIG_IP_VS_WRR=m\nCONFIG_VXLAN=y\n# CONFIG_NET_IPIP is not set\n",
            )),
            filtered: None,
        };
        assert!(matches!(
            ev.status("ip-vs"),
            ModuleStatus::Loaded {
                refcount: Some(6),
                ..
            }
        ));
        assert_eq!(
            ev.status("overlay"),
            ModuleStatus::BuiltIn {
                evidence: "modules.builtin"
            }
        );
        assert_eq!(
            ev.status("vxlan"),
            ModuleStatus::BuiltIn {
                evidence: "kernel config"
            }
        );
        assert_eq!(
            ev.status("nf_nat"),
            ModuleStatus::BuiltIn {
                evidence: "/sys/module"
            }
        );
        assert_eq!(ev.status("ipip"), ModuleStatus::NotAvailable);
        assert_eq!(
            ev.status("ip_vs_wrr"),
            ModuleStatus::NotLoaded {
                config: Some("m".into())
            }
        );
        let none = ModuleEvidence::default();
        assert_eq!(none.status("ip_vs"), ModuleStatus::Unknown);
        let report = ev.report();
        assert_eq!(
            report.len(),
            WATCHED.len(),
            "every loaded module here is watched"
        );
    }

    #[test]
    fn gzip_config_is_read_and_capped() {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"CONFIG_IP_VS=m\n").expect("gzip");
        let gz = e.finish().expect("gzip");
        assert_eq!(
            gunzip_config(&gz, 1 << 20).expect("gunzip"),
            "CONFIG_IP_VS=m\n"
        );
        assert_eq!(gunzip_config(&gz, 4).expect("gunzip"), "CONF");
        assert!(gunzip_config(b"not gzip", 100).is_err());
    }
}
