// One Lua script per algorithm, each the same integer arithmetic as src/rate-limit/algorithms.ts (the
// contract suite checks they agree). Time is the server's (`TIME`), so the clocks of the app servers do
// not matter; ARGV `now` overrides it only when a clock is injected (tests). One hash per key, so a key
// lives on one Redis Cluster slot. Numbers are written with %.0f: tostring would switch to exponent
// notation and lose digits past 14 of them.
//
// Both: KEYS[1] the state; ARGV limit, windowMs, burst, cost, now ('' for TIME), expiry slack (ms).
// Both return { allowed (0/1), remaining, resetMs, retryAfterMs }.

const PRELUDE = `
local limit = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local slack = tonumber(ARGV[6])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(x) return string.format('%.0f', x) end
`

/** Token bucket: `l` level (tokens × windowMs), `a` as of (ms). A full bucket is deleted. */
export const TOKEN_BUCKET = `${PRELUDE}
local cap = burst * w
local level = cap
local at = now
local s = redis.call('HMGET', KEYS[1], 'l', 'a')
if s[1] then
  local sl = tonumber(s[1])
  local sa = tonumber(s[2])
  if sa > now then at = sa end
  if now > sa then level = math.min(cap, sl + (now - sa) * limit) else level = sl end
end
local need = cost * w
local allowed = 0
if level >= need then
  level = level - need
  allowed = 1
end
local retry = 0
if allowed == 0 then
  retry = math.ceil((need - level) / limit)
  while level + retry * limit < need do retry = retry + 1 end
  while retry > 0 and level + (retry - 1) * limit >= need do retry = retry - 1 end
end
local reset = math.ceil((cap - level) / limit)
if level >= cap then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'l', num(level), 'a', num(at))
  redis.call('PEXPIRE', KEYS[1], num(reset + slack))
end
return { allowed, math.floor(level / w), reset, retry }
`

/** Sliding-window counter: `w` the fixed window's index, `c` its count, `p` the previous window's. */
export const SLIDING_WINDOW = `${PRELUDE}
local index = math.floor(now / w)
local curr = 0
local prev = 0
local s = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
if s[1] then
  local sw = tonumber(s[1])
  if sw > index then index = sw end
  if sw == index then
    curr = tonumber(s[2])
    prev = tonumber(s[3])
  elseif sw == index - 1 then
    prev = tonumber(s[2])
  end
end
local elapsed = now - index * w
if elapsed < 0 then elapsed = 0 end
local function fits(p, weight, c) return p * weight + c * w <= limit * w end
local allowed = 0
if fits(prev, w - elapsed, curr + cost) then
  allowed = 1
  curr = curr + cost
end
local retry = 0
if allowed == 0 then
  if curr + cost <= limit then
    retry = math.ceil((prev * (w - elapsed) - (limit - cost - curr) * w) / prev)
    if retry < 0 then retry = 0 end
    while not fits(prev, w - elapsed - retry, curr + cost) do retry = retry + 1 end
    while retry > 0 and fits(prev, w - elapsed - retry + 1, curr + cost) do retry = retry - 1 end
  else
    local into = math.ceil(w - ((limit - cost) * w) / curr)
    if into < 0 then into = 0 end
    while not fits(curr, w - into, cost) do into = into + 1 end
    while into > 0 and fits(curr, w - into + 1, cost) do into = into - 1 end
    retry = w - elapsed + into
  end
end
local used = prev * (w - elapsed) + curr * w
local remaining = math.floor((limit * w - used) / w)
if remaining < 0 then remaining = 0 end
local reset = 0
if curr > 0 then reset = 2 * w - elapsed elseif prev > 0 then reset = w - elapsed end
if curr == 0 and prev == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'w', num(index), 'c', num(curr), 'p', num(prev))
  redis.call('PEXPIRE', KEYS[1], num(reset + slack))
end
return { allowed, remaining, reset, retry }
`
