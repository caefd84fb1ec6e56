use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DefaultNla, NLM_F_DUMP, NLM_F_MULTIPART as NLM_F_MULTI, NLM_F_REQUEST};

use super::fixtures::*;
use super::{assert_roundtrip, assert_truncations_fail, emit_request, parse};
use crate::*;

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut raw = [0u8; 16];
    raw[..4].copy_from_slice(&a);
    raw
}

fn stats32(v: [u64; 10]) -> Vec<StatsAttr> {
    let n = |i: usize| v[i] as u32;
    vec![
        StatsAttr::Conns(n(0)),
        StatsAttr::InPkts(n(1)),
        StatsAttr::OutPkts(n(2)),
        StatsAttr::InBytes(v[3]),
        StatsAttr::OutBytes(v[4]),
        StatsAttr::Cps(n(5)),
        StatsAttr::InPps(n(6)),
        StatsAttr::OutPps(n(7)),
        StatsAttr::InBps(n(8)),
        StatsAttr::OutBps(n(9)),
    ]
}

fn stats64(v: [u64; 10]) -> Vec<Stats64Attr> {
    vec![
        Stats64Attr::Conns(v[0]),
        Stats64Attr::InPkts(v[1]),
        Stats64Attr::OutPkts(v[2]),
        Stats64Attr::InBytes(v[3]),
        Stats64Attr::OutBytes(v[4]),
        Stats64Attr::Cps(v[5]),
        Stats64Attr::InPps(v[6]),
        Stats64Attr::OutPps(v[7]),
        Stats64Attr::InBps(v[8]),
        Stats64Attr::OutBps(v[9]),
    ]
}

fn service_tcp4_attrs() -> Vec<ServiceAttr> {
    let s = [3, 18, 12, 1184, 2064, 0, 0, 0, 0, 0];
    vec![
        ServiceAttr::Af(AF_INET),
        ServiceAttr::Protocol(IPPROTO_TCP),
        ServiceAttr::Addr(v4([192, 168, 122, 96])),
        ServiceAttr::Port(30081),
        ServiceAttr::SchedName("rr".into()),
        ServiceAttr::Flags(IpvsFlags {
            flags: IP_VS_SVC_F_HASHED,
            mask: u32::MAX,
        }),
        ServiceAttr::Timeout(0),
        ServiceAttr::Netmask(0xffff_ffff),
        ServiceAttr::Stats(stats32(s)),
        ServiceAttr::Stats64(stats64(s)),
    ]
}

#[test]
fn service_tcp4_parses_and_roundtrips() {
    let (header, msg) = parse(SERVICE_TCP4);
    assert_eq!(header.message_type, 0x25);
    assert_eq!(header.flags, NLM_F_MULTI);
    assert_eq!(msg.cmd, IpvsCommand::NewService);
    assert_eq!(msg.attrs, vec![IpvsAttr::Service(service_tcp4_attrs())]);

    let svc = IpvsService::from_attrs(msg.service_attrs().expect("has a service"));
    assert_eq!(svc.af, Some(AF_INET));
    assert_eq!(svc.protocol, Some(IPPROTO_TCP));
    assert_eq!(svc.addr, Some(IpAddr::V4(Ipv4Addr::new(192, 168, 122, 96))));
    assert_eq!(svc.port, Some(30081));
    assert_eq!(svc.fwmark, None);
    assert_eq!(svc.scheduler.as_deref(), Some("rr"));
    assert_eq!(svc.flags, Some(IP_VS_SVC_F_HASHED));
    assert_eq!(svc.timeout, Some(0));
    assert_eq!(svc.netmask, Some(0xffff_ffff));
    assert_eq!(svc.pe_name, None);
    let stats = svc.best_stats().expect("stats");
    assert_eq!((stats.conns, stats.inpkts, stats.outpkts), (3, 18, 12));
    assert_eq!((stats.inbytes, stats.outbytes), (1184, 2064));

    assert_roundtrip(SERVICE_TCP4);
    assert_truncations_fail(SERVICE_TCP4);
}

#[test]
fn service_fwm6_keeps_unknown_attributes() {
    let (_, msg) = parse(SERVICE_FWM6);
    let attrs = msg.service_attrs().expect("has a service");
    assert_eq!(attrs.len(), 10);
    assert_eq!(attrs[1], ServiceAttr::Fwmark(42));
    assert_eq!(attrs[3], ServiceAttr::PeName("sip".into()));
    assert_eq!(
        attrs[9],
        ServiceAttr::Other(DefaultNla::new(13, 0xdead_beef_u32.to_le_bytes().to_vec()))
    );

    let svc = IpvsService::from_attrs(attrs);
    assert_eq!(svc.af, Some(AF_INET6));
    assert_eq!(svc.fwmark, Some(42));
    assert_eq!((svc.protocol, svc.addr, svc.port), (None, None, None));
    assert_eq!(svc.scheduler.as_deref(), Some("sh"));
    assert_eq!(svc.pe_name.as_deref(), Some("sip"));
    assert_eq!(
        svc.flags,
        Some(IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2)
    );
    assert_eq!(svc.timeout, Some(300));
    assert_eq!(svc.ipv6_prefix_len(), Some(64));

    assert_roundtrip(SERVICE_FWM6);
    assert_truncations_fail(SERVICE_FWM6);
}

#[test]
fn dest_parses_in_fill_order_and_roundtrips() {
    let (_, msg) = parse(DEST_MASQ4);
    assert_eq!(msg.cmd, IpvsCommand::NewDest);
    let expected = vec![
        DestAttr::Addr(v4([10, 244, 1, 2])),
        DestAttr::Port(8080),
        DestAttr::FwdMethod(0),
        DestAttr::Weight(1),
        DestAttr::TunType(0),
        DestAttr::TunPort(0),
        DestAttr::TunFlags(0),
        DestAttr::UThresh(0),
        DestAttr::LThresh(0),
        DestAttr::ActiveConns(2),
        DestAttr::InactConns(5),
        DestAttr::PersistConns(0),
        DestAttr::AddrFamily(AF_INET),
        DestAttr::Stats(stats32([7, 70, 60, 4200, 9000, 1, 2, 3, 40, 50])),
        DestAttr::Stats64(stats64([
            0x1_0000_0007,
            70,
            60,
            4200,
            9000,
            1,
            2,
            3,
            40,
            50,
        ])),
    ];
    assert_eq!(msg.attrs, vec![IpvsAttr::Dest(expected)]);

    // Without ADDR_FAMILY the service's family decides; with it, it wins.
    let dest = IpvsDest::from_attrs(msg.dest_attrs().expect("has a dest"), Some(AF_INET6));
    assert_eq!(dest.addr, Some(IpAddr::V4(Ipv4Addr::new(10, 244, 1, 2))));
    assert_eq!(dest.port, Some(8080));
    assert_eq!(dest.forward_method(), Some(ForwardMethod::Masq));
    assert_eq!(dest.weight, Some(1));
    assert_eq!((dest.active_conns, dest.inactive_conns), (Some(2), Some(5)));
    assert_eq!(dest.persist_conns, Some(0));
    assert_eq!(
        (dest.tun_type, dest.tun_port, dest.tun_flags),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(dest.stats.map(|s| s.conns), Some(7));
    assert_eq!(dest.stats64.map(|s| s.conns), Some(0x1_0000_0007));

    assert_roundtrip(DEST_MASQ4);
    assert_truncations_fail(DEST_MASQ4);
}

#[test]
fn dest_without_family_takes_the_service_family() {
    let attrs = [DestAttr::Addr(v4([10, 0, 0, 1])), DestAttr::Port(80)];
    assert_eq!(
        IpvsDest::from_attrs(&attrs, Some(AF_INET)).addr,
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
    );
    assert_eq!(IpvsDest::from_attrs(&attrs, None).addr, None);
    let raw6 = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1).octets();
    let attrs6 = [DestAttr::Addr(raw6), DestAttr::FwdMethod(3)];
    let d6 = IpvsDest::from_attrs(&attrs6, Some(AF_INET6));
    assert_eq!(d6.addr, Some(IpAddr::V6(Ipv6Addr::from(raw6))));
    assert_eq!(d6.forward_method(), Some(ForwardMethod::Route));
}

#[test]
fn info_reply_uses_info_numbering() {
    let (_, msg) = parse(INFO_REPLY);
    assert_eq!(msg.cmd, IpvsCommand::SetInfo);
    assert_eq!(
        msg.attrs,
        vec![IpvsAttr::Version(0x010201), IpvsAttr::ConnTabSize(4096)]
    );
    assert_eq!(msg.info_version(), Some(0x010201));
    assert_eq!(msg.conn_tab_size(), Some(4096));
    assert_roundtrip(INFO_REPLY);
    assert_truncations_fail(INFO_REPLY);
}

#[test]
fn config_reply_has_three_timeouts() {
    let (_, msg) = parse(CONFIG_REPLY);
    assert_eq!(msg.cmd, IpvsCommand::SetConfig);
    assert_eq!(msg.timeouts(), (Some(900), Some(120), Some(300)));
    assert_roundtrip(CONFIG_REPLY);
    assert_truncations_fail(CONFIG_REPLY);
}

#[test]
fn daemon_reply_parses() {
    let (_, msg) = parse(DAEMON_REPLY);
    assert_eq!(msg.cmd, IpvsCommand::NewDaemon);
    let d = IpvsDaemon::from_attrs(msg.daemon_attrs().expect("has a daemon"));
    assert_eq!(d.state, Some(IP_VS_STATE_MASTER));
    assert_eq!(d.mcast_ifn.as_deref(), Some("eth0"));
    assert_eq!(d.sync_id, Some(9));
    assert_eq!(d.sync_maxlen, Some(1472));
    assert_eq!(d.mcast_port, Some(8848));
    assert_eq!(d.mcast_ttl, Some(1));
    assert_eq!(
        d.mcast_group,
        Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81)))
    );
    assert_roundtrip(DAEMON_REPLY);
    assert_truncations_fail(DAEMON_REPLY);
}

#[test]
fn get_dests_copies_the_service_identity() {
    let dump = NLM_F_REQUEST | NLM_F_DUMP;
    let (_, tcp4) = parse(SERVICE_TCP4);
    let req = get_dests(tcp4.service_attrs().expect("service"));
    assert_eq!(emit_request(req, 0x25, dump, 9), GET_DESTS_TCP4);

    let (_, fwm6) = parse(SERVICE_FWM6);
    let req = get_dests(fwm6.service_attrs().expect("service"));
    assert_eq!(emit_request(req, 0x25, dump, 9), GET_DESTS_FWM6);

    assert_truncations_fail(GET_DESTS_TCP4);
    assert_truncations_fail(GET_DESTS_FWM6);
}

#[test]
fn bare_requests_carry_only_the_command() {
    for (req, cmd) in [
        (get_info(), 15u8),
        (get_config(), 13),
        (get_daemons(), 11),
        (get_services(), 4),
    ] {
        let bytes = emit_request(req, 0x25, NLM_F_REQUEST, 1);
        assert_eq!(bytes.len(), 20);
        assert_eq!(&bytes[0..4], &20u32.to_ne_bytes());
        assert_eq!(&bytes[4..6], &0x25u16.to_ne_bytes());
        assert_eq!(&bytes[16..20], &[cmd, 1, 0, 0]);
    }
}

#[test]
fn commands_convert_both_ways() {
    for c in 0..=u8::MAX {
        assert_eq!(u8::from(IpvsCommand::from(c)), c);
    }
    assert_eq!(IpvsCommand::from(4), IpvsCommand::GetService);
    assert_eq!(IpvsCommand::from(99), IpvsCommand::Other(99));
}

#[test]
fn bad_values_are_errors() {
    use netlink_packet_core::{NlaBuffer, Parseable};
    // ADDR must be 16 bytes, FLAGS 8, AF 2.
    for bytes in [
        &[0x08, 0x00, 0x03, 0x00, 10, 0, 0, 1][..],
        &[0x08, 0x00, 0x07, 0x00, 1, 0, 0, 0][..],
        &[0x08, 0x00, 0x01, 0x00, 2, 0, 0, 0][..],
    ] {
        let nla = NlaBuffer::new_checked(bytes).expect("well framed");
        assert!(ServiceAttr::parse(&nla).is_err(), "{bytes:?}");
    }
}
