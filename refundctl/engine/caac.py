"""China's 2021 passenger service rules (``cn-caac-2021``): involuntary refunds without fee, and the
7-working-day deadline of every refund on a carrier established under PRC law.

Carrier-based: the order is covered when a segment is operated by a carrier with one of the
regulation's ``[scope] carriers`` attributes (``cn_carrier``), on any route. A cancelled or
changed segment of such a carrier that the traveller did not accept is an involuntary
refund: the whole unused part of the ticket, whatever the cause. Any other refund is
voluntary: the fare rules set its amount, and the regulation only sets its due date
(``deadline_only``), when the refund is more than zero.
"""

from __future__ import annotations

from datetime import datetime

from refundctl.engine.journeys import journeys
from refundctl.engine.verdicts import Assessment, Verdict, dated, licensed, out_of_scope, with_due
from refundctl.orders.model import FlightOrder
from refundctl.policy.model import PolicySet, Regulation


def assess_caac(reg: Regulation, order: FlightOrder, policies: PolicySet, requested: datetime) -> Assessment:
    kinds = " or ".join(reg.carriers)
    facts: dict[str, tuple[bool, str]] = {}
    for s in order.segments:
        if s.carrier not in facts:
            facts[s.carrier] = licensed(reg, policies, s.carrier, reg.carriers)
    covered = [i for i, s in enumerate(order.segments) if facts[s.carrier][0]]
    if not covered:
        return out_of_scope(
            reg, f"no segment is operated by a {kinds}: " + "; ".join(fact for _, fact in facts.values())
        )
    trips = journeys(order.segments)
    disrupted = [i for i in covered if order.segments[i].status in ("cancelled", "changed")]
    carriers = "; ".join(sorted({facts[order.segments[i].carrier][1] for i in covered}))
    if disrupted and not order.change_accepted:
        which = ", ".join(f"{i + 1} ({order.segments[i].status})" for i in disrupted)
        why = (f"segment(s) {which} cancelled or changed by the carrier, not accepted (change_accepted = false): "
               "an involuntary refund (旅客非自愿退票), no refund fee: the whole unused part of the ticket is "
               "refunded, whatever the cause")  # fmt: skip
        verdicts = tuple(Verdict(j, (), (why,), "unused", numbers=(carriers,)) for j in trips)
        return with_due(reg, order, verdicts, requested)
    accepted = " (the traveller accepted the change: a later refund is voluntary)" if disrupted else ""
    why = (f"a refund on this ticket is due within {reg.due.days} working days of the request, voluntary ones "
           f"included; the fare rules set its amount{accepted}")  # fmt: skip
    verdicts = tuple(
        Verdict(j, (), (why,), numbers=(carriers,)) if set(j.indexes) & set(covered)
        else Verdict(j, (f"no segment of {j.label()} is operated by a {kinds}",))
        for j in trips
    )  # fmt: skip
    return dated(Assessment(reg, verdicts=verdicts, deadline_only=True), order, requested)
