//! `ipset save` output (`create NAME TYPE options...` / `add NAME ENTRY options...`, the
//! restore syntax) and the human `ipset list` format (`Name:`, `Type:`, `Header:`, `Members:`
//! blocks), as ipset 6/7 print them (ipset `lib/print.c`, `lib/session.c`).
//!
//! Entries keep their text and a typed form for the set types kube-proxy uses
//! (`hash:ip,port` → `ip,proto:port`, `hash:ip,port,ip`, `hash:ip,port,net`, `bitmap:port`,
//! `hash:ip`, `hash:net`, `list:set`). Unknown types and options are kept as text.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

pub use super::iptables::LineError;

/// All sets of one `ipset save` or `ipset list` output.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ipsets {
    pub sets: Vec<IpSet>,
    pub errors: Vec<LineError>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

/// One set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpSet {
    pub name: String,
    /// `hash:ip,port`, `bitmap:port`, ...
    #[serde(rename = "type")]
    pub set_type: String,
    /// `inet` / `inet6` for hash types; bitmap and list sets have none.
    pub family: Option<String>,
    /// Creation options in order (`hashsize`, `maxelem`, `range`, `timeout`, `counters`...).
    pub options: Vec<SetOption>,
    /// Line of the `create` line (or of `Name:` in `ipset list`).
    pub line: usize,
    pub entries: Vec<Entry>,
}

/// `key [value]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetOption {
    pub key: String,
    pub value: Option<String>,
}

/// One member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub line: usize,
    /// The element as printed (`10.96.0.10,udp:53`).
    pub text: String,
    pub member: Member,
    /// Per-entry options other than the comment (`timeout`, `packets`, `bytes`, `nomatch`).
    pub options: Vec<SetOption>,
    pub comment: Option<String>,
}

/// An element decoded according to its set's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Member {
    /// `hash:ip`, `bitmap:ip`.
    Ip { ip: IpAddr },
    /// `hash:net`: a host is printed without `/32`, so `prefix` is then the full length.
    Net { addr: IpAddr, prefix: u8 },
    /// `hash:ip,port`: `10.96.0.10,udp:53`.
    IpPort {
        ip: IpAddr,
        proto: String,
        port: u16,
    },
    /// `hash:ip,port,ip`: `10.244.0.5,tcp:8080,10.244.0.5`.
    IpPortIp {
        ip: IpAddr,
        proto: String,
        port: u16,
        ip2: IpAddr,
    },
    /// `hash:ip,port,net`: `192.0.2.10,tcp:443,198.51.100.0/24`.
    IpPortNet {
        ip: IpAddr,
        proto: String,
        port: u16,
        addr: IpAddr,
        prefix: u8,
    },
    /// `bitmap:port`.
    Port { port: u16 },
    /// `list:set`.
    Set { name: String },
    /// Any other type, or an element that does not fit its type.
    Other,
}

impl Ipsets {
    pub fn set(&self, name: &str) -> Option<&IpSet> {
        self.index.get(name).and_then(|&i| self.sets.get(i))
    }

    fn push_set(&mut self, set: IpSet) -> Result<(), String> {
        if self.index.contains_key(&set.name) {
            return Err(format!("set {} is created twice", set.name));
        }
        self.index.insert(set.name.clone(), self.sets.len());
        self.sets.push(set);
        Ok(())
    }
}

impl IpSet {
    /// The creation option `key`'s value (`hashsize`, `range`, ...).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|o| o.key == key)
            .and_then(|o| o.value.as_deref())
    }

    /// Whether a flag-like option is present (`counters`, `comment`).
    pub fn has_option(&self, key: &str) -> bool {
        self.options.iter().any(|o| o.key == key)
    }

    /// Whether `member` is an element (exact element, no CIDR containment).
    pub fn contains(&self, member: &Member) -> bool {
        self.entries.iter().any(|e| &e.member == member)
    }
}

/// Creation options that take no value (ipset `lib/data.c` / type definitions).
const CREATE_FLAGS: &[&str] = &[
    "counters",
    "comment",
    "skbinfo",
    "forceadd",
    "bucketsize-auto",
];
/// Entry options that take no value.
const ENTRY_FLAGS: &[&str] = &["nomatch"];

/// Splits on blanks; `"..."` groups (ipset refuses `"` inside a comment, so there is no
/// escape: it prints comments verbatim between quotes).
fn tokenize(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut started = false;
    let mut in_quotes = false;
    for c in s.chars() {
        if in_quotes {
            if c == '"' {
                in_quotes = false;
            } else {
                cur.push(c);
            }
        } else if c == ' ' || c == '\t' {
            if started {
                out.push(std::mem::take(&mut cur));
                started = false;
            }
        } else if c == '"' {
            in_quotes = true;
            started = true;
        } else {
            cur.push(c);
            started = true;
        }
    }
    if in_quotes {
        return Err("unterminated quoted string".into());
    }
    if started {
        out.push(cur);
    }
    Ok(out)
}

fn options(tokens: &[String], flags: &[&str]) -> Vec<SetOption> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let key = tokens[i].clone();
        i += 1;
        let value = if flags.contains(&key.as_str()) {
            None
        } else {
            let v = tokens.get(i).cloned();
            i += 1;
            v
        };
        out.push(SetOption { key, value });
    }
    out
}

fn parse_net(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let full = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        Some(p) => p.parse().ok().filter(|&p| p <= full)?,
        None => full,
    };
    Some((addr, prefix))
}

/// `tcp:443` (ipset prints the protocol name; a bare port means tcp).
fn parse_proto_port(s: &str) -> Option<(String, u16)> {
    match s.split_once(':') {
        Some((proto, port)) => Some((proto.to_ascii_lowercase(), port.parse().ok()?)),
        None => Some(("tcp".into(), s.parse().ok()?)),
    }
}

/// Decodes one element according to the set type.
pub fn parse_member(set_type: &str, text: &str) -> Member {
    parse_member_opt(set_type, text).unwrap_or(Member::Other)
}

fn parse_member_opt(set_type: &str, text: &str) -> Option<Member> {
    let parts: Vec<&str> = text.split(',').collect();
    Some(match (set_type, parts.as_slice()) {
        ("hash:ip" | "bitmap:ip", [ip]) => Member::Ip {
            ip: ip.parse().ok()?,
        },
        ("hash:net", [net]) => {
            let (addr, prefix) = parse_net(net)?;
            Member::Net { addr, prefix }
        }
        ("hash:ip,port", [ip, pp]) => {
            let (proto, port) = parse_proto_port(pp)?;
            Member::IpPort {
                ip: ip.parse().ok()?,
                proto,
                port,
            }
        }
        ("hash:ip,port,ip", [ip, pp, ip2]) => {
            let (proto, port) = parse_proto_port(pp)?;
            Member::IpPortIp {
                ip: ip.parse().ok()?,
                proto,
                port,
                ip2: ip2.parse().ok()?,
            }
        }
        ("hash:ip,port,net", [ip, pp, net]) => {
            let (proto, port) = parse_proto_port(pp)?;
            let (addr, prefix) = parse_net(net)?;
            Member::IpPortNet {
                ip: ip.parse().ok()?,
                proto,
                port,
                addr,
                prefix,
            }
        }
        ("bitmap:port", [port]) => Member::Port {
            port: port.parse().ok()?,
        },
        ("list:set", [name]) => Member::Set {
            name: name.to_string(),
        },
        _ => return None,
    })
}

fn entry(line: usize, set_type: &str, tokens: &[String]) -> Option<Entry> {
    let (text, rest) = tokens.split_first()?;
    let mut opts = options(rest, ENTRY_FLAGS);
    let comment = opts
        .iter()
        .position(|o| o.key == "comment")
        .and_then(|i| opts.remove(i).value);
    Some(Entry {
        line,
        text: text.clone(),
        member: parse_member(set_type, text),
        options: opts,
        comment,
    })
}

/// Decodes `ipset save` output; invalid UTF-8 is replaced, never fatal.
pub fn parse_ipset_save_bytes(input: &[u8]) -> Ipsets {
    parse_ipset_save(&String::from_utf8_lossy(input))
}

/// Decodes `ipset save` output. An `add` before its set's `create` is reported and skipped.
pub fn parse_ipset_save(text: &str) -> Ipsets {
    let mut out = Ipsets::default();
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Err(reason) = save_line(&mut out, n, line) {
            out.errors.push(LineError { line: n, reason });
        }
    }
    out
}

fn save_line(out: &mut Ipsets, n: usize, line: &str) -> Result<(), String> {
    let tokens = tokenize(line)?;
    match tokens.split_first() {
        Some((cmd, rest)) if cmd == "create" || cmd == "-N" => {
            let [name, set_type, opts @ ..] = rest else {
                return Err("create without a name and type".into());
            };
            let options = options(opts, CREATE_FLAGS);
            let family = options
                .iter()
                .find(|o| o.key == "family")
                .and_then(|o| o.value.clone());
            out.push_set(IpSet {
                name: name.clone(),
                set_type: set_type.clone(),
                family,
                options,
                line: n,
                entries: Vec::new(),
            })
        }
        Some((cmd, rest)) if cmd == "add" || cmd == "-A" => {
            let [name, elem @ ..] = rest else {
                return Err("add without a set name".into());
            };
            let i = *out
                .index
                .get(name.as_str())
                .ok_or_else(|| format!("add to set {name} before it is created"))?;
            let set = out.sets.get_mut(i).ok_or("set index out of range")?;
            let e = entry(n, &set.set_type, elem).ok_or("add without an element")?;
            set.entries.push(e);
            Ok(())
        }
        Some((cmd, _)) => Err(format!("unknown command {cmd:?}")),
        None => Ok(()),
    }
}

/// Decodes `ipset list` output (all sets, or one). `Header:` options become the set's
/// options; `Members:` lines its entries.
pub fn parse_ipset_list(text: &str) -> Ipsets {
    let mut out = Ipsets::default();
    let mut cur: Option<IpSet> = None;
    let mut in_members = false;
    let finish = |out: &mut Ipsets, set: Option<IpSet>, n: usize| {
        if let Some(s) = set {
            if let Err(reason) = out.push_set(s) {
                out.errors.push(LineError { line: n, reason });
            }
        }
    };
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = line.trim();
        if let Some(name) = line.strip_prefix("Name:") {
            finish(&mut out, cur.take(), n);
            cur = Some(IpSet {
                name: name.trim().to_string(),
                set_type: String::new(),
                family: None,
                options: Vec::new(),
                line: n,
                entries: Vec::new(),
            });
            in_members = false;
            continue;
        }
        if line.is_empty() {
            in_members = false;
            continue;
        }
        let Some(set) = cur.as_mut() else {
            out.errors.push(LineError {
                line: n,
                reason: "outside a Name: block".into(),
            });
            continue;
        };
        if in_members {
            match tokenize(line) {
                Ok(tokens) => {
                    if let Some(e) = entry(n, &set.set_type, &tokens) {
                        set.entries.push(e);
                    }
                }
                Err(reason) => out.errors.push(LineError { line: n, reason }),
            }
        } else if let Some(t) = line.strip_prefix("Type:") {
            set.set_type = t.trim().to_string();
        } else if let Some(h) = line.strip_prefix("Header:") {
            match tokenize(h) {
                Ok(tokens) => {
                    set.options = options(&tokens, CREATE_FLAGS);
                    set.family = set
                        .options
                        .iter()
                        .find(|o| o.key == "family")
                        .and_then(|o| o.value.clone());
                }
                Err(reason) => out.errors.push(LineError { line: n, reason }),
            }
        } else if line == "Members:" {
            in_members = true;
        } else if !line.contains(':') {
            out.errors.push(LineError {
                line: n,
                reason: format!("unexpected {line:?}"),
            });
        }
        // Other `Key: value` lines (Revision, Size in memory, References, Number of
        // entries) describe the kernel object, not the rules; skipped.
    }
    let n = text.split('\n').count();
    finish(&mut out, cur.take(), n);
    out
}

#[cfg(test)]
mod tests;
