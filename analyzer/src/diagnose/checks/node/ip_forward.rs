//! C21: `net.ipv4.ip_forward = 0`. Every Service packet that leaves the node towards a pod is
//! routed, not delivered locally: a NodePort to a pod behind a cali*/veth device or on another
//! node, and the pod's reply, go through the kernel's forwarding path, which drops them while
//! forwarding is off (`ip_forward()` in net/ipv4/ip_forward.c is never reached:
//! `ip_route_input_slow` refuses to build a forwarding route when `IN_DEV_FORWARD` is off).
//! kube-proxy in IPVS mode sets it at start (pkg/proxy/ipvs/proxier.go), iptables mode does
//! not; a reboot undoes a runtime-only `sysctl -w` (kubernetes#45022, weaveworks/weave#3283).

use netsnap_bundle::names;

use super::sysctl_files;
use crate::decode::sysctl::SysctlValue;
use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::{
    Confidence, Context, Evidence, FixAction, FixStep, Layer, Severity, Verdicts,
};

pub const INFO: CheckInfo = CheckInfo {
    id: "ip-forward-disabled",
    catalog: "C21",
    title: "IPv4 forwarding is off (net.ipv4.ip_forward = 0)",
    layer: Layer::Node,
    cause: true,
    references: &[
        "https://github.com/kubernetes/kubernetes/issues/45022",
        "https://github.com/weaveworks/weave/pull/3283",
        "https://github.com/SUSE/doc-caasp/pull/574",
    ],
    evidence: "`sysctl.txt` `net.ipv4.ip_forward`; what the sysctl.d files and /etc/sysctl.conf collected under `files/` would set at boot.",
    fix: "`sysctl -w net.ipv4.ip_forward=1` and persist it in a sysctl.d drop-in of our own.",
};

pub const CHECK: Check = Check { info: &INFO, run };

const KEY: &str = "net.ipv4.ip_forward";
const DROP_IN: &str = "90-netsnap-forward.conf";

fn run(cx: &Context<'_>) -> Verdicts {
    let sysctls = match &cx.node.sysctls {
        Ok(s) => s,
        Err(m) => {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "whether IPv4 forwarding is on",
                m.to_string(),
                Some("sysctl net.ipv4.ip_forward"),
            ));
        }
    };
    let value = match sysctls.get(KEY) {
        Some(SysctlValue::Value(v)) => v.as_str(),
        Some(other) => {
            return Verdicts::cannot(cx.not_concluded(
                &INFO,
                "whether IPv4 forwarding is on",
                format!("{KEY} {}", super::unreadable(other)),
                Some("sysctl net.ipv4.ip_forward"),
            ));
        }
        None => {
            // A sysctl dump without the key (a filtered paste): nothing says forwarding is off.
            return Verdicts::clear(
                format!("{KEY} is not among the sysctls read: nothing shows forwarding off"),
                Vec::new(),
            );
        }
    };
    if value.trim() != "0" {
        return Verdicts::clear(
            "IPv4 forwarding is on",
            vec![Evidence::new(
                names::SYSCTLS,
                super::sysctl_line(&cx.node.text(names::SYSCTLS).unwrap_or_default(), KEY),
                format!("{KEY} = {value}"),
            )],
        );
    }
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::High,
        "IPv4 forwarding is off on this node: packets to pods and their replies are dropped",
    );
    f.detail = "With net.ipv4.ip_forward = 0 the kernel does not route packets between \
        interfaces. A NodePort or ClusterIP connection is handed to a pod behind a veth (or on \
        another node) by routing, so it is dropped silently and the client times out. kube-proxy \
        in IPVS mode turns forwarding on when it starts, iptables mode does not; a value set \
        only at runtime is lost at reboot."
        .to_string();
    let text = cx.node.text(names::SYSCTLS).unwrap_or_default();
    let line = super::sysctl_line(&text, KEY);
    f.evidence.push(Evidence::new(
        names::SYSCTLS,
        line,
        format!("{KEY} = {value}"),
    ));
    let bundle = cx.node.bundle;
    match sysctl_files::persisted(bundle, KEY) {
        Some(s) if s.value == "0" => {
            f.detail.push_str(&format!(
                " The configuration files turn it off at every boot: {} sets it to 0.",
                s.artifact
            ));
            f.evidence.push(Evidence::new(
                s.artifact.clone(),
                format!("line {}", s.line),
                s.text.clone(),
            ));
            // systemd-sysctl applies drop-ins in file-name order, a later one wins; procps
            // reads /etc/sysctl.conf after every drop-in.
            let base = s.artifact.rsplit('/').next().unwrap_or_default();
            let ours_wins = !s.artifact.ends_with("/etc/sysctl.conf") && base < DROP_IN;
            f.fix.push(FixStep::manual(format!(
                "{} (line {}) sets {KEY} = 0 at boot: remove or change that line. {}",
                s.artifact,
                s.line,
                if ours_wins {
                    format!(
                        "Our drop-in {DROP_IN} sorts after it and wins, but two files \
                             disagreeing confuse the next reader."
                    )
                } else {
                    format!("It is applied after our drop-in {DROP_IN} and would undo the fix.")
                }
            )));
        }
        Some(s) => {
            f.detail.push_str(
                " The configuration files set it to 1 at boot, so something turned it off at \
                 runtime (another tool, a network manager, or a container runtime reset).",
            );
            f.evidence.push(Evidence::new(
                s.artifact.clone(),
                format!("line {}", s.line),
                s.text.clone(),
            ));
        }
        None if sysctl_files::any_collected(bundle) => {
            f.detail.push_str(
                " No collected sysctl configuration file sets it: a reboot keeps it off.",
            );
            f.evidence.push(Evidence::new(
                names::listing_artifact("/etc/sysctl.d"),
                "whole listing",
                format!("no sysctl.d file or /etc/sysctl.conf sets {KEY}"),
            ));
        }
        None => {}
    }
    f.fix.push(FixStep::new(
        "Turn IPv4 forwarding on now and at every boot (a sysctl.d drop-in of our own).",
        vec![
            format!("sysctl -w {KEY}=1"),
            format!("echo '{KEY} = 1' > /etc/sysctl.d/{DROP_IN}"),
        ],
        FixAction::SetSysctl {
            key: KEY.to_string(),
            value: "1".to_string(),
        },
    ));
    Verdicts::found(f)
}
