//! Typed, prefixed, time-sortable identifiers (`app_…`, `ep_…`, `msg_…`, `atmpt_…`).
//!
//! The body is a ULID in Crockford base32: 48 bits of milliseconds then 80 random bits, so lexical order is
//! creation order. Stores rely on that to serve "newest first" listings and time filters from the key itself.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// An identifier string did not have the expected prefix and ULID body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id: expected `{prefix}` followed by 26 base32 characters")]
pub struct InvalidId {
    pub kind: &'static str,
    pub prefix: &'static str,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh identifier stamped with the current time.
            pub fn generate() -> Self {
                Self::from_ulid(Ulid::new())
            }

            /// A fresh identifier stamped with `at` instead of now (records imported or made for tests).
            pub fn generate_at(at: DateTime<Utc>) -> Self {
                Self::from_ulid(Ulid::from_datetime(at.into()))
            }

            /// The smallest identifier that can be generated at `at`: every id made at or after `at` sorts at
            /// or above it, every id made before sorts below.
            pub fn lower_bound_at(at: DateTime<Utc>) -> Self {
                let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
                Self::from_ulid(Ulid::from_parts(ms, 0))
            }

            fn from_ulid(ulid: Ulid) -> Self {
                Self(format!("{}{}", $prefix, ulid))
            }

            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                let invalid = InvalidId { kind: $kind, prefix: $prefix };
                let body = s.strip_prefix($prefix).ok_or(invalid.clone())?;
                let ulid = Ulid::from_string(body).map_err(|_| invalid)?;
                // Canonical (upper-case) form, so that lookups by id are exact.
                Ok(Self::from_ulid(ulid))
            }

            /// Whether `s` has this id's shape; a path segment that does not is read as a UID.
            pub fn looks_like(s: &str) -> bool {
                Self::parse(s).is_ok()
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// When the id was generated, to the millisecond.
            pub fn timestamp(&self) -> DateTime<Utc> {
                let ms = Ulid::from_string(&self.0[$prefix.len()..]).map(|u| u.timestamp_ms()).unwrap_or(0);
                DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(0)).unwrap_or_default()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// An application: one customer of the sender.
    AppId, "app_", "application"
);
prefixed_id!(
    /// An endpoint of an application.
    EndpointId, "ep_", "endpoint"
);
prefixed_id!(
    /// A message: one webhook, fanned out to every matching endpoint.
    MessageId, "msg_", "message"
);
prefixed_id!(
    /// One delivery attempt of a message to an endpoint.
    AttemptId, "atmpt_", "attempt"
);
prefixed_id!(
    /// A background task started by the API (e.g. an endpoint recovery).
    BackgroundTaskId, "qtask_", "background task"
);
prefixed_id!(
    /// A destination of an application that is not a plain webhook endpoint (a FIFO endpoint, a poller, a
    /// broker): what the SDK's `destination` API calls a destination and its poller a sink.
    SinkId, "sink_", "destination"
);

/// The tenant every object belongs to. Organization ids come from tokens, not from us, so any `org_` followed by
/// letters and digits is accepted (svix-server's are KSUIDs).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgId(String);

impl OrgId {
    pub const PREFIX: &'static str = "org_";
    /// svix-server's default organization, so tokens made by either tool address the same tenant. Unless
    /// configured otherwise, it is also the deployment's operator.
    pub const DEFAULT: &'static str = "org_23rb8YdGqMT0qIzpgGwdXfHirMu";

    /// Where operational webhooks go unless configured otherwise: an organization of the deployment's own, so
    /// that no tenant's (the default one's included) is the operator's, whose events are never reported.
    pub const OPERATIONAL_WEBHOOKS: &'static str = "org_xwebhookOperationalWebhooks";

    /// The [`OrgId::DEFAULT`] organization.
    pub fn default_org() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    /// The [`OrgId::OPERATIONAL_WEBHOOKS`] organization.
    pub fn operational_webhooks() -> Self {
        Self(Self::OPERATIONAL_WEBHOOKS.to_owned())
    }

    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let body = s.strip_prefix(Self::PREFIX).unwrap_or("");
        let ok = !body.is_empty() && body.len() <= 64 && body.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidId {
                kind: "organization",
                prefix: Self::PREFIX,
            })
        }
    }

    /// A fresh organization id (KSUID-length body, like svix-server's).
    pub fn generate() -> Self {
        Self(format!("{}{}", Self::PREFIX, Ulid::new()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrgId {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        Self::parse(&s)
    }
}

impl From<OrgId> for String {
    fn from(id: OrgId) -> String {
        id.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_time() {
        let a = MessageId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = MessageId::generate();
        assert!(a < b);
        assert_eq!(MessageId::parse(a.as_str()), Ok(a.clone()));
        assert!(a.as_str().starts_with("msg_"));
    }

    #[test]
    fn parse_rejects_wrong_prefix_and_body() {
        assert!(AppId::parse("ep_01H0000000000000000000000").is_err());
        assert!(AppId::parse("app_not-a-ulid").is_err());
        assert!(AppId::parse("app_").is_err());
    }

    #[test]
    fn lower_bound_orders_against_generated_ids() {
        let before = chrono::Utc::now() - chrono::Duration::seconds(1);
        let id = EndpointId::generate();
        assert!(EndpointId::lower_bound_at(before) < id);
        let after = chrono::Utc::now() + chrono::Duration::seconds(1);
        assert!(EndpointId::lower_bound_at(after) > id);
    }

    #[test]
    fn org_ids_accept_ksuid_bodies_only() {
        assert!(OrgId::parse("org_23rb8YdGqMT0qIzpgGwdXfHirMu").is_ok());
        assert!(OrgId::parse("org_").is_err());
        assert!(OrgId::parse("org_a/b").is_err());
        assert!(OrgId::parse("app_123").is_err());
    }
}
