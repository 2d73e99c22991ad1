//! Where a sink's rows live: every key of one application's sinks under the tag `{P:snk:<org>/<app>}`, and
//! the members of the registry of every sink, `<org>/<app>/<sink>`.

use xwebhook_engine::domain::SinkKey;
use xwebhook_engine::id::{AppId, OrgId, SinkId};

use crate::keys::Keys;

/// Keys of one application's sinks: `P:{P:snk:<org>/<app>}:…`.
pub(super) struct SinkKeys {
    base: String,
}

impl SinkKeys {
    pub(super) fn new(keys: &Keys, org: &OrgId, app: &AppId) -> Self {
        // Neither id can hold `/`, so the tag is unambiguous (as `AppKeys`'s).
        Self {
            base: keys.key(&[&keys.tag(&format!("snk:{org}/{app}"))]),
        }
    }

    pub(super) fn of(keys: &Keys, sink: &SinkKey) -> Self {
        Self::new(keys, &sink.org_id, &sink.app_id)
    }

    fn at(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.base)
    }

    pub(super) fn cfg(&self) -> String {
        self.at("cfg")
    }
    pub(super) fn order(&self) -> String {
        self.at("order")
    }
    pub(super) fn uids(&self) -> String {
        self.at("uids")
    }
    pub(super) fn state(&self) -> String {
        self.at("state")
    }
    pub(super) fn lease(&self) -> String {
        self.at("lease")
    }
    pub(super) fn log(&self, id: &SinkId) -> String {
        self.at(&format!("log:{id}"))
    }
    pub(super) fn consumers(&self, id: &SinkId) -> String {
        self.at(&format!("consumers:{id}"))
    }
}

pub(super) fn member(org: &OrgId, app: &AppId, id: &SinkId) -> String {
    format!("{org}/{app}/{id}")
}

pub(super) fn parse_member(member: &str) -> Option<SinkKey> {
    let mut parts = member.splitn(3, '/');
    let (org, app, id) = (parts.next()?, parts.next()?, parts.next()?);
    Some(SinkKey {
        org_id: OrgId::parse(org).ok()?,
        app_id: AppId::parse(app).ok()?,
        id: SinkId::parse(id).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_members_round_trip_and_reject_what_is_not_a_sink() {
        let (org, app, id) = (OrgId::generate(), AppId::generate(), SinkId::generate());
        let key = SinkKey {
            org_id: org.clone(),
            app_id: app.clone(),
            id: id.clone(),
        };
        assert_eq!(parse_member(&member(&org, &app, &id)), Some(key));
        for bad in [
            "",
            "a/b",
            &format!("{org}/{app}"),
            &format!("{org}/{app}/x"),
            &format!("{app}/{org}/{id}"),
        ] {
            assert_eq!(parse_member(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_key_of_an_application_shares_its_tag() {
        let keys = Keys::new("p");
        let (org, app, id) = (OrgId::generate(), AppId::generate(), SinkId::generate());
        let k = SinkKeys::new(&keys, &org, &app);
        let tag = format!("{{p:snk:{org}/{app}}}");
        for key in [
            k.cfg(),
            k.order(),
            k.uids(),
            k.state(),
            k.lease(),
            k.log(&id),
            k.consumers(&id),
        ] {
            assert!(key.starts_with(&format!("p:{tag}:")), "{key}");
        }
    }
}
