//! Who may call which route: the one table ([`required`]) and the one layer that enforces it ([`layer`]).
//!
//! Every API route is listed here with the kind of token it needs. A route missing from the table is refused to
//! everyone (fail closed: 405), and the route × token table test in `server/tests/it/access.rs` calls every route with
//! every kind of token, so a new route cannot ship without a decision.
//!
//! This table decides *which kind of token* may call a route. *Which objects* a token reaches is decided where
//! they are looked up (`routes::lookup`): an application token sees only its application, and anything outside a
//! token's reach is "not found", so nobody learns of another tenant's objects.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::answer_unread;
use crate::state::AppState;

/// What a route requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token (health checks, the OpenAPI document).
    Public,
    /// The deployment's operator: a token of the operator organization (`XWEBHOOK_OPERATOR_ORG`). Operator routes
    /// act on every tenant's data, so no tenant may call them.
    Operator,
    /// An organization token: the sender itself.
    Organization,
    /// An organization token, or an application (portal) token holding this capability.
    Application(Capability),
    /// Only an application token (logging one out).
    ApplicationToken,
    /// Reading a poller: an organization token, an application token that may view, or a poller token (which
    /// the handler holds to its own poller).
    Poller,
}

/// What an application (portal) token may do within its application; the names and meanings are the SDK's
/// (`AppPortalCapability`). Organization tokens hold every capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Capability {
    /// Read the application, its endpoints (not their secrets), messages, attempts and statistics, and the event
    /// catalog. Every portal token holds it.
    ViewBase,
    /// Read an endpoint's signing secret.
    ViewEndpointSecret,
    /// Rotate and read an endpoint's signing secret.
    ManageEndpointSecret,
    /// Change an endpoint's transformations; accepted, though there are no transformations to manage yet.
    ManageTransformations,
    /// Cause deliveries: resend, recover, send an example.
    CreateAttempts,
    /// Create, change and delete endpoints, their headers and their secrets.
    ManageEndpoint,
}

impl Capability {
    pub const ALL: [Capability; 6] = [
        Capability::ViewBase,
        Capability::ViewEndpointSecret,
        Capability::ManageEndpointSecret,
        Capability::ManageTransformations,
        Capability::CreateAttempts,
        Capability::ManageEndpoint,
    ];

    /// Whether holding `self` allows what `needed` allows. The SDK documents `ManageEndpointSecret` as "rotate and
    /// view the endpoint secret" and `ManageEndpoint` as "any field or configuration of an endpoint (including
    /// secrets)", so those imply the secret capabilities below them.
    pub fn grants(self, needed: Capability) -> bool {
        use Capability::*;
        self == needed
            || matches!(
                (self, needed),
                (ManageEndpointSecret, ViewEndpointSecret)
                    | (ManageEndpoint, ViewEndpointSecret | ManageEndpointSecret)
            )
    }
}

/// The access each route needs, by method and route template (as routed under `/api/v1`); `None` for a route
/// that has no rule, which [`layer`] refuses.
pub fn required(method: &Method, route: &str) -> Option<Access> {
    use Access::*;
    use Capability::*;
    // HEAD is served wherever GET is, with GET's rules.
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    let access = match (method.as_str(), route) {
        ("GET", "/health" | "/health/ping" | "/openapi.json") => Public,
        ("GET", "/admin/queue") | ("POST", "/admin/redrive-dlq") => Operator,

        ("GET" | "POST", "/app") => Organization,
        ("GET", "/app/{app_id}") => Application(ViewBase),
        ("PUT" | "PATCH" | "DELETE", "/app/{app_id}") => Organization,
        ("POST", "/auth/app-portal-access/{app_id}" | "/auth/app/{app_id}/expire-all") => Organization,
        ("POST", "/auth/logout") => ApplicationToken,

        ("GET", "/event-type" | "/event-type/{event_type_name}") => Application(ViewBase),
        ("POST", "/event-type") => Organization,
        ("PUT" | "PATCH" | "DELETE", "/event-type/{event_type_name}") => Organization,

        ("GET", "/app/{app_id}/endpoint") => Application(ViewBase),
        ("POST", "/app/{app_id}/endpoint") => Application(ManageEndpoint),
        ("GET", "/app/{app_id}/endpoint/{endpoint_id}") => Application(ViewBase),
        ("PUT" | "PATCH" | "DELETE", "/app/{app_id}/endpoint/{endpoint_id}") => Application(ManageEndpoint),
        ("GET", "/app/{app_id}/endpoint/{endpoint_id}/secret") => Application(ViewEndpointSecret),
        ("POST", "/app/{app_id}/endpoint/{endpoint_id}/secret/rotate") => Application(ManageEndpointSecret),
        ("GET", "/app/{app_id}/endpoint/{endpoint_id}/headers") => Application(ViewBase),
        ("PUT" | "PATCH", "/app/{app_id}/endpoint/{endpoint_id}/headers") => Application(ManageEndpoint),
        ("GET", "/app/{app_id}/endpoint/{endpoint_id}/msg") => Application(ViewBase),
        (
            "GET",
            "/app/{app_id}/endpoint/{endpoint_id}/stats"
            | "/app/{app_id}/endpoint/{endpoint_id}/attempt-stats",
        ) => Application(ViewBase),
        ("POST", "/app/{app_id}/endpoint/{endpoint_id}/send-example") => Application(CreateAttempts),
        ("POST", "/app/{app_id}/endpoint/{endpoint_id}/recover") => Application(CreateAttempts),
        ("POST", "/app/{app_id}/endpoint/{endpoint_id}/replay-missing") => Application(CreateAttempts),
        ("POST", "/app/{app_id}/endpoint/{endpoint_id}/bulk-replay") => Application(CreateAttempts),
        // Tasks are the organization's: an application token starts a replay, and does not list them.
        ("GET", "/background-task" | "/background-task/{task_id}") => Organization,
        ("POST", "/stats/usage/app") | ("PUT", "/stats/usage/event-types") => Organization,

        ("GET", "/app/{app_id}/msg" | "/app/{app_id}/msg/{msg_id}") => Application(ViewBase),
        ("POST", "/app/{app_id}/msg" | "/app/{app_id}/msg/precheck/active") => Organization,
        ("DELETE", "/app/{app_id}/msg/{msg_id}/content") => Organization,
        ("POST", "/app/{app_id}/msg/bulk-expunge" | "/app/{app_id}/msg/expunge-all-contents") => Organization,
        ("DELETE", "/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content") => Organization,
        ("GET", "/app/{app_id}/msg/{msg_id}/endpoint") => Application(ViewBase),
        ("POST", "/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend") => Application(CreateAttempts),
        ("GET", "/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}") => Application(ViewBase),
        ("GET", "/app/{app_id}/attempt/endpoint/{endpoint_id}") => Application(ViewBase),
        ("GET", "/app/{app_id}/attempt/msg/{msg_id}") => Application(ViewBase),

        // Destinations are the application's customer's, as its endpoints are.
        (
            "GET",
            "/app/{app_id}/destination"
            | "/app/{app_id}/destination/{destination_id}"
            | "/app/{app_id}/destination/{destination_id}/attempt",
        ) => Application(ViewBase),
        ("POST", "/app/{app_id}/destination") => Application(ManageEndpoint),
        ("PUT" | "PATCH" | "DELETE", "/app/{app_id}/destination/{destination_id}") => {
            Application(ManageEndpoint)
        }
        ("POST", "/app/{app_id}/destination/{destination_id}/secret/rotate") => {
            Application(ManageEndpointSecret)
        }
        (
            "GET",
            "/app/{app_id}/poller/{sink_id}" | "/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}",
        ) => Poller,
        ("POST", "/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}/seek") => Poller,
        ("POST", "/auth/app/{app_id}/poller/{sink_id}/token") => Organization,

        // A tenant's own operational webhook endpoints (see `routes::operational_webhook`).
        ("GET" | "POST", "/operational-webhook/endpoint") => Organization,
        ("GET" | "PUT" | "DELETE", "/operational-webhook/endpoint/{endpoint_id}") => Organization,
        ("GET" | "PUT", "/operational-webhook/endpoint/{endpoint_id}/headers") => Organization,
        ("GET", "/operational-webhook/endpoint/{endpoint_id}/secret") => Organization,
        ("POST", "/operational-webhook/endpoint/{endpoint_id}/secret/rotate") => Organization,
        _ => return None,
    };
    Some(access)
}

/// Whether `auth` may call a route that needs `access`; the error says what is missing.
pub fn check(access: Access, auth: &Auth, operator: &xwebhook_engine::id::OrgId) -> Result<(), ApiError> {
    let forbidden = |why: &str| Err(ApiError::Forbidden(why.into()));
    match (access, &auth.app_id) {
        (Access::Public, _) => Ok(()),
        (Access::Operator, None) if auth.org_id == *operator => Ok(()),
        (Access::Operator, _) => forbidden("this route is for the deployment's operator only"),
        (Access::Organization | Access::Application(_), None) => Ok(()),
        (Access::Organization, Some(_)) => {
            forbidden("an application token cannot do this: it needs the organization's token")
        }
        (Access::Application(capability), Some(_)) if auth.has(capability) => Ok(()),
        (Access::Application(capability), Some(_)) => Err(ApiError::Forbidden(format!(
            "this application token does not have the `{capability:?}` capability"
        ))),
        (Access::ApplicationToken, Some(_)) => Ok(()),
        (Access::ApplicationToken, None) => forbidden("only an application token can do this"),
        (Access::Poller, None) => Ok(()),
        (Access::Poller, Some(_)) if auth.sink.is_some() || auth.has(Capability::ViewBase) => Ok(()),
        (Access::Poller, Some(_)) => forbidden("this application token cannot read pollers"),
    }
}

/// Authenticates the caller (unless the route is public) and checks the route's [`Access`] before any handler
/// runs. The authenticated [`Auth`] is left in the request's extensions for the handler.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().trim_start_matches("/api/v1").to_owned());
    let (mut parts, body) = req.into_parts();
    // The path matched, so a method without a rule is one the route does not serve (every served operation
    // has a rule: see the tests). Refusing it is also the fail-closed answer to a route added without a rule.
    let Some(access) = route.as_deref().and_then(|r| required(&parts.method, r)) else {
        let refusal = ApiError::MethodNotAllowed.into_response();
        return answer_unread(body, state.config.max_body_bytes, refusal).await;
    };
    if access != Access::Public {
        let auth =
            <Auth as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &state).await;
        if let Err(e) = auth.and_then(|auth| check(access, &auth, &state.config.operator_org)) {
            return answer_unread(body, state.config.max_body_bytes, e.into_response()).await;
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use xwebhook_engine::id::{AppId, OrgId};

    use super::*;

    fn org(org_id: &OrgId) -> Auth {
        Auth {
            org_id: org_id.clone(),
            app_id: None,
            token: None,
            capabilities: None,
            feature_flags: None,
            sink: None,
        }
    }

    fn app(org_id: &OrgId) -> Auth {
        Auth {
            app_id: Some(AppId::generate()),
            ..org(org_id)
        }
    }

    fn poller(org_id: &OrgId) -> Auth {
        Auth {
            capabilities: Some(Vec::new()),
            sink: Some(xwebhook_engine::id::SinkId::generate()),
            ..app(org_id)
        }
    }

    fn read_only(org_id: &OrgId) -> Auth {
        Auth {
            capabilities: Some(vec![Capability::ViewBase]),
            ..app(org_id)
        }
    }

    #[test]
    fn capabilities_imply_only_what_the_sdk_documents() {
        use Capability::*;
        for held in Capability::ALL {
            let granted: Vec<Capability> = Capability::ALL.into_iter().filter(|&n| held.grants(n)).collect();
            let expected = match held {
                ManageEndpointSecret => vec![ViewEndpointSecret, ManageEndpointSecret],
                ManageEndpoint => vec![ViewEndpointSecret, ManageEndpointSecret, ManageEndpoint],
                other => vec![other],
            };
            assert_eq!(granted, expected, "{held:?}");
        }
    }

    #[test]
    fn each_kind_of_token_against_each_kind_of_access() {
        use Access::*;
        let operator = OrgId::generate();
        let tenant = OrgId::generate();
        let view = Application(Capability::ViewBase);
        // (access, caller, allowed)
        let table = [
            (Public, org(&tenant), true),
            (Public, app(&tenant), true),
            (Operator, org(&operator), true),
            (Operator, org(&tenant), false),
            (Operator, app(&operator), false),
            (Organization, org(&tenant), true),
            (Organization, app(&tenant), false),
            (view, org(&tenant), true),
            (view, app(&tenant), true),
            (ApplicationToken, app(&tenant), true),
            (ApplicationToken, org(&tenant), false),
            (view, read_only(&tenant), true),
            (
                Application(Capability::ViewEndpointSecret),
                read_only(&tenant),
                false,
            ),
            (Application(Capability::ManageEndpoint), read_only(&tenant), false),
            (Organization, read_only(&tenant), false),
            (Poller, org(&tenant), true),
            (Poller, read_only(&tenant), true),
            (Poller, poller(&tenant), true),
            (
                Poller,
                Auth {
                    capabilities: Some(Vec::new()),
                    ..app(&tenant)
                },
                false,
            ),
            (view, poller(&tenant), false),
            (Organization, poller(&tenant), false),
            (ApplicationToken, poller(&tenant), true),
        ];
        for (access, caller, allowed) in table {
            let result = check(access, &caller, &operator);
            assert_eq!(result.is_ok(), allowed, "{access:?} for {caller:?}: {result:?}");
        }
    }

    #[test]
    fn every_documented_operation_has_a_rule() {
        let doc = serde_json::to_value(crate::openapi::document()).expect("the document serializes");
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            let route = path.trim_start_matches("/api/v1");
            for method in item.as_object().expect("path item").keys() {
                let method: Method = method.to_uppercase().parse().expect("a method");
                assert!(
                    required(&method, route).is_some(),
                    "{method} {path} has no access rule"
                );
            }
        }
    }

    #[test]
    fn unknown_routes_have_no_rule() {
        assert_eq!(required(&Method::GET, "/app/{app_id}/unknown"), None);
        assert_eq!(required(&Method::POST, "/admin/queue"), None);
        assert_eq!(required(&Method::DELETE, "/health"), None);
    }
}
