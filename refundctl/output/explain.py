"""``refundctl explain``'s text: an explanation (``refundctl.engine.explain``) as a reader sees it."""

from __future__ import annotations

from typing import Any


def render_text(data: dict[str, Any]) -> str:
    d = data["decision"]
    cur = d["currency"]
    lines = [f"Order {data['order_id']} as of {data['as_of']}", ""]
    fr = data["fare_rules"]
    lines.append(f"Fare rules: {fr['policy'] or 'none'}" + (f" -> {fr['rule']}" if fr["rule"] else ""))
    if not fr["matched"]:
        lines.append(f"  not matched: {fr['why_not']}")
    if fr.get("anchor"):
        a = fr["anchor"]
        lines.append(f"  anchor (first unflown departure or check-in): {a['utc']} = {a['local']} ({a['zone']})")
    for w in fr["windows"]:
        start = f"after {w['after']['utc']} ({w['after']['local']})" if w["after"] else "from booking"
        end = f"up to {w['until']['utc']} ({w['until']['local']}) inclusive" if w["until"] else "with no end"
        mark = "*" if w["in_force"] else " "
        lines.append(f"  {mark} {w['id']}: {w['penalty']}; {start} {end}")
    for r in fr["rounding"]:
        lines.append(f"  rounding {r['rule']}: {r['percent']}% of {r['charge']} = {r['exact']} -> {r['rounded']} "
                     f"({r['rounding']})")  # fmt: skip
    fd = fr["decision"]
    lines.append(f"  fare rules alone: {fd['outcome']}, refund {fd['refund']} {cur}")
    lines.append("")
    if data["journeys"]:
        lines.append("Journeys (a break of more than 24 h, or a return to an airport already passed, ends one):")
        for j in data["journeys"]:
            segments = ", ".join(str(i + 1) for i in j["segments"])
            lines.append(f"  journey {j['journey']}: {j['origin']}-{j['destination']}, segment(s) {segments}, "
                         f"{j['departs_at']} to {j['arrives_at']}")  # fmt: skip
    lines.append("Regulations:")
    for r in data["regulations"]:
        status = "APPLIES" if r["applies"] else "REVIEW" if r["review"] else "does not apply"
        lines.append(f"  {r['id']} ({r['policy']}): {status}")
        lines.extend(f"    - {why}" for why in r["why_not"] + ([r["review"]] if r["review"] else []))
        for v in r["journeys"]:
            verdict = "applies" if v["applies"] else "does not apply"
            lines.append(f"    journey {v['journey']}: {verdict}")
            lines.extend(f"      - {why}" for why in v["why"] + v["why_not"] + v["numbers"])
            if v["compensation"]:
                c = v["compensation"]
                lines.append(f"      - compensation {c['amount']} {c['currency']}")
        lines.extend(f"    - {note}" for note in r["notes"])
        if r["due_by"]:
            lines.append(f"    - due by {r['due_by']}{' (PROVISIONAL)' if r['due_by_provisional'] else ''}")
    lines.append("Waivers:")
    for w in data["waivers"]:
        status = ("WINNER" if w["winner"] else "matched") if w["matched"] else "not matched"
        extra = f", would add {w['would_add']} {cur}" if w["matched"] else ""
        evidence = "" if w["evidence_present"] else ", evidence missing"
        lines.append(f"  {w['id']} ({w['policy']}): {status}{extra}{evidence}")
        lines.extend(f"    - {why}" for why in w["why_not"])
    lines.append("")
    lines.append("Amounts:")
    for h in d["rules"]:
        amount = f"{h['amount']} {h.get('currency', cur)}"
        note = f"  ({h['note']})" if h["note"] else ""
        lines.append(f"  {h['effect']:<15} {amount:>16}  {h['component']:<16} {h['rule']}{note}")
    lines.append("")
    funded = ", ".join(f"{k} {v}" for k, v in d["funded_by"].items())
    lines.append(f"Decision: {d['outcome']}; paid {d['paid']}, refund {d['refund']}, penalty {d['penalty']}, "
                 f"non-refundable {d['non_refundable']} {cur}; funded by {funded}")  # fmt: skip
    if d["waivers"] or d["also_matched"]:
        also = ", ".join(d["also_matched"]) or "none"
        lines.append(f"  waiver: {', '.join(d['waivers']) or 'none'}; also matched: {also}")
    if d["regulations"]:
        provisional = " (PROVISIONAL: the holiday calendar of that year is not published yet)" \
            if d["due_by_provisional"] else ""  # fmt: skip
        lines.append(f"  regulations: {', '.join(d['regulations'])}; due by {d['due_by'] or '-'}{provisional}")
    for c in d["compensation"]:
        segments = ", ".join(str(i + 1) for i in c["journey"])
        lines.append(f"  compensation: {c['amount']} {c['currency']} ({c['regulation']}, segment(s) {segments}), "
                     "paid apart from the refund")  # fmt: skip
    if d["reason"]:
        lines.append(f"  reason: {d['reason']}")
    return "\n".join(lines) + "\n"
