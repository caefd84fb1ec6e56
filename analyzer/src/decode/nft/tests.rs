//! `nft-j-list-ruleset.json` in `analyzer/tests/data/netfilter/` is what nftables 1.0.6 printed
//! after `nft -f kube-proxy.nft` (and the iptables-nft restore) in a fresh network namespace
//! (capture.sh).

use std::collections::BTreeMap;

use super::*;

const JSON: &[u8] = include_bytes!("../../../tests/data/netfilter/nft-j-list-ruleset.json");
const PROGRAMMED: &str = include_str!("../../../tests/data/netfilter/kube-proxy.nft");

/// `(table, chain) -> statement lines` from the nft source file, by plain text scanning.
fn programmed_rules() -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<_, Vec<String>> = BTreeMap::new();
    let mut table = String::new();
    let mut chain: Option<String> = None;
    for line in PROGRAMMED.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("table ") {
            table = rest.trim_end_matches(" {").to_string();
        } else if let Some(rest) = l.strip_prefix("chain ") {
            let name = rest.trim_end_matches(" {").to_string();
            out.entry((table.clone(), name.clone())).or_default();
            chain = Some(name);
        } else if l == "}" {
            chain = None;
        } else if let Some(c) = &chain {
            if !l.is_empty() && !l.starts_with("type ") && !l.starts_with("comment ") {
                out.entry((table.clone(), c.clone()))
                    .or_default()
                    .push(l.to_string());
            }
        }
    }
    out
}

fn verdict(kind: &str, target: Option<&str>) -> ElementValue {
    ElementValue::Verdict(Verdict {
        kind: kind.into(),
        target: target.map(str::to_string),
    })
}

fn elements(r: &NftRuleset, map: &str) -> Vec<(Vec<String>, Option<ElementValue>, Option<String>)> {
    let mut v: Vec<_> = r
        .set("ip", "kube-proxy", map)
        .map(|m| {
            m.elements
                .iter()
                .map(|e| (e.key.clone(), e.value.clone(), e.comment.clone()))
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn keys(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

#[test]
fn tables_chains_and_policies() {
    let r = parse_nft_json(JSON);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let m = r.metainfo.as_ref().expect("metainfo");
    assert_eq!(m.version.as_deref(), Some("1.0.6"));
    assert_eq!(m.json_schema_version, Some(1));
    assert!(r.table("ip", "kube-proxy").is_some());
    assert!(r.table("ip6", "kube-proxy").is_none());
    assert!(r.table("inet", "firewalld").is_some());
    // iptables-nft's tables are nft tables too.
    assert!(r.table("ip", "nat").is_some() && r.table("ip", "filter").is_some());

    // Chains: exactly those of the source file.
    let programmed = programmed_rules();
    let mut want: Vec<(String, String)> = programmed.keys().cloned().collect();
    let mut got: Vec<(String, String)> = r
        .chains
        .iter()
        .filter(|c| c.table == "kube-proxy" || c.table == "firewalld")
        .map(|c| (format!("{} {}", c.family, c.table), c.name.clone()))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);

    let base = |t: &str, c: &str| {
        let (fam, table) = t.split_once(' ').expect("family table");
        r.chain(fam, table, c).and_then(|c| c.base.clone())
    };
    let b = base("ip kube-proxy", "nat-prerouting").expect("base chain");
    assert_eq!(
        (
            b.chain_type.as_deref(),
            b.hook.as_deref(),
            b.prio,
            b.policy.as_deref()
        ),
        (Some("nat"), Some("prerouting"), Some(-100), Some("accept"))
    );
    // `dstnat - 10`
    assert_eq!(
        base("ip kube-proxy", "filter-prerouting").and_then(|b| b.prio),
        Some(-110)
    );
    assert_eq!(
        base("ip kube-proxy", "nat-postrouting").and_then(|b| b.prio),
        Some(100)
    );
    assert!(base("ip kube-proxy", "services").is_none());
    // "base chains with policy drop": only firewalld's input and iptables-nft's FORWARD.
    let mut drops: Vec<String> = r
        .base_chains()
        .filter(|(_, b)| b.policy.as_deref() == Some("drop"))
        .map(|(c, _)| format!("{} {} {}", c.family, c.table, c.name))
        .collect();
    drops.sort();
    assert_eq!(drops, ["inet firewalld filter_INPUT", "ip filter FORWARD"]);
}

#[test]
fn maps_and_sets_hold_the_programmed_elements() {
    let r = parse_nft_json(JSON);
    let si = r
        .set("ip", "kube-proxy", "service-ips")
        .expect("service-ips");
    assert_eq!(si.kind, SetKind::Map);
    assert_eq!(si.key_type, ["ipv4_addr", "inet_proto", "inet_service"]);
    assert_eq!(si.map_type.as_deref(), Some("verdict"));
    assert_eq!(
        elements(&r, "service-ips"),
        [
            (
                keys(&["10.96.0.10", "udp", "53"]),
                Some(verdict(
                    "goto",
                    Some("service-NPX46M4P-kube-system/kube-dns/udp/dns")
                )),
                None
            ),
            (
                keys(&["172.30.0.41", "tcp", "80"]),
                Some(verdict("goto", Some("service-ULMVA6XW-ns1/svc1/tcp/p80"))),
                None
            ),
        ]
    );
    assert_eq!(
        elements(&r, "service-nodeports"),
        [(
            keys(&["tcp", "30080"]),
            Some(verdict("goto", Some("external-4AFKNL3B-ns1/svc1/tcp/p80"))),
            None
        )]
    );
    // Element comments come wrapped in {"elem": {"val": ..., "comment": ...}}.
    assert_eq!(
        elements(&r, "no-endpoint-services"),
        [(
            keys(&["172.30.0.42", "tcp", "80"]),
            Some(verdict("goto", Some("reject-chain"))),
            Some("ns2/svc2:p80".into())
        )]
    );
    assert_eq!(
        elements(&r, "no-endpoint-nodeports"),
        [(
            keys(&["tcp", "30082"]),
            Some(verdict("drop", None)),
            Some("ns2/svc2:p80".into())
        )]
    );
    assert!(elements(&r, "firewall-ips").is_empty());
    let ips = r.set("ip", "kube-proxy", "cluster-ips").expect("set");
    assert_eq!(ips.kind, SetKind::Set);
    assert_eq!(ips.comment.as_deref(), Some("Active ClusterIPs"));
    let mut members: Vec<String> = ips.elements.iter().flat_map(|e| e.key.clone()).collect();
    members.sort();
    assert_eq!(members, ["10.96.0.10", "172.30.0.41", "172.30.0.42"]);
    assert!(r
        .set("ip", "kube-proxy", "nodeport-ips")
        .is_some_and(|s| s.elements.is_empty()));
}

#[test]
fn rules_match_the_source_chain_by_chain() {
    let r = parse_nft_json(JSON);
    let programmed = programmed_rules();
    let mut compared = 0;
    for ((table, chain), lines) in &programmed {
        let (fam, name) = table.split_once(' ').expect("family table");
        let rules: Vec<&NftRule> = r.rules_in(fam, name, chain).collect();
        assert_eq!(rules.len(), lines.len(), "{table} {chain}");
        for (rule, line) in rules.iter().zip(lines) {
            // The summary reads like the source except where nft itself rewrites (hex marks,
            // the default reject, quoted names, sets of constants, comments).
            if !line.contains("0x")
                && !line.contains("reject")
                && !line.contains('"')
                && !line.contains(" { ")
                && !line.contains("comment")
            {
                assert_eq!(&rule.summary(), line, "{table} {chain}");
                compared += 1;
            }
        }
    }
    assert!(compared >= 25, "compared only {compared} rules");

    let services: Vec<&NftRule> = r.rules_in("ip", "kube-proxy", "services").collect();
    assert_eq!(services[0].set_refs(), ["service-ips"]);
    assert_eq!(services[1].set_refs(), ["service-nodeports"]);
    let ext: Vec<Vec<Verdict>> = r
        .rules_in("ip", "kube-proxy", "external-4AFKNL3B-ns1/svc1/tcp/p80")
        .map(NftRule::verdicts)
        .collect();
    assert_eq!(
        ext,
        [
            vec![Verdict {
                kind: "jump".into(),
                target: Some("mark-for-masquerade".into())
            }],
            vec![Verdict {
                kind: "goto".into(),
                target: Some("service-ULMVA6XW-ns1/svc1/tcp/p80".into())
            }]
        ]
    );
    let commented: Vec<&NftRule> = r.rules.iter().filter(|x| x.comment.is_some()).collect();
    assert_eq!(commented.len(), 1);
    assert_eq!(commented[0].comment.as_deref(), Some("allow ssh and api"));
    assert_eq!(commented[0].summary(), "tcp dport { 22, 6443 } accept");
    // iptables-nft rules: the xtables parts carry no options in the JSON.
    let portal = r
        .rules_in("ip", "nat", "PREROUTING")
        .next()
        .expect("iptables-nft rule");
    assert_eq!(
        portal.summary(),
        "xt match comment counter packets 0 bytes 0 jump KUBE-SERVICES"
    );
}

#[test]
fn unknown_kinds_are_kept() {
    let doc = br#"{"nftables": [
        {"metainfo": {"version": "9.9"}},
        {"table": {"family": "inet", "name": "t", "handle": 1, "comment": "c", "flags": ["dormant"]}},
        {"flowtable": {"family": "inet", "name": "ft", "table": "t", "hook": "ingress"}},
        {"chain": {"family": "inet", "table": "t", "name": "c", "type": "filter", "hook": "ingress", "prio": 0, "dev": ["eth0", "eth1"], "policy": "accept"}},
        {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 3,
                  "expr": [{"quantum": {"spin": 1}}, {"match": {"op": "==", "left": {"exthdr": {"name": "frag", "field": "more-fragments"}}, "right": 1}}, {"drop": null}]}},
        {"rule": {"family": "inet", "table": "t"}},
        {"map": {"family": "inet", "name": "m", "table": "t", "type": "ipv4_addr", "map": ["ipv4_addr", "inet_service"],
                 "elem": [[{"prefix": {"addr": "10.0.0.0", "len": 8}}, {"concat": ["1.2.3.4", 80]}], [{"range": ["10.1.0.1", "10.1.0.9"]}, "5.6.7.8"]]}},
        7
    ]}"#;
    let r = parse_nft_json(doc);
    assert_eq!(r.other.len(), 1);
    assert_eq!(r.tables[0].comment.as_deref(), Some("c"));
    assert_eq!(r.tables[0].flags, ["dormant"]);
    assert_eq!(
        r.chains[0].base.as_ref().and_then(|b| b.dev.clone()),
        Some("eth0,eth1".into())
    );
    let rule = &r.rules[0];
    assert_eq!(rule.statements[0].text, r#"{"quantum":{"spin":1}}"#);
    assert_eq!(rule.statements[2].text, "drop");
    let errs: Vec<Option<usize>> = r.errors.iter().map(|e| e.index).collect();
    assert_eq!(errs, [Some(5), Some(7)]);
    let m = &r.sets[0];
    assert_eq!(m.map_type.as_deref(), Some("ipv4_addr . inet_service"));
    assert_eq!(m.elements[0].key, ["10.0.0.0/8"]);
    assert_eq!(
        m.elements[0].value,
        Some(ElementValue::Data {
            text: "1.2.3.4 . 80".into()
        })
    );
    assert_eq!(m.elements[1].key, ["10.1.0.1-10.1.0.9"]);
}

#[test]
fn truncated_json_keeps_the_complete_objects() {
    let full = parse_nft_json(JSON);
    let total = full.tables.len() + full.chains.len() + full.sets.len() + full.rules.len() + 1;
    let mut last = 0;
    for cut in (0..JSON.len()).step_by(97) {
        let r = parse_nft_json(&JSON[..cut]);
        let n = r.tables.len()
            + r.chains.len()
            + r.sets.len()
            + r.rules.len()
            + usize::from(r.metainfo.is_some());
        assert!(n >= last && n < total, "cut {cut}: {n}");
        assert!(!r.errors.is_empty());
        last = n;
    }
    assert!(last > total - 5, "{last} of {total}");
}

#[test]
fn garbled_and_hostile_input_never_panics() {
    let mut state = 5u64;
    for _ in 0..300 {
        let mut b = JSON.to_vec();
        for _ in 0..10 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (state >> 33) as usize % b.len();
            b[i] = [b'{', b'}', b'[', b']', b'"', b',', (state >> 20) as u8][(state % 7) as usize];
        }
        let r = parse_nft_json(&b);
        for rule in &r.rules {
            let _ = (rule.summary(), rule.set_refs(), rule.verdicts());
        }
    }
    // Deep nesting: serde_json's recursion limit refuses it; salvage finds nothing.
    let deep = format!(
        "{{\"nftables\": [{}{}]}}",
        "{\"a\":[".repeat(5000),
        "]}".repeat(5000)
    );
    let r = parse_nft_json(deep.as_bytes());
    assert!(!r.errors.is_empty());
    // Nesting under the limit renders within its own bound.
    let nested = format!(
        "{{\"nftables\": [{{\"rule\": {{\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \
         \"expr\": [{}1{}]}}}}]}}",
        "{\"&\": [".repeat(60),
        ", 2]}".repeat(60)
    );
    let r = parse_nft_json(nested.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.rules[0].summary().contains("& 2"));
    for bad in [&b""[..], b"null", b"[]", b"{\"nftables\": 3}", b"\xff\xfe"] {
        let r = parse_nft_json(bad);
        assert!(r.tables.is_empty() && !r.errors.is_empty());
    }
}
