//! `iptables -L -n [-v]` / `iptables -t nat -L -n -v` text into the [`IptablesSave`] model that
//! `decode::iptables` builds from `iptables-save`, as far as the listing carries it.
//!
//! The layout is iptables' (`iptables/iptables.c` / `nft-ipv4.c` `print_firewall`, and each
//! extension's `print` function): a `Chain NAME (policy P N packets, M bytes)` or `Chain NAME
//! (N references)` header, a column title, then per rule `[pkts bytes] target prot opt [in
//! out] source destination` and the matches and target options in their listing words
//! (`/* comment */`, `tcp dpt:80`, `dpts:A:B`, `match-set NAME dst,dst`, `statistic mode random
//! probability P`, `ADDRTYPE match dst-type LOCAL`, `mark match [!] V/M`, `[!] ctstate S`,
//! `[goto]`, `MARK or|xor|set V`, `to:ADDR`, `random-fully`, `reject-with R`). Each rule is
//! rewritten into the `iptables-save` line it stands for and read by the save parser, so the
//! model and its accessors are the same; checked against `iptables-save` of the same netns
//! (`tests/data/pasted/iptables/`, `capture-iptables.sh`, iptables 1.8.9).
//!
//! What a listing does not carry, so what a check must not conclude from it: the exact save
//! syntax ([`IptablesListText::from_listing`]; `Rule::raw` is the rewritten line, not one the
//! tool printed), the order of matches the user wrote, options of extensions not listed above
//! (their words are reported as unread), the table when the command line is not shown, exact
//! counters when `-v` scaled them (`12K`; `-x` prints them exactly), and counters at all
//! without `-v`.

use super::issue::TextIssue;
use super::Source;
use crate::decode::iptables::{parse_iptables_save, IptablesSave};

const WHAT: &str = "iptables -L output";

/// One table read from an `iptables -L` listing.
#[derive(Debug, Clone, PartialEq)]
pub struct IptablesListText {
    /// One table; rules carry their listing line.
    pub save: IptablesSave,
    /// Always true: read from a listing, not from `iptables-save` (see the module comment).
    pub from_listing: bool,
    /// The table came from the command line (`-t nat`, or `filter` when `-t` is absent);
    /// false when no command line was pasted and `filter` was assumed.
    pub table_stated: bool,
    pub issues: Vec<TextIssue>,
}

/// Parses an `iptables -L -n [-v]` listing.
pub fn parse(src: &Source<'_>) -> IptablesListText {
    let (table, table_stated) = table_of(src.command());
    let mut issues = Vec::new();
    // The equivalent save text, and for each of its lines the listing line it came from.
    let mut save = format!("*{table}\n");
    let mut origin = vec![0];
    let mut rules = Vec::new();
    let mut chain = String::new();
    let mut verbose = false;
    for (n, line) in src.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(rest) = t.strip_prefix("Chain ") {
            match chain_header(rest) {
                Some((name, policy, counters)) => {
                    let counters = counters
                        .map(|(p, b)| match (exact(p), exact(b)) {
                            (Some(p), Some(b)) => format!("[{p}:{b}]"),
                            _ => {
                                issues.push(TextIssue::ListingCounterScaled {
                                    line: n,
                                    value: format!("{p} {b}"),
                                });
                                String::new()
                            }
                        })
                        .unwrap_or_default();
                    save.push_str(&format!(":{name} {} {counters}\n", policy.unwrap_or("-")));
                    origin.push(n);
                    chain = name.to_string();
                }
                None => issues.push(src.bad(n, WHAT, "unreadable chain header")),
            }
            continue;
        }
        let first = t.split_whitespace().next().unwrap_or_default();
        if first == "pkts" || first == "target" {
            verbose = first == "pkts";
            continue;
        }
        if chain.is_empty() {
            issues.push(src.bad(n, WHAT, "a rule before any chain header"));
            continue;
        }
        match rule(t, verbose) {
            Some((args, counters, unread)) => {
                if unread {
                    issues.push(src.bad(n, WHAT, "listing words this parser does not read"));
                }
                let counters = match counters {
                    Some((p, b)) => match (exact(p), exact(b)) {
                        (Some(p), Some(b)) => format!("[{p}:{b}] "),
                        _ => {
                            issues.push(TextIssue::ListingCounterScaled {
                                line: n,
                                value: format!("{p} {b}"),
                            });
                            String::new()
                        }
                    },
                    None => String::new(),
                };
                rules.push((format!("{counters}-A {chain} {args}\n"), n));
            }
            None => issues.push(src.bad(n, WHAT, "unreadable rule")),
        }
    }
    // Chains first, then rules, as iptables-save prints them.
    for (r, n) in rules {
        save.push_str(&r);
        origin.push(n);
    }
    save.push_str("COMMIT\n");
    origin.push(src.last_line);
    let mut parsed = parse_iptables_save(&save);
    let at = |l: usize| origin.get(l.saturating_sub(1)).copied().unwrap_or(0);
    for e in &parsed.errors {
        issues.push(TextIssue::Unreadable {
            line: at(e.line),
            what: WHAT,
            reason: "a rule the iptables-save parser could not read",
        });
    }
    parsed.errors.clear();
    for t in &mut parsed.tables {
        t.line = src.piece.first_line;
        for c in &mut t.chains {
            c.line = at(c.line);
        }
        for r in &mut t.rules {
            r.line = at(r.line);
        }
    }
    IptablesListText {
        save: parsed,
        from_listing: true,
        table_stated,
        issues,
    }
}

fn table_of(command: Option<&str>) -> (String, bool) {
    let Some(c) = command else {
        return ("filter".into(), false);
    };
    let w: Vec<&str> = c.split_whitespace().collect();
    for (i, x) in w.iter().enumerate() {
        if *x == "-t" || *x == "--table" {
            if let Some(t) = w.get(i + 1) {
                return (t.to_string(), true);
            }
        }
        if let Some(t) = x.strip_prefix("--table=") {
            return (t.to_string(), true);
        }
    }
    ("filter".into(), true)
}

/// `-v` counters: exact unless scaled with a K/M/G/T suffix (iptables `print_num`).
fn exact(v: &str) -> Option<u64> {
    v.parse().ok()
}

type Header<'a> = (&'a str, Option<&'a str>, Option<(&'a str, &'a str)>);

/// `INPUT (policy ACCEPT 0 packets, 0 bytes)`, `INPUT (policy ACCEPT)`, `KUBE-X (2
/// references)`.
fn chain_header(rest: &str) -> Option<Header<'_>> {
    let (name, inner) = rest.split_once(" (")?;
    let inner = inner.strip_suffix(')')?;
    match inner.strip_prefix("policy ") {
        Some(p) => {
            let w: Vec<&str> = p.split_whitespace().collect();
            let counters = match w.as_slice() {
                [_, pk, "packets,", b, "bytes"] => Some((*pk, *b)),
                _ => None,
            };
            Some((name, Some(w.first()?), counters))
        }
        None => Some((name, None, None)),
    }
}

/// `0` → `all`: iptables 1.8.9 prints protocol numbers, older releases names.
fn protocol(p: &str) -> Option<&str> {
    Some(match p {
        "0" | "all" => return None,
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        "132" => "sctp",
        "58" => "ipv6-icmp",
        other => other,
    })
}

/// A host address as iptables-save prints it (`10.0.0.1` → `10.0.0.1/32`).
fn address(a: &str) -> String {
    if a.contains('/') {
        a.to_string()
    } else if a.contains(':') {
        format!("{a}/128")
    } else {
        format!("{a}/32")
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
}

type RuleParts<'a> = (String, Option<(&'a str, &'a str)>, bool);

/// One rule line into save arguments, its counters, and whether words were left unread.
fn rule(t: &str, verbose: bool) -> Option<RuleParts<'_>> {
    let words: Vec<(usize, &str)> = word_offsets(t);
    let w = |i: usize| words.get(i).map(|x| x.1);
    let start = if verbose { 2 } else { 0 };
    // The opt column (`--`, `-f`, `!f`) follows prot; target may be empty.
    let opt = (start..start + 3).find(|&i| matches!(w(i), Some("--" | "-f" | "!f")))?;
    let counters = verbose.then(|| (w(0).unwrap_or("0"), w(1).unwrap_or("0")));
    let target = (opt >= start + 2).then(|| w(opt - 2)).flatten();
    let prot = w(opt - 1)?;
    let mut args: Vec<String> = Vec::new();
    let mut i = opt + 1;
    let iface = |flag: &str, v: &str, args: &mut Vec<String>| {
        if v != "*" {
            match v.strip_prefix('!') {
                Some(x) => args.push(format!("! {flag} {x}")),
                None => args.push(format!("{flag} {v}")),
            }
        }
    };
    if verbose {
        iface("-i", w(i)?, &mut args);
        iface("-o", w(i + 1)?, &mut args);
        i += 2;
    }
    for (flag, v) in [("-s", w(i)?), ("-d", w(i + 1)?)] {
        let (neg, a) = match v.strip_prefix('!') {
            Some(a) => ("! ", a),
            None => ("", v),
        };
        // `iptables -L` without -n prints `anywhere` for 0.0.0.0/0.
        if a != "0.0.0.0/0" && a != "::/0" && a != "anywhere" {
            args.push(format!("{neg}{flag} {}", address(a)));
        }
    }
    if let Some(p) = protocol(prot) {
        args.push(format!("-p {p}"));
    }
    if w(opt) == Some("-f") {
        args.push("-f".into());
    }
    let rest_at = words.get(i + 2).map_or(t.len(), |x| x.0);
    let (matches, target_opts, goto, unread) = extras(&t[rest_at..], target);
    args.extend(matches);
    if let Some(target) = target {
        args.push(format!("{} {target}", if goto { "-g" } else { "-j" }));
        args.extend(target_opts);
    }
    Some((args.join(" "), counters, unread))
}

fn word_offsets(t: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in t.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &t[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &t[s..]));
    }
    out
}

/// The words after the destination: matches (as save arguments), target options, `[goto]`,
/// and whether some words were not read.
fn extras(rest: &str, target: Option<&str>) -> (Vec<String>, Vec<String>, bool, bool) {
    let mut matches = Vec::new();
    let mut topts = Vec::new();
    let mut goto = false;
    let mut unread = false;
    let mut rest = rest.trim();
    // Comments may hold spaces: `/* ns1/svc1:p80 cluster IP */`.
    let mut words: Vec<String> = Vec::new();
    while !rest.is_empty() {
        if let Some(c) = rest.strip_prefix("/* ") {
            let (body, after) = c.split_once(" */").unwrap_or((c, ""));
            matches.push(format!("-m comment --comment {}", quote(body)));
            rest = after.trim_start();
            continue;
        }
        let (w, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        words.push(w.to_string());
        rest = after.trim_start();
    }
    let w = |i: usize| words.get(i).map(String::as_str);
    let mut i = 0;
    while i < words.len() {
        let neg = w(i) == Some("!");
        let j = if neg { i + 1 } else { i };
        let not = if neg { "! " } else { "" };
        match (w(j).unwrap_or_default(), w(j + 1)) {
            ("[goto]", _) => {
                goto = true;
                i = j + 1;
            }
            (p @ ("tcp" | "udp" | "sctp"), _) => {
                let mut opts = Vec::new();
                let mut k = j + 1;
                while let Some(x) = w(k) {
                    let (n, x) = match x.strip_prefix('!') {
                        Some(x) => ("! ", x),
                        None => ("", x),
                    };
                    let o = if let Some(v) = x.strip_prefix("dpt:") {
                        format!("{n}--dport {v}")
                    } else if let Some(v) = x.strip_prefix("dpts:") {
                        format!("{n}--dport {v}")
                    } else if let Some(v) = x.strip_prefix("spt:") {
                        format!("{n}--sport {v}")
                    } else if let Some(v) = x.strip_prefix("spts:") {
                        format!("{n}--sport {v}")
                    } else {
                        break;
                    };
                    opts.push(o);
                    k += 1;
                }
                // `tcp to:...`: the DNAT target of a `-p tcp -m tcp` rule, no options.
                matches.push(format!("-m {p}{}", prefixed(&opts)));
                i = k;
            }
            ("match-set", Some(name)) => {
                matches.push(format!(
                    "-m set {not}--match-set {name} {}",
                    w(j + 2).unwrap_or_default()
                ));
                i = j + 3;
            }
            ("statistic", Some("mode"))
                if w(j + 2) == Some("random") && w(j + 3) == Some("probability") =>
            {
                matches.push(format!(
                    "-m statistic --mode random --probability {}",
                    w(j + 4).unwrap_or_default()
                ));
                i = j + 5;
            }
            ("ADDRTYPE", Some("match")) => {
                let mut k = j + 2;
                let mut opts = Vec::new();
                while let Some(key @ ("dst-type" | "src-type")) = w(k) {
                    let v = w(k + 1).unwrap_or_default();
                    match v.strip_prefix('!') {
                        Some(v) => opts.push(format!("! --{key} {v}")),
                        None => opts.push(format!("--{key} {v}")),
                    }
                    k += 2;
                }
                matches.push(format!("-m addrtype{}", prefixed(&opts)));
                i = k;
            }
            ("mark", Some("match")) => {
                let (n2, k) = if w(j + 2) == Some("!") {
                    ("! ", j + 3)
                } else {
                    ("", j + 2)
                };
                matches.push(format!("-m mark {n2}--mark {}", w(k).unwrap_or_default()));
                i = k + 1;
            }
            ("ctstate", Some(v)) => {
                matches.push(format!("-m conntrack {not}--ctstate {v}"));
                i = j + 2;
            }
            ("state", Some(v)) => {
                matches.push(format!("-m state {not}--state {v}"));
                i = j + 2;
            }
            ("MARK", Some(op)) if target == Some("MARK") => {
                let v = w(j + 2).unwrap_or_default();
                topts.push(match op {
                    "or" => format!("--set-xmark {v}/{v}"),
                    "xor" => format!("--set-xmark {v}/0x0"),
                    "set" => format!("--set-xmark {v}/0xffffffff"),
                    _ => {
                        unread = true;
                        String::new()
                    }
                });
                i = j + 3;
            }
            (x, _) if x.starts_with("to:") && matches!(target, Some("DNAT" | "SNAT")) => {
                let flag = if target == Some("DNAT") {
                    "--to-destination"
                } else {
                    "--to-source"
                };
                topts.push(format!("{flag} {}", &x[3..]));
                i = j + 1;
            }
            ("random-fully" | "random" | "persistent", _) => {
                topts.push(format!("--{}", w(j).unwrap_or_default()));
                i = j + 1;
            }
            ("reject-with", Some(v)) => {
                topts.push(format!("--reject-with {v}"));
                i = j + 2;
            }
            _ => {
                unread = true;
                i = j + 1;
            }
        }
    }
    topts.retain(|o| !o.is_empty());
    (matches, topts, goto, unread)
}

fn prefixed(opts: &[String]) -> String {
    opts.iter().map(|o| format!(" {o}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::iptables::{Rule, Table};
    use crate::decode::text::{decode_piece, Piece, TextContent};

    fn data(name: &str) -> String {
        super::super::corpus::corpus_text(&format!("iptables/{name}"))
    }

    fn listing(name: &str, command: &str) -> IptablesListText {
        match super::super::corpus::piece_of(&format!("iptables/{name}"), command).content {
            TextContent::IptablesList(t) => t,
            other => panic!("{name}: {other:?}"),
        }
    }

    /// What expect_iptables.rs and the iptables checks read of a rule.
    fn fields(r: &Rule) -> String {
        format!(
            "{:?} goto={:?} p={:?} s={:?} d={:?} i={:?} o={:?} dport={:?} comment={:?} sets={:?} \
             dst_type={:?} to={:?} mark={:?} xmark={:?} prob={:?} ctstate={:?} counters={:?}",
            r.target_name(),
            r.target().map(|t| t.goto),
            r.protocol(),
            r.source(),
            r.destination(),
            r.in_interface(),
            r.out_interface(),
            r.dport().map(|d| (d.negated, d.ranges)),
            r.comment(),
            r.match_sets(),
            r.dst_type(),
            r.target_option("to-destination"),
            r.spec.match_option(&["mark"], &["mark"]),
            r.target_option("set-xmark"),
            r.spec.match_option(&["statistic"], &["probability"]),
            r.spec.match_option(&["conntrack"], &["ctstate"]),
            r.counters,
        )
    }

    /// `iptables -L -n -v` and `-t nat -L -n -v` against `iptables-save` of the same netns
    /// (capture-iptables.sh): every chain with its policy and counters, and every rule on the
    /// fields the checks read, in order.
    #[test]
    fn listing_equals_save_of_the_same_netns() {
        let save = parse_iptables_save(&data("iptables-save.txt"));
        assert!(save.errors.is_empty(), "{:?}", save.errors);
        for (file, command, table) in [
            ("iptables-L-n-v.txt", "iptables -L -n -v", "filter"),
            (
                "iptables-t-nat-L-n-v.txt",
                "iptables -t nat -L -n -v",
                "nat",
            ),
            ("iptables-t-nat-L-n.txt", "iptables -t nat -L -n", "nat"),
        ] {
            let l = listing(file, command);
            assert!(l.issues.is_empty(), "{file}: {:?}", l.issues);
            assert!(l.from_listing && l.table_stated);
            let mine: &Table = l.save.table(table).expect("table");
            let theirs = save.table(table).expect("table");
            let verbose = file.contains("-v");
            let mut names: Vec<(&str, Option<&str>)> = mine
                .chains
                .iter()
                .map(|c| (c.name.as_str(), c.policy.as_deref()))
                .collect();
            let mut want: Vec<(&str, Option<&str>)> = theirs
                .chains
                .iter()
                .map(|c| (c.name.as_str(), c.policy.as_deref()))
                .collect();
            names.sort();
            want.sort();
            assert_eq!(names, want, "{file}");
            let mut rules = 0;
            for c in &theirs.chains {
                let m: Vec<String> = mine.rules_in(&c.name).map(fields).collect();
                // iptables-save without -c prints no rule counters; -L -v does (all 0 here).
                let t: Vec<String> = theirs
                    .rules_in(&c.name)
                    .map(|r| {
                        let mut r = r.clone();
                        if verbose {
                            r.counters = Some(crate::decode::iptables::Counters {
                                packets: 0,
                                bytes: 0,
                            });
                        }
                        fields(&r)
                    })
                    .collect();
                assert_eq!(m, t, "{file} chain {}", c.name);
                rules += m.len();
            }
            assert_eq!(rules, mine.rules.len());
            if table == "nat" {
                let svc: Vec<&Rule> = mine.rules_in("KUBE-SVC-XPGD46QRK7WJZT7O").collect();
                assert_eq!(
                    svc[1]
                        .spec
                        .match_option(&["statistic"], &["probability"])
                        .map(|o| o.values.clone()),
                    Some(vec!["0.50000000000".to_string()])
                );
                let sep = mine
                    .rules_in("KUBE-SEP-SXIVWICOYRO3J4NJ")
                    .nth(1)
                    .expect("dnat");
                assert_eq!(sep.target_option("to-destination"), Some("10.180.0.1:80"));
                assert!(mine
                    .rules_in("KUBE-EXT-XPGD46QRK7WJZT7O")
                    .any(|r| r.target().is_some_and(|t| t.goto)));
            }
            assert!(rules >= 9, "{file}");
            // Lines point into the listing.
            let body = data(file);
            for r in &mine.rules {
                let line = body.lines().nth(r.line - 1).unwrap_or_default();
                assert!(
                    line.contains(r.target_name().unwrap_or("?")),
                    "{file}:{}",
                    r.line
                );
            }
        }
    }

    #[test]
    fn unread_words_and_scaled_counters_are_reported() {
        let body = "Chain INPUT (policy ACCEPT 12K packets, 3M bytes)\n pkts bytes target     prot opt in     out     source               destination\n  10K   2M ACCEPT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22 frob 7\n";
        let p = decode_piece(
            Piece {
                command: Some("iptables -L -n -v".into()),
                command_line: Some(1),
                first_line: 2,
                last_line: 4,
                body: body.into(),
            },
            false,
        );
        let TextContent::IptablesList(t) = p.content else {
            panic!()
        };
        assert_eq!(
            t.issues,
            vec![
                TextIssue::ListingCounterScaled {
                    line: 2,
                    value: "12K 3M".into()
                },
                TextIssue::Unreadable {
                    line: 4,
                    what: WHAT,
                    reason: "listing words this parser does not read"
                },
                TextIssue::ListingCounterScaled {
                    line: 4,
                    value: "10K 2M".into()
                },
            ]
        );
        let r = &t.save.tables[0].rules[0];
        assert_eq!(r.line, 4);
        assert_eq!(r.dport().map(|d| d.ranges), Some(vec![(22, 22)]));
        assert_eq!(r.counters, None);
    }
}
