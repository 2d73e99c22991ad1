//! The live progress line on stderr, once a second: messages sent and deliveries accepted, with their rates.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::load::Driver;
use crate::sink::Sink;

/// Prints until the returned task is aborted.
pub fn spawn(label: String, driver: Arc<Driver>, sink: Sink) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let (mut seconds, mut last_sent, mut last_delivered) = (0u64, 0u64, 0u64);
        loop {
            tick.tick().await;
            seconds += 1;
            let sent = driver.sent.load(std::sync::atomic::Ordering::Relaxed);
            let delivered = sink.accepted();
            eprintln!(
                "[{label} {seconds:>3}s] sent {sent} ({}/s)  delivered {delivered} ({}/s)",
                sent - last_sent,
                delivered - last_delivered
            );
            (last_sent, last_delivered) = (sent, delivered);
        }
    })
}
