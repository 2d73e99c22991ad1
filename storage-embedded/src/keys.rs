//! Key layout. Every record key starts with its tenant path (`org/app/...`), joined by [`SEP`], so that one
//! organization's rows form one contiguous range that no other organization's scan can reach, and a listing
//! is a range scan. Ids are ULIDs, so within a prefix key order is creation order.

use std::ops::Bound;

use xwebhook_engine::store::Walk;

/// Separates key parts. No id, UID, event type name or organization id may contain it, which is what makes
/// `org/` a prefix of exactly that organization's keys.
pub(crate) const SEP: char = '/';

/// `a/b/c`.
pub(crate) fn key(parts: &[&str]) -> String {
    parts.join("/")
}

/// `a/b/`: the prefix shared by every key under `a/b`.
pub(crate) fn prefix(parts: &[&str]) -> String {
    let mut p = parts.join("/");
    p.push(SEP);
    p
}

/// The part of `key` after `prefix` (for keys produced by a scan of that prefix).
pub(crate) fn suffix<'k>(key: &'k str, prefix: &str) -> &'k str {
    key.strip_prefix(prefix).unwrap_or(key)
}

/// The key range a walk covers under `prefix`, optionally narrowed to suffixes in `[lo, hi)`.
/// `None` when the range is empty (redb, like `BTreeMap`, must not be given a reversed range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: Bound<String>,
    pub end: String,
}

impl Span {
    pub(crate) fn new(prefix: &str, walk: &Walk<'_>, lo: Option<&str>, hi: Option<&str>) -> Option<Self> {
        let mut start = Bound::Included(format!("{prefix}{}", lo.unwrap_or("")));
        let mut end = match hi {
            Some(hi) => format!("{prefix}{hi}"),
            None => prefix_end(prefix),
        };
        if let Some(from) = walk.from {
            let from = format!("{prefix}{from}");
            if walk.ascending {
                if bound_value(&start).is_none_or(|s| from.as_str() >= s) {
                    start = Bound::Excluded(from);
                }
            } else if from < end {
                end = from;
            }
        }
        let empty = bound_value(&start).is_some_and(|s| s >= end.as_str());
        (!empty).then_some(Self { start, end })
    }

    /// Every key under `prefix`.
    pub(crate) fn all(prefix: &str) -> Option<Self> {
        Some(Self {
            start: Bound::Included(prefix.to_owned()),
            end: prefix_end(prefix),
        })
    }

    /// The bounds in the form redb's `range` takes.
    pub(crate) fn bounds(&self) -> (Bound<&str>, Bound<&str>) {
        let start = match &self.start {
            Bound::Included(s) => Bound::Included(s.as_str()),
            Bound::Excluded(s) => Bound::Excluded(s.as_str()),
            Bound::Unbounded => Bound::Unbounded,
        };
        (start, Bound::Excluded(self.end.as_str()))
    }
}

fn bound_value(b: &Bound<String>) -> Option<&str> {
    match b {
        Bound::Included(s) | Bound::Excluded(s) => Some(s),
        Bound::Unbounded => None,
    }
}

/// The smallest string above every string starting with `prefix`, whose last character is [`SEP`].
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.strip_suffix(SEP).unwrap_or(prefix).to_owned();
    // '/' + 1 == '0': every key under the prefix sorts below it, every other key with the same head above.
    end.push(char::from(SEP as u8 + 1));
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(ascending: bool, from: Option<&str>) -> Walk<'_> {
        Walk {
            ascending,
            from,
            take: 10,
        }
    }

    #[test]
    fn prefix_range_excludes_longer_siblings() {
        let span = Span::new("org_a/", &walk(true, None), None, None).expect("non-empty");
        assert_eq!(span.start, Bound::Included("org_a/".to_owned()));
        assert_eq!(span.end, "org_a0");
        assert!("org_ab/x" > span.end.as_str());
        assert!("org_a/zzz" < span.end.as_str());
    }

    #[test]
    fn walks_start_past_their_cursor() {
        let asc = Span::new("o/", &walk(true, Some("k")), None, None).expect("non-empty");
        assert_eq!(asc.start, Bound::Excluded("o/k".to_owned()));
        let desc = Span::new("o/", &walk(false, Some("k")), None, None).expect("non-empty");
        assert_eq!(desc.end, "o/k");
        // A cursor below the narrowed range does not widen it.
        let narrowed = Span::new("o/", &walk(true, Some("a")), Some("m"), None).expect("non-empty");
        assert_eq!(narrowed.start, Bound::Included("o/m".to_owned()));
        assert_eq!(Span::new("o/", &walk(true, Some("z")), None, Some("m")), None);
        assert_eq!(Span::new("o/", &walk(false, Some("a")), Some("m"), None), None);
    }
}
