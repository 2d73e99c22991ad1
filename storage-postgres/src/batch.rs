//! Batched writes of messages, attempts and destinations: every row of a batch travels as one array per column
//! and is inserted by one statement (`UNNEST`), so recording a thousand attempts costs one round trip, not a
//! thousand.

use std::collections::HashSet;

use tokio_postgres::types::{Json, ToSql};
use xwebhook_engine::domain::{Attempt, Destination, Message, Payload, Uid};
use xwebhook_engine::store::{AttemptRecord, payload_expires_at};

use crate::sql::channel_list;

type Params<'p, const N: usize> = [&'p (dyn ToSql + Sync); N];

/// The message rows of a batch, column by column. The payload has its own column; `doc` keeps the rest of the
/// record with an empty payload rather than a second copy.
pub(crate) struct MessageColumns<'a> {
    org: Vec<&'a str>,
    app: Vec<&'a str>,
    id: Vec<&'a str>,
    event_type: Vec<&'a str>,
    event_id: Vec<Option<&'a str>>,
    channels: Vec<Option<String>>,
    created_at: Vec<chrono::DateTime<chrono::Utc>>,
    payload: Vec<&'a str>,
    doc: Vec<Json<Message>>,
    payload_expires_at: Vec<chrono::DateTime<chrono::Utc>>,
}

impl<'a> MessageColumns<'a> {
    pub(crate) fn new(rows: Vec<&'a Message>) -> Self {
        let mut c = Self {
            org: Vec::with_capacity(rows.len()),
            app: Vec::with_capacity(rows.len()),
            id: Vec::with_capacity(rows.len()),
            event_type: Vec::with_capacity(rows.len()),
            event_id: Vec::with_capacity(rows.len()),
            channels: Vec::with_capacity(rows.len()),
            created_at: Vec::with_capacity(rows.len()),
            payload: Vec::with_capacity(rows.len()),
            doc: Vec::with_capacity(rows.len()),
            payload_expires_at: Vec::with_capacity(rows.len()),
        };
        for m in rows {
            c.org.push(m.org_id.as_str());
            c.app.push(m.app_id.as_str());
            c.id.push(m.id.as_str());
            c.event_type.push(m.event_type.as_str());
            c.event_id.push(m.event_id.as_ref().map(Uid::as_str));
            c.channels.push(channel_list(m.channels.as_ref()));
            c.created_at.push(m.created_at);
            c.payload.push(m.payload.as_str());
            c.doc.push(Json(Message {
                payload: Payload::empty(),
                ..m.clone()
            }));
            c.payload_expires_at.push(payload_expires_at(m));
        }
        c
    }

    pub(crate) fn params(&self) -> Params<'_, 10> {
        [
            &self.org,
            &self.app,
            &self.id,
            &self.event_type,
            &self.event_id,
            &self.channels,
            &self.created_at,
            &self.payload,
            &self.doc,
            &self.payload_expires_at,
        ]
    }
}

/// Inserts messages (`$1`–`$10`, see [`MessageColumns`]), skipping any that breaks a uniqueness rule (a taken
/// `eventId`), with the destinations (`$11`–`$18`, see [`DestinationColumns`]) of those inserted, and returns
/// the ids of those inserted: one message's conflict must not fail its group. A data-modifying CTE runs to
/// completion with its statement, so a message and its destinations land together or not at all.
pub(crate) const INSERT_MESSAGES: &str = "WITH inserted AS (
    INSERT INTO messages
        (org_id, app_id, id, event_type, event_id, channels, created_at, payload, doc, payload_expires_at)
    SELECT o, a, i, t, e, string_to_array(ch, ','), at, p, d, ex
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
        $8::text[], $9::jsonb[], $10::timestamptz[]) AS x(o, a, i, t, e, ch, at, p, d, ex)
    ON CONFLICT DO NOTHING
    RETURNING org_id, app_id, id
), pending AS (
    INSERT INTO destinations (org_id, app_id, msg_id, endpoint_id, status, event_type, channels, doc)
    SELECT y.o, y.a, y.m, y.e, y.s, y.t, string_to_array(y.ch, ','), y.d
    FROM UNNEST($11::text[], $12::text[], $13::text[], $14::text[], $15::int2[], $16::text[], $17::text[],
        $18::jsonb[]) AS y(o, a, m, e, s, t, ch, d)
    JOIN inserted ON inserted.org_id = y.o AND inserted.app_id = y.a AND inserted.id = y.m
    ON CONFLICT (org_id, app_id, msg_id, endpoint_id) DO NOTHING
)
SELECT id FROM inserted";

/// The destination rows of a batch, column by column.
pub(crate) struct DestinationColumns<'a> {
    org: Vec<&'a str>,
    app: Vec<&'a str>,
    msg: Vec<&'a str>,
    endpoint: Vec<&'a str>,
    status: Vec<i16>,
    event_type: Vec<&'a str>,
    channels: Vec<Option<String>>,
    doc: Vec<Json<&'a Destination>>,
}

impl<'a> DestinationColumns<'a> {
    pub(crate) fn new<I: IntoIterator<Item = &'a Destination>>(rows: I) -> Self {
        let mut c = Self {
            org: Vec::new(),
            app: Vec::new(),
            msg: Vec::new(),
            endpoint: Vec::new(),
            status: Vec::new(),
            event_type: Vec::new(),
            channels: Vec::new(),
            doc: Vec::new(),
        };
        for d in rows {
            c.org.push(d.org_id.as_str());
            c.app.push(d.app_id.as_str());
            c.msg.push(d.msg_id.as_str());
            c.endpoint.push(d.endpoint_id.as_str());
            c.status.push(i16::from(d.status.code()));
            c.event_type.push(d.event_type.as_str());
            c.channels.push(channel_list(d.channels.as_ref()));
            c.doc.push(Json(d));
        }
        c
    }

    pub(crate) fn params(&self) -> Params<'_, 8> {
        [
            &self.org,
            &self.app,
            &self.msg,
            &self.endpoint,
            &self.status,
            &self.event_type,
            &self.channels,
            &self.doc,
        ]
    }
}

/// The attempt rows of a batch, column by column.
pub(crate) struct AttemptColumns<'a> {
    org: Vec<&'a str>,
    app: Vec<&'a str>,
    msg: Vec<&'a str>,
    endpoint: Vec<&'a str>,
    id: Vec<&'a str>,
    status: Vec<i16>,
    code: Vec<i16>,
    event_type: Vec<&'a str>,
    channels: Vec<Option<String>>,
    created_at: Vec<chrono::DateTime<chrono::Utc>>,
    doc: Vec<Json<&'a Attempt>>,
}

impl<'a> AttemptColumns<'a> {
    pub(crate) fn new<I: IntoIterator<Item = &'a Attempt>>(rows: I) -> Self {
        let mut c = Self {
            org: Vec::new(),
            app: Vec::new(),
            msg: Vec::new(),
            endpoint: Vec::new(),
            id: Vec::new(),
            status: Vec::new(),
            code: Vec::new(),
            event_type: Vec::new(),
            channels: Vec::new(),
            created_at: Vec::new(),
            doc: Vec::new(),
        };
        for a in rows {
            c.org.push(a.org_id.as_str());
            c.app.push(a.app_id.as_str());
            c.msg.push(a.msg_id.as_str());
            c.endpoint.push(a.endpoint_id.as_str());
            c.id.push(a.id.as_str());
            c.status.push(i16::from(a.status.code()));
            c.code.push(a.response_status_code);
            c.event_type.push(a.event_type.as_str());
            c.channels.push(channel_list(a.channels.as_ref()));
            c.created_at.push(a.created_at);
            c.doc.push(Json(a));
        }
        c
    }

    pub(crate) fn params(&self) -> Params<'_, 11> {
        [
            &self.org,
            &self.app,
            &self.msg,
            &self.endpoint,
            &self.id,
            &self.status,
            &self.code,
            &self.event_type,
            &self.channels,
            &self.created_at,
            &self.doc,
        ]
    }
}

/// Inserts destinations that do not exist yet (`$1`–`$8`, see [`DestinationColumns`]).
pub(crate) const CREATE_DESTINATIONS: &str = "INSERT INTO destinations
    (org_id, app_id, msg_id, endpoint_id, status, event_type, channels, doc)
SELECT o, a, m, e, s, t, string_to_array(ch, ','), d
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int2[], $6::text[], $7::text[], $8::jsonb[])
    AS x(o, a, m, e, s, t, ch, d)
ON CONFLICT (org_id, app_id, msg_id, endpoint_id) DO NOTHING";

/// Writes destinations, overwriting existing ones (same parameters as [`CREATE_DESTINATIONS`]).
pub(crate) const PUT_DESTINATIONS: &str = "INSERT INTO destinations
    (org_id, app_id, msg_id, endpoint_id, status, event_type, channels, doc)
SELECT o, a, m, e, s, t, string_to_array(ch, ','), d
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int2[], $6::text[], $7::text[], $8::jsonb[])
    AS x(o, a, m, e, s, t, ch, d)
ON CONFLICT (org_id, app_id, msg_id, endpoint_id) DO UPDATE SET
    status = EXCLUDED.status, event_type = EXCLUDED.event_type, channels = EXCLUDED.channels, doc = EXCLUDED.doc";

/// Inserts the attempts (`$1`–`$11`, see [`AttemptColumns`]) and overwrites their destinations (`$12`–`$19`)
/// in one statement: a data-modifying CTE runs to completion with its statement, so both land or neither does.
pub(crate) const RECORD_ATTEMPTS: &str = "WITH inserted AS (
    INSERT INTO attempts (org_id, app_id, msg_id, endpoint_id, id, status, response_status_code, event_type,
        channels, created_at, doc)
    SELECT o, a, m, e, i, s, c, t, string_to_array(ch, ','), at, d
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int2[], $7::int2[], $8::text[],
        $9::text[], $10::timestamptz[], $11::jsonb[]) AS x(o, a, m, e, i, s, c, t, ch, at, d)
)
INSERT INTO destinations (org_id, app_id, msg_id, endpoint_id, status, event_type, channels, doc)
SELECT o, a, m, e, s, t, string_to_array(ch, ','), d
FROM UNNEST($12::text[], $13::text[], $14::text[], $15::text[], $16::int2[], $17::text[], $18::text[],
    $19::jsonb[]) AS y(o, a, m, e, s, t, ch, d)
ON CONFLICT (org_id, app_id, msg_id, endpoint_id) DO UPDATE SET
    status = EXCLUDED.status, event_type = EXCLUDED.event_type, channels = EXCLUDED.channels, doc = EXCLUDED.doc";

/// The destination each record leaves behind, the last one winning when a batch names a destination twice:
/// one statement may not update a row twice, and in order the last write is the one that stays.
pub(crate) fn last_destinations(records: &[AttemptRecord]) -> Vec<&Destination> {
    let mut seen = HashSet::new();
    let mut out: Vec<&Destination> = records
        .iter()
        .rev()
        .map(|r| &r.destination)
        .filter(|d| seen.insert((&d.org_id, &d.app_id, &d.msg_id, &d.endpoint_id)))
        .collect();
    out.reverse();
    out
}
