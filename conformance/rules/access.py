"""Authentication and tenancy: who may read which account.

A key belongs to one account; a top-level account's key also reads its
subaccounts; ``me`` is the key's own account; everything else is 403 -- also
for accounts that do not exist, so that no answer tells whether one does.
"""

from __future__ import annotations

import uuid

from usagekit.conformance.config import Requirement
from usagekit.conformance.context import KitContext, expect_status, query
from usagekit.conformance.exchange import KeyRole, usage_path
from usagekit.conformance.failures import BrokenRelation, WrongValue
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import scenario_rule
from usagekit.conformance.rules.windows import active_window, written

__all__ = [
    "absent_account_forbidden",
    "foreign_account_forbidden",
    "me_is_the_keys_account",
    "missing_key_unauthorized",
    "other_methods_not_allowed",
    "parent_reads_subaccount",
    "scope_includes_subaccounts",
    "subaccount_cannot_read_parent",
    "subaccount_reads_itself",
    "tenancy_follows_the_dataset",
    "unknown_key_unauthorized",
    "unknown_path_not_found",
]


@scenario_rule(Profile.CONTRACT)
def missing_key_unauthorized(ctx: KitContext) -> None:
    """A request without X-API-Key is 401, on any account, including me.

    Accepts: for invalid parameters without a key, 401 or the validation error -- which a server
    checks first is its choice.
    """
    for account in (ctx.config.account_id, "me"):
        expect_status(ctx.send(account=account, key=KeyRole.NONE), {401}, "no key")
    invalid = ctx.send(query(limit=0), key=KeyRole.NONE)
    expect_status(invalid, {401} | ctx.validation_statuses, "no key and limit=0")


@scenario_rule(Profile.CONTRACT)
def unknown_key_unauthorized(ctx: KitContext) -> None:
    """A key the server never issued is 401.

    One correct answer: 401, whatever the account.
    """
    for account in (ctx.config.account_id, "me"):
        expect_status(ctx.send(account=account, key=KeyRole.INVALID), {401}, "an unknown key")


@scenario_rule(Profile.CONTRACT, requires=Requirement.FOREIGN_ACCOUNT)
def foreign_account_forbidden(ctx: KitContext) -> None:
    """A valid key on another tenant's account is 403.

    Accepts: for invalid parameters on that account, 403 or the validation error -- which a
    server checks first is its choice.
    """
    account = ctx.config.foreign_account_id
    assert account is not None  # guaranteed by the requirement
    expect_status(ctx.send(account=account), {403}, "another tenant's account")
    invalid = ctx.send(query(limit=0), account=account)
    expect_status(invalid, {403} | ctx.validation_statuses, "another tenant's account, limit=0")


@scenario_rule(Profile.CONTRACT)
def absent_account_forbidden(ctx: KitContext) -> None:
    """A valid key on an account that does not exist is 403, like any account it may not read.

    Accepts: 404 under the contract profile, which does not say; the reference profile wants 403
    so that no answer tells whether an account exists.
    """
    absent = str(uuid.UUID(int=ctx.config.seed + 0x5A17_0000_0000_4000_8000_0000_0000_0000))
    ctx.oracle.absent_accounts.add(absent)
    allowed = {403} if ctx.profile is Profile.REFERENCE else {403, 404}
    expect_status(ctx.send(account=absent), allowed, "an account that does not exist")


@scenario_rule(Profile.CONTRACT)
def me_is_the_keys_account(ctx: KitContext) -> None:
    """me reads the key's own account, and meta names its real id.

    Accepts: answers compared in the contract's terms, so members of the server's own may
    differ.
    """
    window = active_window(ctx)
    span = query(start=written(window.start), end=written(window.end), granularity="day")
    me = ctx.usage(span, account="me")
    explicit = ctx.usage(span)
    if me.meta.account_id != ctx.config.account_id:
        raise WrongValue(
            f"me answered for {me.meta.account_id!r}, expected {ctx.config.account_id!r}"
        )
    if me.buckets != explicit.buckets:
        raise BrokenRelation("me and the account's own id answer differently")


@scenario_rule(Profile.CONTRACT, requires=Requirement.SUBACCOUNT)
def parent_reads_subaccount(ctx: KitContext) -> None:
    """A top-level account's key reads its subaccounts.

    One correct answer: 200 naming the subaccount's id.
    """
    body = ctx.usage(account=ctx.config.subaccount_id)
    if body.meta.account_id != ctx.config.subaccount_id:
        raise WrongValue(f"the subaccount's usage names {body.meta.account_id!r}")


@scenario_rule(Profile.CONTRACT, requires=Requirement.SUBACCOUNT)
def subaccount_reads_itself(ctx: KitContext) -> None:
    """A subaccount's key reads the subaccount, by id and as me.

    One correct answer: 200 naming the subaccount's id.
    """
    for account in (ctx.config.subaccount_id, "me"):
        body = ctx.usage(account=account, key=KeyRole.SUBACCOUNT)
        if body.meta.account_id != ctx.config.subaccount_id:
            raise WrongValue(
                f"the subaccount's key on {account!r} answered for {body.meta.account_id!r}"
            )


@scenario_rule(Profile.CONTRACT, requires=Requirement.SUBACCOUNT)
def subaccount_cannot_read_parent(ctx: KitContext) -> None:
    """A subaccount's key may not read its parent: 403.

    One correct answer: 403.
    """
    exchange = ctx.send(account=ctx.config.account_id, key=KeyRole.SUBACCOUNT)
    expect_status(exchange, {403}, "a subaccount's key on its parent")


@scenario_rule(Profile.REFERENCE, requires=Requirement.SUBACCOUNT)
def scope_includes_subaccounts(ctx: KitContext) -> None:
    """A parent's usage includes its subaccounts': grouped by subaccount, each equals its own.

    Accepts: a bucket without values, or missing, as zero usage.
    """
    window = active_window(ctx)
    span = query(start=written(window.start), end=written(window.end), granularity="day")
    parent = ctx.usage([*span, ("group_by", "subaccount")])
    child = ctx.usage(span, account=ctx.config.subaccount_id)
    total = ctx.usage(span)
    sub_id = ctx.config.subaccount_id
    by_bucket = {b.ts.instant: b for b in parent.buckets}
    for bucket in child.buckets:
        own = (
            sum(v.seconds for v in bucket.values or ()),
            sum(v.conversations for v in bucket.values or ()),
        )
        grouped = by_bucket.get(bucket.ts.instant)
        found = (
            [v for v in (grouped.values or ()) if (v.dimensions or {}).get("subaccount") == sub_id]
            if grouped
            else []
        )
        seen = (sum(v.seconds for v in found), sum(v.conversations for v in found))
        if seen != own:
            raise BrokenRelation(
                f"in bucket {bucket.text} the parent's usage credits the subaccount with "
                f"{seen[1]} conversations ({seen[0]} s); the subaccount has {own[1]} ({own[0]} s)"
            )
    totals = total.totals()
    for bucket in parent.buckets:
        summed = (
            sum(v.seconds for v in bucket.values or ()),
            sum(v.conversations for v in bucket.values or ()),
        )
        if summed != totals.get(bucket.ts.instant, (0, 0)):
            raise BrokenRelation(f"bucket {bucket.text}: subaccount groups do not sum to the total")


@scenario_rule(Profile.REFERENCE)
def unknown_path_not_found(ctx: KitContext) -> None:
    """A path that is not the endpoint is 404 in the contract's error shape.

    One correct answer: 404, in the contract's error shape (judged by the response rules).
    """
    path = usage_path(ctx.config.account_id) + "s"
    expect_status(ctx.send(path=path), {404}, "an unknown path")


@scenario_rule(Profile.CONTRACT)
def other_methods_not_allowed(ctx: KitContext) -> None:
    """POST, PUT, PATCH and DELETE are 405 with Allow: GET.

    Accepts: Allow naming more methods (HEAD, OPTIONS), in any order and letter case. HTTP
    itself requires the Allow header on a 405 (RFC 9110, 15.5.6), under either profile.
    """
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        exchange = ctx.send(method=method)
        expect_status(exchange, {405}, method)
        allow = {
            m.strip().upper() for m in exchange.headers.get("allow", "").split(",") if m.strip()
        }
        if "GET" not in allow:
            raise WrongValue(f"405 for {method} without Allow: GET", exchanges=(exchange,))


#: At most this many of the dataset's accounts are asked for, per key.
_TENANCY_SAMPLE = 24


@scenario_rule(Profile.CONTRACT, requires=Requirement.DATA)
def tenancy_follows_the_dataset(ctx: KitContext) -> None:
    """Each key reads exactly its own account and, if top-level, its subaccounts: else 403.

    One correct answer per account: 200 if the key may read it, else 403.
    """
    dataset = ctx.oracle.dataset
    assert dataset is not None  # guaranteed by the requirement
    keys = [(KeyRole.ACCOUNT, ctx.config.account_id)]
    if ctx.config.subaccount_id is not None:
        keys.append((KeyRole.SUBACCOUNT, ctx.config.subaccount_id))
    for key, own_id in keys:
        own = dataset.account(own_id)
        if own is None:
            raise WrongValue(f"account {own_id} is not in the dataset given with --data")
        readable = {own.id}
        if own.parent_id is None:
            readable |= {a.id for a in dataset.subaccounts(own.id)}
        for account in dataset.accounts[:_TENANCY_SAMPLE]:
            expected = 200 if account.id in readable else 403
            exchange = ctx.send(query(limit=1), account=account.id, key=key)
            expect_status(exchange, {expected}, f"the {key.value} key on account {account.id}")
