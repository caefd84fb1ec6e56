//! Tests over the corpus in `tests/data/pasted/`: every `NAME.txt` is decoded and compared with
//! its reviewed `NAME.expected.json`; iproute2's text is compared with `ip -j` of the same
//! namespace; the VM-lab oracles (`ipvsadm -Ln`, `lsmod`, `/proc/modules`, `sysctl -a`) are
//! compared with what the same node's bundle decodes to.
//!
//! The expected files were written once with `NETSNAP_BLESS=1` and then reviewed by hand line
//! by line against their `.txt` (each service, link, route and issue checked against the text
//! and, for iproute2, against the `ip -j` oracle next to it); a later run without the variable
//! fails on any difference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::*;
use crate::decode::ipvs::service_label;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pasted")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A reviewable JSON summary of a decoded file: every piece, its kind, lines, issues and the
/// parsed values with their lines (including the fields the model's JSON form skips).
pub(super) fn summary(file: &TextFile) -> Value {
    json!({
        "issues": file.issues.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "pieces": file.pieces.iter().map(piece_summary).collect::<Vec<_>>(),
    })
}

fn piece_summary(p: &TextPiece) -> Value {
    json!({
        "command": p.piece.command,
        "command_line": p.piece.command_line,
        "lines": [p.piece.first_line, p.piece.last_line],
        "kind": match &p.kind {
            TextKind::Unknown(r) => format!("Unknown: {r}"),
            k => format!("{k:?}"),
        },
        "issues": p.all_issues().map(ToString::to_string).collect::<Vec<_>>(),
        "content": content_summary(&p.content),
    })
}

fn content_summary(c: &TextContent) -> Value {
    match c {
        TextContent::Ipvs(t) => {
            let services: Vec<Value> = t
                .table
                .services
                .iter()
                .enumerate()
                .map(|(i, vs)| {
                    let s = &vs.service;
                    json!({
                        "line": t.service_lines.get(i),
                        "service": service_label(s),
                        "af": s.af,
                        "scheduler": s.scheduler,
                        "flags": s.flags,
                        "timeout": s.timeout,
                        "netmask": s.netmask,
                        "stats": s.stats.map(|st| format!("{st:?}")),
                        "dests_complete": vs.dests_complete,
                        "dests": vs.dests.iter().enumerate().map(|(j, d)| json!({
                            "line": t.dest_lines.get(i).and_then(|l| l.get(j)),
                            "addr": d.addr.map(|a| a.to_string()),
                            "port": d.port,
                            "fwd_method": d.fwd_method,
                            "weight": d.weight,
                            "active": d.active_conns,
                            "inactive": d.inactive_conns,
                            "persist": d.persist_conns,
                            "u_threshold": d.u_threshold,
                            "l_threshold": d.l_threshold,
                            "stats": d.stats.map(|st| format!("{st:?}")),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({
                "view": format!("{:?}", t.view),
                "version": t.table.version.map(|v| format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)),
                "conn_tab_size": t.table.conn_tab_size,
                "timeouts": t.table.timeouts.map(|x| format!("{x:?}")),
                "services": services,
            })
        }
        TextContent::Links(t) if t.ifindex_synthetic => json!({
            "ifindex_synthetic": true,
            "links": t.links.iter().map(|l| json!({
                "line": l.line,
                "raw_flags": format!("{:#x}", l.value.summary.raw_flags),
                "link": l.value,
            })).collect::<Vec<_>>(),
            "addresses": t.addresses.iter().map(|a| json!({
                "line": a.line,
                "ifindex": a.value.ifindex,
                "address": a.value,
            })).collect::<Vec<_>>(),
        }),
        TextContent::Links(t) => json!({
            "links": t.links.iter().zip(&t.extras).map(|(l, x)| json!({
                "line": l.line,
                "raw_flags": format!("{:#x}", l.value.summary.raw_flags),
                "link": l.value,
                "altnames": x.altnames,
                "link_netns": x.link_netns,
                "addrgenmode": x.addrgenmode,
            })).collect::<Vec<_>>(),
            "addresses": t.addresses.iter().map(|a| json!({
                "line": a.line,
                "ifindex": a.value.ifindex,
                "address": a.value,
            })).collect::<Vec<_>>(),
        }),
        TextContent::Routes(t) => json!({
            "tables_stated": t.tables_stated,
            "routes": t.routes.iter().map(|r| json!({
                "line": r.line,
                "family": r.value.family,
                "table_id": r.value.table_id,
                "type_id": r.value.type_id,
                "route": r.value,
            })).collect::<Vec<_>>(),
        }),
        TextContent::Rules(t) => json!({
            "rules": t.rules.iter().map(|r| json!({
                "line": r.line,
                "family": r.value.family,
                "table_id": r.value.table_id,
                "rule": r.value,
            })).collect::<Vec<_>>(),
        }),
        TextContent::Modules(t) => json!({
            "state_known": t.state_known,
            "modules": t.modules.iter().map(|m| json!({"line": m.line, "module": m.value})).collect::<Vec<_>>(),
        }),
        TextContent::Sysctls(t) => json!({
            "values": t.values.iter().map(|(k, v)| (k.clone(), json!({"line": v.line, "value": v.value}))).collect::<BTreeMap<_, _>>(),
        }),
        TextContent::KubectlTables(t) => serde_json::to_value(t).unwrap_or(Value::Null),
        TextContent::KubectlDescribe(t) => serde_json::to_value(t).unwrap_or(Value::Null),
        TextContent::Nft(t) => json!({
            "tables": t.ruleset.tables.iter().zip(&t.table_lines).map(|(x, l)| json!({"line": l, "table": x})).collect::<Vec<_>>(),
            "sets": t.ruleset.sets.iter().zip(&t.set_lines).map(|(x, l)| json!({"line": l, "name": x.name, "elements": x.elements.len()})).collect::<Vec<_>>(),
            "chains": t.ruleset.chains.iter().zip(&t.chain_lines).map(|(x, l)| json!({"line": l, "chain": x})).collect::<Vec<_>>(),
            "rules": t.ruleset.rules.iter().zip(&t.rule_lines).map(|(x, l)| json!({"line": l, "chain": x.chain, "rule": x.summary()})).collect::<Vec<_>>(),
        }),
        TextContent::IptablesList(t) => json!({
            "table_stated": t.table_stated,
            "chains": t.save.tables.iter().flat_map(|x| &x.chains).map(|c| json!({"line": c.line, "chain": c})).collect::<Vec<_>>(),
            "rules": t.save.tables.iter().flat_map(|x| &x.rules).map(|r| json!({"line": r.line, "rule": r.raw})).collect::<Vec<_>>(),
        }),
        TextContent::Text { text, first_line } => json!({
            "first_line": first_line,
            "lines": text.lines().count(),
        }),
        TextContent::None => Value::Null,
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        corpus_dir(),
        corpus_dir().join("iproute2-6.1"),
        corpus_dir().join("ifconfig"),
    ] {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "txt") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn corpus_matches_reviewed_expectations() {
    let files = corpus_files();
    assert!(
        files.len() >= 15,
        "corpus is missing: {} files",
        files.len()
    );
    let bless = std::env::var_os("NETSNAP_BLESS").is_some();
    let mut failures = Vec::new();
    for f in &files {
        let got = summary(&decode_text(&read(f)));
        let expected = f.with_extension("expected.json");
        if bless {
            let text = serde_json::to_string_pretty(&got).expect("json") + "\n";
            std::fs::write(&expected, text).expect("write expected");
            continue;
        }
        let want: Value = serde_json::from_slice(&read(&expected))
            .unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
        if got != want {
            failures.push(format!(
                "{}:\n{}",
                f.display(),
                serde_json::to_string_pretty(&got).unwrap_or_default()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every piece of every corpus file is either parsed, handed through, or unknown with a reason;
/// nothing is dropped: the pieces cover every non-blank, non-prompt line.
#[test]
fn corpus_pieces_cover_every_line() {
    for f in corpus_files() {
        let bytes = read(&f);
        let norm = session::normalize(&bytes);
        let file = decode_text(&bytes);
        for (i, line) in norm.text.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let covered = file.pieces.iter().any(|p| {
                p.piece.command_line == Some(n)
                    || (p.piece.first_line..=p.piece.last_line).contains(&n)
            }) || session::prompt_command(line).is_some()
                || line.trim_end().ends_with(['#', '$']);
            assert!(covered, "{}:{n} is in no piece: {line:?}", f.display());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// iproute2 text against `ip -j` of the same namespace.

fn oracle(name: &str) -> Vec<Value> {
    let p = corpus_dir().join("iproute2-6.1").join(name);
    serde_json::from_slice(&read(&p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn decode_with_command(file: &str, command: &str) -> TextPiece {
    piece_of(&format!("iproute2-6.1/{file}"), command)
}

/// The text of a corpus file (path under `tests/data/pasted/`).
pub(super) fn corpus_text(path: &str) -> String {
    String::from_utf8(read(&corpus_dir().join(path))).expect("utf8")
}

/// A corpus file (path under `tests/data/pasted/`) decoded as one piece shown under `command`.
pub(super) fn piece_of(path: &str, command: &str) -> TextPiece {
    let text = corpus_text(path);
    let piece = Piece {
        command: Some(command.to_string()),
        command_line: None,
        first_line: 1,
        last_line: text.lines().count(),
        body: text.trim_end().to_string(),
    };
    decode_piece(piece, false)
}

/// Every key of `mine` is in `theirs` with the same value, except those in `unknown_to_text`
/// (which `mine` must not have); every key of `theirs` not in `not_in_text` is in `mine`.
pub(super) fn assert_fields(mine: &Value, theirs: &Value, not_in_text: &[&str], ctx: &str) {
    let (Some(m), Some(t)) = (mine.as_object(), theirs.as_object()) else {
        panic!("{ctx}: not objects: {mine} / {theirs}");
    };
    for (k, v) in m {
        assert_eq!(Some(v), t.get(k), "{ctx}: field {k}");
    }
    for k in t.keys() {
        if !not_in_text.contains(&k.as_str()) {
            assert!(
                m.contains_key(k),
                "{ctx}: field {k} of ip -j missing from the text parse"
            );
        }
    }
}

/// The links and addresses of a corpus file (path under `tests/data/pasted/`) decoded as one
/// piece shown under `command`.
pub(super) fn links_of(path: &str, command: &str) -> ip_link::LinksText {
    match piece_of(path, command).content {
        TextContent::Links(t) => t,
        c => panic!("{path}: {c:?}"),
    }
}

#[test]
fn ip_link_text_equals_ip_json() {
    // What iproute2's text does not print (or prints differently) for these links:
    // link_index/link_netnsid when the peer's netns is printed by name, altnames (kept in
    // LinkExtra), inet6_addr_gen_mode (LinkExtra::addrgenmode), the data of kinds the model
    // does not keep (bridge ids, timers, slave data).
    const NOT_IN_TEXT: &[&str] = &[
        "link_index",
        "link_netnsid",
        "altnames",
        "inet6_addr_gen_mode",
        "addr_info",
    ];
    for (file, command, json) in [
        ("ip-link.txt", "ip link", "ip-link.ip-j.json"),
        ("ip-d-link.txt", "ip -d link", "ip-d-link.ip-j.json"),
        ("ip-a.txt", "ip a", "ip-a.ip-j.json"),
    ] {
        let p = decode_with_command(file, command);
        let TextContent::Links(t) = &p.content else {
            panic!("{file}: {:?}", p.kind)
        };
        assert!(t.issues.is_empty(), "{file}: {:?}", t.issues);
        let oracle = oracle(json);
        assert_eq!(t.links.len(), oracle.len(), "{file}");
        for (l, o) in t.links.iter().zip(&oracle) {
            let mut mine = serde_json::to_value(&l.value).expect("json");
            let mut theirs = o.clone();
            // Compare linkinfo on the keys the model keeps.
            let mine_info = mine.as_object_mut().and_then(|m| m.remove("linkinfo"));
            let their_info = theirs.as_object_mut().and_then(|m| m.remove("linkinfo"));
            let ctx = format!("{file} {}", l.value.summary.ifname);
            assert_fields(&mine, &theirs, NOT_IN_TEXT, &ctx);
            match (mine_info, their_info) {
                (Some(mi), Some(ti)) => {
                    assert_eq!(mi["info_kind"], ti["info_kind"], "{ctx}");
                    assert_eq!(
                        mi.get("info_slave_kind"),
                        ti.get("info_slave_kind"),
                        "{ctx}"
                    );
                    if let Some(md) = mi.get("info_data").and_then(Value::as_object) {
                        assert!(md.len() >= 5, "{ctx}: {md:?}");
                        for (k, v) in md {
                            assert_eq!(Some(v), ti["info_data"].get(k), "{ctx}: info_data.{k}");
                        }
                    }
                }
                (None, None) => {}
                (m, t) => panic!("{ctx}: linkinfo {m:?} vs {t:?}"),
            }
            // is_up() reads raw_flags: it must agree with the printed flags.
            assert_eq!(
                l.value.is_up(),
                o["flags"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|x| x == "UP")),
                "{ctx}"
            );
        }
        if file == "ip-a.txt" {
            let mut n = 0;
            for o in &oracle {
                let ifindex = o["ifindex"].as_u64().expect("ifindex") as u32;
                let mine: Vec<&Parsed<rtnl::Address>> = t
                    .addresses
                    .iter()
                    .filter(|a| a.value.ifindex == ifindex)
                    .collect();
                let theirs = o["addr_info"].as_array().expect("addr_info");
                assert_eq!(mine.len(), theirs.len(), "addresses of {ifindex}");
                for (a, th) in mine.iter().zip(theirs) {
                    let v = serde_json::to_value(&a.value).expect("json");
                    assert_fields(&v, th, &[], &format!("address {th}"));
                    n += 1;
                }
            }
            assert_eq!(n, 14);
        }
    }
}

use crate::decode::rtnl;

#[test]
fn ip_route_text_equals_ip_json() {
    for (file, command, json, stated) in [
        (
            "ip-route-all.txt",
            "ip route show table all",
            "ip-route-all.ip-j.json",
            true,
        ),
        ("ip-route.txt", "ip route", "ip-route.ip-j.json", false),
        (
            "ip-6-route.txt",
            "ip -6 route",
            "ip-6-route.ip-j.json",
            false,
        ),
    ] {
        let p = decode_with_command(file, command);
        let TextContent::Routes(t) = &p.content else {
            panic!("{file}: {:?}", p.kind)
        };
        assert_eq!(t.tables_stated, stated, "{file}");
        let oracle = oracle(json);
        assert_eq!(t.routes.len(), oracle.len(), "{file}");
        for (r, o) in t.routes.iter().zip(&oracle) {
            let mine = serde_json::to_value(&r.value).expect("json");
            assert_fields(&mine, o, &[], &format!("{file}:{}", r.line));
            assert_ne!(r.value.family, 0, "{file}:{} family", r.line);
            let want_table = o["table"].as_str().map_or(254, rtnl_table);
            assert_eq!(r.value.table_id, want_table, "{file}:{}", r.line);
        }
    }
}

fn rtnl_table(t: &str) -> u32 {
    match t {
        "local" => 255,
        "main" => 254,
        "default" => 253,
        n => n.parse().expect("numeric table"),
    }
}

#[test]
fn ip_rule_text_equals_ip_json() {
    let p = decode_with_command("ip-rule.txt", "ip rule");
    let TextContent::Rules(t) = &p.content else {
        panic!("{:?}", p.kind)
    };
    assert!(t.issues.is_empty(), "{:?}", t.issues);
    let oracle = oracle("ip-rule.ip-j.json");
    assert_eq!(t.rules.len(), oracle.len());
    for (r, o) in t.rules.iter().zip(&oracle) {
        let mine = serde_json::to_value(&r.value).expect("json");
        assert_fields(&mine, o, &[], &format!("rule {}", r.line));
        assert_eq!(
            r.value.table_id,
            rtnl_table(o["table"].as_str().expect("table"))
        );
    }
    assert_eq!(t.rules[1].value.fwmark_value, Some((0x4000, 0x4000)));
    assert_eq!(t.rules[4].value.fwmark_value, Some((0x10, u32::MAX)));
}

// ---------------------------------------------------------------------------------------------
// VM lab: the text the real tools printed on a node against the bundle collected there.

const VM_LAB: [&str; 3] = ["1-modules-missing", "2-ipvs-services", "3-healthy"];

fn vm_lab(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/vm-lab")
        .join(case)
}

fn decode_oracle(case: &str, file: &str) -> TextFile {
    decode_text(&read(&vm_lab(case).join("oracle").join(file)))
}

fn only_content(f: &TextFile) -> &TextContent {
    assert_eq!(
        f.pieces.len(),
        1,
        "{:?}",
        f.pieces.iter().map(|p| &p.kind).collect::<Vec<_>>()
    );
    &f.pieces[0].content
}

#[test]
fn vm_lab_ipvsadm_text_equals_bundle_ipvs() {
    use netlink_ipvs::{IpvsDest, IpvsService};
    let mut compared = 0;
    for case in VM_LAB {
        let bundle = crate::Bundle::open(vm_lab(case).join("bundle")).expect("bundle loads");
        let mut notes = Vec::new();
        let native = crate::show::ipvs_table(&bundle, &mut notes);
        let oracle_path = vm_lab(case).join("oracle/ipvsadm-Ln.txt");
        if !oracle_path.exists() {
            // Case 1: ip_vs was not loaded; ipvsadm failed, and the bundle holds no table.
            let f = decode_oracle(case, "ipvsadm-Ln.after-collector.txt.stderr");
            assert!(native.is_err(), "{case}: the bundle has an IPVS table");
            let with_cmd = decode_piece(
                Piece {
                    command: Some("ipvsadm -Ln".into()),
                    ..f.pieces[0].piece.clone()
                },
                false,
            );
            assert_eq!(with_cmd.kind, TextKind::CommandError, "{case}");
            continue;
        }
        let native = native.unwrap_or_else(|e| panic!("{case}: {e}"));
        let f = decode_oracle(case, "ipvsadm-Ln.txt");
        let TextContent::Ipvs(t) = only_content(&f) else {
            panic!("{case}: {:?}", f.pieces[0].kind)
        };
        assert!(t.issues.is_empty(), "{case}: {:?}", t.issues);
        assert_eq!(t.table.version, native.version, "{case}");
        assert_eq!(t.table.conn_tab_size, native.conn_tab_size, "{case}");
        assert_eq!(t.table.services.len(), native.services.len(), "{case}");
        let key = |s: &IpvsService| (s.fwmark, s.af, s.protocol, s.addr, s.port);
        for vs in &t.table.services {
            let s = &vs.service;
            let n = native
                .services
                .iter()
                .find(|n| key(&n.service) == key(s))
                .unwrap_or_else(|| panic!("{case}: {} not in the bundle", service_label(s)));
            let ns = &n.service;
            let label = service_label(s);
            assert_eq!(s.scheduler, ns.scheduler, "{case} {label}");
            assert_eq!(
                s.flags,
                ns.flags.map(|f| f & ipvsadm::SHOWN_SERVICE_FLAGS),
                "{case} {label}"
            );
            if s.flags
                .is_some_and(|f| f & netlink_ipvs::IP_VS_SVC_F_PERSISTENT != 0)
            {
                assert_eq!(s.timeout, ns.timeout, "{case} {label}");
                assert_eq!(s.netmask, ns.netmask, "{case} {label}");
                assert_eq!(
                    s.pe_name,
                    ns.pe_name.clone().filter(|p| !p.is_empty()),
                    "{case} {label}"
                );
            }
            let dkey = |d: &IpvsDest| (d.addr, d.port);
            let mut mine: Vec<&IpvsDest> = vs.dests.iter().collect();
            let mut theirs: Vec<&IpvsDest> = n.dests.iter().collect();
            mine.sort_by_key(|d| dkey(d));
            theirs.sort_by_key(|d| dkey(d));
            assert_eq!(mine.len(), theirs.len(), "{case} {label}");
            for (d, nd) in mine.iter().zip(&theirs) {
                assert_eq!(dkey(d), dkey(nd), "{case} {label}");
                assert_eq!(d.fwd_method, nd.fwd_method, "{case} {label}");
                assert_eq!(d.weight, nd.weight, "{case} {label}");
                assert_eq!(d.active_conns, nd.active_conns, "{case} {label}");
                assert_eq!(d.inactive_conns, nd.inactive_conns, "{case} {label}");
                compared += 1;
            }
        }
        // And back: the table read from text renders to the very text ipvsadm printed.
        let mut out = Vec::new();
        crate::show::ipvs::render_ipvsadm_list(&t.table, &mut out).expect("render");
        let text = String::from_utf8(read(&oracle_path)).expect("utf8");
        assert_eq!(String::from_utf8(out).expect("utf8"), text, "{case}");
    }
    assert!(compared > 20, "only {compared} destinations compared");
}

#[test]
fn vm_lab_ipvsadm_views_render_back() {
    // --stats read from text renders to the same text (counters below 10^8 are exact).
    for case in ["2-ipvs-services", "3-healthy"] {
        let path = vm_lab(case).join("oracle/ipvsadm-Ln-stats.txt");
        let f = decode_text(&read(&path));
        let TextContent::Ipvs(t) = only_content(&f) else {
            panic!("{case}: {:?}", f.pieces[0].kind)
        };
        assert_eq!(t.view, IpvsadmView::Stats { numeric: true });
        assert!(t.issues.is_empty(), "{case}: {:?}", t.issues);
        let mut out = Vec::new();
        crate::show::ipvs::render_ipvsadm_stats(&t.table, &mut out).expect("render");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            String::from_utf8(read(&path)).expect("utf8"),
            "{case}"
        );
        // -Sn, --persistent-conn, --thresholds, --timeout: every line read, none unreadable.
        for (file, view) in [
            ("ipvsadm-Sn.txt", IpvsadmView::Save { numeric: true }),
            (
                "ipvsadm-Ln-persistent-conn.txt",
                IpvsadmView::PersistentConn { numeric: true },
            ),
            (
                "ipvsadm-Ln-thresholds.txt",
                IpvsadmView::Thresholds { numeric: true },
            ),
            ("ipvsadm-Ln-timeout.txt", IpvsadmView::Timeout),
        ] {
            let f = decode_oracle(case, file);
            let TextContent::Ipvs(v) = only_content(&f) else {
                panic!("{case} {file}: {:?}", f.pieces[0].kind)
            };
            assert_eq!(v.view, view, "{case} {file}");
            assert!(v.issues.is_empty(), "{case} {file}: {:?}", v.issues);
            if view == IpvsadmView::Timeout {
                assert!(v.table.timeouts.is_some());
            } else {
                assert_eq!(
                    v.table.services.len(),
                    t.table.services.len(),
                    "{case} {file}"
                );
                let dests = |x: &ipvsadm::IpvsText| {
                    x.table
                        .services
                        .iter()
                        .map(|s| s.dests.len())
                        .sum::<usize>()
                };
                assert_eq!(dests(v), dests(t), "{case} {file}");
            }
        }
    }
}

#[test]
fn vm_lab_modules_text_equals_bundle_proc_modules() {
    for case in VM_LAB {
        let bundle = crate::Bundle::open(vm_lab(case).join("bundle")).expect("bundle loads");
        let native = crate::decode::modules::parse_proc_modules(&String::from_utf8_lossy(
            bundle
                .file(netsnap_bundle::names::PROC_MODULES)
                .expect("proc/modules"),
        ));
        for (file, kind) in [
            ("lsmod.txt", TextKind::Lsmod),
            ("proc-modules.txt", TextKind::ProcModules),
        ] {
            let f = decode_oracle(case, file);
            assert_eq!(f.pieces[0].kind, kind, "{case} {file}");
            let TextContent::Modules(t) = only_content(&f) else {
                unreachable!()
            };
            assert!(t.issues.is_empty(), "{case} {file}: {:?}", t.issues);
            assert_eq!(t.state_known, kind == TextKind::ProcModules);
            let names: Vec<&str> = t.modules.iter().map(|m| m.value.name.as_str()).collect();
            assert_eq!(names.len(), native.len(), "{case} {file}: {names:?}");
            for m in &t.modules {
                let n = native
                    .get(&m.value.name)
                    .unwrap_or_else(|| panic!("{case} {file}: {}", m.value.name));
                assert_eq!(m.value.size, n.size, "{case} {file} {}", n.name);
                assert_eq!(m.value.refcount, n.refcount, "{case} {file} {}", n.name);
                let mut users = m.value.users.clone();
                let mut theirs = n.users.clone();
                users.sort();
                theirs.sort();
                assert_eq!(users, theirs, "{case} {file} {}", n.name);
                if t.state_known {
                    assert_eq!(m.value.state, n.state);
                }
            }
        }
    }
}

#[test]
fn vm_lab_sysctl_text_equals_bundle_sysctls() {
    use crate::decode::sysctl::SysctlValue;
    // Counters that change between two reads of the same node.
    const VOLATILE: &[&str] = &[
        "fs.dentry-state",
        "fs.file-nr",
        "fs.inode-nr",
        "fs.inode-state",
        "kernel.random.entropy_avail",
        "kernel.random.uuid",
        "kernel.ns_last_pid",
        "fs.quota.syncs",
    ];
    for case in VM_LAB {
        let bundle = crate::Bundle::open(vm_lab(case).join("bundle")).expect("bundle loads");
        let native = crate::decode::sysctl::parse_sysctls(&String::from_utf8_lossy(
            bundle
                .file(netsnap_bundle::names::SYSCTLS)
                .expect("sysctl.txt"),
        ));
        let f = decode_oracle(case, "sysctl-a.txt");
        assert_eq!(f.pieces[0].kind, TextKind::Sysctl, "{case}");
        let TextContent::Sysctls(t) = only_content(&f) else {
            unreachable!()
        };
        assert!(t.issues.is_empty(), "{case}: {:?}", t.issues);
        assert!(t.values.len() > 1000, "{case}: {}", t.values.len());
        let mut compared = 0;
        for (k, v) in &native {
            if VOLATILE.contains(&k.as_str()) {
                continue;
            }
            match (v, t.values.get(k)) {
                (SysctlValue::Value(_), Some(mine)) => {
                    assert_eq!(&mine.value, v, "{case} {k}");
                    compared += 1;
                }
                // The collector records absent keys; sysctl -a does not list them.
                (SysctlValue::Absent, None) => {}
                (v, mine) => panic!("{case} {k}: bundle {v:?}, text {mine:?}"),
            }
        }
        assert!(compared > 50, "{case}: only {compared} keys compared");
    }
}

/// Hostile input: every corpus file cut at many offsets (mid-line, mid-UTF-8, mid-escape) and
/// with bytes flipped decodes without a panic, and a cut file reports its cut.
#[test]
fn cut_and_damaged_files_never_panic() {
    let (mut cuts, mut cut_reported) = (0, 0);
    for f in corpus_files() {
        let bytes = read(&f);
        for end in (1..bytes.len()).step_by(13) {
            let file = decode_text(&bytes[..end]);
            if bytes[end - 1] != b'\n' && bytes[end - 1] != b'\r' {
                cuts += 1;
                let last = file.pieces.last().map(|p| {
                    p.all_issues().any(|i| {
                        matches!(i, TextIssue::CutMidLine { .. } | TextIssue::MayBeCut { .. })
                    })
                });
                if last == Some(true) {
                    cut_reported += 1;
                }
            }
        }
        let mut damaged = bytes.clone();
        for i in (0..damaged.len()).step_by(17) {
            damaged[i] ^= 0xa5;
        }
        let _ = decode_text(&damaged);
    }
    // A cut inside a blank line or a bare prompt leaves nothing cut to report.
    assert!(
        cut_reported * 100 >= cuts * 95,
        "{cut_reported} of {cuts} cuts reported"
    );
}

// ---------------------------------------------------------------------------------------------
// `ip -j` pasted as text: the same values as iproute2's text of the same namespace, and as the
// bundle's netlink dumps of the same VM-lab node.

fn json_piece(file: &str, command: &str) -> TextPiece {
    let p = decode_with_command(file, command);
    assert_eq!(p.kind, TextKind::IpJson, "{file}");
    assert!(
        p.all_issues().next().is_none(),
        "{file}: {:?}",
        p.all_issues().collect::<Vec<_>>()
    );
    p
}

#[test]
fn ip_json_equals_ip_text_of_the_same_namespace() {
    for (text, command, json) in [
        ("ip-link.txt", "ip link", "ip-link.ip-j.json"),
        ("ip-d-link.txt", "ip -d link", "ip-d-link.ip-j.json"),
        ("ip-a.txt", "ip a", "ip-a.ip-j.json"),
    ] {
        let from_text = decode_with_command(text, command);
        let from_json = json_piece(json, &format!("ip -j {}", &command[3..]));
        let (TextContent::Links(t), TextContent::Links(j)) =
            (&from_text.content, &from_json.content)
        else {
            panic!("{json}: {:?}", from_json.content)
        };
        assert_eq!(t.links.len(), j.links.len(), "{json}");
        for ((tl, tx), (jl, jx)) in t
            .links
            .iter()
            .zip(&t.extras)
            .zip(j.links.iter().zip(&j.extras))
        {
            let mut want = tl.value.clone();
            // The text names the peer's netns (`link-netns nstextpeer1`), so its id and the
            // peer's index are unknown there; ip -j carries them.
            if tx.link_netns.is_some() {
                assert!(
                    want.summary.link_netnsid.is_none() && jl.value.summary.link_netnsid.is_some()
                );
                want.summary.link_netnsid = jl.value.summary.link_netnsid;
                want.summary.link_index = jl.value.summary.link_index;
                want.summary.link = jl.value.summary.link.clone();
            }
            // vxlan: the text omits the default `df unset`.
            if let (Some(w), Some(j)) = (
                want.linkinfo.as_mut().and_then(|i| i.info_data.as_mut()),
                jl.value
                    .linkinfo
                    .as_ref()
                    .and_then(|i| i.info_data.as_ref()),
            ) {
                if !w.contains_key("df") && j.get("df").is_some_and(|d| d == "unset") {
                    w.insert("df".into(), "unset".into());
                }
            }
            assert_eq!(jl.value, want, "{json} {}", tl.value.summary.ifname);
            assert_eq!(jx.altnames, tx.altnames, "{json}");
            assert_eq!(jx.addrgenmode, tx.addrgenmode, "{json}");
            assert_eq!(jl.line, 1);
        }
        let ta: Vec<&rtnl::Address> = t.addresses.iter().map(|a| &a.value).collect();
        let ja: Vec<&rtnl::Address> = j.addresses.iter().map(|a| &a.value).collect();
        assert_eq!(ja, ta, "{json}");
    }
    for (text, command, json) in [
        (
            "ip-route-all.txt",
            "ip route show table all",
            "ip-route-all.ip-j.json",
        ),
        ("ip-route.txt", "ip route", "ip-route.ip-j.json"),
        ("ip-6-route.txt", "ip -6 route", "ip-6-route.ip-j.json"),
    ] {
        let from_text = decode_with_command(text, command);
        let jcmd = format!("ip -j {}", &command[3..]);
        let from_json = decode_with_command(json, &jcmd);
        let (TextContent::Routes(t), TextContent::Routes(j)) =
            (&from_text.content, &from_json.content)
        else {
            panic!("{json}: {:?}", from_json.content)
        };
        assert_eq!(j.tables_stated, t.tables_stated, "{json}");
        assert_eq!(j.issues.len(), t.issues.len(), "{json}: {:?}", j.issues);
        let tr: Vec<&rtnl::Route> = t.routes.iter().map(|r| &r.value).collect();
        let jr: Vec<&rtnl::Route> = j.routes.iter().map(|r| &r.value).collect();
        assert_eq!(jr, tr, "{json}");
    }
    let from_text = decode_with_command("ip-rule.txt", "ip rule");
    let from_json = json_piece("ip-rule.ip-j.json", "ip -j rule");
    let (TextContent::Rules(t), TextContent::Rules(j)) = (&from_text.content, &from_json.content)
    else {
        panic!("{:?}", from_json.content)
    };
    let tr: Vec<&rtnl::Rule> = t.rules.iter().map(|r| &r.value).collect();
    let jr: Vec<&rtnl::Rule> = j.rules.iter().map(|r| &r.value).collect();
    assert_eq!(jr, tr);
}

/// `ip -j` of a VM-lab node against the bundle's netlink dumps collected on the same node.
#[test]
fn vm_lab_ip_json_equals_bundle_netlink() {
    use netsnap_bundle::names;
    let mut compared = 0;
    for case in VM_LAB {
        let bundle = crate::Bundle::open(vm_lab(case).join("bundle")).expect("bundle loads");
        let file = |n: &str| bundle.file(n).expect("artifact");
        let native_links = rtnl::decode_links(file(names::RTNL_LINKS)).items;
        let native_addrs = rtnl::decode_addrs(file(names::RTNL_ADDRS)).items;
        let link_names = rtnl::LinkNames::from_links(&native_links);
        // The command each oracle file came from is in its index.txt (`FILE\trc=0\tCOMMAND`).
        let index = String::from_utf8(read(&vm_lab(case).join("oracle/index.txt"))).expect("utf8");
        let oracle_piece = |f: &str| {
            let command = index
                .lines()
                .find_map(|l| {
                    let mut w = l.splitn(3, '\t');
                    (w.next() == Some(f)).then(|| w.nth(1)).flatten()
                })
                .expect("command in index.txt");
            let text = String::from_utf8(read(&vm_lab(case).join("oracle").join(f))).expect("utf8");
            let piece = Piece {
                command: Some(command.to_string()),
                command_line: None,
                first_line: 1,
                last_line: text.lines().count(),
                body: text.trim_end().to_string(),
            };
            let p = decode_piece(piece, false);
            assert_eq!(p.kind, TextKind::IpJson, "{case} {f}");
            assert!(
                p.all_issues().next().is_none(),
                "{case} {f}: {:?}",
                p.all_issues().collect::<Vec<_>>()
            );
            p.content
        };
        let TextContent::Links(l) = oracle_piece("ip-link.json") else {
            panic!("{case} ip-link.json")
        };
        assert_eq!(l.links.len(), native_links.len(), "{case}");
        for (mine, theirs) in l.links.iter().zip(&native_links) {
            let ctx = format!("{case} {}", theirs.summary.ifname);
            let mut want = theirs.clone();
            // Only the netlink dump has the master's index.
            want.summary.master_index = None;
            assert_eq!(
                serde_json::to_value(&mine.value).expect("json"),
                serde_json::to_value(&want).expect("json"),
                "{ctx}"
            );
            assert_eq!(mine.value.is_up(), theirs.is_up(), "{ctx}");
            compared += 1;
        }
        let TextContent::Links(a) = oracle_piece("ip-addr.json") else {
            panic!("{case} ip-addr.json")
        };
        // ip groups addresses under their links; the dump is ordered by family first.
        // `tentative` (IPv6 DAD under way) changed between the oracle's `ip -j addr` and the
        // collector's dump a moment later on the real VM: state, not parsing.
        let key = |a: &rtnl::Address| {
            let mut a = a.clone();
            a.flags.remove("tentative");
            (a.ifindex, a.ip, serde_json::to_string(&a).expect("json"))
        };
        let mut mine: Vec<_> = a.addresses.iter().map(|a| key(&a.value)).collect();
        let mut theirs: Vec<_> = native_addrs.iter().map(key).collect();
        mine.sort();
        theirs.sort();
        assert_eq!(mine, theirs, "{case} addresses");
        compared += mine.len();
        let routes = |artifact: &str| -> Vec<rtnl::Route> {
            rtnl::decode_routes(artifact, file(artifact), &link_names)
                .items
                .into_iter()
                .filter(|r| !r.cloned)
                .collect()
        };
        let v6 = routes(names::RTNL_ROUTES_V6);
        let all: Vec<rtnl::Route> = routes(names::RTNL_ROUTES_V4)
            .into_iter()
            .chain(v6.iter().cloned())
            .collect();
        // `ip route show table all` without -4/-6 lists both families.
        for (f, native) in [("ip-route.json", all), ("ip-route6.json", v6)] {
            let TextContent::Routes(r) = oracle_piece(f) else {
                panic!("{case} {f}")
            };
            let native: Vec<rtnl::Route> = native
                .into_iter()
                .map(|mut r| {
                    // The index of the output device is only in the dump.
                    r.oif = None;
                    r
                })
                .collect();
            for m in &r.routes {
                assert!(native.contains(&m.value), "{case} {f}: {:?}", m.value);
                compared += 1;
            }
            // The oracle's `ip -j` ran while the link-local addresses were still tentative
            // (see ip-addr.json), so their local-table routes were not there yet; the dump
            // a moment later has them. Nothing else may differ.
            let mine: Vec<&rtnl::Route> = r.routes.iter().map(|r| &r.value).collect();
            for t in native.iter().filter(|t| !mine.contains(t)) {
                assert!(
                    t.table_id == 255 && t.dst.starts_with("fe80:"),
                    "{case} {f}: missing {t:?}"
                );
            }
        }
        for (f, artifact) in [
            ("ip-rule.json", names::RTNL_RULES_V4),
            ("ip-rule6.json", names::RTNL_RULES_V6),
        ] {
            let native = rtnl::decode_rules(artifact, file(artifact)).items;
            let TextContent::Rules(r) = oracle_piece(f) else {
                panic!("{case} {f}")
            };
            assert_eq!(r.rules.len(), native.len(), "{case} {f}");
            for (m, t) in r.rules.iter().zip(&native) {
                assert_eq!(m.value, *t, "{case} {f}");
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "{compared}");
}
