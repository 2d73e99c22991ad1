//! The consumer App Portal: the page a sender's customers open (from a link or an iframe) to manage their own
//! endpoints, browse the event catalog and the message log, and resend deliveries.
//!
//! The page is static: plain ES modules, one stylesheet and one HTML file, embedded in the binary so that
//! `cargo build` alone builds everything and the page makes no request to any other origin. It reads the portal
//! token from the URL fragment and talks only to the public API (`/api/v1/…`) with it, so every permission is
//! enforced by the server; the page merely hides the controls the token cannot use.
//!
//! Layout:
//! - [`config`]: what the operator configures: the brand and who may frame the page.
//! - `assets`: the embedded files and the headers they are served with (a strict CSP, no inline scripts).
//!
//! It must never depend on the engine, the API or a storage crate: it is served beside the API, not through it.

mod assets;
pub mod config;

use axum::Router;
use axum::routing::get;

pub use config::{BrandColor, BrandName, ConfigError, FrameAncestors, PortalConfig};

/// Where the page is served; the composition root merges this router beside the API's.
pub const PATH: &str = "/app-portal";

/// The page at [`PATH`] and its assets under it. No route needs a token: the page itself holds no data.
pub fn router(config: PortalConfig) -> Router {
    let page = assets::Page::new(&config);
    Router::new()
        .route(PATH, get(assets::index))
        .route(&format!("{PATH}/"), get(assets::index))
        .route(&format!("{PATH}/{{file}}"), get(assets::file))
        .with_state(page)
}
