//! Decoders checked against iproute2 on the same kernel state: `tests/data/rtnl/<case>/` holds
//! the raw dumps written by `scripts/nl-capture.py` and the `ip -j` outputs captured right
//! after (see `setup.sh` and `capture.sh` there).

use serde_json::Value;

use super::*;

const LINKS: &[u8] = include_bytes!("../../../tests/data/rtnl/node1/links.nl");
const ADDRS: &[u8] = include_bytes!("../../../tests/data/rtnl/node1/addrs.nl");
const ROUTES4: &[u8] = include_bytes!("../../../tests/data/rtnl/node1/routes-inet.nl");
const ROUTES6: &[u8] = include_bytes!("../../../tests/data/rtnl/node1/routes-inet6.nl");
const RULES4: &[u8] = include_bytes!("../../../tests/data/rtnl/node1/rules-inet.nl");
const RULES6: &[u8] = include_bytes!("../../../tests/data/rtnl/node1/rules-inet6.nl");
const NEIGH: &[u8] = include_bytes!("../../../tests/data/rtnl/node1/neigh.nl");

fn oracle(name: &str) -> Vec<Value> {
    let text = match name {
        "ip-d-link" => include_str!("../../../tests/data/rtnl/node1/ip-d-link.json"),
        "ip-addr" => include_str!("../../../tests/data/rtnl/node1/ip-addr.json"),
        "ip-route-all" => include_str!("../../../tests/data/rtnl/node1/ip-route-all.json"),
        "ip-6-route-all" => include_str!("../../../tests/data/rtnl/node1/ip-6-route-all.json"),
        "ip-rule" => include_str!("../../../tests/data/rtnl/node1/ip-rule.json"),
        "ip-6-rule" => include_str!("../../../tests/data/rtnl/node1/ip-6-rule.json"),
        "ip-neigh" => include_str!("../../../tests/data/rtnl/node1/ip-neigh.json"),
        other => panic!("no oracle {other}"),
    };
    serde_json::from_str(text).expect("oracle is JSON")
}

fn json<T: Serialize>(items: &[T]) -> Vec<Value> {
    items
        .iter()
        .map(|i| serde_json::to_value(i).expect("serializes"))
        .collect()
}

/// Compares decoded objects with iproute2's, element by element:
/// - every field we print must have iproute2's value (`linkinfo.info_data`: every key we
///   print);
/// - every field of `required` that iproute2 prints, we print too.
///
/// Returns how many values were compared; callers assert a floor, so a comparison that
/// silently compares nothing fails.
fn compare(what: &str, ours: &[Value], theirs: &[Value], required: &[&str]) -> usize {
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{what}: {} decoded, iproute2 printed {}\nours: {ours:#?}",
        ours.len(),
        theirs.len()
    );
    let mut compared = 0;
    for (i, (o, t)) in ours.iter().zip(theirs).enumerate() {
        let (o, t) = (
            o.as_object().expect("object"),
            t.as_object().expect("object"),
        );
        for (k, v) in o {
            if k == "linkinfo" || k == "addr_info" {
                continue;
            }
            assert_eq!(
                Some(v),
                t.get(k),
                "{what}[{i}].{k}: ours vs iproute2\n{o:?}\n{t:?}"
            );
            compared += 1;
        }
        for k in required {
            if t.contains_key(*k) {
                assert!(
                    o.contains_key(*k),
                    "{what}[{i}]: iproute2 prints {k}, we do not\n{t:?}"
                );
            }
        }
        if let Some(tl) = t.get("linkinfo") {
            let ol = o
                .get("linkinfo")
                .unwrap_or_else(|| panic!("{what}[{i}]: no linkinfo"));
            for k in ["info_kind", "info_slave_kind"] {
                assert_eq!(ol.get(k), tl.get(k), "{what}[{i}].linkinfo.{k}");
                compared += usize::from(tl.get(k).is_some());
            }
            if let Some(od) = ol.get("info_data").and_then(Value::as_object) {
                for (k, v) in od {
                    assert_eq!(Some(v), tl["info_data"].get(k), "{what}[{i}].info_data.{k}");
                    compared += 1;
                }
            }
        }
        if let Some(ta) = t.get("addr_info").and_then(Value::as_array) {
            let oa = o["addr_info"].as_array().expect("addr_info");
            compared += compare(&format!("{what}[{i}].addr_info"), oa, ta, ADDR_FIELDS);
        }
    }
    compared
}

const LINK_FIELDS: &[&str] = &[
    "ifindex",
    "link",
    "link_index",
    "ifname",
    "flags",
    "mtu",
    "qdisc",
    "master",
    "operstate",
    "linkmode",
    "group",
    "txqlen",
    "link_type",
    "address",
    "broadcast",
    "permaddr",
    "link_netnsid",
    "promiscuity",
    "allmulti",
    "min_mtu",
    "max_mtu",
    "linkinfo",
    "num_tx_queues",
    "num_rx_queues",
    "gso_max_size",
    "gso_max_segs",
    "tso_max_size",
    "tso_max_segs",
    "gro_max_size",
];
const ADDR_FIELDS: &[&str] = &[
    "family",
    "local",
    "address",
    "prefixlen",
    "broadcast",
    "scope",
    "dynamic",
    "secondary",
    "temporary",
    "nodad",
    "tentative",
    "label",
    "valid_life_time",
    "preferred_life_time",
];
const ROUTE_FIELDS: &[&str] = &[
    "type", "dst", "gateway", "via", "dev", "table", "protocol", "scope", "prefsrc", "metric",
    "flags", "pref", "nexthops",
];
const RULE_FIELDS: &[&str] = &[
    "priority",
    "not",
    "src",
    "srclen",
    "dst",
    "dstlen",
    "tos",
    "fwmark",
    "fwmask",
    "iif",
    "oif",
    "table",
    "suppress_prefixlen",
    "action",
    "goto",
    "protocol",
];
const NEIGH_FIELDS: &[&str] = &["dst", "dev", "lladdr", "router", "proxy", "state"];

fn links() -> Vec<Link> {
    let d = decode_links(LINKS);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert!(d.complete && !d.interrupted);
    d.items
}

#[test]
fn links_match_ip_d_link() {
    let links = links();
    let n = compare("links", &json(&links), &oracle("ip-d-link"), LINK_FIELDS);
    assert!(n >= 150, "only {n} values compared");
    let vx = links
        .iter()
        .find(|l| l.ifname() == "vxlan.calico")
        .expect("vxlan.calico");
    assert_eq!(vx.kind(), Some("vxlan"));
    assert_eq!(vx.info_data("id"), Some(&Value::from(4096)));
    assert!(vx.is_up());
    let ipvs = links
        .iter()
        .find(|l| l.ifname() == "kube-ipvs0")
        .expect("kube-ipvs0");
    assert!(!ipvs.is_up());
}

#[test]
fn addresses_match_ip_addr() {
    let links = links();
    let d = decode_addrs(ADDRS);
    assert!(d.errors.is_empty() && d.complete, "{:?}", d.errors);
    let grouped = addresses_by_link(&links, &d.items);
    let n = compare("addrs", &json(&grouped), &oracle("ip-addr"), LINK_FIELDS);
    assert!(n >= 150, "only {n} values compared");
    let service_ips: Vec<_> = d
        .items
        .iter()
        .filter(|a| a.ifindex == 3)
        .filter_map(|a| a.local.as_deref())
        .collect();
    assert_eq!(service_ips, ["10.96.0.1", "10.96.0.10", "10.111.22.33"]);
}

#[test]
fn routes_match_ip_route_show_table_all() {
    let names = LinkNames::from_links(&links());
    let v4 = decode_routes("routes-inet.nl", ROUTES4, &names);
    let v6 = decode_routes("routes-inet6.nl", ROUTES6, &names);
    for d in [&v4, &v6] {
        assert!(d.errors.is_empty() && d.complete, "{:?}", d.errors);
    }
    // `ip route show table all` without -4/-6 prints both families, IPv4 first.
    let mut all = json(&v4.items);
    all.extend(json(&v6.items));
    let n = compare("routes", &all, &oracle("ip-route-all"), ROUTE_FIELDS);
    assert!(n >= 200, "only {n} values compared");
    let n = compare(
        "routes6",
        &json(&v6.items),
        &oracle("ip-6-route-all"),
        ROUTE_FIELDS,
    );
    assert!(n >= 80, "only {n} values compared");
    let blackhole = v4.items.iter().find(|r| r.type_id == 6).expect("blackhole");
    assert_eq!(blackhole.dst, "10.244.1.0/26");
    assert!(v4
        .items
        .iter()
        .any(|r| r.table_id == 200 && r.dst == "10.5.5.5"));
}

#[test]
fn rules_match_ip_rule() {
    let v4 = decode_rules("rules-inet.nl", RULES4);
    let v6 = decode_rules("rules-inet6.nl", RULES6);
    for d in [&v4, &v6] {
        assert!(d.errors.is_empty() && d.complete, "{:?}", d.errors);
    }
    let n = compare("rules", &json(&v4.items), &oracle("ip-rule"), RULE_FIELDS);
    assert!(n >= 25, "only {n} values compared");
    let n = compare(
        "rules6",
        &json(&v6.items),
        &oracle("ip-6-rule"),
        RULE_FIELDS,
    );
    assert!(n >= 12, "only {n} values compared");
    assert_eq!(v4.items[1].fwmark_value, Some((0x4000, 0x4000)));
}

#[test]
fn neighbours_match_ip_neigh() {
    let names = LinkNames::from_links(&links());
    let d = decode_neighbours(NEIGH, &names);
    assert!(d.errors.is_empty() && d.complete, "{:?}", d.errors);
    let shown: Vec<_> = d
        .items
        .into_iter()
        .filter(Neighbour::shown_by_default)
        .collect();
    let n = compare("neigh", &json(&shown), &oracle("ip-neigh"), NEIGH_FIELDS);
    assert!(n >= 12, "only {n} values compared");
}

type Decoder = fn(&[u8]) -> (usize, usize, bool);

fn decoders() -> Vec<(&'static str, &'static [u8], Decoder)> {
    fn counts<T>(d: Decoded<T>) -> (usize, usize, bool) {
        (d.items.len(), d.errors.len(), d.complete)
    }
    vec![
        ("links", LINKS, |b| counts(decode_links(b))),
        ("addrs", ADDRS, |b| counts(decode_addrs(b))),
        ("routes4", ROUTES4, |b| {
            counts(decode_routes("r", b, &LinkNames::default()))
        }),
        ("routes6", ROUTES6, |b| {
            counts(decode_routes("r", b, &LinkNames::default()))
        }),
        ("rules4", RULES4, |b| counts(decode_rules("r", b))),
        ("rules6", RULES6, |b| counts(decode_rules("r", b))),
        ("neigh", NEIGH, |b| {
            counts(decode_neighbours(b, &LinkNames::default()))
        }),
    ]
}

#[test]
fn every_truncation_is_an_error_or_a_partial_result() {
    for (name, data, decode) in decoders() {
        let (full, errors, complete) = decode(data);
        assert!(full > 0 && errors == 0 && complete, "{name}");
        for cut in 0..data.len() {
            let (items, errors, complete) = decode(&data[..cut]);
            assert!(items <= full, "{name} cut at {cut}");
            assert!(
                errors > 0 || !complete,
                "{name} cut at {cut} looks complete"
            );
        }
    }
}

#[test]
fn corrupted_bytes_never_panic_and_keep_the_other_messages() {
    for (name, data, decode) in decoders() {
        let (full, _, _) = decode(data);
        for pos in 0..data.len() {
            for pattern in [0xff, 0x80, 0x01] {
                let mut bad = data.to_vec();
                bad[pos] ^= pattern;
                let (items, errors, _) = decode(&bad);
                assert!(items <= full + 1, "{name} byte {pos}");
                let _ = errors;
            }
        }
    }
    // An attribute whose length runs past its message spoils that message only.
    let mut bad = LINKS.to_vec();
    let first_len = u32::from_ne_bytes([bad[0], bad[1], bad[2], bad[3]]) as usize;
    // The first attribute starts after nlmsghdr (16) and ifinfomsg (16).
    bad[32..34].copy_from_slice(&u16::try_from(first_len).expect("small").to_ne_bytes());
    let d = decode_links(&bad);
    assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
    assert_eq!(d.items.len(), links().len() - 1);
}

#[test]
fn kernel_errors_are_reported() {
    // nlmsghdr(len 36, NLMSG_ERROR) + errno -1 (EPERM) + the request header echoed back.
    let mut msg = Vec::new();
    msg.extend_from_slice(&36u32.to_ne_bytes());
    msg.extend_from_slice(&2u16.to_ne_bytes());
    msg.extend_from_slice(&[0; 10]);
    msg.extend_from_slice(&(-1i32).to_ne_bytes());
    msg.extend_from_slice(&[0; 16]);
    let d = decode_links(&msg);
    assert!(d.items.is_empty());
    assert_eq!(d.errors.len(), 1);
    assert!(
        d.errors[0].to_string().contains("error 1"),
        "{}",
        d.errors[0]
    );
}
