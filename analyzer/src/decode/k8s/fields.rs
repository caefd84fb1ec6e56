//! Field errors kept to their field. serde reads an object whole or not at all, so one value of
//! an unexpected type (`port: "80"`, `nodePort: abc`, `ipipMode: 1`, `addresses:` written as a
//! mapping, all things a hand-edited or re-typed paste has) would drop the whole object, and a
//! Node dropped so goes missing from every check. Instead, the parts of the object that do not
//! read are found, left out (as if absent: every field has a default), and named, and the rest
//! of the object is used.
//!
//! Finding them needs no knowledge of the types: every struct here reads an empty mapping
//! (`#[serde(default)]`), so a part of the object can be tried alone, at its place in an
//! otherwise empty object. A part that fails alone is searched further; the smallest failing
//! parts are the ones named. A mapping or sequence that fails even when empty has the wrong
//! kind itself (`addresses:` as a mapping where a sequence belongs).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// At most this many parts are left out of one object; beyond, it is not the object the
/// types describe, and it is dropped with its first error as before.
const MAX_LEFT_OUT: usize = 16;

/// A field (or item) left out of an object because its value does not have the type the field
/// has: where it is (`.spec.ports[0].port`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub path: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `value` read as `T`, with what had to be left out for it to read; the first error when it
/// does not read even so.
pub(super) fn read_leniently<T: DeserializeOwned>(
    mut value: Value,
) -> Result<(T, Vec<LeftOut>), serde_json::Error> {
    let first_error = match T::deserialize(&value) {
        Ok(t) => return Ok((t, Vec::new())),
        Err(e) => e,
    };
    let mut found = Vec::new();
    let mut path = Vec::new();
    search::<T>(&value, &mut path, &mut found);
    if found.is_empty() || found.len() > MAX_LEFT_OUT {
        return Err(first_error);
    }
    // Later parts first, so that leaving out a sequence item does not move the items still to
    // be left out (the search goes in document order, and never names a part inside another).
    for (steps, _) in found.iter().rev() {
        remove(&mut value, steps);
    }
    match T::deserialize(&value) {
        Ok(t) => Ok((
            t,
            found
                .into_iter()
                .map(|(steps, error)| LeftOut {
                    path: render(&steps),
                    error,
                })
                .collect(),
        )),
        Err(_) => Err(first_error),
    }
}

/// Adds to `found` the smallest parts of `node` (the value at `path`) that `T` cannot read.
fn search<T: DeserializeOwned>(
    node: &Value,
    path: &mut Vec<Step>,
    found: &mut Vec<(Vec<Step>, String)>,
) {
    let children: Vec<(Step, &Value)> = match node {
        Value::Object(m) => m.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (Step::Index(i), v))
            .collect(),
        _ => return,
    };
    for (step, child) in children {
        if found.len() > MAX_LEFT_OUT {
            return;
        }
        path.push(step);
        if let Some(error) = fails::<T>(path, child) {
            let empty = match child {
                Value::Object(_) => Some(Value::Object(Map::new())),
                Value::Array(_) => Some(Value::Array(Vec::new())),
                _ => None,
            };
            let wrong_kind = empty.and_then(|e| fails::<T>(path, &e));
            let before = found.len();
            if wrong_kind.is_none() {
                search::<T>(child, path, found);
            }
            if found.len() == before {
                found.push((path.clone(), wrong_kind.unwrap_or(error)));
            }
        }
        path.pop();
    }
}

/// Why `T` cannot read `value` placed at `path` in an otherwise empty object, if it cannot.
fn fails<T: DeserializeOwned>(path: &[Step], value: &Value) -> Option<String> {
    let mut v = value.clone();
    for step in path.iter().rev() {
        v = match step {
            Step::Key(k) => {
                let mut m = Map::new();
                m.insert(k.clone(), v);
                Value::Object(m)
            }
            // Items are read one by one, whatever their neighbours.
            Step::Index(_) => Value::Array(vec![v]),
        };
    }
    T::deserialize(&v).err().map(|e| e.to_string())
}

fn remove(value: &mut Value, steps: &[Step]) {
    let Some((last, parents)) = steps.split_last() else {
        return;
    };
    let mut at = value;
    for step in parents {
        let next = match (step, at) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k),
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        let Some(next) = next else { return };
        at = next;
    }
    match (last, at) {
        (Step::Key(k), Value::Object(m)) => {
            m.remove(k);
        }
        (Step::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
        }
        _ => {}
    }
}

/// `.spec.ports[0].port`; keys that are not plain words are quoted
/// (`.metadata.annotations["projectcalico.org/IPv4Address"]`).
fn render(steps: &[Step]) -> String {
    let mut s = String::new();
    for step in steps {
        match step {
            Step::Key(k)
                if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                s.push('.');
                s.push_str(k);
            }
            Step::Key(k) => s.push_str(&format!("[{k:?}]")),
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::k8s::{IpPool, Node, Service};
    use serde_json::json;

    #[test]
    fn a_wrong_scalar_is_left_out_and_named() {
        let v = json!({"metadata": {"name": "web"}, "spec": {"ports": [
            {"name": "http", "port": "80", "nodePort": 30081},
            {"name": "https", "port": 443, "nodePort": "abc"}
        ]}});
        let (svc, left) = read_leniently::<Service>(v).expect("reads");
        assert_eq!(svc.metadata.name, "web");
        assert_eq!(svc.spec.ports.len(), 2);
        assert_eq!(svc.spec.ports[0].port, 0);
        assert_eq!(svc.spec.ports[0].node_port, Some(30081));
        assert_eq!(svc.spec.ports[1].port, 443);
        assert_eq!(svc.spec.ports[1].node_port, None);
        let paths: Vec<&str> = left.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(paths, [".spec.ports[0].port", ".spec.ports[1].nodePort"]);
        assert!(left[0].error.contains("\"80\""), "{left:?}");
    }

    #[test]
    fn a_collection_of_the_wrong_kind_is_left_out_whole() {
        let v = json!({"metadata": {"name": "node1"}, "status": {
            "addresses": {"InternalIP": "192.168.122.96"},
            "nodeInfo": {"kernelVersion": "6.1.0"}
        }});
        let (node, left) = read_leniently::<Node>(v).expect("reads");
        assert_eq!(node.metadata.name, "node1");
        assert!(node.status.addresses.is_empty());
        assert_eq!(node.status.node_info.kernel_version, "6.1.0");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].path, ".status.addresses");
        assert!(left[0].error.contains("map"), "{left:?}");
    }

    #[test]
    fn a_wrong_item_is_left_out_without_moving_the_others() {
        let v = json!({"spec": {"ports": [{"port": 80}, "junk", {"port": "x"}, {"port": 443}]}});
        let (svc, left) = read_leniently::<Service>(v).expect("reads");
        let ports: Vec<i64> = svc.spec.ports.iter().map(|p| p.port).collect();
        assert_eq!(ports, [80, 0, 443]);
        let paths: Vec<&str> = left.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(paths, [".spec.ports[1]", ".spec.ports[2].port"]);
    }

    #[test]
    fn flattened_specs_name_their_own_fields() {
        let v = json!({"metadata": {"name": "pool"}, "spec": {"cidr": "10.244.0.0/16", "ipipMode": 1, "ipip": {"enabled": true}}});
        let (pool, left) = read_leniently::<IpPool>(v).expect("reads");
        assert_eq!(pool.spec.cidr, "10.244.0.0/16");
        assert_eq!(pool.spec.ipip_mode, "");
        assert!(pool.spec.extra.contains_key("ipip"));
        assert_eq!(left[0].path, ".spec.ipipMode");
    }

    #[test]
    fn odd_keys_are_quoted() {
        let steps = [
            Step::Key("metadata".into()),
            Step::Key("annotations".into()),
            Step::Key("projectcalico.org/IPv4Address".into()),
        ];
        assert_eq!(
            render(&steps),
            ".metadata.annotations[\"projectcalico.org/IPv4Address\"]"
        );
    }
}
