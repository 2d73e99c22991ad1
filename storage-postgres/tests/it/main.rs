//! The Postgres store against the conformance suite, plus what only it must do: migrate safely from several
//! processes at once, and batch the delivery path's writes. (The query plans are checked by the crate's unit
//! test `plans`, which needs the queries' internals.)
//!
//! Needs Postgres on 127.0.0.1:5432 with a `test` database and trust authentication (`XWEBHOOK_TEST_PG_URL`
//! overrides the URL). Each case works in its own schema, dropped when the case ends, so cases run in parallel.

mod batch;
mod group_commit;
mod helpers;
mod migrations;

mod conformance {
    xwebhook_engine::conformance_suite!(super::helpers::fresh);
}
