//! C48: the bridge's subnet and flannel's lease disagree. flanneld leases one subnet per node
//! and writes it to /run/flannel/subnet.env (`FLANNEL_SUBNET`); the other nodes route that
//! subnet, and only it, to this node (the vxlan/host-gw backends install one route per lease).
//! The bridge the pods hang off takes its subnet from the same file: Docker through
//! mk-docker-opts.sh, which writes `DOCKER_OPT_BIP` to /run/flannel/docker, or the flannel CNI
//! plugin for cni0. When the lease changes (etcd lost the lease, the node re-registered) and the
//! bridge keeps the old subnet, pods get addresses no other node routes here: their traffic
//! leaves, the replies go to whichever node holds that subnet now, and flanneld logs "L3 miss
//! but route for ... not found" for them (flannel-io/flannel#1393; the CNI plugin refuses
//! outright with "cni0 already has an IP address different from", flannel#1060).

use std::net::IpAddr;

use super::cni_evidence::{env_file_value, flannel_in_use, SUBNET_ENV};
use crate::diagnose::checks::overlay::cni_evidence::cni_not_in_use;
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::expect::{cidr_contains, parse_cidr};
use crate::diagnose::{Confidence, Context, Evidence, FixStep, Layer, Severity, Verdicts};

pub const INFO: CheckInfo = CheckInfo {
    id: "flannel-lease-bridge-mismatch",
    catalog: "C48",
    title: "The pods' bridge is not on flannel's leased subnet",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://github.com/flannel-io/flannel/issues/1393",
        "https://github.com/flannel-io/flannel/blob/master/dist/mk-docker-opts.sh",
        "https://github.com/flannel-io/flannel/issues/1060",
    ],
    evidence: "/run/flannel/subnet.env `FLANNEL_SUBNET`; /run/flannel/docker `DOCKER_OPT_BIP`; the addresses of cni0 and docker0.",
    fix: "Restart Docker (or delete cni0) so the bridge takes the leased subnet from /run/flannel; restart the pods started on the old one.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// The file mk-docker-opts.sh writes Docker's options to.
pub(super) const DOCKER_OPTS: &str = "files/run/flannel/docker";

fn run(cx: &Context<'_>) -> Verdicts {
    if !flannel_in_use(cx) {
        return cni_not_in_use("flannel");
    }
    let Ok(env) = cx.node.text(SUBNET_ENV) else {
        return Verdicts::clear(
            "not judged: /run/flannel/subnet.env (the lease) was not collected",
            Vec::new(),
        );
    };
    let Some((lease_line, lease_text)) = env_file_value(&env, "FLANNEL_SUBNET") else {
        return Verdicts::clear("subnet.env names no FLANNEL_SUBNET", Vec::new());
    };
    let Some((lease_ip, lease_len)) = parse_cidr(&lease_text) else {
        return Verdicts::clear(
            format!("FLANNEL_SUBNET={lease_text} does not read"),
            Vec::new(),
        );
    };
    let lease = (lease_ip, lease_len);
    let lease_ev = Evidence::new(
        SUBNET_ENV,
        format!("line {lease_line}"),
        format!("FLANNEL_SUBNET={lease_text}"),
    );
    // The bridge's address: Docker's --bip, and cni0/docker0 where addresses were read.
    let mut bridges: Vec<(IpAddr, Evidence)> = Vec::new();
    if let Ok(opts) = cx.node.text(DOCKER_OPTS) {
        if let Some((line, v)) = env_file_value(&opts, "DOCKER_OPT_BIP") {
            let bip = v.trim_start_matches("--bip=");
            if let Some((ip, _)) = parse_cidr(bip) {
                bridges.push((
                    ip,
                    Evidence::new(
                        DOCKER_OPTS,
                        format!("line {line}"),
                        format!("DOCKER_OPT_BIP={v}"),
                    ),
                ));
            }
        }
    }
    for (ip, dev, a) in cx.node.local_addresses() {
        if dev == "cni0" || dev == "docker0" {
            bridges.push((
                ip,
                Evidence::new(
                    netsnap_bundle::names::RTNL_ADDRS,
                    format!("link {dev}"),
                    format!("{ip}/{}", a.prefixlen),
                ),
            ));
        }
    }
    if bridges.is_empty() {
        return Verdicts::clear(
            "not judged: neither Docker's --bip nor a cni0/docker0 address was collected",
            vec![lease_ev],
        );
    }
    let off: Vec<&(IpAddr, Evidence)> = bridges
        .iter()
        .filter(|(ip, _)| ip.is_ipv4() == lease.0.is_ipv4() && !cidr_contains(lease, *ip))
        .collect();
    if off.is_empty() {
        let mut ev = vec![lease_ev];
        ev.extend(bridges.into_iter().map(|(_, e)| e));
        return Verdicts::clear("the bridge is on the leased subnet", ev);
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::High,
        format!(
            "The pods' bridge ({}) is not on flannel's lease {lease_text}: pods get addresses no \
             other node routes here",
            off.iter()
                .map(|(ip, _)| ip.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    f.detail = "flanneld leased this node the subnet in subnet.env, and every other node routes \
        only that subnet here. A bridge on another subnet hands pods addresses whose replies are \
        routed elsewhere (flanneld logs \"L3 miss but route for ... not found\" for them): \
        cross-node pod and Service traffic to these pods fails."
        .to_string();
    f.evidence.push(lease_ev);
    f.evidence.extend(off.iter().map(|(_, e)| e.clone()));
    f.fix.push(FixStep::manual(
        "Make the bridge take the leased subnet: with Docker, regenerate /run/flannel/docker \
         (mk-docker-opts.sh) and restart Docker; with the CNI plugin, delete cni0 (ip link delete \
         cni0) so it is recreated from subnet.env. Then restart the pods that got addresses on \
         the old subnet.",
    ));
    Verdicts::found(f)
}
