"""Stripe's amounts: integers in the currency's smallest unit, by Stripe's rules (not always ISO 4217's).

From https://docs.stripe.com/currencies ("Minor units in API amounts", "Zero-decimal",
"Three-decimal currencies", "Special cases"):

- Most currencies: hundredths (10.50 USD -> 1050).
- Zero-decimal currencies as they are (500 JPY -> 500). MGA is zero-decimal at Stripe although
  ISO 4217 gives it two decimals: an MGA amount with a fraction cannot be sent.
- Three-decimal currencies (BHD, JOD, KWD, OMR, TND): thousandths, and Stripe requires the last
  digit to be 0 (12.345 KWD is refused; 12.340 KWD -> 12340).
- ISK: two decimals in the API but whole krónur only (multiples of 100): 40 ISK -> 4000.

An amount Stripe cannot represent exactly is an :class:`UnrepresentableAmount`, raised before
anything is sent; it is never rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Units per step Stripe accepts: three-decimal currencies in tens, ISK in whole krónur.
_STEP = {**dict.fromkeys(THREE_DECIMAL, 10), "ISK": 100}


class UnrepresentableAmount(ValueError):
    """The amount has no exact integer form in Stripe's smallest unit of its currency."""


@dataclass(frozen=True, slots=True)
class StripeUnit:
    decimals: int  # the power of ten between the amount and Stripe's integer
    step: int  # the integer must be a multiple of this

    @property
    def smallest(self) -> Decimal:
        """The smallest amount Stripe accepts in this currency (0.01 USD, 1 JPY, 0.010 KWD, 1 ISK)."""
        return Decimal(self.step).scaleb(-self.decimals)


def stripe_unit(currency: str) -> StripeUnit:
    code = currency.upper()
    decimals = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    return StripeUnit(decimals, _STEP.get(code, 1))


def to_minor(amount: Decimal, currency: str) -> int:
    """``amount`` as Stripe's integer, or UnrepresentableAmount naming the nearest amounts that are."""
    unit = stripe_unit(currency)
    if not amount.is_finite() or amount <= 0:
        raise UnrepresentableAmount(f"{amount} {currency}: Stripe refunds a positive amount")
    scaled = amount.scaleb(unit.decimals)
    if scaled != scaled.to_integral_value() or int(scaled) % unit.step:
        below = (scaled // unit.step) * unit.step
        rule = (
            f"a multiple of {unit.smallest}"
            if unit.step > 1
            else f"{unit.decimals} decimal(s)"
            if unit.decimals
            else "whole units"
        )
        raise UnrepresentableAmount(
            f"{amount} {currency} cannot be refunded exactly through Stripe, which takes {currency} in {rule} "
            f"(nearest: {from_minor(int(below), currency)} or {from_minor(int(below) + unit.step, currency)}); "
            "nothing was sent"
        )
    return int(scaled)


def from_minor(units: int, currency: str) -> Decimal:
    """Stripe's integer back as an amount, written with Stripe's decimals for the currency."""
    decimals = stripe_unit(currency).decimals
    return Decimal(units).scaleb(-decimals).quantize(Decimal(1).scaleb(-decimals))
