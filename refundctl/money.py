"""Exact money: ``Decimal`` amounts quantized to each currency's ISO 4217 minor unit.

Rounding rule (stated once, used everywhere): amounts derived by a percentage or a
proportion are rounded to the currency's minor unit with ROUND_HALF_UP, the
commercial rule; input amounts must already be exact in the minor unit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache, lru_cache

from iso4217 import Currency

from refundctl.errors import shown

ZERO = Decimal(0)
ROUNDING = ROUND_HALF_UP
# Plain decimal notation only (no exponent, underscores, spaces or plus sign), so the
# number of decimals written is the number of decimals meant.
PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# Input amounts stay below 10**15 (any real fare or stay), so that every sum, product
# and proportion the engine forms stays exact within Decimal's 28 significant digits.
MAX_INTEGER_DIGITS = 15


@cache
def minor_unit(currency: str) -> int:
    """Number of decimals of ``currency`` (JPY 0, CNY 2, KWD 3); ValueError if unknown."""
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        raise ValueError(f"unknown currency {currency!r} (expected an ISO 4217 code such as CNY, USD, JPY)") from None
    if exponent is None:
        raise ValueError(f"{currency!r} is not a currency that can be paid (it has no minor unit)")
    return exponent


@cache
def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` to the minor unit of ``currency`` (ROUND_HALF_UP)."""
    return amount.quantize(quantum(currency), ROUNDING)


def parse_amount(text: object, currency: str) -> Decimal:
    """Parse a non-negative amount given as a string, exact in ``currency``'s minor unit.

    Raises ValueError with a message that says what was expected.
    """
    if not isinstance(text, str):
        raise ValueError(f'expected the amount as a decimal string such as "12.50", got {type(text).__name__}')
    # The same few amounts recur across a batch (taxes, fees, common fares), and a Decimal is
    # immutable: short ones are parsed once (a hostile 0000...1.00 is not kept in memory).
    return _parse_short(text, currency) if len(text) <= 32 else _parse_text(text, currency)


def _parse_text(text: str, currency: str) -> Decimal:
    if not PLAIN.fullmatch(text):
        raise ValueError(f'expected a decimal amount such as "12.50", got {shown(text)}')
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - PLAIN admits only valid decimals
        raise ValueError(f'expected a decimal amount such as "12.50", got {shown(text)}') from None
    if value < 0:
        raise ValueError(f"expected a non-negative amount, got {shown(text)}")
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"expected at most {MAX_INTEGER_DIGITS} digits before the decimal point, got {shown(text)}")
    # "12.500" is an error in CNY too: more decimals written than the currency has
    # (PLAIN matched, so the digits after the point are exactly the decimals written).
    if len(text.partition(".")[2]) > minor_unit(currency):
        raise ValueError(f"{text!r} has more decimals than {currency} allows ({minor_unit(currency)})")
    return abs(value.quantize(quantum(currency), ROUNDING))  # "-0" is zero, never "-0.00"


_parse_short = lru_cache(maxsize=4096)(_parse_text)


def fmt(amount: Decimal, currency: str) -> str:
    """The canonical string form: exactly the currency's number of decimals."""
    return formatter(currency)(amount)


@cache
def formatter(currency: str) -> Callable[[Decimal], str]:
    """``fmt`` for one currency, its quantum looked up once (an output row formats a dozen amounts)."""
    exp = quantum(currency)

    def formatted(amount: Decimal) -> str:
        return str(amount.quantize(exp, ROUNDING))  # positional: a keyword costs a third more per call

    return formatted
