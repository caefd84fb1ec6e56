//! `ipset-save.txt` and `ipset-list.txt` in `analyzer/tests/data/netfilter/` are what ipset 7.17
//! printed after `ipset restore < kube-proxy.ipset` in a fresh network namespace (capture.sh).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::*;

const PROGRAMMED: &str = include_str!("../../../tests/data/netfilter/kube-proxy.ipset");
const SAVE: &str = include_str!("../../../tests/data/netfilter/ipset-save.txt");
const LIST: &str = include_str!("../../../tests/data/netfilter/ipset-list.txt");

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// `set -> (type, element texts)` from the programming file by plain string handling;
/// `add S 32000-32002` to a bitmap:port set stands for three ports, as ipset stores it.
fn programmed() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut out: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for line in PROGRAMMED.lines() {
        let w: Vec<&str> = line.split(' ').collect();
        match w.as_slice() {
            ["create", name, ty, ..] => {
                out.insert(name.to_string(), (ty.to_string(), BTreeSet::new()));
            }
            ["add", name, elem, ..] => {
                let (ty, members) = out.get_mut(*name).expect("created before add");
                match elem.split_once('-') {
                    Some((a, b)) if ty == "bitmap:port" => {
                        let (a, b): (u16, u16) = (a.parse().expect("n"), b.parse().expect("n"));
                        members.extend((a..=b).map(|p| p.to_string()));
                    }
                    _ => {
                        members.insert(elem.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn decoded(s: &Ipsets) -> BTreeMap<String, (String, BTreeSet<String>)> {
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

#[test]
fn save_output_holds_what_was_programmed() {
    let s = parse_ipset_save(SAVE);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(decoded(&s), programmed());
    // Every element of every set decoded into its typed form.
    for set in &s.sets {
        for e in &set.entries {
            assert_ne!(e.member, Member::Other, "{} {}", set.name, e.text);
        }
    }
}

#[test]
fn typed_members_and_options() {
    let s = parse_ipset_save(SAVE);
    let cip = s.set("KUBE-CLUSTER-IP").expect("set");
    assert_eq!(cip.set_type, "hash:ip,port");
    assert_eq!(cip.family.as_deref(), Some("inet"));
    assert_eq!(cip.option("hashsize"), Some("1024"));
    assert_eq!(cip.option("maxelem"), Some("65536"));
    assert!(cip.contains(&Member::IpPort {
        ip: ip("10.96.0.10"),
        proto: "udp".into(),
        port: 53
    }));
    assert!(!cip.contains(&Member::IpPort {
        ip: ip("10.96.0.10"),
        proto: "sctp".into(),
        port: 53
    }));
    let lb = s.set("KUBE-LOAD-BALANCER-SOURCE-CIDR").expect("set");
    let nets: BTreeSet<(IpAddr, u8)> = lb
        .entries
        .iter()
        .filter_map(|e| match &e.member {
            Member::IpPortNet { addr, prefix, .. } => Some((*addr, *prefix)),
            _ => None,
        })
        .collect();
    assert_eq!(
        nets,
        [(ip("198.51.100.0"), 24), (ip("203.0.113.7"), 32)].into()
    );
    let lo = s.set("KUBE-LOOP-BACK").expect("set");
    assert!(lo.contains(&Member::IpPortIp {
        ip: ip("10.244.0.5"),
        proto: "tcp".into(),
        port: 8080,
        ip2: ip("10.244.0.5")
    }));
    let np = s.set("KUBE-NODE-PORT-TCP").expect("set");
    assert_eq!(np.family, None);
    assert_eq!(np.option("range"), Some("0-65535"));
    assert!(np.contains(&Member::Port { port: 32001 }));
    assert!(s
        .set("KUBE-NODE-PORT-UDP")
        .is_some_and(|u| u.entries.is_empty()));
    let hc = s.set("KUBE-HEALTH-CHECK-NODE-PORT").expect("set");
    assert_eq!(hc.option("range"), Some("30000-32767"));
    let v6 = s.set("KUBE-6-CLUSTER-IP").expect("set");
    assert_eq!(v6.family.as_deref(), Some("inet6"));
    assert!(v6.contains(&Member::IpPort {
        ip: ip("fd00:10:96::a"),
        proto: "udp".into(),
        port: 53
    }));
    let ips = s.set("KUBE-IPVS-IPS").expect("set");
    assert!(ips.contains(&Member::Ip {
        ip: ip("10.96.0.1")
    }));
    // Flags without values, per-entry counters and comments.
    let c = s.set("TEST-COMMENTS").expect("set");
    assert!(c.has_option("counters") && c.has_option("comment"));
    assert_eq!(c.option("timeout"), Some("600"));
    let single = c
        .entries
        .iter()
        .find(|e| e.text == "10.2.3.4")
        .expect("entry");
    assert_eq!(
        single.member,
        Member::Net {
            addr: ip("10.2.3.4"),
            prefix: 32
        }
    );
    assert_eq!(single.comment.as_deref(), Some("single"));
    let opt = |k: &str| {
        single
            .options
            .iter()
            .find(|o| o.key == k)
            .and_then(|o| o.value.clone())
    };
    assert_eq!(opt("packets").as_deref(), Some("5"));
    assert_eq!(opt("bytes").as_deref(), Some("420"));
    let list = s.set("TEST-LIST").expect("set");
    assert!(list.contains(&Member::Set {
        name: "KUBE-EXTERNAL-IP".into()
    }));
    // Line numbers cite the input.
    let lines: Vec<&str> = SAVE.lines().collect();
    for set in &s.sets {
        assert!(lines[set.line - 1].starts_with(&format!("create {} ", set.name)));
        for e in &set.entries {
            assert!(lines[e.line - 1].starts_with(&format!("add {} {}", set.name, e.text)));
        }
    }
}

#[test]
fn list_format_agrees_with_save() {
    let save = parse_ipset_save(SAVE);
    let list = parse_ipset_list(LIST);
    assert!(list.errors.is_empty(), "{:?}", list.errors);
    assert_eq!(decoded(&list), decoded(&save));
    for set in &save.sets {
        let l = list.set(&set.name).expect("listed");
        assert_eq!(l.family, set.family, "{}", set.name);
        // `Header:` is the create line's options (the kernel's initval included).
        assert_eq!(l.options, set.options, "{}", set.name);
        let members = |s: &IpSet| -> BTreeSet<String> {
            s.entries
                .iter()
                .map(|e| format!("{:?} {:?} {:?}", e.member, e.options, e.comment))
                .collect()
        };
        assert_eq!(members(l), members(set), "{}", set.name);
    }
}

#[test]
fn bad_lines_are_reported_and_skipped() {
    let text = "add NOPE 1.2.3.4\n\
                create A hash:ip,port family inet\n\
                add A 10.0.0.1,tcp:80\n\
                add A 10.0.0.1,tcp:99999\n\
                add A\n\
                add A 10.0.0.2,udp:53 comment \"open\n\
                create A hash:ip\n\
                flush A\n\
                create\n\
                create B hash:whatever,new opt1 v1 counters\n\
                add B some,thing\r\n";
    let s = parse_ipset_save(text);
    let lines: Vec<usize> = s.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [1, 5, 6, 7, 8, 9]);
    let a = s.set("A").expect("A");
    assert_eq!(a.entries.len(), 2);
    assert_eq!(a.entries[1].member, Member::Other);
    let b = s.set("B").expect("B");
    assert_eq!(b.option("opt1"), Some("v1"));
    assert!(b.has_option("counters"));
    assert_eq!(b.entries[0].text, "some,thing");
}

#[test]
fn truncated_and_garbled_input_never_panics() {
    for text in [SAVE, LIST] {
        let bytes = text.as_bytes();
        for cut in 0..bytes.len() {
            let _ = parse_ipset_save_bytes(&bytes[..cut]);
            let _ = parse_ipset_list(&String::from_utf8_lossy(&bytes[..cut]));
        }
        let mut state = 11u64;
        for _ in 0..300 {
            let mut b = bytes.to_vec();
            for _ in 0..10 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let i = (state >> 33) as usize % b.len();
                b[i] = [b'"', b',', b':', b'/', b'\n', b' ', (state >> 20) as u8]
                    [(state % 7) as usize];
            }
            let _ = parse_ipset_save_bytes(&b);
            let _ = parse_ipset_list(&String::from_utf8_lossy(&b));
        }
    }
}
