use super::*;

#[test]
fn every_example_matches_its_signature() {
    for sig in all() {
        assert!(!sig.examples.is_empty(), "{}: no example line", sig.id);
        for ex in sig.examples {
            let got = match_line(ex, "log", "line 1");
            assert!(
                got.iter().any(|m| m.signature.id == sig.id),
                "{}: example does not match: {ex}",
                sig.id
            );
        }
    }
}

#[test]
fn ids_are_unique_kebab_case() {
    let mut seen = std::collections::BTreeSet::new();
    for sig in all() {
        assert!(seen.insert(sig.id), "duplicate signature id {}", sig.id);
        assert!(
            sig.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{} is not kebab-case",
            sig.id
        );
        assert!(
            regex::Regex::new(sig.pattern).is_ok(),
            "{}: bad pattern",
            sig.id
        );
    }
}
