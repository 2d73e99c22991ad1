//! The typed id parsers (`engine/src/id.rs`) and the name parsers that path segments and bodies go through:
//! never a panic, and whatever parses is canonical (it parses again to itself) and keeps its prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xwebhook_engine::domain::{Channel, EndpointUrl, EventTypeName, Uid};
use xwebhook_engine::id::{AppId, AttemptId, BackgroundTaskId, EndpointId, MessageId, OrgId};

macro_rules! prefixed_id_holds {
    ($ty:ty, $s:expr) => {{
        let s: &str = $s;
        let parsed = <$ty>::parse(s);
        assert_eq!(parsed.is_ok(), <$ty>::looks_like(s));
        if let Ok(id) = parsed {
            assert!(id.as_str().starts_with(<$ty>::PREFIX));
            assert_eq!(
                <$ty>::parse(id.as_str()).as_ref(),
                Ok(&id),
                "not canonical: {s:?}"
            );
            // The time of an id is read back from its body; it must never fail on a parsed id.
            let _ = id.timestamp();
            let json = serde_json::to_string(&id).expect("an id serializes");
            let back: $ty = serde_json::from_str(&json).expect("a serialized id loads");
            assert_eq!(back, id);
        }
    }};
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    prefixed_id_holds!(AppId, s);
    prefixed_id_holds!(EndpointId, s);
    prefixed_id_holds!(MessageId, s);
    prefixed_id_holds!(AttemptId, s);
    prefixed_id_holds!(BackgroundTaskId, s);
    if let Ok(org) = OrgId::parse(s) {
        assert_eq!(org.as_str(), s, "organization ids are taken as given");
    }
    names_hold(s);
});

/// UIDs, event type names, channels and endpoint URLs: whatever parses round-trips through its stored form.
fn names_hold(s: &str) {
    if let Ok(uid) = Uid::try_from(s.to_owned()) {
        assert_eq!(uid.as_str(), s);
        assert!(!AppId::looks_like(s) || Uid::parse_for(s.to_owned(), AppId::PREFIX).is_err());
    }
    if let Ok(name) = EventTypeName::try_from(s.to_owned()) {
        assert_eq!(name.as_str(), s);
    }
    if let Ok(channel) = Channel::try_from(s.to_owned()) {
        assert_eq!(channel.as_str(), s);
    }
    if let Ok(url) = EndpointUrl::try_from(s.to_owned()) {
        let again = EndpointUrl::try_from(url.as_str().to_owned()).expect("a normalized URL parses again");
        assert_eq!(again, url, "URL normalization is not idempotent: {s:?}");
    }
}
