//! Validated names: the strings of the API that have rules (UIDs, event type names, channels, URLs).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was rejected, in words an API client can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("may only contain letters, digits, '-', '_' and '.'")]
    BadCharacter,
    #[error("must not look like an id (it starts with `{prefix}`)")]
    LooksLikeId { prefix: &'static str },
    #[error("must be an absolute http or https URL")]
    BadUrl,
}

fn check_token(s: &str, max: usize) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if s.chars().count() > max {
        return Err(NameError::TooLong { max });
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(NameError::BadCharacter);
    }
    Ok(())
}

macro_rules! token_name {
    ($(#[$doc:meta])* $name:ident, max = $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                check_token(&s, $max)?;
                Ok(Self(s))
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::try_from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

token_name!(
    /// A user-chosen unique key of an application or endpoint, usable wherever its id is.
    Uid, max = 256
);
token_name!(
    /// The name of an event type, e.g. `user.signup`.
    EventTypeName, max = 256
);
token_name!(
    /// A free-form routing label: endpoints listening on channels only receive messages sharing one.
    Channel, max = 128
);

impl Uid {
    /// A UID that could be mistaken for an id would make `/app/{id_or_uid}` ambiguous.
    pub fn parse_for(s: String, id_prefix: &'static str) -> Result<Self, NameError> {
        if s.starts_with(id_prefix) {
            return Err(NameError::LooksLikeId { prefix: id_prefix });
        }
        Self::try_from(s)
    }
}

/// An endpoint's destination: an absolute `http` or `https` URL. Whether its address may be reached is decided
/// at delivery time, after DNS resolution, not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EndpointUrl(url::Url);

impl EndpointUrl {
    pub const MAX_LEN: usize = 65_536;

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for EndpointUrl {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, NameError> {
        if s.len() > Self::MAX_LEN {
            return Err(NameError::TooLong { max: Self::MAX_LEN });
        }
        let url = url::Url::parse(&s).map_err(|_| NameError::BadUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(NameError::BadUrl);
        }
        Ok(Self(url))
    }
}

impl From<EndpointUrl> for String {
    fn from(u: EndpointUrl) -> String {
        u.0.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_rules() {
        let cases: &[(&str, Result<(), NameError>)] = &[
            ("user.signup", Ok(())),
            ("a-b_c.D9", Ok(())),
            ("", Err(NameError::Empty)),
            ("has space", Err(NameError::BadCharacter)),
            ("slash/no", Err(NameError::BadCharacter)),
            ("ünï", Err(NameError::BadCharacter)),
        ];
        for (input, expected) in cases {
            let got = EventTypeName::try_from(input.to_string()).map(|_| ());
            assert_eq!(&got, expected, "{input:?}");
        }
        assert_eq!(
            Channel::try_from("x".repeat(129)).err(),
            Some(NameError::TooLong { max: 128 })
        );
    }

    #[test]
    fn uid_may_not_look_like_an_id() {
        assert_eq!(
            Uid::parse_for("app_123".into(), "app_").err(),
            Some(NameError::LooksLikeId { prefix: "app_" })
        );
        assert!(Uid::parse_for("my-app".into(), "app_").is_ok());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(EndpointUrl::try_from("https://example.com/hook".to_string()).is_ok());
        assert!(EndpointUrl::try_from("http://127.0.0.1:8080".to_string()).is_ok());
        for bad in [
            "ftp://example.com",
            "example.com/hook",
            "/relative",
            "https://",
            "mailto:a@b.c",
        ] {
            assert_eq!(
                EndpointUrl::try_from(bad.to_string()).err(),
                Some(NameError::BadUrl),
                "{bad}"
            );
        }
    }
}
