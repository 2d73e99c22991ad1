//! Endpoints' and applications' rate limits on Redis, shared by every process: GCRA on one key per limited
//! endpoint or application, `P:rl:<ep_…|app_…>`, holding its theoretical arrival time (TAT) in Unix
//! microseconds. One key per call, so any
//! cluster slot will do; the key expires when its TAT passes, since a bucket that has refilled is the same as
//! none. The time comes from Redis (`TIME` inside the script), so the processes' clocks do not matter.

use std::num::NonZeroU32;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use xwebhook_engine::store::{Admission, Limited, RateLimits, StoreResult, burst, emission_interval};

use crate::RedisStore;
use crate::error::Context as _;

/// GCRA: a call conforms when `now >= TAT - interval × (burst - 1)`; a conforming call moves the TAT one
/// interval on (from now, if it had passed). Returns 0 when admitted, else the microseconds until the next
/// call would conform (and changes nothing). KEYS: the budget's key. ARGV: interval in µs, burst.
/// Numbers stay below 2^53, where Lua's doubles are exact; `%.0f` keeps them out of exponent notation.
static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local conforms_at = tat - tolerance
if now < conforms_at then return conforms_at - now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return 0
",
    )
});

impl RedisStore {
    fn rate_limit_key(&self, limited: &Limited) -> String {
        self.keys.key(&["rl", limited.key()])
    }
}

#[async_trait]
impl RateLimits for RedisStore {
    async fn admit(&self, limited: &Limited, per_second: NonZeroU32) -> StoreResult<Admission> {
        let interval_us = u64::try_from(emission_interval(per_second).as_micros()).unwrap_or(u64::MAX);
        let mut conn = self.pool.get().await?;
        let wait_us: u64 = ADMIT
            .key(self.rate_limit_key(limited))
            .arg(interval_us)
            .arg(burst(per_second).get())
            .invoke_async(&mut conn)
            .await
            .redis("cannot check a rate limit")?;
        Ok(match wait_us {
            0 => Admission::Now,
            us => Admission::After(Duration::from_micros(us)),
        })
    }
}
