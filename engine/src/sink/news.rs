//! Wakes this process's drivers when this process appends to their destinations' logs, so that a driver with
//! nothing to send sleeps until there is something, instead of reading an empty log over and over (it still
//! reads again after a while: another process's appends are not announced here).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::id::SinkId;

#[derive(Debug, Default)]
pub struct SinkNews {
    watched: Mutex<HashMap<SinkId, Arc<Notify>>>,
}

impl SinkNews {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Called once the appended message is stored (so that the woken driver finds it).
    pub fn appended(&self, sinks: &[SinkId]) {
        let watched = self.lock();
        for sink in sinks {
            if let Some(news) = watched.get(sink) {
                // A permit is kept when the driver is not waiting yet: the news is never lost.
                news.notify_one();
            }
        }
    }

    /// What a driver of `sink` waits on.
    pub fn watch(&self, sink: &SinkId) -> Arc<Notify> {
        self.lock().entry(sink.clone()).or_default().clone()
    }

    pub fn forget(&self, sink: &SinkId) {
        self.lock().remove(sink);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SinkId, Arc<Notify>>> {
        // A panic while holding this lock leaves a plain map, still consistent.
        self.watched.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn news_of_a_watched_sink_wakes_its_driver_even_if_it_came_first() {
        let news = SinkNews::new();
        let (watched, other) = (SinkId::generate(), SinkId::generate());
        let wake = news.watch(&watched);
        news.appended(&[other.clone(), watched.clone()]);
        tokio::time::timeout(Duration::from_secs(5), wake.notified())
            .await
            .expect("the news was kept until the driver waited");
        news.forget(&watched);
        news.appended(&[watched]);
        assert!(news.lock().is_empty(), "nothing kept for what nobody watches");
    }
}
