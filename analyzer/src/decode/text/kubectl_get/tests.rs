use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::*;
use crate::decode::k8s::{parse_objects, K8sObject};
use crate::decode::text::{decode_text, TextContent, TextFile};

pub(crate) fn data(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pasted/kubectl")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The objects kubectl 1.32 printed the pasted text from: the nodeport-30081 fixture's YAML.
pub(crate) fn fixture_objects() -> Vec<K8sObject> {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/nodeport-30081/1-modules-missing/bundle/k8s");
    let mut out = Vec::new();
    for f in [
        "services.yaml",
        "endpoints.yaml",
        "endpointslices.discovery.k8s.io.yaml",
        "pods.yaml",
        "nodes.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(f)).expect("fixture");
        out.extend(parse_objects(&text).expect("fixture YAML"));
    }
    out
}

fn at(v: &Value, path: &[&str]) -> Value {
    match (path.split_first(), v) {
        (None, v) => v.clone(),
        (Some(_), Value::Array(a)) => Value::Array(a.iter().map(|e| at(e, path)).collect()),
        (Some((k, rest)), Value::Object(m)) => at(m.get(*k).unwrap_or(&Value::Null), rest),
        (Some(_), _) => Value::Null,
    }
}

/// Whether every element (list) or entry (map) of `part` is in `whole`.
fn within(part: &Value, whole: &Value) -> bool {
    match (part, whole) {
        (Value::Array(p), Value::Array(w)) => p.iter().all(|e| w.contains(e)),
        (Value::Object(p), Value::Object(w)) => p.iter().all(|(k, v)| w.get(k) == Some(v)),
        (p, w) => p == w,
    }
}

/// Asserts that a partial object agrees with the full one on every field it shows, in full or
/// in part; returns how many fields were compared.
pub(crate) fn agree<T: Serialize>(partial: &Partial<T>, full: &T) -> usize {
    let p = serde_json::to_value(&partial.value).expect("json");
    let f = serde_json::to_value(full).expect("json");
    let mut n = 0;
    for path in &partial.shown {
        if path.starts_with("subsets") {
            continue;
        }
        let k: Vec<&str> = path.split('.').collect();
        assert_eq!(at(&p, &k), at(&f, &k), "line {}: {path}", partial.line);
        n += 1;
    }
    for path in &partial.partly_shown {
        if path.starts_with("subsets") {
            continue;
        }
        let k: Vec<&str> = path.split('.').collect();
        assert!(
            within(&at(&p, &k), &at(&f, &k)),
            "line {}: {path}: {} not within {}",
            partial.line,
            at(&p, &k),
            at(&f, &k)
        );
        n += 1;
    }
    n
}

/// (address, port, port name) of every address and port of an Endpoints' subsets.
pub(crate) fn pairs(e: &Endpoints, names: bool) -> Vec<(String, Option<i64>, String)> {
    let mut out: Vec<_> = e
        .subsets
        .iter()
        .flat_map(|s| {
            s.addresses.iter().flat_map(move |a| {
                s.ports.iter().map(move |p| {
                    let name = if names { p.name.clone() } else { String::new() };
                    (a.ip.clone(), p.port, name)
                })
            })
        })
        .collect();
    out.sort();
    out
}

fn tables(file: &TextFile) -> Vec<&TablesText> {
    file.pieces
        .iter()
        .filter_map(|p| match &p.content {
            TextContent::KubectlTables(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn meta_key(m: &ObjectMeta) -> (&str, &str) {
    (m.namespace.as_str(), m.name.as_str())
}

#[test]
fn tables_agree_with_the_yaml_kubectl_printed_them_from() {
    let file = decode_text(&data("get-nodeport-30081.txt"));
    let issues: Vec<_> = file.pieces.iter().flat_map(|p| p.all_issues()).collect();
    assert!(issues.is_empty(), "{issues:?}");
    let objects = fixture_objects();
    let t = tables(&file);
    assert_eq!(t.len(), 5);
    let (mut objs, mut fields) = (0, 0);
    for o in &objects {
        match o {
            K8sObject::Service(full) => {
                let p = t[0]
                    .services
                    .iter()
                    .find(|p| meta_key(&p.value.metadata) == meta_key(&full.metadata))
                    .expect("service row");
                fields += agree(p, full);
            }
            K8sObject::Endpoints(full) => {
                let p = t[1]
                    .endpoints
                    .iter()
                    .find(|p| meta_key(&p.value.metadata) == meta_key(&full.metadata))
                    .expect("endpoints row");
                fields += agree(p, full);
                assert_eq!(
                    pairs(&p.value, false),
                    pairs(full, false),
                    "line {}",
                    p.line
                );
            }
            K8sObject::EndpointSlice(full) => {
                let p = t[2]
                    .endpoint_slices
                    .iter()
                    .find(|p| meta_key(&p.value.metadata) == meta_key(&full.metadata))
                    .expect("slice row");
                fields += agree(p, full);
            }
            K8sObject::Pod(full) => {
                let p = t[3]
                    .pods
                    .iter()
                    .find(|p| meta_key(&p.value.metadata) == meta_key(&full.metadata))
                    .expect("pod row");
                fields += agree(p, full);
                let ready = full
                    .status
                    .container_statuses
                    .iter()
                    .filter(|c| c.ready)
                    .count();
                assert_eq!(
                    p.ready(),
                    Some((ready as u32, full.spec.containers.len() as u32))
                );
                let restarts: i64 = full
                    .status
                    .container_statuses
                    .iter()
                    .map(|c| c.restart_count)
                    .sum();
                assert_eq!(p.restarts(), Some(restarts as u64));
            }
            K8sObject::Node(full) => {
                let p = t[4]
                    .nodes
                    .iter()
                    .find(|p| p.value.metadata.name == full.metadata.name)
                    .expect("node row");
                fields += agree(p, full);
                assert_eq!(p.ready(), Some(true));
            }
            _ => continue,
        }
        objs += 1;
    }
    // Every object of the fixture has its row, and the rows are all the fixture's objects.
    assert_eq!(objs, 3 + 3 + 3 + 7 + 2);
    assert_eq!(
        t[0].services.len()
            + t[1].endpoints.len()
            + t[2].endpoint_slices.len()
            + t[3].pods.len()
            + t[4].nodes.len(),
        objs
    );
    assert!(fields > 100, "{fields}");
    assert_eq!(t[4].nodes[0].roles(), vec!["control-plane"]);
    assert!(t[4].nodes[1].roles().is_empty());
    // Lines of the file.
    assert_eq!(
        t[0].services.iter().map(|p| p.line).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert_eq!(t[3].pods[5].line, 23);
    assert_eq!(t[3].pods[5].printed("RESTARTS"), Some("7 (49s ago)"));
    assert_eq!(
        t[4].nodes[0].value.status.node_info.os_image,
        "Debian GNU/Linux 12 (bookworm)"
    );
}

#[test]
fn svc_and_ep_of_one_namespace_with_every_external_ip_form() {
    let file = decode_text(&data("get-svc-ep-variants.txt"));
    let issues: Vec<_> = file.pieces.iter().flat_map(|p| p.all_issues()).collect();
    assert!(issues.is_empty(), "{issues:?}");
    let t = tables(&file)[0];
    assert_eq!(
        t.tables
            .iter()
            .map(|t| (t.line, t.kind))
            .collect::<Vec<_>>(),
        vec![(2, TableKind::Services), (9, TableKind::Endpoints)]
    );
    let s = &t.services;
    assert_eq!(s.len(), 5);
    assert!(s
        .iter()
        .all(|p| p.value.metadata.namespace == "shop" && p.shows("metadata.namespace")));
    let cart = &s[0];
    assert_eq!((cart.line, cart.value.metadata.name.as_str()), (3, "cart"));
    assert_eq!(cart.value.spec.cluster_ip, "None");
    assert_eq!(cart.value.spec.ports[0].port, 8080);
    assert_eq!(cart.value.spec.ports[0].node_port, None);
    assert!(cart.shows("spec.externalIPs") && cart.value.spec.external_ips.is_empty());
    // Without -o wide the selector is not shown: not empty, unknown.
    assert!(!cart.shows("spec.selector"));
    let db = &s[1];
    assert_eq!(db.value.spec.type_, "ExternalName");
    assert_eq!(db.value.spec.external_name, "db.example.com");
    assert_eq!(db.value.spec.cluster_ip, "");
    assert!(
        db.shows("spec.clusterIP") && db.value.spec.ports.is_empty() && db.shows("spec.ports.port")
    );
    let front = &s[2];
    let ingress: Vec<_> = front
        .value
        .status
        .load_balancer
        .ingress
        .iter()
        .map(|i| i.ip.as_str())
        .collect();
    assert_eq!(ingress, vec!["203.0.113.10"]);
    assert!(front.partly_shown.contains("status.loadBalancer.ingress"));
    assert!(!front.shows("status.loadBalancer.ingress"));
    let ports: Vec<_> = front
        .value
        .spec
        .ports
        .iter()
        .map(|p| (p.port, p.node_port, p.protocol.as_str()))
        .collect();
    assert_eq!(
        ports,
        vec![(80, Some(31080), "TCP"), (443, Some(31443), "TCP")]
    );
    let pending = &s[3];
    assert!(
        pending.value.status.load_balancer.ingress.is_empty()
            && pending.shows("status.loadBalancer.ingress")
    );
    let sig = &s[4];
    assert_eq!(
        sig.value.spec.external_ips,
        vec!["198.51.100.5", "198.51.100.6"]
    );
    assert_eq!(sig.value.spec.ports[0].protocol, "SCTP");
    assert_eq!(sig.value.spec.ports[0].node_port, Some(32001));
    assert_eq!(sig.printed("AGE"), Some("7d"));

    let e = &t.endpoints;
    assert_eq!(
        e.iter()
            .map(|e| (e.line, e.value.metadata.name.as_str()))
            .collect::<Vec<_>>(),
        vec![(10, "cart"), (11, "front"), (12, "v6")]
    );
    assert!(e[0].value.subsets.is_empty() && e[0].shows("subsets.addresses"));
    assert_eq!(pairs(&e[1].value, false).len(), 3);
    assert!(e[1].partly_shown.contains("subsets.addresses") && !e[1].shows("subsets.addresses"));
    assert_eq!(
        pairs(&e[2].value, false),
        vec![("fd00:10:244::5".to_string(), Some(80), String::new())]
    );
}

fn piece(command: Option<&str>, body: &str) -> crate::decode::text::Piece {
    crate::decode::text::Piece {
        command: command.map(str::to_string),
        command_line: command.map(|_| 1),
        first_line: 2,
        last_line: body.lines().count() + 1,
        body: body.to_string(),
    }
}

#[test]
fn squeezed_rows_unknown_tables_and_columns_are_reported() {
    let body = "NAME   TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE   OWNER\n\
                web    NodePort    10.0.0.1     <none>        80:30081/TCP   1d   me\n\
                web NodePort 10.0.0.1 <none> 80/TCP 1d me\n\
                api    ClusterIP   10.0.0.2     <none>        80/TCPX   1d    me\n\
                \n\
                NAME    READY   UP-TO-DATE   AVAILABLE   AGE\n\
                coredns 2/2     2            2           9d\n\
                garbage line\n";
    let p = piece(Some("kubectl get svc"), body);
    let t = parse(&Source::new(&p, false));
    assert_eq!(
        t.issues,
        vec![
            TextIssue::UnknownColumn {
                line: 2,
                column: "OWNER".into()
            },
            // Split at runs of 3 spaces: the squeezed `80:30081/TCP   1d` still reads.
            TextIssue::Unreadable {
                line: 4,
                what: WHAT,
                reason: "its columns do not line up with the header's"
            },
            TextIssue::Unreadable {
                line: 5,
                what: WHAT,
                reason: "PORT(S) is not a list of PORT[:NODEPORT]/PROTOCOL"
            },
            TextIssue::Unreadable {
                line: 7,
                what: WHAT,
                reason: "a table of a resource netsnap does not read; its rows were not used"
            },
        ]
    );
    assert_eq!(t.services.len(), 2);
    assert_eq!(t.services[0].value.spec.ports[0].node_port, Some(30081));
    assert_eq!(t.services[0].printed("OWNER"), Some("me"));
    assert!(!t.services[1].shows("spec.ports.port"));
}

#[test]
fn a_cut_last_row_is_not_used() {
    let body = "NAME    STATUS   ROLES    AGE   VERSION\nnode1   Ready    <none>   1d    v1.32.4\nnode2   Ready,Sch";
    let p = piece(None, body);
    let t = parse(&Source::new(&p, true));
    assert_eq!(t.nodes.len(), 1);
    assert_eq!(t.issues, vec![TextIssue::CutMidLine { line: 4 }]);
    assert_eq!(t.nodes[0].value.status.node_info.kubelet_version, "v1.32.4");
}

#[test]
fn node_status_words() {
    let body = "NAME    STATUS                        ROLES    AGE   VERSION\n\
                node1   NotReady,SchedulingDisabled   <none>   1d    v1.29.0\n\
                node2   Unknown                       a,b      1d    v1.29.0\n";
    let p = piece(Some("kubectl get no"), body);
    let t = parse(&Source::new(&p, false));
    assert!(t.issues.is_empty(), "{:?}", t.issues);
    assert_eq!(t.nodes[0].ready(), Some(false));
    assert!(t.nodes[0].value.spec.unschedulable);
    assert_eq!(t.nodes[1].ready(), None);
    assert_eq!(t.nodes[1].roles(), vec!["a", "b"]);
    // A node table shows no namespace, even with -n on the command line.
    assert!(!t.nodes[0].shows("metadata.namespace"));
}
