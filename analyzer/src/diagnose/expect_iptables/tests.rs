//! The chain-name hashes are checked against the names in kube-proxy's own expected output
//! (`pkg/proxy/iptables/proxier_test.go`, `TestOverallIPTablesRules`), and the whole model
//! against that output as `iptables-legacy-save` printed it after restoring it in a network
//! namespace (fixtures/checks/iptables-service-rules-missing-upstream-clean/capture.sh).

use super::*;
use crate::decode::iptables::parse_iptables_save;
use crate::decode::k8s::parse_objects;

const SERVICES: &str = include_str!(
    "../../../../fixtures/checks/iptables-service-rules-missing-upstream-clean/overlay/k8s/services.yaml"
);
const SLICES: &str = include_str!(
    "../../../../fixtures/checks/iptables-service-rules-missing-upstream-clean/overlay/k8s/endpointslices.discovery.k8s.io.yaml"
);
const SAVED: &str = include_str!(
    "../../../../fixtures/checks/iptables-service-rules-missing-upstream-clean/overlay/commands/iptables-legacy-save.txt"
);
/// kube-proxy's node name in the fixture (upstream's `testNodeName`).
const NODE: &str = "node1";

fn cluster() -> ClusterState {
    let mut st = ClusterState::default();
    st.add(parse_objects(SERVICES).expect("services"));
    st.add(parse_objects(SLICES).expect("slices"));
    st
}

#[test]
fn base32_rfc4648_vectors() {
    // RFC 4648 section 10, without the padding kube-proxy never reaches.
    for (input, want) in [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ] {
        assert_eq!(base32(input.as_bytes()), want, "{input:?}");
    }
}

#[test]
fn chain_names_match_upstream_vectors() {
    for (spn, hash) in [
        ("ns1/svc1:p80", "XPGD46QRK7WJZT7O"),
        ("ns2/svc2:p80", "GNZBNJ2PO5MGZ6GT"),
        ("ns3/svc3:p80", "X27LE4BHSL4DOUIK"),
        ("ns4/svc4:p80", "4SW47YFZTEDKD3PK"),
        ("ns5/svc5:p80", "NUKIZ6OKUXPJNT4C"),
    ] {
        assert_eq!(service_hash(spn, "tcp"), hash, "{spn}");
    }
    for (spn, ep, chain) in [
        ("ns1/svc1:p80", "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"),
        ("ns2/svc2:p80", "10.180.0.2:80", "KUBE-SEP-RS4RBKLTHTF2IUXJ"),
        ("ns3/svc3:p80", "10.180.0.3:80", "KUBE-SEP-OYPFS5VJICHGATKP"),
        ("ns4/svc4:p80", "10.180.0.4:80", "KUBE-SEP-UKSFD7AGPMPPLUHC"),
        ("ns4/svc4:p80", "10.180.0.5:80", "KUBE-SEP-C6EBXVWJJZMIWKLZ"),
        ("ns5/svc5:p80", "10.180.0.3:80", "KUBE-SEP-I77PXRDZVX7PMWMN"),
    ] {
        assert_eq!(endpoint_chain(spn, "tcp", ep), chain, "{spn} {ep}");
    }
    assert_eq!(
        chain_hash("KUBE-EXT-XPGD46QRK7WJZT7O"),
        Some("XPGD46QRK7WJZT7O")
    );
    assert_eq!(chain_hash("KUBE-SEP-SXIVWICOYRO3J4NJ"), None);
    assert_eq!(chain_hash("KUBE-SVC-short"), None);
}

#[test]
fn every_chain_of_the_saved_dump_is_named_as_computed() {
    let save = parse_iptables_save(SAVED);
    assert!(save.errors.is_empty(), "{:?}", save.errors);
    let nat = save.table("nat").expect("nat");
    let ports = expected_ports(&cluster(), NODE, 4);
    assert_eq!(ports.len(), 6);
    let mut computed: BTreeSet<String> = BTreeSet::new();
    for p in &ports {
        let name = p.name();
        for ep in &p.cluster_eps {
            computed.insert(endpoint_chain(&name, "tcp", &endpoint_string(*ep)));
        }
    }
    let declared: BTreeSet<String> = nat
        .chains
        .iter()
        .filter(|c| c.name.starts_with("KUBE-SEP-"))
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(declared, computed);
    let known = known_hashes(&cluster());
    for c in nat.chains.iter().filter_map(|c| chain_hash(&c.name)) {
        assert!(known.contains(c), "{c}");
    }
}

#[test]
fn upstream_expected_output_has_no_difference() {
    let save = parse_iptables_save(SAVED);
    let st = cluster();
    let ports = expected_ports(&st, NODE, 4);
    let d = diff(&ports, &known_hashes(&st), &save);
    assert!(!d.no_kube_services);
    assert!(d.missing_hooks.is_empty(), "{:?}", d.missing_hooks);
    assert!(d.missing.is_empty(), "{:?}", d.missing);
    assert!(d.endpoints.is_empty(), "{:?}", d.endpoints);
    assert!(d.stale.is_empty(), "{:?}", d.stale);
    assert_eq!(d.weight(), 0);
    // The model's view of the scenario, as upstream's comments describe it.
    let svc2 = ports
        .iter()
        .find(|p| p.service.name == "svc2")
        .expect("svc2");
    assert!(svc2.etp_local && svc2.local_eps.is_empty() && svc2.has_endpoints());
    let svc4 = ports
        .iter()
        .find(|p| p.service.name == "svc4")
        .expect("svc4");
    assert_eq!(svc4.cluster_eps.len(), 2);
    assert_eq!(svc4.local_eps.len(), 1);
    let svc6 = ports
        .iter()
        .find(|p| p.service.name == "svc6")
        .expect("svc6");
    assert!(!svc6.has_endpoints());
}

/// The saved dump with lines removed, and lines added before the first line containing a
/// needle.
fn edited(remove: &[&str], add: &[(&str, &str)]) -> IptablesSave {
    let mut out = String::new();
    let mut done = vec![false; add.len()];
    for l in SAVED.lines() {
        if remove.iter().any(|r| l.contains(r)) {
            continue;
        }
        for (i, (before, line)) in add.iter().enumerate() {
            if !done[i] && l.contains(before) {
                done[i] = true;
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push_str(l);
        out.push('\n');
    }
    parse_iptables_save(&out)
}

#[test]
fn a_missing_endpoint_and_a_missing_service_rule_are_found() {
    let st = cluster();
    let ports = expected_ports(&st, NODE, 4);
    let known = known_hashes(&st);
    // svc4 loses its jump to 10.180.0.5's chain; svc3 its ClusterIP rule.
    let save = edited(
        &[
            "-j KUBE-SEP-C6EBXVWJJZMIWKLZ",
            "\"ns3/svc3:p80 cluster IP\" -m tcp --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK",
        ],
        &[],
    );
    let d = diff(&ports, &known, &save);
    assert_eq!(d.endpoints.len(), 1, "{:?}", d.endpoints);
    let e = &d.endpoints[0];
    assert_eq!(e.port.service.name, "svc4");
    assert_eq!(e.chains[0].chain, "KUBE-SVC-4SW47YFZTEDKD3PK");
    assert_eq!(
        e.chains[0].missing,
        vec![("10.180.0.5".parse().expect("ip"), 80)]
    );
    assert!(e.chains[0].extra.is_empty());
    assert_eq!(d.missing.len(), 1, "{:?}", d.missing);
    assert_eq!(d.missing[0].port.service.name, "svc3");
    assert_eq!(
        d.missing[0].entries,
        vec![Entry::ClusterIp("172.30.0.43".parse().expect("ip"))]
    );
    assert!(d.stale.is_empty());
}

#[test]
fn a_stale_service_chain_and_a_reject_with_endpoints_are_found() {
    let st = cluster();
    let ports = expected_ports(&st, NODE, 4);
    let known = known_hashes(&st);
    let stale = endpoint_chain("ns7/gone:p80", "tcp", "10.180.0.9:80");
    let svc = format!("KUBE-SVC-{}", service_hash("ns7/gone:p80", "tcp"));
    let save = edited(
        &[],
        &[
            (
                ":KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]",
                &format!(":{svc} - [0:0]"),
            ),
            (
                ":KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]",
                &format!(":{stale} - [0:0]"),
            ),
            (
                "-A KUBE-SVC-XPGD46QRK7WJZT7O",
                &format!(
                    "-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment \"ns7/gone:p80 cluster IP\" -m tcp --dport 80 -j {svc}"
                ),
            ),
        ],
    );
    let d = diff(&ports, &known, &save);
    assert_eq!(d.stale.len(), 1, "{:?}", d.stale);
    assert_eq!(d.stale[0].chain, svc);
    assert_eq!(d.stale[0].referenced_by.len(), 1);
    assert_eq!(d.stale[0].hijacks, vec!["ns1/svc1:p80 172.30.0.41:80/tcp"]);

    // svc6 gets an endpoint, but the dump still rejects its ClusterIP.
    let mut st = cluster();
    let extra = SLICES
        .replace(
            "name: svc1-1\n    namespace: ns1",
            "name: svc6-1\n    namespace: ns6",
        )
        .replace(
            "kubernetes.io/service-name: svc1",
            "kubernetes.io/service-name: svc6",
        );
    st.add(parse_objects(&extra).expect("slices"));
    let ports = expected_ports(&st, NODE, 4);
    let saved = parse_iptables_save(SAVED);
    let d = diff(&ports, &known_hashes(&st), &saved);
    // Reported once: as the missing ClusterIP rule, with the REJECT standing in for it.
    let m = d
        .missing
        .iter()
        .find(|m| m.port.service.name == "svc6")
        .expect("svc6");
    assert_eq!(m.rejects.len(), 1);
    assert!(m.rejects[0].raw.contains("has no endpoints"));
    assert!(!d.endpoints.iter().any(|e| e.port.service.name == "svc6"));
    // With the nat rule there too (a half-applied sync), the REJECT is endpoint trouble.
    let both = edited(
        &[],
        &[(
            "-A KUBE-SERVICES -d 172.30.0.41/32",
            &format!(
                "-A KUBE-SERVICES -d 172.30.0.46/32 -p tcp -m comment --comment \"ns6/svc6:p80 cluster IP\" -m tcp --dport 80 -j KUBE-SVC-{}",
                service_hash("ns6/svc6:p80", "tcp")
            ),
        )],
    );
    let d = diff(&ports, &known_hashes(&st), &both);
    assert!(!d.missing.iter().any(|m| m.port.service.name == "svc6"));
    let e = d
        .endpoints
        .iter()
        .find(|e| e.port.service.name == "svc6")
        .expect("svc6");
    assert_eq!(e.rejects.len(), 1);
}

#[test]
fn drop_with_a_local_endpoint_is_found() {
    // svc2's endpoint moves to this node: the "has no local endpoints" DROPs are now wrong.
    let mut st = ClusterState::default();
    st.add(parse_objects(SERVICES).expect("services"));
    let slices = SLICES.replacen(
        "    - 10.180.0.2\n    conditions:\n      ready: true\n      serving: true\n      terminating: false\n",
        "    - 10.180.0.2\n    conditions:\n      ready: true\n      serving: true\n      terminating: false\n    nodeName: node1\n",
        1,
    );
    st.add(parse_objects(&slices).expect("slices"));
    let ports = expected_ports(&st, NODE, 4);
    let saved = parse_iptables_save(SAVED);
    let d = diff(&ports, &known_hashes(&st), &saved);
    let e = d
        .endpoints
        .iter()
        .find(|e| e.port.service.name == "svc2")
        .expect("svc2");
    assert_eq!(e.drops.len(), 3, "externalIP, LB IP and NodePort");
}

#[test]
fn an_older_generation_with_xlb_chains_is_accepted() {
    // kube-proxy before 1.24 for an ETP=Local NodePort with a local endpoint (no KUBE-EXT /
    // KUBE-SVL; KUBE-NODEPORTS jumps to KUBE-XLB, which jumps to the local endpoint).
    let h = service_hash("default/web:http", "tcp");
    let sep = endpoint_chain("default/web:http", "tcp", "10.244.0.5:8080");
    let sep2 = endpoint_chain("default/web:http", "tcp", "10.244.1.3:8080");
    let text = format!(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-SVC-{h} - [0:0]\n:KUBE-XLB-{h} - [0:0]\n:{sep} - [0:0]\n:{sep2} - [0:0]\n\
-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/web:http\" -m tcp --dport 30081 -j KUBE-XLB-{h}\n\
-A KUBE-SERVICES -d 10.96.100.50/32 -p tcp -m comment --comment \"default/web:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-{h}\n\
-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n\
-A KUBE-SVC-{h} -m comment --comment \"default/web:http\" -m statistic --mode random --probability 0.50000000000 -j {sep}\n\
-A KUBE-SVC-{h} -m comment --comment \"default/web:http\" -j {sep2}\n\
-A KUBE-XLB-{h} -m comment --comment \"Balancing rule 0 for default/web:http\" -j {sep}\n\
-A {sep} -p tcp -m comment --comment \"default/web:http\" -m tcp -j DNAT --to-destination 10.244.0.5:8080\n\
-A {sep2} -p tcp -m comment --comment \"default/web:http\" -m tcp -j DNAT --to-destination 10.244.1.3:8080\nCOMMIT\n"
    );
    let yaml = "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: web\n    namespace: default\n  spec:\n    clusterIP: 10.96.100.50\n    externalTrafficPolicy: Local\n    ports:\n    - name: http\n      nodePort: 30081\n      port: 80\n      protocol: TCP\n    type: NodePort\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata:\n    name: web-1\n    namespace: default\n    labels:\n      kubernetes.io/service-name: web\n  addressType: IPv4\n  endpoints:\n  - addresses: [10.244.0.5]\n    nodeName: node1\n  - addresses: [10.244.1.3]\n    nodeName: node2\n  ports:\n  - name: http\n    port: 8080\n    protocol: TCP\nkind: List\n";
    let mut st = ClusterState::default();
    st.add(parse_objects(yaml).expect("yaml"));
    let ports = expected_ports(&st, NODE, 4);
    let save = parse_iptables_save(&text);
    let d = diff(&ports, &known_hashes(&st), &save);
    assert_eq!(d.weight(), 0, "{d:?}");
    // Seen from node2, the XLB chain sends to the wrong (non-local) endpoint.
    let ports = expected_ports(&st, "node2", 4);
    let d = diff(&ports, &known_hashes(&st), &save);
    assert_eq!(d.endpoints.len(), 1, "{d:?}");
    assert_eq!(d.endpoints[0].chains[0].chain, format!("KUBE-XLB-{h}"));
}

#[test]
fn no_kube_proxy_chains_and_hostile_input() {
    let st = cluster();
    let ports = expected_ports(&st, NODE, 4);
    let empty = parse_iptables_save("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
    let d = diff(&ports, &known_hashes(&st), &empty);
    assert!(d.no_kube_services);
    assert!(d.missing.is_empty(), "reported once, as the missing chain");
    let junk = parse_iptables_save("*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 999.1.1.1/33 -p tcp --dport 99999 -j KUBE-SVC-\n-A KUBE-SVC-XPGD46QRK7WJZT7O -j KUBE-SEP-X\n-A KUBE-SEP-X -j DNAT --to-destination garbage\nCOMMIT\n");
    let d = diff(&ports, &known_hashes(&st), &junk);
    assert!(!d.no_kube_services);
}

#[test]
fn load_balancer_ips_in_proxy_mode_get_no_rules() {
    // KEP-1860: an ingress with ipMode Proxy is not programmed by kube-proxy.
    let services = SERVICES.replace(
        "      - ip: 5.6.7.8\n        ipMode: VIP",
        "      - ip: 5.6.7.8\n        ipMode: Proxy",
    );
    assert_ne!(services, SERVICES);
    let mut st = ClusterState::default();
    st.add(parse_objects(&services).expect("services"));
    st.add(parse_objects(SLICES).expect("slices"));
    let ports = expected_ports(&st, NODE, 4);
    let svc5 = ports
        .iter()
        .find(|p| p.service.name == "svc5")
        .expect("svc5");
    assert!(svc5.lb_ips.is_empty());
    let svc2 = ports
        .iter()
        .find(|p| p.service.name == "svc2")
        .expect("svc2");
    assert_eq!(svc2.lb_ips, vec!["1.2.3.4".parse::<IpAddr>().expect("ip")]);
}

/// A cluster of `n` NodePort Services with `eps` endpoints each and the rules kube-proxy writes
/// for it, in iptables-save syntax.
fn synthetic(n: usize, eps: usize) -> (ClusterState, String) {
    let mut yaml = String::from("apiVersion: v1\nkind: List\nitems:\n");
    let mut nat = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n\
         -A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\n\
         -A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n",
    );
    for i in 0..n {
        let (ns, name) = (format!("ns{}", i % 50), format!("svc{i}"));
        let ip = format!("10.96.{}.{}", i / 250, i % 250 + 1);
        let np = 30000 + i;
        yaml.push_str(&format!(
            "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: {name}\n    namespace: {ns}\n  spec:\n    type: NodePort\n    clusterIP: {ip}\n    ports:\n    - name: http\n      port: 80\n      nodePort: {np}\n      protocol: TCP\n"
        ));
        yaml.push_str(&format!(
            "- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  addressType: IPv4\n  metadata:\n    name: {name}-x\n    namespace: {ns}\n    labels:\n      kubernetes.io/service-name: {name}\n  ports:\n  - name: http\n    port: 8080\n    protocol: TCP\n  endpoints:\n"
        ));
        let spn = format!("{ns}/{name}:http");
        let h = service_hash(&spn, "tcp");
        nat.push_str(&format!(
            ":KUBE-SVC-{h} - [0:0]\n:KUBE-EXT-{h} - [0:0]\n\
             -A KUBE-SERVICES -d {ip}/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-{h}\n\
             -A KUBE-NODEPORTS -p tcp -m tcp --dport {np} -j KUBE-EXT-{h}\n\
             -A KUBE-EXT-{h} -j KUBE-SVC-{h}\n"
        ));
        for e in 0..eps {
            let ep = format!("10.244.{}.{}", (i * eps + e) / 250, (i * eps + e) % 250 + 1);
            yaml.push_str(&format!(
                "  - addresses: [{ep}]\n    nodeName: node{}\n",
                e % 3
            ));
            let sep = endpoint_chain(&spn, "tcp", &format!("{ep}:8080"));
            nat.push_str(&format!(
                ":{sep} - [0:0]\n-A KUBE-SVC-{h} -j {sep}\n\
                 -A {sep} -p tcp -m tcp -j DNAT --to-destination {ep}:8080\n"
            ));
        }
    }
    nat.push_str("COMMIT\n");
    let mut st = ClusterState::default();
    st.add(parse_objects(&yaml).expect("yaml"));
    (st, nat)
}

#[test]
fn thousands_of_services_compare_in_linear_time() {
    let (st, text) = synthetic(2000, 10);
    let save = parse_iptables_save(&text);
    let started = std::time::Instant::now();
    let ports = expected_ports(&st, NODE, 4);
    assert_eq!(ports.len(), 2000);
    let d = diff(&ports, &known_hashes(&st), &save);
    let took = started.elapsed();
    assert_eq!(d.weight(), 0, "{:?}", d.missing.first());
    // One Service losing its rules and one endpoint is found among them.
    let svc = format!("KUBE-SVC-{}", service_hash("ns7/svc7:http", "tcp"));
    let cut: String = text
        .lines()
        .filter(|l| !(l.starts_with("-A KUBE-SERVICES") && l.ends_with(&svc)))
        .filter(|l| !l.contains("--to-destination 10.244.0.1:8080"))
        .map(|l| format!("{l}\n"))
        .collect();
    let save = parse_iptables_save(&cut);
    let d = diff(&ports, &known_hashes(&st), &save);
    assert_eq!(d.missing.len(), 1);
    assert_eq!(d.missing[0].port.service.name, "svc7");
    assert_eq!(d.endpoints.len(), 1);
    assert_eq!(d.endpoints[0].port.service.name, "svc0");
    eprintln!("expectation and diff of 2,000 Services x 10 endpoints: {took:?}");
}
