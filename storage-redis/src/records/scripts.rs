//! The Lua scripts behind every multi-key record write. Each runs atomically on the one node that owns its
//! keys; callers pass only keys of one hash tag, and scripts never build key names (Redis Cluster forbids
//! touching keys not declared in `KEYS`). Write scripts answer a status: `ok`, `id` (the id or name is taken),
//! `uid` (the UID or `eventId` is taken) or `absent` (the row to change does not exist).

use std::sync::LazyLock;

use redis::Script;

/// The UID a stored row holds (`nil` if none). An undecodable row's UID is found by searching the UID hash,
/// so that updating or deleting it still repairs the index instead of failing forever.
pub(super) const OLD_UID: &str = r"
local function old_uid(uids, id, row)
  local ok, decoded = pcall(cjson.decode, row)
  if ok and type(decoded) == 'table' then
    if type(decoded.uid) == 'string' then return decoded.uid end
    return nil
  end
  local all = redis.call('HGETALL', uids)
  for i = 1, #all, 2 do
    if all[i + 1] == id then return all[i] end
  end
  return nil
end
";

/// Inserts a hash-field row with its listing entry and, optionally, its UID index entry.
/// KEYS: rows hash, order zset, [uid hash]. ARGV: id, json, uid or ''.
pub(super) static CREATE_FIELD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'id' end
local uid = ARGV[3]
if KEYS[3] and uid ~= '' and redis.call('HEXISTS', KEYS[3], uid) == 1 then return 'uid' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if KEYS[3] and uid ~= '' then redis.call('HSET', KEYS[3], uid, ARGV[1]) end
return 'ok'
",
    )
});

/// Replaces an existing hash-field row, moving its UID index entry when the UID changed. The old UID is read
/// from the stored JSON so that the caller needs no read-then-write round trip (and cannot race one).
/// KEYS: rows hash, [uid hash]. ARGV: id, json, new uid or ''.
pub(super) static UPDATE_FIELD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{OLD_UID}{}",
        r"
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 'absent' end
if KEYS[2] then
  local id, uid = ARGV[1], ARGV[3]
  if uid ~= '' then
    local owner = redis.call('HGET', KEYS[2], uid)
    if owner and owner ~= id then return 'uid' end
  end
  local previous = old_uid(KEYS[2], id, old)
  if previous and previous ~= uid and redis.call('HGET', KEYS[2], previous) == id then
    redis.call('HDEL', KEYS[2], previous)
  end
  if uid ~= '' then redis.call('HSET', KEYS[2], uid, id) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'ok'
"
    ))
});

/// Removes a hash-field row, its listing entry, its UID index entry, and deletes whole keys that depend on it
/// (an application's endpoint hash, listing set and UID hash).
/// KEYS: rows hash, order zset, [uid hash, [dependent keys…]]. ARGV: id.
pub(super) static DELETE_FIELD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{OLD_UID}{}",
        r"
local id = ARGV[1]
local old = redis.call('HGET', KEYS[1], id)
if not old then return 'absent' end
if KEYS[3] then
  local previous = old_uid(KEYS[3], id, old)
  if previous and redis.call('HGET', KEYS[3], previous) == id then redis.call('HDEL', KEYS[3], previous) end
end
redis.call('HDEL', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
return 'ok'
"
    ))
});

/// Returns the row a UID points at, in one round trip. KEYS: rows hash, uid hash. ARGV: uid.
pub(super) static GET_BY_UID: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local id = redis.call('HGET', KEYS[2], ARGV[1])
if not id then return false end
return redis.call('HGET', KEYS[1], id)
",
    )
});

/// Inserts a message row, its listing entry, its payload expiry entry, optionally its `eventId` index entry,
/// and the pending destinations of its first deliveries with their listing entries: all of it or, when the id
/// or `eventId` is taken, nothing.
/// KEYS: row, order zset, expiry zset, [event id key], then per destination (row, by-message zset, by-endpoint
/// zset). ARGV: id, json, payload expiry (ms), `1` when KEYS holds an event id key, then per destination (json,
/// endpoint id).
pub(super) static CREATE_MESSAGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local id, has_event_id = ARGV[1], ARGV[4] == '1'
if redis.call('EXISTS', KEYS[1]) == 1 then return 'id' end
if has_event_id and redis.call('EXISTS', KEYS[4]) == 1 then return 'uid' end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, id)
redis.call('ZADD', KEYS[3], ARGV[3], id)
local k = 4
if has_event_id then
  redis.call('SET', KEYS[4], id)
  k = 5
end
local a = 5
while k <= #KEYS do
  redis.call('SET', KEYS[k], ARGV[a])
  redis.call('ZADD', KEYS[k + 1], 0, ARGV[a + 1])
  redis.call('ZADD', KEYS[k + 2], 0, id)
  k, a = k + 3, a + 2
end
return 'ok'
",
    )
});

/// Writes attempts and destinations of one application, with their listing entries. Destinations are
/// overwritten (`set`, recording an attempt) or only inserted where absent (`nx`, a fan-out that may run twice).
/// A destination's listing entries are written with the destination and removed with it, so an overwrite
/// that finds one already there (`SET … GET`: most do, since the intake creates it with its message) leaves
/// them be.
/// KEYS: per attempt (row, by-message zset, by-endpoint zset), then per destination the same three.
/// ARGV: attempt count, destination count, `set` or `nx`, then per attempt (json, attempt id), then per
/// destination (json, endpoint id, message id). Returns how many destinations were new.
pub(super) static WRITE_DELIVERIES: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local na, nd, nx = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == 'nx'
local k, a, written = 1, 4, 0
for _ = 1, na do
  redis.call('SET', KEYS[k], ARGV[a])
  redis.call('ZADD', KEYS[k + 1], 0, ARGV[a + 1])
  redis.call('ZADD', KEYS[k + 2], 0, ARGV[a + 1])
  k, a = k + 3, a + 2
end
for _ = 1, nd do
  local new
  if nx then new = redis.call('SET', KEYS[k], ARGV[a], 'NX') else new = not redis.call('SET', KEYS[k], ARGV[a], 'GET') end
  if new then
    redis.call('ZADD', KEYS[k + 1], 0, ARGV[a + 1])
    redis.call('ZADD', KEYS[k + 2], 0, ARGV[a + 2])
    written = written + 1
  end
  k, a = k + 3, a + 3
end
return written
",
    )
});
