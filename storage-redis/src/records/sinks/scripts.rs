//! The Lua scripts of the sink port. Each touches keys of one application's sinks only (one hash tag, see
//! [`super::layout`]), declared in `KEYS`; lease values are `<until_ms>|<owner>` on Redis's clock.

use std::sync::LazyLock;

use redis::Script;

use super::super::scripts::OLD_UID;

/// The current time on Redis's clock, in ms, as Lua local `now`.
const NOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

/// The owner of a lease value and when it ends (`nil`s for a malformed value, which counts as free).
const LEASE: &str = r"
local function lease_of(held)
  if not held then return nil, nil end
  local bar = string.find(held, '|', 1, true)
  if not bar then return nil, nil end
  return string.sub(held, bar + 1), tonumber(string.sub(held, 1, bar - 1))
end
local function lease_until(now, ms, owner)
  return string.format('%.0f', now + tonumber(ms)) .. '|' .. owner
end
";

/// Appends a message to the logs of the sinks that still exist, once each. KEYS: cfg, then each sink's log.
/// ARGV: retention in ms, message id, then each sink's id (in the order of its log). Returns `{sink id,
/// position, …}` for each sink that took it.
pub(super) static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{}",
        r"
local min_id = string.format('%.0f', math.max(now - tonumber(ARGV[1]), 0))
local appended, seen = {}, {}
for i = 2, #KEYS do
  local id = ARGV[i + 1]
  if not seen[id] and redis.call('HEXISTS', KEYS[1], id) == 1 then
    seen[id] = true
    appended[#appended + 1] = id
    appended[#appended + 1] = redis.call('XADD', KEYS[i], 'MINID', '~', min_id, '*', 'm', ARGV[2])
  end
end
return appended
"
    ))
});

/// A sink and its state, by id or UID. KEYS: cfg, uids, state. ARGV: `id` or `uid`, the id or UID. Returns
/// `{json, state json or nil}`, or false.
pub(super) static GET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local id = ARGV[2]
if ARGV[1] == 'uid' then
  id = redis.call('HGET', KEYS[2], ARGV[2])
  if not id then return false end
end
local row = redis.call('HGET', KEYS[1], id)
if not row then return false end
return {row, redis.call('HGET', KEYS[3], id)}
",
    )
});

/// Deletes a sink with its UID entry, state, lease, log and consumers. KEYS: cfg, order, uids, state, lease,
/// log, consumers. ARGV: id. Returns `ok` or `absent`.
pub(super) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{OLD_UID}{}",
        r"
local id = ARGV[1]
local old = redis.call('HGET', KEYS[1], id)
if not old then return 'absent' end
local previous = old_uid(KEYS[3], id, old)
if previous and redis.call('HGET', KEYS[3], previous) == id then redis.call('HDEL', KEYS[3], previous) end
redis.call('HDEL', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', KEYS[4], id)
redis.call('HDEL', KEYS[5], id)
redis.call('DEL', KEYS[6], KEYS[7])
return 'ok'
"
    ))
});

/// Leases an existing sink to an owner if no other owner's lease runs. KEYS: cfg, lease. ARGV: id, owner,
/// lease in ms. Returns 1 when leased (or renewed), 0 otherwise.
pub(super) static LEASE_SINK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{LEASE}{}",
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local owner, until_ms = lease_of(redis.call('HGET', KEYS[2], ARGV[1]))
if owner and owner ~= ARGV[2] and until_ms and until_ms > now then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], lease_until(now, ARGV[3], ARGV[2]))
return 1
"
    ))
});

/// Writes a sink's state and renews its lease, if the owner holds it. A lapsed lease that nobody took is still
/// the owner's: nobody else can have written meanwhile. KEYS: lease, state. ARGV: id, owner, lease in ms,
/// state JSON. Returns 1 when written, 0 otherwise.
pub(super) static SAVE_STATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{LEASE}{}",
        r"
local owner = lease_of(redis.call('HGET', KEYS[1], ARGV[1]))
if owner ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[1], ARGV[1], lease_until(now, ARGV[3], ARGV[2]))
return 1
"
    ))
});

/// Drops a sink's lease if the owner holds it. KEYS: lease. ARGV: id, owner. Returns 1 when dropped.
pub(super) static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{LEASE}{}",
        r"
local owner = lease_of(redis.call('HGET', KEYS[1], ARGV[1]))
if owner ~= ARGV[2] then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])
"
    ))
});

/// Moves a consumer of an existing sink, so that a deleted sink's consumers hash stays deleted. KEYS: cfg,
/// consumers. ARGV: id, consumer, position. Returns 1 when moved, 0 when the sink does not exist.
pub(super) static SEEK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
",
    )
});

/// Marks a pump alive, forgets pumps gone quiet and counts the rest. KEYS: the pumps' ZSET (member: owner,
/// score: until when, in ms on Redis's clock). ARGV: owner, ttl in ms. Returns the count.
pub(super) static PUMPS_ALIVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{}",
        r"
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"
    ))
});
