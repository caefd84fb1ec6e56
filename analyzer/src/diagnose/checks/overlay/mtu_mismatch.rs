//! C32: a tunnel device whose MTU plus its encapsulation overhead exceeds the MTU of the
//! device carrying the encapsulated packets. Full-size inner packets then become outer packets
//! too big for the underlay: dropped, or fragmented where DF forbids it, so handshakes and
//! small requests work while large responses hang; pod veths larger than such a tunnel make
//! it worse. Overheads (IPv4 underlay): IPIP 20 bytes,
//! VXLAN 50, WireGuard 60 — the figures Calico's MTU docs and Felix's auto-detection use
//! (https://docs.tigera.io/calico/latest/networking/configuring/mtu). The kernel refuses such a
//! VXLAN MTU when the device is created over its lower device (`vxlan_change_mtu`) but does not
//! shrink it when the lower device shrinks later. projectcalico/calico#1709, #2072, #7651, #8953.

use netsnap_bundle::names;

use crate::diagnose::checks::{list_capped, restart_node_pod, Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, FELIX_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "mtu-mismatch",
    catalog: "C32",
    title: "Tunnel MTU plus encapsulation overhead exceeds the underlay MTU",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://docs.tigera.io/calico/latest/networking/configuring/mtu",
        "https://github.com/projectcalico/calico/issues/1709",
        "https://github.com/projectcalico/calico/issues/2072",
        "https://github.com/projectcalico/calico/issues/7651",
        "https://github.com/projectcalico/calico/issues/8953",
    ],
    evidence: "Links: UP ipip/vxlan/wireguard devices, their lower device (`link`, else the default route's device) and MTUs; cali* veth MTUs; FelixConfiguration `ipipMTU`/`vxlanMTU`.",
    fix: "Set the tunnel MTU to the underlay MTU minus the overhead (FelixConfiguration `vxlanMTU`/`ipipMTU`/`wireguardMTU`, or flannel's restart), restart the CNI pod on the node and then the pods so their veths get the new MTU.",
};

pub const CHECK: Check = Check { info: &INFO, run };

/// Encapsulation overhead on an IPv4 underlay, by link kind.
fn overhead(kind: &str) -> Option<u32> {
    match kind {
        "ipip" => Some(20),
        "vxlan" => Some(50),
        "wireguard" => Some(60),
        _ => None,
    }
}

/// Whether tunnel MTU `mtu` fits underlay MTU `under` with `oh` bytes of overhead.
pub fn fits(mtu: u32, oh: u32, under: u32) -> bool {
    mtu.saturating_add(oh) <= under
}

fn run(cx: &Context<'_>) -> Verdicts {
    let links = match &cx.node.links {
        Ok(l) => l,
        Err(m) => {
            return Verdicts::clear(
                format!("no tunnel device is known: the node's links were not read ({m})"),
                Vec::new(),
            );
        }
    };
    let mut out = Judgement::new();
    let default_dev = cx
        .node
        .routes
        .iter()
        .flatten()
        .find(|r| r.family == 2 && r.dst == "default" && r.table_id == 254)
        .and_then(|r| r.dev.clone());
    for t in links.iter().filter(|l| l.is_up()) {
        let Some(kind) = t.kind() else { continue };
        let Some(oh) = overhead(kind) else { continue };
        let Some(mtu) = t.summary.mtu else { continue };
        let (under_name, explicit) = match t.info_data("link").and_then(|v| v.as_str()) {
            Some(l) => (Some(l.to_string()), true),
            None => (default_dev.clone(), false),
        };
        let Some(under) = under_name.as_deref().and_then(|n| cx.node.link(n)) else {
            continue;
        };
        let Some(under_mtu) = under.summary.mtu else {
            continue;
        };
        let name = t.ifname();
        if fits(mtu, oh, under_mtu) {
            out.clear(
                name,
                format!(
                    "{name} ({kind}) has MTU {mtu}: with {oh} bytes of overhead it fits {}'s MTU \
                     {under_mtu}",
                    under.ifname()
                ),
                vec![Evidence::new(
                    names::RTNL_LINKS,
                    format!("link {name}"),
                    format!("mtu {mtu}"),
                )],
            );
            continue;
        }
        // Pod veths larger than the tunnel alone are not reported: the kernel answers their
        // oversized packets with ICMP "fragmentation needed" locally, and PMTU discovery
        // copes. They are evidence when the tunnel itself is too big for the underlay.
        let routed = cx.node.routes_via(name).next().is_some();
        let big_veths: Vec<String> = if routed {
            links
                .iter()
                .filter(|l| l.ifname().starts_with("cali") && l.is_up())
                .filter(|l| l.summary.mtu.is_some_and(|m| m > mtu))
                .map(|l| format!("{} mtu {}", l.ifname(), l.summary.mtu.unwrap_or_default()))
                .collect()
        } else {
            Vec::new()
        };
        let want = under_mtu.saturating_sub(oh);
        let mut f = cx.finding(
            &INFO,
            Severity::Error,
            if explicit {
                Confidence::High
            } else {
                Confidence::Medium
            },
            format!(
                "{name} has MTU {mtu}, but {mtu} + {oh} bytes of {kind} overhead exceed {}'s MTU \
                 {under_mtu}: full-size packets between nodes are lost",
                under.ifname()
            ),
        );
        f.subject = Some(name.to_string());
        f.detail = format!(
            "An inner packet of up to {mtu} bytes leaves {name} as {} bytes on {}; anything above \
             {under_mtu} is dropped or needs fragmentation the sender forbade. TCP handshakes \
             and small requests work, large responses stall (typically beyond about {want} \
             bytes). The tunnel MTU must be at most {want}, and pod interfaces no larger than \
             the tunnel's.",
            mtu.saturating_add(oh),
            under.ifname()
        );
        f.evidence.push(Evidence::new(
            names::RTNL_LINKS,
            format!("link {name}"),
            format!(
                "{name}: {kind} mtu {mtu}{}",
                if explicit {
                    format!(" dev {}", under.ifname())
                } else {
                    String::new()
                }
            ),
        ));
        f.evidence.push(Evidence::new(
            names::RTNL_LINKS,
            format!("link {}", under.ifname()),
            format!(
                "{}: mtu {under_mtu}{}",
                under.ifname(),
                if explicit {
                    " (the tunnel's lower device)"
                } else {
                    " (device of the default route)"
                }
            ),
        ));
        if !big_veths.is_empty() {
            f.evidence.push(Evidence::new(
                names::RTNL_LINKS,
                "cali* links",
                list_capped(&big_veths, 5),
            ));
        }
        let calico = name == "tunl0" || name.ends_with(".calico") || name.ends_with(".cali");
        if calico {
            let field = match kind {
                "ipip" => "ipipMTU",
                "vxlan" => "vxlanMTU",
                _ => "wireguardMTU",
            };
            let felix = cx
                .cluster
                .state
                .felix_configurations
                .iter()
                .find(|fc| fc.metadata.name == "default");
            let configured = felix.and_then(|fc| match kind {
                "ipip" => fc.spec.ipip_mtu,
                "vxlan" => fc.spec.vxlan_mtu,
                _ => fc
                    .spec
                    .extra
                    .get("wireguardMTU")
                    .and_then(serde_json::Value::as_i64),
            });
            if let Some(v) = configured {
                f.evidence.push(Evidence::new(
                    ClusterFacts::artifact(FELIX_YAML[0]),
                    format!("default .spec.{field}"),
                    format!("{field}: {v}"),
                ));
            }
            let resource = match felix {
                Some(fc) if !fc.api_version.starts_with("crd.projectcalico.org") => {
                    "felixconfigurations.projectcalico.org"
                }
                _ => "felixconfigurations.crd.projectcalico.org",
            };
            let patch = format!(r#"{{"spec":{{"{field}":{want}}}}}"#);
            f.fix.push(FixStep::new(
                format!(
                    "Set Felix's {field} to {want} ({} MTU {under_mtu} minus {oh}). With the \
                     Tigera operator, set the Installation's calicoNetwork.mtu instead.",
                    under.ifname()
                ),
                vec![format!(
                    "kubectl patch {resource} default --type=merge -p '{patch}'"
                )],
                FixAction::KubectlPatch {
                    resource: resource.to_string(),
                    namespace: None,
                    name: "default".to_string(),
                    patch,
                },
            ));
            let ns = cx
                .cluster
                .state
                .pods
                .iter()
                .find(|p| {
                    p.metadata.labels.get("k8s-app").map(String::as_str) == Some("calico-node")
                })
                .map_or("kube-system", |p| p.metadata.namespace.as_str());
            f.fix.push(restart_node_pod(
                cx,
                "Restart calico-node on this node so it applies the MTU to the tunnel.",
                ns,
                "calico-node",
                "k8s-app=calico-node",
            ));
        } else {
            f.fix.push(FixStep::manual(format!(
                "Set {name}'s MTU to {want}: flannel derives it from the uplink when it starts \
                 (restart flannel after fixing the uplink MTU, or set it in net-conf.json); \
                 other CNIs have their own MTU setting."
            )));
        }
        f.fix.push(FixStep::manual(
            "Restart the pods on this node (drain, or delete them) so their veths are created \
             with the new MTU.",
        ));
        out.found(f);
    }
    out.or_clear(
        "no tunnel device (IPIP, VXLAN, WireGuard...) with a known underlay is up here",
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_arithmetic() {
        assert!(fits(1450, 50, 1500));
        assert!(!fits(1450, 50, 1400));
        assert!(fits(1480, 20, 1500));
        assert!(!fits(1440, 60, 1480));
        assert!(!fits(u32::MAX, 50, 1500));
        assert_eq!(overhead("vxlan"), Some(50));
        assert_eq!(overhead("veth"), None);
    }
}
