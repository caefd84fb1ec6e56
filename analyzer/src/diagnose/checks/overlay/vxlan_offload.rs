//! C31: TX checksum offload left on for a VXLAN device (`vxlan.calico`, `flannel.1`). On
//! affected kernels and NICs (VMXNET3 among them) the checksum of a VXLAN-encapsulated packet
//! that kube-proxy NATed is computed wrongly and dropped by the receiver: from a node (or a
//! host-network pod) to a Service with a remote endpoint connections stall ~63 s (SYN
//! retransmits) while pod-to-pod works (kubernetes/kubernetes#88986). Felix turns
//! `tx-checksum-ip-generic` off on `vxlan.calico` when it detects, or is told through
//! FelixConfiguration `featureDetectOverride: ChecksumOffloadBroken=true`, that checksum
//! offload is broken (Felix's vxlan manager, `KeepVXLANDeviceInSync`; projectcalico/calico#4727,
//! #9433). Felix's feature detection reports it broken on every kernel unless overridden
//! (felix/environment/feature_detect_test.go: `ChecksumOffloadBroken: true` for 3.x to 5.16
//! kernels alike), so `on` for `vxlan.calico` means an override to false or an old Felix. For
//! `flannel.1` the kernel default (on) is common and flannel-io/flannel#1282 changed it only for
//! some releases: a weaker hint. A warning worth checking, never a proven fault.

use super::cni_evidence::{calico_resource, ethtool_feature};
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::facts::{ClusterFacts, FELIX_YAML};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Judgement, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "vxlan-checksum-offload",
    catalog: "C31",
    title: "TX checksum offload on for a VXLAN device",
    layer: Layer::Overlay,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/88986",
        "https://github.com/projectcalico/calico/issues/4727",
        "https://github.com/projectcalico/calico/issues/9433",
        "https://github.com/projectcalico/calico/issues/11435",
        "https://github.com/flannel-io/flannel/pull/1282",
    ],
    evidence: "`ethtool -k vxlan.calico` / `ethtool -k flannel.1` (`tx-checksum-ip-generic`); FelixConfiguration `featureDetectOverride`; the kernel release.",
    fix: "`ethtool -K <dev> tx-checksum-ip-generic off` now; for Calico set FelixConfiguration `featureDetectOverride: ChecksumOffloadBroken=true` so Felix keeps it off.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const DEVICES: &[&str] = &["vxlan.calico", "flannel.1"];
const FEATURE: &str = "tx-checksum-ip-generic";
const OVERRIDE: &str = "featureDetectOverride";
const BROKEN: &str = "ChecksumOffloadBroken";

/// The `ChecksumOffloadBroken` value of a Felix `featureDetectOverride` (`"A=true,B=false"`).
fn override_value(s: &str) -> Option<bool> {
    s.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == BROKEN).then(|| v.trim().eq_ignore_ascii_case("true"))
    })
}

/// UDP ports VXLAN overlays use: IANA's 4789 (Calico's `vxlan.calico`, flannel on some
/// distributions) and the Linux kernel's historical default 8472 (flannel's `flannel.1`).
const VXLAN_PORTS: &[&str] = &["4789", "8472"];

/// The kernel's own word that encapsulated packets arrive with bad UDP checksums: what the
/// offload bug does at the receiver (flannel-io/flannel#1279, kubernetes/kubernetes#88986).
/// The sender's device is the one to fix; the receiver's log proves it.
fn bad_checksums(cx: &Context<'_>) -> Option<crate::diagnose::Finding> {
    let drops: Vec<_> = cx
        .node
        .observations
        .iter()
        .filter(|o| o.kind == crate::observe::FactKind::UdpBadChecksum)
        .filter(|o| {
            o.subject
                .rsplit_once(':')
                .is_some_and(|(_, port)| VXLAN_PORTS.contains(&port))
        })
        .collect();
    let first = drops.first()?;
    let port = first.subject.rsplit_once(':').map_or("", |(_, p)| p);
    let mut senders: Vec<&str> = drops
        .iter()
        .filter_map(|o| o.value.rsplit_once(':').map(|(a, _)| a))
        .collect();
    senders.sort_unstable();
    senders.dedup();
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::Medium,
        format!(
            "The kernel drops VXLAN packets (UDP {port}) with bad checksums from {}: TX checksum \
             offload on the sender's VXLAN device",
            senders.join(", ")
        ),
    );
    f.subject = Some(format!("udp-{port}"));
    f.detail = "The receiving kernel logs \"UDP: bad checksum\" for encapsulated packets on the \
        VXLAN port: the sending node's VXLAN device (flannel.1, vxlan.calico) left the UDP \
        checksum to an offload that computed it wrongly for kube-proxy's NATed packets. The \
        packets are dropped, so Service traffic to endpoints on other nodes stalls (SYN \
        retransmits, ~63 s) while pod-to-pod traffic may work."
        .to_string();
    f.evidence
        .extend(drops.iter().take(3).map(|o| o.evidence.clone()));
    let dev = if port == "8472" {
        "flannel.1"
    } else {
        "vxlan.calico"
    };
    f.fix.push(FixStep::new(
        format!(
            "On the sending nodes ({}), turn TX checksum offload off on the VXLAN device now, \
             then make it persistent (a udev rule or systemd unit; for Calico, FelixConfiguration \
             featureDetectOverride ChecksumOffloadBroken=true).",
            senders.join(", ")
        ),
        vec![
            format!("ethtool -K {dev} tx-checksum-ip-generic off"),
            format!("ethtool -k {dev} | grep {FEATURE}"),
        ],
        FixAction::Manual,
    ));
    Some(f)
}

fn run(cx: &Context<'_>) -> Verdicts {
    let mut out = Judgement::new();
    if let Some(f) = bad_checksums(cx) {
        out.found(f);
    }
    for dev in DEVICES {
        let Some(link) = cx.node.link(dev) else {
            continue;
        };
        if !link.is_up() {
            continue;
        }
        let artifact = netsnap_bundle::names::command_artifact(&format!("ethtool-k-{dev}"));
        let text = match cx.node.text(&artifact) {
            Ok(t) => t,
            Err(m) => {
                out.cannot(cx.not_concluded(
                    &INFO,
                    format!("whether TX checksum offload is on for {dev}"),
                    m.to_string(),
                    Some(&format!("ethtool -k {dev} | grep {FEATURE}")),
                ));
                continue;
            }
        };
        let Some((line, on, fixed)) = ethtool_feature(&text, FEATURE) else {
            out.clear(
                *dev,
                format!("ethtool -k {dev} does not list {FEATURE}: nothing to turn off"),
                Vec::new(),
            );
            continue;
        };
        if !on || fixed {
            out.clear(
                *dev,
                format!(
                    "{FEATURE} on {dev} is {}",
                    if on {
                        "on but fixed by the driver"
                    } else {
                        "off"
                    }
                ),
                vec![Evidence::new(
                    artifact.clone(),
                    format!("line {line}"),
                    format!("{FEATURE}: {}", if on { "on [fixed]" } else { "off" }),
                )],
            );
            continue;
        }
        let calico = *dev == "vxlan.calico";
        let felix = cx
            .cluster
            .state
            .felix_configurations
            .iter()
            .find(|fc| fc.metadata.name == "default")
            .or_else(|| cx.cluster.state.felix_configurations.first());
        let override_ = felix.and_then(|fc| {
            fc.spec
                .extra
                .get(OVERRIDE)
                .and_then(|v| v.as_str())
                .map(|s| (fc, s.to_string(), override_value(s)))
        });
        let confidence = if calico {
            Confidence::Medium
        } else {
            Confidence::Low
        };
        let mut f = cx.finding(
            &INFO,
            Severity::Warning,
            confidence,
            format!("TX checksum offload ({FEATURE}) is on for {dev}"),
        );
        f.subject = Some(dev.to_string());
        f.detail = format!(
            "With checksum offload on a VXLAN device, kernels and NIC drivers with the known \
             bug send NATed encapsulated packets with bad checksums: connections from this \
             node (or host-network pods) to Services with endpoints on other nodes stall for \
             about a minute while pod-to-pod traffic works. Kernel {} — check it against the \
             affected releases in the references, or simply turn the offload off on {dev}.",
            cx.node.host.kernel_release
        );
        match override_.as_ref().map(|(_, _, v)| *v) {
            Some(Some(true)) if calico => f.detail.push_str(
                " FelixConfiguration already says ChecksumOffloadBroken=true, yet the offload is \
                 on: Felix has not applied it here (an old release, or not running on this node).",
            ),
            Some(Some(false)) if calico => f.detail.push_str(
                " FelixConfiguration says ChecksumOffloadBroken=false: someone chose to keep the \
                 offload on.",
            ),
            _ => {}
        }
        f.evidence.push(Evidence::new(
            artifact,
            format!("line {line}"),
            format!("{FEATURE}: on"),
        ));
        f.evidence.push(Evidence::new(
            "manifest.json",
            "host.kernel_release",
            cx.node.host.kernel_release.clone(),
        ));
        if calico {
            match &override_ {
                Some((fc, s, _)) => {
                    let name = &fc.metadata.name;
                    let (locator, excerpt) = cx
                        .cluster
                        .find_line(FELIX_YAML[0], Some(&format!("name: {name}")), &[OVERRIDE])
                        .map_or_else(
                            || {
                                (
                                    format!("{name} .spec.{OVERRIDE}"),
                                    format!("{OVERRIDE}: {s}"),
                                )
                            },
                            |(n, l)| (format!("line {n} ({name})"), l),
                        );
                    f.evidence.push(Evidence::new(
                        ClusterFacts::artifact(FELIX_YAML[0]),
                        locator,
                        excerpt,
                    ));
                }
                None if felix.is_some() => f.evidence.push(Evidence::new(
                    ClusterFacts::artifact(FELIX_YAML[0]),
                    ".spec",
                    format!("no {OVERRIDE}: Felix relies on its own detection"),
                )),
                None => {}
            }
        }
        f.fix.push(FixStep::new(
            format!("Turn TX checksum offload off on {dev} now (it takes effect at once)."),
            vec![format!("ethtool -K {dev} {FEATURE} off")],
            FixAction::Manual,
        ));
        if calico {
            let (resource, name) = felix.map_or_else(
                || {
                    (
                        "felixconfigurations.crd.projectcalico.org".to_string(),
                        "default".to_string(),
                    )
                },
                |fc| {
                    (
                        calico_resource("felixconfigurations", &fc.api_version),
                        fc.metadata.name.clone(),
                    )
                },
            );
            let patch = format!(r#"{{"spec":{{"{OVERRIDE}":"{BROKEN}=true"}}}}"#);
            f.fix.push(FixStep::new(
                "Tell Felix that checksum offload is broken so it keeps it off on every node, \
                 also after vxlan.calico is recreated.",
                vec![format!(
                    "kubectl patch {resource} {name} --type=merge -p '{patch}'"
                )],
                FixAction::KubectlPatch {
                    resource,
                    namespace: None,
                    name,
                    patch,
                },
            ));
        } else {
            f.fix.push(FixStep::manual(
                "Persist it for flannel.1 (a udev rule or a systemd unit running the ethtool \
                 command after flanneld creates the device), or upgrade flannel to a release \
                 that turns it off itself.",
            ));
        }
        out.found(f);
    }
    out.or_clear(
        format!(
            "does not apply: no VXLAN device ({}) is up here",
            DEVICES.join(", ")
        ),
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::override_value;

    #[test]
    fn override_parsing() {
        assert_eq!(override_value("ChecksumOffloadBroken=true"), Some(true));
        assert_eq!(
            override_value("SNATFullyRandom=false, ChecksumOffloadBroken=FALSE"),
            Some(false)
        );
        assert_eq!(override_value("IPIPDeviceIsL3=true"), None);
        assert_eq!(override_value(""), None);
    }
}
