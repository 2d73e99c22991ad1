//! The kinds of setting: each reads one value, given as text (an environment variable or a flag) or as a TOML
//! value, into its type, or says in one line what is wrong with it. A secret's value is never repeated.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use serde::de::{Deserialize, Deserializer, Error as _};
use xwebhook_engine::id::OrgId;
use xwebhook_portal::{BrandColor, BrandName, FrameAncestors};

use super::{LogFormat, Role, Secret};

/// One setting's value as given: text, from the environment, a flag or a TOML string; or another TOML value.
#[derive(Debug, Clone)]
pub(super) enum Given {
    Text(String),
    Toml(toml::Value),
}

impl From<toml::Value> for Given {
    fn from(value: toml::Value) -> Self {
        match value {
            toml::Value::String(s) => Self::Text(s),
            other => Self::Toml(other),
        }
    }
}

/// As written, for messages: text bare, other values in TOML syntax.
impl fmt::Display for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Toml(v) => write!(f, "{v}"),
        }
    }
}

/// A kind of setting: how a given value becomes the configuration's typed value.
pub(super) trait Kind {
    type Value;
    fn read(given: Given) -> Result<Self::Value, String>;
}

/// Serde's way in for a TOML field of kind `K` (`#[serde(deserialize_with = "read::<K, _>")]`): any TOML value
/// is taken, then judged by the kind, so that TOML and the environment accept the same values with one message.
pub(super) fn read<'de, K: Kind, D: Deserializer<'de>>(d: D) -> Result<K::Value, D::Error> {
    let value = toml::Value::deserialize(d)?;
    K::read(Given::from(value)).map_err(D::Error::custom)
}

fn parse<T: FromStr>(given: &Given, expected: &str) -> Result<T, String> {
    match given {
        Given::Text(v) => v.trim().parse().map_err(|_| format!("`{v}` is not {expected}")),
        Given::Toml(_) => Err(format!("`{given}` is not {expected}")),
    }
}

/// Text only: a TOML number or boolean is no name, path or URL.
fn text(given: Given, expected: &str) -> Result<String, String> {
    match given {
        Given::Text(v) => Ok(v),
        Given::Toml(_) => Err(format!("`{given}` is not {expected}")),
    }
}

/// A TOML integer or float, or text that reads as a number.
fn number(given: &Given, expected: &str) -> Result<f64, String> {
    match given {
        // Integers beyond 2^53 lose precision, far beyond any duration configured here.
        Given::Toml(toml::Value::Integer(n)) => Ok(*n as f64),
        Given::Toml(toml::Value::Float(f)) => Ok(*f),
        _ => parse(given, expected),
    }
}

/// A TOML integer, or text that reads as one.
fn integer<T: FromStr + TryFrom<i64>>(given: &Given, expected: &str) -> Result<T, String> {
    match given {
        Given::Toml(toml::Value::Integer(n)) => {
            T::try_from(*n).map_err(|_| format!("`{given}` is not {expected}"))
        }
        _ => parse(given, expected),
    }
}

/// A TOML boolean, or text that reads as one.
fn boolean(given: &Given, expected: &str) -> Result<bool, String> {
    match given {
        Given::Toml(toml::Value::Boolean(b)) => Ok(*b),
        _ => parse(given, expected),
    }
}

/// A TOML array, or comma-separated text; blank items of the text are skipped.
fn items(given: Given) -> Vec<Given> {
    match given {
        Given::Toml(toml::Value::Array(items)) => items.into_iter().map(Given::from).collect(),
        Given::Text(v) => v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Given::Text(s.to_owned()))
            .collect(),
        other => vec![other],
    }
}

/// Empty text means "unset" for the optional settings that have no other way to say it.
fn is_empty(given: &Given) -> bool {
    matches!(given, Given::Text(v) if v.trim().is_empty())
}

fn seconds(s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("`{s}` is not a non-negative number of seconds"))
}

pub(super) struct Address;
impl Kind for Address {
    type Value = SocketAddr;
    fn read(given: Given) -> Result<SocketAddr, String> {
        parse(&given, "an address like 127.0.0.1:8071")
    }
}

/// The metrics listener; empty: none of its own.
pub(super) struct MetricsAddress;
impl Kind for MetricsAddress {
    type Value = Option<SocketAddr>;
    fn read(given: Given) -> Result<Option<SocketAddr>, String> {
        if is_empty(&given) {
            return Ok(None);
        }
        parse(&given, "an address like 0.0.0.0:9090").map(Some)
    }
}

pub(super) struct Directory;
impl Kind for Directory {
    type Value = PathBuf;
    fn read(given: Given) -> Result<PathBuf, String> {
        text(given, "a directory path").map(PathBuf::from)
    }
}

/// Free text, such as a log filter.
pub(super) struct Text;
impl Kind for Text {
    type Value = String;
    fn read(given: Given) -> Result<String, String> {
        text(given, "text")
    }
}

impl Kind for Role {
    type Value = Self;
    fn read(given: Given) -> Result<Self, String> {
        text(given, "a role: use api, worker or all")?.parse()
    }
}

impl Kind for LogFormat {
    type Value = Self;
    fn read(given: Given) -> Result<Self, String> {
        text(given, "a log format: use text or json")?.parse()
    }
}

pub(super) struct Bool;
impl Kind for Bool {
    type Value = bool;
    fn read(given: Given) -> Result<bool, String> {
        boolean(&given, "true or false")
    }
}

/// A boolean that also reads as `on` / `off`.
pub(super) struct Switch;
impl Kind for Switch {
    type Value = bool;
    fn read(given: Given) -> Result<bool, String> {
        match &given {
            Given::Text(v) if v.trim() == "on" => Ok(true),
            Given::Text(v) if v.trim() == "off" => Ok(false),
            _ => boolean(&given, "true, false, on or off"),
        }
    }
}

pub(super) struct Positive;
impl Kind for Positive {
    type Value = usize;
    fn read(given: Given) -> Result<usize, String> {
        match integer(&given, "a positive integer")? {
            0 => Err("must be at least 1".into()),
            n => Ok(n),
        }
    }
}

/// A count, or `auto` (or empty) to derive it from the open-file limit at start.
pub(super) struct MaxConnections;
impl Kind for MaxConnections {
    type Value = Option<usize>;
    fn read(given: Given) -> Result<Option<usize>, String> {
        if is_empty(&given) || matches!(&given, Given::Text(v) if v.trim() == "auto") {
            return Ok(None);
        }
        Positive::read(given)
            .map(Some)
            .map_err(|e| format!("{e} (or `auto`)"))
    }
}

/// Seconds before each retry; its length is the number of retries.
pub(super) struct RetrySchedule;
impl Kind for RetrySchedule {
    type Value = Vec<Duration>;
    fn read(given: Given) -> Result<Vec<Duration>, String> {
        items(given)
            .iter()
            .map(|item| number(item, "a number of seconds").and_then(seconds))
            .collect()
    }
}

pub(super) struct PositiveSeconds;
impl Kind for PositiveSeconds {
    type Value = Duration;
    fn read(given: Given) -> Result<Duration, String> {
        let t = seconds(number(&given, "a number of seconds")?)?;
        if t.is_zero() {
            return Err("must be more than 0 seconds".into());
        }
        Ok(t)
    }
}

pub(super) struct Milliseconds;
impl Kind for Milliseconds {
    type Value = Duration;
    fn read(given: Given) -> Result<Duration, String> {
        integer(&given, "a number of milliseconds").map(Duration::from_millis)
    }
}

/// Hours, fractions allowed (tests and cautious operators use short values); 0 means never.
pub(super) struct HoursOrNever;
impl Kind for HoursOrNever {
    type Value = Option<Duration>;
    fn read(given: Given) -> Result<Option<Duration>, String> {
        let hours = number(&given, "a number of hours")?;
        let after = seconds(hours * 3600.0)
            .map_err(|_| format!("`{given}` is not a non-negative number of hours"))?;
        Ok((!after.is_zero()).then_some(after))
    }
}

pub(super) struct Subnets;
impl Kind for Subnets {
    type Value = Vec<IpNet>;
    fn read(given: Given) -> Result<Vec<IpNet>, String> {
        items(given)
            .iter()
            .map(|item| parse(item, "a CIDR like 127.0.0.0/8"))
            .collect()
    }
}

/// The shortest JWT secret accepted, configured or kept in the data directory: shorter ones are guessable.
pub const MIN_JWT_SECRET_LEN: usize = 16;

pub(super) struct JwtSecret;
impl Kind for JwtSecret {
    type Value = Option<Secret>;
    fn read(given: Given) -> Result<Option<Secret>, String> {
        let expected = || format!("must be at least {MIN_JWT_SECRET_LEN} characters");
        match given {
            Given::Text(v) if v.len() >= MIN_JWT_SECRET_LEN => Ok(Some(Secret::new(v))),
            Given::Text(_) => Err(expected()),
            Given::Toml(_) => Err(format!("{} of text", expected())),
        }
    }
}

/// A secret URL: empty means unset, and neither it nor its parts are ever repeated in a message.
fn secret_url(
    given: Given,
    accepted: impl Fn(&str) -> bool,
    expected: &str,
) -> Result<Option<Secret>, String> {
    let Given::Text(v) = given else {
        return Err(expected.to_owned());
    };
    match v.trim() {
        "" => Ok(None),
        v if accepted(v) => Ok(Some(Secret::new(v.to_owned()))),
        _ => Err(expected.to_owned()),
    }
}

pub(super) struct RedisUrl;
impl Kind for RedisUrl {
    type Value = Option<Secret>;
    fn read(given: Given) -> Result<Option<Secret>, String> {
        let scheme_ok = |v: &str| {
            v.split(',').all(|u| {
                ["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"]
                    .iter()
                    .any(|s| u.trim().starts_with(s))
            })
        };
        secret_url(
            given,
            scheme_ok,
            "must be redis://host:port (or rediss://, redis+cluster://host:port,host:port)",
        )
    }
}

pub(super) struct DatabaseUrl;
impl Kind for DatabaseUrl {
    type Value = Option<Secret>;
    fn read(given: Given) -> Result<Option<Secret>, String> {
        let scheme_ok = |v: &str| v.starts_with("postgres://") || v.starts_with("postgresql://");
        secret_url(given, scheme_ok, "must be postgres://user@host:port/database")
    }
}

pub(super) struct RedisPrefix;
impl Kind for RedisPrefix {
    type Value = String;
    fn read(given: Given) -> Result<String, String> {
        let expected = "must be non-empty: letters, digits, '-', '_', '.', ':'";
        let v = text(given, expected)?;
        let ok = !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if !ok {
            return Err(expected.into());
        }
        Ok(v)
    }
}

pub(super) struct DatabaseSchema;
impl Kind for DatabaseSchema {
    type Value = Option<String>;
    fn read(given: Given) -> Result<Option<String>, String> {
        let expected = "must be a plain lower-case identifier (letters, digits, '_')";
        let v = text(given, expected)?;
        let ok = !v.is_empty()
            && v.len() <= 63
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !v.as_bytes()[0].is_ascii_digit();
        if !ok {
            return Err(expected.into());
        }
        Ok(Some(v))
    }
}

fn org_id(given: Given) -> Result<OrgId, String> {
    let expected = "an organization id (org_ and letters or digits)";
    let v = text(given, expected)?;
    let v = v.trim();
    OrgId::parse(v).map_err(|_| format!("`{v}` is not {expected}"))
}

impl Kind for OrgId {
    type Value = Self;
    fn read(given: Given) -> Result<Self, String> {
        org_id(given)
    }
}

/// Where customers reach the API: an http(s) URL with a host, kept without its trailing slash.
pub(super) struct PublicUrl;
impl Kind for PublicUrl {
    type Value = Option<String>;
    fn read(given: Given) -> Result<Option<String>, String> {
        let v = text(given, "a URL")?;
        let url = url::Url::parse(v.trim()).map_err(|e| format!("`{v}` is not a URL: {e}"))?;
        let bare = url.query().is_none() && url.fragment().is_none() && url.host().is_some();
        if !matches!(url.scheme(), "http" | "https") || !bare {
            return Err(format!(
                "`{v}` must be an http(s) URL with a host and no query or fragment"
            ));
        }
        Ok(Some(url.as_str().trim_end_matches('/').to_owned()))
    }
}

/// Spans go out with the plain-HTTP client the service already has: a collector beside the service (the usual
/// deployment) takes them there and forwards them over TLS if need be.
pub(super) struct OtlpEndpoint;
impl Kind for OtlpEndpoint {
    type Value = Option<String>;
    fn read(given: Given) -> Result<Option<String>, String> {
        let expected = "an http:// URL such as http://localhost:4318";
        let v = text(given, expected)?;
        match v.trim() {
            "" => Ok(None),
            v if v.starts_with("http://") && v.len() > "http://".len() => Ok(Some(v.to_owned())),
            _ => Err(format!("`{v}` is not {expected}")),
        }
    }
}

impl Kind for FrameAncestors {
    type Value = Self;
    fn read(given: Given) -> Result<Self, String> {
        Self::parse(&text(given, "a list of CSP sources")?).map_err(|e| e.to_string())
    }
}

impl Kind for BrandName {
    type Value = Self;
    fn read(given: Given) -> Result<Self, String> {
        Self::parse(&text(given, "a name")?).map_err(|e| e.to_string())
    }
}

impl Kind for BrandColor {
    type Value = Self;
    fn read(given: Given) -> Result<Self, String> {
        Self::parse(&text(given, "a colour #rrggbb")?).map_err(|e| e.to_string())
    }
}
