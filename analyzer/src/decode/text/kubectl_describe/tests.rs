use super::*;
use crate::decode::k8s::K8sObject;
use crate::decode::text::kubectl_get::tests::{agree, data, fixture_objects, pairs};
use crate::decode::text::{decode_text, TextContent, TextFile};

fn described(file: &TextFile) -> Vec<&DescribeText> {
    file.pieces
        .iter()
        .filter_map(|p| match &p.content {
            TextContent::KubectlDescribe(t) => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn described_services_agree_with_the_yaml_kubectl_printed_them_from() {
    let file = decode_text(&data("describe-svc-nodeport-30081.txt"));
    let issues: Vec<_> = file.pieces.iter().flat_map(|p| p.all_issues()).collect();
    assert!(issues.is_empty(), "{issues:?}");
    let d = described(&file)[0];
    assert_eq!(
        d.services.iter().map(|s| s.line).collect::<Vec<_>>(),
        vec![2, 21, 41]
    );
    assert_eq!(
        d.endpoints.iter().map(|s| s.line).collect::<Vec<_>>(),
        vec![2, 21, 41]
    );
    let objects = fixture_objects();
    let (mut services, mut endpoints, mut fields) = (0, 0, 0);
    for o in &objects {
        match o {
            K8sObject::Service(full) => {
                let p = d
                    .services
                    .iter()
                    .find(|p| p.value.metadata.name == full.metadata.name)
                    .expect("described");
                fields += agree(p, full);
                services += 1;
            }
            K8sObject::Endpoints(full) => {
                let p = d
                    .endpoints
                    .iter()
                    .find(|p| p.value.metadata.name == full.metadata.name)
                    .expect("described");
                fields += agree(p, full);
                assert_eq!(pairs(&p.value, true), pairs(full, true), "line {}", p.line);
                endpoints += 1;
            }
            _ => {}
        }
    }
    assert_eq!((services, endpoints), (3, 3));
    assert!(fields > 70, "{fields}");
    let web = &d.services[1];
    for path in [
        "spec.selector",
        "spec.ports.nodePort",
        "spec.ports.targetPort",
        "spec.internalTrafficPolicy",
        "spec.externalIPs",
    ] {
        assert!(web.shows(path), "{path}");
    }
    assert_eq!(web.value.spec.ports[0].node_port, Some(30081));
    assert_eq!(web.printed("Events"), Some("<none>"));
}

#[test]
fn old_and_new_describers_of_load_balancers() {
    let file = decode_text(&data("describe-svc-variants.txt"));
    let issues: Vec<_> = file.pieces.iter().flat_map(|p| p.all_issues()).collect();
    assert!(issues.is_empty(), "{issues:?}");
    let d = described(&file);
    assert_eq!(d.len(), 2);
    // kubectl before 1.20: no IP families, a second IP line for the load balancer IP.
    let front = &d[0].services[0];
    let s = &front.value.spec;
    assert_eq!(
        (
            front.line,
            front.value.metadata.name.as_str(),
            front.value.metadata.namespace.as_str()
        ),
        (2, "front", "shop")
    );
    assert_eq!(s.selector.get("tier").map(String::as_str), Some("web"));
    assert_eq!(
        (s.cluster_ip.as_str(), s.load_balancer_ip.as_str()),
        ("10.96.44.7", "203.0.113.10")
    );
    assert!(
        !front.shows("spec.clusterIPs")
            && !front.shows("spec.ipFamilyPolicy")
            && !front.shows("spec.internalTrafficPolicy")
    );
    assert_eq!(
        s.ports[0].target_port,
        Some(IntOrString::String("http".into()))
    );
    assert_eq!(s.ports[0].node_port, Some(31080));
    assert_eq!(s.session_affinity, "ClientIP");
    assert_eq!(s.external_traffic_policy, "Local");
    assert_eq!(s.health_check_node_port, Some(32123));
    assert_eq!(
        front.value.status.load_balancer.ingress[0].ip,
        "203.0.113.10"
    );
    assert_eq!(
        front
            .value
            .metadata
            .annotations
            .get("metallb.universe.tf/address-pool")
            .map(String::as_str),
        Some("public")
    );
    assert!(front
        .printed("Events")
        .is_some_and(|e| e.contains("nodeAssigned")));
    let e = &d[0].endpoints[0];
    assert_eq!(pairs(&e.value, true).len(), 3);
    assert_eq!(e.value.subsets[0].ports[0].name, "http");
    assert!(e.partly_shown.contains("subsets.addresses") && !e.shows("subsets.addresses"));

    let api = &d[1].services[0];
    let s = &api.value.spec;
    assert_eq!(api.line, 24);
    assert_eq!(s.ip_family_policy, "PreferDualStack");
    assert_eq!(s.ip_families, vec!["IPv4", "IPv6"]);
    assert_eq!(s.cluster_ips, vec!["10.96.50.1", "fd00:96::50:1"]);
    assert_eq!(s.load_balancer_ip, "203.0.113.20");
    let ing = &api.value.status.load_balancer.ingress;
    assert_eq!(
        (ing[0].ip.as_str(), ing[0].ip_mode.as_str()),
        ("203.0.113.20", "VIP")
    );
    assert_eq!(ing[1].hostname, "lb-api.example.com");
    assert_eq!(
        (
            s.ports[0].name.as_str(),
            s.ports[0].port,
            s.ports[0].node_port
        ),
        ("", 8443, Some(30443))
    );
    assert_eq!(s.internal_traffic_policy, "Local");
    assert_eq!(
        s.load_balancer_source_ranges,
        vec!["192.0.2.0/24", "198.51.100.0/24"]
    );
    assert!(
        d[1].endpoints[0].value.subsets.is_empty() && d[1].endpoints[0].shows("subsets.addresses")
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
fn unknown_fields_and_resources_are_reported() {
    let body = "Name:         web\nNamespace:    default\nType:         ClusterIP\nColour:       blue\nTargetPort:   80/TCP\n\
                \n\nName:         cm\nNamespace:    default\nData\n";
    let p = piece(None, body);
    let d = parse(&Source::new(&p, false));
    assert_eq!(
        d.issues,
        vec![
            TextIssue::UnknownField {
                line: 5,
                field: "Colour".into()
            },
            TextIssue::Unreadable {
                line: 6,
                what: WHAT,
                reason: "TargetPort is not PORT/PROTOCOL after a Port"
            },
            TextIssue::Unreadable {
                line: 11,
                what: WHAT,
                reason: "not a `Field: value` line"
            },
            TextIssue::Unreadable {
                line: 9,
                what: WHAT,
                reason: "the description of a resource netsnap does not read; it was not used"
            },
        ]
    );
    assert_eq!(d.services.len(), 1);
}
