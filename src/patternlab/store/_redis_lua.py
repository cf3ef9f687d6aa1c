"""Server-side scripts of the Redis pattern store.

Every script touches the keys of one shard only (one hash tag, so one cluster slot) and runs
atomically: a shard's part of an update is applied entirely or not at all, and its token is
recorded in the same step, so a retried update is skipped.

Pattern hash fields (all plain bytes / numbers):

``v`` format version, ``id``, ``domain``, ``window``, ``acc`` (``window`` little-endian float64:
the support-weighted sum of the prototypes absorbed; prototype = unit_normalize(acc)),
``support``, ``first_signal``/``first_offset``, ``last_signal``/``last_offset`` (signal ids are
written ``i:<int>`` or ``s:<str>``), ``created``/``updated`` (server time, seconds). Every write
adds at least 1 to ``support``, so the support doubles as the pattern's revision.
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

-- byte order (as Python orders str, code point by code point), whatever the server's locale
local function bytes_lt(x, y)
  for i = 1, math.min(#x, #y) do
    local a, b = string.byte(x, i), string.byte(y, i)
    if a ~= b then return a < b end
  end
  return #x < #y
end

-- decimal integers compared exactly (tonumber would round beyond 2^53)
local function int_lt(x, y)
  local nx, ny = string.sub(x, 1, 1) == '-', string.sub(y, 1, 1) == '-'
  if nx ~= ny then return nx end
  if nx then x, y = string.sub(y, 2), string.sub(x, 2) end
  if #x ~= #y then return #x < #y end
  return bytes_lt(x, y)
end

-- provenance order: integer signal ids (numerically) before string ids, then the offset
local function prov_lt(as, ao, bs, bo)
  local ak, bk = string.sub(as, 1, 1), string.sub(bs, 1, 1)
  if ak ~= bk then return ak == 'i' end
  local x, y = string.sub(as, 3), string.sub(bs, 3)
  if x ~= y then
    if ak == 'i' then return int_lt(x, y) end
    return bytes_lt(x, y)
  end
  return int_lt(ao, bo)
end
"""

PUBLISH = _COMMON + r"""
-- KEYS: tokens (zset), index (zset pid -> updated), version (counter), then one key per pattern
-- ARGV: token, token_ttl, channel, window,
--       meta: per pattern 7 length-prefixed strings (int32 LE length + bytes):
--             pid, domain, dn, first_sig, first_off, last_sig, last_off
--       vecs: per pattern dn * prototype, window float64 LE, concatenated
local token = ARGV[1]
if redis.call('ZSCORE', KEYS[1], token) then return {0, 0, 0} end
local t = now()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - tonumber(ARGV[2]))
local channel, w = ARGV[3], tonumber(ARGV[4])
local meta, vecs = ARGV[5], ARGV[6]
local nbytes = 8 * w
local n = #KEYS - 3
if #vecs ~= n * nbytes then
  return redis.error_reply('patternlab: update carries ' .. #vecs .. ' bytes of prototypes, expected ' ..
    n * nbytes .. ' (' .. n .. ' x ' .. w .. ' float64)')
end
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

local created, updated, events, pos, zargs = 0, 0, {}, 1, {}
for i = 1, n do
  local key = KEYS[3 + i]
  local pid, dom, dn, fs, fo, ls, lo
  pid, dom, dn, fs, fo, ls, lo, pos = struct.unpack('<i4c0i4c0i4c0i4c0i4c0i4c0i4c0', meta, pos)
  dn = tonumber(dn)
  local vec = string.sub(vecs, (i - 1) * nbytes + 1, i * nbytes)
  local cur = redis.call('HMGET', key, 'acc', 'window', 'first_signal', 'first_offset',
                        'last_signal', 'last_offset')
  local kind, support
  if not cur[1] then
    redis.call('HSET', key, 'v', '1', 'id', pid, 'domain', dom, 'window', w, 'acc', vec, 'support', dn,
               'first_signal', fs, 'first_offset', fo, 'last_signal', ls, 'last_offset', lo,
               'created', stamp, 'updated', stamp)
    kind, support = 'created', dn
    created = created + 1
  else
    if #cur[1] ~= nbytes or tonumber(cur[2]) ~= w then
      return redis.error_reply('patternlab: key ' .. key .. ' holds an acc of ' .. #cur[1] ..
        ' bytes (window ' .. tostring(cur[2]) .. '), expected ' .. nbytes .. ' (window ' .. w ..
        '): the value was not written by patternlab; delete that key or restore it from an archive')
    end
    support = redis.call('HINCRBY', key, 'support', dn)
    local set = {'acc', addvec(cur[1], vec), 'updated', stamp}
    if cur[3] and cur[4] and prov_lt(fs, fo, cur[3], cur[4]) then
      set[#set + 1] = 'first_signal'; set[#set + 1] = fs
      set[#set + 1] = 'first_offset'; set[#set + 1] = fo
    end
    if not (cur[5] and cur[6]) or prov_lt(cur[5], cur[6], ls, lo) then
      set[#set + 1] = 'last_signal'; set[#set + 1] = ls
      set[#set + 1] = 'last_offset'; set[#set + 1] = lo
    end
    redis.call('HSET', key, unpack(set))
    kind = 'updated'
    updated = updated + 1
  end
  zargs[2 * i - 1] = t
  zargs[2 * i] = pid
  events[i] = {event = kind, id = pid, domain = dom, window = w, support = support, dn = dn,
               token = token, time = t}
end
redis.call('ZADD', KEYS[2], unpack(zargs))
redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], t, token)
redis.call('PUBLISH', channel, cjson.encode(events))  -- one message, one event per pattern
return {1, created, updated}
"""

ARCHIVE = r"""
-- KEYS: index, version, then one key per pattern; ARGV: channel, window, then (pid, support) pairs.
-- Deletes a pattern only if nobody wrote it since it was copied to the archive: every write adds
-- at least 1 to the support, so an unchanged support means an unchanged pattern.
local out, events = {}, {}
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for i = 1, #KEYS - 2 do
  local key, pid, support = KEYS[2 + i], ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  if redis.call('HGET', key, 'support') == support then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], pid)
    out[#out + 1] = pid
    events[#events + 1] = {event = 'archived', id = pid, window = tonumber(ARGV[2]), time = now}
  end
end
if #out > 0 then
  redis.call('INCR', KEYS[2])
  redis.call('PUBLISH', ARGV[1], cjson.encode(events))
end
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
