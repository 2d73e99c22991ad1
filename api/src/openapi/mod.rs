//! Our OpenAPI document, generated from the handlers' and DTOs' annotations and served at
//! `/api/v1/openapi.json`.

mod error_doc;

use error_doc::ErrorDoc;

use utoipa::OpenApi;

use crate::dto;
use crate::idempotency::HeaderDoc;
use crate::routes::{
    admin, application, attempt, background_task, endpoint, event_type, example, expunge, headers, health,
    logout, message, operational_webhook, portal, recover, secret, statistics, stats,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Xwebhook API",
        description = "A Svix-compatible webhook sending API."
    ),
    paths(
        application::list,
        application::create,
        application::get,
        application::upsert,
        application::patch,
        application::delete,
        endpoint::list,
        endpoint::create,
        endpoint::get,
        endpoint::upsert,
        endpoint::patch,
        endpoint::delete,
        secret::get,
        secret::rotate,
        headers::get,
        headers::update,
        headers::patch,
        event_type::list,
        event_type::create,
        event_type::get,
        event_type::upsert,
        event_type::patch,
        event_type::delete,
        message::create,
        message::precheck,
        message::list,
        message::get,
        attempt::list_by_endpoint,
        attempt::list_by_message,
        attempt::get,
        attempt::list_destinations,
        attempt::list_endpoint_messages,
        attempt::resend,
        health::health,
        health::ping,
        admin::redrive_dlq,
        admin::queue_depths,
        portal::app_portal_access,
        portal::expire_all,
        logout::logout,
        example::send_example,
        recover::recover,
        stats::stats,
        stats::attempt_stats,
        expunge::message_content,
        expunge::attempt_content,
        expunge::bulk_message_content,
        expunge::all_message_contents,
        background_task::replay_missing,
        background_task::bulk_replay,
        background_task::list,
        background_task::get,
        statistics::aggregate_app_stats,
        statistics::aggregate_event_types,
        operational_webhook::list,
        operational_webhook::create,
        operational_webhook::get,
        operational_webhook::upsert,
        operational_webhook::delete,
        operational_webhook::get_headers,
        operational_webhook::set_headers,
        operational_webhook::get_secret,
        operational_webhook::rotate_secret,
    ),
    components(schemas(
        dto::application::ApplicationIn,
        dto::application::ApplicationOut,
        dto::application::ApplicationPatch,
        dto::endpoint::EndpointIn,
        dto::endpoint::EndpointOut,
        dto::endpoint::EndpointPatch,
        dto::endpoint::EndpointSecretOut,
        dto::endpoint::EndpointSecretRotateIn,
        dto::endpoint::EndpointHeadersIn,
        dto::endpoint::EndpointHeadersOut,
        dto::endpoint::EndpointHeadersPatchIn,
        dto::event_type::EventTypeIn,
        dto::event_type::EventTypeOut,
        dto::event_type::EventTypeUpdate,
        dto::event_type::EventTypePatch,
        dto::message::MessageIn,
        dto::message::MessageOut,
        dto::message::MessagePrecheckIn,
        dto::message::MessagePrecheckOut,
        dto::attempt::MessageAttemptOut,
        dto::attempt::MessageEndpointOut,
        dto::attempt::EndpointMessageOut,
        dto::background_task::BackgroundTaskOut,
        statistics::AppUsageStatsIn,
        statistics::AppUsageStatsOut,
        expunge::BulkExpungeContentsIn,
        expunge::BulkExpungeContentsOut,
        dto::background_task::ReplayOut,
        dto::background_task::ReplayIn,
        dto::background_task::BulkReplayIn,
        dto::operational_webhook::OperationalWebhookEndpointIn,
        dto::operational_webhook::OperationalWebhookEndpointUpsertIn,
        dto::operational_webhook::OperationalWebhookEndpointOut,
        crate::error::ValidationError,
        admin::RedriveOut,
        portal::AppPortalAccessIn,
        portal::AppPortalAccessOut,
        portal::ApplicationTokenExpireIn,
        example::EventExampleIn,
        recover::RecoverIn,
        stats::EndpointStats,
        stats::EndpointAttemptStats,
    )),
    modifiers(&HeaderDoc, &ErrorDoc)
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
