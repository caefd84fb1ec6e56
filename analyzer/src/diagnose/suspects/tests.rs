use super::*;

#[test]
fn host_port_reads_every_shape() {
    assert_eq!(
        host_port("10.0.0.1:30081"),
        ("10.0.0.1".into(), Some(30081))
    );
    assert_eq!(
        host_port("http://10.0.0.1:80/x"),
        ("10.0.0.1".into(), Some(80))
    );
    assert_eq!(host_port("[fd00::1]:443"), ("fd00::1".into(), Some(443)));
    assert_eq!(host_port("10.0.0.1 port 80"), ("10.0.0.1".into(), Some(80)));
    assert_eq!(host_port("fd00::1"), ("fd00::1".into(), None));
}

#[test]
fn every_candidate_is_a_catalog_entry_with_a_command() {
    let mut lists: Vec<&[&str]> = vec![
        entries::REPLY_NOT_DELIVERED,
        entries::REQUEST_UNANSWERED,
        entries::DATA_STALLED,
        entries::TUNNEL_TX_DROPS,
        entries::NODE_HEALTH_UNREACHABLE,
        entries::ARP_SEVERAL_MACS,
        entries::CALICO_VXLAN,
        entries::CALICO_IPIP,
        entries::CALICO,
        entries::FLANNEL,
        entries::CILIUM,
        entries::IPVS,
        entries::FROM_NODE,
        entries::VXLAN_ANY,
        entries::IPIP_ANY,
    ];
    for t in [
        Target::NodePort,
        Target::ClusterIp,
        Target::LoadBalancer,
        Target::Pod,
        Target::Dns,
        Target::Unknown,
    ] {
        for o in [
            Outcome::Dropped,
            Outcome::Refused,
            Outcome::Intermittent,
            Outcome::Unknown,
        ] {
            lists.push(entries::connection(t, o));
        }
    }
    for list in lists {
        for e in list {
            assert!(catalog::CATALOG.iter().any(|c| c.id == *e), "{e}");
            assert!(
                !entries::settle(e).starts_with("netsnap-collect"),
                "{e} has no command"
            );
        }
    }
}

#[test]
fn every_catalog_entry_has_a_command() {
    for c in catalog::CATALOG {
        assert!(
            !entries::settle(c.id).starts_with("netsnap-collect"),
            "{} has no command",
            c.id
        );
    }
}

/// The suspects (catalog ids, in rank order) and their reasons for a tiny paste: one file per
/// block, as a ticket would carry them.
fn analyzed(files: &[(&str, &str)]) -> crate::diagnose::Report {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let bundle = crate::load::Bundle::open(dir.path()).expect("a paste loads");
    crate::diagnose::analyze(&[(dir.path().display().to_string(), &bundle)])
}

fn suspects_of(report: &crate::diagnose::Report) -> Vec<(String, String)> {
    report
        .not_concluded
        .iter()
        .filter(|n| n.id == SUSPECT_ID)
        .map(|n| {
            assert!(n.would_confirm.as_deref().is_some_and(|c| !c.is_empty()));
            (n.catalog.to_string(), n.reason.clone())
        })
        .collect()
}

fn ranked(files: &[(&str, &str)]) -> Vec<(String, String)> {
    suspects_of(&analyzed(files))
}

fn ids(r: &[(String, String)]) -> Vec<&str> {
    r.iter().map(|(c, _)| c.as_str()).collect()
}

#[test]
fn another_address_of_the_service_answering_rules_out_the_endpoint_entries() {
    let r = ranked(&[
        (
            "svc.txt",
            "web   LoadBalancer   10.96.5.5   192.0.2.10   80:31000/TCP   1d\n",
        ),
        (
            "curl.txt",
            "$ curl -I 10.96.5.5\nHTTP/1.1 200 OK\n$ curl -I 192.0.2.10\ncurl: (7) Failed to connect to 192.0.2.10 port 80: Connection refused\n",
        ),
    ]);
    let ids = ids(&r);
    assert!(
        !ids.contains(&"C16") && !ids.contains(&"C17") && !ids.contains(&"C18"),
        "{ids:?}"
    );
    assert_eq!(&ids[..2], &["C19", "C13"], "{ids:?}");
}

#[test]
fn a_failure_and_an_answer_of_one_address_is_intermittent() {
    let r = ranked(&[(
        "curl.txt",
        "[root@n1 ~]# curl http://10.96.7.7/ -v\n* Failed connect to 10.96.7.7:80; 连接超时\n[root@n1 ~]# curl http://10.96.7.7/ -v\n* Connected to 10.96.7.7 (10.96.7.7) port 80 (#0)\n< HTTP/1.1 200 OK\n",
    )]);
    assert!(r[0].1.contains("answered at other times"), "{r:?}");
    // From a node: the overlay entries that hit node-originated traffic lead.
    assert!(
        ids(&r)[..2].contains(&"C38") && ids(&r)[..2].contains(&"C31"),
        "{r:?}"
    );
}

#[test]
fn a_fallback_from_ipvs_keeps_the_ipvs_entries_the_message_fits() {
    let report = analyzed(&[(
        "kube-proxy.log",
        "E0101 00:00:00.000000       1 server_others.go:304] can't determine whether to use ipvs proxy, error: IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs]\nI0101 00:00:00.000000       1 server_others.go:140] Using iptables Proxier.\n",
    )]);
    let r = suspects_of(&report);
    let ids = ids(&r);
    // C01 itself is reported (component-reported-cause: the message says ip_vs is missing for
    // kube-proxy) or suspected; the other entries the same message fits stay named.
    assert!(
        report.findings.iter().any(|f| f.catalog == "C01") || ids.contains(&"C01"),
        "C01 neither reported nor suspected: {ids:?}"
    );
    for e in ["C02", "C04"] {
        assert!(ids.contains(&e), "{e} in {ids:?}");
    }
}

#[test]
fn without_a_symptom_the_complaint_is_implied_and_said() {
    let r = ranked(&[(
        "svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  type: NodePort\n  clusterIP: 10.96.1.1\n  externalTrafficPolicy: Cluster\n  ports:\n  - port: 80\n    nodePort: 30080\n    targetPort: 8080\n  selector:\n    app: web\n",
    )]);
    assert!(r[0].1.contains("no symptom was pasted"), "{r:?}");
    assert!(r[0].1.contains("NodePort"), "{r:?}");
    assert!(
        !ids(&r).contains(&"C19"),
        "externalTrafficPolicy Cluster: {r:?}"
    );
    assert_eq!(ids(&r)[0], "C23", "{r:?}");
}

#[test]
fn kube_proxy_replacement_rules_out_kube_proxy_entries() {
    let r = ranked(&[
        ("values.yaml", "kubeProxyReplacement: strict\n"),
        (
            "svc.txt",
            "NAME   TYPE   CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\nweb   NodePort   10.96.2.2   <none>   80:30080/TCP   1d\n",
        ),
    ]);
    let ids = ids(&r);
    assert!(ids.contains(&"C39"), "{ids:?}");
    assert!(
        ids.iter().all(|e| !entries::KUBE_PROXY.contains(e)),
        "{ids:?}"
    );
    // Cilium routes pod traffic without a bridge, and is not flannel.
    assert!(!ids.contains(&"C22") && !ids.contains(&"C37"), "{ids:?}");
}

#[test]
fn pools_on_vxlan_rule_out_ipip_and_raise_the_vxlan_device() {
    let r = ranked(&[(
        "pools.txt",
        "NAME   CIDR   NAT   IPIPMODE   VXLANMODE   DISABLED   SELECTOR\np1   10.0.0.0/16   true   Never   Always   false   all()\n",
    )]);
    let ids = ids(&r);
    assert!(!ids.contains(&"C28") && !ids.contains(&"C49"), "{ids:?}");
    assert!(ids.contains(&"C40") && ids.contains(&"C33"), "{ids:?}");
}

#[test]
fn a_reply_that_arrives_and_is_sent_again_points_at_the_receiving_node() {
    let r = ranked(&[(
        "tcpdump.txt",
        "10:00:00.000001 eth0 Out IP a.1000 > b.4789: VXLAN, flags [I] (0x08), vni 1\nIP 10.0.0.1.40000 > 10.2.0.9.8080: Flags [S], seq 5, win 64240, length 0\n10:00:00.000200 eth0 In  IP b.1001 > a.4789: VXLAN, flags [I] (0x08), vni 1\nIP 10.2.0.9.8080 > 10.0.0.1.40000: Flags [S.], seq 9, ack 6, win 64240, length 0\n10:00:01.000200 eth0 In  IP b.1002 > a.4789: VXLAN, flags [I] (0x08), vni 1\nIP 10.2.0.9.8080 > 10.0.0.1.40000: Flags [S.], seq 9, ack 6, win 64240, length 0\n",
    )]);
    let ids = ids(&r);
    assert_eq!(ids[0], "C31", "{ids:?}");
    assert!(ids.contains(&"C50"), "{ids:?}");
}

#[test]
fn arp_answers_from_one_vendor_block_point_at_one_machine() {
    let r = ranked(&[(
        "arping.txt",
        "ARPING 192.0.2.50\n60 bytes from 02:00:00:00:00:0a (192.0.2.50): index=0 time=1.0 msec\n60 bytes from 02:00:00:00:00:0b (192.0.2.50): index=1 time=1.0 msec\n",
    )]);
    assert_eq!(ids(&r)[0], "C57", "{r:?}");
}

#[test]
fn an_old_el7_cluster_raises_br_netfilter_and_has_no_ipvs() {
    let r = ranked(&[
        (
            "version.txt",
            "Server Version: version.Info{Major:\"1\", Minor:\"5\", GitVersion:\"v1.5.2\"}\n",
        ),
        (
            "os.txt",
            "NAME=\"CentOS Linux\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n",
        ),
    ]);
    let ids = ids(&r);
    assert_eq!(ids[0], "C22", "{ids:?}");
    assert!(
        ids.iter().all(|e| !entries::IPVS_ONLY.contains(e)),
        "{ids:?}"
    );
}

#[test]
fn nodes_unreachable_while_their_endpoints_answer_is_filtering_between_nodes() {
    let r = ranked(&[(
        "cilium.txt",
        "Cluster health:   1/2 reachable   (2020-01-01T00:00:00Z)\n  Name            IP              Reachable   Endpoints reachable\n  n2              10.0.0.2        false       true\n",
    )]);
    assert_eq!(&ids(&r)[..2], &["C27", "C26"], "{r:?}");
}

#[test]
fn one_block_routed_past_the_tunnel_raises_the_bird_route_entry() {
    let r = ranked(&[
        ("a.txt", "10.10.1.0/26 via 10.0.0.3 dev eth0  proto bird\n"),
        (
            "b.txt",
            "10.10.1.0/26 via 10.0.0.3 dev tunl0  proto bird onlink\n",
        ),
    ]);
    assert_eq!(ids(&r)[0], "C49", "{r:?}");
}

#[test]
fn a_flannel_install_and_two_uplinks_lead_with_the_wrong_interface() {
    let r = ranked(&[
        (
            "install.txt",
            "kubectl apply -f https://example.org/Documentation/kube-flannel.yml\n",
        ),
        (
            "netstat.txt",
            "Kernel Interface table\nIface   MTU Met   RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg\nenp0s3     1500 0    100      0      0 0         100      0      0      0 BMRU\nenp0s8     1500 0    100      0      0 0         100      0      0      0 BMRU\n",
        ),
    ]);
    let ids = ids(&r);
    assert_eq!(ids[0], "C37", "{ids:?}");
    // flannel pods hang off a bridge: br_netfilter stays a suspect; Calico's entries do not.
    assert!(
        ids.iter().all(|e| !entries::CALICO_ONLY.contains(e)),
        "{ids:?}"
    );
}

#[test]
fn data_stuck_in_send_queues_and_tunnel_drops_point_at_the_mtu() {
    let r = ranked(&[
        (
            "netstat.txt",
            "tcp 0 25000 10.1.0.5:8080 10.1.0.9:40001 ESTABLISHED\ntcp 1 83000 10.1.0.5:8080 10.1.0.9:40002 CLOSE_WAIT\n",
        ),
        (
            "ifconfig.txt",
            "tunl0: flags=193<UP,RUNNING,NOARP>  mtu 1440\n        inet 10.1.0.1  netmask 255.255.255.255\n        TX errors 0  dropped 40 overruns 0  carrier 0  collisions 0\n",
        ),
    ]);
    assert_eq!(ids(&r)[0], "C32", "{r:?}");
}
