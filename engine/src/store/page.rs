//! Svix pagination: `limit`, an opaque `iterator` (the last key seen; `-key` walks back), `done`.
//!
//! Backends only scan: from an exclusive key, in one direction, up to `limit + 1` rows. Everything else about a
//! page (trimming, reversing a backward walk, the next and previous iterators, `done`) is decided here, once.

/// The largest page the API serves.
pub const MAX_LIMIT: usize = 250;
pub const DEFAULT_LIMIT: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Ascending,
    Descending,
}

/// Where a listing resumes: after `key` in the listing's order, or, when `backward`, before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub backward: bool,
}

impl Cursor {
    /// Parses an iterator as the API returns them: `key` or `-key`.
    pub fn parse(iterator: &str) -> Self {
        match iterator.strip_prefix('-') {
            Some(key) => Self {
                key: key.to_owned(),
                backward: true,
            },
            None => Self {
                key: iterator.to_owned(),
                backward: false,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub limit: usize,
    pub cursor: Option<Cursor>,
    pub order: Order,
}

/// How a backend must scan to serve a [`ListQuery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walk<'a> {
    pub ascending: bool,
    /// Exclusive start key in the walk's direction.
    pub from: Option<&'a str>,
    /// Rows to return at most: one more than the page, to learn whether the page is the last.
    pub take: usize,
}

impl ListQuery {
    pub fn new(limit: usize, cursor: Option<Cursor>, order: Order) -> Self {
        Self {
            limit: limit.clamp(1, MAX_LIMIT),
            cursor,
            order,
        }
    }

    pub fn first(limit: usize, order: Order) -> Self {
        Self::new(limit, None, order)
    }

    pub fn walk(&self) -> Walk<'_> {
        let backward = self.cursor.as_ref().is_some_and(|c| c.backward);
        Walk {
            ascending: (self.order == Order::Ascending) != backward,
            from: self.cursor.as_ref().map(|c| c.key.as_str()),
            take: self.limit + 1,
        }
    }
}

impl Walk<'_> {
    /// Whether `key` lies strictly past the start of the walk.
    pub fn admits(&self, key: &str) -> bool {
        match self.from {
            None => true,
            Some(from) if self.ascending => key > from,
            Some(from) => key < from,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub iterator: Option<String>,
    pub prev_iterator: Option<String>,
    pub done: bool,
}

impl<T> Page<T> {
    /// Builds the page from the rows a backend returned for `query.walk()`, in walk order.
    pub fn from_walk(mut rows: Vec<T>, query: &ListQuery, key: impl Fn(&T) -> String) -> Self {
        let done = rows.len() <= query.limit;
        rows.truncate(query.limit);
        if query.cursor.as_ref().is_some_and(|c| c.backward) {
            rows.reverse();
        }
        Self {
            iterator: rows.last().map(&key),
            prev_iterator: rows.first().map(|first| format!("-{}", key(first))),
            items: rows,
            done,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            iterator: self.iterator,
            prev_iterator: self.prev_iterator,
            done: self.done,
        }
    }
}

/// Walks a whole listing page by page, for work that must see every row (recovery, counting) without holding
/// them all at once:
///
/// ```text
/// let mut pager = Pager::new(Order::Ascending);
/// while let Some(query) = pager.next_query() {
///     let rows = store.list_…(…, &query).await?;
///     for row in pager.advance(rows, &query, |r| r.id.to_string()) { … }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Pager {
    next: Option<ListQuery>,
}

impl Pager {
    pub fn new(order: Order) -> Self {
        Self {
            next: Some(ListQuery::first(MAX_LIMIT, order)),
        }
    }

    /// The query for the next page, or `None` once the last page was seen.
    pub fn next_query(&self) -> Option<ListQuery> {
        self.next.clone()
    }

    /// The rows of the page `query` fetched; moves on to the following page.
    pub fn advance<T>(&mut self, rows: Vec<T>, query: &ListQuery, key: impl Fn(&T) -> String) -> Vec<T> {
        let page = Page::from_walk(rows, query, key);
        self.next = match page.iterator {
            Some(next) if !page.done => Some(ListQuery::new(
                query.limit,
                Some(Cursor::parse(&next)),
                query.order,
            )),
            _ => None,
        };
        page.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `query` over the keys 1..=9 the way a backend would.
    fn scan(query: &ListQuery) -> Page<u32> {
        let walk = query.walk();
        let mut keys: Vec<u32> = (1..=9).collect();
        if !walk.ascending {
            keys.reverse();
        }
        let rows = keys
            .into_iter()
            .filter(|k| walk.admits(&k.to_string()))
            .take(walk.take)
            .collect::<Vec<_>>();
        Page::from_walk(rows, query, |k| k.to_string())
    }

    #[test]
    fn forward_then_backward() {
        let cases = [
            // (limit, iterator, order, items, iterator, prev, done)
            (
                4,
                None,
                Order::Ascending,
                vec![1, 2, 3, 4],
                Some("4"),
                Some("-1"),
                false,
            ),
            (
                4,
                Some("4"),
                Order::Ascending,
                vec![5, 6, 7, 8],
                Some("8"),
                Some("-5"),
                false,
            ),
            (
                4,
                Some("8"),
                Order::Ascending,
                vec![9],
                Some("9"),
                Some("-9"),
                true,
            ),
            (
                4,
                Some("-5"),
                Order::Ascending,
                vec![1, 2, 3, 4],
                Some("4"),
                Some("-1"),
                true,
            ),
            (
                2,
                Some("-5"),
                Order::Ascending,
                vec![3, 4],
                Some("4"),
                Some("-3"),
                false,
            ),
            (
                3,
                None,
                Order::Descending,
                vec![9, 8, 7],
                Some("7"),
                Some("-9"),
                false,
            ),
            (
                3,
                Some("7"),
                Order::Descending,
                vec![6, 5, 4],
                Some("4"),
                Some("-6"),
                false,
            ),
            (
                3,
                Some("-6"),
                Order::Descending,
                vec![9, 8, 7],
                Some("7"),
                Some("-9"),
                true,
            ),
            (3, Some("9"), Order::Ascending, vec![], None, None, true),
        ];
        for (i, (limit, it, order, items, next, prev, done)) in cases.into_iter().enumerate() {
            let page = scan(&ListQuery::new(limit, it.map(Cursor::parse), order));
            assert_eq!(page.items, items, "case {i}");
            assert_eq!(page.iterator.as_deref(), next, "case {i}");
            assert_eq!(page.prev_iterator.as_deref(), prev, "case {i}");
            assert_eq!(page.done, done, "case {i}");
        }
    }

    #[test]
    fn pager_visits_every_row_once() {
        let mut pager = Pager {
            next: Some(ListQuery::first(4, Order::Ascending)),
        };
        let mut seen = Vec::new();
        while let Some(query) = pager.next_query() {
            let rows = scan(&query).items;
            let walk = query.walk();
            let fetched: Vec<u32> = (1..=9)
                .filter(|k| walk.admits(&k.to_string()))
                .take(walk.take)
                .collect::<Vec<_>>();
            assert_eq!(
                rows,
                fetched.iter().copied().take(query.limit).collect::<Vec<_>>()
            );
            seen.extend(pager.advance(fetched, &query, |k| k.to_string()));
        }
        assert_eq!(seen, (1..=9).collect::<Vec<_>>());
    }

    #[test]
    fn limit_is_clamped() {
        assert_eq!(ListQuery::new(0, None, Order::Ascending).limit, 1);
        assert_eq!(ListQuery::new(10_000, None, Order::Ascending).limit, MAX_LIMIT);
    }
}
