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
