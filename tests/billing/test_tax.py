"""VAT (增值税) split out of tax-inclusive amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.tax import DEFAULT_VAT_RATE, TaxSplit, split_inclusive


class TestSplitInclusive:
    def test_default_rate_is_six_percent(self) -> None:
        assert Decimal("0.06") == DEFAULT_VAT_RATE
        # 10,600 fen gross at 6% is exactly 10,000 net and 600 tax.
        assert split_inclusive(10_600) == TaxSplit(net_fen=10_000, tax_fen=600)

    def test_tax_rounds_half_up_and_net_takes_the_rest(self) -> None:
        # 9,900 × 0.06 / 1.06 = 560.377… → 560.
        assert split_inclusive(9_900) == (9_340, 560)
        # 53 × 0.06 / 1.06 = 3.0 exactly; 9 × 0.06 / 1.06 = 0.509… → 1.
        assert split_inclusive(53) == (50, 3)
        assert split_inclusive(9) == (8, 1)
        # An exact half: at 60%, the tax is 0.6 / 1.6 = 3/8 of the gross; 4 × 3/8 = 1.5 → 2.
        assert split_inclusive(4, Decimal("0.6")) == (2, 2)
        assert split_inclusive(-4, Decimal("0.6")) == (-2, -2)

    def test_a_credit_splits_as_the_mirror_of_a_charge(self) -> None:
        assert split_inclusive(-9_900) == (-9_340, -560)
        assert split_inclusive(-9) == (-8, -1)

    def test_zero_and_a_zero_rate(self) -> None:
        assert split_inclusive(0) == (0, 0)
        assert split_inclusive(12_345, Decimal(0)) == (12_345, 0)

    def test_other_chinese_rates(self) -> None:
        assert split_inclusive(11_300, Decimal("0.13")) == (10_000, 1_300)
        assert split_inclusive(10_900, Decimal("0.09")) == (10_000, 900)

    @pytest.mark.parametrize(
        "rate", [Decimal(1), Decimal("1.5"), Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity")]
    )
    def test_a_rate_outside_zero_to_one_is_refused(self, rate: Decimal) -> None:
        with pytest.raises(ValueError, match="rate must"):
            split_inclusive(100, rate)

    def test_a_float_rate_is_refused(self) -> None:
        with pytest.raises(ValueError, match="rate must be a finite Decimal"):
            split_inclusive(100, 0.06)  # type: ignore[arg-type]


gross = st.integers(min_value=-(10**12), max_value=10**12)
rates = st.decimals(min_value=0, max_value="0.9999", places=4)


@given(gross, rates)
def test_net_and_tax_add_up_to_the_gross(amount: int, rate: Decimal) -> None:
    net, tax = split_inclusive(amount, rate)
    assert net + tax == amount


@given(gross, rates)
def test_negative_amounts_mirror_positive_ones(amount: int, rate: Decimal) -> None:
    net, tax = split_inclusive(amount, rate)
    assert split_inclusive(-amount, rate) == (-net, -tax)


@given(st.integers(min_value=0, max_value=10**12), rates)
def test_tax_on_a_charge_is_between_zero_and_half_the_gross(amount: int, rate: Decimal) -> None:
    net, tax = split_inclusive(amount, rate)
    # rate / (1 + rate) < 1/2 for rates below 1, so tax never exceeds net by more than rounding.
    assert 0 <= tax <= amount
    assert tax <= net + 1


@given(st.integers(min_value=0, max_value=10**12), rates)
def test_tax_is_the_rounded_exact_share(amount: int, rate: Decimal) -> None:
    _, tax = split_inclusive(amount, rate)
    exact = Decimal(amount) * rate / (1 + rate)
    assert abs(Decimal(tax) - exact) <= Decimal("0.5")


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_tax_grows_with_the_gross(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert split_inclusive(low).tax_fen <= split_inclusive(high).tax_fen
