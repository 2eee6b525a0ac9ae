"""Reading a HAR file from any tool: its entries one at a time, in bounded memory.

:class:`HarFile` reads ``log.entries`` an entry at a time, never the whole file:
a browser's export of a long session is hundreds of MB, mostly the page's
images and scripts. An entry larger than :data:`MAX_ENTRY` (a video, say) is
passed over without being held. It reads what browsers' developer tools,
proxies and test tools write: a UTF-8 BOM or UTF-16, pretty-printed or not,
``log.entries`` anywhere in ``log``, HTTP/2 pseudo-headers, base64 bodies;
a file cut off mid-entry gives the entries before the cut (:attr:`HarFile.cut`).

Each entry becomes a :class:`Recorded`; one whose answer cannot be judged says
why in ``unjudged`` (:func:`recorded_of`) -- a body the tool did not capture or
cut short is not the server's answer, and judging it would be a false alarm.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .errors import BadOptions
from .har import Recorded
from .harentry import headers_of, recorded_of

__all__ = ["MAX_ENTRY", "TOO_LARGE", "HarFile", "read_har"]

CHUNK = 1 << 20
#: An entry larger than this is passed over unread (and, if the endpoint's, not judged).
MAX_ENTRY = 64 << 20
#: ``log.entries`` must begin within this many characters (``version``, ``creator``, ``pages``).
MAX_HEAD = 16 << 20

TOO_LARGE = f"the entry is larger than {MAX_ENTRY >> 20} MiB: passed over unread"

_ENTRIES = re.compile(r'"entries"\s*:\s*(\[)?')
_GAP = re.compile(r"[\s,]*")
_DECODER = json.JSONDecoder(strict=False)  # a raw tab in a string is read, not refused


def read_har(path: Path) -> list[Recorded]:
    """Every entry of the HAR at ``path``; raises :class:`BadOptions` if it is not one."""
    return list(HarFile(path))


class HarFile:
    """The entries of the HAR at ``path``, one at a time; :class:`BadOptions` if it is not one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: The index of the entry the file ends inside, if it was cut off mid-entry.
        self.cut: int | None = None
        self._file: BinaryIO | None = None
        self._decoder: codecs.IncrementalDecoder | None = None
        self._text = ""
        self._at = 0
        self._eof = False

    def __iter__(self) -> Iterator[Recorded]:
        try:
            with self.path.open("rb") as self._file:
                self._head()
                index = 0
                while (entry := self._entry(index)) is not None:
                    yield entry
                    index += 1
        except OSError as exc:
            raise BadOptions(f"--replay {self.path}: {exc.strerror or exc}") from exc

    def _bad(self, why: str) -> BadOptions:
        return BadOptions(f"--replay {self.path}: {why}")

    def _more(self, size: int = 0) -> bool:
        """Read on (``size`` bytes, else a chunk); ``False`` at the end of the file. What was
        consumed is dropped."""
        assert self._file is not None
        raw = self._file.read(size or CHUNK)
        if self._decoder is None:
            encoding = json.detect_encoding(raw[:4]) if raw else "utf-8"
            self._decoder = codecs.getincrementaldecoder(encoding)("replace")
        text = self._decoder.decode(raw, final=not raw)
        self._eof = not raw
        self._text = self._text[self._at :] + text
        self._at = 0
        return bool(raw)

    def _head(self) -> None:
        """Up to the first entry: ``log.entries`` found, and checked to be the log's."""
        self._more()
        self._text = self._text.removeprefix("\ufeff")
        searched = 0
        while True:
            match = _ENTRIES.search(self._text, searched)
            if match is None:
                searched = max(0, len(self._text) - 20)
                if len(self._text) > MAX_HEAD or not self._more():
                    raise self._bad("not a HAR file (no log.entries)")
                continue
            if match.end() >= len(self._text) - 1 and not self._eof and self._more():
                continue  # read on: the "[" may be next
            head = self._text[: match.end()]
            if match.group(1) is None:  # "entries": something else than a list
                if _log_entries(head + "null}}") is None:  # it is the log's
                    raise self._bad("log.entries is not a list")
            elif _log_entries(head + "]}}") == []:
                self._at = match.end()
                return
            searched = match.end()

    def _entry(self, index: int) -> Recorded | None:
        """The next entry; ``None`` after the last one."""
        while True:
            self._at = _GAP.match(self._text, self._at).end()  # type: ignore[union-attr]
            if self._at < len(self._text):
                break
            if not self._more():
                self.cut = index  # the file ends before the entries' "]"
                return None
        if self._text[self._at] == "]":
            return None
        while True:
            try:
                value, self._at = _DECODER.raw_decode(self._text, self._at)
            except json.JSONDecodeError as exc:
                if not _incomplete(exc, len(self._text)):
                    raise self._bad(f"entry {index} is not valid JSON ({exc.msg})") from None
                held = len(self._text) - self._at
                if held >= MAX_ENTRY:
                    return self._passed_over(index)
                # Twice what is held (linear on the whole entry), up to MAX_ENTRY.
                if not self._more(min(max(CHUNK, held), MAX_ENTRY - held)):
                    self.cut = index
                    return None
                continue
            try:
                return recorded_of(value)
            except ValueError as exc:
                raise self._bad(f"entry {index} is not a HAR entry ({exc})") from None

    def _passed_over(self, index: int) -> Recorded | None:
        """An entry too large to hold: its request read from its beginning, the rest skipped."""
        request = _request_in(self._text, self._at)
        depth, in_string = 0, False
        while True:
            text, at = self._text, self._at
            while True:
                found = (_IN_STRING if in_string else _STRUCTURE).search(text, at)
                if found is None:
                    break
                at, char = found.end(), found.group()
                if in_string:
                    in_string = found.group() != '"'  # an escape is matched whole, as a pair
                elif char == '"':
                    in_string = True
                elif char in "{[":
                    depth += 1
                else:
                    depth -= 1
                    if depth == 0:
                        self._at = at
                        return _unread(request)
            # Nothing matched from ``at``: a backslash at the very end is half an escape.
            half = in_string and at < len(text) and text.endswith("\\")
            self._at = len(text) - half
            if not self._more():
                self.cut = index
                return None


_STRUCTURE = re.compile(r'["{}\[\]]')
_IN_STRING = re.compile(r'\\.|"', re.DOTALL)
_REQUEST = re.compile(r'"request"\s*:\s*\{')


def _request_in(text: str, at: int) -> dict[str, Any]:
    """The ``request`` object near the beginning of the entry at ``at``, if it is there whole."""
    match = _REQUEST.search(text, at, at + CHUNK)
    if match is not None:
        try:
            request = _DECODER.raw_decode(text, match.end() - 1)[0]
        except json.JSONDecodeError:
            return {}
        if isinstance(request, dict):
            return request
    return {}


def _unread(request: dict[str, Any]) -> Recorded:
    return Recorded(
        started=0.0,
        method=str(request.get("method") or "").upper(),
        url=str(request.get("url") or ""),
        request_headers=headers_of(request.get("headers")),
        status=0,
        reason="",
        response_headers=(),
        content=b"",
        elapsed=0.0,
        unjudged=TOO_LARGE,
    )


def _incomplete(exc: json.JSONDecodeError, held: int) -> bool:
    """Whether a decoding error is the end of what was read, not a fault of the file."""
    return exc.pos >= held - 12 or exc.msg.startswith("Unterminated string")


def _log_entries(document: str) -> Any:
    try:
        return json.loads(document)["log"]["entries"]
    except (ValueError, KeyError, TypeError):
        return False
