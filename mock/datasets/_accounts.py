"""``accounts.json``: reading it with validation, and writing it canonically.

The file is a JSON array of accounts::

    {"id": str, "parent_id": str | null, "name": str,
     "api_keys": [str, ...], "agents": [{"id": str, "name": str}, ...]}

Every key is required, so that a misspelt key is an error rather than a
silently missing value; keys beyond these are ignored. A ``parent_id`` names a
top-level account of the same file (accounts nest two levels deep, like the
vendor's accounts and subaccounts). Ids, API keys and agent ids are unique
across the file: an agent id is a dimension value of the usage report, so it
must name one agent only.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from usagekit.mock.core.dataset import UNASSIGNED, Account, Agent
from usagekit.mock.core.errors import DatasetError

from ._fileio import byte_order_mark, open_regular, os_reason
from ._hints import not_utf8

__all__ = ["MAX_ACCOUNTS_BYTES", "accounts_identity", "accounts_json", "read_accounts"]

ACCOUNT_KEYS = ("id", "parent_id", "name", "api_keys", "agents")
AGENT_KEYS = ("id", "name")
#: The largest ``accounts.json`` read (a thousand accounts take well under 1 MB).
MAX_ACCOUNTS_BYTES = 64 * 2**20
#: ``me`` in the request path stands for the key's own account.
RESERVED_ACCOUNT_ID = "me"


def read_accounts(path: Path) -> tuple[Account, ...]:
    """The accounts of ``path``; :class:`DatasetError` names the first problem."""
    try:
        with open_regular(path, MAX_ACCOUNTS_BYTES) as stream:
            raw = stream.read()
        skipped = byte_order_mark(raw)
        text = raw[skipped:].decode("utf-8")
    except OSError as exc:  # a read error after a good open (EIO)
        raise DatasetError(path=str(path), line=None, field=None, message=os_reason(exc)) from None
    except UnicodeDecodeError as exc:
        raise DatasetError(
            path=str(path),
            line=None,
            field=None,
            message=f"not UTF-8 text (byte {skipped + exc.start + 1}){not_utf8(raw)}",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            path=str(path), line=exc.lineno, field=None, message=f"invalid JSON: {exc.msg}"
        ) from None
    except ValueError:  # an integer past Python's digit limit (4,300), even under an extra key
        found = re.search(f"[0-9]{{{sys.get_int_max_str_digits() + 1},}}", text)
        line = None if found is None else text.count("\n", 0, found.start()) + 1
        raise DatasetError(
            path=str(path), line=line, field=None, message="invalid JSON: a number too long to read"
        ) from None
    except RecursionError:
        raise DatasetError(
            path=str(path), line=None, field=None, message="invalid JSON: nested too deeply"
        ) from None
    return _Reader(str(path)).accounts(data)


class _Reader:
    """Validates the decoded file; errors name the field as a path such as ``[2].agents[0].id``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, field: str | None, message: str) -> DatasetError:
        return DatasetError(path=self.path, line=None, field=field, message=message)

    def accounts(self, data: Any) -> tuple[Account, ...]:
        if not isinstance(data, list):
            raise self.fail(None, "expected a JSON array of accounts")
        accounts = tuple(self.account(f"[{i}]", item) for i, item in enumerate(data))
        self.check_unique(accounts)
        self.check_parents(accounts)
        return accounts

    def account(self, where: str, item: Any) -> Account:
        self.check_object(where, item, ACCOUNT_KEYS)
        account_id = self.identifier(f"{where}.id", item["id"])
        if account_id == RESERVED_ACCOUNT_ID:
            raise self.fail(
                f"{where}.id", "'me' is reserved: in a request path it means 'my account'"
            )
        parent_id = item["parent_id"]
        if parent_id is not None:
            parent_id = self.identifier(f"{where}.parent_id", parent_id)
        keys = self.array(f"{where}.api_keys", item["api_keys"])
        agents = self.array(f"{where}.agents", item["agents"])
        return Account(
            id=account_id,
            parent_id=parent_id,
            name=self.text(f"{where}.name", item["name"]),
            api_keys=tuple(self.key(f"{where}.api_keys[{i}]", k) for i, k in enumerate(keys)),
            agents=tuple(self.agent(f"{where}.agents[{i}]", a) for i, a in enumerate(agents)),
        )

    def agent(self, where: str, item: Any) -> Agent:
        self.check_object(where, item, AGENT_KEYS)
        agent_id = self.identifier(f"{where}.id", item["id"])
        if agent_id == UNASSIGNED:
            raise self.fail(
                f"{where}.id", f"{UNASSIGNED!r} is reserved for conversations without an agent"
            )
        return Agent(id=agent_id, name=self.text(f"{where}.name", item["name"]))

    def check_object(self, where: str, item: Any, keys: tuple[str, ...]) -> None:
        if not isinstance(item, dict):
            raise self.fail(where, "expected a JSON object")
        for key in keys:
            if key not in item:
                raise self.fail(f"{where}.{key}", f"missing (required: {', '.join(keys)})")

    def array(self, where: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, "expected a JSON array")
        return value

    def text(self, where: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string, not {json.dumps(value)}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            # JSON's "\ud83d" (half an emoji cut short): no page, header or answer can carry it.
            lone = f"\\u{ord(value[exc.start]):04x}"
            raise self.fail(where, f"holds a lone surrogate ({lone}), half a UTF-16 pair") from None
        return value

    def identifier(self, where: str, value: Any) -> str:
        if not self.text(where, value):
            raise self.fail(where, "must not be empty")
        return value

    def key(self, where: str, value: Any) -> str:
        """An API key that an ``X-API-Key`` header can carry as it is (RFC 9110, 5.5)."""
        key = self.identifier(where, value)
        if key != key.strip(" \t"):
            # fetch() and most HTTP stacks strip it: every request with the key is a 401.
            raise self.fail(where, f"{key!r} begins or ends with whitespace, which a header drops")
        bad = next((c for c in key if (c < " " and c != "\t") or c == "\x7f"), None)
        if bad is not None:
            raise self.fail(
                where, f"{key!r} holds a control character ({bad!r}): no header carries it"
            )
        return key

    def check_unique(self, accounts: tuple[Account, ...]) -> None:
        seen: dict[str, str] = {}
        for i, account in enumerate(accounts):
            named = [(f"[{i}].id", account.id, "account id")]
            named += [
                (f"[{i}].api_keys[{j}]", k, "API key") for j, k in enumerate(account.api_keys)
            ]
            named += [
                (f"[{i}].agents[{j}].id", a.id, "agent id") for j, a in enumerate(account.agents)
            ]
            for where, value, kind in named:
                # Each kind has its own namespace: an agent may share an account's id.
                key = f"{kind}\0{value}"
                if key in seen:
                    raise self.fail(where, f"duplicate {kind} {value!r} (also at {seen[key]})")
                seen[key] = where

    def check_parents(self, accounts: tuple[Account, ...]) -> None:
        by_id = {account.id: account for account in accounts}
        for i, account in enumerate(accounts):
            if account.parent_id is None:
                continue
            where = f"[{i}].parent_id"
            parent = by_id.get(account.parent_id)
            if account.parent_id == account.id:
                raise self.fail(where, "an account cannot be its own parent")
            if parent is None:
                raise self.fail(where, f"unknown account {account.parent_id!r}")
            if parent.parent_id is not None:
                raise self.fail(
                    where,
                    f"{parent.id!r} is itself a subaccount; accounts nest two levels deep only",
                )


def accounts_json(accounts: tuple[Account, ...]) -> str:
    """The canonical text of ``accounts.json``: fixed key order, indent 2, final newline."""
    return json.dumps(_plain(accounts), indent=2, ensure_ascii=False) + "\n"


def accounts_identity(accounts: tuple[Account, ...]) -> str:
    """``accounts`` as one line of JSON, equal only for equal accounts: what names them in
    the columnar cache. Unindented, so json's C encoder writes it: 200k accounts in a
    fraction of a second, where an indent takes its pure-Python encoder seconds."""
    return json.dumps(_plain(accounts), ensure_ascii=False, separators=(",", ":"))


def _plain(accounts: tuple[Account, ...]) -> list[dict[str, Any]]:
    return [
        {
            "id": account.id,
            "parent_id": account.parent_id,
            "name": account.name,
            "api_keys": list(account.api_keys),
            "agents": [{"id": agent.id, "name": agent.name} for agent in account.agents],
        }
        for account in accounts
    ]
