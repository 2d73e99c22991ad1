//! What an `Idempotency-Key` is scoped to: the caller, the method, the route template, and the objects the path
//! addresses, each by its id. A path may name an application, endpoint or message by id or by its alias (UID, or
//! `eventId` for a message); keying on the literal path would let `/app/{uid}/msg` and `/app/{id}/msg` with one
//! key create two messages.

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use xwebhook_engine::domain::Application;
use xwebhook_engine::id::{AppId, EndpointId, MessageId};

use crate::auth::Auth;
use crate::routes::lookup;
use crate::state::AppState;

/// The cache key of `key` for this request. Hashed so that a client's arbitrary key never reaches a backend's key
/// space as-is.
pub(super) async fn cache_key(state: &AppState, auth: &Auth, parts: &mut Parts, key: &str) -> String {
    let template = parts
        .extensions
        .get::<MatchedPath>()
        .map_or_else(|| parts.uri.path().to_owned(), |m| m.as_str().to_owned());
    let params: Vec<(String, String)> = RawPathParams::from_request_parts(parts, state)
        .await
        .map(|ps| ps.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect())
        .unwrap_or_default();
    let mut digest = Sha256::new()
        .chain_update(auth.subject())
        .chain_update("\n")
        .chain_update(parts.method.as_str())
        .chain_update(" ")
        .chain_update(template);
    let mut resolver = Resolver {
        state,
        auth,
        app_segment: None,
        app: None,
    };
    for (name, segment) in &params {
        let canonical = resolver.canonical(name, segment).await;
        digest.update(format!("\n{name}={canonical}"));
    }
    digest.update("\n");
    digest.update(key);
    format!("{:x}", digest.finalize())
}

/// Turns path segments into ids, reading the store only for a segment that is an alias (an id is its own
/// canonical form), and reading each object at most once.
struct Resolver<'a> {
    state: &'a AppState,
    auth: &'a Auth,
    /// The application segment seen so far: endpoints and messages are resolved within it.
    app_segment: Option<String>,
    /// The application, once read; `Some(None)` when it could not be found.
    app: Option<Option<Application>>,
}

impl Resolver<'_> {
    /// The segment's id, or the literal segment marked as unresolved: an alias nobody can see yet (an upsert
    /// creating it, or a typo that will 404) keys on its spelling, which is all the request itself knows.
    async fn canonical(&mut self, name: &str, segment: &str) -> String {
        let resolved = match name {
            "app_id" => {
                self.app_segment = Some(segment.to_owned());
                if AppId::parse(segment).is_ok() {
                    return segment.to_owned();
                }
                self.app().await.map(|a| a.id.to_string())
            }
            "endpoint_id" if EndpointId::parse(segment).is_err() => self.endpoint(segment).await,
            "msg_id" if MessageId::parse(segment).is_err() => self.message(segment).await,
            _ => return segment.to_owned(),
        };
        resolved.unwrap_or_else(|| format!("alias:{segment}"))
    }

    async fn app(&mut self) -> Option<Application> {
        if self.app.is_none() {
            let segment = self.app_segment.as_deref()?;
            let found = lookup::application(self.state, self.auth, segment).await.ok();
            self.app = Some(found);
        }
        self.app.clone().flatten()
    }

    async fn endpoint(&mut self, segment: &str) -> Option<String> {
        let app = self.app().await?;
        let endpoint = lookup::endpoint(self.state, &app, segment).await.ok()?;
        Some(endpoint.id.to_string())
    }

    async fn message(&mut self, segment: &str) -> Option<String> {
        let app = self.app().await?;
        let message = lookup::message(self.state, &app, segment).await.ok()?;
        Some(message.id.to_string())
    }
}
