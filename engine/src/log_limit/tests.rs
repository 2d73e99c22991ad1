use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tracing_subscriber::layer::{Context, SubscriberExt as _};

use super::{FailureLog, Logged};

/// Counts the events logged while it is the default subscriber.
#[derive(Clone, Default)]
struct Lines(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Lines {
    fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

const RETRY: Duration = Duration::from_millis(200);

/// Half an hour of an outage at one retry per 200 ms: 9000 failures, 30 lines, then one for the recovery.
#[tokio::test(start_paused = true)]
async fn an_outage_logs_its_first_failure_then_a_summary_a_minute_and_its_recovery() {
    let lines = Lines::default();
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(lines.clone()));
    let mut log = FailureLog::new("receiving deliveries");
    let mut logged = Vec::new();
    for _ in 0..9000 {
        match log.failed(&"connection refused") {
            Logged::Nothing => {}
            other => logged.push(other),
        }
        tokio::time::advance(RETRY).await;
    }
    assert_eq!(logged.len(), 30, "the first failure, then one line a minute");
    assert_eq!(logged[0], Logged::First);
    assert_eq!(logged[1], Logged::Summary { failures: 300 });
    assert!(
        logged[1..]
            .iter()
            .all(|l| *l == Logged::Summary { failures: 300 })
    );
    assert_eq!(log.succeeded(), Logged::Recovered { failures: 9000 });
    assert_eq!(lines.0.load(Ordering::Relaxed), 31);

    assert_eq!(log.succeeded(), Logged::Nothing, "a working loop is silent");
    assert_eq!(log.failed(&"again"), Logged::First, "a new outage logs at once");
}

#[tokio::test(start_paused = true)]
async fn a_short_blip_logs_two_lines() {
    let mut log = FailureLog::new("expiring payloads");
    assert_eq!(log.note(&Err::<(), _>("timeout")), Logged::First);
    tokio::time::advance(RETRY).await;
    assert_eq!(log.note(&Err::<(), _>("timeout")), Logged::Nothing);
    assert_eq!(log.note(&Ok::<_, &str>(())), Logged::Recovered { failures: 2 });
}
