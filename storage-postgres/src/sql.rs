//! A small builder for the list queries: conditions and their parameters grow together, so a query only names
//! the filters it uses (which keeps each statement shape simple for the planner and for the prepared-statement
//! cache) and can never misnumber a parameter.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};
use xwebhook_engine::domain::Channel;
use xwebhook_engine::store::{StoreResult, TimeTypeChannel, Walk};

use crate::error::corrupt;

type Param = Box<dyn ToSql + Sync + Send>;

pub(crate) struct Query {
    sql: String,
    params: Vec<Param>,
}

impl Query {
    /// Starts from `SELECT … FROM table`; conditions follow as `WHERE … AND …`.
    pub(crate) fn select(head: &str) -> Self {
        Self {
            sql: format!("{head} WHERE TRUE"),
            params: Vec::new(),
        }
    }

    /// Adds `AND <cond>`, where each `?` in `cond` stands for the next of `values`.
    pub(crate) fn and(&mut self, cond: &str, values: Vec<Param>) -> &mut Self {
        let mut parts = cond.split('?');
        self.sql.push_str(" AND ");
        self.sql.push_str(parts.next().unwrap_or_default());
        for (part, value) in parts.zip(values) {
            self.params.push(value);
            self.sql.push_str(&format!("${}", self.params.len()));
            self.sql.push_str(part);
        }
        self
    }

    pub(crate) fn eq(&mut self, column: &str, value: impl ToSql + Sync + Send + 'static) -> &mut Self {
        self.and(&format!("{column} = ?"), vec![Box::new(value)])
    }

    /// The scan `walk` asks for over `key`: strictly past `walk.from`, in its direction, `walk.take` rows.
    pub(crate) fn walk(&mut self, key: &str, walk: &Walk<'_>) -> &mut Self {
        let (op, dir) = if walk.ascending {
            (">", "ASC")
        } else {
            ("<", "DESC")
        };
        if let Some(from) = walk.from {
            self.and(&format!("{key} {op} ?"), vec![Box::new(from.to_owned())]);
        }
        let take = i64::try_from(walk.take).unwrap_or(i64::MAX);
        self.params.push(Box::new(take));
        self.sql
            .push_str(&format!(" ORDER BY {key} {dir} LIMIT ${}", self.params.len()));
        self
    }

    /// Event-type and channel bounds; the time bounds are left to the caller, which knows its time column.
    pub(crate) fn types_and_channel(&mut self, filter: &TimeTypeChannel) -> &mut Self {
        match filter
            .event_types
            .as_ref()
            .map(|t| t.iter().collect::<Vec<_>>())
            .as_deref()
        {
            None => {}
            // Equality, not `= ANY`: with it an index on (…, event_type, id) yields rows already in id order;
            // Postgres 15 cannot keep that order across the several values of an array.
            Some([one]) => {
                self.eq("event_type", one.as_str().to_owned());
            }
            Some(types) => {
                let names: Vec<String> = types.iter().map(|t| t.as_str().to_owned()).collect();
                self.and("event_type = ANY(?)", vec![Box::new(names)]);
            }
        }
        if let Some(channel) = &filter.channel {
            // A NULL `channels` (the message has none) makes ANY yield NULL: not a match, as it should be.
            self.and("? = ANY(channels)", vec![Box::new(channel.as_str().to_owned())]);
        }
        self
    }

    /// Exclusive `before`/`after` bounds on a timestamp column.
    pub(crate) fn time_bounds(&mut self, column: &str, filter: &TimeTypeChannel) -> &mut Self {
        if let Some(before) = filter.before {
            self.and(&format!("{column} < ?"), vec![Box::new(before)]);
        }
        if let Some(after) = filter.after {
            self.and(&format!("{column} > ?"), vec![Box::new(after)]);
        }
        self
    }

    /// Ends the query with `GROUP BY <column>`.
    pub(crate) fn group_by(&mut self, column: &str) -> &mut Self {
        self.sql.push_str(&format!(" GROUP BY {column}"));
        self
    }

    /// Only rows whose document lists `tag` in its `tags` (a message's, or copied from it).
    pub(crate) fn tagged(&mut self, tag: Option<&String>) -> &mut Self {
        if let Some(tag) = tag {
            // Containment, not jsonb's `?` operator: `?` is this builder's placeholder.
            self.and(
                "doc->'tags' @> jsonb_build_array(?::text)",
                vec![Box::new(tag.clone())],
            );
        }
        self
    }

    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    pub(crate) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// Decodes column `index` of each row from JSONB.
pub(crate) fn docs<T: DeserializeOwned>(rows: &[Row], index: usize, what: &str) -> StoreResult<Vec<T>> {
    rows.iter().map(|row| doc(row, index, what)).collect()
}

pub(crate) fn doc<T: DeserializeOwned>(row: &Row, index: usize, what: &str) -> StoreResult<T> {
    row.try_get::<_, Json<T>>(index)
        .map(|Json(v)| v)
        .map_err(|e| corrupt(what, e))
}

/// A channel set as one text value for batched inserts (`UNNEST` cannot take arrays of uneven arrays).
/// Channel names cannot contain a comma (see `Channel`), so `string_to_array(…, ',')` restores the set.
pub(crate) fn channel_list(channels: Option<&BTreeSet<Channel>>) -> Option<String> {
    channels.map(|set| set.iter().map(Channel::as_str).collect::<Vec<_>>().join(","))
}

/// The smallest millisecond at or after `at`.
pub(crate) fn ceil_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at);
    if floor == at {
        at
    } else {
        floor + chrono::Duration::milliseconds(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_number_their_parameters() {
        let mut q = Query::select("SELECT doc FROM t");
        q.eq("a", 1_i32)
            .and("b BETWEEN ? AND ?", vec![Box::new(2_i32), Box::new(3_i32)]);
        let walk = Walk {
            ascending: false,
            from: Some("k"),
            take: 11,
        };
        q.walk("id", &walk);
        assert_eq!(
            q.sql(),
            "SELECT doc FROM t WHERE TRUE AND a = $1 AND b BETWEEN $2 AND $3 AND id < $4 \
             ORDER BY id DESC LIMIT $5"
        );
        assert_eq!(q.params().len(), 5);
    }

    #[test]
    fn ceil_millis_rounds_up_only_fractions() {
        let whole = DateTime::from_timestamp_millis(1_000).unwrap_or_default();
        assert_eq!(ceil_millis(whole), whole);
        let fraction = whole + chrono::Duration::microseconds(1);
        assert_eq!(ceil_millis(fraction), whole + chrono::Duration::milliseconds(1));
    }
}
