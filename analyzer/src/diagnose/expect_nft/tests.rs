//! Chain-name hashes against the names in kube-proxy's own expected nftables transaction
//! (`pkg/proxy/nftables/proxier_test.go`, `TestOverallNFTablesRules`), and the model against
//! that transaction as `nft -j list ruleset` printed it after `nft -f` in a network namespace
//! (fixtures/checks/nftables-service-missing-upstream-clean/capture.sh).

use serde_json::Value;

use super::*;
use crate::decode::k8s::{parse_objects, ClusterState};
use crate::diagnose::expect_iptables::expected_ports;

const SERVICES: &str = include_str!(
    "../../../../fixtures/checks/nftables-service-missing-upstream-clean/overlay/k8s/services.yaml"
);
const SLICES: &str = include_str!(
    "../../../../fixtures/checks/nftables-service-missing-upstream-clean/overlay/k8s/endpointslices.discovery.k8s.io.yaml"
);
const JSON: &str = include_str!(
    "../../../../fixtures/checks/nftables-service-missing-upstream-clean/overlay/commands/nft-j-list-ruleset.txt"
);

fn ports() -> Vec<ExpectedPort> {
    let mut st = ClusterState::default();
    st.add(parse_objects(SERVICES).expect("services"));
    st.add(parse_objects(SLICES).expect("slices"));
    expected_ports(&st, "node1", 4)
}

/// The captured JSON with `edit` applied to its `nftables` array.
fn edited(edit: impl Fn(&mut Vec<Value>)) -> NftRuleset {
    let mut doc: Value = serde_json::from_str(JSON).expect("json");
    let arr = doc
        .get_mut("nftables")
        .and_then(Value::as_array_mut)
        .expect("nftables array");
    edit(arr);
    crate::decode::nft::parse_nft_json(doc.to_string().as_bytes())
}

#[test]
fn chain_names_match_upstream_vectors() {
    for (base, h) in [
        ("ns1/svc1/tcp/p80", "ULMVA6XW"),
        ("ns2/svc2/tcp/p80", "42NFTM6N"),
        ("ns3/svc3/tcp/p80", "4AT6LBPK"),
        ("ns4/svc4/tcp/p80", "LAUZTJTB"),
        ("ns5/svc5/tcp/p80", "HVFWP5L3"),
        ("ns1/svc1/tcp/p80__10.180.0.1/80", "5OJB2KTY"),
        ("ns2/svc2/tcp/p80__10.180.0.2/80", "SGOXE6O3"),
        ("ns3/svc3/tcp/p80__10.180.0.3/80", "UEIP74TE"),
        ("ns4/svc4/tcp/p80__10.180.0.4/80", "UNZV3OEC"),
        ("ns4/svc4/tcp/p80__10.180.0.5/80", "5RFCDDV7"),
        ("ns5/svc5/tcp/p80__10.180.0.3/80", "GTK6MW7G"),
    ] {
        assert_eq!(hashed(base), format!("{h}-{base}"), "{base}");
    }
    let p = ports();
    let names: Vec<String> = p.iter().map(|p| hashed(&chain_base(p))).collect();
    assert_eq!(names[0], "ULMVA6XW-ns1/svc1/tcp/p80");
}

#[test]
fn every_service_chain_of_the_capture_is_named_as_computed() {
    let rs = crate::decode::nft::parse_nft_json(JSON.as_bytes());
    assert!(rs.errors.is_empty(), "{:?}", rs.errors);
    let computed: BTreeSet<String> = ports()
        .iter()
        .filter(|p| p.has_endpoints())
        .map(|p| format!("service-{}", hashed(&chain_base(p))))
        .collect();
    let captured: BTreeSet<String> = rs
        .chains_of("ip", TABLE)
        .filter(|c| c.name.starts_with("service-") && c.name != "service-endpoints-check")
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(captured, computed);
}

#[test]
fn upstream_expected_ruleset_has_no_difference() {
    let p = ports();
    let rs = crate::decode::nft::parse_nft_json(JSON.as_bytes());
    let d = diff(&p, &rs, 4);
    assert!(!d.no_table);
    assert!(d.missing_maps.is_empty(), "{:?}", d.missing_maps);
    assert!(d.missing.is_empty(), "{:?}", d.missing);
    assert!(d.endpoints.is_empty(), "{:?}", d.endpoints);
    // No IPv6 table in the capture.
    assert!(diff(&p, &rs, 6).no_table);
}

fn is_map(o: &Value, name: &str) -> bool {
    o.get("map")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        == Some(name)
}

#[test]
fn a_missing_element_and_a_moved_endpoint_are_found() {
    let p = ports();
    let rs = edited(|arr| {
        for o in arr.iter_mut() {
            // svc3's ClusterIP element goes.
            if is_map(o, "service-ips") {
                if let Some(Value::Array(elems)) = o.get_mut("map").and_then(|m| m.get_mut("elem"))
                {
                    elems.retain(|e| !e.to_string().contains("172.30.0.43"));
                }
            }
            // svc4's second endpoint chain DNATs somewhere else.
            if o.get("rule")
                .and_then(|r| r.get("chain"))
                .and_then(Value::as_str)
                == Some("endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80")
            {
                let text = o
                    .to_string()
                    .replace("\"addr\":\"10.180.0.5\"", "\"addr\":\"10.180.0.9\"");
                *o = serde_json::from_str(&text).expect("json");
            }
        }
    });
    let d = diff(&p, &rs, 4);
    assert_eq!(d.missing.len(), 1, "{:?}", d.missing);
    assert_eq!(d.missing[0].port.service.name, "svc3");
    assert_eq!(d.endpoints.len(), 1, "{:?}", d.endpoints);
    let (chain, missing, extra) = &d.endpoints[0].chains[0];
    assert_eq!(chain, "service-LAUZTJTB-ns4/svc4/tcp/p80");
    assert_eq!(missing, &vec![("10.180.0.5".parse().expect("ip"), 80)]);
    assert_eq!(extra, &vec![("10.180.0.9".parse().expect("ip"), 80)]);
}

#[test]
fn drop_with_a_local_endpoint_and_no_table_are_found() {
    let mut st = ClusterState::default();
    st.add(parse_objects(SERVICES).expect("services"));
    let slices = SLICES.replacen(
        "    - 10.180.0.2\n    conditions:\n      ready: true\n      serving: true\n      terminating: false\n",
        "    - 10.180.0.2\n    conditions:\n      ready: true\n      serving: true\n      terminating: false\n    nodeName: node1\n",
        1,
    );
    st.add(parse_objects(&slices).expect("slices"));
    let p = expected_ports(&st, "node1", 4);
    let rs = crate::decode::nft::parse_nft_json(JSON.as_bytes());
    let d = diff(&p, &rs, 4);
    let e = d
        .endpoints
        .iter()
        .find(|e| e.port.service.name == "svc2")
        .expect("svc2");
    assert_eq!(e.turned_away.len(), 3, "{:?}", e.turned_away);
    // The local chain the port should now have is not there: nothing to compare, no noise.
    assert!(e.chains.is_empty());

    let empty = crate::decode::nft::parse_nft_json(br#"{"nftables": [{"metainfo": {}}]}"#);
    assert!(diff(&p, &empty, 4).no_table);
    let junk = crate::decode::nft::parse_nft_json(b"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"kube-proxy\"}}, {\"map\": {\"family\": \"ip\", \"table\": \"kube-proxy\", \"name\": \"service-ips\", \"elem\": [[\"x\", 1], 5, {}]}}]}");
    let d = diff(&p, &junk, 4);
    assert_eq!(d.missing_maps, vec!["service-nodeports"]);
}
