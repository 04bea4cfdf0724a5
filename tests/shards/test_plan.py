"""Shard rules without I/O: who owns a server, shard settings, lease and IDENTIFY decisions."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.shards.plan import (
    Lease,
    Refuse,
    ShardPlan,
    Take,
    Wait,
    decide_acquire,
    identify_bucket,
    identify_wait,
    parse_shard_ids,
    renewal_due,
    shard_of,
)


def test_shard_of_is_discords_rule():
    # Discord's documented example: guild 41771983423143937 with 2 shards is... its timestamp bits mod 2.
    guild = 41771983423143937
    assert shard_of(guild, 1) == 0
    assert shard_of(guild, 2) == (guild >> 22) % 2
    assert shard_of(str(guild), 4) == (guild >> 22) % 4
    assert {shard_of((t << 22) | 5, 3) for t in range(9)} == {0, 1, 2}


@pytest.mark.parametrize(
    ("text", "ids"),
    [("0,1", (0, 1)), ("0-3", (0, 1, 2, 3)), (" 2 - 3 , 0 ", (0, 2, 3)), ("1,1,0-1", (0, 1)), ("5", (5,))],
)
def test_shard_ids_lists_and_ranges(text: str, ids: tuple[int, ...]):
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize(
    ("count", "ids", "says"),
    [
        (None, "0,1", "SHARD_IDS needs SHARD_COUNT"),
        (0, None, "SHARD_COUNT must be 1 or more"),
        (2, "0,2", "SHARD_IDS names shard 2, but with SHARD_COUNT=2 shards are 0-1."),
        (4, "a,b", "SHARD_IDS must list shard numbers like 0,1 or 0-3"),
        (4, "3-1", "backwards"),
        (4, "0-", "SHARD_IDS must list"),
        (4, "-1", "SHARD_IDS must list"),
    ],
)
def test_bad_shard_settings_are_one_sentence(count, ids, says):
    with pytest.raises(ConfigError) as caught:
        ShardPlan.from_settings(count, ids)
    message = caught.value.user_message
    assert says in message and message.count(". ") == 0 and message.endswith(".")


def test_plans_from_settings():
    assert ShardPlan.from_settings(None, None) is None
    assert ShardPlan.from_settings(4, None) == ShardPlan(4, (0, 1, 2, 3))
    plan = ShardPlan.from_settings(4, "2-3")
    assert plan == ShardPlan(4, (2, 3))
    mine = [g for g in ((t << 22) | 1 for t in range(40)) if plan.owns(g)]
    assert mine and all(shard_of(g, 4) in (2, 3) for g in mine)
    assert not plan.owns(0 << 22)


def _lease(holder="a", token=3, expires=100.0, count=2) -> Lease:
    return Lease(1, count, holder, token, expires)


def test_a_free_shard_is_taken_with_token_one():
    decision = decide_acquire(None, set(), shard_id=1, shard_count=2, holder="a", now=50.0, ttl=30.0)
    assert decision == Take(Lease(1, 2, "a", 1, 80.0), replaces=None)


def test_a_live_lease_of_another_holder_makes_us_wait_until_it_expires():
    decision = decide_acquire(_lease("b"), {2}, shard_id=1, shard_count=2, holder="a", now=90.0, ttl=30.0)
    assert decision == Wait("b", 10.0)


def test_an_expired_lease_is_taken_over_with_the_next_token():
    decision = decide_acquire(_lease("b", token=3, expires=100.0), set(), shard_id=1, shard_count=2, holder="a", now=100.0, ttl=30.0)
    assert decision == Take(Lease(1, 2, "a", 4, 130.0), replaces=3)


def test_our_own_live_lease_is_kept_with_the_same_token():
    decision = decide_acquire(_lease("a", token=3), {2}, shard_id=1, shard_count=2, holder="a", now=90.0, ttl=30.0)
    assert decision == Take(Lease(1, 2, "a", 3, 120.0), replaces=3)


def test_live_leases_of_another_shard_count_refuse():
    decision = decide_acquire(None, {4}, shard_id=1, shard_count=2, holder="a", now=0.0, ttl=30.0)
    assert isinstance(decision, Refuse) and "SHARD_COUNT=4" in decision.reason


def test_renewal_is_due_after_a_third_of_the_lease():
    lease = _lease(expires=130.0)
    assert not renewal_due(lease, 100.0, 30.0)
    assert not renewal_due(lease, 109.9, 30.0)
    assert renewal_due(lease, 110.0, 30.0)


def test_identify_buckets_and_waits():
    assert [identify_bucket(s, 1) for s in range(4)] == [0, 0, 0, 0]
    assert [identify_bucket(s, 16) for s in (0, 15, 16, 17)] == [0, 15, 0, 1]
    assert identify_bucket(3, 0) == 0
    assert identify_wait(None, 10.0) == 0.0
    assert identify_wait(12.5, 10.0) == 2.5
    assert identify_wait(9.0, 10.0) == 0.0
