"""Server-side scripts of the Redis pattern store.

Every script touches the keys of one shard only (one hash tag, so one cluster slot) and runs
atomically: a shard's part of an update is applied entirely or not at all, and its token is
recorded in the same step, so a retried update is skipped.

Pattern hash fields (all plain bytes / numbers):

``v`` format version, ``id``, ``domain``, ``window``, ``acc`` (``window`` little-endian float64:
the support-weighted sum of the prototypes absorbed; prototype = unit_normalize(acc)),
``support``, ``first_signal``/``first_offset``, ``last_signal``/``last_offset`` (signal ids are
written ``i:<int>`` or ``s:<str>``), ``created``/``updated`` (server time, seconds), ``rev``
(revision, +1 on every write).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

FORMAT_VERSION = 1

_COMMON = r"""
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

-- provenance order: integer signal ids (numerically) before string ids, then the offset
local function prov_lt(as, ao, bs, bo)
  local ak, bk = string.sub(as, 1, 1), string.sub(bs, 1, 1)
  if ak ~= bk then return ak == 'i' end
  local x, y = string.sub(as, 3), string.sub(bs, 3)
  if ak == 'i' then x, y = tonumber(x), tonumber(y) end
  if x ~= y then return x < y end
  return tonumber(ao) < tonumber(bo)
end
"""

PUBLISH = _COMMON + r"""
-- KEYS: tokens (zset), index (zset pid -> updated), version (counter), then one key per pattern
-- ARGV: token, token_ttl, channel, window, then 8 per pattern:
--       pid, domain, dn, vec (dn * prototype, float64 LE), first_sig, first_off, last_sig, last_off
local token = ARGV[1]
if redis.call('ZSCORE', KEYS[1], token) then return {0, 0, 0} end
local t = now()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - tonumber(ARGV[2]))
local channel, w = ARGV[3], tonumber(ARGV[4])
local nbytes = 8 * w
local stamp = string.format('%.6f', t)

local function addvec(a, b)
  local out, pa, pb, j = {}, 1, 1, 0
  while j < w do
    local k = math.min(200, w - j)
    local fmt = '<' .. string.rep('d', k)
    local va = {struct.unpack(fmt, a, pa)}
    local vb = {struct.unpack(fmt, b, pb)}
    pa, pb = va[k + 1], vb[k + 1]
    for i = 1, k do va[i] = va[i] + vb[i] end
    out[#out + 1] = struct.pack(fmt, unpack(va, 1, k))
    j = j + k
  end
  return table.concat(out)
end

local created, updated = 0, 0
for i = 1, #KEYS - 3 do
  local b = 4 + (i - 1) * 8
  local key, pid, dom, dn, vec = KEYS[3 + i], ARGV[b + 1], ARGV[b + 2], tonumber(ARGV[b + 3]), ARGV[b + 4]
  local fs, fo, ls, lo = ARGV[b + 5], ARGV[b + 6], ARGV[b + 7], ARGV[b + 8]
  if #vec ~= nbytes then
    return redis.error_reply('patternlab: update of ' .. pid .. ' carries ' .. #vec ..
      ' bytes, expected ' .. nbytes)
  end
  local cur = redis.call('HMGET', key, 'acc', 'window', 'first_signal', 'first_offset',
                        'last_signal', 'last_offset')
  local kind, support
  if not cur[1] then
    redis.call('HSET', key, 'v', '1', 'id', pid, 'domain', dom, 'window', w, 'acc', vec, 'support', dn,
               'first_signal', fs, 'first_offset', fo, 'last_signal', ls, 'last_offset', lo,
               'created', stamp, 'updated', stamp, 'rev', 1)
    kind, support = 'created', dn
    created = created + 1
  else
    if #cur[1] ~= nbytes or tonumber(cur[2]) ~= w then
      return redis.error_reply('patternlab: key ' .. key .. ' holds an acc of ' .. #cur[1] ..
        ' bytes (window ' .. tostring(cur[2]) .. '), expected ' .. nbytes .. ' (window ' .. w ..
        '): the value was not written by patternlab; delete that key or restore it from an archive')
    end
    support = redis.call('HINCRBY', key, 'support', dn)
    redis.call('HSET', key, 'acc', addvec(cur[1], vec), 'updated', stamp)
    redis.call('HINCRBY', key, 'rev', 1)
    if cur[3] and cur[4] and prov_lt(fs, fo, cur[3], cur[4]) then
      redis.call('HSET', key, 'first_signal', fs, 'first_offset', fo)
    end
    if not (cur[5] and cur[6]) or prov_lt(cur[5], cur[6], ls, lo) then
      redis.call('HSET', key, 'last_signal', ls, 'last_offset', lo)
    end
    kind = 'updated'
    updated = updated + 1
  end
  redis.call('ZADD', KEYS[2], t, pid)
  redis.call('PUBLISH', channel, cjson.encode({event = kind, id = pid, domain = dom, window = w,
    support = support, dn = dn, token = token, time = t}))
end
redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], t, token)
return {1, created, updated}
"""

ARCHIVE = r"""
-- KEYS: index, version, then one key per pattern; ARGV: channel, window, then (pid, rev) pairs.
-- Deletes a pattern only if it was not written since it was copied to the archive (same rev).
local out = {}
local t = redis.call('TIME')
for i = 1, #KEYS - 2 do
  local key, pid, rev = KEYS[2 + i], ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  if redis.call('HGET', key, 'rev') == rev then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], pid)
    out[#out + 1] = pid
    redis.call('PUBLISH', ARGV[1], cjson.encode({event = 'archived', id = pid, window = tonumber(ARGV[2]),
      time = tonumber(t[1]) + tonumber(t[2]) / 1000000}))
  end
end
if #out > 0 then redis.call('INCR', KEYS[2]) end
return out
"""


@dataclass(frozen=True)
class Script:
    """A Lua script and its SHA1 (EVALSHA first, SCRIPT LOAD when the server does not know it)."""

    name: str
    source: str

    @property
    def sha(self) -> str:
        return hashlib.sha1(self.source.encode()).hexdigest()


PUBLISH_SCRIPT = Script("publish", PUBLISH)
ARCHIVE_SCRIPT = Script("archive", ARCHIVE)
