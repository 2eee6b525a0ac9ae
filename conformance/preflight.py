"""Before judging anything: the user's own mistakes, caught with exit 2 and a hint.

A mistake in the options would otherwise come back as a pile of failures
blamed on the server (``--base-url http://host/v1`` makes every request 404;
``--account-id me`` makes ``me_is_the_keys_account`` fail). Each check here
raises a :class:`~usagekit.conformance.errors.KitError` that says what is
wrong and, where the kit can tell, what to write instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.datasets.files import load_dataset
from usagekit.mock.spec import OPERATION_PATH

from .client import Client
from .config import KitConfig
from .context import query
from .errors import BadOptions, RejectedCredentials
from .exchange import Exchange, KeyRole, usage_path

__all__ = ["check_options", "load_data", "preflight"]

_PROBE = query(limit=1)


def check_options(config: KitConfig) -> None:
    """Options that contradict each other, or name no server, before any request."""
    try:  # the client's own reading of it: a URL it refuses would stop the run unreported
        scheme = httpx.URL(config.base_url).scheme
    except httpx.InvalidURL as exc:
        raise BadOptions(f"--base-url {config.base_url}: {exc}") from exc
    if scheme not in ("http", "https"):
        raise BadOptions(
            f"--base-url {config.base_url}: give the server's root as http://HOST:PORT "
            "or https://HOST:PORT"
        )
    if not config.account_id.strip():
        raise BadOptions("--account-id is empty: give the id of the account --api-key belongs to")
    named = {
        "--subaccount-id": config.subaccount_id,
        "--foreign-account-id": config.foreign_account_id,
    }
    for option, account in named.items():
        # An unset variable in CI: no account at all, though the rules it enables would run.
        if account is not None and not account.strip():
            raise BadOptions(f"{option} is empty: give an account's id, or leave the option out")
    if config.subaccount_id is not None and config.subaccount_id == config.account_id:
        raise BadOptions("--subaccount-id is --account-id: give one of its subaccounts")
    if config.subaccount_key is not None and config.subaccount_key == config.api_key:
        raise BadOptions("--subaccount-key is --api-key: give the subaccount's own key")
    if config.foreign_account_id is not None and config.foreign_account_id == config.account_id:
        raise BadOptions(
            "--foreign-account-id is --account-id: give an account the key may not read"
        )


def load_data(config: KitConfig) -> Dataset | None:
    """The dataset of ``--data``, which must hold the accounts the options name."""
    if config.data is None:
        return None
    try:
        dataset = load_dataset(config.data)
    except (DatasetError, OSError) as exc:
        raise BadOptions(f"--data {config.data}: {exc}") from exc
    if dataset.account(config.account_id) is None:
        owner = dataset.keys().get(config.api_key)
        hint = (
            f"; --api-key belongs to {owner.id} there: --account-id {owner.id}?"
            if owner is not None
            else f"; it holds {', '.join(a.id for a in dataset.accounts[:3])}"
            + (", ..." if len(dataset.accounts) > 3 else "")
        )
        raise BadOptions(
            f"--data {config.data} does not hold --account-id {config.account_id}{hint}"
        )
    if config.subaccount_id is not None:
        sub = dataset.account(config.subaccount_id)
        if sub is None or sub.parent_id != config.account_id:
            raise BadOptions(
                f"--data {config.data} does not hold --subaccount-id {config.subaccount_id} "
                f"as a subaccount of --account-id {config.account_id}"
            )
    return dataset


def preflight(client: Client, config: KitConfig) -> None:
    """The server answers, takes the credentials, and the options name what they should."""
    answer = client.send(account=config.account_id, params=_PROBE)
    if answer.status == 401:
        raise RejectedCredentials(f"the server refuses --api-key (401 on {answer.url})")
    if config.account_id == "me":
        raise BadOptions(
            "--account-id me: give the id of the account --api-key belongs to "
            "(the kit asks for `me` itself, in me_is_the_keys_account)" + _whose(answer)
        )
    if answer.status == 404:
        raise BadOptions(_not_found(client, config, answer))
    if answer.status == 403:
        raise RejectedCredentials(f"--api-key may not read --account-id {config.account_id} (403)")
    if config.subaccount_id is None:
        return
    sub = client.send(account=config.subaccount_id, params=_PROBE, key=KeyRole.SUBACCOUNT)
    if sub.status in (401, 403):
        raise RejectedCredentials(
            f"--subaccount-key may not read --subaccount-id {config.subaccount_id} ({sub.status})"
        )
    me = client.send(account="me", params=_PROBE, key=KeyRole.SUBACCOUNT)
    if _account_of(me) == config.account_id:
        raise BadOptions(
            f"--subaccount-key is a key of --account-id {config.account_id} (GET {me.path} "
            f"answers for it): give the key of --subaccount-id {config.subaccount_id}"
        )


def _account_of(exchange: Exchange) -> str | None:
    """The account a 200 answered for, as its meta says (None if it does not say)."""
    if exchange.status != 200:
        return None
    try:
        body: Any = exchange.json()
        account = body["meta"]["account_id"]
    except (ValueError, KeyError, TypeError):
        return None
    return account if isinstance(account, str) else None


def _whose(answer: Exchange) -> str:
    account = _account_of(answer)
    if account is None or account == "me":
        return ""
    return f"; the server says it is {account}: --account-id {account}"


def _not_found(client: Client, config: KitConfig, answer: Exchange) -> str:
    """Why the endpoint is 404 -- usually a path prefix in --base-url -- and what to write."""
    said = f"GET {answer.url} answered 404"
    base = urlsplit(config.base_url)
    segments = [s for s in base.path.split("/") if s]
    for keep in range(len(segments) - 1, -1, -1):
        root = urlunsplit(
            (base.scheme, base.netloc, "".join(f"/{s}" for s in segments[:keep]), "", "")
        )
        status = client.status_at(root + usage_path(config.account_id), _PROBE)
        if status is not None and status != 404:
            return (
                f"{said}: the kit adds {OPERATION_PATH} to --base-url itself; "
                f"{root} answers {status} there: --base-url {root}"
            )
    return f"{said}: is --base-url the server's root? The kit adds {OPERATION_PATH} to it"
