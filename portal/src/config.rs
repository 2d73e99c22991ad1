//! The portal's settings, each a type that can hold only a valid value (parsed once, by the server's loader).

use std::fmt;

/// A setting that failed to parse; the message says what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortalConfig {
    pub frame_ancestors: FrameAncestors,
    pub brand_name: BrandName,
    pub brand_color: BrandColor,
}

/// The `frame-ancestors` sources of the page's CSP: who may embed it in an iframe. Default `'self'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameAncestors(String);

impl Default for FrameAncestors {
    fn default() -> Self {
        Self("'self'".into())
    }
}

impl FrameAncestors {
    /// Space-separated CSP sources: `'self'`, `'none'`, a scheme (`https:`) or a host source
    /// (`https://app.example.com`, `https://*.example.com:8443`). Anything else is refused, so a value can never
    /// add a directive of its own (`;`) to the header.
    pub fn parse(v: &str) -> Result<Self, ConfigError> {
        let sources: Vec<&str> = v.split_ascii_whitespace().collect();
        if sources.is_empty() {
            return Err(ConfigError("must name at least one source, e.g. 'self'".into()));
        }
        if let Some(bad) = sources.iter().find(|s| !is_source(s)) {
            return Err(ConfigError(format!(
                "`{bad}` is not a frame-ancestors source ('self', 'none', https:, or https://host[:port])"
            )));
        }
        if sources.contains(&"'none'") && sources.len() > 1 {
            return Err(ConfigError("'none' cannot be combined with other sources".into()));
        }
        Ok(Self(sources.join(" ")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_source(s: &str) -> bool {
    if matches!(s, "'self'" | "'none'" | "http:" | "https:") {
        return true;
    }
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
    let host = host.strip_prefix("*.").unwrap_or(host);
    let host_ok = !host.is_empty()
        && host
            .split('.')
            .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let port_ok = port.is_empty() && !rest.contains(':')
        || port == "*"
        || (!port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// The name shown in the page's header. Plain text, at most 60 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandName(String);

impl Default for BrandName {
    fn default() -> Self {
        Self("Webhooks".into())
    }
}

impl BrandName {
    pub fn parse(v: &str) -> Result<Self, ConfigError> {
        let v = v.trim();
        if v.is_empty() || v.chars().count() > 60 || v.chars().any(char::is_control) {
            return Err(ConfigError("must be 1 to 60 printable characters".into()));
        }
        Ok(Self(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The accent colour, `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandColor(String);

impl Default for BrandColor {
    fn default() -> Self {
        Self("#3b5bdb".into())
    }
}

impl BrandColor {
    pub fn parse(v: &str) -> Result<Self, ConfigError> {
        let v = v.trim();
        let ok = v.len() == 7 && v.starts_with('#') && v[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(ConfigError(format!("`{v}` is not a colour like #3b5bdb")));
        }
        Ok(Self(v.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FrameAncestors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ancestors_take_only_sources() {
        for ok in [
            "'self'",
            "'none'",
            "https://app.example.com",
            "'self'  https://*.example.com:8443",
            "https:",
        ] {
            assert!(FrameAncestors::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "'self'; script-src *",
            "https://a.com,https://b.com",
            "'none' 'self'",
            "https://a..b",
            "*",
        ] {
            assert!(FrameAncestors::parse(bad).is_err(), "{bad}");
        }
        let parsed = FrameAncestors::parse(" 'self'   https://a.example ").expect("valid");
        assert_eq!(parsed.as_str(), "'self' https://a.example");
    }

    #[test]
    fn brand_color_is_rrggbb() {
        assert_eq!(BrandColor::parse("#AABBCC").expect("valid").as_str(), "#aabbcc");
        for bad in ["aabbcc", "#abc", "#gggggg", "#aabbccdd", "red"] {
            assert!(BrandColor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn brand_name_is_short_plain_text() {
        assert!(BrandName::parse("Acme").is_ok());
        assert!(BrandName::parse("").is_err());
        assert!(BrandName::parse("a\nb").is_err());
        assert!(BrandName::parse(&"x".repeat(61)).is_err());
    }
}
