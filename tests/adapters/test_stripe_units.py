"""Stripe's smallest units (https://docs.stripe.com/currencies): each rule at its boundary, nothing rounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from refundctl.adapters.stripe_units import UnrepresentableAmount, from_minor, stripe_unit, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("10.50", "USD", 1050),  # two-decimal: hundredths
        ("0.01", "CNY", 1),
        ("1550.00", "CNY", 155000),
        ("500", "JPY", 500),  # zero-decimal: as it is
        ("1", "KRW", 1),
        ("12.340", "KWD", 12340),  # three-decimal: thousandths, last digit 0
        ("0.010", "BHD", 10),
        ("7.5", "JOD", 7500),
        ("40", "ISK", 4000),  # ISK: two decimals in the API, whole krónur only
        ("12", "MGA", 12),  # zero-decimal at Stripe, two decimals in ISO 4217
    ],
)
def test_amounts_in_stripes_smallest_unit(amount: str, currency: str, units: int) -> None:
    assert to_minor(Decimal(amount), currency) == units


@pytest.mark.parametrize(
    ("amount", "currency", "why"),
    [
        ("12.345", "KWD", "a multiple of 0.010"),  # Stripe requires the last of three digits to be 0
        ("0.005", "OMR", "a multiple of 0.010"),
        ("0.001", "TND", "a multiple of 0.010"),
        ("40.10", "ISK", "a multiple of 1.00"),
        ("12.50", "MGA", "whole units"),
        ("0.5", "JPY", "whole units"),
        ("10.005", "USD", r"2 decimal\(s\)"),
    ],
)
def test_unrepresentable_amounts_are_errors_never_rounded(amount: str, currency: str, why: str) -> None:
    with pytest.raises(UnrepresentableAmount, match=why) as caught:
        to_minor(Decimal(amount), currency)
    assert "nothing was sent" in str(caught.value)


def test_the_error_names_the_nearest_representable_amounts() -> None:
    with pytest.raises(UnrepresentableAmount, match=r"nearest: 12\.340 or 12\.350"):
        to_minor(Decimal("12.345"), "KWD")


@pytest.mark.parametrize("amount", ["0", "-1.00", "NaN", "Infinity"])
def test_only_positive_finite_amounts(amount: str) -> None:
    with pytest.raises(UnrepresentableAmount, match="positive"):
        to_minor(Decimal(amount), "USD")


@pytest.mark.parametrize(
    ("units", "currency", "amount"),
    [(1050, "USD", "10.50"), (500, "JPY", "500"), (12340, "KWD", "12.340"), (4000, "ISK", "40.00")],
)
def test_back_from_stripes_units(units: int, currency: str, amount: str) -> None:
    assert str(from_minor(units, currency)) == amount
    assert to_minor(from_minor(units, currency), currency) == units


def test_lowercase_codes_as_stripe_writes_them() -> None:
    assert stripe_unit("kwd") == stripe_unit("KWD")
    assert stripe_unit("jpy").decimals == 0
