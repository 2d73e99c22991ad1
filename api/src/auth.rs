//! Bearer-token authentication, compatible with svix-server's tokens: HS256 JWTs whose `sub` is an
//! organization id (`org_…`), or an application id (`app_…`) plus an `org` claim for a token scoped to one
//! application (the app portal's).
//!
//! App tokens issued here also carry a unique id (`jti`) and an expiry, so that `/auth/logout` can revoke one
//! before it expires; revocations are stored (see `TokenRevocations`), so every process refuses the token.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use xwebhook_engine::domain::EventType;
use xwebhook_engine::id::{AppId, OrgId, SinkId};

use crate::access::Capability;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// An application token's capabilities; absent means all (tokens issued before capabilities existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caps: Option<Vec<Capability>>,
    /// The portal session an application token was issued for (`sessionId`), so that it can be expired with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// An application token's feature flags (`featureFlags`); absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ff: Option<Vec<String>>,
    /// The one poller (sink) a poller token may read; such a token holds no capability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    snk: Option<String>,
}

/// Who is calling: an organization, or one application of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub org_id: OrgId,
    /// `Some` for a token that may only touch this application.
    pub app_id: Option<AppId>,
    /// `Some` for an app token that can be logged out (it has an id and an expiry).
    pub token: Option<TokenId>,
    /// What an application token may do; `None` is everything (organization tokens).
    pub capabilities: Option<Vec<Capability>>,
    /// The feature flags an application token holds, which decide the event types it sees; `None`: an
    /// organization token, which sees every event type.
    pub feature_flags: Option<Vec<String>>,
    /// `Some` for a poller token: it may read this poller of its application, and nothing else.
    pub sink: Option<SinkId>,
}

/// What identifies a revocable token: its unique id, and when it expires anyway (so when its revocation can be
/// forgotten); when it was issued and for which portal session, so that `…/expire-all` can reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenId {
    pub jti: String,
    pub expires_at: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub session_id: Option<String>,
}

/// The revocation scope of every token of `app`, which `…/expire-all` expires.
pub fn app_scope(app: &AppId) -> String {
    format!("app:{app}")
}

/// The revocation scope of `app`'s tokens issued for one portal session.
pub fn session_scope(app: &AppId, session_id: &str) -> String {
    format!("app:{app}:session:{session_id}")
}

/// When a token was issued, to the millisecond: our token ids are ULIDs, stamped as they are made. Otherwise
/// `iat`, and without that the beginning of time, so that expiring a scope refuses a token of unknown age.
fn issued_at(jti: &str, iat: Option<i64>) -> DateTime<Utc> {
    ulid::Ulid::from_string(jti)
        .ok()
        .map(|u| DateTime::<Utc>::from(u.datetime()))
        .or_else(|| iat.and_then(|s| DateTime::from_timestamp(s, 0)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl Auth {
    /// Whether this token allows what `capability` allows. Organization tokens hold every capability.
    pub fn has(&self, capability: Capability) -> bool {
        self.capabilities
            .as_ref()
            .is_none_or(|held| held.iter().any(|h| h.grants(capability)))
    }

    /// An event type flagged for some users only is absent to a token that holds none of its flags.
    pub fn can_see_event_type(&self, event_type: &EventType) -> bool {
        self.feature_flags
            .as_ref()
            .is_none_or(|held| event_type.visible_with(held))
    }

    /// An application-scoped token sees only its own application; anything else is absent to it.
    pub fn can_see(&self, app: &AppId) -> bool {
        self.app_id.as_ref().is_none_or(|own| own == app)
    }

    /// A stable key for per-caller caches (idempotency).
    pub fn subject(&self) -> String {
        match &self.app_id {
            None => self.org_id.to_string(),
            Some(app) => format!("{}/{}", self.org_id, app),
        }
    }
}

/// What an application token is issued with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalGrant {
    pub ttl_secs: i64,
    /// `None`: every capability.
    pub capabilities: Option<Vec<Capability>>,
    pub session_id: Option<String>,
    pub feature_flags: Vec<String>,
}

/// A token could not be made: the claims did not encode. Plain claims never meet it, but the encoder's API
/// says it may fail, so the error is passed on rather than assumed away.
#[derive(Debug, thiserror::Error)]
#[error("cannot issue a token")]
pub struct IssueError(#[source] jsonwebtoken::errors::Error);

/// Verifies and issues tokens with one HS256 secret.
pub struct JwtAuth {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtAuth(***)")
    }
}

impl JwtAuth {
    pub fn new(secret: &[u8]) -> Arc<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        // svix-server's tokens carry no audience and may carry no expiry; `exp` and `nbf` are checked when present.
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        validation.validate_nbf = true;
        Arc::new(Self {
            decoding: DecodingKey::from_secret(secret),
            encoding: EncodingKey::from_secret(secret),
            validation,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Auth, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| ApiError::Unauthorized(format!("invalid token: {e}")))?;
        let claims = data.claims;
        if let Ok(org_id) = OrgId::parse(&claims.sub) {
            // Organization tokens are never revocable: they are the operator's own credentials.
            return Ok(Auth {
                org_id,
                app_id: None,
                token: None,
                capabilities: None,
                feature_flags: None,
                sink: None,
            });
        }
        let app_id = AppId::parse(&claims.sub).map_err(|_| {
            ApiError::Unauthorized(
                "invalid token: `sub` is neither an organization nor an application".into(),
            )
        })?;
        let org = claims.org.as_deref().ok_or_else(|| {
            ApiError::Unauthorized("invalid token: an application token needs an `org` claim".into())
        })?;
        let org_id = OrgId::parse(org).map_err(|e| ApiError::Unauthorized(format!("invalid token: {e}")))?;
        let token = match (claims.jti, claims.exp) {
            (Some(jti), Some(exp)) => DateTime::from_timestamp(exp, 0).map(|expires_at| TokenId {
                issued_at: issued_at(&jti, claims.iat),
                jti,
                expires_at,
                session_id: claims.sid,
            }),
            _ => None,
        };
        let sink = match claims.snk.as_deref().map(SinkId::parse) {
            Some(Ok(sink)) => Some(sink),
            Some(Err(e)) => return Err(ApiError::Unauthorized(format!("invalid token: {e}"))),
            None => None,
        };
        // A poller token holds no capability, whatever its claims say.
        let capabilities = if sink.is_some() {
            Some(Vec::new())
        } else {
            claims.caps
        };
        Ok(Auth {
            org_id,
            app_id: Some(app_id),
            token,
            capabilities,
            feature_flags: Some(claims.ff.unwrap_or_default()),
            sink,
        })
    }

    /// A token for the whole organization, as `svix-server jwt generate` makes them.
    pub fn issue_org_token(&self, org: &OrgId, now: i64) -> Result<String, IssueError> {
        self.issue(Claims {
            sub: org.to_string(),
            org: None,
            iat: Some(now),
            exp: None,
            nbf: Some(now),
            iss: Some("xwebhook".into()),
            jti: None,
            caps: None,
            sid: None,
            ff: None,
            snk: None,
        })
    }

    /// A token that can only see one application, with every capability, valid for `ttl_secs`.
    pub fn issue_app_token(
        &self,
        org: &OrgId,
        app: &AppId,
        now: i64,
        ttl_secs: i64,
    ) -> Result<String, IssueError> {
        let grant = PortalGrant {
            ttl_secs,
            capabilities: None,
            session_id: None,
            feature_flags: Vec::new(),
        };
        self.issue_portal_token(org, app, now, &grant)
    }

    /// A token that can only see one application and do what `grant` allows, with a unique id so it can be logged
    /// out.
    pub fn issue_portal_token(
        &self,
        org: &OrgId,
        app: &AppId,
        now: i64,
        grant: &PortalGrant,
    ) -> Result<String, IssueError> {
        self.issue(Claims {
            sub: app.to_string(),
            org: Some(org.to_string()),
            iat: Some(now),
            exp: Some(now + grant.ttl_secs),
            nbf: Some(now),
            iss: Some("xwebhook".into()),
            jti: Some(ulid::Ulid::new().to_string()),
            caps: grant.capabilities.clone(),
            sid: grant.session_id.clone(),
            ff: (!grant.feature_flags.is_empty()).then(|| grant.feature_flags.clone()),
            snk: None,
        })
    }

    /// A token that can read one poller (`sink`) of one application and do nothing else, valid for
    /// `ttl_secs`, with a unique id (returned beside it) so that it can be logged out.
    pub fn issue_poller_token(
        &self,
        org: &OrgId,
        app: &AppId,
        sink: &SinkId,
        now: i64,
        ttl_secs: i64,
    ) -> Result<(String, String), IssueError> {
        let jti = ulid::Ulid::new().to_string();
        let token = self.issue(Claims {
            sub: app.to_string(),
            org: Some(org.to_string()),
            iat: Some(now),
            exp: Some(now + ttl_secs),
            nbf: Some(now),
            iss: Some("xwebhook".into()),
            jti: Some(jti.clone()),
            caps: Some(Vec::new()),
            sid: None,
            ff: None,
            snk: Some(sink.to_string()),
        })?;
        Ok((token, jti))
    }

    fn issue(&self, claims: Claims) -> Result<String, IssueError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(IssueError)
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let header = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("missing `Authorization: Bearer <token>` header".into()))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        let auth = state.auth.verify(token.trim())?;
        // Only revocable (app) tokens cost a store lookup; organization tokens never do.
        if let (Some(app), Some(id)) = (&auth.app_id, &auth.token) {
            refuse_revoked(state, app, id).await?;
        }
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// Refuses a token that was logged out, or whose application's or session's tokens were expired since it was
/// issued. The lookups run at once: one round trip's wait.
async fn refuse_revoked(state: &AppState, app: &AppId, id: &TokenId) -> Result<(), ApiError> {
    let revocations = &state.stores.revocations;
    let whole_app = app_scope(app);
    let session = id.session_id.as_deref().map(|sid| session_scope(app, sid));
    let (logged_out, app_expiry, session_expiry) = tokio::join!(
        revocations.is_revoked(&id.jti),
        revocations.scope_expiry(&whole_app),
        async {
            match &session {
                Some(scope) => revocations.scope_expiry(scope).await,
                None => Ok(None),
            }
        },
    );
    if logged_out? {
        return Err(ApiError::Unauthorized("invalid token: it was logged out".into()));
    }
    let now = state.clock.now();
    let expired = [app_expiry?, session_expiry?]
        .into_iter()
        .flatten()
        .any(|e| e.refuses(id.issued_at, now));
    if expired {
        return Err(ApiError::Unauthorized(
            "invalid token: the application's tokens were expired".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_and_app_tokens_round_trip() {
        let jwt = JwtAuth::new(b"test-secret");
        let org = OrgId::generate();
        let app = AppId::generate();
        let now = chrono::Utc::now().timestamp();
        assert_eq!(
            jwt.verify(&jwt.issue_org_token(&org, now).expect("token")).ok(),
            Some(Auth {
                org_id: org.clone(),
                app_id: None,
                token: None,
                capabilities: None,
                feature_flags: None,
                sink: None,
            })
        );
        let scoped = jwt
            .verify(&jwt.issue_app_token(&org, &app, now, 60).expect("token"))
            .expect("app token verifies");
        assert_eq!((scoped.org_id, scoped.app_id), (org.clone(), Some(app.clone())));
        let id = scoped.token.expect("an app token is revocable");
        assert_eq!(id.expires_at.timestamp(), now + 60);
        let again = jwt.verify(&jwt.issue_app_token(&org, &app, now, 60).expect("token"));
        let again_id = again.ok().and_then(|a| a.token).expect("revocable");
        assert_ne!(id.jti, again_id.jti, "every app token has its own id");
    }

    #[test]
    fn a_portal_token_carries_its_feature_flags_and_none_means_none() {
        let jwt = JwtAuth::new(b"test-secret");
        let (org, app, now) = (
            OrgId::generate(),
            AppId::generate(),
            chrono::Utc::now().timestamp(),
        );
        let grant = PortalGrant {
            ttl_secs: 60,
            capabilities: None,
            session_id: None,
            feature_flags: vec!["beta".into()],
        };
        let flagged = jwt.verify(&jwt.issue_portal_token(&org, &app, now, &grant).expect("token"));
        assert_eq!(
            flagged.expect("verifies").feature_flags,
            Some(vec!["beta".to_owned()])
        );
        let plain = jwt.verify(&jwt.issue_app_token(&org, &app, now, 60).expect("token"));
        assert_eq!(plain.expect("verifies").feature_flags, Some(Vec::new()));
    }

    #[test]
    fn rejects_other_secrets_expired_and_garbage() {
        let jwt = JwtAuth::new(b"test-secret");
        let other = JwtAuth::new(b"other-secret");
        let org = OrgId::generate();
        let now = chrono::Utc::now().timestamp();
        assert!(
            jwt.verify(&other.issue_org_token(&org, now).expect("token"))
                .is_err()
        );
        assert!(
            jwt.verify(
                &jwt.issue_app_token(&org, &AppId::generate(), now - 1000, 10)
                    .expect("token")
            )
            .is_err()
        );
        assert!(jwt.verify("not.a.token").is_err());
        let no_org = jwt
            .issue(Claims {
                sub: AppId::generate().to_string(),
                org: None,
                iat: None,
                exp: None,
                nbf: None,
                iss: None,
                jti: None,
                caps: None,
                sid: None,
                ff: None,
                snk: None,
            })
            .expect("token");
        assert!(jwt.verify(&no_org).is_err());
    }

    #[test]
    fn accepts_svix_server_shaped_claims() {
        // svix-server's `jwt generate`: iat, exp, nbf, iss "svix-server", sub = org id.
        let jwt = JwtAuth::new(b"test-secret");
        let now = chrono::Utc::now().timestamp();
        let token = jwt
            .issue(Claims {
                sub: "org_23rb8YdGqMT0qIzpgGwdXfHirMu".into(),
                org: None,
                iat: Some(now),
                exp: Some(now + 3600),
                nbf: Some(now),
                iss: Some("svix-server".into()),
                jti: None,
                caps: None,
                sid: None,
                ff: None,
                snk: None,
            })
            .expect("token");
        assert_eq!(
            jwt.verify(&token).map(|a| a.org_id.to_string()).ok().as_deref(),
            Some("org_23rb8YdGqMT0qIzpgGwdXfHirMu")
        );
    }
}
