"""Send rates shared by every worker: token buckets in Redis, taken in one Lua call.

A sending pool has a bucket of `rate_per_minute` messages; each sender (caller ID) one of its
messages-per-second in segments, as the carrier paces it. A batch asks for tokens from its
pool and its senders at once and gets what both allow; what it cannot send now waits by being
re-queued for when the next token is due (the script says when), never by sleeping.
"""

import functools
from dataclasses import dataclass

from django.utils import timezone

from config.redis import get_redis

# KEYS[1] the pool's bucket, KEYS[2..] the senders'. ARGV[1] now in ms, ARGV[2] the pool's
# rate per ms, ARGV[3] its capacity, ARGV[4] messages wanted in all; then for each sender its
# rate per ms, capacity, segments wanted and segments per message. A bucket is a hash of
# tokens and the time they were counted. Senders are served in order, each as many whole
# messages as its own tokens and the pool's remaining ones allow. Returns the pool's grant,
# each sender's grant (messages), and the ms until the scarcer bucket has a token again.
_TAKE = """
local now = tonumber(ARGV[1])
local function level(key, rate, cap)
  local b = redis.call('HMGET', key, 't', 'at')
  local tokens, at = tonumber(b[1]), tonumber(b[2])
  if tokens == nil then return cap end
  return math.min(cap, tokens + math.max(0, now - at) * rate)
end
local pool_rate, pool_cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local pool = level(KEYS[1], pool_rate, pool_cap)
local left = math.min(math.floor(pool), tonumber(ARGV[4]))
local out, granted, wait = {}, 0, 0
for i = 2, #KEYS do
  local j = 5 + (i - 2) * 4
  local rate, cap = tonumber(ARGV[j]), tonumber(ARGV[j + 1])
  local want, cost = tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3])
  local tokens = level(KEYS[i], rate, cap)
  local n = math.min(want, math.floor(tokens / cost), left)
  tokens = tokens - n * cost
  left, granted = left - n, granted + n
  redis.call('HSET', KEYS[i], 't', tokens, 'at', now)
  redis.call('PEXPIRE', KEYS[i], 60000)
  if n < want then
    local short = math.max(cost - tokens, 0) / rate
    if wait == 0 or short < wait then wait = short end
  end
  out[#out + 1] = n
end
pool = pool - granted
redis.call('HSET', KEYS[1], 't', pool, 'at', now)
redis.call('PEXPIRE', KEYS[1], 60000)
if granted < tonumber(ARGV[4]) and pool < 1 then
  local short = (1 - pool) / pool_rate
  if short > wait then wait = short end
end
table.insert(out, 1, granted)
out[#out + 1] = math.ceil(wait)
return out
"""


@dataclass(frozen=True)
class Sender:
    key: str  # what identifies its bucket (the caller ID's id)
    mps: float  # segments per second
    want: int  # messages
    segments: int = 1  # per message (the largest of the batch's, to stay on the safe side)


@dataclass(frozen=True)
class Grant:
    total: int
    by_sender: dict[str, int]
    wait_seconds: float  # until the scarcest bucket has a token again (0: nothing was short)


def pool_key(pool_id: int) -> str:
    return f"outbound:sms:rate:pool:{pool_id}"


def sender_key(did_id: int | str) -> str:
    return f"outbound:sms:rate:did:{did_id}"


@functools.cache
def _take_script():
    return get_redis().register_script(_TAKE)


def tokens_take(*, pool_id: int, rate_per_minute: int, senders: list[Sender]) -> Grant:
    """Take what the pool and each sender allow now, for up to each sender's `want` messages.

    The pool holds at most one second of its rate (at least one message), a sender one second
    of its MPS (at least one message's segments), so an idle pool never bursts beyond that.
    """
    if not senders:
        return Grant(0, {}, 0.0)
    now_ms = int(timezone.now().timestamp() * 1000)
    pool_rate = rate_per_minute / 60_000.0
    args: list = [now_ms, pool_rate, max(1.0, rate_per_minute / 60.0), sum(s.want for s in senders)]
    for s in senders:
        cost = max(1, s.segments)
        args += [s.mps / 1000.0, max(float(cost), s.mps), s.want, cost]
    keys = [pool_key(pool_id)] + [sender_key(s.key) for s in senders]
    out = [int(v) for v in _take_script()(keys=keys, args=args)]
    return Grant(
        total=out[0],
        by_sender={s.key: n for s, n in zip(senders, out[1:-1], strict=True)},
        wait_seconds=out[-1] / 1000.0,
    )
