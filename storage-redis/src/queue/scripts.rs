//! The queue's Lua scripts. Each one is a step that must be atomic: Redis runs a script without interleaving
//! other commands, and on a cluster every key of one call shares a partition's hash tag (except where noted).
//!
//! Every stream entry has one field, `t`, holding the task's JSON; dead-letter entries add `id` (the original
//! entry id), `deliveries` and `reason`.

use std::sync::LazyLock;

use redis::Script;

/// `field(fields, name)`: the value of `name` in a flat `[k1, v1, k2, v2, …]` entry, or nil.
const FIELD_FN: &str = r"
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end
";

/// Reads new entries for consumer ARGV[2] of group ARGV[1] from the streams in KEYS, in order: (fresh, retry)
/// pairs, one per partition. At most ARGV[3] come from fresh streams, ARGV[4] from retry streams, ARGV[5] in
/// all; then, if ARGV[6] is `1` and a lane stopped at its share, a second pass fills the rest of ARGV[5] from
/// either lane. Returns `{{key index, entry id, task}…}, streams without the group` (task `''` when the entry
/// has no `t`). Exists because one `XREADGROUP` over several streams applies `COUNT` to each stream, which
/// would lease more than asked. A stream without the group is counted and skipped rather than failing the
/// script: scripts do not roll back, so failing would lose track of entries already leased before it.
/// On a single node KEYS are all partitions' streams; on a cluster, one partition's pair per call.
const SWEEP_LUA: &str = r"
local out, missing = {}, 0
local left, total = {tonumber(ARGV[3]), tonumber(ARGV[4])}, tonumber(ARGV[5])
local function read(k, n)
  local r = redis.pcall('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', n, 'STREAMS', KEYS[k], '>')
  if type(r) == 'table' and r.err then
    if not string.find(r.err, 'NOGROUP', 1, true) then return 0, r.err end
    missing = missing + 1
    return 0
  end
  if not r then return 0 end
  for _, e in ipairs(r[1][2]) do
    out[#out + 1] = {k, e[1], field(e[2], 't') or ''}
  end
  return #r[1][2]
end
for k = 1, #KEYS do
  if total <= 0 then break end
  local lane = 2 - k % 2
  local n = math.min(left[lane], total)
  if n > 0 then
    local got, err = read(k, n)
    if err then return redis.error_reply(err) end
    left[lane] = left[lane] - got
    total = total - got
  end
end
if ARGV[6] == '1' and (left[1] <= 0 or left[2] <= 0) then
  for k = 1, #KEYS do
    if total <= 0 then break end
    local got, err = read(k, total)
    if err then return redis.error_reply(err) end
    total = total - got
  end
end
return {out, missing}
";

/// Acknowledges entry ARGV[2] of stream KEYS[1] for group ARGV[1] and, only if it was still pending, deletes
/// it and adds the follow-up work. KEYS[2..] are (stream, scheduled set) pairs; ARGV[3..] holds, per pair,
/// the number of tasks to enqueue, the number to schedule, the tasks, then (score, member) pairs.
/// Returns 1 when acknowledged, 0 when the entry was not pending (already finished, or reclaimed and finished).
/// On a cluster only the acknowledged entry's own partition is passed (see `finish.rs`).
const FINISH_LUA: &str = r"
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
local a = 3
for k = 2, #KEYS, 2 do
  local ne, ns = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  for _ = 1, ne do
    redis.call('XADD', KEYS[k], '*', 't', ARGV[a])
    a = a + 1
  end
  for _ = 1, ns do
    redis.call('ZADD', KEYS[k + 1], ARGV[a], ARGV[a + 1])
    a = a + 2
  end
end
return 1
";

/// Takes over up to ARGV[4] entries of stream KEYS[1] idle at least ARGV[3] ms, for consumer ARGV[2] of group
/// ARGV[1]. An entry already leased ARGV[5] times goes to the dead-letter stream KEYS[2] instead. Returns
/// `{{entry id, task, deliveries}…}, dead-lettered count`. `XPENDING` gives the delivery counts that
/// `XAUTOCLAIM` does not report; `XCLAIM` with the same min-idle then re-checks each entry, all in one step.
const RECLAIM_LUA: &str = r"
local claimed, dead = {}, 0
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+', ARGV[4])
for _, p in ipairs(pending) do
  local id, count = p[1], p[4]
  if count >= tonumber(ARGV[5]) then
    local e = redis.call('XRANGE', KEYS[1], id, id)
    if e[1] then
      redis.call('XADD', KEYS[2], '*', 't', field(e[1][2], 't') or '', 'id', id, 'deliveries', count,
        'reason', 'leased too often without being finished')
      dead = dead + 1
    end
    redis.call('XACK', KEYS[1], ARGV[1], id)
    redis.call('XDEL', KEYS[1], id)
  else
    local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], id)
    if c[1] then claimed[#claimed + 1] = {id, field(c[1][2], 't') or '', count + 1} end
  end
end
return {claimed, dead}
";

/// Moves entry ARGV[2] of stream KEYS[1] (pending in group ARGV[1]) to the end of stream KEYS[2] as a fresh
/// entry, with optional reason ARGV[3]. Returns 1 if moved, 0 if the entry was no longer pending. Used to hand
/// back leases read beyond `max` (KEYS[2] = KEYS[1]) and to bury undecodable entries (KEYS[2] = dead letters).
const REQUEUE_LUA: &str = r"
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if not e[1] then return 0 end
local t = field(e[1][2], 't') or ''
if ARGV[3] and ARGV[3] ~= '' then
  redis.call('XADD', KEYS[2], '*', 't', t, 'id', ARGV[2], 'reason', ARGV[3])
else
  redis.call('XADD', KEYS[2], '*', 't', t)
end
return 1
";

/// Moves up to ARGV[2] members of scheduled set KEYS[1] due at or before ARGV[1] (ms) to stream KEYS[2].
/// Members are `<token>|<task>`. Returns how many moved.
const PROMOTE_LUA: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  local sep = string.find(m, '|', 1, true)
  local task = m
  if sep then task = string.sub(m, sep + 1) end
  redis.call('XADD', KEYS[2], '*', 't', task)
  redis.call('ZREM', KEYS[1], m)
end
return #due
";

/// Moves up to ARGV[1] entries of dead-letter stream KEYS[1] back to stream KEYS[2] as fresh entries (their
/// delivery count starts again). Returns how many moved.
const REDRIVE_LUA: &str = r"
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])
for _, e in ipairs(entries) do
  redis.call('XADD', KEYS[2], '*', 't', field(e[2], 't') or '')
  redis.call('XDEL', KEYS[1], e[1])
end
return #entries
";

/// `{fresh length, fresh pending, retry length, retry pending, scheduled, dead letters}` of one partition, with
/// KEYS = fresh stream, retry stream, scheduled set, dead letters; pending counts group ARGV[1]'s leases, and a
/// missing group counts as nothing pending.
const STATS_LUA: &str = r"
local function pending(key)
  local ok, summary = pcall(redis.call, 'XPENDING', key, ARGV[1])
  if ok then return summary[1] end
  return 0
end
return {redis.call('XLEN', KEYS[1]), pending(KEYS[1]), redis.call('XLEN', KEYS[2]), pending(KEYS[2]),
  redis.call('ZCARD', KEYS[3]), redis.call('XLEN', KEYS[4])}
";

fn with_field(body: &str) -> Script {
    Script::new(&format!("{FIELD_FN}{body}"))
}

pub(super) static SWEEP: LazyLock<Script> = LazyLock::new(|| with_field(SWEEP_LUA));
pub(super) static FINISH: LazyLock<Script> = LazyLock::new(|| Script::new(FINISH_LUA));
pub(super) static RECLAIM: LazyLock<Script> = LazyLock::new(|| with_field(RECLAIM_LUA));
pub(super) static REQUEUE: LazyLock<Script> = LazyLock::new(|| with_field(REQUEUE_LUA));
pub(super) static PROMOTE: LazyLock<Script> = LazyLock::new(|| Script::new(PROMOTE_LUA));
pub(super) static REDRIVE: LazyLock<Script> = LazyLock::new(|| with_field(REDRIVE_LUA));
pub(super) static STATS: LazyLock<Script> = LazyLock::new(|| Script::new(STATS_LUA));
