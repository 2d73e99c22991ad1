//! What every handler shares: the stores, the way in for messages, the token verifier, the clock, where operational events go, and the
//! API's settings.

use std::sync::Arc;
use std::time::Duration;

use xwebhook_engine::clock::Clock;
use xwebhook_engine::id::OrgId;
use xwebhook_engine::intake::Intake;
use xwebhook_engine::operational::OperationalEvents;
use xwebhook_engine::sink::SinkTypes;
use xwebhook_engine::store::Stores;

use crate::auth::JwtAuth;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Request bodies above this many bytes are refused with 413.
    pub max_body_bytes: usize,
    /// How long a replayable response stays cached under its `Idempotency-Key`.
    pub idempotency_ttl: Duration,
    /// How long a duplicate request waits for the first one with the same key before giving up.
    pub idempotency_wait: Duration,
    /// The deployment's operator, the only organization that may call the operator routes (`/admin/…`).
    pub operator_org: OrgId,
    /// Where tenants' operational webhook endpoints live: in this organization's application whose uid is the
    /// tenant's organization id (see `routes::operational_webhook`).
    pub operational_webhooks_org: OrgId,
    /// The address customers reach this API at (`https://…` behind TLS), for the portal links it hands out.
    pub public_url: String,
    /// How far ahead a message's `deliverAt` must be at least.
    pub deliver_at_min_delay: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            idempotency_ttl: Duration::from_secs(12 * 60 * 60),
            idempotency_wait: Duration::from_secs(30),
            operator_org: OrgId::default_org(),
            operational_webhooks_org: OrgId::operational_webhooks(),
            public_url: "http://127.0.0.1:8071".into(),
            deliver_at_min_delay: Duration::from_secs(60),
        }
    }
}

/// The handlers' state, behind one `Arc`: axum clones the state for every request (and every `State`
/// extractor), and a clone of the parts themselves cost ~30 reference counts and two `String` copies each time
/// (measured: ~3 % of the server's instructions per message). Reads go through `Deref` to [`AppParts`].
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

pub struct AppParts {
    pub stores: Stores,
    /// Every message is accepted through it (over the same stores), never by writing to `stores` directly.
    pub intake: Intake,
    pub auth: Arc<JwtAuth>,
    pub clock: Arc<dyn Clock>,
    /// Where handlers report endpoint changes. Handlers await `report` before answering, so it must return
    /// quickly: the server gives it [`xwebhook_engine::operational::InBackground`] (or `Discard`).
    pub events: Arc<dyn OperationalEvents>,
    pub config: ApiConfig,
    /// The destination types served (`/destination`'s `type`).
    pub sink_types: SinkTypes,
}
