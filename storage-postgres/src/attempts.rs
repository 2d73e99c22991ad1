//! Attempts and destinations: batched writes (see `batch`) and the four listings, each served by one index.

use async_trait::async_trait;
use chrono::Duration;
use deadpool_postgres::Pool;
use tokio_postgres::Row;
use xwebhook_engine::domain::MessageStatus;
use xwebhook_engine::domain::{Attempt, Destination};
use xwebhook_engine::id::{AppId, AttemptId, EndpointId, MessageId, OrgId};
use xwebhook_engine::store::{
    AttemptFilter, AttemptRecord, AttemptStore, DestinationFilter, ListQuery, StatusCounts, StoreError,
    StoreErrorKind, StoreResult, TimeTypeChannel, one_for_all,
};

use crate::PostgresStore;
use crate::batch::{
    AttemptColumns, CREATE_DESTINATIONS, DestinationColumns, PUT_DESTINATIONS, RECORD_ATTEMPTS,
    last_destinations,
};
use crate::error::Context as _;
use crate::sql::{Query, ceil_millis, doc, docs};

/// Attempt-specific conditions on top of the time, type and channel bounds.
fn attempt_filter(q: &mut Query, f: &AttemptFilter) {
    if let Some(status) = f.status {
        q.eq("status", i16::from(status.code()));
    }
    match f.status_code_class {
        None => {}
        // No response, or a code outside 100–599 (see `status_code_class`).
        Some(0) => {
            q.and(
                "(response_status_code < 100 OR response_status_code > 599)",
                Vec::new(),
            );
        }
        Some(class @ (100 | 200 | 300 | 400 | 500)) => {
            let low = i16::try_from(class).unwrap_or(i16::MAX);
            q.and(
                "response_status_code BETWEEN ? AND ?",
                vec![Box::new(low), Box::new(low + 99)],
            );
        }
        // Not a class any code belongs to.
        Some(_) => {
            q.and("FALSE", Vec::new());
        }
    }
    if let Some(ep) = &f.endpoint_id {
        q.eq("endpoint_id", ep.as_str().to_owned());
    }
    q.time_bounds("created_at", &f.common)
        .types_and_channel(&f.common)
        .tagged(f.tag.as_ref());
}

/// A destination's time bounds apply to its message's id time, exact to the millisecond, so they are ranges
/// of `msg_id` and need no column of their own.
fn destination_filter(q: &mut Query, f: &DestinationFilter) {
    let bound = |at| MessageId::lower_bound_at(at).as_str().to_owned();
    if let Some(after) = f.common.after {
        // ts > after ⟺ ts ≥ floor_ms(after) + 1ms.
        q.and(
            "msg_id >= ?",
            vec![Box::new(bound(after + Duration::milliseconds(1)))],
        );
    }
    if let Some(before) = f.common.before {
        q.and("msg_id < ?", vec![Box::new(bound(ceil_millis(before)))]);
    }
    if let Some(status) = f.status {
        q.eq("status", i16::from(status.code()));
    }
    q.types_and_channel(&f.common).tagged(f.tag.as_ref());
}

/// How many of one endpoint's rows of `table` are in each status, counted in place (`GROUP BY`, over the
/// `(…, endpoint_id, status, …)` indexes) rather than paged through; `filter` adds the table's conditions.
fn endpoint_counts(
    table: &str,
    org: &OrgId,
    app: &AppId,
    endpoint: &EndpointId,
    filter: impl FnOnce(&mut Query),
) -> Query {
    let mut q = Query::select(&format!("SELECT status, count(*) FROM {table}"));
    q.eq("org_id", org.as_str().to_owned())
        .eq("app_id", app.as_str().to_owned())
        .eq("endpoint_id", endpoint.as_str().to_owned());
    filter(&mut q);
    q.group_by("status");
    q
}

fn status_counts(rows: &[Row]) -> StoreResult<StatusCounts> {
    let mut counts = StatusCounts::default();
    for row in rows {
        let (code, count): (i16, i64) = (row.get(0), row.get(1));
        let status = u8::try_from(code)
            .ok()
            .and_then(MessageStatus::from_code)
            .ok_or_else(|| StoreError::new(StoreErrorKind::Corrupt, format!("`{code}` is not a status")))?;
        counts.add_many(status, u64::try_from(count).unwrap_or(0));
    }
    Ok(counts)
}

/// Attempts of one endpoint or one message (`parent` names the column), ordered by attempt id.
pub(crate) fn attempts_of(
    parent: &str,
    id: &str,
    org: &OrgId,
    app: &AppId,
    filter: &AttemptFilter,
    query: &ListQuery,
) -> Query {
    let mut q = Query::select("SELECT doc FROM attempts");
    q.eq("org_id", org.as_str().to_owned())
        .eq("app_id", app.as_str().to_owned())
        .eq(parent, id.to_owned());
    attempt_filter(&mut q, filter);
    q.walk("id", &query.walk());
    q
}

/// Destinations of one message (ordered by endpoint id) or of one endpoint (ordered by message id).
pub(crate) fn destinations_of(
    parent: &str,
    id: &str,
    org: &OrgId,
    app: &AppId,
    filter: &DestinationFilter,
    query: &ListQuery,
) -> Query {
    let mut q = Query::select("SELECT doc FROM destinations");
    q.eq("org_id", org.as_str().to_owned())
        .eq("app_id", app.as_str().to_owned())
        .eq(parent, id.to_owned());
    destination_filter(&mut q, filter);
    let key = if parent == "msg_id" {
        "endpoint_id"
    } else {
        "msg_id"
    };
    q.walk(key, &query.walk());
    q
}

/// Inserts the destinations of a group of fan-outs in one statement (fed by the engine's `Coalescer`): one commit
/// for all.
pub(crate) async fn insert_destination_group(
    pool: Pool,
    fan_outs: Vec<Vec<Destination>>,
) -> Vec<StoreResult<()>> {
    let all: Vec<&Destination> = fan_outs.iter().flatten().collect();
    let written = async {
        let client = pool.get().await.context("cannot get a postgres connection")?;
        let stmt = client
            .prepare_cached(CREATE_DESTINATIONS)
            .await
            .context("cannot prepare the destinations insert")?;
        let columns = DestinationColumns::new(all);
        client
            .execute(&stmt, &columns.params())
            .await
            .context("cannot insert destinations")
    };
    one_for_all(written.await.map(|_| ()), fan_outs.len())
}

#[async_trait]
impl AttemptStore for PostgresStore {
    async fn create_destinations(&self, destinations: &[Destination]) -> StoreResult<()> {
        if destinations.is_empty() {
            return Ok(());
        }
        self.destination_writer.submit(destinations.to_vec()).await
    }

    async fn put_destinations(&self, destinations: &[Destination]) -> StoreResult<()> {
        if destinations.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(PUT_DESTINATIONS)
            .await
            .context("cannot prepare the destinations upsert")?;
        let columns = DestinationColumns::new(destinations);
        client
            .execute(&stmt, &columns.params())
            .await
            .context("cannot write destinations")?;
        Ok(())
    }

    async fn record_attempts(&self, records: &[AttemptRecord]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(RECORD_ATTEMPTS)
            .await
            .context("cannot prepare the attempts insert")?;
        let attempts = AttemptColumns::new(records.iter().map(|r| &r.attempt));
        let destinations = DestinationColumns::new(last_destinations(records));
        let params: Vec<_> = attempts
            .params()
            .into_iter()
            .chain(destinations.params())
            .collect();
        client
            .execute(&stmt, &params)
            .await
            .context("cannot record attempts")?;
        Ok(())
    }

    async fn get_destination(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        endpoint: &EndpointId,
    ) -> StoreResult<Option<Destination>> {
        let mut q = Query::select("SELECT doc FROM destinations");
        q.eq("org_id", org.as_str().to_owned())
            .eq("app_id", app.as_str().to_owned())
            .eq("msg_id", msg.as_str().to_owned())
            .eq("endpoint_id", endpoint.as_str().to_owned());
        let rows = self.query(&q, "cannot read a destination").await?;
        rows.first().map(|r| doc(r, 0, "a destination")).transpose()
    }

    async fn expunge_attempt_content(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        id: &AttemptId,
    ) -> StoreResult<()> {
        let client = self.client().await?;
        let sql = "UPDATE attempts SET doc = jsonb_set(doc, '{response}', '\"\"') \
                   WHERE org_id = $1 AND app_id = $2 AND msg_id = $3 AND id = $4";
        let stmt = client
            .prepare_cached(sql)
            .await
            .context("cannot prepare an attempt expunge")?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&org.as_str(), &app.as_str(), &msg.as_str(), &id.as_str()];
        let changed = client
            .execute(&stmt, &params)
            .await
            .context("cannot expunge an attempt")?;
        if changed == 0 {
            return Err(StoreError::not_found("attempt"));
        }
        Ok(())
    }

    async fn get_attempt(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        id: &AttemptId,
    ) -> StoreResult<Option<Attempt>> {
        let mut q = Query::select("SELECT doc FROM attempts");
        q.eq("org_id", org.as_str().to_owned())
            .eq("app_id", app.as_str().to_owned())
            .eq("msg_id", msg.as_str().to_owned())
            .eq("id", id.as_str().to_owned());
        let rows = self.query(&q, "cannot read an attempt").await?;
        rows.first().map(|r| doc(r, 0, "an attempt")).transpose()
    }

    async fn list_attempts_by_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        filter: &AttemptFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Attempt>> {
        let q = attempts_of("endpoint_id", endpoint.as_str(), org, app, filter, query);
        let rows = self.query(&q, "cannot list the attempts of an endpoint").await?;
        docs(&rows, 0, "an attempt")
    }

    async fn list_attempts_by_message(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        filter: &AttemptFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Attempt>> {
        let q = attempts_of("msg_id", msg.as_str(), org, app, filter, query);
        let rows = self.query(&q, "cannot list the attempts of a message").await?;
        docs(&rows, 0, "an attempt")
    }

    async fn list_destinations_by_message(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        query: &ListQuery,
    ) -> StoreResult<Vec<Destination>> {
        let none = DestinationFilter::default();
        let q = destinations_of("msg_id", msg.as_str(), org, app, &none, query);
        let rows = self
            .query(&q, "cannot list the destinations of a message")
            .await?;
        docs(&rows, 0, "a destination")
    }

    async fn destination_counts(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        window: &TimeTypeChannel,
    ) -> StoreResult<StatusCounts> {
        let filter = DestinationFilter {
            common: window.clone(),
            ..DestinationFilter::default()
        };
        let q = endpoint_counts("destinations", org, app, endpoint, |q| {
            destination_filter(q, &filter)
        });
        status_counts(
            &self
                .query(&q, "cannot count the destinations of an endpoint")
                .await?,
        )
    }

    async fn attempt_counts(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        window: &TimeTypeChannel,
    ) -> StoreResult<StatusCounts> {
        let filter = AttemptFilter {
            common: window.clone(),
            ..AttemptFilter::default()
        };
        let q = endpoint_counts("attempts", org, app, endpoint, |q| attempt_filter(q, &filter));
        status_counts(&self.query(&q, "cannot count the attempts of an endpoint").await?)
    }

    async fn list_destinations_by_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        filter: &DestinationFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Destination>> {
        let q = destinations_of("endpoint_id", endpoint.as_str(), org, app, filter, query);
        let rows = self
            .query(&q, "cannot list the destinations of an endpoint")
            .await?;
        docs(&rows, 0, "a destination")
    }
}
