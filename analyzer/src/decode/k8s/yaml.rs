//! YAML text to JSON values in one streaming pass over `saphyr-parser` events, with the
//! hostile-input fences applied as the values are built: nesting depth (checked at every
//! collection start, before anything deeper is read) and an expansion budget that every scalar,
//! collection and alias is charged against (an alias costs the full size of what it repeats).
//!
//! Plain scalars are resolved with YAML 1.2's core schema, as kubectl's output needs: `null`,
//! `~` and the empty scalar are null, `true`/`false` booleans, decimal, `0x` and `0o` integers and
//! decimal floats numbers; everything else, and every quoted or block scalar, is a string.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

use super::K8sDecodeError;

enum Frame {
    Seq(Vec<Value>, usize, u64),
    /// Entries, the key waiting for its value, anchor id, size so far.
    Map(Map<String, Value>, Option<String>, usize, u64),
}

/// The documents of `text` as JSON values.
pub(super) fn load(
    text: &str,
    max_depth: usize,
    budget: u64,
) -> Result<Vec<Value>, K8sDecodeError> {
    load_streaming(text, max_depth, budget, None)
}

/// [`load`], except that when `top_items` is given, each item of a top-level sequence is
/// handed to it as soon as it is complete instead of being kept in the sequence: a large list's
/// items then never all exist as JSON values at once, and their memory is reused from one item
/// to the next (fresh pages were a sixth of the decoding time).
fn load_streaming(
    text: &str,
    max_depth: usize,
    budget: u64,
    mut top_items: Option<&mut dyn FnMut(Value)>,
) -> Result<Vec<Value>, K8sDecodeError> {
    let too_deep = |line: usize| K8sDecodeError::TooDeep {
        limit: max_depth,
        line,
    };
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Anchored values and their expanded size, by saphyr's anchor id.
    let mut anchors: HashMap<usize, (Value, u64)> = HashMap::new();
    let mut spent: u64 = 0;
    let mut root: Option<Value> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            if e.info().contains("recursion limit") {
                too_deep(e.marker().line())
            } else {
                K8sDecodeError::Yaml {
                    message: e.to_string(),
                }
            }
        })?;
        // (value, anchor id, expanded size, what it costs now): a collection's children were
        // charged as they arrived, an alias costs everything it repeats.
        let (value, anchor, size, cost) = match event {
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= max_depth {
                    return Err(too_deep(span.start.line()));
                }
                stack.push(Frame::Seq(Vec::new(), anchor, 1));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= max_depth {
                    return Err(too_deep(span.start.line()));
                }
                stack.push(Frame::Map(Map::new(), None, anchor, 1));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor, size)) => (Value::Array(items), anchor, size, 1),
                Some(Frame::Map(map, _, anchor, size)) => (Value::Object(map), anchor, size, 1),
                None => continue,
            },
            Event::Scalar(text, style, anchor, tag) => {
                let size = 1 + text.len() as u64;
                (scalar(text, style, tag.as_deref()), anchor, size, size)
            }
            Event::Alias(id) => {
                let size = anchors.get(&id).map_or(1, |(_, s)| *s);
                // Charged before anything is copied.
                if spent.saturating_add(size) > budget {
                    return Err(K8sDecodeError::AliasExpansion { limit: budget });
                }
                let value = anchors.get(&id).map_or(Value::Null, |(v, _)| v.clone());
                (value, 0, size, size)
            }
            Event::DocumentEnd => {
                docs.push(root.take().unwrap_or(Value::Null));
                continue;
            }
            _ => continue,
        };
        spent = spent.saturating_add(cost);
        if spent > budget {
            return Err(K8sDecodeError::AliasExpansion { limit: budget });
        }
        if anchor != 0 {
            anchors.insert(anchor, (value.clone(), size));
        }
        let top = stack.len() == 1;
        match stack.last_mut() {
            Some(Frame::Seq(items, _, parent)) => {
                *parent = parent.saturating_add(size);
                match top_items.as_mut() {
                    Some(sink) if top => sink(value),
                    _ => items.push(value),
                }
            }
            Some(Frame::Map(map, key, _, parent)) => {
                *parent = parent.saturating_add(size);
                match key.take() {
                    None => {
                        *key = Some(match value {
                            Value::String(s) => s,
                            // YAML allows any key; Kubernetes objects only use strings.
                            other => other.to_string(),
                        })
                    }
                    Some(k) => {
                        map.insert(k, value);
                    }
                }
            }
            None => root = Some(value),
        }
    }
    if let Some(v) = root.take() {
        docs.push(v);
    }
    Ok(docs)
}

/// Below this size a list is read in one pass: threads would cost more than they save.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// A large list as `kubectl get -A -o yaml` prints it (`items:` at column 0, each item a `- `
/// at column 0, everything of an item indented below it), read in slices of whole items on all
/// cores. The items are in order, the fences apply to each slice, and anything unexpected
/// (another layout, an error in any slice) returns `None` so the caller reads the text in one
/// pass and reports errors as usual.
///
/// Each item is handed to `per_item` with the list's own fields (apiVersion, kind) in the
/// worker that read it, so turning items into typed objects is spread over the cores too.
pub(super) fn load_list_in_parallel<T: Send>(
    text: &str,
    max_depth: usize,
    budget_for: impl Fn(usize) -> u64 + Sync,
    per_item: impl Fn(&Map<String, Value>, Value) -> T + Sync,
) -> Option<(Map<String, Value>, Vec<T>)> {
    if text.len() < PARALLEL_MIN_BYTES || text.contains("\n---") || text.starts_with("---") {
        return None;
    }
    // Byte offsets of the `items:` block: from its first `- ` line to the first column-0 line
    // after it that is not an item start.
    let mut offset = 0;
    let mut items_start = None;
    let mut items_end = None;
    let mut item_starts = Vec::new();
    for line in text.split_inclusive('\n') {
        let at = offset;
        offset += line.len();
        match items_start {
            None => {
                if line.trim_end() == "items:" {
                    items_start = Some(offset);
                }
            }
            Some(_) if items_end.is_none() => {
                if line.starts_with("- ") || line.trim_end() == "-" {
                    item_starts.push(at);
                } else if !line.starts_with(' ') && !line.trim().is_empty() {
                    items_end = Some(at);
                }
            }
            // Items again after the block ended (a comment at column 0 between items, say):
            // not the layout this reader splits.
            Some(_) => {
                if line.starts_with("- ") {
                    return None;
                }
            }
        }
    }
    let start = items_start?;
    let end = items_end.unwrap_or(text.len());
    if item_starts.first() != Some(&start) || item_starts.len() < 2 {
        return None;
    }
    // The list without its items, to read apiVersion and kind (a typed list's items leave
    // them out).
    let shell = format!("{}{}", &text[..start], &text[end..]);
    let mut head = load(&shell, max_depth, budget_for(shell.len())).ok()?;
    let Some(Value::Object(list)) = head.pop().filter(|_| head.is_empty()) else {
        return None;
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    if threads < 2 {
        return None;
    }
    let per = item_starts.len().div_ceil(threads);
    let mut bounds: Vec<(usize, usize)> = Vec::new();
    for (i, chunk) in item_starts.chunks(per).enumerate() {
        let from = chunk[0];
        let to = item_starts.get((i + 1) * per).copied().unwrap_or(end);
        bounds.push((from, to));
    }
    let depth = max_depth.saturating_sub(2);
    let (head, per_item) = (&list, &per_item);
    let parts: Vec<Option<Vec<T>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .iter()
            .map(|&(from, to)| {
                let slice = &text[from..to];
                let budget = budget_for(slice.len());
                scope.spawn(move || {
                    let mut typed = Vec::new();
                    let mut sink = |v| typed.push(per_item(head, v));
                    let docs = load_streaming(slice, depth, budget, Some(&mut sink)).ok()?;
                    match docs.as_slice() {
                        [Value::Array(rest)] if rest.is_empty() => Some(typed),
                        _ => None,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut items = Vec::with_capacity(item_starts.len());
    for part in parts {
        items.extend(part?);
    }
    if items.len() != item_starts.len() {
        return None;
    }
    Some((list, items))
}

fn scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    // `!!str 123` stays a string; other tags are dropped and the value read as usual.
    if tag.is_some_and(|t| {
        (t.handle == "tag:yaml.org,2002:" || t.handle == "!!") && t.suffix == "str"
    }) {
        return Value::String(text.into_owned());
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.into_owned());
    }
    resolve_plain(text)
}

/// YAML 1.2 core schema for plain scalars.
fn resolve_plain(text: Cow<'_, str>) -> Value {
    match &*text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let s = &*text;
    let digits = |d: &str, radix: u32| !d.is_empty() && d.chars().all(|c| c.is_digit(radix));
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits(unsigned, 10) {
        if let Ok(i) = s.parse::<i64>() {
            return Value::from(i);
        }
        if let Ok(u) = s.parse::<u64>() {
            return Value::from(u);
        }
        return Value::String(text.into_owned());
    }
    if let Some(h) = s.strip_prefix("0x").filter(|h| digits(h, 16)) {
        if let Ok(u) = u64::from_str_radix(h, 16) {
            return Value::from(u);
        }
    }
    if let Some(o) = s.strip_prefix("0o").filter(|o| digits(o, 8)) {
        if let Ok(u) = u64::from_str_radix(o, 8) {
            return Value::from(u);
        }
    }
    if is_float(s) {
        if let Ok(f) = s.parse::<f64>() {
            return Number::from_f64(f)
                .map_or_else(|| Value::String(text.into_owned()), Value::Number);
        }
    }
    // Including `.inf` and `.nan`: JSON has no such numbers.
    Value::String(text.into_owned())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - f;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Value {
        load(s, 64, 1 << 20).expect("loads").remove(0)
    }

    #[test]
    fn core_schema() {
        let v = one("a: 1\nb: -2\nc: 1.5\nd: true\ne: null\nf: ~\ng:\nh: '1'\ni: \"true\"\nj: 0x1f\nk: yes\nl: 1e3\nm: 1.2.3\nn: 99999999999999999999\n");
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"], -2);
        assert_eq!(v["c"], 1.5);
        assert_eq!(v["d"], true);
        assert!(v["e"].is_null() && v["f"].is_null() && v["g"].is_null());
        assert_eq!(v["h"], "1");
        assert_eq!(v["i"], "true");
        assert_eq!(v["j"], 31);
        assert_eq!(v["k"], "yes");
        assert_eq!(v["l"], 1000.0);
        assert_eq!(v["m"], "1.2.3");
        assert_eq!(v["n"], "99999999999999999999");
    }

    #[test]
    fn documents_aliases_and_block_scalars() {
        let docs = load(
            "---\na: &x [1, 2]\nb: *x\nc: |-\n  line one\n  line two\n---\n---\nz: 1\n",
            64,
            1 << 20,
        )
        .expect("loads");
        assert_eq!(docs.len(), 3, "{docs:?}");
        assert_eq!(docs[0]["b"], serde_json::json!([1, 2]));
        assert_eq!(docs[0]["c"], "line one\nline two");
        assert!(docs[1].is_null());
        assert_eq!(docs[2]["z"], 1);
    }

    fn big_list(kind: &str, items: usize, item_kind: bool) -> String {
        let mut t = String::from("apiVersion: v1\nitems:\n");
        for i in 0..items {
            if item_kind {
                t.push_str("- apiVersion: v1\n  kind: Service\n  metadata:\n");
            } else {
                t.push_str("- metadata:\n");
            }
            t.push_str(&format!(
                "    name: svc-{i}\n    namespace: default\n    annotations:\n      note: |-\n        line one\n        - not an item\n  spec:\n    ports:\n    - port: {}\n      protocol: TCP\n    clusterIP: 10.96.{}.{}\n",
                80 + i % 3,
                i / 256,
                i % 256
            ));
        }
        t.push_str(&format!(
            "kind: {kind}\nmetadata:\n  resourceVersion: \"\"\n"
        ));
        t
    }

    #[test]
    fn a_large_list_reads_the_same_in_parallel() {
        for (kind, item_kind) in [("List", true), ("ServiceList", false)] {
            let text = big_list(kind, 8000, item_kind);
            assert!(text.len() > PARALLEL_MIN_BYTES, "{}", text.len());
            let budget = |len: usize| (len as u64) * 2 + 65536;
            let whole = load(&text, 64, budget(text.len())).expect("one pass");
            let (mut head, items) =
                load_list_in_parallel(&text, 64, budget, |_, v| v).expect("parallel pass");
            assert_eq!(items.len(), 8000);
            assert_eq!(head["kind"], kind);
            head.insert("items".to_string(), Value::Array(items));
            assert_eq!(whole, vec![Value::Object(head)], "{kind}");
        }
    }

    #[test]
    fn other_layouts_are_left_to_the_one_pass_reader() {
        let budget = |len: usize| (len as u64) * 2 + 65536;
        let load_list_in_parallel =
            |text: &str, depth, budget| load_list_in_parallel(text, depth, budget, |_, v| v);
        // Small input, several documents, items indented under `items:`.
        assert!(load_list_in_parallel("items:\n- a: 1\n- a: 2\n", 64, budget).is_none());
        let docs = format!("---\n{}", big_list("List", 8000, true));
        assert!(load_list_in_parallel(&docs, 64, budget).is_none());
        let commented =
            big_list("List", 8000, true).replacen("- apiVersion", "# a comment\n- apiVersion", 2);
        let whole = load(&commented, 64, budget(commented.len())).expect("one pass");
        assert_eq!(whole[0]["items"].as_array().map(Vec::len), Some(8000));
        assert!(load_list_in_parallel(&commented, 64, budget).is_none());
        let indented = big_list("List", 8000, true).replace("\n- ", "\n  - ");
        assert!(load_list_in_parallel(&indented, 64, budget).is_none());
        // A broken item makes the whole text go through the one-pass reader (and its error).
        let broken = big_list("List", 8000, true).replacen("name: svc-7000", "name: [svc", 1);
        assert!(load_list_in_parallel(&broken, 64, budget).is_none());
    }
}
