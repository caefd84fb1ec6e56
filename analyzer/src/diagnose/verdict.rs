//! What a check concludes on one node: something [found](Verdict::Found), nothing wrong
//! ([clear](Verdict::Clear), with why and on what evidence), or that it
//! [cannot conclude](Verdict::Cannot). A check returns [`Verdicts`], which is never empty, so a
//! check that says nothing does not compile.

use serde::Serialize;

use super::{Evidence, Finding, NotConcluded};

/// One conclusion of a check.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A problem, reported as a finding.
    Found(Finding),
    /// Nothing wrong, or nothing for this check to judge here ("does not apply": the `why`
    /// says so). `subject` names what was judged when a check judges many (a Service port, a
    /// link); `evidence` is what the conclusion rests on, when there is any.
    Clear {
        subject: Option<String>,
        why: String,
        evidence: Vec<Evidence>,
    },
    /// The evidence to decide was missing or unreadable.
    Cannot(NotConcluded),
}

/// A check's conclusions on one node: at least one. There is no empty value — no `Default`,
/// no public constructor of an empty list — so every way out of a check names a verdict.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a check's verdicts are its result"]
pub struct Verdicts(Vec<Verdict>);

impl Verdicts {
    /// One finding.
    pub fn found(f: Finding) -> Self {
        Verdicts(vec![Verdict::Found(f)])
    }

    /// Nothing wrong (or nothing to judge here), why, and on what evidence.
    pub fn clear(why: impl Into<String>, evidence: Vec<Evidence>) -> Self {
        Verdicts(vec![Verdict::Clear {
            subject: None,
            why: why.into(),
            evidence,
        }])
    }

    /// Could not conclude.
    pub fn cannot(n: NotConcluded) -> Self {
        Verdicts(vec![Verdict::Cannot(n)])
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Verdict> {
        self.0.iter()
    }

    pub fn into_vec(self) -> Vec<Verdict> {
        self.0
    }

    /// The one-line summary of these verdicts: found if any was found, else cannot-conclude
    /// if any could not, else clear with the first clear verdict's why and evidence.
    pub fn summary(&self) -> (VerdictKind, Option<&str>, &[Evidence]) {
        if self.0.iter().any(|v| matches!(v, Verdict::Found(_))) {
            return (VerdictKind::Found, None, &[]);
        }
        if self.0.iter().any(|v| matches!(v, Verdict::Cannot(_))) {
            return (VerdictKind::CannotConclude, None, &[]);
        }
        match self.0.first() {
            Some(Verdict::Clear { why, evidence, .. }) => {
                (VerdictKind::Clear, Some(why.as_str()), evidence.as_slice())
            }
            // Never empty, and neither found nor cannot: the first is a clear verdict.
            _ => (VerdictKind::Clear, None, &[]),
        }
    }
}

impl IntoIterator for Verdicts {
    type Item = Verdict;
    type IntoIter = std::vec::IntoIter<Verdict>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The verdicts of a check that judges many subjects (Service ports, links, pools...), as it
/// goes. The only way out is [`Judgement::or_clear`], which says why all is clear when nothing
/// else was recorded.
#[derive(Debug, Default)]
#[must_use = "a judgement ends in `or_clear`"]
pub struct Judgement(Vec<Verdict>);

impl Judgement {
    pub fn new() -> Self {
        Judgement(Vec::new())
    }

    pub fn found(&mut self, f: Finding) {
        self.0.push(Verdict::Found(f));
    }

    /// Whether anything was found so far.
    pub fn has_found(&self) -> bool {
        self.0.iter().any(|v| matches!(v, Verdict::Found(_)))
    }

    pub fn cannot(&mut self, n: NotConcluded) {
        self.0.push(Verdict::Cannot(n));
    }

    /// One subject judged clear.
    pub fn clear(
        &mut self,
        subject: impl Into<String>,
        why: impl Into<String>,
        evidence: Vec<Evidence>,
    ) {
        self.0.push(Verdict::Clear {
            subject: Some(subject.into()),
            why: why.into(),
            evidence,
        });
    }

    /// The verdicts recorded, or, when none was, one clear verdict: `why` and its evidence.
    pub fn or_clear(self, why: impl Into<String>, evidence: Vec<Evidence>) -> Verdicts {
        if self.0.is_empty() {
            Verdicts::clear(why, evidence)
        } else {
            Verdicts(self.0)
        }
    }
}

/// The summary verdict of one check on one node, as the report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    Found,
    Clear,
    CannotConclude,
}

/// One check on one node in the report: its summary verdict, and for a clear one, why and on
/// what evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckVerdict {
    pub id: &'static str,
    pub node: String,
    pub verdict: VerdictKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nc() -> NotConcluded {
        NotConcluded {
            id: "x",
            catalog: "",
            question: "q".into(),
            reason: "r".into(),
            would_confirm: None,
        }
    }

    #[test]
    fn or_clear_adds_a_clear_only_when_nothing_was_recorded() {
        let v = Judgement::new().or_clear("nothing to judge", Vec::new());
        assert_eq!(v.iter().count(), 1);
        assert_eq!(v.summary().0, VerdictKind::Clear);
        assert_eq!(v.summary().1, Some("nothing to judge"));

        let mut j = Judgement::new();
        j.clear("a", "a is fine", Vec::new());
        j.cannot(nc());
        let v = j.or_clear("unused", Vec::new());
        assert_eq!(v.iter().count(), 2);
        assert_eq!(v.summary().0, VerdictKind::CannotConclude);

        let mut j = Judgement::new();
        j.clear("a", "a is fine", Vec::new());
        j.clear("b", "b is fine", Vec::new());
        let v = j.or_clear("unused", Vec::new());
        assert_eq!(v.summary().1, Some("a is fine"));
    }
}
