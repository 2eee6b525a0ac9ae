"""What a refused dataset file most likely is, for the end of its message.

Users bring what their tools write: a JSON array (``json.dump``, an API's
page, a spreadsheet's "export as JSON"), objects indented over several lines
or separated by commas, or UTF-16 text (Windows PowerShell 5.1's ``>``). Each
is refused at line 1 with the reader's own reason; the hint says what the
file holds and what it was meant to hold. Read only once a file is refused.
"""

from __future__ import annotations

__all__ = ["JSON_LINES", "not_json_lines", "not_utf8"]

JSON_LINES = "one conversation per line (JSON Lines)"


def not_json_lines(text: str) -> str:
    """A hint for a line JSON refused, or ``""`` when it looks like no other format."""
    stripped = text.strip()
    if stripped.startswith("["):
        return f" -- a JSON array? Write {JSON_LINES}, without brackets"
    if stripped in ("{", "}", "},") or stripped.startswith('"'):
        return f" -- an object over several lines? Write {JSON_LINES}"
    if stripped.startswith("{") and stripped.endswith(","):
        return f" -- a comma after the object? Write {JSON_LINES}, without commas"
    return ""


def not_utf8(head: bytes) -> str:
    """A hint for a file whose first bytes are ``head`` that is not UTF-8, or ``""``."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f" -- UTF-16 (its first bytes are {head[:2].hex(' ').upper()}): save it as UTF-8"
    return ""
