//! The captured files in `analyzer/tests/data/netfilter/` are what iptables 1.8.9 printed after
//! `iptables-{legacy,nft}-restore < kube-proxy.rules` in a fresh network namespace
//! (`capture.sh` there regenerates them; `tests/tests/netfilter_netns.rs` redoes it live).

use std::collections::BTreeMap;

use super::*;

const RULES: &str = include_str!("../../../tests/data/netfilter/kube-proxy.rules");
const LEGACY: &str = include_str!("../../../tests/data/netfilter/iptables-legacy-save.txt");
const LEGACY_C: &str = include_str!("../../../tests/data/netfilter/iptables-legacy-save-c.txt");
const NFT: &str = include_str!("../../../tests/data/netfilter/iptables-nft-save.txt");
const NFT_STDERR: &str = include_str!("../../../tests/data/netfilter/iptables-nft-save.stderr");

/// `(table, chain) -> number of -A lines`, counted by plain string splitting, independent of
/// the decoder.
fn count_appends(text: &str) -> BTreeMap<(String, String), usize> {
    let mut table = String::new();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = match line.strip_prefix('[') {
            Some(rest) => rest.split_once("] ").map_or(line, |(_, r)| r),
            None => line,
        };
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
        } else if let Some(rest) = line.strip_prefix("-A ") {
            let chain = rest.split(' ').next().unwrap_or_default().to_string();
            *out.entry((table.clone(), chain)).or_default() += 1;
        }
    }
    out
}

fn decoded_counts(s: &IptablesSave) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for t in &s.tables {
        for r in &t.rules {
            *out.entry((t.name.clone(), r.chain.clone())).or_default() += 1;
        }
    }
    out
}

/// `(table, chain) -> sorted normalized rules`.
fn normalized(s: &IptablesSave) -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<_, Vec<String>> = BTreeMap::new();
    for t in &s.tables {
        for c in &t.chains {
            let mut rules: Vec<String> = t.rules_in(&c.name).map(Rule::normalized).collect();
            rules.sort();
            out.insert((t.name.clone(), c.name.clone()), rules);
        }
    }
    out
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

fn rule_by_comment<'a>(s: &'a IptablesSave, table: &str, comment: &str) -> Vec<&'a Rule> {
    s.table(table)
        .map(|t| {
            t.rules
                .iter()
                .filter(|r| r.comment() == Some(comment))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn header_backend_and_warnings() {
    let legacy = parse_iptables_save(LEGACY);
    let h = legacy.header.as_ref().expect("header");
    assert_eq!(h.program, "iptables-save");
    assert_eq!(h.version.as_deref(), Some("1.8.9"));
    assert_eq!(h.backend, Backend::Legacy);
    assert_eq!(h.line, 1);
    assert!(legacy.warnings.is_empty() && !legacy.legacy_tables_present());

    let mut nft = parse_iptables_save(NFT);
    let h = nft.header.as_ref().expect("header");
    assert_eq!(h.program, "iptables-nft-save");
    assert_eq!(h.backend, Backend::NfTables);
    // 1.8.9 prints the warning on stderr: not in stdout, added from the manifest's stderr.
    assert!(!nft.legacy_tables_present());
    nft.add_stderr_warnings(NFT_STDERR);
    assert!(nft.legacy_tables_present());

    // Older releases printed it on stdout, between tables.
    let pasted = format!("{}\n{}", NFT_STDERR.trim(), NFT);
    let p = parse_iptables_save(&pasted);
    assert!(p.legacy_tables_present());
    assert_eq!(p.warnings[0].line, 1);
    assert!(p.errors.is_empty());
}

#[test]
fn captured_outputs_decode_without_errors_and_match_the_programmed_rules() {
    let programmed = parse_iptables_save(RULES);
    assert!(programmed.errors.is_empty(), "{:?}", programmed.errors);
    for (name, text) in [("legacy", LEGACY), ("legacy -c", LEGACY_C), ("nft", NFT)] {
        let s = parse_iptables_save(text);
        assert!(s.errors.is_empty(), "{name}: {:?}", s.errors);
        assert!(s.tables.iter().all(|t| t.committed), "{name}");
        let mut names: Vec<&str> = s.tables.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["filter", "mangle", "nat"], "{name}");
        // Rule counts per chain: decoded == counted by hand, in the capture and the input.
        assert_eq!(decoded_counts(&s), count_appends(text), "{name}");
        assert_eq!(decoded_counts(&s), count_appends(RULES), "{name}");
        assert_eq!(policies(&s), policies(&programmed), "{name}");
        // iptables-save rewrote the rules (match order, /32, --or-mark, probabilities); the
        // normalized forms still agree chain by chain.
        assert_eq!(normalized(&s), normalized(&programmed), "{name}");
    }
}

#[test]
fn raw_text_and_line_numbers_cite_the_input() {
    let s = parse_iptables_save(LEGACY);
    let lines: Vec<&str> = LEGACY.lines().collect();
    let mut n = 0;
    for t in &s.tables {
        assert_eq!(lines[t.line - 1], format!("*{}", t.name));
        for c in &t.chains {
            assert!(lines[c.line - 1].starts_with(&format!(":{} ", c.name)));
        }
        for r in &t.rules {
            assert_eq!(lines[r.line - 1], r.raw);
            assert!(r.raw.starts_with(&format!("-A {} ", r.chain)));
            n += 1;
        }
    }
    assert_eq!(n, LEGACY.lines().filter(|l| l.starts_with("-A ")).count());
}

#[test]
fn typed_accessors_on_kube_proxy_rules() {
    let s = parse_iptables_save(LEGACY);
    let nat = s.table("nat").expect("nat");
    let filter = s.table("filter").expect("filter");
    assert_eq!(
        filter.chain("FORWARD").and_then(|c| c.policy.as_deref()),
        Some("DROP")
    );
    assert_eq!(
        filter.chain("KUBE-FORWARD").map(|c| c.policy.clone()),
        Some(None)
    );

    let svc = rule_by_comment(&s, "nat", "ns1/svc1:p80 cluster IP");
    let portal = svc
        .iter()
        .find(|r| r.chain == "KUBE-SERVICES")
        .expect("portal rule");
    assert_eq!(portal.destination(), Some(neg(false, "172.30.0.41/32")));
    assert_eq!(portal.protocol(), Some(neg(false, "tcp")));
    let dport = portal.dport().expect("dport");
    assert_eq!((dport.negated, dport.raw.as_str()), (false, "80"));
    assert!(dport.contains(80) && !dport.contains(81));
    assert_eq!(portal.target_name(), Some("KUBE-SVC-XPGD46QRK7WJZT7O"));
    let masq = svc
        .iter()
        .find(|r| r.chain == "KUBE-SVC-XPGD46QRK7WJZT7O")
        .expect("masq rule");
    assert_eq!(masq.source(), Some(neg(true, "10.244.0.0/16")));
    assert_eq!(masq.target_name(), Some("KUBE-MARK-MASQ"));

    // Endpoint choice: statistic probabilities as the kernel stores them, the last has none.
    let svc_rules: Vec<&Rule> = nat.rules_in("KUBE-SVC-XPGD46QRK7WJZT7O").collect();
    let probs: Vec<Option<f64>> = svc_rules.iter().map(|r| r.probability()).collect();
    assert_eq!(probs, [None, Some(0.33333333349), Some(0.5), None]);
    let sep = nat
        .rules_in("KUBE-SEP-SXIVWICOYRO3J4NJ")
        .find(|r| r.target_name() == Some("DNAT"))
        .expect("DNAT");
    assert_eq!(sep.target_option("to-destination"), Some("10.180.0.1:80"));
    let dns: Vec<&Rule> = nat.rules_in("KUBE-SVC-NPX46M4PTMTKRN6Y").collect();
    assert_eq!(dns.len(), 1);
    assert!(dns[0].target().is_some_and(|t| t.goto));

    // The tail rule: addrtype LOCAL and a negated destination moved to the front by save.
    let tail = nat.rules_in("KUBE-SERVICES").last().expect("tail");
    assert_eq!(tail.target_name(), Some("KUBE-NODEPORTS"));
    assert_eq!(tail.dst_type(), Some(neg(false, "LOCAL")));
    assert_eq!(tail.destination(), Some(neg(true, "127.0.0.0/8")));
    assert!(tail.args.starts_with(&["!".to_string(), "-d".into()]));

    // ipset matches, one negated.
    let lb = nat
        .rules_in("KUBE-SERVICES")
        .find(|r| r.target_name() == Some("KUBE-LOAD-BALANCER"))
        .expect("lb rule");
    assert_eq!(
        lb.match_sets(),
        [
            SetMatch {
                negated: true,
                name: "KUBE-EXTERNAL-IP".into(),
                flags: vec!["dst".into(), "dst".into()]
            },
            SetMatch {
                negated: false,
                name: "KUBE-LOAD-BALANCER".into(),
                flags: vec!["dst".into(), "dst".into()]
            }
        ]
    );
    let hairpin = nat
        .rules_in("KUBE-POSTROUTING")
        .find(|r| !r.match_sets().is_empty())
        .expect("hairpin");
    assert_eq!(hairpin.match_sets()[0].flags, ["dst", "dst", "src"]);

    // mark and ctstate, both negatable.
    let ret = nat.rules_in("KUBE-POSTROUTING").next().expect("first");
    assert_eq!(ret.mark(), Some(neg(true, "0x4000/0x4000")));
    let fw = filter.rules_in("KUBE-FIREWALL").next().expect("firewall");
    assert_eq!(
        fw.ctstate(),
        Some(neg(true, vec!["RELATED", "ESTABLISHED", "DNAT"]))
    );
    let fwd: Vec<Option<Neg<Vec<&str>>>> = filter
        .rules_in("KUBE-FORWARD")
        .map(|r| r.ctstate())
        .collect();
    assert_eq!(
        fwd,
        [
            Some(neg(false, vec!["INVALID"])),
            None,
            Some(neg(false, vec!["RELATED", "ESTABLISHED"]))
        ]
    );

    // multiport ranges.
    let mp = nat
        .rules_in("KUBE-NODE-PORT")
        .find_map(|r| r.dport().filter(|p| p.ranges.len() > 1))
        .expect("multiport");
    assert_eq!(mp.ranges, [(30000, 30100), (31000, 31000)]);
    assert!(mp.contains(30050) && mp.contains(31000) && !mp.contains(30101));

    // Escaped quotes in a comment (iptables-save escapes ', " and \).
    let q = filter
        .rules_in("KUBE-PROXY-FIREWALL")
        .next()
        .expect("quoted");
    assert_eq!(q.comment(), Some(r#"it's "quoted" \ text"#));
}

#[test]
fn counters_from_save_c() {
    let s = parse_iptables_save(LEGACY_C);
    let mut rule_counters = 0;
    for t in &s.tables {
        assert!(t.chains.iter().all(|c| c.counters.is_some()));
        for r in &t.rules {
            let c = r.counters.expect("every rule has counters with -c");
            // Independent reading of the same line's prefix.
            let prefix = r.raw.split(']').next().unwrap_or_default();
            assert_eq!(prefix, format!("[{}:{}", c.packets, c.bytes));
            rule_counters += c.packets;
        }
    }
    assert!(rule_counters > 0, "capture.sh sends traffic through OUTPUT");
    // -c output and plain output are the same rules.
    assert_eq!(normalized(&s), normalized(&parse_iptables_save(LEGACY)));
}

#[test]
fn match_order_and_value_spelling_normalize() {
    let a = parse_iptables_save(
        "*nat\n-A X -m comment --comment \"c\" -m addrtype --dst-type LOCAL -p tcp --dport 80 \
         -d 10.0.0.1 -j MARK --or-mark 16384\n\
         -A X -m statistic --probability 0.5 --mode random -j REJECT\nCOMMIT\n",
    );
    let b = parse_iptables_save(
        "*nat\n-A X -d 10.0.0.1/32 -p tcp -m comment --comment \"c\" -m addrtype --dst-type LOCAL \
         -m tcp --dport 80 -j MARK --set-xmark 0x4000/0x4000\n\
         -A X -m statistic --mode random --probability 0.50000000000 -j REJECT --reject-with \
         icmp-port-unreachable\nCOMMIT\n",
    );
    assert!(a.errors.is_empty() && b.errors.is_empty());
    let na: Vec<String> = a.tables[0].rules.iter().map(Rule::normalized).collect();
    let nb: Vec<String> = b.tables[0].rules.iter().map(Rule::normalized).collect();
    assert_eq!(na, nb);
    // ...but real differences stay.
    let c = parse_iptables_save("*nat\n-A X ! -d 10.0.0.1 -p tcp --dport 80 -j ACCEPT\nCOMMIT\n");
    let d = parse_iptables_save("*nat\n-A X -d 10.0.0.1 -p tcp --dport 80 -j ACCEPT\nCOMMIT\n");
    assert_ne!(
        c.tables[0].rules[0].normalized(),
        d.tables[0].rules[0].normalized()
    );
    // The user-style `--dport` after -p went to the implicit tcp match.
    let r = &a.tables[0].rules[0];
    assert_eq!(r.dport().map(|p| p.raw), Some("80".into()));
    assert!(r.spec.matches.iter().any(|m| m.name == "tcp" && m.implicit));
}

#[test]
fn crlf_and_blank_lines_are_tolerated() {
    let crlf = LEGACY.replace('\n', "\r\n");
    let a = parse_iptables_save(&crlf);
    let b = parse_iptables_save(LEGACY);
    assert!(a.errors.is_empty());
    assert_eq!(a, b);
}

#[test]
fn bad_lines_are_reported_and_skipped() {
    let text = "-A ORPHAN -j ACCEPT\n\
                *filter\n\
                :INPUT ACCEPT [0:0]\n\
                :BROKEN\n\
                :OUTPUT ACCEPT [x:1]\n\
                -A INPUT -m comment --comment \"unterminated -j ACCEPT\n\
                -I INPUT -j DROP\n\
                [1:2 -A INPUT -j DROP\n\
                -A INPUT -m frobnicate --zap 1 2 --zop -j FROB --frob-level 3\n\
                -A INPUT -p tcp --dport\n\
                garbage\n";
    let s = parse_iptables_save(text);
    let lines: Vec<usize> = s.errors.iter().map(|e| e.line).collect();
    // The table is not committed: reported at its own line.
    assert_eq!(lines, [1, 4, 5, 6, 7, 8, 11, 2]);
    let t = &s.tables[0];
    assert!(!t.committed);
    assert_eq!(t.chains.len(), 1);
    assert_eq!(t.rules.len(), 2);
    // An unknown match and target are kept as they are.
    let r = &t.rules[0];
    assert_eq!(r.line, 9);
    assert_eq!(r.spec.matches[0].name, "frobnicate");
    assert_eq!(r.spec.matches[0].options[0].values, ["1", "2"]);
    assert_eq!(r.spec.matches[0].options[1].name, "zop");
    assert_eq!(r.target_name(), Some("FROB"));
    assert_eq!(r.target_option("frob-level"), Some("3"));
    // A dangling option has no value, not a panic.
    assert_eq!(t.rules[1].dport().map(|p| p.ranges), Some(vec![]));
}

/// A tiny deterministic generator (no crate needed for a garbling loop).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn truncated_and_garbled_input_never_panics() {
    let bytes = LEGACY_C.as_bytes();
    for cut in (0..bytes.len()).step_by(7) {
        let s = parse_iptables_save_bytes(&bytes[..cut]);
        for t in &s.tables {
            for r in &t.rules {
                let _ = (r.normalized(), r.dport(), r.match_sets(), r.ctstate());
            }
        }
    }
    let mut rng = Lcg(7);
    for _ in 0..300 {
        let mut b = bytes.to_vec();
        for _ in 0..20 {
            let i = (rng.next() as usize) % b.len();
            b[i] = match rng.next() % 6 {
                0 => b'"',
                1 => b'\\',
                2 => b'\n',
                3 => b'!',
                4 => b'-',
                _ => rng.next() as u8,
            };
        }
        let s = parse_iptables_save_bytes(&b);
        for t in &s.tables {
            for r in t.rules.iter() {
                let _ = (
                    r.normalized(),
                    r.sport(),
                    r.dst_type(),
                    r.mark(),
                    r.comment(),
                );
            }
        }
    }
}

#[test]
fn large_input_is_linear() {
    let n = 100_000;
    let mut text = String::from("*nat\n:KUBE-SERVICES - [0:0]\n");
    for i in 0..n {
        let chain = format!("KUBE-SVC-{:016}", i % 5000);
        if i < 5000 {
            text.insert_str(5, &format!(":{chain} - [0:0]\n"));
        }
        text.push_str(&format!(
            "-A {chain} -d 10.{}.{}.{}/32 -p tcp -m comment --comment \"ns/svc{i}:p cluster IP\" \
             -m tcp --dport {} -j KUBE-SEP-{i:016}\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255,
            i % 65536
        ));
    }
    text.push_str("COMMIT\n");
    let start = std::time::Instant::now();
    let s = parse_iptables_save(&text);
    let t = &s.tables[0];
    let per_chain: usize = t.chains.iter().map(|c| t.rules_in(&c.name).count()).sum();
    let elapsed = start.elapsed();
    assert!(s.errors.is_empty());
    assert_eq!(t.rules.len(), n);
    assert_eq!(per_chain, n);
    // Generous for unoptimized builds on a loaded 2-core machine; quadratic behaviour would
    // take minutes here.
    assert!(elapsed.as_secs() < 20, "{elapsed:?}");
}

/// Every iptables/ipset/nft output committed from the VM lab (Debian 12, kernel 6.1, iptables
/// 1.8.9 legacy) decodes without errors, the bundle copy equals the oracle copy, and the IPVS
/// scenario's rules are the ones kube-proxy's IPVS mode writes.
#[test]
fn vm_lab_fixtures_decode() {
    use crate::decode::{ipset, nft};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/vm-lab");
    let mut seen = 0;
    let mut rules = 0;
    let mut members = 0;
    let scenarios = std::fs::read_dir(&root).expect("fixtures/vm-lab");
    for scenario in scenarios {
        let dir = scenario.expect("dir entry").path();
        for sub in ["bundle/commands", "oracle"] {
            let Ok(files) = std::fs::read_dir(dir.join(sub)) else {
                continue;
            };
            for f in files {
                let path = f.expect("dir entry").path();
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let bytes = std::fs::read(&path).expect("read fixture");
                if name.contains("tables") && name.ends_with("save.txt") {
                    let s = parse_iptables_save_bytes(&bytes);
                    assert!(s.errors.is_empty(), "{}: {:?}", path.display(), s.errors);
                    assert_eq!(
                        s.tables.iter().map(|t| t.rules.len()).sum::<usize>(),
                        bytes
                            .split(|&b| b == b'\n')
                            .filter(|l| l.starts_with(b"-A "))
                            .count()
                    );
                    rules += s.tables.iter().map(|t| t.rules.len()).sum::<usize>();
                    let twin = dir.join(if sub == "oracle" {
                        "bundle/commands"
                    } else {
                        "oracle"
                    });
                    if let Ok(other) = std::fs::read(twin.join(&name)) {
                        // The header's timestamp differs by the seconds between the two runs.
                        assert_eq!(s.tables, parse_iptables_save_bytes(&other).tables, "{name}");
                    }
                    seen += 1;
                } else if name.starts_with("ipset") {
                    let s = ipset::parse_ipset_save_bytes(&bytes);
                    assert!(s.errors.is_empty(), "{}: {:?}", path.display(), s.errors);
                    members += s.sets.iter().map(|s| s.entries.len()).sum::<usize>();
                    seen += 1;
                } else if name.starts_with("nft") {
                    let r = nft::parse_nft_json(&bytes);
                    assert!(r.errors.is_empty(), "{}: {:?}", path.display(), r.errors);
                    seen += 1;
                }
            }
        }
    }
    assert!(
        seen >= 12,
        "only {seen} netfilter fixtures under {}",
        root.display()
    );
    assert!(
        rules >= 30 && members >= 12,
        "{rules} rules, {members} members"
    );

    let ipvs = root.join("2-ipvs-services/bundle/commands");
    let s = parse_iptables_save_bytes(
        &std::fs::read(ipvs.join("iptables-legacy-save.txt")).expect("read"),
    );
    assert_eq!(s.header.as_ref().map(|h| h.backend), Some(Backend::Legacy));
    let nat = s.table("nat").expect("nat");
    let svc: Vec<&Rule> = nat.rules_in("KUBE-SERVICES").collect();
    assert_eq!(svc.len(), 3);
    assert_eq!(svc[0].source(), Some(neg(true, "10.244.0.0/16")));
    assert_eq!(svc[0].match_sets()[0].name, "KUBE-CLUSTER-IP");
    assert_eq!(svc[1].dst_type(), Some(neg(false, "LOCAL")));
    assert_eq!(svc[1].target_name(), Some("KUBE-NODE-PORT"));
    let sets =
        ipset::parse_ipset_save_bytes(&std::fs::read(ipvs.join("ipset-save.txt")).expect("read"));
    let cip = sets.set("KUBE-CLUSTER-IP").expect("set");
    assert!(cip.contains(&ipset::Member::IpPort {
        ip: "10.96.100.50".parse().expect("ip"),
        proto: "tcp".into(),
        port: 80
    }));
    assert!(sets
        .set("KUBE-NODE-PORT-TCP")
        .is_some_and(|s| s.contains(&ipset::Member::Port { port: 30081 })));
}

#[test]
fn a_fragment_without_its_table_line_is_read_as_its_table() {
    let filter = parse_iptables_save(
        "-A FORWARD -m conntrack --ctstate INVALID -j DROP\n-A FORWARD -j REJECT --reject-with icmp-host-prohibited\n",
    );
    assert!(filter.errors.is_empty(), "{:?}", filter.errors);
    let t = filter.table("filter").expect("filter");
    assert_eq!(t.rules_in("FORWARD").count(), 2);
    let nat = parse_iptables_save(
        "-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y\n",
    );
    assert!(nat.table("nat").is_some());
    // With a table line anywhere, rules before it stay outside any table.
    let mixed = parse_iptables_save("-A ORPHAN -j ACCEPT\n*filter\nCOMMIT\n");
    assert_eq!(mixed.errors.len(), 1);
}
