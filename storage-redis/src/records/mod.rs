//! The record ports on Redis: applications, endpoints, event types, messages, attempts, destinations and sinks.
//!
//! Key layout (`P` is the configured prefix; `{…}` is the cluster hash tag):
//!
//! Organization-scoped rows, one slot per organization (they are few, small, and written together):
//! - `P:{P:<org>}:apps` HASH app id → JSON; `…:apps:order` ZSET of app ids; `…:apps:uid` HASH uid → app id.
//! - `P:{P:<org>}:eps:<app>` HASH endpoint id → JSON; `…:eps:<app>:order` ZSET; `…:eps:<app>:uid` HASH.
//! - `P:{P:<org>}:ets` HASH name → JSON; `…:ets:order` ZSET of names.
//!
//! Application-scoped rows, one slot per application (message traffic of one application stays in one slot,
//! different applications spread over the cluster):
//! - `P:{P:<org>/<app>}:msg:<msg>` JSON; `…:msgs` ZSET of message ids; `…:evt:<event id>` → message id.
//! - `…:atmpt:<attempt>` JSON; `…:atmpts:msg:<msg>` and `…:atmpts:ep:<endpoint>` ZSETs of attempt ids.
//! - `…:dest:<msg>:<endpoint>` JSON; `…:dests:msg:<msg>` ZSET of endpoint ids, `…:dests:ep:<endpoint>` ZSET
//!   of message ids.
//! - `…:expiry` ZSET of message ids scored by payload expiry (ms).
//!
//! Sinks (destinations beyond endpoints), one slot per application's sinks, `P:{P:snk:<org>/<app>}:…`: their
//! settings, states, leases, logs (streams) and consumers' positions; `P:{P:snk}:all` registers them for the
//! pumps (see [`sinks`]).
//!
//! Across tenants, `P:retention:apps` SET of `<org>/<app>`: every application that has messages, for the
//! operator jobs of [`retention`].
//!
//! Organization rows are hash fields rather than keys so that a Lua script can remove an application's
//! endpoints (a whole hash) without computing key names, which Redis Cluster forbids. Application rows are
//! keys so that retention can later expire them one by one. Every listing set has score 0 and the sort key as
//! member: ids are fixed-width ULIDs, so lexical order is creation order (see [`listing`]). Every write that
//! touches more than one key is one Lua script over keys of one slot, hence atomic and one round trip.

mod applications;
mod attempts;
mod background_tasks;
mod endpoints;
mod event_types;
mod listing;
mod messages;
mod retention;
mod scripts;
mod sinks;

use serde::Serialize;
use serde::de::DeserializeOwned;
use xwebhook_engine::id::{AppId, OrgId};
use xwebhook_engine::store::{StoreError, StoreErrorKind, StoreResult};

use crate::error::decode_err;
use crate::keys::Keys;

/// Keys of one organization's rows: `P:{P:<org>}:…`.
pub(crate) struct OrgKeys {
    base: String,
}

impl OrgKeys {
    pub(crate) fn new(keys: &Keys, org: &OrgId) -> Self {
        Self {
            base: keys.key(&[&keys.tag(org.as_str())]),
        }
    }

    fn at(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.base)
    }

    pub(crate) fn apps(&self) -> String {
        self.at("apps")
    }
    pub(crate) fn app_order(&self) -> String {
        self.at("apps:order")
    }
    pub(crate) fn app_uids(&self) -> String {
        self.at("apps:uid")
    }
    pub(crate) fn endpoints(&self, app: &AppId) -> String {
        self.at(&format!("eps:{app}"))
    }
    pub(crate) fn endpoint_order(&self, app: &AppId) -> String {
        self.at(&format!("eps:{app}:order"))
    }
    pub(crate) fn endpoint_uids(&self, app: &AppId) -> String {
        self.at(&format!("eps:{app}:uid"))
    }
    pub(crate) fn event_types(&self) -> String {
        self.at("ets")
    }
    pub(crate) fn event_type_order(&self) -> String {
        self.at("ets:order")
    }
}

pub(crate) use retention::RetentionState;

/// Keys of one application's high-volume rows: `P:{P:<org>/<app>}:…`.
#[derive(Clone)]
pub(crate) struct AppKeys {
    base: String,
}

impl AppKeys {
    pub(crate) fn new(keys: &Keys, org: &OrgId, app: &AppId) -> Self {
        // Org ids are alphanumeric after `org_`, so `/` cannot occur in either part and the tag is unambiguous.
        Self {
            base: keys.key(&[&keys.tag(&format!("{org}/{app}"))]),
        }
    }

    fn at(&self, parts: &[&str]) -> String {
        let mut k = self.base.clone();
        for p in parts {
            k.push(':');
            k.push_str(p);
        }
        k
    }

    pub(crate) fn message(&self, id: &str) -> String {
        self.at(&["msg", id])
    }
    pub(crate) fn messages(&self) -> String {
        self.at(&["msgs"])
    }
    pub(crate) fn event_id(&self, event_id: &str) -> String {
        self.at(&["evt", event_id])
    }
    pub(crate) fn attempt(&self, id: &str) -> String {
        self.at(&["atmpt", id])
    }
    pub(crate) fn attempts_of_message(&self, msg: &str) -> String {
        self.at(&["atmpts", "msg", msg])
    }
    pub(crate) fn attempts_of_endpoint(&self, ep: &str) -> String {
        self.at(&["atmpts", "ep", ep])
    }
    pub(crate) fn destination(&self, msg: &str, ep: &str) -> String {
        self.at(&["dest", msg, ep])
    }
    pub(crate) fn destinations_of_message(&self, msg: &str) -> String {
        self.at(&["dests", "msg", msg])
    }
    pub(crate) fn destinations_of_endpoint(&self, ep: &str) -> String {
        self.at(&["dests", "ep", ep])
    }
    /// ZSET of message ids scored by payload expiry (ms), for the cleaner.
    pub(crate) fn payload_expiry(&self) -> String {
        self.at(&["expiry"])
    }
}

/// What a write script reports, as the short status string it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    /// A row with this id (or name) exists.
    IdTaken,
    /// The UID (or message `eventId`) belongs to another row.
    UidTaken,
    /// The row to change does not exist.
    Absent,
}

impl Outcome {
    fn parse(status: &str) -> StoreResult<Self> {
        match status {
            "ok" => Ok(Self::Done),
            "id" => Ok(Self::IdTaken),
            "uid" => Ok(Self::UidTaken),
            "absent" => Ok(Self::Absent),
            other => Err(StoreError::new(
                StoreErrorKind::Internal,
                format!("a write script answered `{other}`"),
            )),
        }
    }

    /// A status the script cannot give for this operation: a bug in the script, not in the data.
    fn unexpected(self) -> StoreError {
        StoreError::new(
            StoreErrorKind::Internal,
            format!("a write script answered {self:?} unexpectedly"),
        )
    }
}

fn encode<T: Serialize>(value: &T, what: &str) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::with_source(StoreErrorKind::Internal, format!("cannot encode {what}"), e))
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| decode_err(format!("cannot decode {what}"), e))
}

fn decode_opt<T: DeserializeOwned>(bytes: Option<Vec<u8>>, what: &str) -> StoreResult<Option<T>> {
    bytes.map(|b| decode(&b, what)).transpose()
}

/// An index entry (a UID or `eventId` → id) that does not parse as the id it should hold.
fn corrupt_index(what: &str, e: xwebhook_engine::id::InvalidId) -> StoreError {
    StoreError::with_source(
        StoreErrorKind::Corrupt,
        format!("a {what} index entry is not an id"),
        e,
    )
}

/// Overwrites an existing JSON row (`SET … XX`): a row deleted meanwhile stays deleted, and reads `NotFound`.
pub(crate) async fn replace_json<T: serde::Serialize>(
    pool: &crate::conn::Pool,
    key: &str,
    row: &T,
    what: &str,
) -> xwebhook_engine::store::StoreResult<()> {
    use crate::error::Context as _;
    let json = serde_json::to_vec(row).map_err(|e| {
        xwebhook_engine::store::StoreError::with_source(
            xwebhook_engine::store::StoreErrorKind::Internal,
            format!("cannot encode {what}"),
            e,
        )
    })?;
    let mut conn = pool.get().await?;
    let set: Option<String> = redis::cmd("SET")
        .arg(key)
        .arg(json)
        .arg("XX")
        .query_async(&mut conn)
        .await
        .redis("cannot rewrite a row")?;
    match set {
        Some(_) => Ok(()),
        None => Err(xwebhook_engine::store::StoreError::not_found(what.to_owned())),
    }
}
