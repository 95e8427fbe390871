/**
 * The lease protocol as Lua, so each check-and-set is atomic on the server. Keys come in triplets per
 * cache key: the value (alive for ttl + grace), the freshness mark (alive for ttl), the lease.
 */

/** ARGV: leaseMs, then one token per key. Reply: per key a kind ('h' hit, 'l' lease, 'b' busy) and a payload or ''. */
export const ACQUIRE = `
local out = {}
for i = 1, #KEYS / 3 do
  local v = redis.call('GET', KEYS[i * 3 - 2])
  if v and redis.call('EXISTS', KEYS[i * 3 - 1]) == 1 then
    out[#out + 1] = 'h'
  elseif redis.call('SET', KEYS[i * 3], ARGV[i + 1], 'NX', 'PX', ARGV[1]) then
    out[#out + 1] = 'l'
  else
    out[#out + 1] = 'b'
  end
  out[#out + 1] = v or ''
end
return out
`

/** ARGV: per key token, payload, ttlMs, ttlMs + graceMs. Reply: per key 1 if stored, 0 if the lease was voided. */
export const FILL = `
local out = {}
for i = 1, #KEYS / 3 do
  local a = (i - 1) * 4
  if redis.call('GET', KEYS[i * 3]) == ARGV[a + 1] then
    redis.call('SET', KEYS[i * 3 - 2], ARGV[a + 2], 'PX', ARGV[a + 4])
    redis.call('SET', KEYS[i * 3 - 1], '1', 'PX', ARGV[a + 3])
    redis.call('DEL', KEYS[i * 3])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
`

/** Reply: per key a flag (1 fresh, 0 stale) and the payload or '' (no value). */
export const PEEK = `
local out = {}
for i = 1, #KEYS / 2 do
  out[#out + 1] = redis.call('EXISTS', KEYS[i * 2])
  out[#out + 1] = redis.call('GET', KEYS[i * 2 - 1]) or ''
end
return out
`
