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
    operators = tuple(dict.fromkeys([s.carrier for s in order.segments]))  # in order of first appearance
    facts, uncovered = _facts(reg, policies, operators)
    if uncovered is not None:
        return uncovered
    covered = [i for i, s in enumerate(order.segments) if facts[s.carrier][0]]
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


Facts = tuple[dict[str, tuple[bool, str]], Assessment | None]
# Orders on the same carriers get the same facts, and when none is covered the same answer:
# worked out once per regulation, policy set and carriers, by id() (both kept and compared).
_FACTS: dict[tuple[int, int, tuple[str, ...]], tuple[Regulation, PolicySet, Facts]] = {}


def _facts(reg: Regulation, policies: PolicySet, carriers: tuple[str, ...]) -> Facts:
    """Whether each carrier is covered and the fact used; the out-of-scope answer when none is."""
    known = _FACTS.get((id(reg), id(policies), carriers))
    if known is not None and known[0] is reg and known[1] is policies:
        return known[2]
    if len(_FACTS) > 1024:  # policies loaded again and again (tests), or many carriers: keep it bounded
        _FACTS.clear()
    facts = {carrier: licensed(reg, policies, carrier, reg.carriers) for carrier in carriers}
    uncovered = None
    if not any(covered for covered, _ in facts.values()):
        why = f"no segment is operated by a {' or '.join(reg.carriers)}: " + "; ".join(f for _, f in facts.values())
        uncovered = out_of_scope(reg, why)
    _FACTS[id(reg), id(policies), carriers] = (reg, policies, (facts, uncovered))
    return facts, uncovered
