"""Exact money: ``Decimal`` amounts quantized to each currency's ISO 4217 minor unit.

Rounding rule (stated once, used everywhere): amounts derived by a percentage or a
proportion are rounded to the currency's minor unit with ROUND_HALF_UP, the
commercial rule; input amounts must already be exact in the minor unit.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from iso4217 import Currency

ZERO = Decimal(0)
ROUNDING = ROUND_HALF_UP


def minor_unit(currency: str) -> int:
    """Number of decimals of ``currency`` (JPY 0, CNY 2, KWD 3); ValueError if unknown."""
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        raise ValueError(f"unknown currency {currency!r} (expected an ISO 4217 code such as CNY, USD, JPY)") from None
    if exponent is None:
        raise ValueError(f"{currency!r} is not a currency that can be paid (it has no minor unit)")
    return exponent


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` to the minor unit of ``currency`` (ROUND_HALF_UP)."""
    return amount.quantize(quantum(currency), rounding=ROUNDING)


def parse_amount(text: object, currency: str) -> Decimal:
    """Parse a non-negative amount given as a string, exact in ``currency``'s minor unit.

    Raises ValueError with a message that says what was expected.
    """
    if not isinstance(text, str):
        raise ValueError(f'expected the amount as a decimal string such as "12.50", got {type(text).__name__}')
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f'expected a decimal amount such as "12.50", got {text!r}') from None
    if not value.is_finite():
        raise ValueError(f"expected a finite amount, got {text!r}")
    if value < 0:
        raise ValueError(f"expected a non-negative amount, got {text!r}")
    digits = minor_unit(currency)
    if value != value.quantize(Decimal(1).scaleb(-digits), rounding=ROUNDING):
        raise ValueError(f"{text!r} has more decimals than {currency} allows ({digits})")
    return quantize(value, currency)


def fmt(amount: Decimal, currency: str) -> str:
    """The canonical string form: exactly the currency's number of decimals."""
    return str(quantize(amount, currency))
