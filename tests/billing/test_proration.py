"""Proration of recurring fees and seats over part of a billing period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from billing.periods import Period, period_at
from billing.proration import (
    ProrationKey,
    ProrationLine,
    plan_change_lines,
    prorate,
    seat_change_line,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# March 2026 in Shanghai: 31 days of 86,400 seconds.
MARCH = Period(datetime(2026, 3, 1, tzinfo=SHANGHAI), datetime(2026, 4, 1, tzinfo=SHANGHAI))


def march(day: int, hour: int = 0) -> datetime:
    """Return a Shanghai wall time in March 2026."""
    return datetime(2026, 3, day, hour, tzinfo=SHANGHAI)


class TestProrate:
    def test_the_whole_period_is_the_whole_amount(self) -> None:
        assert prorate(9_900, MARCH, MARCH.start, MARCH.end) == 9_900

    def test_a_day_of_a_31_day_month(self) -> None:
        # 3100 fen over 31 days is exactly 100 fen a day.
        assert prorate(3_100, MARCH, march(10), march(11)) == 100

    def test_rounds_half_up_once(self) -> None:
        # Half the period of 1 fen is exactly half a fen.
        middle = MARCH.start + MARCH.duration / 2
        assert prorate(1, MARCH, MARCH.start, middle) == 1
        assert prorate(-1, MARCH, MARCH.start, middle) == -1
        assert prorate(3, MARCH, MARCH.start, middle) == 2

    def test_counts_to_the_second(self) -> None:
        seconds = MARCH.seconds
        assert prorate(seconds, MARCH, march(31, 23), MARCH.end) == 3_600
        assert prorate(seconds, MARCH, MARCH.end - timedelta(minutes=1), MARCH.end) == 60
        assert prorate(seconds, MARCH, MARCH.end - timedelta(seconds=1), MARCH.end) == 1

    def test_clips_to_the_period(self) -> None:
        before = MARCH.start - timedelta(days=10)
        after = MARCH.end + timedelta(days=10)
        assert prorate(3_100, MARCH, before, march(2)) == 100
        assert prorate(3_100, MARCH, march(31), after) == 100
        assert prorate(3_100, MARCH, before, after) == 3_100

    def test_a_span_outside_the_period_or_reversed_is_zero(self) -> None:
        assert prorate(3_100, MARCH, MARCH.end, MARCH.end + timedelta(days=3)) == 0
        assert prorate(3_100, MARCH, march(20), march(10)) == 0

    def test_naive_bounds_are_refused(self) -> None:
        with pytest.raises(ValueError, match="start must be a timezone-aware"):
            prorate(100, MARCH, datetime(2026, 3, 5), MARCH.end)

    def test_amounts_larger_than_decimal_default_precision_stay_exact(self) -> None:
        amount = 10**30 + 7
        assert prorate(amount, MARCH, MARCH.start, MARCH.end) == amount


class TestPlanChange:
    def test_upgrade_half_way_credits_and_charges_the_rest(self) -> None:
        credit, charge = plan_change_lines(3_100, 6_200, MARCH, march(16, 12))
        # 15.5 of 31 days remain.
        assert credit == ProrationLine(
            ProrationKey.UNUSED_TIME, -1_550, march(16, 12), MARCH.end, 1
        )
        assert charge == ProrationLine(
            ProrationKey.REMAINING_TIME, 3_100, march(16, 12), MARCH.end, 1
        )
        assert credit.start.tzinfo is UTC

    def test_downgrade_nets_to_a_credit(self) -> None:
        credit, charge = plan_change_lines(6_200, 3_100, MARCH, march(30))
        assert (credit.amount_fen, charge.amount_fen) == (-400, 200)

    def test_at_the_start_and_at_the_end(self) -> None:
        credit, charge = plan_change_lines(999, 1_999, MARCH, MARCH.start)
        assert credit.amount_fen + charge.amount_fen == 1_000
        credit, charge = plan_change_lines(999, 1_999, MARCH, MARCH.end)
        assert (credit.amount_fen, charge.amount_fen) == (0, 0)

    def test_an_instant_outside_the_period_is_refused(self) -> None:
        with pytest.raises(ValueError, match="within the billing period"):
            plan_change_lines(100, 200, MARCH, MARCH.end + timedelta(seconds=1))
        with pytest.raises(ValueError, match="within the billing period"):
            plan_change_lines(100, 200, MARCH, MARCH.start - timedelta(seconds=1))

    def test_negative_amounts_are_refused(self) -> None:
        with pytest.raises(ValueError, match="old_period_fen must not be negative"):
            plan_change_lines(-1, 200, MARCH, march(5))
        with pytest.raises(ValueError, match="new_period_fen must not be negative"):
            plan_change_lines(100, -200, MARCH, march(5))


class TestSeatChange:
    def test_added_seats_are_charged_for_the_rest_of_the_period(self) -> None:
        line = seat_change_line(3_100, 2, 5, MARCH, march(22))
        assert line == ProrationLine(ProrationKey.SEATS_ADDED, 3 * 1_000, march(22), MARCH.end, 3)

    def test_removed_seats_are_credited(self) -> None:
        line = seat_change_line(3_100, 5, 1, MARCH, march(22))
        assert line == ProrationLine(
            ProrationKey.SEATS_REMOVED, -4 * 1_000, march(22), MARCH.end, 4
        )

    def test_bad_seat_changes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="must differ"):
            seat_change_line(100, 3, 3, MARCH, march(5))
        with pytest.raises(ValueError, match="new_seats must not be negative"):
            seat_change_line(100, 3, -1, MARCH, march(5))
        with pytest.raises(ValueError, match="unit_fen must not be negative"):
            seat_change_line(-100, 3, 4, MARCH, march(5))
        with pytest.raises(ValueError, match="within the billing period"):
            seat_change_line(100, 3, 4, MARCH, MARCH.end + timedelta(days=1))


# --- properties -------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10**9)
signed_amounts = st.integers(min_value=-(10**9), max_value=10**9)
seats = st.integers(min_value=0, max_value=10_000)
shares = st.integers(min_value=0, max_value=10**6)


@st.composite
def periods(draw: st.DrawFn) -> Period:
    """Draw a monthly or yearly Shanghai period with a start to the microsecond."""
    anchor = draw(st.datetimes(datetime(2000, 1, 1), datetime(2060, 1, 1), timezones=st.just(UTC)))
    interval = draw(st.sampled_from(["month", "year"]))
    return period_at(anchor, interval, "Asia/Shanghai", draw(st.integers(0, 24)))


def instant_in(period: Period, share: int) -> datetime:
    """Return the instant a share (in millionths) of the way through the period."""
    return period.start + period.duration * share / 10**6


@given(signed_amounts, periods(), shares)
def test_two_halves_sum_to_the_whole_within_a_fen(amount: int, period: Period, share: int) -> None:
    split = instant_in(period, share)
    halves = prorate(amount, period, period.start, split) + prorate(
        amount, period, split, period.end
    )
    assert abs(halves - amount) <= 1


@given(amounts, periods(), st.lists(shares, min_size=1, max_size=6))
def test_n_splits_sum_to_the_whole_within_a_fen_per_split(
    amount: int, period: Period, cut_shares: list[int]
) -> None:
    cuts = [period.start, *sorted(instant_in(period, s) for s in cut_shares), period.end]
    parts = [prorate(amount, period, a, b) for a, b in pairwise(cuts)]
    assert abs(sum(parts) - amount) <= len(cut_shares)


@given(signed_amounts, periods(), shares)
def test_a_credit_is_the_mirror_of_a_charge(amount: int, period: Period, share: int) -> None:
    at = instant_in(period, share)
    assert prorate(-amount, period, at, period.end) == -prorate(amount, period, at, period.end)


@given(amounts, periods(), shares, shares)
def test_prorating_is_monotone_in_time(amount: int, period: Period, a: int, b: int) -> None:
    early, late = instant_in(period, min(a, b)), instant_in(period, max(a, b))
    rest_from_early = prorate(amount, period, early, period.end)
    rest_from_late = prorate(amount, period, late, period.end)
    assert 0 <= rest_from_late <= rest_from_early <= amount


@given(amounts, amounts, periods())
def test_a_plan_change_at_the_start_nets_to_the_difference(
    old: int, new: int, period: Period
) -> None:
    credit, charge = plan_change_lines(old, new, period, period.start)
    assert (credit.amount_fen, charge.amount_fen) == (-old, new)


@given(amounts, amounts, periods())
def test_a_plan_change_at_the_end_nets_to_zero(old: int, new: int, period: Period) -> None:
    credit, charge = plan_change_lines(old, new, period, period.end)
    assert credit.amount_fen + charge.amount_fen == 0


@given(amounts, amounts, periods(), shares)
def test_a_plan_change_credits_at_most_the_old_and_charges_at_most_the_new(
    old: int, new: int, period: Period, share: int
) -> None:
    credit, charge = plan_change_lines(old, new, period, instant_in(period, share))
    assert -old <= credit.amount_fen <= 0 <= charge.amount_fen <= new
    assert credit.end == charge.end == period.end


@given(st.integers(0, 10**6), seats, seats, periods())
def test_a_seat_change_at_the_start_costs_whole_seats(
    unit: int, old: int, new: int, period: Period
) -> None:
    assume(old != new)
    line = seat_change_line(unit, old, new, period, period.start)
    assert line.amount_fen == (new - old) * unit
    assert line.quantity == abs(new - old)


@given(st.integers(0, 10**6), seats, seats, periods(), shares)
def test_adding_then_removing_the_same_seats_nets_to_zero(
    unit: int, old: int, new: int, period: Period, share: int
) -> None:
    assume(old != new)
    at = instant_in(period, share)
    there = seat_change_line(unit, old, new, period, at)
    back = seat_change_line(unit, new, old, period, at)
    assert there.amount_fen + back.amount_fen == 0
