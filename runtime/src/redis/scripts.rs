//! The Lua scripts of [`RedisRevocationStore`](super::RedisRevocationStore): every write of
//! the store is one of them, atomic on the Redis server, and each is safe to run twice (the
//! store retries once on a dropped connection). `KEYS` and `ARGV` are listed above each.

use ::redis::Script;

/// Lua shared by the scripts: `raise(key, nb, exp_s, now_ms)` moves a not-before and its
/// expiry forward only (never back); `nb_of(k1, k2)` the larger of two not-befores;
/// `drop(...)` deletes a session and its index entries.
///
/// Memory: under `maxmemory` with `noeviction`, Redis refuses a script's first write that
/// could grow memory (`SET`, `HSET`) but lets the writes after it through. Revocations
/// must be recorded even in a full Redis (a password change that could not revoke would
/// leave stolen tokens valid), so `raise` and `REVOKE_TOKEN_LUA` delete the key before
/// they set it (a delete is never refused): they get through, a few bytes over the limit.
/// New sessions and spent marks start with a growing write, and are refused (503).
const LUA_LIB: &str = r"
local function raise(key, nb, exp_s, now_ms)
  local exp_ms = tonumber(exp_s) * 1000
  local cur = redis.call('GET', key)
  if cur then
    local c = tonumber(cur)
    if c and c > tonumber(nb) then nb = cur end
    local pttl = redis.call('PTTL', key)
    if pttl > 0 then
      local cur_exp = tonumber(now_ms) + pttl
      if cur_exp > exp_ms then exp_ms = cur_exp end
    end
  end
  if exp_ms <= tonumber(now_ms) then
    return 0
  end
  redis.call('DEL', key)
  redis.call('SET', key, nb, 'PXAT', string.format('%.0f', exp_ms))
  return 1
end
local function nb_of(k1, k2)
  local a = tonumber(redis.call('GET', k1) or '0') or 0
  local b = tonumber(redis.call('GET', k2) or '0') or 0
  if a > b then return a end
  return b
end
local function drop(skey, index, global, family)
  redis.call('DEL', skey)
  redis.call('ZREM', index, family)
  redis.call('ZREM', global, family)
end
local function keep_index(index, live, now)
  local pttl = redis.call('PTTL', index)
  if pttl == -1 or pttl < (tonumber(live) - tonumber(now)) * 1000 then
    redis.call('EXPIREAT', index, live)
  end
end
";

/// KEYS: user nb, user index, global index. ARGV: nb (ms), expiry (s), now (ms), session
/// key prefix.
const REVOKE_USER_LUA: &str = r"
for _, fam in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  redis.call('DEL', ARGV[4] .. fam)
  redis.call('ZREM', KEYS[3], fam)
end
redis.call('DEL', KEYS[2])
raise(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1
";

/// KEYS: token key. ARGV: expiry (s). Deletes first: recorded even in a full Redis.
const REVOKE_TOKEN_LUA: &str = r"
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[1], '1', 'EXAT', ARGV[1])
return 1
";

/// KEYS: spent key. ARGV: this call's nonce, expiry (s). A call run twice (a retry after a
/// dropped connection) finds its own nonce and still answers that it spent the token.
const MARK_SPENT_LUA: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EXAT', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
";

/// KEYS: session, user index, global index, user nb, sessions nb. ARGV: session key prefix,
/// family, keep (per-user limit - 1), global limit, now (s), created (ms), live (s), id,
/// then the hash's field/value pairs. Reads and decides first; its first write is the
/// `HSET` of the new session, so a full Redis refuses the whole script.
const CREATE_LUA: &str = r"
local skey, index, global = KEYS[1], KEYS[2], KEYS[3]
local prefix, family = ARGV[1], ARGV[2]
local keep, limit, now = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local existing = redis.call('HGET', skey, 'id')
if existing then
  if existing == ARGV[8] then return 0 end
  return -2
end
local nb = nb_of(KEYS[4], KEYS[5])
local live, gone = {}, {}
for _, fam in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local f = redis.call('HMGET', prefix .. fam, 'stamp', 'live')
  if f[1] and tonumber(f[1]) >= nb and tonumber(f[2]) > now then
    table.insert(live, fam)
  else
    table.insert(gone, fam)
  end
end
for i = 1, #live - keep do
  table.insert(gone, live[i])
end
local count = redis.call('ZCOUNT', global, '(' .. now, '+inf')
for _, fam in ipairs(gone) do
  local score = redis.call('ZSCORE', global, fam)
  if score and tonumber(score) > now then count = count - 1 end
end
if count >= limit then return -1 end
redis.call('HSET', skey, unpack(ARGV, 9))
for _, fam in ipairs(gone) do
  drop(prefix .. fam, index, global, fam)
end
redis.call('ZREMRANGEBYSCORE', global, '-inf', now)
redis.call('EXPIREAT', skey, ARGV[7])
redis.call('ZADD', index, ARGV[6], family)
redis.call('ZADD', global, ARGV[7], family)
keep_index(index, ARGV[7], now)
return 0
";

/// KEYS: session, user nb, sessions nb, user index, global index. ARGV: family, subject,
/// presented generation, now (ms), grace (ms), new live (s), successor, user agent, ip.
/// Run twice (a retry), a rotation finds its own successor and answers `rotated` again.
const ROTATE_LUA: &str = r"
local skey = KEYS[1]
local f = redis.call('HMGET', skey, 'sub', 'gen', 'rotated', 'successor', 'last_ua', 'stamp', 'live')
if not f[1] or f[1] ~= ARGV[2] then return {'ended'} end
local now_ms = tonumber(ARGV[4])
local now = math.floor(now_ms / 1000)
if tonumber(f[6]) < nb_of(KEYS[2], KEYS[3]) or tonumber(f[7]) <= now then
  drop(skey, KEYS[4], KEYS[5], ARGV[1])
  return {'ended'}
end
local gen, presented = tonumber(f[2]), tonumber(ARGV[3])
if gen == presented then
  redis.call('HSET', skey, 'gen', string.format('%d', gen + 1), 'rotated', ARGV[4],
    'used', ARGV[4], 'live', ARGV[6], 'successor', ARGV[7], 'last_ua', ARGV[8], 'last_ip', ARGV[9])
  redis.call('EXPIREAT', skey, ARGV[6])
  redis.call('ZADD', KEYS[5], 'XX', ARGV[6], ARGV[1])
  keep_index(KEYS[4], ARGV[6], now)
  return {'rotated'}
end
if gen == presented + 1 and f[4] == ARGV[7] then return {'rotated'} end -- a retry
local last = f[5] or ''
local same = ARGV[8] == '' or last == '' or ARGV[8] == last
if tonumber(ARGV[5]) > 0 and gen == presented + 1 and now_ms <= tonumber(f[3]) + tonumber(ARGV[5])
    and f[4] and f[4] ~= '' and same then
  return {'replayed', f[4]}
end
drop(skey, KEYS[4], KEYS[5], ARGV[1])
return {'reused'}
";

/// KEYS: user index, user nb, sessions nb. ARGV: session key prefix, now (s), subject.
/// The live sessions' hashes, newest first.
const SESSIONS_LUA: &str = r"
local nb = nb_of(KEYS[2], KEYS[3])
local now = tonumber(ARGV[2])
local out = {}
for _, fam in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', ARGV[1] .. fam, 'sub', 'stamp', 'live')
  if f[1] == ARGV[3] and tonumber(f[2]) >= nb and tonumber(f[3]) > now then
    table.insert(out, redis.call('HGETALL', ARGV[1] .. fam))
  end
end
return out
";

/// KEYS: session, global index. ARGV: family, user index prefix, now (s).
const END_SESSION_LUA: &str = r"
local f = redis.call('HMGET', KEYS[1], 'sub', 'live')
if not f[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
drop(KEYS[1], ARGV[2] .. f[1], KEYS[2], ARGV[1])
if tonumber(f[2]) > tonumber(ARGV[3]) then return 1 end
return 0
";

/// KEYS: user index, global index, user nb, sessions nb. ARGV: session key prefix, public
/// id, now (s).
const END_SESSION_OF_LUA: &str = r"
local nb = nb_of(KEYS[3], KEYS[4])
for _, fam in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', ARGV[1] .. fam, 'id', 'stamp', 'live')
  if f[1] == ARGV[2] then
    drop(ARGV[1] .. fam, KEYS[1], KEYS[2], fam)
    if tonumber(f[2]) >= nb and tonumber(f[3]) > tonumber(ARGV[3]) then return 1 end
    return 0
  end
end
return 0
";

/// KEYS: user index, global index, user nb, sessions nb. ARGV: session key prefix, kept
/// family (or ''), new sessions' not-before (ms), its expiry (s), now (s), now (ms).
const END_SESSIONS_OF_LUA: &str = r"
local before = nb_of(KEYS[3], KEYS[4])
local now = tonumber(ARGV[5])
raise(KEYS[4], ARGV[3], ARGV[4], ARGV[6])
local ended = 0
for _, fam in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local skey = ARGV[1] .. fam
  local f = redis.call('HMGET', skey, 'stamp', 'live')
  local live = f[1] and tonumber(f[1]) >= before and tonumber(f[2]) > now
  if fam == ARGV[2] and live then
    if tonumber(f[1]) < tonumber(ARGV[3]) then redis.call('HSET', skey, 'stamp', ARGV[3]) end
  else
    if live then ended = ended + 1 end
    drop(skey, KEYS[1], KEYS[2], fam)
  end
end
return ended
";

/// The store's scripts, run by their hash (`EVALSHA`) and loaded into the server when it does
/// not know them yet.
pub(super) struct Scripts {
    pub(super) revoke_token: Script,
    pub(super) revoke_user: Script,
    pub(super) mark_spent: Script,
    pub(super) create: Script,
    pub(super) rotate: Script,
    pub(super) sessions: Script,
    pub(super) end_session: Script,
    pub(super) end_session_of: Script,
    pub(super) end_sessions_of: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        let lib = |body: &str| Script::new(&format!("{LUA_LIB}{body}"));
        Self {
            revoke_token: Script::new(REVOKE_TOKEN_LUA),
            revoke_user: lib(REVOKE_USER_LUA),
            mark_spent: Script::new(MARK_SPENT_LUA),
            create: lib(CREATE_LUA),
            rotate: lib(ROTATE_LUA),
            sessions: lib(SESSIONS_LUA),
            end_session: lib(END_SESSION_LUA),
            end_session_of: lib(END_SESSION_OF_LUA),
            end_sessions_of: lib(END_SESSIONS_OF_LUA),
        }
    }
}
