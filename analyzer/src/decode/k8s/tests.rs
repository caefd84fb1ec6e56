use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;

fn data(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn motivating(name: &str) -> Vec<K8sObject> {
    parse_objects(&data(&format!("tests/data/k8s/motivating/{name}")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn motivating_state() -> ClusterState {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/k8s/motivating");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "{files:?}");
    let mut state = ClusterState::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        state.add(parse_objects(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display())));
    }
    state
}

/// Time limit for the hostile inputs below: generous for a debug build on a loaded 2-core
/// machine; the measured times are a few milliseconds.
const QUICK: Duration = Duration::from_secs(3);

fn refused_quickly(text: &str) -> K8sDecodeError {
    let started = Instant::now();
    let result = parse_objects(text);
    let took = started.elapsed();
    assert!(took < QUICK, "took {took:?}");
    match result {
        Err(e) => e,
        Ok(objects) => panic!("accepted: {} objects", objects.len()),
    }
}

#[test]
fn motivating_nodeport_service_and_its_slice() {
    let objects = motivating("services.yaml");
    let services: Vec<&Service> = objects
        .iter()
        .filter_map(|o| match o {
            K8sObject::Service(s) => Some(&**s),
            _ => None,
        })
        .collect();
    assert_eq!(services.len(), 3);
    let web = services
        .iter()
        .find(|s| s.metadata.name == "web")
        .expect("web");
    assert_eq!(web.metadata.namespace, "default");
    assert_eq!(web.spec.type_, "NodePort");
    assert_eq!(web.spec.cluster_ip, "10.96.120.15");
    assert_eq!(web.spec.cluster_ips, ["10.96.120.15"]);
    assert_eq!(web.spec.external_traffic_policy, "Cluster");
    assert_eq!(
        web.spec.selector.get("app").map(String::as_str),
        Some("web")
    );
    let port = &web.spec.ports[0];
    assert_eq!(
        (port.port, port.node_port, port.protocol()),
        (80, Some(30081), "TCP")
    );
    assert_eq!(port.target_port, Some(IntOrString::String("http".into())));
    assert!(
        web.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]
            .contains("\"nodePort\":30081")
    );
    let kubernetes = services
        .iter()
        .find(|s| s.metadata.name == "kubernetes")
        .expect("kubernetes");
    assert_eq!(
        kubernetes.spec.ports[0].target_port,
        Some(IntOrString::Int(6443))
    );
    let dns = services
        .iter()
        .find(|s| s.metadata.name == "kube-dns")
        .expect("kube-dns");
    assert_eq!(dns.spec.ports[0].protocol(), "UDP");

    let slices = motivating("endpointslices.discovery.k8s.io.yaml");
    let web_slice = slices
        .iter()
        .find_map(|o| match o {
            K8sObject::EndpointSlice(s) if s.service_name() == Some("web") => Some(s),
            _ => None,
        })
        .expect("web slice");
    assert_eq!(web_slice.address_type, "IPv4");
    assert_eq!(web_slice.ports[0].port, Some(8080));
    assert_eq!(web_slice.endpoints.len(), 2);
    let e = &web_slice.endpoints[0];
    assert_eq!(e.addresses, ["10.244.166.130"]);
    assert_eq!(e.node_name.as_deref(), Some("node1"));
    assert_eq!(e.conditions.ready, Some(true));
    assert_eq!(e.conditions.terminating, Some(false));
    assert_eq!(
        e.target_ref.as_ref().map(|r| r.name.as_str()),
        Some("web-5d9c7b8f6d-abcde")
    );
}

#[test]
fn motivating_kube_proxy_ipvs_and_ipip_always_pool() {
    let state = motivating_state();
    assert!(state.malformed.is_empty(), "{:?}", state.malformed);
    assert!(state.problems.is_empty(), "{:?}", state.problems);

    let kp = state.kube_proxy_config.as_ref().expect("kube-proxy config");
    assert_eq!(kp.mode, "ipvs");
    assert_eq!(kp.effective_mode(), "ipvs");
    assert_eq!(kp.kind, "KubeProxyConfiguration");
    assert_eq!(kp.cluster_cidr, "10.244.0.0/16");
    assert_eq!(kp.bind_address, "0.0.0.0");
    // kubeadm writes `null` for unset fields.
    assert!(kp.ipvs.exclude_cidrs.is_empty());
    assert!(!kp.ipvs.strict_arp);
    assert_eq!(kp.ipvs.scheduler, "");
    assert_eq!(kp.ipvs.tcp_timeout, "0s");
    assert_eq!(kp.iptables.masquerade_bit, None);
    assert_eq!(kp.conntrack.max_per_core, None);
    assert!(kp.node_port_addresses.is_empty());

    let pool = &state.ip_pools[0];
    assert_eq!(state.ip_pools.len(), 1);
    assert_eq!(pool.metadata.name, "default-ipv4-ippool");
    assert_eq!(pool.api_version, "crd.projectcalico.org/v1");
    assert_eq!(pool.spec.cidr, "10.244.0.0/16");
    assert_eq!(pool.spec.ipip_mode, "Always");
    assert_eq!(pool.spec.vxlan_mode, "Never");
    assert!(pool.spec.nat_outgoing);
    assert!(!pool.spec.disabled);
    assert_eq!(pool.spec.block_size, Some(26));
    assert_eq!(pool.spec.node_selector, "all()");

    let ds = &state.daemon_sets[0];
    let c = &ds.spec.template.spec.containers[0];
    assert_eq!(c.image, "registry.k8s.io/kube-proxy:v1.32.4");
    assert_eq!(c.command[1], "--config=/var/lib/kube-proxy/config.conf");
    assert!(ds.spec.template.spec.host_network);
    assert_eq!(ds.status.number_ready, 2);
}

#[test]
fn motivating_nodes_pods_and_calico_objects() {
    let state = motivating_state();
    let node1 = state
        .nodes
        .iter()
        .find(|n| n.metadata.name == "node1")
        .expect("node1");
    assert_eq!(
        node1.addresses_of("InternalIP").collect::<Vec<_>>(),
        ["10.0.0.11"]
    );
    assert_eq!(node1.annotation(CALICO_IPV4_ADDRESS), Some("10.0.0.11/24"));
    assert_eq!(
        node1.annotation(CALICO_IPIP_TUNNEL_ADDR),
        Some("10.244.166.128")
    );
    assert_eq!(node1.spec.pod_cidr, "10.244.0.0/24");
    assert_eq!(node1.spec.pod_cidrs, ["10.244.0.0/24"]);
    assert_eq!(
        node1.condition("Ready").map(|c| c.status.as_str()),
        Some("True")
    );
    assert_eq!(node1.status.node_info.kernel_version, "6.1.0-27-amd64");
    assert_eq!(node1.status.node_info.kube_proxy_version, "v1.32.4");

    assert_eq!(state.pods.len(), 5);
    let web = state
        .pods
        .iter()
        .find(|p| p.metadata.name == "web-5d9c7b8f6d-abcde")
        .expect("web pod");
    assert!(web.is_ready());
    assert!(!web.spec.host_network);
    assert_eq!(web.status.phase, "Running");
    assert_eq!(web.status.pod_ip, "10.244.166.130");
    assert_eq!(web.status.pod_ips[0].ip, "10.244.166.130");
    assert_eq!(web.status.host_ip, "10.0.0.11");
    assert_eq!(web.spec.containers[0].ports[0].container_port, 8080);
    assert_eq!(web.spec.containers[0].ports[0].name, "http");
    let kp = state
        .pods
        .iter()
        .find(|p| p.metadata.labels.get("k8s-app").map(String::as_str) == Some("kube-proxy"))
        .expect("kube-proxy pod");
    assert!(kp.spec.host_network);

    assert_eq!(state.endpoints.len(), 2);
    let ep = state
        .endpoints
        .iter()
        .find(|e| e.metadata.name == "web")
        .expect("web endpoints");
    assert_eq!(ep.subsets[0].addresses.len(), 2);
    assert_eq!(
        ep.subsets[0].addresses[0].node_name.as_deref(),
        Some("node2")
    );

    assert_eq!(state.calico_nodes.len(), 2);
    let bgp = state.calico_nodes[0].spec.bgp.as_ref().expect("bgp");
    assert_eq!(bgp.ipv4_ipip_tunnel_addr, "10.244.166.128");
    assert_eq!(state.felix_configurations.len(), 1);
    assert_eq!(
        state.felix_configurations[0].spec.extra.get("floatingIPs"),
        Some(&Value::from("Disabled"))
    );
    assert!(state.bgp_configurations.is_empty());

    let np = &state.network_policies[0];
    assert_eq!(np.metadata.name, "allow-web");
    assert_eq!(np.spec.policy_types, ["Ingress"]);
    assert_eq!(
        np.spec
            .pod_selector
            .match_labels
            .get("app")
            .map(String::as_str),
        Some("web")
    );
    assert_eq!(np.spec.ingress.len(), 1);
}

#[test]
fn multi_document_yaml_with_managed_fields() {
    let objects = parse_objects(&data("tests/data/k8s/hand/multi-doc.yaml")).expect("parses");
    assert_eq!(objects.len(), 4, "{objects:?}");
    let K8sObject::Service(web) = &objects[0] else {
        panic!("{:?}", objects[0])
    };
    assert_eq!(web.spec.external_traffic_policy, "Local");
    assert_eq!(web.spec.health_check_node_port, Some(31942));
    assert_eq!(web.spec.session_affinity, "ClientIP");
    assert_eq!(
        web.spec.session_affinity_config.client_ip.timeout_seconds,
        Some(10800)
    );
    assert_eq!(web.spec.ports[0].target_port, Some(IntOrString::Int(8080)));
    let K8sObject::IpPool(pool) = &objects[1] else {
        panic!("{:?}", objects[1])
    };
    assert_eq!(pool.api_version, "projectcalico.org/v3");
    assert_eq!(pool.spec.ipip_mode, "Never");
    assert_eq!(pool.spec.vxlan_mode, "CrossSubnet");
    let K8sObject::Service(lb) = &objects[2] else {
        panic!("{:?}", objects[2])
    };
    assert_eq!(lb.spec.allocate_load_balancer_node_ports, Some(false));
    assert_eq!(lb.spec.external_ips, ["192.0.2.10"]);
    assert_eq!(lb.spec.load_balancer_ip, "192.0.2.20");
    assert_eq!(lb.status.load_balancer.ingress[0].ip, "192.0.2.20");
    assert_eq!(lb.status.load_balancer.ingress[0].ip_mode, "VIP");
    assert_eq!(lb.spec.ports[0].node_port, None);
    assert_eq!(
        objects[3],
        K8sObject::Other(ObjectId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "default".into(),
            name: "web".into(),
        })
    );
}

#[test]
fn typed_list_json_as_the_api_server_returns_it() {
    // The API server's ServiceList leaves apiVersion and kind out of each item.
    let text = data("../tests/data/apiserver/api/v1/services.json");
    assert!(!text.contains("\"kind\": \"Service\""));
    let objects = parse_objects(&text).expect("parses");
    assert_eq!(objects.len(), 3);
    assert!(objects.iter().all(|o| matches!(o, K8sObject::Service(_))));
    // A single object in JSON.
    let cm =
        data("../tests/data/apiserver/api/v1/namespaces/kube-system/configmaps/kube-proxy.json");
    let mut state = ClusterState::new();
    state.add(parse_objects(&cm).expect("parses"));
    assert_eq!(
        state.kube_proxy_config.as_ref().map(|c| c.mode.as_str()),
        Some("ipvs")
    );
    // The same objects through YAML and JSON agree.
    let yaml = motivating("ippools.crd.projectcalico.org.yaml");
    let json = parse_objects(&data(
        "../tests/data/apiserver/apis/crd.projectcalico.org/v1/ippools.json",
    ))
    .expect("parses");
    assert_eq!(yaml, json);
}

#[test]
fn one_odd_object_does_not_hide_the_others() {
    let text = "apiVersion: v1\nkind: List\nitems:\n\
        - apiVersion: v1\n  kind: Service\n  metadata: {name: bad, namespace: x}\n  spec:\n    ports: [{port: eighty}]\n\
        - apiVersion: v1\n  kind: Service\n  metadata: {name: good, namespace: x}\n  spec:\n    ports: [{port: 80}]\n\
        - null\n";
    let objects = parse_objects(text).expect("parses");
    assert_eq!(objects.len(), 3);
    // The odd field is left out of its object, which stays, and named right after it.
    assert!(
        matches!(&objects[0], K8sObject::Service(s) if s.metadata.name == "bad" && s.spec.ports[0].port == 0)
    );
    match &objects[1] {
        K8sObject::UnreadableField { id, path, error } => {
            assert_eq!(id.to_string(), "Service x/bad");
            assert_eq!(path, ".spec.ports[0].port");
            assert!(error.contains("eighty"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&objects[2], K8sObject::Service(s) if s.spec.ports[0].port == 80));
    let mut state = ClusterState::new();
    state.add(objects);
    assert_eq!(state.services.len(), 2);
    assert_eq!(state.unreadable_fields.len(), 1);
}

#[test]
fn lenient_scalars_tags_and_odd_keys() {
    let text =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: {enabled: true, n: 3}\n\
        data:\n  a: !custom x\n  1: one\n  empty:\n";
    let objects = parse_objects(text).expect("parses");
    let K8sObject::ConfigMap(cm) = &objects[0] else {
        panic!("{objects:?}")
    };
    assert_eq!(cm.metadata.labels["enabled"], "true");
    assert_eq!(cm.metadata.labels["n"], "3");
    assert_eq!(cm.data["a"], "x");
    assert_eq!(cm.data["1"], "one");
    assert!(!cm.data.contains_key("empty"));
}

#[test]
fn empty_and_non_object_inputs() {
    assert_eq!(parse_objects("").expect("empty"), Vec::new());
    assert_eq!(parse_objects("---\n---\n").expect("empty docs"), Vec::new());
    assert_eq!(
        parse_objects("No resources found in default namespace.\n"),
        Err(K8sDecodeError::NotAnObject {
            document: 1,
            found: "a string"
        })
    );
    assert!(matches!(
        parse_objects("a: [unclosed\n"),
        Err(K8sDecodeError::Yaml { .. })
    ));
}

#[test]
fn kube_proxy_config_problems_are_reported() {
    let text =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-proxy, namespace: kube-system}\n\
        data:\n  config.conf: \"mode: [ipvs\"\n";
    let mut state = ClusterState::new();
    state.add(parse_objects(text).expect("parses"));
    assert!(state.kube_proxy_config.is_none());
    assert_eq!(state.problems.len(), 1, "{:?}", state.problems);
    assert!(
        state.problems[0].contains("config.conf"),
        "{:?}",
        state.problems
    );
}

#[test]
fn adding_the_same_object_twice_replaces_it() {
    let mut state = ClusterState::new();
    state.add(motivating("services.yaml"));
    state.add(motivating("services.yaml"));
    assert_eq!(state.services.len(), 3);
}

// ---- hostile input -----------------------------------------------------------------------

/// yaml_serde on its own: the classic billion laughs is stopped by its repetition limit.
#[test]
fn yaml_serde_alone_stops_the_classic_billion_laughs() {
    let started = Instant::now();
    let r: Result<yaml_serde::Value, _> = yaml_serde::from_str(&billion_laughs());
    let e = r.expect_err("refused");
    assert!(e.to_string().contains("repetition limit"), "{e}");
    assert!(started.elapsed() < QUICK);
}

fn billion_laughs() -> String {
    let mut s = String::from("kind: List\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        s += &format!("a{i}: &a{i} [{refs}]\n");
    }
    s += "items: [*a8]\n";
    s
}

#[test]
fn billion_laughs_is_refused() {
    let e = refused_quickly(&billion_laughs());
    assert!(matches!(e, K8sDecodeError::AliasExpansion { .. }), "{e}");
    assert!(e.to_string().contains("alias bomb"), "{e}");
}

/// One large anchor aliased many times passes yaml_serde's repetition limit (each alias is one
/// jump) and expands quadratically; measured without the guard: 159 KB, 78 s, 16 GB.
#[test]
fn one_big_anchor_aliased_many_times_is_refused() {
    let mut s = String::from("kind: List\nbig: &b\n");
    for i in 0..10_000 {
        s += &format!("  k{i}: v\n");
    }
    s += "items:\n";
    for _ in 0..10_000 {
        s += "- *b\n";
    }
    let e = refused_quickly(&s);
    assert!(matches!(e, K8sDecodeError::AliasExpansion { .. }), "{e}");
}

/// A long string aliased many times: bytes count, not only values.
#[test]
fn one_long_string_aliased_many_times_is_refused() {
    let mut s = format!("kind: ConfigMap\nbig: &b {}\ndata:\n", "x".repeat(100_000));
    for i in 0..2_000 {
        s += &format!("  k{i}: *b\n");
    }
    let e = refused_quickly(&s);
    assert!(matches!(e, K8sDecodeError::AliasExpansion { .. }), "{e}");
}

#[test]
fn a_few_small_aliases_are_fine() {
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels: &l {app: web}\n\
        spec:\n  selector: *l\n";
    let objects = parse_objects(text).expect("parses");
    let K8sObject::Service(s) = &objects[0] else {
        panic!("{objects:?}")
    };
    assert_eq!(s.spec.selector["app"], "web");
}

/// Without the guard, 120 KB of nested `[` (one per line) took yaml_serde 9 s and 2 MB on one
/// line did not finish in a minute.
#[test]
fn deep_flow_nesting_is_refused() {
    for text in [
        format!(
            "kind: List\nitems: {}{}\n",
            "[".repeat(1_000_000),
            "]".repeat(1_000_000)
        ),
        format!(
            "kind: List\nitems: {}{}\n",
            "[\n  ".repeat(100_000),
            "]".repeat(100_000)
        ),
        format!(
            "kind: List\nitems: [{}1{}]\n",
            "{a: ".repeat(200_000),
            "}".repeat(200_000)
        ),
        // Closing brackets hidden in quoted strings do not lower the count.
        format!("kind: List\nitems: {}\n", "[ \"]\", ".repeat(200_000)),
    ] {
        let e = refused_quickly(&text);
        assert!(matches!(e, K8sDecodeError::TooDeep { .. }), "{e}");
    }
}

/// saphyr-parser is stricter than libyaml about flow content at column 0 and refuses it as
/// invalid indentation, before any depth is reached.
#[test]
fn deep_flow_nesting_at_column_zero_is_refused() {
    let text = format!(
        "kind: List\nitems: {}{}\n",
        "[\n".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = refused_quickly(&text);
    assert!(matches!(e, K8sDecodeError::Yaml { .. }), "{e}");
}

#[test]
fn deep_block_nesting_is_refused() {
    let text = format!("kind: List\nitems:\n{}x\n", "- ".repeat(100_000));
    let e = refused_quickly(&text);
    assert!(matches!(e, K8sDecodeError::TooDeep { .. }), "{e}");
    let mut text = String::from("kind: List\n");
    for depth in 0..200 {
        text += &format!("{}k{depth}:\n", "  ".repeat(depth));
    }
    let e = refused_quickly(&text);
    assert!(matches!(e, K8sDecodeError::TooDeep { .. }), "{e}");
}

#[test]
fn deep_json_is_refused() {
    let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = refused_quickly(&text);
    assert!(matches!(e, K8sDecodeError::TooDeep { .. }), "{e}");
    // Deeper than our limit but within serde_json's.
    let text = format!(
        "{{\"kind\":\"List\",\"items\":{}{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    let e = refused_quickly(&text);
    assert!(matches!(e, K8sDecodeError::TooDeep { .. }), "{e}");
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let limits = Limits {
        max_input_bytes: 1000,
        ..Limits::default()
    };
    let text = format!("kind: List\nitems: []\n#{}\n", "x".repeat(2000));
    assert_eq!(
        parse_objects_with(&text, &limits),
        Err(K8sDecodeError::TooLarge {
            size: text.len(),
            limit: 1000
        })
    );
}

/// Every prefix of a real file is either objects or an error, never a panic.
#[test]
fn truncated_input_never_panics() {
    let text = data("tests/data/k8s/motivating/pods.yaml");
    for cut in (0..text.len()).step_by(97) {
        if let Some(prefix) = text.get(..cut) {
            let _ = parse_objects(prefix);
        }
    }
}

/// A list large enough to be read on all cores gives the objects the one-pass reader gives,
/// in the same order: for a `List` (items carry their kind) and a typed list (they take the
/// list's), with an item of an unreadable field and a non-object item among them.
#[test]
fn a_large_list_types_the_same_in_parallel() {
    for (list_kind, item_kind) in [("List", "kind: Service\n  "), ("ServiceList", "")] {
        let mut text = format!("apiVersion: v1\nkind: {list_kind}\nitems:\n");
        for i in 0..9000 {
            let port = if i == 4321 { "http" } else { "80" };
            text.push_str(&format!(
                "- apiVersion: v1\n  {item_kind}metadata:\n    name: svc-{i}\n    namespace: ns-{}\n  \
                 spec:\n    clusterIP: 10.96.{}.{}\n    ports:\n    - port: {port}\n      protocol: TCP\n",
                i % 7,
                i / 250,
                i % 250,
            ));
            if i == 100 {
                text.push_str("- 42\n");
            }
        }
        text.push_str("metadata:\n  resourceVersion: \"\"\n");
        assert!(text.len() > 1 << 20, "{}", text.len());
        let split = yaml::load_list_in_parallel(&text, 64, |_| 1 << 30, |_, v| v);
        assert!(split.is_some(), "{list_kind}: not read in parallel");
        let parallel = parse_objects(&text).expect("parallel");
        let mut one_pass = Vec::new();
        let docs = yaml::load(&text, 64, 1 << 30).expect("one pass");
        for doc in docs {
            if let Value::Object(map) = doc {
                classify(map, None, 0, &mut one_pass);
            }
        }
        // 9000 Services, and the one unreadable field of svc-4321 right after it.
        assert_eq!(parallel.len(), 9001, "{list_kind}");
        assert_eq!(parallel, one_pass, "{list_kind}");
        assert!(matches!(parallel[0], K8sObject::Service(_)), "{list_kind}");
        assert!(
            matches!(&parallel[4321], K8sObject::Service(s) if s.metadata.name == "svc-4321"),
            "{list_kind}"
        );
        assert!(
            matches!(&parallel[4322], K8sObject::UnreadableField { path, .. } if path == ".spec.ports[0].port"),
            "{list_kind}"
        );
    }
}
