//! The observations of one input: every line of its logs, kernel messages and pasted text that
//! a signature of [`crate::signatures`] recognises, with the file and line it was read at.
//!
//! A pasted input is read from its originals (every piece, prose included: a log line pasted
//! in the middle of a sentence is still the component's word), so what the paste said is
//! cited where the user pasted it. A native bundle is read from the artifacts that hold
//! messages: the kernel log and the components' logs.

use netsnap_bundle::names;

use crate::load::Bundle;
use crate::observe::{FactKind, Observation};
use crate::signatures;

/// Artifacts of a native bundle that hold messages: the kernel's and the components' logs
/// (`k8s/logs-<namespace>-<name>.txt`, as the collector names `kubectl logs` output).
fn is_message_artifact(path: &str) -> bool {
    path == names::KMSG
        || path
            .strip_prefix("k8s/logs-")
            .is_some_and(|rest| rest.ends_with(".txt"))
}

/// Every observation a signature makes in `bundle`, in file and line order.
pub fn collect(bundle: &Bundle) -> Vec<Observation> {
    let mut out = Vec::new();
    if bundle.pasted().is_empty() {
        for path in bundle.paths().filter(|p| is_message_artifact(p)) {
            if let Some(bytes) = bundle.file(path) {
                let text = String::from_utf8_lossy(bytes);
                out.extend(
                    signatures::scan(&text, path, 1)
                        .into_iter()
                        .map(|m| m.observation),
                );
            }
        }
    } else {
        for f in bundle.pasted() {
            for p in f.pieces() {
                out.extend(
                    signatures::scan(&p.piece.body, &f.path, p.piece.first_line)
                        .into_iter()
                        .map(|m| m.observation),
                );
            }
        }
    }
    out
}

/// The observations of `kind`.
pub fn of_kind(all: &[Observation], kind: FactKind) -> impl Iterator<Item = &Observation> {
    all.iter().filter(move |o| o.kind == kind)
}
