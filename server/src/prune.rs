//! `xwebhook prune --older-than <time>`: deletes old messages with their attempts and destinations, in
//! batches, on the configured records backend.
//!
//! A pruned message that still has deliveries queued is not waited for: the worker finds it gone and drops
//! its tasks (`message or endpoint is gone`), and an attempt in flight at that moment may be recorded after
//! the prune and outlive its message. Prune what is older than the retry schedule (a day and more by
//! default) and that does not happen.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use xwebhook_engine::store::{PruneCounts, RetentionStore, StoreError};
use xwebhook_storage_embedded::EmbeddedStore;
use xwebhook_storage_postgres::PostgresStore;

use crate::config::Config;
use crate::run;

/// Messages deleted per batch: one bounded statement or script run each.
pub const BATCH: usize = 1000;

/// Why `--older-than` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CutoffError {
    #[error(
        "`{0}` is neither an RFC 3339 time (2026-01-31T00:00:00Z) nor a duration (30d, 12h, 90m, 45s, 2w)"
    )]
    Unreadable(String),
    #[error("`{0}` is in the future: it would delete every message")]
    Future(String),
    #[error("`{0}` is too long ago to compute")]
    OutOfRange(String),
}

/// The cutoff `text` names at `now`: an RFC 3339 time, or a duration back from `now` (`<n><unit>`, units
/// `s`, `m`, `h`, `d`, `w`; parts may be combined, as in `1d12h`).
pub fn parse_cutoff(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, CutoffError> {
    let text = text.trim();
    let at = match DateTime::parse_from_rfc3339(text) {
        Ok(at) => at.with_timezone(&Utc),
        Err(_) => {
            let age = parse_duration(text)?;
            now.checked_sub_signed(age)
                .ok_or_else(|| CutoffError::OutOfRange(text.to_owned()))?
        }
    };
    if at > now {
        return Err(CutoffError::Future(text.to_owned()));
    }
    Ok(at)
}

fn parse_duration(text: &str) -> Result<Duration, CutoffError> {
    let unreadable = || CutoffError::Unreadable(text.to_owned());
    let (mut total, mut digits) = (Duration::zero(), String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| unreadable())?;
        let part = match c {
            's' => Duration::try_seconds(n),
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            'w' => Duration::try_weeks(n),
            _ => None,
        };
        total = part.and_then(|p| total.checked_add(&p)).ok_or_else(unreadable)?;
        digits.clear();
    }
    // A trailing number without a unit is ambiguous; an empty text names nothing.
    if !digits.is_empty() || text.is_empty() {
        return Err(unreadable());
    }
    Ok(total)
}

/// What a whole prune did, as printed.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Report {
    pub cutoff: DateTime<Utc>,
    #[serde(flatten)]
    pub deleted: PruneCounts,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.deleted;
        write!(
            f,
            "deleted {} messages, {} attempts and {} destinations created before {}",
            d.messages,
            d.attempts,
            d.destinations,
            self.cutoff.to_rfc3339()
        )
    }
}

/// Prunes everything created before `cutoff`, batch by batch, until a batch comes back short.
pub async fn prune(config: &Config, cutoff: DateTime<Utc>) -> anyhow::Result<Report> {
    let store = open(config).await?;
    let mut deleted = PruneCounts::default();
    loop {
        let batch = store
            .prune_before(cutoff, BATCH)
            .await
            .context("pruning failed; what was deleted so far stays deleted, run it again")?;
        deleted += batch;
        tracing::info!(
            messages = deleted.messages,
            attempts = deleted.attempts,
            "pruning"
        );
        if batch.messages < BATCH as u64 {
            return Ok(Report { cutoff, deleted });
        }
    }
}

/// The records backend alone: Postgres, else Redis, else the embedded store.
async fn open(config: &Config) -> anyhow::Result<Arc<dyn RetentionStore>> {
    if let Some(url) = &config.storage.database_url {
        let store = PostgresStore::connect(&run::postgres_config(config, url))
            .await
            .context("cannot connect to Postgres")?;
        return Ok(store);
    }
    if let Some(url) = &config.storage.redis_url {
        return Ok(run::open_redis(config, url).await?);
    }
    open_embedded(config, "prune").map(|s| s as Arc<dyn RetentionStore>)
}

/// The embedded store, for a one-off command (`doing`: what the operator does once the server is stopped).
/// It allows one process at a time, so a running server makes this fail, with a message that says so.
pub(crate) fn open_embedded(config: &Config, doing: &str) -> anyhow::Result<Arc<EmbeddedStore>> {
    EmbeddedStore::open(&config.storage.data_dir).map_err(|e| embedded_error(config, e, doing))
}

fn embedded_error(config: &Config, e: StoreError, doing: &str) -> anyhow::Error {
    let dir = config.storage.data_dir.display();
    if EmbeddedStore::is_held_elsewhere(&e) {
        anyhow::anyhow!(
            "the embedded store in {dir} is open in another process (a running `xwebhook serve`?): \
             the embedded store allows one process at a time, so stop the server, {doing}, and start it again"
        )
    } else {
        anyhow::Error::new(e).context(format!("cannot open the embedded store in {dir}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn durations_count_back_from_now() {
        let cases = [
            ("30d", Duration::days(30)),
            ("12h", Duration::hours(12)),
            ("90m", Duration::minutes(90)),
            ("45s", Duration::seconds(45)),
            ("2w", Duration::weeks(2)),
            ("1d12h", Duration::hours(36)),
            (" 0s ", Duration::zero()),
        ];
        for (text, age) in cases {
            assert_eq!(parse_cutoff(text, now()), Ok(now() - age), "{text}");
        }
    }

    #[test]
    fn rfc3339_times_are_taken_as_they_are() {
        let at = parse_cutoff("2026-01-31T01:00:00+01:00", now()).expect("valid");
        assert_eq!(at.to_rfc3339(), "2026-01-31T00:00:00+00:00");
    }

    #[test]
    fn bad_cutoffs_are_refused_precisely() {
        for text in [
            "",
            "30",
            "d",
            "30x",
            "3.5d",
            "-1d",
            "yesterday",
            "2026-13-01T00:00:00Z",
        ] {
            assert_eq!(
                parse_cutoff(text, now()),
                Err(CutoffError::Unreadable(text.trim().to_owned())),
                "{text:?}"
            );
        }
        assert_eq!(
            parse_cutoff("2027-01-01T00:00:00Z", now()),
            Err(CutoffError::Future("2027-01-01T00:00:00Z".into()))
        );
        assert!(matches!(
            parse_cutoff("99999999999w", now()),
            Err(CutoffError::Unreadable(_) | CutoffError::OutOfRange(_))
        ));
    }

    #[test]
    fn the_report_reads_and_serializes() {
        let report = Report {
            cutoff: now(),
            deleted: PruneCounts {
                messages: 3,
                attempts: 4,
                destinations: 2,
            },
        };
        assert_eq!(
            report.to_string(),
            "deleted 3 messages, 4 attempts and 2 destinations created before 2026-11-27T12:00:00+00:00"
        );
        let json = serde_json::to_value(report).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "cutoff": "2026-11-27T12:00:00Z", "messages": 3, "attempts": 4, "destinations": 2
            })
        );
    }
}
