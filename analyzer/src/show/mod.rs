//! Views of a bundle's evidence, as the familiar tools would have printed it on the node
//! (`ipvsadm -Ln`, `ip -j -d link`, `lsmod` ...). Renderers write to `impl Write`.
//!
//! Evidence that is missing or partly undecodable does not stop a view: it shows what there
//! is, and the reasons come back as notes for the caller to print apart from the view.

pub mod ipvs;
pub mod links;
pub mod manifest;
pub mod modules;
pub mod overview;
pub mod sysctls;

use std::io::Write;

use netsnap_bundle::names;

use crate::decode::ipvs::{decode_ipvs, decode_proc_net_ip_vs, IpvsArtifacts, IpvsTable};
use crate::decode::rtnl::{self, Decoded, Link, LinkNames};
use crate::error::{Error, Result};
use crate::load::Bundle;

/// The views of `netsnap show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Links,
    Addrs,
    Routes,
    Rules,
    Neigh,
    Modules,
    Sysctls,
    Manifest,
    /// A first look: evidence, IPVS, key modules, tunnel devices, key sysctls.
    Overview,
    /// `ipvsadm -Ln`.
    Ipvs,
    /// `ipvsadm -Ln --stats`.
    IpvsStats,
}

/// Renders `view` of `bundle` to `out`, as JSON (iproute2's field names) or text. Returns
/// notes about missing or undecodable evidence.
pub fn render(bundle: &Bundle, view: View, json: bool, out: &mut dyn Write) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    match view {
        View::Links => {
            let links = links_of(bundle, &mut notes);
            links::render_links(&links, json, out)?;
        }
        View::Addrs => {
            let links = links_of(bundle, &mut notes);
            let addrs = evidence(bundle, names::RTNL_ADDRS, &mut notes, rtnl::decode_addrs);
            links::render_addrs(&rtnl::addresses_by_link(&links, &addrs), json, out)?;
        }
        View::Routes => {
            let names = LinkNames::from_links(&links_of(bundle, &mut notes));
            let mut routes = Vec::new();
            for path in [names::RTNL_ROUTES_V4, names::RTNL_ROUTES_V6] {
                routes.extend(evidence(bundle, path, &mut notes, |b| {
                    rtnl::decode_routes(path, b, &names)
                }));
            }
            // As `ip route show table all`: cache and exception entries are not routes.
            routes.retain(|r| !r.cloned);
            links::render_routes(&routes, json, out)?;
        }
        View::Rules => {
            let mut rules = Vec::new();
            for path in [names::RTNL_RULES_V4, names::RTNL_RULES_V6] {
                rules.extend(evidence(bundle, path, &mut notes, |b| {
                    rtnl::decode_rules(path, b)
                }));
            }
            links::render_rules(&rules, json, out)?;
        }
        View::Neigh => {
            let names = LinkNames::from_links(&links_of(bundle, &mut notes));
            let neigh = evidence(bundle, names::RTNL_NEIGH, &mut notes, |b| {
                rtnl::decode_neighbours(b, &names)
            });
            let shown: Vec<_> = neigh.into_iter().filter(|n| n.shown_by_default()).collect();
            links::render_neigh(&shown, json, out)?;
        }
        View::Modules => modules::render(bundle, json, out, &mut notes)?,
        View::Sysctls => sysctls::render(bundle, json, out, &mut notes)?,
        View::Manifest => manifest::render(bundle, json, out)?,
        View::Overview => {
            if json {
                return Err(Error::NotAvailable {
                    what: "JSON for the overview",
                });
            }
            overview::render(bundle, out, &mut notes)?;
        }
        View::Ipvs | View::IpvsStats => {
            if json {
                return Err(Error::NotAvailable {
                    what: "JSON for the ipvs view",
                });
            }
            let table = ipvs_table(bundle, &mut notes)?;
            let mut out = out;
            if view == View::IpvsStats {
                ipvs::render_ipvsadm_stats(&table, &mut out).map_err(output)?;
            } else {
                ipvs::render_ipvsadm_list(&table, &mut out).map_err(output)?;
            }
        }
    }
    Ok(notes)
}

/// The IPVS table of a bundle: from the netlink dumps when they were collected, else from the
/// world-readable `/proc/net/ip_vs` (which lacks statistics and most flags). When neither is
/// there, the error says why each was not collected: for an IPVS-mode node, "skipped: ip_vs is
/// not loaded" is itself the evidence.
pub fn ipvs_table(bundle: &Bundle, notes: &mut Vec<String>) -> Result<IpvsTable> {
    let services = bundle.evidence(names::IPVS_SERVICES);
    let mut why = Vec::new();
    if let Some(bytes) = services.bytes() {
        let artifacts = IpvsArtifacts {
            services: bytes,
            dests: bundle.file(names::IPVS_DESTS).unwrap_or_default(),
            info: bundle.file(names::IPVS_INFO),
            config: bundle.file(names::IPVS_CONFIG),
            daemons: bundle.file(names::IPVS_DAEMONS),
        };
        match decode_ipvs(&artifacts) {
            Ok(table) => {
                notes.extend(table.problems.iter().map(ToString::to_string));
                return Ok(table);
            }
            Err(e) => why.push(e.to_string()),
        }
    } else if let Some(absence) = services.absence() {
        why.push(format!("{} {absence}", names::IPVS_SERVICES));
    }
    let proc_text = bundle.evidence(names::PROC_NET_IP_VS);
    if let Some(bytes) = proc_text.bytes() {
        match decode_proc_net_ip_vs(&String::from_utf8_lossy(bytes)) {
            Ok(table) => {
                notes.extend(why);
                notes.push(format!(
                    "shown from {}: it carries no statistics, thresholds or flags other than \
                     persistent and ops",
                    names::PROC_NET_IP_VS
                ));
                notes.extend(table.problems.iter().map(ToString::to_string));
                return Ok(table);
            }
            Err(e) => why.push(e.to_string()),
        }
    } else if let Some(absence) = proc_text.absence() {
        why.push(format!("{} {absence}", names::PROC_NET_IP_VS));
    }
    Err(Error::NoIpvsTable {
        why: why.join("; "),
    })
}

pub(crate) fn links_of(bundle: &Bundle, notes: &mut Vec<String>) -> Vec<Link> {
    evidence(bundle, names::RTNL_LINKS, notes, rtnl::decode_links)
}

/// Decodes one netlink artifact, turning absence and decode errors into notes.
fn evidence<T>(
    bundle: &Bundle,
    path: &str,
    notes: &mut Vec<String>,
    decode: impl FnOnce(&[u8]) -> Decoded<T>,
) -> Vec<T> {
    let ev = bundle.evidence(path);
    let Some(bytes) = ev.bytes() else {
        if let Some(why) = ev.absence() {
            notes.push(format!("{path} {why}"));
        }
        return Vec::new();
    };
    let d = decode(bytes);
    notes.extend(d.errors.iter().map(ToString::to_string));
    if !d.complete {
        notes.push(format!("{path}: the dump is incomplete (no NLMSG_DONE)"));
    }
    if d.interrupted {
        notes.push(format!(
            "{path}: the kernel marked the dump as interrupted by a change; it may be inconsistent"
        ));
    }
    d.items
}

pub(crate) fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)
        .map_err(|e| Error::Output { source: e.into() })?;
    writeln!(out).map_err(output)
}

pub(crate) fn output(source: std::io::Error) -> Error {
    Error::Output { source }
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub(crate) fn write_table(out: &mut dyn Write, rows: &[Vec<String>]) -> Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        writeln!(out, "{}", line.trim_end()).map_err(output)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bundles/node1-rtnl");
        Bundle::open(dir).expect("fixture bundle loads")
    }

    fn run(view: View, json: bool) -> (String, Vec<String>) {
        let mut out = Vec::new();
        let notes = render(&bundle(), view, json, &mut out).expect("renders");
        (String::from_utf8(out).expect("UTF-8"), notes)
    }

    #[test]
    fn json_views_are_iproute2_shaped_arrays() {
        // The bundle holds the dumps of tests/data/rtnl/node1; iproute2 printed these.
        let oracle = |text: &str, extra: &str| {
            let count = |t: &str| {
                serde_json::from_str::<Vec<serde_json::Value>>(t)
                    .map(|v| v.len())
                    .unwrap_or(0)
            };
            count(text) + count(extra)
        };
        macro_rules! data {
            ($f:literal) => {
                include_str!(concat!("../../tests/data/rtnl/node1/", $f))
            };
        }
        for (view, len) in [
            (View::Links, oracle(data!("ip-d-link.json"), "")),
            (View::Addrs, oracle(data!("ip-addr.json"), "")),
            (View::Routes, oracle(data!("ip-route-all.json"), "")),
            (
                View::Rules,
                oracle(data!("ip-rule.json"), data!("ip-6-rule.json")),
            ),
            (View::Neigh, oracle(data!("ip-neigh.json"), "")),
        ] {
            assert!(len > 0);
            let (text, notes) = run(view, true);
            let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(v.as_array().map(Vec::len), Some(len), "{view:?}");
            assert!(notes.is_empty(), "{view:?}: {notes:?}");
        }
    }

    #[test]
    fn text_views_and_notes() {
        let (text, _) = run(View::Links, false);
        assert!(text.contains("4: vxlan.calico: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450"));
        let (text, _) = run(View::Rules, false);
        assert!(
            text.contains("1000:\tfrom all fwmark 0x4000/0x4000 lookup 100\n"),
            "{text}"
        );
        let (text, notes) = run(View::Modules, false);
        assert!(text.contains("ip_vs_wrr"), "{text}");
        assert!(text
            .lines()
            .any(|l| l.starts_with("ip_vs ") && l.contains("loaded")));
        assert!(
            notes.iter().any(|n| n.starts_with("sys/module.txt ")),
            "{notes:?}"
        );
        let (text, notes) = run(View::Sysctls, false);
        assert!(text.is_empty());
        assert_eq!(notes, ["sysctl.txt was not collected (denied: not root)"]);
        let (text, _) = run(View::Manifest, false);
        assert!(text.contains("netlink/ipvs/services.nl  skipped"), "{text}");
        // No IPVS table: the error carries the manifest's reason for each missing source.
        let err = render(&bundle(), View::Ipvs, false, &mut Vec::new()).expect_err("no table");
        assert!(matches!(err, Error::NoIpvsTable { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("netlink/ipvs/services.nl was not collected (skipped"),
            "{err}"
        );
    }
}
