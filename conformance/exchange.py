"""One request and its response, as every rule sees them, and how to replay it.

Responses come from two places -- the kit's own targeted requests (httpx) and
the cases schemathesis generates (requests) -- and every response rule reads
them through this one record. ``curl()`` reproduces the request exactly as it
was sent (the URL byte for byte, the method, the key): the configured keys
appear as ``"$USAGEKIT_API_KEY"`` / ``"$USAGEKIT_SUBACCOUNT_KEY"`` (in double
quotes, so that the shell expands them) so that reports can be pasted into CI
logs without leaking them and still run as written; any other key -- the
deliberately wrong ones -- is written literally, and everything else is
single-quoted, whatever characters it holds; what no report can show as text
(a control character, a lone surrogate: a byte a HAR's URL held that is not
UTF-8) is written ``"$(printf '\\ooo')"``, which gives curl that byte. Of the
request's other headers it sends those that shape an answer (:data:`SHAPING`:
the codings accepted, which ``--compressed`` then undoes as the kit did, and
the mock's ``Prefer``); never a secret (``Authorization``, ``Cookie``).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from usagekit.mock.spec import OPERATION_PATH

__all__ = ["OPERATION", "SHAPING", "Exchange", "KeyRole", "is_usage_path", "usage_path"]

#: The operation every finding is about, as reports name it.
OPERATION = f"GET {OPERATION_PATH}"
_USAGE_PATH = re.compile(re.escape(OPERATION_PATH).replace(r"\{account_id\}", "[^/]+"))


def usage_path(account: str) -> str:
    """The endpoint's path for ``account`` (an id or ``me``), percent-encoded."""
    return OPERATION_PATH.format(account_id=quote(account, safe=""))


def is_usage_path(path: str) -> bool:
    """Whether ``path`` is the endpoint's, for any account."""
    return _USAGE_PATH.fullmatch(path) is not None


class KeyRole(StrEnum):
    """Which key a request carried, so that rules know what to expect."""

    ACCOUNT = "account"  # --api-key, the key of --account-id
    SUBACCOUNT = "subaccount"  # --subaccount-key
    NONE = "none"  # no X-API-Key header
    INVALID = "invalid"  # a key no server issued
    #: A key a client sent through the proxy, or a HAR recorded: whose, the kit does not know.
    TRAFFIC = "traffic"
    #: X-API-Key sent on more than one line, through the proxy or in a HAR: a server may
    #: read the first, or the last, or refuse it (RFC 9110 5.3: 401 as one value, or 400).
    REPEATED = "repeated"

    @property
    def variable(self) -> str | None:
        return {
            "account": "USAGEKIT_API_KEY",
            "subaccount": "USAGEKIT_SUBACCOUNT_KEY",
            "traffic": "USAGEKIT_API_KEY",
            "repeated": "USAGEKIT_API_KEY",
        }.get(self.value)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Exchange:
    """A request the kit sent or schemathesis generated, and what came back."""

    method: str
    base_url: str
    path: str  # with the account id filled in
    account: str  # the account_id path segment as sent (may be "me")
    params: tuple[tuple[str, str], ...]  # query parameters as sent, in order
    key: KeyRole
    key_text: str | None  # the literal key, only for KeyRole.INVALID
    status: int
    headers: dict[str, str]  # lower-case names
    content: bytes  # empty when there was no answer
    elapsed: float  # seconds
    #: The URL exactly as it went out; ``None``: rebuilt from ``params``.
    sent_url: str | None = None
    #: When the request was sent (µs since the epoch), if it was not just now: a recorded
    #: exchange's, whose server read its clock then.
    sent_at: int | None = None
    _json: list[Any] = field(default_factory=list, repr=False)
    #: The request's headers as sent, ``(name, value)`` in str or (the proxy's) bytes: the
    #: curl sends those of :data:`SHAPING`; kept whole, since only a finding's are read.
    sent_headers: Iterable[tuple[str | bytes, str | bytes]] = ()
    #: Why ``content`` is the body as it came though Content-Encoding names a coding: not
    #: that coding, or one the kit does not decode (``codings.undone``); "": decoded.
    undecoded: str = ""
    #: ``params`` by name, made on the first :meth:`values` (a judged exchange asks ten times).
    _by_name: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)

    @property
    def url(self) -> str:
        if self.sent_url is not None:
            return self.sent_url
        query = urlencode(self.params, safe=",:/")
        return f"{self.base_url}{self.path}" + (f"?{query}" if query else "")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON; ``ValueError`` when it is not JSON, or JSON nested
        too deep to read (json's RecursionError, which no reader of a body expects)."""
        if not self._json:
            try:
                self._json.append(json.loads(self.content))
            except RecursionError:
                raise ValueError("the body is JSON nested too deep to read") from None
        return self._json[0]

    def values(self, name: str) -> list[str]:
        """Every value sent for query parameter ``name``."""
        by_name = self._by_name
        if not by_name and self.params:
            for key, value in self.params:
                by_name.setdefault(key, []).append(value)
        found = by_name.get(name)
        return list(found) if found is not None else []  # the caller's own list

    def curl(self) -> str:
        """A shell command that sends this request again."""
        parts = ["curl", "-sS"]
        if self.method == "HEAD":
            parts.append("-I")  # `-X HEAD` would wait for a body that never comes
        elif self.method != "GET":
            parts += ["-X", _quoted(self.method)]
        if self.key is KeyRole.INVALID and self.key_text is not None:
            # `X-API-Key:` with nothing after it would tell curl to drop the header.
            header = f"X-API-Key: {self.key_text}" if self.key_text else "X-API-Key;"
            parts += ["-H", _quoted(header)]
        elif self.key.variable:
            parts += ["-H", f'"X-API-Key: ${self.key.variable}"']
            if self.key is KeyRole.REPEATED:  # sent twice, as the judged request was
                parts += ["-H", f'"X-API-Key: ${self.key.variable}"']
        shaping = _shaping(self.sent_headers)
        if any(name.lower() == "accept-encoding" for name, _ in shaping):
            parts.append("--compressed")  # the body judged was decoded
        for name, value in shaping:
            # `Name:` with nothing after it would tell curl to drop the header.
            parts += ["-H", _quoted(f"{name}: {value}" if value else f"{name};")]
        url = self.url
        if _GLOB.search(url):
            parts.append("-g")  # brackets and braces are curl's URL globbing otherwise
        if _DOT_SEGMENT.search(urlsplit(url).path):
            parts.append("--path-as-is")  # curl would squash /./ and /../ otherwise
        parts.append(_quoted(url))
        return " ".join(parts)


#: Request headers, besides the key, that may change the answer, so the curl sends them:
#: the codings accepted (a server's gzip path is another path) and the mock's ``Prefer``
#: (``code=`` answers that status). What else a client sent -- cookies, ``Authorization``,
#: its own tokens -- may be a secret, and is not printed.
SHAPING = frozenset({"accept", "accept-encoding", "prefer"})


def _shaping(headers: Iterable[tuple[str | bytes, str | bytes]]) -> list[tuple[str, str]]:
    """The headers of :data:`SHAPING` among ``headers``, as text, in their order (an
    ``Accept: */*`` is curl's own and left out), and a ``Content-Length: 0``."""
    kept = []
    for name, value in headers:
        name = name.decode("latin-1") if isinstance(name, bytes) else name
        if name.lower() in SHAPING:
            value = value.decode("latin-1") if isinstance(value, bytes) else value
            if name.lower() != "accept" or value != "*/*":
                kept.append((name, value))
        elif name.lower() == "content-length" and value in ("0", b"0"):
            # requests writes it for any method but GET and HEAD, and curl -X does not: some
            # front ends answer 411. A length of a body the curl does not send, it cannot say.
            kept.append((name, "0"))
    return kept


#: What a report cannot hold as itself: controls (but tab and line feed, which single
#: quotes keep, and which `$(...)` would drop at the end), and lone surrogates.
_UNPRINTABLE = re.compile("([\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]+)")


def _quoted(text: str) -> str:
    """``text`` as one shell word, in any POSIX shell: single-quoted, and what a report
    cannot hold written as the octal escapes of its bytes (a lone surrogate of
    U+DC80..U+DCFF stands for one byte, as Python's ``surrogateescape`` writes it)."""
    if not _UNPRINTABLE.search(text):
        return shlex.quote(text)
    words = []
    for i, piece in enumerate(_UNPRINTABLE.split(text)):
        if i % 2:
            raw = b"".join(_bytes(c) for c in piece)
            octal = "".join(f"\\{b:03o}" for b in raw)
            words.append(f"\"$(printf '{octal}')\"")
        elif piece:
            words.append(shlex.quote(piece))
    return "".join(words)


def _bytes(char: str) -> bytes:
    try:
        return char.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte: as Python would pass it
        return char.encode("utf-8", "surrogatepass")


_GLOB = re.compile(r"[\[\]{}]")
_DOT_SEGMENT = re.compile(r"(^|/)\.\.?(/|$)")
