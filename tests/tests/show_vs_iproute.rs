//! `netsnap show ... --json` on a bundle collected inside a network namespace must agree with
//! iproute2's JSON for the same namespace, field by field. iproute2 is the oracle; the state is
//! real kernel state built with `ip`, not a mock.

use std::path::Path;

use netsnap_e2e::{assert_agree, bin_path, pointer, route_key, run_ok, show_json, text, Netns};
use serde_json::Value;

/// Builds the state the analyzer must read back: a veth uplink with v4 and v6 addresses, a
/// bridge standing in for kube-ipvs0 (this kernel has no dummy links) holding /32 service
/// addresses, a vxlan.calico device, routes in main and a second table, a blackhole route, policy
/// rules, and per-interface sysctls.
fn build_state(ns: &Netns) {
    ns.ip(&[
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0-peer",
    ]);
    ns.ip(&["link", "set", "eth0", "mtu", "1450", "up"]);
    ns.ip(&["link", "set", "eth0-peer", "up"]);
    ns.ip(&["addr", "add", "192.168.122.96/24", "dev", "eth0"]);
    ns.ip(&["addr", "add", "fd00:122::96/64", "dev", "eth0", "nodad"]);
    ns.ip(&["link", "add", "kube-ipvs0", "type", "bridge"]);
    ns.ip(&["addr", "add", "10.96.0.1/32", "dev", "kube-ipvs0"]);
    ns.ip(&["addr", "add", "10.96.0.10/32", "dev", "kube-ipvs0"]);
    ns.ip(&["link", "add", "br-pods", "type", "bridge"]);
    ns.ip(&["link", "set", "eth0-peer", "master", "br-pods"]);
    ns.ip(&[
        "link",
        "add",
        "vxlan.calico",
        "type",
        "vxlan",
        "id",
        "4096",
        "dstport",
        "4789",
        "local",
        "192.168.122.96",
        "dev",
        "eth0",
    ]);
    ns.ip(&["link", "set", "vxlan.calico", "mtu", "1400", "up"]);
    ns.ip(&["addr", "add", "10.244.0.192/32", "dev", "vxlan.calico"]);
    ns.ip(&[
        "route",
        "add",
        "default",
        "via",
        "192.168.122.1",
        "dev",
        "eth0",
        "proto",
        "static",
    ]);
    ns.ip(&[
        "route",
        "add",
        "10.244.1.0/26",
        "via",
        "10.244.1.1",
        "dev",
        "vxlan.calico",
        "onlink",
        "proto",
        "bird",
    ]);
    ns.ip(&[
        "route",
        "add",
        "blackhole",
        "10.244.0.192/26",
        "proto",
        "bird",
    ]);
    ns.ip(&[
        "route",
        "add",
        "10.10.0.0/16",
        "via",
        "192.168.122.254",
        "table",
        "100",
    ]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "fd00:244::/64",
        "via",
        "fd00:122::1",
        "dev",
        "eth0",
    ]);
    ns.ip(&[
        "rule",
        "add",
        "fwmark",
        "0x4000/0x4000",
        "lookup",
        "100",
        "priority",
        "100",
    ]);
    ns.ip(&[
        "rule",
        "add",
        "from",
        "10.244.0.0/16",
        "lookup",
        "main",
        "priority",
        "200",
    ]);
    ns.sysctl("net.ipv4.conf.all.rp_filter", "2");
    ns.sysctl("net.ipv4.conf.eth0.rp_filter", "1");
    ns.sysctl("net.ipv4.ip_forward", "1");
}

fn collect(ns: &Netns, dir: &Path) {
    run_ok(
        ns.exec(bin_path("netsnap-collect"))
            .arg("--output-dir")
            .arg(dir)
            .args(["--no-kubectl", "--quiet", "--deadline", "30"]),
    );
}

#[test]
fn links_addrs_routes_rules_agree_with_iproute2() {
    let ns = Netns::new("show");
    build_state(&ns);
    let tmp = tempfile::tempdir().expect("tempdir");
    let bundle = tmp.path().join("bundle");
    collect(&ns, &bundle);

    let n = assert_agree(
        "links",
        &show_json("links", &bundle),
        &ns.ip_json(&["-j", "-d", "link", "show"]),
        &|v| text(v, "ifname"),
        &[
            "ifindex",
            "ifname",
            "flags",
            "mtu",
            "operstate",
            "link_type",
            "address",
            "broadcast",
            "master",
            "linkinfo/info_kind",
            "linkinfo/info_data/id",
            "linkinfo/info_data/port",
            "linkinfo/info_data/local",
            "linkinfo/info_slave_kind",
        ],
    );
    assert!(n >= 6 * 14, "too few link fields compared: {n}");

    let addr_key = |v: &Value| text(v, "ifname");
    let ours = show_json("addrs", &bundle);
    let oracle = ns.ip_json(&["-j", "addr", "show"]);
    assert_agree(
        "addrs",
        &ours,
        &oracle,
        &addr_key,
        &["ifindex", "ifname", "mtu", "operstate"],
    );
    // Addresses compared as sets of (family, local, prefixlen, scope) per interface.
    for want in oracle.as_array().expect("list") {
        let name = addr_key(want);
        let got = ours
            .as_array()
            .and_then(|l| l.iter().find(|o| addr_key(o) == name))
            .expect("matched above");
        let set = |v: &Value| {
            let mut s: Vec<String> = v["addr_info"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|i| {
                            format!(
                                "{} {}/{} {}",
                                text(i, "family"),
                                text(i, "local"),
                                text(i, "prefixlen"),
                                text(i, "scope")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            s.sort();
            s
        };
        assert_eq!(set(got), set(want), "addresses of {name}");
    }

    let route_fields = [
        "dst", "gateway", "dev", "table", "protocol", "scope", "type", "prefsrc", "flags",
    ];
    for (family, view_args) in [("-4", "routes"), ("-6", "routes")] {
        let oracle = ns.ip_json(&[family, "-j", "route", "show", "table", "all"]);
        let ours = show_json(view_args, &bundle);
        let want_family: Vec<Value> = oracle.as_array().expect("list").clone();
        // Our view lists both families; compare each family against its own oracle.
        let ours_family: Vec<Value> = ours
            .as_array()
            .expect("list")
            .iter()
            .filter(|r| {
                let dst = text(r, "dst");
                let v6 = dst.contains(':')
                    || text(r, "gateway").contains(':')
                    || text(r, "family") == "inet6";
                (family == "-6") == v6
            })
            .cloned()
            .collect();
        let n = assert_agree(
            &format!("routes {family}"),
            &Value::Array(ours_family),
            &Value::Array(want_family),
            &route_key,
            &route_fields,
        );
        assert!(n > 0, "no {family} routes compared");
    }

    // `ip -j rule` prints no family field, and our view lists IPv4 rules, then IPv6 ones: compare
    // the two lists in order, position by position.
    let mut oracle = ns.ip_json(&["-4", "-j", "rule", "show"]);
    let v6 = ns.ip_json(&["-6", "-j", "rule", "show"]);
    let list = oracle.as_array_mut().expect("list");
    list.extend(v6.as_array().expect("list").iter().cloned());
    let ours = show_json("rules", &bundle);
    let ours = ours.as_array().expect("list");
    assert_eq!(
        ours.len(),
        list.len(),
        "rule count: netsnap {ours:#?}\niproute2 {list:#?}"
    );
    let fields = ["priority", "src", "srclen", "table", "fwmark", "fwmask"];
    for (got, want) in ours.iter().zip(list.iter()) {
        for field in fields {
            assert_eq!(
                pointer(got, field),
                pointer(want, field),
                "rule field {field}\nnetsnap: {got:#}\niproute2: {want:#}"
            );
        }
    }
    assert!(
        list.len() >= 7,
        "expected the namespace's 2 added and 5 default rules, got {}",
        list.len()
    );
}
