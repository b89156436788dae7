/**
 * Lua scripts of the Redis store: every multi-key change runs as one script, so it is atomic.
 * All keys a script touches share the user's hash tag (one Cluster slot). A record is a JSON
 * array (see `record.ts`); field i of the array is `r[i + 1]` here. Session data stays a JSON
 * string inside it, so Lua never re-encodes the application's data.
 */

// Positions (1-based) in the record array.
const F = {
  id: 1,
  strategy: 3,
  secretHash: 4,
  previousSecretHash: 5,
  previousValidUntil: 6,
  successor: 7,
  createdAt: 8,
  lastActiveAt: 9,
  renewedAt: 10,
  expiresAt: 12,
  absoluteExpiresAt: 13,
  data: 16,
  version: 17,
};

/** KEYS: record, index. ARGV: record json, id, createdAt, expiresAt, absolute, now, cap, key prefix. */
export const CREATE = `
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[5], 'NX')
redis.call('PEXPIREAT', KEYS[2], ARGV[5], 'GT')
local cap = tonumber(ARGV[7])
local evicted = {}
if cap < 0 then return evicted end
local now = tonumber(ARGV[6])
local strategy = cjson.decode(ARGV[1])[${F.strategy}]
local alive = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local key = ARGV[8] .. id
  local raw = redis.call('GET', key)
  if not raw then
    redis.call('ZREM', KEYS[2], id)
  else
    local r = cjson.decode(raw)
    if r[${F.strategy}] == strategy then
      if r[${F.expiresAt}] <= now then
        redis.call('DEL', key)
        redis.call('ZREM', KEYS[2], id)
      else
        table.insert(alive, {id, key, raw})
      end
    end
  end
end
for i = 1, #alive - cap do
  redis.call('DEL', alive[i][2])
  redis.call('ZREM', KEYS[2], alive[i][1])
  table.insert(evicted, alive[i][3])
end
return evicted
`;

/** KEYS: record. ARGV: now, lastActiveAt, expiresAt. Returns 1, or 0 if gone. */
export const TOUCH = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local r = cjson.decode(raw)
local now = tonumber(ARGV[1])
if r[${F.expiresAt}] <= now then return 0 end
r[${F.lastActiveAt}] = math.max(r[${F.lastActiveAt}], tonumber(ARGV[2]))
r[${F.expiresAt}] = math.min(math.max(r[${F.expiresAt}], tonumber(ARGV[3])), r[${F.absoluteExpiresAt}])
redis.call('SET', KEYS[1], cjson.encode(r), 'PXAT', string.format('%d', r[${F.expiresAt}]))
return 1
`;

/** KEYS: record. ARGV: now, expectedVersion, data json. Returns {status, record json}. */
export const UPDATE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing', false} end
local r = cjson.decode(raw)
if r[${F.expiresAt}] <= tonumber(ARGV[1]) then return {'missing', false} end
if r[${F.version}] ~= tonumber(ARGV[2]) then return {'conflict', raw} end
r[${F.data}] = ARGV[3]
r[${F.version}] = r[${F.version}] + 1
local out = cjson.encode(r)
redis.call('SET', KEYS[1], out, 'KEEPTTL')
return {'updated', out}
`;

/** KEYS: record. ARGV: now, expected hash, new hash, successor, graceUntil, expiresAt or ''. */
export const ROTATE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local r = cjson.decode(raw)
local now = tonumber(ARGV[1])
if r[${F.expiresAt}] <= now or r[${F.secretHash}] ~= ARGV[2] then return false end
r[${F.previousSecretHash}] = r[${F.secretHash}]
r[${F.previousValidUntil}] = tonumber(ARGV[5])
r[${F.secretHash}] = ARGV[3]
r[${F.successor}] = ARGV[4]
r[${F.renewedAt}] = now
if ARGV[6] ~= '' then r[${F.expiresAt}] = math.min(tonumber(ARGV[6]), r[${F.absoluteExpiresAt}]) end
local out = cjson.encode(r)
redis.call('SET', KEYS[1], out, 'PXAT', string.format('%d', r[${F.expiresAt}]))
return out
`;

/** KEYS: record, index. ARGV: id. Returns the record json or false. */
export const DELETE = `
local raw = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return raw or false
`;

/** KEYS: index. ARGV: key prefix, strategy or '', except id or ''. Returns deleted jsons. */
export const DELETE_USER = `
local gone = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. id
  local raw = redis.call('GET', key)
  if not raw then
    redis.call('ZREM', KEYS[1], id)
  elseif id ~= ARGV[3] and (ARGV[2] == '' or cjson.decode(raw)[${F.strategy}] == ARGV[2]) then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], id)
    table.insert(gone, raw)
  end
end
return gone
`;

/** KEYS: index. ARGV: key prefix. Returns the jsons of the user's records, index order. */
export const LIST = `
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local raw = redis.call('GET', ARGV[1] .. id)
  if raw then table.insert(out, raw) else redis.call('ZREM', KEYS[1], id) end
end
return out
`;
