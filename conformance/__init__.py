"""The conformance kit: checks that any implementation honours the usage analytics contract.

No false alarms. A partner stops trusting a kit after one false alarm, so a
false alarm is worse than a miss: wherever the contract admits more than one
correct answer, every rule accepts each of them, and its docstring says which
(``Accepts: ...``, or ``One correct answer: ...`` where there is only one).
The cases found so far:

* the order of checks -- invalid parameters without a valid key (401 or 422),
  or on an account the key may not read (403 or 422);
* relations between fields -- ``start >= end`` is named only once every field
  is valid, or next to field errors; on ``query.start``, ``query.end`` or both;
* errors[] in any order, a field more than once; ``detail`` and ``errors``
  absent or ``null``; members the contract does not define, anywhere but in
  ``dimensions``, and differing between two answers (a request id);
* optional fields of the published contract (``meta.group_by``, ``meta.tz``,
  ``values``, ``dimensions``), a 400 for validation errors, sparse
  buckets and 404 for an absent account -- under the contract profile;
* one instant written in different ways: ``Z``/``z``/``+00:00``, fractional
  zeros, ``t``/``T``, a local-mean-time offset exact or to the minute;
* header names and media types in any letter case, with parameters;
* a single-valued parameter written twice (``granularity=day&granularity=hour``):
  the first read, the last read, or a refusal (422 naming it, or 400) -- judged
  by the answer's shape only;
* a clock the kit cannot read -- a request that leaves ``end`` to the server
  and starts within five minutes of now -- is not judged; a pinned clock is
  the server's business; a 429 is retried, not judged.

``tests/servers/variants.py`` serves each alternative, and the kit must pass
every one under both profiles (``tests/test_conformance_servers.py``).
"""
