"""``FraudState`` in Redis, shared by every serving replica that points at the same server.

Same semantics as ``fraud.online_state.InProcessFraudState`` (the parity tests replay one stream
through both and compare the features): a transaction id is recorded once (its stored answer
makes rescoring idempotent), a label flips the ``fraud`` flag of the transaction's history
entries, history older than ``retention_s`` before an entity's newest transaction is dropped,
all-time counts and sums are running totals, and answers expire ``retention_s`` of event time
after the newest transaction, oldest arrival first.

Each write is one Lua script, which Redis runs atomically: two replicas recording the same or
related transactions at once cannot interleave, and ``SET NX`` on the answer key decides which
of two concurrent records of one id counts. Reads are one ``MULTI``/``EXEC`` pipeline (one
round trip, a consistent snapshot). Numbers travel as Python ``repr`` strings and sums are
added in IEEE doubles inside the script, so the features equal the in-process ones bit for bit.

Keys (``P`` = ``shelfwise:{namespace}:f:``; the braces are a Redis Cluster hash tag, so every key
of a namespace lives in one slot and the scripts stay valid on a cluster):

* ``P ans:<id>`` the answer (JSON); ``P tx:<id>`` hash: time, and where the id sits in each
  entity's history (for labels); ``P arrivals`` list of ids in arrival order; ``P newest``.
* per entity value, ``B = P e:<entity>:<value>``: ``B:m`` hash (seq, n, sum, last time),
  ``B:r`` hash seq -> ``"time,amount,fraud,id"``, ``B:l`` zset of seqs by seq (arrival order),
  ``B:t`` zset of seqs by time (pruning), ``B:p`` set of ``<entity>:<value>`` partners.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

import redis

from fraud.online_state import DEFAULT_RETENTION_S, EntityHistory
from storage.redis import DEFAULT_NAMESPACE, key_prefix, require_decoded

# KEYS: answer key, tx key. ARGV: prefix, id, time, amount, answer, retention, then (entity, value) pairs.
_RECORD = """
local P, id, t, amount = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if not redis.call('SET', KEYS[1], ARGV[5], 'NX') then return 0 end
local tn, retention = tonumber(t), tonumber(ARGV[6])
local arrivals = P .. 'arrivals'
local k = (#ARGV - 6) / 2
redis.call('HSET', KEYS[2], 't', t, 'k', k)
redis.call('RPUSH', arrivals, id)
local newest = redis.call('GET', P .. 'newest')
if (not newest) or tonumber(newest) < tn then
  newest = t
  redis.call('SET', P .. 'newest', t)
end
local cutoff = tonumber(newest) - retention
while true do
  local head = redis.call('LINDEX', arrivals, 0)
  if not head then break end
  local ht = redis.call('HGET', P .. 'tx:' .. head, 't')
  if ht and tonumber(ht) >= cutoff then break end
  redis.call('LPOP', arrivals)
  redis.call('DEL', P .. 'ans:' .. head, P .. 'tx:' .. head)
end
for i = 1, k do
  local e, v = ARGV[5 + 2 * i], ARGV[6 + 2 * i]
  local B = P .. 'e:' .. e .. ':' .. v
  local seq = redis.call('HINCRBY', B .. ':m', 'seq', 1)
  redis.call('HINCRBY', B .. ':m', 'n', 1)
  local sum = tonumber(redis.call('HGET', B .. ':m', 's') or '0') + tonumber(amount)
  redis.call('HSET', B .. ':m', 's', string.format('%.17g', sum))
  local last = redis.call('HGET', B .. ':m', 'lt')
  if (not last) or tonumber(last) < tn then
    last = t
    redis.call('HSET', B .. ':m', 'lt', t)
  end
  redis.call('HSET', B .. ':r', seq, t .. ',' .. amount .. ',0,' .. id)
  redis.call('ZADD', B .. ':l', seq, seq)
  redis.call('ZADD', B .. ':t', t, seq)
  redis.call('HSET', KEYS[2], 'b' .. i, B, 'q' .. i, seq)
  for j = 1, k do
    if j ~= i then redis.call('SADD', B .. ':p', ARGV[5 + 2 * j] .. ':' .. ARGV[6 + 2 * j]) end
  end
  -- Prune as InProcessFraudState does: only when the oldest arrival has left the retention.
  local cut = tonumber(last) - retention
  local first = redis.call('ZRANGE', B .. ':l', 0, 0)[1]
  local row = redis.call('HGET', B .. ':r', first)
  if tonumber(string.match(row, '^([^,]*),')) < cut then
    local old = redis.call('ZRANGEBYSCORE', B .. ':t', '-inf', '(' .. string.format('%.17g', cut))
    for _, s in ipairs(old) do
      redis.call('ZREM', B .. ':l', s)
      redis.call('ZREM', B .. ':t', s)
      redis.call('HDEL', B .. ':r', s)
    end
  end
end
return 1
"""

# KEYS: tx key. ARGV: the flag (0/1).
_LABEL = """
local k = redis.call('HGET', KEYS[1], 'k')
if not k then return 0 end
for i = 1, tonumber(k) do
  local B = redis.call('HGET', KEYS[1], 'b' .. i)
  local seq = redis.call('HGET', KEYS[1], 'q' .. i)
  local row = redis.call('HGET', B .. ':r', seq)
  if row then
    local t, a, _, id = string.match(row, '^([^,]*),([^,]*),([^,]*),(.*)$')
    redis.call('HSET', B .. ':r', seq, t .. ',' .. a .. ',' .. ARGV[1] .. ',' .. id)
  end
end
return 1
"""


class RedisFraudState:
    """``FraudState`` kept in Redis, shared by every replica using the same namespace.

    Args:
        client: a ``redis.Redis`` created with ``decode_responses=True``.
        namespace: separates shops (or tests) on one Redis server.
        retention_s: seconds of history kept per entity (must cover the model's feature horizon).
    """

    writes_block = True  # a network round trip

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        retention_s: float = DEFAULT_RETENTION_S,
    ) -> None:
        require_decoded(client)
        self.client = client
        self.namespace = namespace
        self.retention_s = retention_s
        self._prefix = key_prefix(namespace) + "f:"
        self._record = client.register_script(_RECORD)
        self._label = client.register_script(_LABEL)

    # ------------------------------------------------------------------ reads
    def recall(self, transaction_id: str) -> dict[str, Any] | None:
        """The stored answer for ``transaction_id``, or None."""
        raw = self.client.get(self._prefix + "ans:" + transaction_id)
        return None if raw is None else dict(json.loads(raw))

    def history(self, entity: str, value: str) -> EntityHistory | None:
        """A consistent snapshot of an entity value's history, in one round trip."""
        base = self._base(entity, value)
        pipe = self.client.pipeline(transaction=True)
        pipe.hmget(base + ":m", "n", "s", "lt")
        pipe.hgetall(base + ":r")
        pipe.smembers(base + ":p")
        (n, total, last), rows, partner_keys = pipe.execute()
        if n is None:
            return None
        hist = EntityHistory(n_all=int(n), sum_all=float(total), last_time=float(last))
        for seq in sorted(rows, key=int):  # arrival order
            t, amount, fraud, tx_id = rows[seq].split(",", 3)
            hist.times.append(float(t))
            hist.amounts.append(float(amount))
            hist.frauds.append(int(fraud))
            hist.ids.append(tx_id)
        for key in partner_keys:
            other, other_value = key.split(":", 1)
            hist.partners.setdefault(unquote(other), set()).add(other_value)
        return hist

    def __len__(self) -> int:
        """Answers held (idempotency), as ``InProcessFraudState``."""
        return int(self.client.llen(self._prefix + "arrivals"))

    # ------------------------------------------------------------------ writes
    def record(
        self,
        transaction_id: str,
        time: float,
        amount: float,
        entities: Mapping[str, str | None],
        answer: Mapping[str, Any],
    ) -> None:
        """Add a scored transaction (ignored when its id is already recorded, by any replica)."""
        args: list[str] = [
            self._prefix,
            transaction_id,
            repr(float(time)),
            repr(float(amount)),
            json.dumps(dict(answer), separators=(",", ":")),
            repr(float(self.retention_s)),
        ]
        for entity, value in entities.items():
            if value is not None:
                args += [quote(entity, safe=""), str(value)]
        keys = [self._prefix + "ans:" + transaction_id, self._prefix + "tx:" + transaction_id]
        self._record(keys=keys, args=args)

    def label(self, transaction_id: str, is_fraud: bool) -> bool:
        """Set the fraud flag of a recorded transaction; False when it is unknown (or expired)."""
        found = self._label(keys=[self._prefix + "tx:" + transaction_id], args=[int(bool(is_fraud))])
        return bool(found)

    def _base(self, entity: str, value: str) -> str:
        return f"{self._prefix}e:{quote(entity, safe='')}:{value}"
