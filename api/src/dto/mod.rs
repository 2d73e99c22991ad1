//! The API's JSON shapes (Svix's, camelCase): `XIn` to create, `XPatch` to change, `XOut` to answer. They are
//! separate from the stored records, which they are converted from and into.
//!
//! Small integers carry an explicit `format` as the contract spells it (`uint16`, `int16`, …): utoipa documents
//! them all as `int32`, and its opt-in exact formats serialize as `u-int16` (juhaku/utoipa#1527).

pub mod application;
pub mod attempt;
pub mod background_task;
pub mod destination;
pub mod endpoint;
pub mod event_type;
pub mod message;
pub mod not_supported;
pub mod operational_webhook;

use serde::{Deserialize, Deserializer};

/// For PATCH fields: absent (`None`), explicitly `null` (`Some(None)`), or a value.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
