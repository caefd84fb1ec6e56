//! Kernel module state and kernel facts from procfs and sysfs: `/proc/modules`, the built-in
//! module list, the `/sys/module` listing with `initstate`, the kernel config, `/proc/cmdline`
//! and the IPVS proc tables (world-readable, unlike the IPVS netlink family).
//!
//! Nothing here can load a module: these are plain reads of files that exist or not.

use std::collections::BTreeSet;
use std::fs;
use std::time::Instant;

use netsnap_bundle::{names, Source};

use super::{file_record, io_status};
use crate::collect::{cap, Ctx, Record};
use crate::msg;

/// What the gating decisions need to know about kernel modules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleFacts {
    /// `/proc/modules` exists (the kernel can load modules at all).
    pub loadable: bool,
    /// Names listed in `/proc/modules`.
    pub loaded: BTreeSet<String>,
    /// Names from `modules.builtin` (`kernel/net/netfilter/nf_tables.ko` -> `nf_tables`).
    pub builtin: BTreeSet<String>,
    /// Directory names under `/sys/module`.
    pub sys_module: BTreeSet<String>,
}

impl ModuleFacts {
    /// The module is in the kernel now (loaded, or built in), so using it loads nothing.
    pub fn present(&self, module: &str) -> bool {
        let alt = module.replace('-', "_");
        [module, alt.as_str()].iter().any(|m| {
            self.loaded.contains(*m) || self.builtin.contains(*m) || self.sys_module.contains(*m)
        })
    }
}

/// Module names from `/proc/modules` text (first field of each line).
pub fn parse_proc_modules(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Module names from `modules.builtin` (paths like `kernel/net/ipv4/ipip.ko`; dashes in file
/// names are underscores in module names).
pub fn parse_modules_builtin(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.trim().rsplit('/').next())
        .filter_map(|f| f.strip_suffix(".ko").or(Some(f)).filter(|s| !s.is_empty()))
        .map(|m| m.replace('-', "_"))
        .collect()
}

fn proc_file(path: &str, node: &str) -> (String, Source) {
    (
        path.to_string(),
        Source::File {
            path: node.to_string(),
        },
    )
}

pub fn planned() -> Vec<(String, Source)> {
    vec![
        proc_file(names::PROC_MODULES, "/proc/modules"),
        proc_file(names::PROC_NET_IP_VS, "/proc/net/ip_vs"),
        proc_file(names::PROC_NET_IP_VS_STATS, "/proc/net/ip_vs_stats"),
        proc_file(names::PROC_CMDLINE, "/proc/cmdline"),
        proc_file(
            names::MODULES_BUILTIN,
            "/lib/modules/RELEASE/modules.builtin",
        ),
        proc_file(
            names::MODULES_BUILTIN_MODINFO,
            "/lib/modules/RELEASE/modules.builtin.modinfo",
        ),
        (
            names::SYS_MODULE.to_string(),
            Source::Files {
                paths: vec!["/sys/module".into()],
            },
        ),
        proc_file(names::KERNEL_CONFIG_GZ, "/proc/config.gz"),
        proc_file(names::KERNEL_CONFIG, "/boot/config-RELEASE"),
    ]
}

pub fn probe(ctx: &Ctx, release: &str) -> ModuleFacts {
    let mut facts = ModuleFacts::default();

    let modules = file_record(names::PROC_MODULES, "/proc/modules", cap::TEXT);
    if let Some(data) = modules.data() {
        facts.loadable = true;
        facts.loaded = parse_proc_modules(&String::from_utf8_lossy(data));
        ctx.put(modules);
    } else {
        ctx.put(modules.with_reason(msg::NO_PROC_MODULES));
    }

    for (path, node) in [
        (names::PROC_NET_IP_VS, "/proc/net/ip_vs"),
        (names::PROC_NET_IP_VS_STATS, "/proc/net/ip_vs_stats"),
        (names::PROC_CMDLINE, "/proc/cmdline"),
        (names::KERNEL_CONFIG_GZ, "/proc/config.gz"),
    ] {
        let cap = if path == names::KERNEL_CONFIG_GZ {
            cap::KERNEL_CONFIG
        } else {
            cap::TEXT
        };
        ctx.put(file_record(path, node, cap));
    }

    let boot_config = format!("/boot/config-{release}");
    ctx.put(file_record(
        names::KERNEL_CONFIG,
        &boot_config,
        cap::KERNEL_CONFIG,
    ));

    let dir = format!("/lib/modules/{release}");
    let builtin = file_record(
        names::MODULES_BUILTIN,
        &format!("{dir}/modules.builtin"),
        cap::MODULES_BUILTIN,
    );
    if let Some(data) = builtin.data() {
        facts.builtin = parse_modules_builtin(&String::from_utf8_lossy(data));
    }
    ctx.put(builtin);
    ctx.put(file_record(
        names::MODULES_BUILTIN_MODINFO,
        &format!("{dir}/modules.builtin.modinfo"),
        cap::MODULES_BUILTIN,
    ));

    let (listing, names_seen) = sys_module_listing();
    facts.sys_module = names_seen;
    ctx.put(listing);
    facts
}

/// `NAME INITSTATE` per `/sys/module` entry, sorted; `-` when there is no `initstate` (code
/// built in that only has parameters).
fn sys_module_listing() -> (Record, BTreeSet<String>) {
    let started = Instant::now();
    let source = Source::Files {
        paths: vec!["/sys/module".into()],
    };
    let entries = match fs::read_dir("/sys/module") {
        Ok(e) => e,
        Err(e) => {
            let r = Record::missing(
                names::SYS_MODULE,
                source,
                io_status(&e),
                e.to_string(),
                started,
            );
            return (r, BTreeSet::new());
        }
    };
    let names: BTreeSet<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut text = String::new();
    for name in &names {
        let state = fs::read_to_string(format!("/sys/module/{name}/initstate"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "-".to_string());
        text.push_str(&format!("{name} {state}\n"));
    }
    let r = Record::stored(
        names::SYS_MODULE,
        source,
        text.into_bytes(),
        cap::TEXT,
        started,
    );
    (r, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_lists_parse() {
        let pm = "ip_vs_rr 12288 1 - Live 0x0000000000000000\n\
                  ip_vs 200704 3 ip_vs_rr, Live 0x0000000000000000\n";
        let loaded = parse_proc_modules(pm);
        assert!(loaded.contains("ip_vs") && loaded.contains("ip_vs_rr"));
        let b = parse_modules_builtin("kernel/net/netfilter/nf_tables.ko\nkernel/drivers/net/vxlan/vxlan.ko\nkernel/net/bridge/br-netfilter.ko\n");
        assert!(b.contains("nf_tables") && b.contains("vxlan") && b.contains("br_netfilter"));
    }

    #[test]
    fn presence_counts_loaded_builtin_and_sysfs() {
        let mut f = ModuleFacts {
            loadable: true,
            ..Default::default()
        };
        assert!(!f.present("ip_vs"));
        f.sys_module.insert("ip_vs".into());
        assert!(f.present("ip_vs"));
        f.builtin.insert("nf_tables".into());
        assert!(f.present("nf_tables"));
        f.loaded.insert("br_netfilter".into());
        assert!(f.present("br-netfilter"));
    }
}
