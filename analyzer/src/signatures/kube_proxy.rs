//! kube-proxy's messages: server start-up (`cmd/kube-proxy/app/server*.go`) and the proxiers
//! (`pkg/proxy/{ipvs,iptables,nftables}`).

use super::{Component, Part, Signature};
use crate::observe::{Certainty, FactKind};

pub const SIGNATURES: &[Signature] = &[Signature {
    id: "kube-proxy-ipvs-fallback-iptables",
    component: Component::KubeProxy,
    versions: "v1.10.0 – v1.18.x",
    sources: &["https://github.com/kubernetes/kubernetes/blob/v1.18.0/cmd/kube-proxy/app/server_others.go#L197"],
    pattern: r"Can't use ipvs proxier, trying iptables proxier",
    kind: FactKind::ProxyModeFallback,
    subject: Part::Fixed("ipvs"),
    value: Part::Fixed("iptables"),
    certainty: Certainty::Component,
    catalog: &["C01"],
    examples: &["W1125 10:00:00.000000       1 server_others.go:197] Can't use ipvs proxier, trying iptables proxier"],
}];
