//! What kube-proxy in nftables mode should have programmed on this node, and the difference to
//! a captured `nft -j list ruleset`.
//!
//! The model follows kube-proxy's `pkg/proxy/nftables/proxier.go` (`syncProxyRules`,
//! `servicePortChainNameBase`, `hashAndTruncate`) as summarised in part 1.3 of the failure
//! catalog: table `ip kube-proxy` (`ip6` for IPv6); one `service-ips` verdict-map element per
//! ClusterIP, externalIP and LoadBalancer IP (`ip . proto . port : goto <chain>`), one
//! `service-nodeports` element per NodePort (`proto . port : goto external-...`);
//! `no-endpoint-services` / `no-endpoint-nodeports` elements (`goto reject-chain` or `drop`) for
//! Service ports without (local) endpoints; `service-<H8>-ns/svc/proto/port` chains sending to
//! `endpoint-<H8>-...__ip/port` chains that DNAT. Only what the JSON carries is compared: map
//! elements (keys and verdicts), chain names, and the DNAT statements of endpoint chains
//! (nftables 1.0.6 JSON omits table and chain comments, so they are never relied on).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use serde_json::Value;

use crate::decode::nft::{ElementValue, NftRuleset, NftSet, SetElement};
use crate::diagnose::expect::RealServer;
use crate::diagnose::expect_iptables::{hash_prefix, proto_lower, Entry, ExpectedPort};

/// kube-proxy's table name, in family `ip` or `ip6`.
pub const TABLE: &str = "kube-proxy";

/// The nft family of an IP family (4 or 6).
pub fn nft_family(family: u8) -> &'static str {
    if family == 6 {
        "ip6"
    } else {
        "ip"
    }
}

/// `ns/svc/proto/port-name`: the readable part of a Service port's chain names.
pub fn chain_base(p: &ExpectedPort) -> String {
    format!(
        "{}/{}/{}/{}",
        p.service.namespace,
        p.service.name,
        proto_lower(p.protocol),
        p.service.port_name
    )
}

/// `<H8>-<base>`: a chain name after its kind prefix (`service-`, `local-`, `external-`,
/// `firewall-`, `endpoint-`, `affinity-`); H8 is the first 8 base32 characters of the
/// SHA-256 of `base` (`hashAndTruncate`).
pub fn hashed(base: &str) -> String {
    format!("{}-{base}", hash_prefix(base, 8))
}

/// Chain kinds a Service port's map elements may point to.
const SERVICE_CHAIN_KINDS: &[&str] = &["service-", "local-", "external-", "firewall-"];

/// Whether `chain` is one of the port's own chains (`service-`/`local-`/`external-`/
/// `firewall-` + `suffix`).
fn is_port_chain(chain: &str, suffix: &str) -> bool {
    SERVICE_CHAIN_KINDS
        .iter()
        .any(|k| chain.strip_prefix(k) == Some(suffix))
}

/// A Service port whose map elements are missing.
#[derive(Debug, Clone)]
pub struct MissingElements<'a> {
    pub port: &'a ExpectedPort,
    pub entries: Vec<Entry>,
    /// `no-endpoint-*` elements turning those entries away instead.
    pub turned_away: Vec<String>,
}

/// A Service port whose endpoints differ from its EndpointSlices.
#[derive(Debug, Clone)]
pub struct NftEndpointProblems<'a> {
    pub port: &'a ExpectedPort,
    /// (chain, missing, extra)
    pub chains: Vec<(String, Vec<RealServer>, Vec<RealServer>)>,
    /// `no-endpoint-*` elements (rendered) rejecting or dropping although (local) endpoints
    /// exist.
    pub turned_away: Vec<String>,
}

#[derive(Debug, Default)]
pub struct NftDiff<'a> {
    /// The `kube-proxy` table of the family is not there.
    pub no_table: bool,
    /// Maps kube-proxy always creates that are not there.
    pub missing_maps: Vec<&'static str>,
    pub missing: Vec<MissingElements<'a>>,
    pub endpoints: Vec<NftEndpointProblems<'a>>,
}

/// A key component in one spelling: addresses as parsed and printed back, protocols as numbers
/// (nft may print `tcp` or `6`).
fn norm(part: &str) -> String {
    if let Ok(ip) = part.parse::<IpAddr>() {
        return ip.to_string();
    }
    match part {
        "tcp" => "6".to_string(),
        "udp" => "17".to_string(),
        "sctp" => "132".to_string(),
        other => other.to_string(),
    }
}

fn norm_key(parts: &[String]) -> Vec<String> {
    parts.iter().map(|p| norm(p)).collect()
}

/// A map's elements by normalized key: one lookup per Service address instead of a scan.
type ElementIndex<'r> = HashMap<Vec<String>, Vec<&'r SetElement>>;

fn index(map: Option<&NftSet>) -> ElementIndex<'_> {
    let mut ix: ElementIndex<'_> = HashMap::new();
    for e in map.map(|m| m.elements.as_slice()).unwrap_or_default() {
        ix.entry(norm_key(&e.key)).or_default().push(e);
    }
    ix
}

fn lookup<'i, 'r>(ix: &'i ElementIndex<'r>, key: &[String]) -> &'i [&'r SetElement] {
    ix.get(&norm_key(key))
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn verdict_target(e: &SetElement) -> Option<(&str, Option<&str>)> {
    match &e.value {
        Some(ElementValue::Verdict(v)) => Some((v.kind.as_str(), v.target.as_deref())),
        _ => None,
    }
}

fn render_element(map: &str, e: &SetElement) -> String {
    let v = match verdict_target(e) {
        Some((k, Some(t))) => format!("{k} {t}"),
        Some((k, None)) => k.to_string(),
        None => String::new(),
    };
    format!("@{map} {{ {} : {v} }}", e.key.join(" . "))
}

/// Every `goto`/`jump` target anywhere in a JSON statement (vmaps included).
fn jump_targets(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k == "goto" || k == "jump" {
                    if let Some(t) = x.get("target").and_then(Value::as_str) {
                        out.push(t.to_string());
                    }
                }
                jump_targets(x, out, depth + 1);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| jump_targets(x, out, depth + 1)),
        _ => {}
    }
}

/// The DNAT destinations of a chain's rules: `{"dnat": {"addr": ..., "port": ...}}`.
fn dnats(rs: &NftRuleset, family: &str, chain: &str) -> BTreeSet<RealServer> {
    let mut out = BTreeSet::new();
    for r in rs.rules_in(family, TABLE, chain) {
        for s in &r.statements {
            let Some(d) = s.raw.get("dnat") else {
                continue;
            };
            let addr = d
                .get("addr")
                .and_then(Value::as_str)
                .and_then(|a| a.parse::<IpAddr>().ok());
            let port = d
                .get("port")
                .and_then(|p| match p {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                })
                .and_then(|p| u16::try_from(p).ok());
            if let (Some(a), Some(p)) = (addr, port) {
                out.insert((a, p));
            }
        }
    }
    out
}

/// The endpoints a Service chain sends to: DNATs of the `endpoint-` chains it jumps to.
fn chain_endpoints(rs: &NftRuleset, family: &str, chain: &str) -> BTreeSet<RealServer> {
    let mut targets = Vec::new();
    for r in rs.rules_in(family, TABLE, chain) {
        for s in &r.statements {
            jump_targets(&s.raw, &mut targets, 0);
        }
    }
    targets.sort();
    targets.dedup();
    targets
        .iter()
        .filter(|t| t.starts_with("endpoint-"))
        .flat_map(|t| dnats(rs, family, t))
        .collect()
}

/// Compares the ruleset with the expected Service ports of IP `family` (4 or 6).
pub fn diff<'a>(ports: &'a [ExpectedPort], rs: &NftRuleset, family: u8) -> NftDiff<'a> {
    let fam = nft_family(family);
    let mut d = NftDiff::default();
    if rs.table(fam, TABLE).is_none() {
        d.no_table = true;
        return d;
    }
    let service_ips = rs.set(fam, TABLE, "service-ips");
    let service_nodeports = rs.set(fam, TABLE, "service-nodeports");
    let ix_service_ips = index(service_ips);
    let ix_service_nodeports = index(service_nodeports);
    let ix_no_ep_services = index(rs.set(fam, TABLE, "no-endpoint-services"));
    let ix_no_ep_nodeports = index(rs.set(fam, TABLE, "no-endpoint-nodeports"));
    // NftRuleset::chain is a scan; thousands of lookups want a set.
    let chain_names: HashSet<&str> = rs.chains_of(fam, TABLE).map(|c| c.name.as_str()).collect();
    for (name, m) in [
        ("service-ips", service_ips),
        ("service-nodeports", service_nodeports),
    ] {
        if m.is_none() {
            d.missing_maps.push(name);
        }
    }
    for p in ports {
        let suffix = hashed(&chain_base(p));
        let proto = proto_lower(p.protocol).to_string();
        let key_of = |e: &Entry| -> Vec<String> {
            match e {
                Entry::NodePort(np) => vec![proto.clone(), np.to_string()],
                Entry::ClusterIp(ip) | Entry::ExternalIp(ip) | Entry::LoadBalancer(ip) => {
                    vec![ip.to_string(), proto.clone(), p.port.to_string()]
                }
            }
        };
        let mut entries: Vec<Entry> = Vec::new();
        entries.extend(p.cluster_ips.iter().map(|ip| Entry::ClusterIp(*ip)));
        entries.extend(p.node_port.map(Entry::NodePort));
        entries.extend(p.external_ips.iter().map(|ip| Entry::ExternalIp(*ip)));
        entries.extend(p.lb_ips.iter().map(|ip| Entry::LoadBalancer(*ip)));
        let mut missing = Vec::new();
        let mut turned_away_missing = Vec::new();
        let mut wrongly_turned_away = Vec::new();
        for e in &entries {
            let (map, ix, no_ep_name, no_ep) = match e {
                Entry::NodePort(_) => (
                    service_nodeports,
                    &ix_service_nodeports,
                    "no-endpoint-nodeports",
                    &ix_no_ep_nodeports,
                ),
                _ => (
                    service_ips,
                    &ix_service_ips,
                    "no-endpoint-services",
                    &ix_no_ep_services,
                ),
            };
            let key = key_of(e);
            let expected = match e {
                Entry::ClusterIp(_) => !p.internal_eps().is_empty(),
                _ => p.has_endpoints(),
            };
            let present = lookup(ix, &key).iter().any(|el| {
                verdict_target(el)
                    .and_then(|(_, t)| t)
                    .is_some_and(|t| is_port_chain(t, &suffix))
            });
            let away: Vec<String> = lookup(no_ep, &key)
                .iter()
                .map(|el| render_element(no_ep_name, el))
                .collect();
            if expected && !present && map.is_some() {
                missing.push(*e);
                turned_away_missing.extend(away.iter().cloned());
            }
            let local_ok = match e {
                Entry::ClusterIp(_) => p.itp_local && !p.local_eps.is_empty(),
                _ => p.etp_local && !p.local_eps.is_empty(),
            };
            // `goto reject-chain` means "no endpoints", `drop` "no local endpoints".
            for el in lookup(no_ep, &key) {
                let drop = matches!(verdict_target(el), Some(("drop", _)));
                if (drop && local_ok) || (!drop && p.has_endpoints()) {
                    wrongly_turned_away.push(render_element(no_ep_name, el));
                }
            }
        }
        if !missing.is_empty() {
            d.missing.push(MissingElements {
                port: p,
                entries: missing,
                turned_away: turned_away_missing,
            });
        }
        let mut chains = Vec::new();
        for (kind, want) in [("service-", &p.cluster_eps), ("local-", &p.local_eps)] {
            let chain = format!("{kind}{suffix}");
            if !chain_names.contains(chain.as_str()) {
                continue;
            }
            let have = chain_endpoints(rs, fam, &chain);
            let miss: Vec<RealServer> = want.difference(&have).copied().collect();
            let extra: Vec<RealServer> = have.difference(want).copied().collect();
            if !miss.is_empty() || !extra.is_empty() {
                chains.push((chain, miss, extra));
            }
        }
        if !chains.is_empty() || !wrongly_turned_away.is_empty() {
            d.endpoints.push(NftEndpointProblems {
                port: p,
                chains,
                turned_away: wrongly_turned_away,
            });
        }
    }
    d
}

#[cfg(test)]
mod tests;
