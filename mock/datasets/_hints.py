"""What a line of ``conversations.jsonl`` that is JSON, but not JSON Lines, most likely is.

Users bring what their tools write: a JSON array (``json.dump``, an API's
page, a spreadsheet's "export as JSON"), objects indented over several lines,
or objects separated by commas. Each is refused at line 1 with JSON's own
reason; the hint says what the file was meant to hold.
"""

from __future__ import annotations

__all__ = ["JSON_LINES", "not_json_lines"]

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
