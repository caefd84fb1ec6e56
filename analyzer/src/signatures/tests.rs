use super::*;

/// The observation `sig` makes of `line`, if it matches.
fn observe(sig: &Signature, line: &str) -> Option<Observation> {
    match_line(line, "log", "line 1")
        .into_iter()
        .find(|m| m.signature.id == sig.id)
        .map(|m| m.observation)
}

#[test]
fn every_example_matches_its_signature() {
    for sig in all() {
        assert!(!sig.examples.is_empty(), "{}: no example line", sig.id);
        for ex in sig.examples {
            assert!(
                !ex.contains('\n'),
                "{}: an example is one line: {ex}",
                sig.id
            );
            let Some(obs) = observe(sig, ex) else {
                panic!("{}: example does not match: {ex}", sig.id);
            };
            assert_eq!(obs.kind, sig.kind, "{}: {ex}", sig.id);
            assert_eq!(obs.certainty, sig.certainty, "{}: {ex}", sig.id);
            assert_eq!(obs.signature, Some(sig.id));
            assert_eq!(obs.evidence.excerpt, ex.trim(), "{}", sig.id);
            // A part read from the line must have been read: a capture that did not take
            // part would make an empty subject or value the kind does not expect.
            for (what, part, got) in [
                ("subject", sig.subject, &obs.subject),
                ("value", sig.value, &obs.value),
            ] {
                match part {
                    Part::None => assert!(got.is_empty(), "{}: {what} should be empty", sig.id),
                    Part::Fixed(s) => assert_eq!(got, s, "{}: {what}", sig.id),
                    Part::Capture(_) | Part::AddrPort(..) | Part::Join(..) => {
                        // The multi-line `err=<` form of kube-proxy's structured iptables
                        // failure carries its detail on the following lines.
                        if !(sig.id == "kube-proxy-iptables-restore-failed-structured"
                            && ex.ends_with("err=<"))
                        {
                            assert!(!got.is_empty(), "{}: empty {what} from: {ex}", sig.id);
                        }
                    }
                }
            }
        }
    }
}

/// Every example's exact fact: (signature, example) → (subject, value). Each row was checked
/// against the example line by hand; a changed pattern that reads another part of the line
/// fails here.
#[test]
fn every_example_states_its_fact() {
    let table = expected::FACTS;
    let mut seen = std::collections::BTreeSet::new();
    for (id, example, subject, value) in table {
        let sig = all()
            .find(|s| s.id == *id)
            .unwrap_or_else(|| panic!("no signature {id}"));
        assert!(
            sig.examples.contains(example),
            "{id}: not one of its examples: {example}"
        );
        let obs = observe(sig, example).unwrap_or_else(|| panic!("{id}: no match: {example}"));
        assert_eq!(
            (obs.subject.as_str(), obs.value.as_str()),
            (*subject, *value),
            "{id}: {example}"
        );
        seen.insert((*id, *example));
    }
    for sig in all() {
        for ex in sig.examples {
            assert!(
                seen.contains(&(sig.id, *ex)),
                "{}: example without an expected fact in signatures/expected.rs: {ex}",
                sig.id
            );
        }
    }
}

#[test]
fn ids_are_unique_kebab_case() {
    let mut seen = std::collections::BTreeSet::new();
    for sig in all() {
        assert!(seen.insert(sig.id), "duplicate signature id {}", sig.id);
        assert!(
            !sig.id.is_empty()
                && !sig.id.starts_with('-')
                && !sig.id.ends_with('-')
                && !sig.id.contains("--")
                && sig
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{} is not kebab-case",
            sig.id
        );
        assert!(
            regex::Regex::new(sig.pattern).is_ok(),
            "{}: bad pattern",
            sig.id
        );
        assert!(!sig.sources.is_empty(), "{}: no source", sig.id);
        for src in sig.sources {
            assert!(
                src.starts_with("https://"),
                "{}: source is not a link: {src}",
                sig.id
            );
        }
        assert!(!sig.versions.is_empty(), "{}: no versions", sig.id);
        for c in sig.catalog {
            assert!(
                c.len() == 3 && c.starts_with('C') && c[1..].chars().all(|d| d.is_ascii_digit()),
                "{}: catalog id {c}",
                sig.id
            );
        }
    }
}

#[test]
fn the_set_compiles_whole() {
    // A pattern the RegexSet refuses would silently turn every signature off.
    let c = compiled();
    assert_eq!(c.sigs.len(), all().count());
    assert_eq!(c.set.len(), c.sigs.len());
}

/// Lines that look like a signature's but do not say what it says.
const NEAR_MISSES: &[&str] = &[
    // kube-proxy info lines.
    r#"I0613 17:00:50.556647       1 server.go:1062] "Successfully retrieved node IP(s)" IPs=["10.211.55.76"]"#,
    r#"I0613 17:00:50.561351       1 server.go:659] "kube-proxy running in dual-stack mode" primary ipFamily="IPv4""#,
    "I0723 17:14:34.998379       1 proxier.go:403] minSyncPeriod: 0s, syncPeriod: 30s, burstSyncs: 2",
    "I1116 12:50:34.020648       1 server_others.go:187] Tearing down inactive rules.",
    "I0119 17:06:52.872998       1 graceful_termination.go:160] Trying to delete rs: 10.233.0.3:9153/TCP/10.233.114.193:9153",
    r#"I0301 10:00:00.000000       1 proxier.go:800] "Syncing iptables rules""#,
    r#"I0301 10:00:00.000000       1 proxier.go:820] "SyncProxyRules complete" elapsed="120ms""#,
    "I1116 12:50:34.062053       1 conntrack.go:52] Setting nf_conntrack_max to 131072",
    r#"I0301 10:00:00.000000       1 server.go:865] "Version info" version="v1.29.0""#,
    // kubelet and flannel info lines.
    "I0301 10:00:00.000000    1234 kubelet.go:2100] SyncLoop (PLEG): event for pod",
    "  Ready            True    Mon, 01 Mar 2024 10:00:00 +0000   KubeletReady                kubelet is posting ready status",
    "I0301 10:00:00.000000       1 main.go:416] Running backend.",
    "I0301 10:00:00.000000       1 main.go:412] Wrote subnet file to /run/flannel/subnet.env",
    "I0301 10:00:00.000000       1 kube.go:469] Starting kube subnet manager",
    // Calico healthy.
    "2024-03-01 10:00:00.123 [INFO][312] health.go 207: Number of node(s) with BGP peering established = 3",
    "| 192.168.1.22 | node-to-node mesh | up    | 09:12:44 | Established |",
    "Calico process is running.",
    // Tools printing versions or success.
    "ipset v7.15, protocol version: 7",
    "iptables v1.6.1",
    "# Generated by iptables-save v1.8.7 on Mon Mar  1 10:00:00 2024",
    "IP Virtual Server version 1.2.1 (size=4096)",
    "TCP  10.96.0.1:443 rr",
    "modprobe ip_vs",
    // Kernel lines that are not faults.
    "[   12.345678] IPVS: [rr] scheduler registered.",
    "[    1.000000] nf_conntrack version 0.5.0 (65536 buckets, 262144 max)",
    // Probes that succeeded.
    "PING 10.0.0.11 (10.0.0.11) 56(84) bytes of data.",
    "64 bytes from 10.0.0.11: icmp_seq=1 ttl=64 time=0.045 ms",
    "3 packets transmitted, 3 received, 0% packet loss, time 2003ms",
    "3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms",
    "Trying 10.0.0.11...",
    "HTTP/1.1 200 OK",
    "< HTTP/1.1 200 OK",
    "curl: (7) Failed to connect to 10.0.0.11 port 30081 after 129000 ms: Connection refused by ipvs? (prose)",
];

/// Near misses that may match a signature of another, weaker kind: the success probes above
/// must never make a failure, and the rest must make nothing at all.
#[test]
fn near_misses_do_not_match() {
    for line in NEAR_MISSES {
        let got = match_line(line, "log", "line 1");
        if line.starts_with("curl: (7)") {
            // Prose after a real curl message still states what curl said.
            assert!(
                got.iter().all(|m| m.observation.value == "refused"),
                "{line}"
            );
            continue;
        }
        assert!(
            got.is_empty(),
            "near miss matched {:?}: {line}",
            got.iter().map(|m| m.signature.id).collect::<Vec<_>>()
        );
    }
}

#[test]
fn successes_are_never_failures() {
    for line in [
        "* Connected to 10.0.0.11 (10.0.0.11) port 30081 (#0)",
        "Connection to 10.0.0.11 30081 port [tcp/*] succeeded!",
        "Connected to 10.0.0.11.",
        "Connecting to 10.0.0.11:30081... connected.",
    ] {
        let got = match_line(line, "log", "line 1");
        assert!(!got.is_empty(), "{line}");
        assert!(
            got.iter()
                .all(|m| m.observation.kind == FactKind::ProbeAnswered),
            "{line}"
        );
    }
}

#[test]
fn curl_exit_code_decides_between_timeout_and_connect_failure() {
    let kinds = |line: &str| {
        match_line(line, "log", "line 1")
            .into_iter()
            .map(|m| (m.signature.id, m.observation.value))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds("curl: (28) Failed to connect to 1.2.3.4 port 80 after 130000 ms: Couldn't connect to server"),
        vec![("curl-connect-timeout", "timeout".to_string())]
    );
    assert_eq!(
        kinds(
            "curl: (7) Failed to connect to 1.2.3.4 port 80 after 1 ms: Couldn't connect to server"
        ),
        vec![("curl-connect-failed", "connect-failed".to_string())]
    );
}

#[test]
fn probe_targets_are_addr_port() {
    let subject = |line: &str| {
        match_line(line, "log", "line 1")
            .into_iter()
            .map(|m| m.observation.subject)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        subject("curl: (7) Failed to connect to ::1 port 8080 after 0 ms: Connection refused"),
        vec!["[::1]:8080".to_string()]
    );
    assert_eq!(
        subject("nc: connect to 10.0.0.11 port 30081 (tcp) failed: Connection refused"),
        vec!["10.0.0.11:30081".to_string()]
    );
    assert_eq!(addr_port("10.0.0.1", ""), "10.0.0.1");
    assert_eq!(addr_port("[fd00::1]", "80"), "[fd00::1]:80");
}

#[test]
fn prefixes_do_not_stop_a_match() {
    let core = "E0514 13:55:16.139837       1 server_others.go:304] can't determine whether to use ipvs proxy, error: IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs]";
    for prefix in [
        "",
        "[pod/kube-proxy-x7k2p/kube-proxy] ",
        "Nov 25 10:00:00 node1 kube-proxy[123]: ",
        "2024-03-01T10:00:00.123456789Z stderr F ",
        "<14>Nov 25 10:00:00 node1 kube-proxy: ",
        "$ ",
        "> ",
    ] {
        let line = format!("{prefix}{core}\r");
        let ids: Vec<_> = match_line(&line, "log", "line 1")
            .into_iter()
            .map(|m| m.signature.id)
            .collect();
        assert!(
            ids.contains(&"kube-proxy-ipvs-check-undetermined"),
            "{line}"
        );
        assert!(ids.contains(&"kube-proxy-ipvs-required-modules"), "{line}");
    }
}

#[test]
fn scan_numbers_lines_from_first_line() {
    let text = "I0301 10:00:00 ok\nW1116 12:50:34.020545       1 proxier.go:239] IPVS scheduler not specified, use rr by default\n";
    let got = scan(text, "kube-proxy.log", 10);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].observation.evidence.locator, "line 11");
    assert_eq!(got[0].observation.evidence.artifact, "kube-proxy.log");
    assert_eq!(got[0].observation.value, "rr");
}

/// A 10,000-line kube-proxy log (mostly noise, some hits) scans line by line without
/// blowing up: the hot path is one RegexSet pass per line. No timing is asserted.
#[test]
fn scanning_a_large_log_stays_linear() {
    let noise = [
        r#"I0301 10:00:00.000000       1 proxier.go:800] "Syncing iptables rules""#,
        r#"I0301 10:00:00.000000       1 proxier.go:1490] "Reloading service iptables data" numServices=120 numEndpoints=340"#,
        "I0119 17:06:52.872998       1 graceful_termination.go:160] Trying to delete rs: 10.233.0.3:9153/TCP/10.233.114.193:9153",
    ];
    let hit = "W0916 03:25:25.680514       1 proxier.go:661] Failed to load kernel module ip_vs with modprobe. You can ignore this message when kube-proxy is running inside container without mounting /lib/modules";
    let mut text = String::new();
    for i in 0..10_000 {
        if i % 1000 == 0 {
            text.push_str(hit);
        } else {
            text.push_str(noise[i % noise.len()]);
            // Long lines too: the patterns must not go quadratic on them.
            if i % 97 == 0 {
                text.push_str(&" x=\"y\"".repeat(200));
            }
        }
        text.push('\n');
    }
    let got = scan(&text, "kube-proxy.log", 1);
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|m| m.observation.subject == "ip_vs"));
}

#[test]
fn markdown_lists_every_signature() {
    let md = markdown();
    for sig in all() {
        assert!(md.contains(&format!("### `{}`", sig.id)), "{}", sig.id);
    }
    assert!(md.contains("| kube-proxy |"));
}

/// `docs/signatures.md` is generated from the library; `NETSNAP_UPDATE_DOCS=1` rewrites it.
#[test]
fn docs_signatures_md_is_current() {
    let want = markdown();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/signatures.md");
    if std::env::var_os("NETSNAP_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).expect("write docs/signatures.md");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/signatures.md is out of date: run NETSNAP_UPDATE_DOCS=1 cargo test -p netsnap --lib signatures"
    );
}

#[path = "expected.rs"]
mod expected;
