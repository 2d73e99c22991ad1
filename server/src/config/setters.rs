//! The parsers of single settings: each reads one value (from the environment or the TOML file) into `Config`,
//! or says in one line what is wrong with it.

use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use xwebhook_engine::id::OrgId;

use super::{Config, Secret};

/// Spans go out with the plain-HTTP client the service already has: a collector beside the service (the usual
/// deployment) takes them there and forwards them over TLS if need be.
pub(super) fn set_otlp_endpoint(c: &mut Config, v: &str) -> Result<(), String> {
    c.otlp_endpoint = match v.trim() {
        "" => None,
        v if v.starts_with("http://") && v.len() > "http://".len() => Some(v.to_owned()),
        _ => {
            return Err(format!(
                "`{v}` is not an http:// URL such as http://localhost:4318"
            ));
        }
    };
    Ok(())
}

pub(super) fn parse<T: FromStr>(v: &str, expected: &str) -> Result<T, String> {
    v.trim().parse().map_err(|_| format!("`{v}` is not {expected}"))
}

/// A boolean that also reads as `on` / `off`.
pub(super) fn switch(v: &str) -> Result<bool, String> {
    match v.trim() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => parse(other, "true, false, on or off"),
    }
}

pub(super) fn positive(v: &str) -> Result<usize, String> {
    match parse::<usize>(v, "a positive integer")? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

/// The shortest JWT secret accepted, configured or kept in the data directory: shorter ones are guessable.
pub const MIN_JWT_SECRET_LEN: usize = 16;

/// A count, or `auto` (or empty) to derive it from the open-file limit at start.
pub(super) fn set_max_connections(c: &mut Config, v: &str) -> Result<(), String> {
    c.max_connections = match v.trim() {
        "" | "auto" => None,
        v => Some(positive(v).map_err(|e| format!("{e} (or `auto`)"))?),
    };
    Ok(())
}

pub(super) fn set_jwt_secret(c: &mut Config, v: &str) -> Result<(), String> {
    if v.len() < MIN_JWT_SECRET_LEN {
        return Err(format!("must be at least {MIN_JWT_SECRET_LEN} characters"));
    }
    c.jwt_secret = Some(Secret::new(v.to_owned()));
    Ok(())
}

pub(super) fn set_redis_url(c: &mut Config, v: &str) -> Result<(), String> {
    let v = v.trim();
    if v.is_empty() {
        c.redis_url = None;
        return Ok(());
    }
    let scheme_ok = v.split(',').all(|u| {
        ["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"]
            .iter()
            .any(|s| u.trim().starts_with(s))
    });
    if !scheme_ok {
        return Err("must be redis://host:port (or rediss://, redis+cluster://host:port,host:port)".into());
    }
    c.redis_url = Some(Secret::new(v.to_owned()));
    Ok(())
}

pub(super) fn set_database_url(c: &mut Config, v: &str) -> Result<(), String> {
    let v = v.trim();
    if v.is_empty() {
        c.database_url = None;
        return Ok(());
    }
    if !(v.starts_with("postgres://") || v.starts_with("postgresql://")) {
        return Err("must be postgres://user@host:port/database".into());
    }
    c.database_url = Some(Secret::new(v.to_owned()));
    Ok(())
}

pub(super) fn set_database_schema(c: &mut Config, v: &str) -> Result<(), String> {
    let ok = !v.is_empty()
        && v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !v.as_bytes()[0].is_ascii_digit();
    if !ok {
        return Err("must be a plain lower-case identifier (letters, digits, '_')".into());
    }
    c.database_schema = Some(v.to_owned());
    Ok(())
}

pub(super) fn set_operational_webhooks_org(c: &mut Config, v: &str) -> Result<(), String> {
    c.operational_webhooks_org = match v.trim() {
        "" => None,
        v => Some(org_id(v)?),
    };
    Ok(())
}

pub(super) fn set_public_url(c: &mut Config, v: &str) -> Result<(), String> {
    let url = url::Url::parse(v.trim()).map_err(|e| format!("`{v}` is not a URL: {e}"))?;
    let bare = url.query().is_none() && url.fragment().is_none() && url.host().is_some();
    if !matches!(url.scheme(), "http" | "https") || !bare {
        return Err(format!(
            "`{v}` must be an http(s) URL with a host and no query or fragment"
        ));
    }
    c.public_url = Some(url.as_str().trim_end_matches('/').to_owned());
    Ok(())
}

pub(super) fn org_id(v: &str) -> Result<OrgId, String> {
    let v = v.trim();
    OrgId::parse(v).map_err(|_| format!("`{v}` is not an organization id (org_ and letters or digits)"))
}

pub(super) fn set_redis_prefix(c: &mut Config, v: &str) -> Result<(), String> {
    let ok = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if !ok {
        return Err("must be non-empty: letters, digits, '-', '_', '.', ':'".into());
    }
    c.redis_prefix = v.to_owned();
    Ok(())
}

pub(super) fn set_retry_schedule(c: &mut Config, v: &str) -> Result<(), String> {
    let schedule = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse::<f64>(s, "a number of seconds").and_then(seconds))
        .collect::<Result<Vec<_>, _>>()?;
    c.retry_schedule = schedule;
    Ok(())
}

pub(super) fn seconds(s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("`{s}` is not a non-negative number of seconds"))
}

pub(super) fn positive_seconds(v: &str) -> Result<Duration, String> {
    let t = seconds(parse(v, "a number of seconds")?)?;
    if t.is_zero() {
        return Err("must be more than 0 seconds".into());
    }
    Ok(t)
}

pub(super) fn set_request_timeout(c: &mut Config, v: &str) -> Result<(), String> {
    c.request_timeout = positive_seconds(v)?;
    Ok(())
}

/// Hours, fractions allowed (tests and cautious operators use short values); 0 turns auto-disable off.
pub(super) fn set_endpoint_failure_disable_after(c: &mut Config, v: &str) -> Result<(), String> {
    let hours: f64 = parse(v, "a number of hours")?;
    let after =
        seconds(hours * 3600.0).map_err(|_| format!("`{v}` is not a non-negative number of hours"))?;
    c.endpoint_failure_disable_after = (!after.is_zero()).then_some(after);
    Ok(())
}

pub(super) fn set_allow_subnets(c: &mut Config, v: &str) -> Result<(), String> {
    c.allow_subnets = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse::<IpNet>(s, "a CIDR like 127.0.0.0/8"))
        .collect::<Result<_, _>>()?;
    Ok(())
}
