import { EPOCH } from "./record.js";

/**
 * Lua scripts of the Redis store: every multi-key change runs as one script, so it is atomic.
 * All keys a script touches share the user's hash tag (one Cluster slot). A record is a JSON
 * array (see `record.ts`): field i of the array is `r[i + 1]` here, and times after
 * `createdAt` are stored as offsets from it. A record's key is the store's prefix, then the
 * session id's first 4 characters (the hash tag of its user) in braces, then the rest of the id.
 */

// Positions (1-based) in the record array.
const F = {
  strategy: 2,
  secretHash: 3,
  previousSecretHash: 4,
  previousValidUntil: 5,
  successor: 6,
  createdAt: 7,
  lastActiveAt: 8,
  renewedAt: 9,
  expiresAt: 11,
  absoluteExpiresAt: 12,
  data: 15,
  version: 16,
  // Absent (nil) while unbound: see `record.ts`. Every script that re-encodes a record decodes
  // all of it, so the binding is kept by `cjson.encode` wherever it is present.
  binding: 17,
};

/**
 * What every script starts with: absolute time of an offset field and the inverse (`createdAt`
 * counts from `EPOCH`), a record's key, and the walk over a user's index.
 */
const TIME = `
local function created(r) return ${EPOCH} + r[${F.createdAt}] end
local function at(r, i) return created(r) + r[i] end
local function setAt(r, i, t) r[i] = t - created(r) end
local function key(prefix, id) return prefix .. '{' .. string.sub(id, 1, 4) .. '}' .. string.sub(id, 5) end
-- The user's records as {id, key, json}, index order; entries whose record is gone (expired
-- by TTL) are pruned on the way, so that the index never drifts.
local function records(index, prefix)
  local out = {}
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local k = key(prefix, id)
    local raw = redis.call('GET', k)
    if raw then table.insert(out, {id, k, raw}) else redis.call('ZREM', index, id) end
  end
  return out
end
local function drop(index, rec)
  redis.call('DEL', rec[2])
  redis.call('ZREM', index, rec[1])
end
`;

/**
 * KEYS: record, index. ARGV: record json, id, createdAt, expiresAt, absolute, and the prefix
 * when the caller evicts past a cap. Returns the user's records as id, json pairs (as `LIST`),
 * taken in the same atomic step as the insert, or an empty list without a prefix. Evictions
 * are the caller's, chosen from that snapshot (so two concurrent sign-ins agree: each sees
 * only what was inserted before it), announced as revoked first, then deleted (`DELETE_IDS`).
 */
export const CREATE = `${TIME}
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[5], 'NX')
redis.call('PEXPIREAT', KEYS[2], ARGV[5], 'GT')
local out = {}
if ARGV[6] then
  for _, rec in ipairs(records(KEYS[2], ARGV[6])) do
    table.insert(out, rec[1])
    table.insert(out, rec[3])
  end
end
return out
`;

/** KEYS: record. ARGV: now, lastActiveAt, expiresAt. Returns 1, or 0 if gone. */
export const TOUCH = `${TIME}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local r = cjson.decode(raw)
local now = tonumber(ARGV[1])
local expires = at(r, ${F.expiresAt})
if expires <= now then return 0 end
setAt(r, ${F.lastActiveAt}, math.max(at(r, ${F.lastActiveAt}), tonumber(ARGV[2])))
expires = math.min(math.max(expires, tonumber(ARGV[3])), at(r, ${F.absoluteExpiresAt}))
setAt(r, ${F.expiresAt}, expires)
redis.call('SET', KEYS[1], cjson.encode(r), 'PXAT', string.format('%d', expires))
return 1
`;

/** KEYS: record. ARGV: now, expectedVersion, data json. Returns {status, record json}. */
export const UPDATE = `${TIME}
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing', false} end
local r = cjson.decode(raw)
if at(r, ${F.expiresAt}) <= tonumber(ARGV[1]) then return {'missing', false} end
if r[${F.version}] ~= tonumber(ARGV[2]) then return {'conflict', raw} end
r[${F.data}] = ARGV[3]
r[${F.version}] = r[${F.version}] + 1
local out = cjson.encode(r)
redis.call('SET', KEYS[1], out, 'KEEPTTL')
return {'updated', out}
`;

/**
 * KEYS: record. ARGV: now, expected hash, new hash, successor, graceUntil, expiresAt or '',
 * the replaced hashes (the expected one first).
 */
export const ROTATE = `${TIME}
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local r = cjson.decode(raw)
local now = tonumber(ARGV[1])
if at(r, ${F.expiresAt}) <= now or r[${F.secretHash}] ~= ARGV[2] then return false end
r[${F.previousSecretHash}] = ARGV[7]
setAt(r, ${F.previousValidUntil}, tonumber(ARGV[5]))
r[${F.secretHash}] = ARGV[3]
r[${F.successor}] = ARGV[4]
setAt(r, ${F.renewedAt}, now)
if ARGV[6] ~= '' then
  setAt(r, ${F.expiresAt}, math.min(tonumber(ARGV[6]), at(r, ${F.absoluteExpiresAt})))
end
local out = cjson.encode(r)
redis.call('SET', KEYS[1], out, 'PXAT', string.format('%d', at(r, ${F.expiresAt})))
return out
`;

/**
 * KEYS: index. ARGV: key prefix, then pairs of id and the expiry announced for it. Deletes each
 * record whose expiry is at most the one announced; returns {deleted, slid}: id, json pairs of
 * the records deleted, and of those whose expiry moved past the announcement (kept).
 */
export const DELETE_IDS = `${TIME}
local deleted, slid = {}, {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local k = key(ARGV[1], id)
  local raw = redis.call('GET', k)
  if not raw then
    redis.call('ZREM', KEYS[1], id)
  elseif at(cjson.decode(raw), ${F.expiresAt}) <= tonumber(ARGV[i + 1]) then
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[1], id)
    table.insert(deleted, id)
    table.insert(deleted, raw)
  else
    table.insert(slid, id)
    table.insert(slid, raw)
  end
end
return {deleted, slid}
`;

/** KEYS: index. ARGV: key prefix. Returns id, json pairs of the user's records. */
export const LIST = `${TIME}
local out = {}
for _, rec in ipairs(records(KEYS[1], ARGV[1])) do
  table.insert(out, rec[1])
  table.insert(out, rec[3])
end
return out
`;

/**
 * KEYS: record. ARGV: now, binding. Sets the binding of a live record that has none. Returns
 * 'bound', 'conflict' (bound already; unchanged) or 'missing' (absent or expired).
 */
export const BIND = `${TIME}
local raw = redis.call('GET', KEYS[1])
if not raw then return 'missing' end
local r = cjson.decode(raw)
if at(r, ${F.expiresAt}) <= tonumber(ARGV[1]) then return 'missing' end
if type(r[${F.binding}]) == 'string' then return 'conflict' end
r[${F.binding}] = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(r), 'KEEPTTL')
return 'bound'
`;
