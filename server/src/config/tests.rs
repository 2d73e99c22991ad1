//! The loader's layering, validation and secrecy.
use std::time::Duration;

use xwebhook_engine::id::OrgId;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn defaults_match_the_documentation() {
    let c = Config::load(None, &HashMap::new(), &Overrides::default()).expect("defaults are valid");
    assert_eq!(c.listener.listen.to_string(), "127.0.0.1:8071");
    assert_eq!(c.delivery.retry_schedule.len(), 7);
    assert_eq!(c.delivery.request_timeout, Duration::from_secs(30));
    assert_eq!(c.role, Role::All);
    assert_eq!(
        c.delivery.endpoint_failure_disable_after,
        Some(Duration::from_secs(120 * 3600))
    );
}

#[test]
fn endpoint_failure_disable_after_takes_fractional_hours_and_zero_for_never() {
    let load = |v: &str| {
        Config::load(
            None,
            &env(&[("XWEBHOOK_ENDPOINT_FAILURE_DISABLE_AFTER", v)]),
            &Overrides::default(),
        )
    };
    let half = load("0.5")
        .expect("valid")
        .delivery
        .endpoint_failure_disable_after;
    assert_eq!(half, Some(Duration::from_secs(1800)));
    assert_eq!(
        load("0").expect("valid").delivery.endpoint_failure_disable_after,
        None,
        "0 means never"
    );
    for bad in ["-1", "soon", "inf"] {
        let err = load(bad).expect_err(bad);
        assert!(
            err.0[0].starts_with("XWEBHOOK_ENDPOINT_FAILURE_DISABLE_AFTER:"),
            "{err}"
        );
    }
}

#[test]
fn env_overrides_file_and_flags_override_env() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("x.toml");
    std::fs::write(
        &file,
        "[listener]\nlisten = \"127.0.0.1:9000\"\n[delivery]\nretry_schedule = [1, 2]\nrequest_timeout = 5\n",
    )
    .expect("write config");
    let e = env(&[
        ("XWEBHOOK_LISTEN", "127.0.0.1:9001"),
        ("XWEBHOOK_ALLOW_SUBNETS", "127.0.0.0/8, ::1/128"),
    ]);
    let c = Config::load(Some(&file), &e, &Overrides::default()).expect("valid");
    assert_eq!(c.listener.listen.port(), 9001);
    assert_eq!(
        c.delivery.retry_schedule,
        vec![Duration::from_secs(1), Duration::from_secs(2)]
    );
    assert_eq!(c.delivery.request_timeout, Duration::from_secs(5));
    assert_eq!(c.delivery.allow_subnets.len(), 2);
    let flags = Overrides {
        listen: Some("127.0.0.1:9002".into()),
        ..Overrides::default()
    };
    assert_eq!(
        Config::load(Some(&file), &e, &flags)
            .expect("valid")
            .listener
            .listen
            .port(),
        9002
    );
}

#[test]
fn every_bad_value_is_reported() {
    let e = env(&[
        ("XWEBHOOK_LISTEN", "nowhere"),
        ("XWEBHOOK_RETRY_SCHEDULE", "5,soon"),
        ("XWEBHOOK_REQUEST_TIMEOUT", "0"),
        ("XWEBHOOK_ALLOW_SUBNETS", "10.0.0.0/33"),
        ("XWEBHOOK_LOG_FORMAT", "xml"),
        ("XWEBHOOK_JWT_SECRET", "short"),
        ("XWEBHOOK_REDIS_URL", "http://localhost:6379"),
        ("XWEBHOOK_REDIS_PREFIX", "has space"),
        ("XWEBHOOK_DATABASE_URL", "mysql://x"),
        ("XWEBHOOK_DATABASE_SCHEMA", "Bad-Schema"),
    ]);
    let err = Config::load(None, &e, &Overrides::default()).expect_err("invalid");
    assert_eq!(err.0.len(), 10, "{err}");
    assert!(
        err.0.iter().any(|m| m.starts_with("XWEBHOOK_LISTEN: `nowhere`")),
        "{err}"
    );
}

#[test]
fn secrets_do_not_print() {
    let e = env(&[
        ("XWEBHOOK_JWT_SECRET", "a-very-secret-value"),
        ("XWEBHOOK_REDIS_URL", "redis://:hunter2@127.0.0.1:6379"),
        ("XWEBHOOK_DATABASE_URL", "postgres://app:pa55word@127.0.0.1/db"),
    ]);
    let c = Config::load(None, &e, &Overrides::default()).expect("valid");
    assert!(!format!("{c:?}").contains("a-very-secret-value"));
    assert!(!format!("{c:?}").contains("hunter2"));
    assert!(!format!("{c:?}").contains("pa55word"));
}

#[test]
fn operational_webhooks_go_to_an_organization_of_their_own_unless_one_is_given() {
    let default = Config::load(None, &HashMap::new(), &Overrides::default()).expect("valid");
    assert_eq!(default.operational.webhooks_org, OrgId::operational_webhooks());
    let org = "org_2Xoperator1";
    let on = Config::load(
        None,
        &env(&[("XWEBHOOK_OPERATIONAL_WEBHOOKS_ORG", org)]),
        &Overrides::default(),
    )
    .expect("valid");
    assert_eq!(on.operational.webhooks_org.as_str(), org);
    let bad = env(&[("XWEBHOOK_OPERATIONAL_WEBHOOKS_ORG", "app_123")]);
    let err = Config::load(None, &bad, &Overrides::default()).expect_err("not an org id");
    assert!(
        err.0[0].starts_with("XWEBHOOK_OPERATIONAL_WEBHOOKS_ORG: `app_123`"),
        "{err}"
    );
}

#[test]
fn retention_interval_is_positive_seconds() {
    let c = Config::load(None, &HashMap::new(), &Overrides::default()).expect("defaults are valid");
    assert_eq!(c.retention.interval, Duration::from_secs(300));
    let c = Config::load(
        None,
        &env(&[("XWEBHOOK_RETENTION_INTERVAL", "60")]),
        &Overrides::default(),
    )
    .expect("valid");
    assert_eq!(c.retention.interval, Duration::from_secs(60));
    let err = Config::load(
        None,
        &env(&[("XWEBHOOK_RETENTION_INTERVAL", "0")]),
        &Overrides::default(),
    )
    .expect_err("zero");
    assert!(
        err.0[0].starts_with("XWEBHOOK_RETENTION_INTERVAL: must be more"),
        "{err}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("x.toml");
    std::fs::write(&file, "[retention]\ninterval = 30\n").expect("write config");
    let c = Config::load(Some(&file), &HashMap::new(), &Overrides::default()).expect("valid");
    assert_eq!(c.retention.interval, Duration::from_secs(30));
}

#[test]
fn metrics_are_on_by_default_and_may_have_their_own_listener() {
    let load = |pairs: &[(&str, &str)]| Config::load(None, &env(pairs), &Overrides::default());
    let c = load(&[]).expect("defaults are valid");
    assert!(c.telemetry.metrics);
    assert_eq!(c.telemetry.metrics_listen, None);
    let c = load(&[
        ("XWEBHOOK_METRICS", "off"),
        ("XWEBHOOK_METRICS_LISTEN", "0.0.0.0:9090"),
    ])
    .expect("valid");
    assert!(!c.telemetry.metrics);
    assert_eq!(
        c.telemetry.metrics_listen.map(|a| a.to_string()).as_deref(),
        Some("0.0.0.0:9090")
    );
    assert!(load(&[("XWEBHOOK_METRICS", "false")]).is_ok_and(|c| !c.telemetry.metrics));
    let err =
        load(&[("XWEBHOOK_METRICS", "maybe"), ("XWEBHOOK_METRICS_LISTEN", "9090")]).expect_err("bad values");
    assert_eq!(err.0.len(), 2, "{err}");
}

#[test]
fn spans_are_exported_only_to_an_http_collector() {
    let load = |pairs: &[(&str, &str)]| Config::load(None, &env(pairs), &Overrides::default());
    assert_eq!(
        load(&[]).expect("defaults are valid").telemetry.otlp_endpoint,
        None
    );
    let c = load(&[("XWEBHOOK_OTLP_ENDPOINT", "http://collector:4318")]).expect("valid");
    assert_eq!(
        c.telemetry.otlp_endpoint.as_deref(),
        Some("http://collector:4318")
    );
    for bad in ["collector:4318", "https://collector:4318", "http://"] {
        assert!(load(&[("XWEBHOOK_OTLP_ENDPOINT", bad)]).is_err(), "{bad}");
    }
}

#[test]
fn operator_and_public_url_are_checked() {
    let load = |pairs: &[(&str, &str)]| Config::load(None, &env(pairs), &Overrides::default());
    let c = load(&[]).expect("defaults");
    assert_eq!(c.auth.operator_org, OrgId::default_org());
    assert_eq!(c.portal.public_url, None);
    let c = load(&[
        ("XWEBHOOK_OPERATOR_ORG", "org_operator1"),
        ("XWEBHOOK_PUBLIC_URL", "https://hooks.example.com/"),
    ])
    .expect("valid");
    assert_eq!(c.auth.operator_org.to_string(), "org_operator1");
    assert_eq!(c.portal.public_url.as_deref(), Some("https://hooks.example.com"));
    for (name, bad) in [
        ("XWEBHOOK_OPERATOR_ORG", "operator"),
        ("XWEBHOOK_PUBLIC_URL", "hooks.example.com"),
        ("XWEBHOOK_PUBLIC_URL", "ftp://hooks.example.com"),
        ("XWEBHOOK_PUBLIC_URL", "https://hooks.example.com/?a=b"),
    ] {
        let err = load(&[(name, bad)]).expect_err(bad);
        assert!(err.0[0].starts_with(&format!("{name}:")), "{err}");
    }
}

#[test]
fn portal_settings_are_checked() {
    let load = |pairs: &[(&str, &str)]| Config::load(None, &env(pairs), &Overrides::default());
    let c = load(&[]).expect("defaults");
    assert_eq!(c.portal.frame_ancestors.as_str(), "'self'");
    let c = load(&[
        (
            "XWEBHOOK_PORTAL_FRAME_ANCESTORS",
            "'self' https://app.example.com",
        ),
        ("XWEBHOOK_PORTAL_BRAND_NAME", "Acme"),
        ("XWEBHOOK_PORTAL_BRAND_COLOR", "#AABBCC"),
    ])
    .expect("valid");
    assert_eq!(
        c.portal.frame_ancestors.as_str(),
        "'self' https://app.example.com"
    );
    assert_eq!(c.portal.brand_name.as_str(), "Acme");
    assert_eq!(c.portal.brand_color.as_str(), "#aabbcc");
    for (name, bad) in [
        // A source list must not be able to add a directive of its own to the CSP.
        ("XWEBHOOK_PORTAL_FRAME_ANCESTORS", "'self'; script-src *"),
        ("XWEBHOOK_PORTAL_BRAND_COLOR", "red"),
        ("XWEBHOOK_PORTAL_BRAND_NAME", ""),
    ] {
        let err = load(&[(name, bad)]).expect_err(bad);
        assert!(err.0[0].starts_with(&format!("{name}:")), "{err}");
    }
}

#[test]
fn client_connection_limits_are_positive_and_the_cap_defaults_to_auto() {
    let load = |pairs: &[(&str, &str)]| Config::load(None, &env(pairs), &Overrides::default());
    let defaults = load(&[]).expect("defaults are valid");
    assert_eq!(defaults.listener.header_read_timeout, Duration::from_secs(10));
    assert_eq!(defaults.listener.body_read_timeout, Duration::from_secs(30));
    assert_eq!(defaults.listener.idle_timeout, Duration::from_secs(75));
    assert_eq!(
        defaults.listener.max_connections, None,
        "derived from the open-file limit"
    );
    let c = load(&[
        ("XWEBHOOK_HEADER_READ_TIMEOUT", "0.5"),
        ("XWEBHOOK_BODY_READ_TIMEOUT", "2"),
        ("XWEBHOOK_IDLE_TIMEOUT", "3"),
        ("XWEBHOOK_MAX_CONNECTIONS", "64"),
    ])
    .expect("valid");
    assert_eq!(c.listener.header_read_timeout, Duration::from_millis(500));
    assert_eq!(c.listener.body_read_timeout, Duration::from_secs(2));
    assert_eq!(c.listener.idle_timeout, Duration::from_secs(3));
    assert_eq!(c.listener.max_connections, Some(64));
    assert_eq!(
        load(&[("XWEBHOOK_MAX_CONNECTIONS", "auto")])
            .expect("valid")
            .listener
            .max_connections,
        None
    );
    let err = load(&[
        ("XWEBHOOK_HEADER_READ_TIMEOUT", "0"),
        ("XWEBHOOK_BODY_READ_TIMEOUT", "-1"),
        ("XWEBHOOK_IDLE_TIMEOUT", "never"),
        ("XWEBHOOK_MAX_CONNECTIONS", "0"),
    ])
    .expect_err("invalid");
    assert_eq!(err.0.len(), 4, "{err}");
}

/// Loads `toml` as the configuration file, with no environment.
fn load_file(toml: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("x.toml");
    std::fs::write(&file, toml).expect("write config");
    Config::load(Some(&file), &HashMap::new(), &Overrides::default())
}

#[test]
fn the_file_takes_typed_values_and_text_alike() {
    let typed = load_file(
        "role = \"worker\"\n\
         [listener]\nidle_timeout = 2.5\nmax_connections = 64\n\
         [storage]\nredis_cluster = true\n\
         [delivery]\nretry_schedule = [1, 2.5]\nallow_subnets = [\"10.0.0.0/8\", \"::1/128\"]\n\
         [intake]\nwait_ms = 250\n\
         [telemetry]\nmetrics = false\n",
    )
    .expect("valid");
    let text = load_file(
        "role = \"worker\"\n\
         [listener]\nidle_timeout = \"2.5\"\nmax_connections = \"64\"\n\
         [storage]\nredis_cluster = \"true\"\n\
         [delivery]\nretry_schedule = \"1, 2.5\"\nallow_subnets = \"10.0.0.0/8, ::1/128\"\n\
         [intake]\nwait_ms = \"250\"\n\
         [telemetry]\nmetrics = \"off\"\n",
    )
    .expect("valid");
    for c in [typed, text] {
        assert_eq!(c.role, Role::Worker);
        assert_eq!(c.listener.idle_timeout, Duration::from_millis(2500));
        assert_eq!(c.listener.max_connections, Some(64));
        assert!(c.storage.redis_cluster);
        assert_eq!(
            c.delivery.retry_schedule,
            vec![Duration::from_secs(1), Duration::from_millis(2500)]
        );
        assert_eq!(c.delivery.allow_subnets.len(), 2);
        assert_eq!(c.intake.wait, Duration::from_millis(250));
        assert!(!c.telemetry.metrics);
    }
}

#[test]
fn a_section_reports_each_unknown_key_and_each_wrong_value() {
    let err = load_file(
        "[listener]\nlistn = \"127.0.0.1:9000\"\nmax_body_bytes = \"lots\"\nidle_timeout = true\n\
         [delivery]\nretry_schedule = [1, \"soon\"]\nsvix_headers = true\n",
    )
    .expect_err("invalid");
    let messages: Vec<&str> = err
        .0
        .iter()
        .map(|m| m.split(" in ").next().unwrap_or_default())
        .collect();
    assert_eq!(
        messages,
        [
            "delivery.retry_schedule",
            "listener.idle_timeout",
            "listener.listn",
            "listener.max_body_bytes"
        ],
        "{err}"
    );
    let says = |key: &str, what: &str| {
        err.0
            .iter()
            .any(|m| m.starts_with(&format!("{key} in ")) && m.ends_with(what))
    };
    assert!(
        says("delivery.retry_schedule", ": `soon` is not a number of seconds"),
        "{err}"
    );
    assert!(
        says("listener.idle_timeout", ": `true` is not a number of seconds"),
        "{err}"
    );
    assert!(
        says("listener.max_body_bytes", ": `lots` is not a positive integer"),
        "{err}"
    );
    assert!(
        err.0.iter().any(|m| m.starts_with("listener.listn in ")
            && m.contains("unknown field `listn`, expected one of `listen`")),
        "{err}"
    );
}

#[test]
fn a_misplaced_section_or_value_is_named() {
    let err = load_file("listener = \"127.0.0.1:9000\"\n[lisener]\nlisten = \"127.0.0.1:9000\"\n")
        .expect_err("invalid");
    assert_eq!(err.0.len(), 2, "{err}");
    assert!(err.0[0].starts_with("lisener in ") && err.0[0].ends_with("unknown section: expected role or one of listener, storage, delivery, intake, auth, telemetry, portal, operational, retention"), "{err}");
    assert!(
        err.0[1].starts_with("listener in ")
            && err.0[1].ends_with("must be a section, [listener], not a single value"),
        "{err}"
    );
}

#[test]
fn a_flat_file_from_before_the_sections_is_told_where_each_key_goes() {
    let err = load_file("listen = \"127.0.0.1:9000\"\nintake_wait_ms = 5\n").expect_err("the flat form");
    assert_eq!(err.0.len(), 2, "{err}");
    assert!(
        err.0[0].contains("intake_wait_ms in") && err.0[0].contains("write it as intake.wait_ms"),
        "{err}"
    );
    assert!(
        err.0[1].contains("listen in") && err.0[1].contains("write it as listener.listen"),
        "{err}"
    );
}

#[test]
fn every_moved_key_is_a_key_of_its_section() {
    for (old, new) in MOVED {
        let (section, key) = new.split_once('.').expect("section.key");
        // An empty table is no setting's value, so each key is judged: named and refused, never unknown.
        let err = load_file(&format!("[{section}]\n{key} = {{}}\n")).expect_err(new);
        assert_eq!(err.0.len(), 1, "{old}: {err}");
        assert!(err.0[0].starts_with(&format!("{new} in ")), "{old}: {err}");
        assert!(!err.0[0].contains("unknown field"), "{old}: {err}");
    }
}

#[test]
fn secrets_in_the_file_are_never_repeated() {
    let err = load_file(
        "[auth]\njwt_secret = 1234567890123456\n\
         [storage]\nredis_url = \"http://:hunter2@localhost\"\ndatabase_url = \"mysql://app:pa55word@db\"\n",
    )
    .expect_err("invalid");
    assert_eq!(err.0.len(), 3, "{err}");
    for secret in ["1234567890123456", "hunter2", "pa55word"] {
        assert!(!err.to_string().contains(secret), "{err}");
    }
}

#[test]
fn a_syntax_error_names_its_line_but_not_its_text() {
    let err = load_file("[auth]\n\njwt_secret = \"a-very-secret-value\n").expect_err("unterminated");
    assert_eq!(err.0.len(), 1, "{err}");
    assert!(err.0[0].contains("is not valid TOML (line 3): "), "{err}");
    assert!(!err.to_string().contains("a-very-secret-value"), "{err}");
}
