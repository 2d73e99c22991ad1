//! The Redis backend against the conformance suite, on the local Redis (each case under a key prefix of its
//! own, so cases run in parallel), plus what only a Redis backend must do: keep every key under the prefix and
//! spread applications over cluster slots.

mod queue;
mod records;
mod support;

mod conformance {
    xwebhook_engine::conformance_suite!(super::support::fresh);
}
