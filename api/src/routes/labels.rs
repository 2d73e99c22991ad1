//! Lists of short labels a record keeps (a message's tags; an event type's or a portal token's feature flags):
//! at most so many, each valid by its kind's rule, each kept once in the order first given.

use crate::error::{ApiError, ApiResult};

pub(crate) struct Labels {
    /// What one label is called in errors (`tag`), and many (`tags`).
    pub one: &'static str,
    pub many: &'static str,
    pub max: usize,
    /// The rule a label follows, as errors state it.
    pub rule: &'static str,
    pub valid: fn(&str) -> bool,
}

impl Labels {
    /// The labels, repeats dropped, or a 422 at `loc` saying which rule one breaks.
    pub(crate) fn checked(&self, mut labels: Vec<String>, loc: &[&str]) -> ApiResult<Vec<String>> {
        if labels.len() > self.max {
            return Err(ApiError::invalid(
                loc,
                format!("at most {} {}", self.max, self.many),
            ));
        }
        if let Some(bad) = labels.iter().find(|l| !(self.valid)(l)) {
            return Err(ApiError::invalid(
                loc,
                format!("`{bad}` is not a {}: {}", self.one, self.rule),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        labels.retain(|l| seen.insert(l.clone()));
        Ok(labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LETTERS: Labels = Labels {
        one: "letter",
        many: "letters",
        max: 3,
        rule: "one ASCII letter",
        valid: |l| l.len() == 1 && l.bytes().all(|b| b.is_ascii_alphabetic()),
    };

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn repeats_are_dropped_in_order_and_each_rule_is_named() {
        let kept = LETTERS.checked(strings(&["b", "a", "b"]), &["body", "x"]).ok();
        assert_eq!(kept, Some(strings(&["b", "a"])));
        for (given, said) in [
            (&["a", "b", "c", "d"][..], "at most 3 letters"),
            (&["a", "7"], "`7` is not a letter"),
        ] {
            let Err(ApiError::Validation(errors)) = LETTERS.checked(strings(given), &["body", "x"]) else {
                panic!("{given:?} is refused");
            };
            assert_eq!(errors[0].loc, ["body", "x"]);
            assert!(errors[0].msg.starts_with(said), "{}", errors[0].msg);
        }
    }
}
