"""Content codings (RFC 9110 8.4, 12.5.3): what a client can decode of an answer.

One reading for every entry point -- ``check``'s client, the proxy, a replayed
HAR -- so that the same answer gets the same verdict whoever carried it:

* :func:`undone`: the body with its codings undone, and why it was left as it
  came when it was (a body that is not the gzip its head says; a coding the kit
  does not decode, ``br`` or ``zstd``: the kit adds no brotli for this);
* :func:`coding_problem`: why no client that sent the request's
  ``Accept-Encoding`` can read the answer -- a coding it did not accept, or a
  body that is not what ``Content-Encoding`` says (the rule
  ``content_encoding_readable``);
* :func:`not_decodable`: why an answer in a coding the request did accept
  cannot be judged here (``br``): it is not judged, never judged as its bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .inflating import WBITS, NotThatCoding, inflated

__all__ = [
    "Undone",
    "accepted",
    "coding_problem",
    "not_decodable",
    "sent_accept_encoding",
    "undone",
]

#: What Content-Encoding may say of a body sent as it is (RFC 9110 8.4.1: ``identity``
#: should not be sent, and a recipient reads it as nothing done).
_NOTHING = frozenset({"", "identity"})
#: RFC 9110 8.4.1.3: a recipient should read ``x-gzip`` as ``gzip``.
_SAME = {"x-gzip": "gzip"}


@dataclass(frozen=True, slots=True)
class Undone:
    """A body with its content codings undone, or why it was left as it came."""

    body: bytes
    #: Why ``body`` is as it came though Content-Encoding names a coding ("": decoded).
    undecoded: str = ""


def _codings(content_encoding: str) -> list[str]:
    """The codings a Content-Encoding value lists, in the order they were applied."""
    return [c for c in (part.strip().lower() for part in content_encoding.split(",")) if c]


def undone(raw: bytes, content_encoding: str, limit: int) -> Undone:
    """``raw`` with the codings of ``content_encoding`` undone, last first, each to at most
    ``limit`` bytes (:class:`InflatesPast` past it). A coding the kit does not decode, or a
    body that is not the coding it says, leaves the body as it came, saying why."""
    body = raw
    for name in reversed(_codings(content_encoding)):
        if name in _NOTHING:
            continue
        if name not in WBITS:
            return Undone(raw, f"{name} is not a coding the kit decodes")
        try:
            body = inflated(body, name, limit)
        except NotThatCoding as exc:
            return Undone(raw, str(exc))
    return Undone(body)


def accepted(coding: str, accept_encoding: str | None) -> bool:
    """Whether a request whose ``Accept-Encoding`` is ``accept_encoding`` (``None``: it sent
    none) accepts an answer in ``coding`` (RFC 9110 12.5.3).

    No header: any coding. A coding listed with a weight above 0, or ``*`` when it is not
    listed; ``identity`` unless refused by name or by ``*;q=0``. Names in any letter case,
    ``x-gzip`` as ``gzip``; a weight that cannot be read counts as 1 (no false alarm)."""
    if accept_encoding is None:
        return True
    coding = _SAME.get(coding.lower(), coding.lower())
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if name:
            weights[_SAME.get(name, name)] = _weight(params)
    if coding in weights:
        return weights[coding] > 0
    if "*" in weights:
        return weights["*"] > 0
    return coding == "identity"


def _weight(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 1.0
    return 1.0


def sent_accept_encoding(headers: Iterable[tuple[str | bytes, str | bytes]]) -> str | None:
    """The request's Accept-Encoding (its values joined, as a list header's are), or ``None``."""
    values = []
    for name, value in headers:
        name = name.decode("latin-1") if isinstance(name, bytes) else name
        if name.lower() == "accept-encoding":
            values.append(value.decode("latin-1") if isinstance(value, bytes) else value)
    return ", ".join(values) if values else None


def coding_problem(content_encoding: str, accept_encoding: str | None, undecoded: str) -> str:
    """Why no client that sent ``accept_encoding`` can read an answer whose Content-Encoding
    is ``content_encoding`` and whose decoding left it as it came for ``undecoded``; "": one can.
    """
    for name in _codings(content_encoding):
        if name not in _NOTHING and not accepted(name, accept_encoding):
            offered = "none of its own" if accept_encoding is None else repr(accept_encoding)
            return (
                f"the answer is in {name} (Content-Encoding: {content_encoding}), which the "
                f"request did not accept (Accept-Encoding: {offered}; RFC 9110 12.5.3)"
            )
    if undecoded and all(name in _NOTHING or name in WBITS for name in _codings(content_encoding)):
        return (
            f"Content-Encoding says {content_encoding}, but {undecoded}: "
            "no client can decode the answer"
        )
    return ""


def not_decodable(content_encoding: str, accept_encoding: str | None, undecoded: str) -> str:
    """Why an answer cannot be judged: in a coding its request accepted that the kit does not
    decode (``br``), so that its bytes are not the answer; "": it can be judged."""
    if not undecoded or coding_problem(content_encoding, accept_encoding, undecoded):
        return ""
    unknown = [n for n in _codings(content_encoding) if n not in _NOTHING and n not in WBITS]
    if not unknown:
        return ""
    return f"not judged ({', '.join(unknown)}): a content coding the kit does not decode"
