//! What the node's sysctl configuration files would set at boot, from the copies the collector
//! stores under `files/`. Order as systemd-sysctl and procps `sysctl --system` apply them
//! (sysctl.d(5)): `*.conf` files from /etc/sysctl.d, /run/sysctl.d and /usr/lib/sysctl.d sorted
//! by file name, a name in /etc hiding the same name in /run and /usr/lib, then
//! /etc/sysctl.conf (procps reads it last); a later assignment wins. A leading `-` only
//! silences errors, and keys may use `/` instead of `.`.

use std::collections::BTreeMap;

use netsnap_bundle::names;

use crate::load::Bundle;

/// The directories, in precedence order (earlier hides later for the same file name).
const DIRS: &[&str] = &["/etc/sysctl.d", "/run/sysctl.d", "/usr/lib/sysctl.d"];
const SYSCTL_CONF: &str = "/etc/sysctl.conf";

/// One assignment of a key in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Bundle artifact path (`files/etc/sysctl.d/99-k8s.conf`).
    pub artifact: String,
    /// 1-based line.
    pub line: usize,
    pub value: String,
    /// The line as written, trimmed.
    pub text: String,
}

/// The files in application order: (bundle artifact path, text).
fn files(bundle: &Bundle) -> Vec<(String, String)> {
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for dir in DIRS {
        let prefix = format!("{}/", names::file_artifact(dir));
        for path in bundle.paths() {
            let Some(name) = path.strip_prefix(&prefix) else {
                continue;
            };
            if name.contains('/') || !name.ends_with(".conf") {
                continue;
            }
            by_name
                .entry(name.to_string())
                .or_insert_with(|| path.to_string());
        }
    }
    let mut paths: Vec<String> = by_name.into_values().collect();
    let conf = names::file_artifact(SYSCTL_CONF);
    if bundle.file(&conf).is_some() {
        paths.push(conf);
    }
    paths
        .into_iter()
        .filter_map(|p| {
            let text = String::from_utf8_lossy(bundle.file(&p)?).into_owned();
            Some((p, text))
        })
        .collect()
}

/// The assignment of `key` in one file's text, last one wins: (line, value, text).
pub fn find_in(text: &str, key: &str) -> Option<(usize, String, String)> {
    let mut found = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let line_key = line.trim_start_matches('-');
        let Some((k, v)) = line_key.split_once('=') else {
            continue;
        };
        if k.trim().replace('/', ".") == key {
            found = Some((i + 1, v.trim().to_string(), line.to_string()));
        }
    }
    found
}

/// What the configuration files would set `key` to at boot (the last assignment), if any
/// file sets it.
pub fn persisted(bundle: &Bundle, key: &str) -> Option<Setting> {
    let mut last = None;
    for (artifact, text) in files(bundle) {
        if let Some((line, value, text)) = find_in(&text, key) {
            last = Some(Setting {
                artifact,
                line,
                value,
                text,
            });
        }
    }
    last
}

/// Whether any sysctl configuration was collected at all (a directory listing or a file), so
/// "no file sets it" means something.
pub fn any_collected(bundle: &Bundle) -> bool {
    DIRS.iter()
        .any(|d| bundle.file(&names::listing_artifact(d)).is_some())
        || bundle.file(&names::file_artifact(SYSCTL_CONF)).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_assignment_wins_and_syntax_variants() {
        let text = "# net.ipv4.ip_forward = 1\n\
                    net.ipv4.ip_forward = 1\n\
                    ; net.ipv4.ip_forward=7\n\
                    -net/ipv4/ip_forward=0\n\
                    net.ipv4.ip_forwarding = 1\n";
        let (line, value, text) = find_in(text, "net.ipv4.ip_forward").expect("assignment");
        assert_eq!((line, value.as_str()), (4, "0"));
        assert_eq!(text, "-net/ipv4/ip_forward=0");
        assert!(find_in("net.ipv4.ip_forwarding = 1\n", "net.ipv4.ip_forward").is_none());
    }
}
