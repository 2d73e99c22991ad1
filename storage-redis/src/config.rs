//! How to reach Redis and how the queue is laid out on it.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://host:port[/db]`; for a cluster, one or more seed nodes separated by commas.
    pub url: String,
    /// Prepended to every key (`<prefix>:…`), so deployments and parallel tests can share one Redis.
    pub prefix: String,
    /// Connect as a Redis Cluster client.
    pub cluster: bool,
    /// Long-lived connections shared by every call (round-robin; see `conn`). Each carries any number of
    /// concurrent calls, so a handful is plenty; blocking queue reads use connections of their own.
    pub pool_size: usize,
    /// Ready-queue streams; work spreads over them and each lives in its own cluster slot.
    pub partitions: u16,
    /// A leased task idle longer than this is reclaimed from its (presumed dead) consumer. It must exceed the
    /// longest a live worker holds a task (the request timeout plus recording).
    pub visibility_timeout: Duration,
    /// A task leased this many times without being finished goes to the dead-letter stream.
    pub max_deliveries: u32,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: "xwebhook".into(),
            cluster: false,
            pool_size: 4,
            partitions: 16,
            visibility_timeout: Duration::from_secs(70),
            max_deliveries: 10,
        }
    }

    /// Whether the URL names a cluster (`redis+cluster://…`), whatever `cluster` says.
    pub fn is_cluster(&self) -> bool {
        self.cluster || self.url.starts_with("redis+cluster://") || self.url.starts_with("rediss+cluster://")
    }

    /// The node URLs, with a cluster scheme rewritten to the plain one the client expects.
    pub fn node_urls(&self) -> Vec<String> {
        self.url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| {
                u.replacen("redis+cluster://", "redis://", 1)
                    .replacen("rediss+cluster://", "rediss://", 1)
            })
            .map(|u| {
                if u.contains("://") {
                    u
                } else {
                    format!("redis://{u}")
                }
            })
            .collect()
    }
}
