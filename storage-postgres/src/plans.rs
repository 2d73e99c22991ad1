//! The hot listings' query plans, asserted: each is an ordered range scan of the index the crate docs name,
//! with no sort and no sequential scan. Runs on a seeded table after `ANALYZE`, the planner free to choose.
//! Needs the test Postgres (see `tests/it`).

use std::collections::BTreeSet;

use serde_json::Value;
use tokio_postgres::{Client, NoTls};
use xwebhook_engine::domain::MessageStatus;
use xwebhook_engine::id::{AppId, EndpointId, MessageId, OrgId};
use xwebhook_engine::store::{
    AttemptFilter, DestinationFilter, ListQuery, MessageFilter, Order, TimeTypeChannel,
};

use crate::attempts::{attempts_of, destinations_of};
use crate::messages::list_query;
use crate::retention;
use crate::sql::Query;
use crate::{PostgresConfig, PostgresStore};

fn url() -> String {
    std::env::var("XWEBHOOK_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn connect(options: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(&format!("{}?options={options}", url()), NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

/// The tenant, application, endpoint and message the listings ask about, in the seed's id formats.
struct Ids {
    org: OrgId,
    app: AppId,
    ep: EndpointId,
    msg: MessageId,
}

/// 20 000 messages in 20 event types over 2 apps, each with 2 attempts and 1 destination over 10 endpoints.
const SEED: &str = "
INSERT INTO messages (org_id, app_id, id, event_type, event_id, channels, created_at, payload, doc,
    payload_expires_at)
SELECT $1, CASE WHEN i % 2 = 0 THEN $2 ELSE 'app_other' END, 'msg_' || lpad(i::text, 26, '0'),
       'type.' || (i % 20), NULL, ARRAY['c' || (i % 3)], now() - (i || ' seconds')::interval, '{}', '{}',
       now() + ((i % 90) || ' days')::interval
FROM generate_series(1, 20000) AS i;
INSERT INTO attempts (org_id, app_id, msg_id, endpoint_id, id, status, response_status_code, event_type,
    channels, created_at, doc)
SELECT $1, $2, 'msg_' || lpad((i / 2)::text, 26, '0'), 'ep_' || lpad((i % 10)::text, 26, '0'),
       'atmpt_' || lpad(i::text, 26, '0'), i % 3 / 2 * 2, CASE WHEN i % 3 = 2 THEN 500 ELSE 200 END,
       'type.' || (i % 20), NULL, now(), '{}'
FROM generate_series(1, 40000) AS i;
INSERT INTO destinations (org_id, app_id, msg_id, endpoint_id, status, event_type, channels, doc)
SELECT $1, $2, 'msg_' || lpad(i::text, 26, '0'), 'ep_' || lpad((i % 10)::text, 26, '0'), i % 2,
       'type.' || (i % 20), NULL, '{}'
FROM generate_series(1, 20000) AS i;
ANALYZE;";

/// The index scans of a plan, and whether it sorts or scans a table sequentially anywhere.
fn scans(plan: &Value, out: &mut Vec<String>) {
    let node = plan["Node Type"].as_str().unwrap_or_default();
    match node {
        "Index Scan" | "Index Only Scan" => out.push(plan["Index Name"].as_str().unwrap_or("?").to_owned()),
        other => out.push(other.to_owned()),
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        scans(child, out);
    }
}

async fn plan_of(client: &Client, q: &Query) -> Vec<String> {
    let sql = format!("EXPLAIN (FORMAT JSON) {}", q.sql());
    let rows = client.query(&sql, &q.params()).await.expect("explain");
    let json: Value = rows[0].get(0);
    let mut nodes = Vec::new();
    scans(&json[0]["Plan"], &mut nodes);
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_listings_use_their_index() {
    let schema = format!("xwt_{}", ulid::Ulid::new().to_string().to_lowercase());
    let config = PostgresConfig {
        schema: Some(schema.clone()),
        pool_size: 1,
        ..PostgresConfig::new(url())
    };
    drop(PostgresStore::connect(&config).await.expect("migrate"));
    let client = connect(&format!("-c%20search_path%3D{schema}")).await;
    let result = tokio::spawn(check_plans(client)).await;
    connect("")
        .await
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("drop schema");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic.into_panic());
    }
}

async fn check_plans(client: Client) {
    let ids = Ids {
        org: OrgId::parse("org_plans").expect("org"),
        app: AppId::generate(),
        ep: EndpointId::parse(&format!("ep_{}", "0".repeat(25) + "3")).expect("endpoint"),
        msg: MessageId::parse(&format!("msg_{}", "0".repeat(23) + "100")).expect("message"),
    };
    let seed = SEED
        .replace("$1", &format!("'{}'", ids.org))
        .replace("$2", &format!("'{}'", ids.app));
    client.batch_execute(&seed).await.expect("seed");
    check_retention_plans(&client).await;
    for (what, q, index) in cases(&ids) {
        let plan = plan_of(&client, &q).await;
        eprintln!("{what}: {plan:?}");
        assert!(
            plan.iter().any(|n| n == index),
            "{what}: expected {index}, got {plan:?}"
        );
        assert!(
            !plan.iter().any(|n| n == "Sort" || n == "Seq Scan"),
            "{what}: {plan:?}"
        );
    }
}

/// (what, the store's query, the index that must serve it), newest first as the API lists by default.
fn cases(ids: &Ids) -> Vec<(&'static str, Query, &'static str)> {
    let newest = ListQuery::first(50, Order::Descending);
    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    let window = MessageFilter::from(TimeTypeChannel {
        before: Some(hour_ago),
        after: Some(hour_ago - chrono::Duration::hours(1)),
        ..Default::default()
    });
    let one_type = MessageFilter::from(TimeTypeChannel {
        event_types: Some(BTreeSet::from(["type.7".parse().expect("name")])),
        ..Default::default()
    });
    let failed = AttemptFilter {
        status: Some(MessageStatus::Fail),
        ..Default::default()
    };
    let (org, app, ep, msg) = (&ids.org, &ids.app, ids.ep.as_str(), ids.msg.as_str());
    let attempts = |parent, id, f: &AttemptFilter| attempts_of(parent, id, org, app, f, &newest);
    let destinations =
        |parent, id| destinations_of(parent, id, org, app, &DestinationFilter::default(), &newest);
    vec![
        (
            "messages, time window",
            list_query(org, app, &window, &newest),
            "messages_pkey",
        ),
        (
            "messages of one event type",
            list_query(org, app, &one_type, &newest),
            "messages_by_event_type",
        ),
        (
            "attempts of an endpoint",
            attempts("endpoint_id", ep, &AttemptFilter::default()),
            "attempts_by_endpoint",
        ),
        (
            "attempts of an endpoint by status",
            attempts("endpoint_id", ep, &failed),
            "attempts_by_endpoint_status",
        ),
        (
            "attempts of a message",
            attempts("msg_id", msg, &AttemptFilter::default()),
            "attempts_pkey",
        ),
        (
            "destinations of a message",
            destinations("msg_id", msg),
            "destinations_pkey",
        ),
        (
            "destinations of an endpoint",
            destinations("endpoint_id", ep),
            "destinations_by_endpoint",
        ),
    ]
}

/// The retention batches start from their index, with no sort and no sequential scan. The batch is 100 rows
/// here: of a 20 000-message seed, a batch of 1 000 is large enough for the planner to hash-join the whole
/// attempts table, which it would not do over a production-sized one.
async fn check_retention_plans(client: &Client) {
    let limit: i64 = 100;
    let now = chrono::Utc::now() + chrono::Duration::days(60);
    let bound = format!("msg_{}", "0".repeat(21) + "15000");
    let cases: [(&str, &str, &[&(dyn tokio_postgres::types::ToSql + Sync)], &str); 2] = [
        (
            "payload expiry",
            retention::EXPIRE,
            &[&now, &limit],
            "messages_by_payload_expiry",
        ),
        (
            "prune",
            retention::PRUNE,
            &[&bound, &limit],
            "messages_by_id_time",
        ),
    ];
    for (what, sql, params, index) in cases {
        let rows = client
            .query(&format!("EXPLAIN (FORMAT JSON) {sql}"), params)
            .await
            .expect("explain");
        let json: Value = rows[0].get(0);
        let mut plan = Vec::new();
        scans(&json[0]["Plan"], &mut plan);
        eprintln!("{what}: {plan:?}");
        assert!(
            plan.iter().any(|n| n == index),
            "{what}: expected {index}, got {plan:?}"
        );
        assert!(
            !plan.iter().any(|n| n == "Sort" || n == "Seq Scan"),
            "{what}: {plan:?}"
        );
    }
}
