//! The netfilter decoders against the real tools: a kube-proxy-like ruleset
//! (`analyzer/tests/data/netfilter/kube-proxy.{rules,ipset,nft}`) is programmed into a fresh
//! network namespace with iptables-legacy-restore, iptables-nft-restore, ipset restore and
//! nft -f; what iptables-{legacy,nft}-save, ipset save/list and nft -j list ruleset print back
//! must decode to what was programmed. The committed captures next to the programming files
//! must still be what the tools print.
//!
//! Needs root, iproute2, iptables 1.8 (both backends), ipset and nft; fails loudly otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use netsnap::decode::ipset::{parse_ipset_list, parse_ipset_save, Ipsets, Member};
use netsnap::decode::iptables::{parse_iptables_save, Backend, IptablesSave, Rule};
use netsnap::decode::nft::{parse_nft_json, ElementValue, NftRuleset, Verdict};
use netsnap_e2e::Netns;

fn data(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../analyzer/tests/data/netfilter")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Runs `args` inside the namespace with `stdin`, failing loudly; returns (stdout, stderr).
fn run(ns: &Netns, args: &[&str], stdin: Option<&str>) -> (String, String) {
    let mut cmd = ns.exec(args[0]);
    cmd.args(&args[1..])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {args:?} (is it installed?): {e}"));
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn require_tools() {
    for t in [
        "iptables-legacy-restore",
        "iptables-nft-restore",
        "iptables-legacy-save",
        "iptables-nft-save",
        "ipset",
        "nft",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            found,
            "this test needs {t} (apt-get install iptables ipset nftables)"
        );
    }
}

/// `(table, chain) -> sorted normalized rules` for every declared chain.
fn normalized(s: &IptablesSave) -> BTreeMap<(String, String), Vec<String>> {
    let mut out = BTreeMap::new();
    for t in &s.tables {
        for c in &t.chains {
            let mut v: Vec<String> = t.rules_in(&c.name).map(Rule::normalized).collect();
            v.sort();
            out.insert((t.name.clone(), c.name.clone()), v);
        }
    }
    out
}

/// `(table, chain) -> -A lines`, counted from the text alone.
fn count_appends(text: &str) -> BTreeMap<(String, String), usize> {
    let mut table = String::new();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
        } else if let Some(rest) = line.strip_prefix("-A ") {
            let chain = rest.split(' ').next().unwrap_or_default().to_string();
            *out.entry((table.clone(), chain)).or_default() += 1;
        }
    }
    out
}

fn summary(s: &IptablesSave) -> (BTreeMap<(String, String), usize>, BTreeSet<String>) {
    let mut counts = BTreeMap::new();
    let mut comments = BTreeSet::new();
    for t in &s.tables {
        for r in &t.rules {
            *counts.entry((t.name.clone(), r.chain.clone())).or_default() += 1;
            comments.extend(r.comment().map(str::to_string));
        }
    }
    (counts, comments)
}

fn policies(s: &IptablesSave) -> BTreeMap<(String, String), Option<String>> {
    s.tables
        .iter()
        .flat_map(|t| {
            t.chains
                .iter()
                .map(|c| ((t.name.clone(), c.name.clone()), c.policy.clone()))
        })
        .collect()
}

fn check_iptables(label: &str, captured: &IptablesSave, programmed: &IptablesSave, rules: &str) {
    assert!(captured.errors.is_empty(), "{label}: {:?}", captured.errors);
    assert!(captured.tables.iter().all(|t| t.committed), "{label}");
    let (counts, comments) = summary(captured);
    assert_eq!(counts, count_appends(rules), "{label}: rules per chain");
    assert_eq!(comments, summary(programmed).1, "{label}: comments");
    assert_eq!(
        policies(captured),
        policies(programmed),
        "{label}: policies"
    );
    assert_eq!(
        normalized(captured),
        normalized(programmed),
        "{label}: rules"
    );
    // A few targets, straight from the model.
    let nat = captured.table("nat").expect("nat table");
    let targets: Vec<Option<&str>> = nat
        .rules_in("KUBE-SVC-XPGD46QRK7WJZT7O")
        .map(Rule::target_name)
        .collect();
    assert_eq!(
        targets,
        [
            Some("KUBE-MARK-MASQ"),
            Some("KUBE-SEP-SXIVWICOYRO3J4NJ"),
            Some("KUBE-SEP-2IDL3BCHGIGQWHS6"),
            Some("KUBE-SEP-RS4RBKLTHTF2IUXJ")
        ],
        "{label}"
    );
    assert_eq!(
        captured
            .table("filter")
            .and_then(|t| t.chain("FORWARD"))
            .and_then(|c| c.policy.as_deref()),
        Some("DROP"),
        "{label}"
    );
}

/// `set -> (type, members)` of the programming file, `a-b` port ranges expanded as ipset does.
fn programmed_sets(text: &str) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut out: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split(' ').collect();
        match w.as_slice() {
            ["create", name, ty, ..] => {
                out.insert(name.to_string(), (ty.to_string(), BTreeSet::new()));
            }
            ["add", name, elem, ..] => {
                let (ty, m) = out.get_mut(*name).expect("create before add");
                match elem.split_once('-') {
                    Some((a, b)) if ty == "bitmap:port" => {
                        let (a, b): (u16, u16) =
                            (a.parse().expect("port"), b.parse().expect("port"));
                        m.extend((a..=b).map(|p| p.to_string()));
                    }
                    _ => {
                        m.insert(elem.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn decoded_sets(s: &Ipsets) -> BTreeMap<String, (String, BTreeSet<String>)> {
    s.sets
        .iter()
        .map(|set| {
            (
                set.name.clone(),
                (
                    set.set_type.clone(),
                    set.entries.iter().map(|e| e.text.clone()).collect(),
                ),
            )
        })
        .collect()
}

fn map_elements(r: &NftRuleset, map: &str) -> BTreeMap<Vec<String>, Option<ElementValue>> {
    r.set("ip", "kube-proxy", map)
        .unwrap_or_else(|| panic!("map {map} missing"))
        .elements
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect()
}

fn goto(target: &str) -> Option<ElementValue> {
    Some(ElementValue::Verdict(Verdict {
        kind: "goto".into(),
        target: Some(target.into()),
    }))
}

fn key(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// `(chain) -> statement lines` of `table ip kube-proxy` in the nft source.
fn nft_chain_lines(text: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut in_table = false;
    let mut chain: Option<String> = None;
    for l in text.lines().map(str::trim) {
        if let Some(t) = l.strip_prefix("table ") {
            in_table = t.starts_with("ip kube-proxy");
        } else if let Some(c) = l.strip_prefix("chain ").filter(|_| in_table) {
            let c = c.trim_end_matches(" {").to_string();
            out.insert(c.clone(), 0);
            chain = Some(c);
        } else if l == "}" {
            chain = None;
        } else if let Some(c) = &chain {
            if !l.is_empty() && !l.starts_with("type ") && !l.starts_with("comment ") {
                *out.entry(c.clone()).or_default() += 1;
            }
        }
    }
    out
}

#[test]
fn kube_proxy_rules_programmed_and_read_back() {
    require_tools();
    let ns = Netns::new("nf");
    let rules = data("kube-proxy.rules");
    let sets = data("kube-proxy.ipset");
    let nft_src = data("kube-proxy.nft");

    run(&ns, &["ipset", "restore"], Some(&sets));
    run(&ns, &["iptables-legacy-restore"], Some(&rules));
    run(&ns, &["iptables-nft-restore"], Some(&rules));
    run(&ns, &["nft", "-f", "-"], Some(&nft_src));

    let programmed = parse_iptables_save(&rules);
    assert!(programmed.errors.is_empty(), "{:?}", programmed.errors);

    // iptables, both backends.
    let (legacy_out, _) = run(&ns, &["iptables-legacy-save"], None);
    let legacy = parse_iptables_save(&legacy_out);
    assert_eq!(
        legacy.header.as_ref().map(|h| h.backend),
        Some(Backend::Legacy)
    );
    check_iptables("legacy", &legacy, &programmed, &rules);
    let (nft_out, nft_err) = run(&ns, &["iptables-nft-save"], None);
    let mut nft_save = parse_iptables_save(&nft_out);
    assert_eq!(
        nft_save.header.as_ref().map(|h| h.backend),
        Some(Backend::NfTables)
    );
    check_iptables("nft", &nft_save, &programmed, &rules);
    nft_save.add_stderr_warnings(&nft_err);
    assert!(
        nft_save.legacy_tables_present(),
        "iptables-nft-save must warn about the legacy tables: stdout {:?} stderr {nft_err:?}",
        nft_save.warnings
    );
    // The committed captures are still what the tools print.
    for (file, fresh) in [
        ("iptables-legacy-save.txt", &legacy),
        ("iptables-nft-save.txt", &nft_save),
    ] {
        assert_eq!(
            normalized(&parse_iptables_save(&data(file))),
            normalized(fresh),
            "{file} is stale: rerun analyzer/tests/data/netfilter/capture.sh"
        );
    }

    // ipset.
    let (save_out, _) = run(&ns, &["ipset", "save"], None);
    let saved = parse_ipset_save(&save_out);
    assert!(saved.errors.is_empty(), "{:?}", saved.errors);
    assert_eq!(decoded_sets(&saved), programmed_sets(&sets));
    for set in &saved.sets {
        for e in &set.entries {
            assert_ne!(e.member, Member::Other, "{} {}", set.name, e.text);
        }
    }
    let (list_out, _) = run(&ns, &["ipset", "list"], None);
    let listed = parse_ipset_list(&list_out);
    assert!(listed.errors.is_empty(), "{:?}", listed.errors);
    assert_eq!(decoded_sets(&listed), decoded_sets(&saved));
    assert_eq!(
        decoded_sets(&parse_ipset_save(&data("ipset-save.txt"))),
        decoded_sets(&saved),
        "ipset-save.txt is stale"
    );

    // nft.
    let (json, _) = run(&ns, &["nft", "-j", "list", "ruleset"], None);
    let r = parse_nft_json(json.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.table("ip", "kube-proxy").is_some());
    assert!(r.table("inet", "firewalld").is_some());
    let per_chain: BTreeMap<String, usize> = r
        .chains_of("ip", "kube-proxy")
        .map(|c| {
            (
                c.name.clone(),
                r.rules_in("ip", "kube-proxy", &c.name).count(),
            )
        })
        .collect();
    assert_eq!(per_chain, nft_chain_lines(&nft_src));
    assert_eq!(
        map_elements(&r, "service-ips"),
        BTreeMap::from([
            (
                key(&["172.30.0.41", "tcp", "80"]),
                goto("service-ULMVA6XW-ns1/svc1/tcp/p80")
            ),
            (
                key(&["10.96.0.10", "udp", "53"]),
                goto("service-NPX46M4P-kube-system/kube-dns/udp/dns")
            ),
        ])
    );
    assert_eq!(
        map_elements(&r, "service-nodeports"),
        BTreeMap::from([(
            key(&["tcp", "30080"]),
            goto("external-4AFKNL3B-ns1/svc1/tcp/p80")
        )])
    );
    assert_eq!(
        map_elements(&r, "no-endpoint-nodeports"),
        BTreeMap::from([(
            key(&["tcp", "30082"]),
            Some(ElementValue::Verdict(Verdict {
                kind: "drop".into(),
                target: None
            }))
        )])
    );
    let drops: BTreeSet<String> = r
        .base_chains()
        .filter(|(_, b)| b.policy.as_deref() == Some("drop"))
        .map(|(c, _)| format!("{} {} {}", c.family, c.table, c.name))
        .collect();
    assert_eq!(
        drops,
        BTreeSet::from([
            "inet firewalld filter_INPUT".into(),
            "ip filter FORWARD".into()
        ])
    );
    let committed = parse_nft_json(data("nft-j-list-ruleset.json").as_bytes());
    let texts = |r: &NftRuleset| -> BTreeSet<String> {
        r.rules
            .iter()
            .filter(|x| x.table == "kube-proxy")
            .map(|x| format!("{} {}", x.chain, x.summary()))
            .collect()
    };
    assert_eq!(
        texts(&committed),
        texts(&r),
        "nft-j-list-ruleset.json is stale"
    );
}
