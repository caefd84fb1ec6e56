//! Where a given packet ends in an iptables filter chain: a small evaluator over the decoded
//! `iptables-save` rules. Rules are tried in order as the kernel's `ipt_do_table` does; a jump
//! descends into a user chain, RETURN (or its end) comes back, `-g` does not; a built-in
//! chain's end applies its policy. A match this model cannot decide (an interface, a source, an
//! unknown set or extension) makes the rule "maybe": a maybe-ACCEPT is remembered and lowers
//! the confidence of a drop, a maybe-DROP is skipped.

use std::net::IpAddr;

use crate::decode::iptables::{Rule, Table};
use crate::diagnose::expect::{cidr_contains, parse_cidr};

/// The packet to follow.
#[derive(Debug, Clone)]
pub struct Probe {
    pub proto: &'static str,
    /// Destination port, when known (after DNAT it is the endpoint's port).
    pub dport: Option<u16>,
    /// conntrack state: `NEW`, `ESTABLISHED`.
    pub state: &'static str,
    /// The packet's mark (kube-proxy's masquerade bit is 0x4000).
    pub mark: u32,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    /// The mark was rewritten by a rule this model does not follow (Calico's chains set
    /// their own bits): mark matches become undecidable.
    pub mark_unknown: bool,
    /// `-m addrtype --dst-type LOCAL` holds.
    pub dst_local: bool,
    /// A NodePort packet in IPVS mode: kube-proxy's KUBE-NODE-PORT-* sets match its
    /// destination port.
    pub ipvs_node_port: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Maybe,
}

/// How the packet leaves the chain.
#[derive(Debug, Clone)]
pub enum Verdict<'a> {
    /// Accepted (by a rule or the policy).
    Accept,
    /// Dropped or rejected by this rule.
    DropRule(&'a Rule),
    /// Dropped by the built-in chain's policy.
    DropPolicy,
}

impl Verdict<'_> {
    pub fn drops(&self) -> bool {
        !matches!(self, Verdict::Accept)
    }
}

/// The verdict, and the rules that might have accepted the packet earlier.
#[derive(Debug, Clone)]
pub struct Path<'a> {
    pub verdict: Verdict<'a>,
    pub maybe_accepts: Vec<&'a Rule>,
}

/// Guards against hostile input (iptables forbids loops, a file need not).
const MAX_DEPTH: usize = 32;
const MAX_STEPS: usize = 200_000;

/// Follows `probe` through built-in `chain` of `table`.
pub fn follow<'a>(table: &'a Table, chain: &str, probe: &Probe) -> Path<'a> {
    let mut w = Walker {
        table,
        probe: probe.clone(),
        maybe: Vec::new(),
        steps: 0,
    };
    let verdict = match w.walk(chain, 0, true) {
        Some(v) => v,
        None => match table.chain(chain).and_then(|c| c.policy.as_deref()) {
            Some("DROP") | Some("REJECT") => Verdict::DropPolicy,
            _ => Verdict::Accept,
        },
    };
    Path {
        verdict,
        maybe_accepts: w.maybe,
    }
}

/// Whether the built-in chain drops what nothing accepts: policy DROP, or a last rule that
/// drops or rejects everything.
pub fn drops_by_default<'a>(table: &'a Table, chain: &str) -> Option<DefaultDrop<'a>> {
    let c = table.chain(chain)?;
    if c.policy.as_deref() == Some("DROP") {
        return Some(DefaultDrop::Policy {
            line: c.line,
            text: format!(":{} DROP", c.name),
        });
    }
    let last = table.rules_in(chain).last()?;
    let terminal = matches!(last.target_name(), Some("DROP" | "REJECT"));
    let unconditional =
        last.spec.base.is_empty() && last.spec.matches.iter().all(|m| m.name == "comment");
    (terminal && unconditional).then_some(DefaultDrop::LastRule(last))
}

/// See [`drops_by_default`].
#[derive(Debug, Clone)]
pub enum DefaultDrop<'a> {
    Policy { line: usize, text: String },
    LastRule(&'a Rule),
}

impl DefaultDrop<'_> {
    pub fn line(&self) -> usize {
        match self {
            DefaultDrop::Policy { line, .. } => *line,
            DefaultDrop::LastRule(r) => r.line,
        }
    }

    pub fn text(&self) -> String {
        match self {
            DefaultDrop::Policy { text, .. } => text.clone(),
            DefaultDrop::LastRule(r) => r.raw.clone(),
        }
    }
}

struct Walker<'a> {
    table: &'a Table,
    probe: Probe,
    maybe: Vec<&'a Rule>,
    steps: usize,
}

impl<'a> Walker<'a> {
    /// `Some` when the packet's fate is decided inside `chain` (only while `certain`);
    /// `None` when it returns to the caller.
    fn walk(&mut self, chain: &str, depth: usize, certain: bool) -> Option<Verdict<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        for rule in self.table.rules_in(chain) {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return None;
            }
            let m = matches(rule, &self.probe);
            if m == Tri::No {
                continue;
            }
            let sure = certain && m == Tri::Yes;
            let Some(target) = rule.target() else {
                continue;
            };
            match target.name.as_str() {
                "ACCEPT" => {
                    if sure {
                        return Some(Verdict::Accept);
                    }
                    self.maybe.push(rule);
                }
                "DROP" | "REJECT" if sure => return Some(Verdict::DropRule(rule)),
                "RETURN" if sure => return None,
                "DROP" | "REJECT" | "RETURN" => {}
                name if self.table.chain(name).is_some_and(|c| c.policy.is_none()) => {
                    let name = name.to_string();
                    let inner = self.walk(&name, depth + 1, sure);
                    if let Some(v) = inner {
                        return Some(v);
                    }
                    // A goto's chain returning means returning from this chain too.
                    if target.goto && sure {
                        return None;
                    }
                }
                "MARK" | "CONNMARK" => self.probe.mark_unknown = true,
                // LOG, CT, NFLOG ... do not decide.
                _ => {}
            }
        }
        None
    }
}

fn and(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Tri::No, _) | (_, Tri::No) => Tri::No,
        (Tri::Maybe, _) | (_, Tri::Maybe) => Tri::Maybe,
        _ => Tri::Yes,
    }
}

fn tri(b: bool) -> Tri {
    if b {
        Tri::Yes
    } else {
        Tri::No
    }
}

fn negate(t: Tri, negated: bool) -> Tri {
    match (t, negated) {
        (Tri::Maybe, _) => Tri::Maybe,
        (t, false) => t,
        (Tri::Yes, true) => Tri::No,
        (Tri::No, true) => Tri::Yes,
    }
}

fn addr_match(cidr: &str, ip: Option<IpAddr>) -> Tri {
    match (parse_cidr(cidr), ip) {
        (Some(c), Some(ip)) => tri(cidr_contains(c, ip)),
        _ => Tri::Maybe,
    }
}

/// `VALUE[/MASK]` of `-m mark`.
fn mark_match(spec: &str, mark: u32) -> Tri {
    let num = |s: &str| {
        let s = s.trim();
        match s.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        }
    };
    let (v, m) = match spec.split_once('/') {
        Some((v, m)) => (num(v), num(m)),
        None => (num(spec), Some(u32::MAX)),
    };
    match (v, m) {
        (Some(v), Some(m)) => tri(mark & m == v),
        _ => Tri::Maybe,
    }
}

fn matches(rule: &Rule, p: &Probe) -> Tri {
    let mut r = Tri::Yes;
    for o in &rule.spec.base {
        let v = o.values.first().map_or("", String::as_str);
        let t = match o.name.as_str() {
            "-p" => tri(v.eq_ignore_ascii_case(p.proto) || v == "all" || v == "0"),
            "-s" => addr_match(v, p.src),
            "-d" => addr_match(v, p.dst),
            // The probes never travel over loopback; other interfaces are unknown.
            "-i" | "-o" if v == "lo" => Tri::No,
            _ => Tri::Maybe,
        };
        r = and(r, negate(t, o.negated));
    }
    if let (Some(pm), Some(port)) = (rule.dport(), p.dport) {
        if !pm.ranges.is_empty() {
            r = and(r, negate(tri(pm.contains(port)), pm.negated));
        }
    } else if rule.dport().is_some() {
        r = and(r, Tri::Maybe);
    }
    for m in &rule.spec.matches {
        let t = match m.name.as_str() {
            "comment" | "tcp" | "udp" | "sctp" | "multiport" => continue,
            "conntrack" | "state" => match rule.ctstate() {
                Some(s) => negate(tri(s.value.contains(&p.state)), s.negated),
                None => Tri::Maybe,
            },
            "mark" if p.mark_unknown => Tri::Maybe,
            "mark" => match rule.mark() {
                Some(s) => negate(mark_match(s.value, p.mark), s.negated),
                None => Tri::Maybe,
            },
            "addrtype" => match (rule.dst_type(), rule.src_type()) {
                (Some(d), None) if d.value == "LOCAL" => negate(tri(p.dst_local), d.negated),
                _ => Tri::Maybe,
            },
            "set" => {
                let mut t = Tri::Yes;
                for s in rule.match_sets() {
                    let one = if s.name.starts_with("KUBE-NODE-PORT-")
                        && !s.name.contains("LOCAL")
                        && s.name.ends_with(&p.proto.to_ascii_uppercase())
                    {
                        tri(p.ipvs_node_port)
                    } else if s.name == "KUBE-HEALTH-CHECK-NODE-PORT" || s.name == "KUBE-IPVS-IPS" {
                        // Not a health-check port, not a kube-ipvs0 address.
                        Tri::No
                    } else {
                        Tri::Maybe
                    };
                    t = and(t, negate(one, s.negated));
                }
                t
            }
            _ => Tri::Maybe,
        };
        r = and(r, t);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::iptables::parse_iptables_save;

    fn probe() -> Probe {
        Probe {
            proto: "tcp",
            dport: Some(30081),
            state: "NEW",
            mark: 0,
            mark_unknown: false,
            src: Some("192.168.122.1".parse().expect("ip")),
            dst: Some("192.168.122.96".parse().expect("ip")),
            dst_local: true,
            ipvs_node_port: true,
        }
    }

    fn filter(text: &str) -> Table {
        parse_iptables_save(text)
            .table("filter")
            .expect("filter table")
            .clone()
    }

    #[test]
    fn policy_drop_with_kube_proxy_chains_only() {
        let t = filter(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             :KUBE-NODE-PORT - [0:0]\n\
             -A INPUT -i lo -j ACCEPT\n\
             -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
             -A INPUT -m comment --comment \"kubernetes health check rules\" -j KUBE-NODE-PORT\n\
             -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
             -A KUBE-NODE-PORT -m comment --comment \"Kubernetes health check node port\" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT\n\
             COMMIT\n",
        );
        let p = follow(&t, "INPUT", &probe());
        assert!(matches!(p.verdict, Verdict::DropPolicy), "{p:?}");
        assert!(p.maybe_accepts.is_empty());
        assert!(matches!(
            drops_by_default(&t, "INPUT"),
            Some(DefaultDrop::Policy { .. })
        ));
        // The established reply is accepted by the conntrack rule.
        let reply = Probe {
            state: "ESTABLISHED",
            ..probe()
        };
        assert!(!follow(&t, "INPUT", &reply).verdict.drops());
    }

    #[test]
    fn node_port_set_accept_and_final_reject() {
        let t = filter(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -p tcp -m set --match-set KUBE-NODE-PORT-TCP dst -j ACCEPT\n\
             -A INPUT -j REJECT --reject-with icmp-host-prohibited\n\
             COMMIT\n",
        );
        assert!(matches!(
            drops_by_default(&t, "INPUT"),
            Some(DefaultDrop::LastRule(_))
        ));
        assert!(!follow(&t, "INPUT", &probe()).verdict.drops());
        let udp = Probe {
            proto: "udp",
            ..probe()
        };
        assert!(matches!(
            follow(&t, "INPUT", &udp).verdict,
            Verdict::DropRule(r) if r.line == 6
        ));
    }

    #[test]
    fn marks_ports_and_unknown_interfaces() {
        let t = filter(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             :KUBE-FORWARD - [0:0]\n\
             -A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n\
             -A FORWARD -i eth1 -j ACCEPT\n\
             -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n\
             -A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT\n\
             -A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
             COMMIT\n",
        );
        let marked = Probe {
            mark: 0x4000,
            dst_local: false,
            ..probe()
        };
        assert!(!follow(&t, "FORWARD", &marked).verdict.drops());
        let unmarked = Probe {
            dst_local: false,
            ..probe()
        };
        let p = follow(&t, "FORWARD", &unmarked);
        assert!(matches!(p.verdict, Verdict::DropPolicy));
        assert_eq!(p.maybe_accepts.len(), 1, "the -i eth1 accept may apply");
        assert_eq!(mark_match("0x4000/0x4000", 0x4001), Tri::Yes);
        assert_eq!(mark_match("0x8000", 0x4000), Tri::No);
        assert_eq!(mark_match("junk", 0), Tri::Maybe);
    }
}
