//! The idempotency cache on Redis (to be written).
