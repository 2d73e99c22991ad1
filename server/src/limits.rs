//! The open-file limit, and the API's connection limits derived from it.

use tracing::{info, warn};
use xwebhook_api::ConnectionLimits;

use crate::config::{Config, Role};

/// File descriptors kept back from API clients for everything else a process opens: listeners, the embedded
/// store's files, log and metrics sockets, DNS lookups.
const RESERVED_FDS: usize = 128;
/// The derived cap never goes below this (a tiny limit still serves a few clients) nor above the maximum (each
/// open connection also costs buffers and a task; operators who want more say so).
const AUTO_MIN: usize = 32;
const AUTO_MAX: usize = 16_384;

/// Raises the soft open-file limit to the hard limit, as far as the system allows; at start, in `main`.
pub fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => info!(limit, "open-file limit"),
        Err(e) => warn!(error = %e, "cannot raise the open-file limit"),
    }
}

/// The API's connection limits: the configured ones, the cap derived from the open-file limit unless set.
pub fn connection_limits(config: &Config) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: config.listener.header_read_timeout,
        body_read_timeout: config.listener.body_read_timeout,
        idle_timeout: config.listener.idle_timeout,
        max_connections: config.listener.max_connections.unwrap_or_else(|| {
            let open_files = rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map_or(1024, |(soft, _)| usize::try_from(soft).unwrap_or(usize::MAX));
            auto_max_connections(open_files, config)
        }),
    }
}

/// What is left of `open_files` after the worker's outgoing deliveries, the storage pools and a reserve.
fn auto_max_connections(open_files: usize, config: &Config) -> usize {
    let deliveries = match config.role {
        Role::Api => 0,
        _ => config.delivery.worker_concurrency,
    };
    let storage = config.storage.redis_pool_size + config.storage.database_pool_size;
    open_files
        .saturating_sub(deliveries + storage + RESERVED_FDS)
        .clamp(AUTO_MIN, AUTO_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_cap_leaves_room_for_deliveries_and_storage() {
        let config = Config::default();
        // 1024 − (512 deliveries + 4 + 16 pool connections + 128 reserved).
        assert_eq!(auto_max_connections(1024, &config), 364);
        assert_eq!(auto_max_connections(256, &config), AUTO_MIN);
        assert_eq!(auto_max_connections(1 << 20, &config), AUTO_MAX);
        let api_only = Config {
            role: Role::Api,
            ..Config::default()
        };
        assert_eq!(auto_max_connections(1024, &api_only), 876);
    }
}
