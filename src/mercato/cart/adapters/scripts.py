"""Lua scripts of the Redis cart store. Each runs atomically in Redis: the reachability check, the
limit checks and the write happen with no other command in between, in one round trip.

A cart is one hash: `m:owner` ('' for an anonymous cart), `m:created`, `m:updated`, `m:seq` (a
counter giving lines their order), then per line `l:<sku>` = quantity and `o:<sku>` = its position.
Scripts that follow the customer's pointer to their cart reach a key computed from its value; like
`platform.cache`'s versioned read, that assumes one Redis (or one shard), not a cluster.
"""

from __future__ import annotations

META_FIELDS = 4  # m:owner, m:created, m:updated, m:seq -- every other field belongs to a line

# KEYS[1] new cart, KEYS[2] owner's pointer (owned carts only).
# ARGV: new id, owner id or '', now, ttl, cart key prefix.
CREATE = """
if ARGV[2] ~= '' then
  local existing = redis.call('GET', KEYS[2])
  if existing then
    local key = ARGV[5] .. existing
    if redis.call('HGET', key, 'm:owner') == ARGV[2] then
      -- One cart per customer: asking again (another device) gives back the live one.
      redis.call('EXPIRE', key, ARGV[4])
      redis.call('EXPIRE', KEYS[2], ARGV[4])
      return {existing, redis.call('HGETALL', key)}
    end
  end
end
redis.call('HSET', KEYS[1], 'm:owner', ARGV[2], 'm:created', ARGV[3], 'm:updated', ARGV[3], 'm:seq', 0)
redis.call('EXPIRE', KEYS[1], ARGV[4])
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[4])
end
return {ARGV[1], redis.call('HGETALL', KEYS[1])}
"""

# Shared head of the scripts a shopper runs on a cart.
# KEYS[1] cart, KEYS[2] the caller's pointer (signed-in callers only).
# ARGV[1] caller id or '', ARGV[2] now, ARGV[3] ttl, ARGV[4] cart id; ARGV[5...] per script.
# Returns {'OK', <the cart's fields>} or {<CartProblem name>, <sku or ''>}.
_REACHABLE = f"""
local META = {META_FIELDS}
local owner = redis.call('HGET', KEYS[1], 'm:owner')
if not owner or (owner ~= '' and owner ~= ARGV[1]) then
  return {{'CART_NOT_FOUND', ''}}
end
local function done()
  redis.call('HSET', KEYS[1], 'm:updated', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  -- An owned cart's owner is the caller, so KEYS[2] is their pointer: it lives as long as the cart.
  if owner ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then
    redis.call('EXPIRE', KEYS[2], ARGV[3])
  end
  return {{'OK', redis.call('HGETALL', KEYS[1])}}
end
"""

# ARGV[5] max lines, ARGV[6] max quantity, ARGV[7...] sku, quantity pairs (SKUs distinct).
ADD = (
    _REACHABLE
    + """
local max_lines, max_qty = tonumber(ARGV[5]), tonumber(ARGV[6])
local lines = (redis.call('HLEN', KEYS[1]) - META) / 2
local new_lines = 0
for i = 7, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], 'l:' .. ARGV[i]) or '0')
  if current == 0 then new_lines = new_lines + 1 end
  if current + tonumber(ARGV[i + 1]) > max_qty then return {'QUANTITY_OUT_OF_RANGE', ARGV[i]} end
end
if new_lines > 0 and lines + new_lines > max_lines then return {'TOO_MANY_LINES', ''} end
for i = 7, #ARGV, 2 do
  local qty = tonumber(ARGV[i + 1])
  if redis.call('HINCRBY', KEYS[1], 'l:' .. ARGV[i], qty) == qty then
    redis.call('HSET', KEYS[1], 'o:' .. ARGV[i], redis.call('HINCRBY', KEYS[1], 'm:seq', 1))
  end
end
return done()
"""
)

# ARGV[5...] sku, quantity pairs: every SKU must already be a line (all or nothing).
UPDATE = (
    _REACHABLE
    + """
for i = 5, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], 'l:' .. ARGV[i]) == 0 then return {'LINE_NOT_FOUND', ARGV[i]} end
end
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'l:' .. ARGV[i], ARGV[i + 1])
end
return done()
"""
)

# ARGV[5...] SKUs to drop.
REMOVE = (
    _REACHABLE
    + """
for i = 5, #ARGV do
  redis.call('HDEL', KEYS[1], 'l:' .. ARGV[i], 'o:' .. ARGV[i])
end
return done()
"""
)

# KEYS[1] cart, KEYS[2] the marker of the order (`<cart key>:bought:<order id>`). ARGV: now, ttl,
# then sku, quantity pairs. Internal (an order's confirmation): no caller to check. Removes what the
# order bought, once: the marker, set in the same script, makes a redelivered confirmation a no-op,
# and lines the shopper added since stay. Returns 1 when lines were removed, 0 otherwise.
REMOVE_BOUGHT = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
for i = 3, #ARGV, 2 do
  local field = 'l:' .. ARGV[i]
  local left = tonumber(redis.call('HGET', KEYS[1], field) or '0') - tonumber(ARGV[i + 1])
  if left > 0 then
    redis.call('HSET', KEYS[1], field, left)
  else
    redis.call('HDEL', KEYS[1], field, 'o:' .. ARGV[i])
  end
end
redis.call('HSET', KEYS[1], 'm:updated', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS[1] cart. ARGV: now, ttl. Internal (the order saga): no caller to check.
CLEAR = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) ~= 'm:' then redis.call('HDEL', KEYS[1], field) end
end
redis.call('HSET', KEYS[1], 'm:updated', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS[1] the cart to merge (anonymous, or already the customer's), KEYS[2] the customer's pointer.
# ARGV: customer id, now, ttl, source cart id, cart key prefix, max lines, max quantity.
# Returns {'OK', <resulting cart id>, <its fields>} or {'CART_NOT_FOUND', ''}.
MERGE = f"""
local META = {META_FIELDS}
local source_owner = redis.call('HGET', KEYS[1], 'm:owner')
if not source_owner or (source_owner ~= '' and source_owner ~= ARGV[1]) then
  return {{'CART_NOT_FOUND', ''}}
end
local target_id = redis.call('GET', KEYS[2])
local target = target_id and (ARGV[5] .. target_id)
if not target_id or target_id == ARGV[4] or redis.call('HGET', target, 'm:owner') ~= ARGV[1] then
  -- The customer has no other live cart: this one becomes theirs, id and all.
  redis.call('HSET', KEYS[1], 'm:owner', ARGV[1], 'm:updated', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[3])
  return {{'OK', ARGV[4], redis.call('HGETALL', KEYS[1])}}
end
local source = redis.call('HGETALL', KEYS[1])
local qty, pos, skus = {{}}, {{}}, {{}}
for i = 1, #source, 2 do
  local kind, sku = string.sub(source[i], 1, 2), string.sub(source[i], 3)
  if kind == 'l:' then
    qty[sku] = tonumber(source[i + 1])
    skus[#skus + 1] = sku
  elseif kind == 'o:' then
    pos[sku] = tonumber(source[i + 1])
  end
end
-- The anonymous lines keep their order, after the customer's own.
table.sort(skus, function(a, b)
  local pa, pb = pos[a] or 0, pos[b] or 0
  if pa ~= pb then return pa < pb end
  return a < b
end)
local max_lines, max_qty = tonumber(ARGV[6]), tonumber(ARGV[7])
local lines = (redis.call('HLEN', target) - META) / 2
for _, sku in ipairs(skus) do
  local current = tonumber(redis.call('HGET', target, 'l:' .. sku) or '0')
  if current > 0 then
    local merged = math.min(current + qty[sku], max_qty)
    if merged > current then redis.call('HSET', target, 'l:' .. sku, merged) end
  elseif lines < max_lines then
    local position = redis.call('HINCRBY', target, 'm:seq', 1)
    redis.call('HSET', target, 'l:' .. sku, math.min(qty[sku], max_qty), 'o:' .. sku, position)
    lines = lines + 1
  end
  -- else the customer's cart is full: the line is dropped, like a quantity beyond the cap.
end
redis.call('DEL', KEYS[1])
redis.call('HSET', target, 'm:updated', ARGV[2])
redis.call('EXPIRE', target, ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {{'OK', target_id, redis.call('HGETALL', target)}}
"""
