"""Money: minor units, ROUND_HALF_UP, strict parsing of input amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from refundctl.money import fmt, minor_unit, parse_amount, quantize


@pytest.mark.parametrize(("currency", "digits"), [("JPY", 0), ("CNY", 2), ("USD", 2), ("KWD", 3)])
def test_minor_unit(currency: str, digits: int) -> None:
    assert minor_unit(currency) == digits


@pytest.mark.parametrize("code", ["ABC", "cny", ""])
def test_unknown_currency_is_a_clear_error(code: str) -> None:
    with pytest.raises(ValueError, match="unknown currency"):
        minor_unit(code)


def test_currency_without_minor_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="no minor unit"):
        minor_unit("XAU")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.005", "CNY", "0.01"),  # half goes up
        ("0.004", "CNY", "0.00"),
        ("2.675", "CNY", "2.68"),  # exact decimal, no binary-float surprise
        ("0.015", "CNY", "0.02"),
        ("0.025", "CNY", "0.03"),  # half-up, not banker's (half-even would give 0.02)
        ("12.5", "JPY", "13"),
        ("11.5", "JPY", "12"),
        ("12.4999", "JPY", "12"),
        ("1.0005", "KWD", "1.001"),
        ("1.0004", "KWD", "1.000"),
    ],
)
def test_quantize_rounds_half_up_to_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert str(quantize(Decimal(amount), currency)) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [("12", "CNY", "12.00"), ("7", "JPY", "7"), ("1.5", "KWD", "1.500"), ("0", "CNY", "0.00")],
)
def test_fmt_writes_exactly_the_currency_decimals(amount: str, currency: str, expected: str) -> None:
    assert fmt(Decimal(amount), currency) == expected


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("12.50", "CNY", Decimal("12.50")),
        ("12.5", "CNY", Decimal("12.50")),
        ("12", "CNY", Decimal("12.00")),
        ("0", "CNY", Decimal("0.00")),
        ("1000", "JPY", Decimal("1000")),
        ("1.234", "KWD", Decimal("1.234")),
    ],
)
def test_parse_amount_accepts_exact_amounts(text: str, currency: str, expected: Decimal) -> None:
    value = parse_amount(text, currency)
    assert value == expected
    assert str(value) == str(expected)  # quantized to the minor unit


def test_parse_amount_negative_zero_is_plain_zero() -> None:
    assert str(parse_amount("-0", "CNY")) == "0.00"


@pytest.mark.parametrize(
    ("text", "currency"),
    [("12.345", "CNY"), ("12.500", "CNY"), ("100.5", "JPY"), ("100.0", "JPY"), ("1.2345", "KWD")],
)
def test_parse_amount_refuses_more_decimals_than_the_currency(text: str, currency: str) -> None:
    with pytest.raises(ValueError, match=f"more decimals than {currency} allows"):
        parse_amount(text, currency)


def test_parse_amount_refuses_negative_amounts() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        parse_amount("-1.00", "CNY")


@pytest.mark.parametrize("text", ["abc", "", "NaN", "Infinity", "1e3", "1_000", " 12.50", "+5", "1,000.00", "12."])
def test_parse_amount_refuses_anything_but_plain_decimals(text: str) -> None:
    with pytest.raises(ValueError, match="expected a decimal amount"):
        parse_amount(text, "CNY")


@pytest.mark.parametrize("value", [12.5, 12, None, ["1.00"]])
def test_parse_amount_wants_a_string(value: object) -> None:
    with pytest.raises(ValueError, match="as a decimal string"):
        parse_amount(value, "CNY")


def test_parse_amount_unknown_currency() -> None:
    with pytest.raises(ValueError, match="unknown currency 'ZZZ'"):
        parse_amount("1.00", "ZZZ")


@pytest.mark.parametrize("text", ["1" + "0" * 15, "9" * 27 + ".99", "9" * 40])
def test_parse_amount_refuses_amounts_too_large_to_stay_exact(text: str) -> None:
    # Beyond Decimal's 28 significant digits sums would round (or quantize would raise).
    with pytest.raises(ValueError, match="at most 15 digits before the decimal point"):
        parse_amount(text, "CNY")


def test_parse_amount_largest_amount_and_leading_zeros() -> None:
    assert str(parse_amount("9" * 15 + ".999", "KWD")) == "9" * 15 + ".999"
    assert str(parse_amount("0" * 30 + "1.00", "CNY")) == "1.00"
