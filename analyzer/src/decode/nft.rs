//! `nft -j list ruleset`: `{"nftables": [{"metainfo": ...}, {"table": ...}, {"chain": ...},
//! {"set"|"map": ...}, {"rule": ...}, ...]}` (libnftables JSON, nftables `src/json.c`; the
//! schema is in `libnftables-json(5)`).
//!
//! Objects are flat, each naming its family and table; this module keeps them flat and adds
//! lookups. Rules keep every statement's JSON plus a compact nft-like rendering (`ip daddr .
//! meta l4proto . th dport vmap @service-ips`). Unknown object and expression kinds are kept
//! as JSON, never an error. A truncated document (collector size cap) yields the objects
//! before the cut.
//!
//! What the JSON does not say (nftables 1.0.6): table and chain comments are omitted (the text
//! listing shows them); rules added by iptables-nft show their xtables matches and targets as
//! bare `{"xt": {"type": "match", "name": "comment"}}` without options, so iptables-nft-save
//! stays the source for those rules.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

/// Everything decoded from one `nft -j list ruleset` output.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NftRuleset {
    pub metainfo: Option<MetaInfo>,
    pub tables: Vec<NftTable>,
    pub chains: Vec<NftChain>,
    /// Sets and maps.
    pub sets: Vec<NftSet>,
    pub rules: Vec<NftRule>,
    /// Objects of other kinds (`counter`, `quota`, `ct helper`, `flowtable`, ...), as JSON.
    pub other: Vec<Value>,
    pub errors: Vec<ObjectError>,
    #[serde(skip)]
    rules_by_chain: HashMap<(String, String, String), Vec<usize>>,
}

/// An object that could not be decoded, or a document-level problem (`index: None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectError {
    /// Position in the `nftables` array.
    pub index: Option<usize>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetaInfo {
    pub version: Option<String>,
    pub release_name: Option<String>,
    pub json_schema_version: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NftTable {
    /// `ip`, `ip6`, `inet`, `arp`, `bridge`, `netdev`.
    pub family: String,
    pub name: String,
    pub handle: Option<u64>,
    /// Printed by newer nftables releases only.
    pub comment: Option<String>,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NftChain {
    pub family: String,
    pub table: String,
    pub name: String,
    pub handle: Option<u64>,
    /// Set for base chains (attached to a hook).
    pub base: Option<BaseChain>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseChain {
    /// `filter`, `nat`, `route`.
    #[serde(rename = "type")]
    pub chain_type: Option<String>,
    pub hook: Option<String>,
    /// Numeric priority (`dstnat` is printed as -100).
    pub prio: Option<i64>,
    /// `accept` / `drop`.
    pub policy: Option<String>,
    /// Netdev/ingress device(s).
    pub dev: Option<String>,
}

/// Set or map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetKind {
    Set,
    Map,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NftSet {
    pub kind: SetKind,
    pub family: String,
    pub table: String,
    pub name: String,
    pub handle: Option<u64>,
    /// Key type, concatenations split: `["ipv4_addr", "inet_proto", "inet_service"]`.
    pub key_type: Vec<String>,
    /// Maps: the data type (`verdict`, `ipv4_addr`, ...).
    pub map_type: Option<String>,
    pub flags: Vec<String>,
    pub comment: Option<String>,
    pub elements: Vec<SetElement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetElement {
    /// Key components (one for a plain key, several for a concatenation), rendered as nft
    /// prints them: `["172.30.0.41", "tcp", "80"]`, `["10.0.0.0/8"]`, `["30000-32767"]`.
    pub key: Vec<String>,
    /// Maps: the value; for verdict maps a [`Verdict`].
    pub value: Option<ElementValue>,
    pub comment: Option<String>,
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ElementValue {
    Verdict(Verdict),
    Data { text: String },
}

/// `accept`, `drop`, `return`, `continue`, `queue`, `jump CHAIN`, `goto CHAIN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub kind: String,
    pub target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NftRule {
    pub family: String,
    pub table: String,
    pub chain: String,
    pub handle: Option<u64>,
    pub comment: Option<String>,
    pub statements: Vec<Statement>,
    /// Position of the `rule` object in the `nftables` array.
    pub index: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// Compact nft-like text: `ct state new`, `jump firewall-check`, `dnat to 10.180.0.1:80`.
    pub text: String,
    pub raw: Value,
}

impl NftRule {
    /// The whole rule as one line of compact text.
    pub fn summary(&self) -> String {
        let parts: Vec<&str> = self.statements.iter().map(|s| s.text.as_str()).collect();
        parts.join(" ")
    }

    /// The rule's verdict statements (`jump`/`goto`/`accept`/...), not counting those inside
    /// vmaps.
    pub fn verdicts(&self) -> Vec<Verdict> {
        self.statements
            .iter()
            .filter_map(|s| verdict(&s.raw))
            .collect()
    }

    /// Names of the sets and maps the rule refers to (`@service-ips` → `service-ips`).
    pub fn set_refs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.statements {
            collect_refs(&s.raw, &mut out, 0);
        }
        out
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix('@') {
                out.push(name.to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out, depth + 1)),
        Value::Object(o) => o.values().for_each(|x| collect_refs(x, out, depth + 1)),
        _ => {}
    }
}

impl NftRuleset {
    pub fn table(&self, family: &str, name: &str) -> Option<&NftTable> {
        self.tables
            .iter()
            .find(|t| t.family == family && t.name == name)
    }

    pub fn chains_of<'a>(
        &'a self,
        family: &'a str,
        table: &'a str,
    ) -> impl Iterator<Item = &'a NftChain> + 'a {
        self.chains
            .iter()
            .filter(move |c| c.family == family && c.table == table)
    }

    pub fn chain(&self, family: &str, table: &str, name: &str) -> Option<&NftChain> {
        self.chains
            .iter()
            .find(|c| c.family == family && c.table == table && c.name == name)
    }

    /// A set or map.
    pub fn set(&self, family: &str, table: &str, name: &str) -> Option<&NftSet> {
        self.sets
            .iter()
            .find(|s| s.family == family && s.table == table && s.name == name)
    }

    /// The rules of one chain in order (indexed).
    pub fn rules_in<'a>(
        &'a self,
        family: &str,
        table: &str,
        chain: &str,
    ) -> impl Iterator<Item = &'a NftRule> + 'a {
        self.rules_by_chain
            .get(&(family.to_string(), table.to_string(), chain.to_string()))
            .map(|v| v.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|&i| self.rules.get(i))
    }

    /// Base chains, in every table.
    pub fn base_chains(&self) -> impl Iterator<Item = (&NftChain, &BaseChain)> {
        self.chains
            .iter()
            .filter_map(|c| c.base.as_ref().map(|b| (c, b)))
    }
}

/// Nesting bound for rendering (serde_json already refuses documents nested deeper than 128).
const MAX_DEPTH: usize = 64;

/// Decodes `nft -j list ruleset` output. Invalid or truncated JSON yields the complete
/// objects before the damage and an error.
pub fn parse_nft_json(input: &[u8]) -> NftRuleset {
    let mut out = NftRuleset::default();
    let objects = match serde_json::from_slice::<Value>(input) {
        Ok(doc) => match doc {
            Value::Object(mut o) => match o.remove("nftables") {
                Some(Value::Array(a)) => a,
                _ => {
                    out.errors.push(ObjectError {
                        index: None,
                        reason: "no \"nftables\" array".into(),
                    });
                    Vec::new()
                }
            },
            _ => {
                out.errors.push(ObjectError {
                    index: None,
                    reason: "the document is not a JSON object".into(),
                });
                Vec::new()
            }
        },
        Err(e) => {
            let (objects, at) = salvage(input);
            out.errors.push(ObjectError {
                index: None,
                reason: format!(
                    "invalid JSON ({e}); kept the {} complete objects before byte {at}",
                    objects.len()
                ),
            });
            objects
        }
    };
    for (i, obj) in objects.into_iter().enumerate() {
        if let Err(reason) = add_object(&mut out, i, obj) {
            out.errors.push(ObjectError {
                index: Some(i),
                reason,
            });
        }
    }
    out.index_rules();
    out
}

impl NftRuleset {
    /// Rebuilds the rules-by-chain index after `rules` was filled (the text parser of
    /// `nft list ruleset` builds the same model).
    pub(crate) fn index_rules(&mut self) {
        self.rules_by_chain.clear();
        for (i, r) in self.rules.iter().enumerate() {
            self.rules_by_chain
                .entry((r.family.clone(), r.table.clone(), r.chain.clone()))
                .or_default()
                .push(i);
        }
    }
}

/// Reads the `nftables` array element by element up to the first damaged one.
fn salvage(input: &[u8]) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let key = b"\"nftables\"";
    let Some(k) = input.windows(key.len()).position(|w| w == key) else {
        return (out, 0);
    };
    let Some(open) = input[k..].iter().position(|&b| b == b'[') else {
        return (out, k);
    };
    let mut pos = k + open + 1;
    loop {
        while input
            .get(pos)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b',')
        {
            pos += 1;
        }
        let Some(rest) = input.get(pos..) else {
            break;
        };
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) if v.is_object() => {
                out.push(v);
                pos += stream.byte_offset();
            }
            _ => break,
        }
    }
    (out, pos)
}

fn s(o: &serde_json::Map<String, Value>, k: &str) -> Option<String> {
    match o.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn req(o: &serde_json::Map<String, Value>, k: &str) -> Result<String, String> {
    s(o, k).ok_or_else(|| format!("missing \"{k}\""))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn add_object(out: &mut NftRuleset, index: usize, obj: Value) -> Result<(), String> {
    let Value::Object(mut wrapper) = obj else {
        return Err("not a JSON object".into());
    };
    if wrapper.len() != 1 {
        out.other.push(Value::Object(wrapper));
        return Ok(());
    }
    let Some((kind, body)) = wrapper
        .iter_mut()
        .next()
        .map(|(k, v)| (k.clone(), v.take()))
    else {
        return Ok(());
    };
    let Value::Object(o) = body else {
        out.other.push(serde_json::json!({ kind: body }));
        return Ok(());
    };
    match kind.as_str() {
        "metainfo" => {
            out.metainfo = Some(MetaInfo {
                version: s(&o, "version"),
                release_name: s(&o, "release_name"),
                json_schema_version: o.get("json_schema_version").and_then(Value::as_u64),
            })
        }
        "table" => out.tables.push(NftTable {
            family: req(&o, "family")?,
            name: req(&o, "name")?,
            handle: o.get("handle").and_then(Value::as_u64),
            comment: s(&o, "comment"),
            flags: strings(o.get("flags")),
        }),
        "chain" => {
            let base = (o.contains_key("hook") || o.contains_key("type")).then(|| BaseChain {
                chain_type: s(&o, "type"),
                hook: s(&o, "hook"),
                prio: o.get("prio").and_then(Value::as_i64),
                policy: s(&o, "policy"),
                dev: match o.get("dev") {
                    Some(Value::Array(_)) => Some(strings(o.get("dev")).join(",")),
                    _ => s(&o, "dev"),
                },
            });
            out.chains.push(NftChain {
                family: req(&o, "family")?,
                table: req(&o, "table")?,
                name: req(&o, "name")?,
                handle: o.get("handle").and_then(Value::as_u64),
                base,
                comment: s(&o, "comment"),
            })
        }
        "set" | "map" => {
            let kind = if kind == "map" {
                SetKind::Map
            } else {
                SetKind::Set
            };
            let elements = match o.get("elem") {
                Some(Value::Array(a)) => a.iter().map(|e| element(kind, e)).collect(),
                _ => Vec::new(),
            };
            out.sets.push(NftSet {
                kind,
                family: req(&o, "family")?,
                table: req(&o, "table")?,
                name: req(&o, "name")?,
                handle: o.get("handle").and_then(Value::as_u64),
                key_type: strings(o.get("type")),
                map_type: match o.get("map") {
                    Some(Value::Array(_)) => Some(strings(o.get("map")).join(" . ")),
                    _ => s(&o, "map"),
                },
                flags: strings(o.get("flags")),
                comment: s(&o, "comment"),
                elements,
            })
        }
        "rule" => {
            let statements = match o.get("expr") {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| Statement {
                        text: render(x, 0),
                        raw: x.clone(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            out.rules.push(NftRule {
                family: req(&o, "family")?,
                table: req(&o, "table")?,
                chain: req(&o, "chain")?,
                handle: o.get("handle").and_then(Value::as_u64),
                comment: s(&o, "comment"),
                statements,
                index,
            })
        }
        _ => out
            .other
            .push(serde_json::json!({ kind: Value::Object(o) })),
    }
    Ok(())
}

/// One `elem` entry: a key, `{"elem": {"val": key, "comment": ...}}`, or for maps a
/// `[key, value]` pair whose key may itself be wrapped so.
fn element(kind: SetKind, e: &Value) -> SetElement {
    let (key, value) = match (kind, e) {
        (SetKind::Map, Value::Array(pair)) if pair.len() == 2 => (&pair[0], Some(&pair[1])),
        _ => (e, None),
    };
    let (key, comment) = match key.get("elem") {
        Some(inner) => (
            inner.get("val").unwrap_or(inner),
            inner
                .get("comment")
                .and_then(Value::as_str)
                .map(str::to_string),
        ),
        None => (key, None),
    };
    let key = match key.get("concat") {
        Some(Value::Array(parts)) => parts.iter().map(|p| render(p, 0)).collect(),
        _ => vec![render(key, 0)],
    };
    let value = value.map(|v| match verdict(v) {
        Some(verdict) => ElementValue::Verdict(verdict),
        None => ElementValue::Data { text: render(v, 0) },
    });
    SetElement {
        key,
        value,
        comment,
        raw: e.clone(),
    }
}

const VERDICTS: &[&str] = &[
    "accept", "drop", "return", "continue", "queue", "jump", "goto",
];

/// `{"drop": null}`, `{"goto": {"target": "x"}}`.
pub fn verdict(v: &Value) -> Option<Verdict> {
    let o = v.as_object().filter(|o| o.len() == 1)?;
    let (k, body) = o.iter().next()?;
    if !VERDICTS.contains(&k.as_str()) {
        return None;
    }
    Some(Verdict {
        kind: k.clone(),
        target: body
            .get("target")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

fn join(items: &[Value], sep: &str, depth: usize) -> String {
    let parts: Vec<String> = items.iter().map(|x| render(x, depth + 1)).collect();
    parts.join(sep)
}

/// Renders an expression or statement compactly, close to `nft list` syntax. Kinds not known
/// here are shown as their JSON.
pub fn render(v: &Value, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "…".into();
    }
    let d = depth + 1;
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("{{ {} }}", join(a, ", ", depth)),
        Value::Object(o) => {
            let Some((k, b)) = o.iter().next().filter(|_| o.len() == 1) else {
                return v.to_string();
            };
            let get = |key: &str| b.get(key).map(|x| render(x, d)).unwrap_or_default();
            match k.as_str() {
                "match" => {
                    let op = b.get("op").and_then(Value::as_str).unwrap_or("==");
                    // nft omits the implicit operators when listing, except after a bitwise
                    // expression (`meta mark & 0x4000 == 0x0`).
                    let bitwise = b
                        .get("left")
                        .and_then(Value::as_object)
                        .is_some_and(|l| ["&", "|", "^"].iter().any(|k| l.contains_key(*k)));
                    let op = if (op == "==" || op == "in") && !bitwise {
                        String::new()
                    } else {
                        format!("{op} ")
                    };
                    format!("{} {op}{}", get("left"), get("right"))
                }
                "payload" => match (b.get("protocol"), b.get("field")) {
                    (Some(_), Some(_)) => format!("{} {}", get("protocol"), get("field")),
                    _ => format!("@{},{},{}", get("base"), get("offset"), get("len")),
                },
                "meta" => format!("meta {}", get("key")),
                "ct" => {
                    let dir = b.get("dir").map(|x| format!(" {}", render(x, d)));
                    format!("ct{} {}", dir.unwrap_or_default(), get("key"))
                }
                "fib" => format!(
                    "fib {} {}",
                    strings(b.get("flags")).join(" . "),
                    get("result")
                ),
                "rt" => format!("rt {}", get("key")),
                "socket" => format!("socket {}", get("key")),
                "osf" => format!("osf {}", get("key")),
                "exthdr" => format!("exthdr {} {}", get("name"), get("field")),
                "tcp option" => format!("tcp option {} {}", get("name"), get("field")),
                "concat" => match b {
                    Value::Array(a) => join(a, " . ", depth),
                    _ => render(b, d),
                },
                "prefix" => format!("{}/{}", get("addr"), get("len")),
                "range" => match b {
                    Value::Array(a) if a.len() == 2 => {
                        format!("{}-{}", render(&a[0], d), render(&a[1], d))
                    }
                    _ => render(b, d),
                },
                "set" => match b {
                    Value::Array(a) => {
                        let parts: Vec<String> = a
                            .iter()
                            .map(|x| match x {
                                Value::Array(p) if p.len() == 2 => {
                                    format!("{} : {}", render(&p[0], d), render(&p[1], d))
                                }
                                _ => render(x, d),
                            })
                            .collect();
                        format!("{{ {} }}", parts.join(", "))
                    }
                    // The set statement (`add @s { ip saddr }`) shares the key.
                    Value::Object(_) => {
                        format!(
                            "{} @{} {}",
                            get("op"),
                            get("set").trim_start_matches('@'),
                            get("elem")
                        )
                    }
                    _ => format!("{{ {} }}", render(b, d)),
                },
                "elem" => get("val"),
                "&" | "|" | "^" | "<<" | ">>" => match b {
                    Value::Array(a) => join(a, &format!(" {k} "), depth),
                    _ => render(b, d),
                },
                "accept" | "drop" | "return" | "continue" => k.clone(),
                "jump" | "goto" => format!("{k} {}", get("target")),
                "vmap" => format!("{} vmap {}", get("key"), get("data")),
                "map" => format!("{} map {}", get("key"), get("data")),
                "counter" => match b {
                    Value::Object(_) => {
                        format!("counter packets {} bytes {}", get("packets"), get("bytes"))
                    }
                    _ => format!("counter {}", render(b, d)),
                },
                "mangle" => format!("{} set {}", get("key"), get("value")),
                "snat" | "dnat" => {
                    let mut t = format!("{k} to {}", get("addr"));
                    if b.get("port").is_some() {
                        let _ = write!(t, ":{}", get("port"));
                    }
                    t
                }
                "masquerade" | "redirect" => {
                    let mut t = k.clone();
                    if b.get("port").is_some() {
                        let _ = write!(t, " to :{}", get("port"));
                    }
                    let flags = strings(b.get("flags"));
                    if !flags.is_empty() {
                        let _ = write!(t, " {}", flags.join(","));
                    }
                    t
                }
                "reject" => match (b.get("type"), b.get("expr")) {
                    (Some(_), Some(_)) => format!("reject with {} {}", get("type"), get("expr")),
                    (Some(_), None) => format!("reject with {}", get("type")),
                    _ => "reject".into(),
                },
                "numgen" => format!("numgen {} mod {}", get("mode"), get("mod")),
                "jhash" | "symhash" => format!("{k} {} mod {}", get("expr"), get("mod")),
                "limit" => format!("limit rate {}/{}", get("rate"), get("per")),
                "log" => match b.get("prefix") {
                    Some(_) => format!("log prefix {:?}", get("prefix")),
                    None => "log".into(),
                },
                "notrack" => "notrack".into(),
                "xt" => format!("xt {} {}", get("type"), get("name")),
                "lookup" => format!("{} @{}", get("left"), get("set")),
                "update" | "add" | "delete" => format!("{k} @{}", get("set")),
                _ => v.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests;
