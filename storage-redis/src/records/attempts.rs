//! Attempts and destinations, under the application's tag.
//!
//! - `atmpt:<attempt>` JSON, listed through `atmpts:msg:<msg>` and `atmpts:ep:<endpoint>` (attempt ids).
//! - `dest:<msg>:<endpoint>` JSON, listed through `dests:msg:<msg>` (endpoint ids) and `dests:ep:<endpoint>`
//!   (message ids).
//!
//! Writes are grouped by application, and one `WRITE_DELIVERIES` script call writes a batch: on a single node
//! every application's group in one call (up to a bound), on a cluster one call per application's slot, all
//! sent together (one round trip).

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures_util::future::try_join_all;
use xwebhook_engine::domain::{Attempt, Destination};
use xwebhook_engine::id::{AppId, AttemptId, EndpointId, MessageId, OrgId};
use xwebhook_engine::store::{
    AttemptFilter, AttemptRecord, AttemptStore, DestinationFilter, ListQuery, StoreError, StoreResult,
};

use super::listing::{self, Rows, Window};
use super::messages::id_window;
use super::scripts::WRITE_DELIVERIES;
use super::{AppKeys, decode_opt, encode};
use crate::RedisStore;
use crate::error::Context as _;

const ATTEMPT: &str = "an attempt";
pub(super) const DESTINATION: &str = "a destination";

/// Destinations per script when only inserting: a fan-out to many endpoints stays a bounded request. Safe to
/// split because inserting where absent is idempotent.
const CREATE_CHUNK: usize = 500;
/// The most rows (attempts and destinations) that a single node's script call joins from several applications.
const CALL_ROWS: usize = CREATE_CHUNK;

/// One application's share of a write.
#[derive(Default)]
struct Group<'a> {
    attempts: Vec<&'a Attempt>,
    destinations: Vec<&'a Destination>,
}

type AppRef<'a> = (&'a OrgId, &'a AppId);

/// Writes by application, applications in order.
type Groups<'a> = BTreeMap<AppRef<'a>, Group<'a>>;

fn destination_groups(destinations: &[Destination]) -> Groups<'_> {
    let mut groups = Groups::new();
    for d in destinations {
        groups
            .entry((&d.org_id, &d.app_id))
            .or_default()
            .destinations
            .push(d);
    }
    groups
}

impl RedisStore {
    /// Writes the attempts and destinations of `groups` in one script call. Its keys span their applications'
    /// slots, so on a cluster each call carries one group.
    async fn write_call(&self, groups: &[&(AppKeys, Group<'_>)], nx: bool) -> StoreResult<()> {
        let count = |f: fn(&Group<'_>) -> usize| groups.iter().map(|(_, g)| f(g)).sum::<usize>();
        let mut call = WRITE_DELIVERIES.arg(count(|g| g.attempts.len()));
        call.arg(count(|g| g.destinations.len()))
            .arg(if nx { "nx" } else { "set" });
        for (k, group) in groups {
            for a in &group.attempts {
                let id = a.id.as_str();
                call.key(k.attempt(id))
                    .key(k.attempts_of_message(a.msg_id.as_str()))
                    .key(k.attempts_of_endpoint(a.endpoint_id.as_str()));
                call.arg(encode(a, ATTEMPT)?).arg(id);
            }
        }
        for (k, group) in groups {
            for d in &group.destinations {
                let (msg, ep) = (d.msg_id.as_str(), d.endpoint_id.as_str());
                call.key(k.destination(msg, ep))
                    .key(k.destinations_of_message(msg))
                    .key(k.destinations_of_endpoint(ep));
                call.arg(encode(d, DESTINATION)?).arg(ep).arg(msg);
            }
        }
        let mut conn = self.pool.get().await?;
        let _new: u64 = call
            .invoke_async(&mut conn)
            .await
            .redis("cannot record delivery progress")?;
        Ok(())
    }

    /// Writes every group. On a single node as few script calls as hold [`CALL_ROWS`] rows each: a call costs
    /// Redis more than the writes in it (BENCHMARKS.md, "Issue 13: fan out at ingest"). On a cluster one call
    /// per application, all sent at once: the shared connections pipeline them, so a batch spanning many
    /// applications still costs about one round trip.
    async fn write_groups(&self, groups: &[(AppKeys, Group<'_>)], nx: bool) -> StoreResult<()> {
        let mut calls: Vec<Vec<&(AppKeys, Group<'_>)>> = Vec::new();
        let mut rows = 0;
        for group in groups {
            let size = group.1.attempts.len() + group.1.destinations.len();
            match calls.last_mut() {
                Some(call) if !self.config.is_cluster() && rows + size <= CALL_ROWS => call.push(group),
                _ => {
                    calls.push(vec![group]);
                    rows = 0;
                }
            }
            rows += size;
        }
        try_join_all(calls.iter().map(|call| self.write_call(call, nx))).await?;
        Ok(())
    }

    fn keyed<'a>(&self, groups: Groups<'a>) -> Vec<(AppKeys, Group<'a>)> {
        groups
            .into_iter()
            .map(|((org, app), group)| (AppKeys::new(&self.keys, org, app), group))
            .collect()
    }
}

#[async_trait]
impl AttemptStore for RedisStore {
    async fn create_destinations(&self, destinations: &[Destination]) -> StoreResult<()> {
        let mut parts = Vec::new();
        for (k, group) in self.keyed(destination_groups(destinations)) {
            for chunk in group.destinations.chunks(CREATE_CHUNK) {
                let part = Group {
                    attempts: Vec::new(),
                    destinations: chunk.to_vec(),
                };
                parts.push((k.clone(), part));
            }
        }
        self.write_groups(&parts, true).await
    }

    async fn put_destinations(&self, destinations: &[Destination]) -> StoreResult<()> {
        self.write_groups(&self.keyed(destination_groups(destinations)), false)
            .await
    }

    /// All or nothing per application: a batch spanning applications spans cluster slots, which no one Redis
    /// operation can cover. A failure leaves other applications' shares recorded or not; the caller retries
    /// the batch, and rewriting an attempt or a destination state is harmless.
    async fn record_attempts(&self, records: &[AttemptRecord]) -> StoreResult<()> {
        let mut groups = Groups::new();
        for r in records {
            let (a, d) = (&r.attempt, &r.destination);
            groups.entry((&a.org_id, &a.app_id)).or_default().attempts.push(a);
            groups
                .entry((&d.org_id, &d.app_id))
                .or_default()
                .destinations
                .push(d);
        }
        self.write_groups(&self.keyed(groups), false).await
    }

    async fn get_destination(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        endpoint: &EndpointId,
    ) -> StoreResult<Option<Destination>> {
        let k = AppKeys::new(&self.keys, org, app);
        let mut conn = self.pool.get().await?;
        let row: Option<Vec<u8>> = redis::cmd("GET")
            .arg(k.destination(msg.as_str(), endpoint.as_str()))
            .query_async(&mut conn)
            .await
            .redis("cannot read a destination")?;
        decode_opt(row, DESTINATION)
    }

    async fn expunge_attempt_content(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        id: &AttemptId,
    ) -> StoreResult<()> {
        let mut a = self
            .get_attempt(org, app, msg, id)
            .await?
            .ok_or_else(|| StoreError::not_found("attempt"))?;
        a.response.clear();
        let k = AppKeys::new(&self.keys, org, app).attempt(id.as_str());
        super::replace_json(&self.pool, &k, &a, ATTEMPT).await
    }

    async fn get_attempt(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        id: &AttemptId,
    ) -> StoreResult<Option<Attempt>> {
        let k = AppKeys::new(&self.keys, org, app);
        let mut conn = self.pool.get().await?;
        let row: Option<Vec<u8>> = redis::cmd("GET")
            .arg(k.attempt(id.as_str()))
            .query_async(&mut conn)
            .await
            .redis("cannot read an attempt")?;
        // Attempt ids are unique on their own; the message is checked so the path `msg/…/attempt/…` holds.
        Ok(decode_opt::<Attempt>(row, ATTEMPT)?.filter(|a| a.msg_id == *msg))
    }

    async fn list_attempts_by_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        filter: &AttemptFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Attempt>> {
        let set = AppKeys::new(&self.keys, org, app).attempts_of_endpoint(endpoint.as_str());
        self.list_attempts_in(org, app, &set, filter, query).await
    }

    async fn list_attempts_by_message(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        filter: &AttemptFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Attempt>> {
        let set = AppKeys::new(&self.keys, org, app).attempts_of_message(msg.as_str());
        self.list_attempts_in(org, app, &set, filter, query).await
    }

    async fn list_destinations_by_message(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        query: &ListQuery,
    ) -> StoreResult<Vec<Destination>> {
        let k = AppKeys::new(&self.keys, org, app);
        let set = k.destinations_of_message(msg.as_str());
        let row_key = |ep: &str| k.destination(msg.as_str(), ep);
        let mut conn = self.pool.get().await?;
        let walk = query.walk();
        listing::walk(
            &mut conn,
            &set,
            Rows::Keys(&row_key),
            &walk,
            Window::default(),
            DESTINATION,
            |_| true,
        )
        .await
    }

    async fn list_destinations_by_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        filter: &DestinationFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Destination>> {
        let k = AppKeys::new(&self.keys, org, app);
        let set = k.destinations_of_endpoint(endpoint.as_str());
        let row_key = |msg: &str| k.destination(msg, endpoint.as_str());
        // Members are message ids and the time bounds apply to the message's time: narrow the range by them.
        let (lo, hi) = id_window(&filter.common);
        let window = Window {
            lo: lo.as_deref(),
            hi: hi.as_deref(),
        };
        let mut conn = self.pool.get().await?;
        let (walk, keep) = (query.walk(), |d: &Destination| filter.matches_destination(d));
        listing::walk(
            &mut conn,
            &set,
            Rows::Keys(&row_key),
            &walk,
            window,
            DESTINATION,
            keep,
        )
        .await
    }
}

impl RedisStore {
    /// Attempts listed in one of the application's attempt sets (by endpoint or by message), filtered.
    async fn list_attempts_in(
        &self,
        org: &OrgId,
        app: &AppId,
        set: &str,
        filter: &AttemptFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Attempt>> {
        let k = AppKeys::new(&self.keys, org, app);
        let row_key = |id: &str| k.attempt(id);
        let mut conn = self.pool.get().await?;
        let (walk, keep) = (query.walk(), |a: &Attempt| filter.matches_attempt(a));
        listing::walk(
            &mut conn,
            set,
            Rows::Keys(&row_key),
            &walk,
            Window::default(),
            ATTEMPT,
            keep,
        )
        .await
    }
}
