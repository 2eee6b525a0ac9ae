"""What a pool of upstream connections keeps of the answers it read, to read a repeat for less.

A dashboard asks the same queries over and over, and a repeat's answer is the
last one's but for its ``Date``. Two things of an answer read whole are kept,
each bounded, each only a guess that the bytes read next are checked against:

* :class:`Heads` -- what llhttp's callbacks made of a head, by the head's bytes:
  the same bytes are taken as read (llhttp's reading of them depends on nothing
  else); a repeat's head is new once a second (its ``Date``).
* :class:`Bodies` -- the last body read for each request, by the request's bytes
  as sent: a body found byte for byte the same where it was read is handed on as
  that very object, not copied out again, and the judge's comparison of it with
  the body it remembers (the same object) is then one of identity.
"""

from __future__ import annotations

__all__ = ["BODIES_KEPT", "BODY_BYTES", "HEADS_KEPT", "LONGEST_HEAD", "Bodies", "Head", "Heads"]

#: Heads kept, and the longest kept: new ones come once a second for each answer
#: repeated (its Date), a never-seen one's never again.
HEADS_KEPT = 256
LONGEST_HEAD = 4096
#: Bodies kept, and their bytes in all (a body past a sixteenth of it is not kept).
BODIES_KEPT = 256
BODY_BYTES = 16 << 20
#: What llhttp made of a head: status, reason, headers, their names lower-cased,
#: keep-alive, and the body's length.
Head = tuple[int, bytes, tuple[tuple[bytes, bytes], ...], tuple[bytes, ...], bool, int]


class Heads(dict[bytes, Head]):
    """Heads of answers read whole, by their bytes, as llhttp read them."""

    def keep(self, head: bytes, known: Head) -> None:
        if len(self) >= HEADS_KEPT:
            self.clear()  # the Dates of a while ago: rather than an order to keep
        self[head] = known


class Bodies(dict[bytes, bytes]):
    """The last body read whole for each request, by the request's bytes as sent."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0  # their bytes

    def keep(self, request: bytes, body: bytes) -> None:
        if len(body) > BODY_BYTES // 16:
            return
        old = self.pop(request, None)
        if old is not None:
            self.size -= len(old)
        if len(self) >= BODIES_KEPT or self.size + len(body) > BODY_BYTES:
            self.clear()  # a while's worth of requests: rather than an order to keep
            self.size = 0
        self[request] = body
        self.size += len(body)
