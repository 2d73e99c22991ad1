//! Attempts and destinations.
//!
//! Attempts live under their message (`org/app/msg/atmpt_id`), indexed by endpoint (`org/app/ep/atmpt_id` →
//! msg). Destinations live under their message (`org/app/msg/ep`), indexed by endpoint (`org/app/ep/msg`).

use async_trait::async_trait;
use xwebhook_engine::domain::{Attempt, Destination};
use xwebhook_engine::id::{AppId, AttemptId, EndpointId, MessageId, OrgId};
use xwebhook_engine::store::{
    AttemptFilter, AttemptRecord, AttemptStore, DestinationFilter, ListQuery, StoreError, StoreResult,
};

use crate::EmbeddedStore;
use crate::error::{Context as _, decode};
use crate::keys::{Span, key, prefix, suffix};
use crate::tables::{
    ATTEMPTS, ATTEMPTS_BY_ENDPOINT, DESTINATIONS, DESTINATIONS_BY_ENDPOINT, get_row, has_row, put_row, scan,
};
use crate::writer::Batch;

fn attempt_key(a: &Attempt) -> String {
    key(&[
        a.org_id.as_str(),
        a.app_id.as_str(),
        a.msg_id.as_str(),
        a.id.as_str(),
    ])
}

fn destination_key(org: &OrgId, app: &AppId, msg: &MessageId, ep: &EndpointId) -> String {
    key(&[org.as_str(), app.as_str(), msg.as_str(), ep.as_str()])
}

/// Inserts the destinations that do not exist yet.
pub(crate) fn create_destinations(b: &Batch<'_>, destinations: &[Destination]) -> StoreResult<()> {
    destinations.iter().try_for_each(|d| put_destination(b, d, true))
}

fn put_destination(b: &Batch<'_>, d: &Destination, only_if_new: bool) -> StoreResult<()> {
    let mut rows =
        b.tx.open_table(DESTINATIONS)
            .context("cannot open destinations")?;
    let k = destination_key(&d.org_id, &d.app_id, &d.msg_id, &d.endpoint_id);
    if only_if_new && has_row(&rows, &k)? {
        return Ok(());
    }
    put_row(&mut rows, &k, d, "a destination")?;
    let mut by_endpoint =
        b.tx.open_table(DESTINATIONS_BY_ENDPOINT)
            .context("cannot open destinations by endpoint")?;
    let ik = key(&[
        d.org_id.as_str(),
        d.app_id.as_str(),
        d.endpoint_id.as_str(),
        d.msg_id.as_str(),
    ]);
    by_endpoint
        .insert(ik.as_str(), "")
        .context("cannot index a destination")?;
    Ok(())
}

fn record(b: &Batch<'_>, records: &[AttemptRecord]) -> StoreResult<()> {
    for r in records {
        let a = &r.attempt;
        {
            let mut rows = b.tx.open_table(ATTEMPTS).context("cannot open attempts")?;
            put_row(&mut rows, &attempt_key(a), a, "an attempt")?;
            let mut by_endpoint =
                b.tx.open_table(ATTEMPTS_BY_ENDPOINT)
                    .context("cannot open attempts by endpoint")?;
            let ik = key(&[
                a.org_id.as_str(),
                a.app_id.as_str(),
                a.endpoint_id.as_str(),
                a.id.as_str(),
            ]);
            by_endpoint
                .insert(ik.as_str(), a.msg_id.as_str())
                .context("cannot index an attempt")?;
        }
        put_destination(b, &r.destination, false)?;
    }
    Ok(())
}

#[async_trait]
impl AttemptStore for EmbeddedStore {
    async fn create_destinations(&self, destinations: &[Destination]) -> StoreResult<()> {
        let ds = destinations.to_vec();
        self.writer.write(move |b| create_destinations(b, &ds)).await
    }

    async fn record_attempts(&self, records: &[AttemptRecord]) -> StoreResult<()> {
        let records = records.to_vec();
        self.writer.write(move |b| record(b, &records)).await
    }

    async fn put_destinations(&self, destinations: &[Destination]) -> StoreResult<()> {
        let ds = destinations.to_vec();
        self.writer
            .write(move |b| ds.iter().try_for_each(|d| put_destination(b, d, false)))
            .await
    }

    async fn get_destination(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        endpoint: &EndpointId,
    ) -> StoreResult<Option<Destination>> {
        let tx = self.read()?;
        let rows = tx.open_table(DESTINATIONS).context("cannot open destinations")?;
        get_row(&rows, &destination_key(org, app, msg, endpoint), "a destination")
    }

    async fn expunge_attempt_content(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        id: &AttemptId,
    ) -> StoreResult<()> {
        let k = key(&[org.as_str(), app.as_str(), msg.as_str(), id.as_str()]);
        self.writer
            .write(move |b| {
                let mut rows = b.tx.open_table(ATTEMPTS).context("cannot open attempts")?;
                let mut a: Attempt =
                    get_row(&rows, &k, "an attempt")?.ok_or_else(|| StoreError::not_found("attempt"))?;
                a.response.clear();
                put_row(&mut rows, &k, &a, "an attempt")
            })
            .await
    }

    async fn get_attempt(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        id: &AttemptId,
    ) -> StoreResult<Option<Attempt>> {
        let tx = self.read()?;
        let rows = tx.open_table(ATTEMPTS).context("cannot open attempts")?;
        let k = key(&[org.as_str(), app.as_str(), msg.as_str(), id.as_str()]);
        get_row(&rows, &k, "an attempt")
    }

    async fn list_attempts_by_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        filter: &AttemptFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Attempt>> {
        let tx = self.read()?;
        let index = tx
            .open_table(ATTEMPTS_BY_ENDPOINT)
            .context("cannot open attempts by endpoint")?;
        let rows = tx.open_table(ATTEMPTS).context("cannot open attempts")?;
        let walk = query.walk();
        let under = prefix(&[org.as_str(), app.as_str(), endpoint.as_str()]);
        let span = Span::new(&under, &walk, None, None);
        scan(&index, span, walk.ascending, walk.take, |k, msg| {
            let k = key(&[org.as_str(), app.as_str(), msg, suffix(k, &under)]);
            let attempt: Option<Attempt> = get_row(&rows, &k, "an attempt")?;
            Ok(attempt.filter(|a| filter.matches_attempt(a)))
        })
    }

    async fn list_attempts_by_message(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        filter: &AttemptFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Attempt>> {
        let tx = self.read()?;
        let rows = tx.open_table(ATTEMPTS).context("cannot open attempts")?;
        let walk = query.walk();
        let span = Span::new(
            &prefix(&[org.as_str(), app.as_str(), msg.as_str()]),
            &walk,
            None,
            None,
        );
        scan(&rows, span, walk.ascending, walk.take, |_, v| {
            let a: Attempt = decode(v, "an attempt")?;
            Ok(filter.matches_attempt(&a).then_some(a))
        })
    }

    async fn list_destinations_by_message(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        query: &ListQuery,
    ) -> StoreResult<Vec<Destination>> {
        let tx = self.read()?;
        let rows = tx.open_table(DESTINATIONS).context("cannot open destinations")?;
        let walk = query.walk();
        let span = Span::new(
            &prefix(&[org.as_str(), app.as_str(), msg.as_str()]),
            &walk,
            None,
            None,
        );
        scan(&rows, span, walk.ascending, walk.take, |_, v| {
            decode(v, "a destination").map(Some)
        })
    }

    async fn list_destinations_by_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        filter: &DestinationFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Destination>> {
        let tx = self.read()?;
        let index = tx
            .open_table(DESTINATIONS_BY_ENDPOINT)
            .context("cannot open destinations by endpoint")?;
        let rows = tx.open_table(DESTINATIONS).context("cannot open destinations")?;
        let walk = query.walk();
        let under = prefix(&[org.as_str(), app.as_str(), endpoint.as_str()]);
        let span = Span::new(&under, &walk, None, None);
        scan(&index, span, walk.ascending, walk.take, |k, _| {
            let k = key(&[org.as_str(), app.as_str(), suffix(k, &under), endpoint.as_str()]);
            let d: Option<Destination> = get_row(&rows, &k, "a destination")?;
            Ok(d.filter(|d| filter.matches_destination(d)))
        })
    }
}
