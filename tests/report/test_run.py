"""``report`` sums journals as it reads them, a page at a time: the same report whatever the page size, each order
counted once across journals, and the overlap refused with the first ids named and the rest counted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.errors import JournalError
from refundctl.report import SECTIONS, load_report
from refundctl.submit import journal as journal_module
from refundctl.submit.journal import Journal, Plan, PlatformPlan, Unsubmitted

AS_OF = datetime(2026, 12, 30, tzinfo=UTC)


def _journal(path: Path, ids: range, shard: str) -> Path:
    """Orders ``prefix-N``: every third not eligible (manual_review), the others planned, every fourth of them with
    a platform leg, every fifth accepted; one policies' digest, ``shard``."""
    journal = Journal.open(path)
    try:
        plans, unsubmitted = [], []
        for n in ids:
            oid = f"O-{n:03d}"
            if n % 3 == 0:
                reason = f"no airline policy covers carrier X{n % 2}"
                unsubmitted.append(Unsubmitted(oid, "not_eligible", "manual_review", "CNY", Decimal(0), reason))
                continue
            platform = PlatformPlan(f"pfk_{oid}", Decimal("2.00"), f"pi_{oid}") if n % 4 == 0 else None
            plans.append(Plan(oid, f"rfk_{oid}", Decimal(f"{n}.50"), "CNY", "full", None, (), date(2026, 12, 1),
                              platform))  # fmt: skip
        journal.plan(plans, unsubmitted)
        for plan in plans[::5]:
            journal.mark_sent(plan.order_id, plan.amount, None, None)
            journal.mark_accepted(plan.order_id, refund_id=f"rf_{plan.order_id}", status="pending", answer={},
                                  attempts=1)  # fmt: skip
        journal.set_meta("policies", "digest")
        journal.add_shard(shard)
    finally:
        journal.close()
    return path


def _everything(paths: list[Path], allow_mixed: bool = False) -> dict[str, Any]:
    report = load_report(paths, AS_OF, allow_mixed=allow_mixed)
    return {
        "sections": {section: list(report.rows(section)) for section in SECTIONS},
        "headline": report.headline(),
        "sources": report.sources(),
        "notes": report.notes,
    }


def test_the_report_is_the_same_whatever_the_page_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [
        _journal(tmp_path / "a.sqlite", range(0, 40), "0/2"),
        _journal(tmp_path / "b.sqlite", range(40, 70), "1/2"),
    ]
    whole = _everything(paths)
    monkeypatch.setattr(journal_module, "_CHUNK", 3)  # journals read three rows at a time
    assert _everything(paths) == whole
    assert len(whole["sections"]["orders"]) == 70
    assert whole["sections"]["summary"][2] == {"handling": "manual_review", "orders": 24, "percent": "34.3"}
    assert whole["sections"]["reasons"] == [
        {"outcome": "manual_review", "reason": "no airline policy covers carrier X0", "orders": 12, "percent": "17.1"},
        {"outcome": "manual_review", "reason": "no airline policy covers carrier X1", "orders": 12, "percent": "17.1"},
    ]
    assert [(r["payer"], r["legs"], r["overdue"]) for r in whole["sections"]["payers"]] == [
        ("supplier", 46, 46), ("platform", 12, 12)
    ]  # fmt: skip


def test_an_order_in_two_journals_is_refused_naming_five_and_counting_the_rest(tmp_path: Path) -> None:
    paths = [
        _journal(tmp_path / "a.sqlite", range(0, 40), "0/2"),
        _journal(tmp_path / "b.sqlite", range(30, 50), "1/2"),
    ]
    with pytest.raises(JournalError) as refused:
        load_report(paths, AS_OF)  # the second journal's refunds (in planning order) come before its unsubmitted
    assert "10 order(s) are in more than one journal (O-031, O-032, O-034, O-035, O-037 and 5 more)" in str(
        refused.value
    )
    merged = _everything(paths, allow_mixed=True)
    ids = [row["order_id"] for row in merged["sections"]["orders"]]
    assert len(ids) == len(set(ids)) == 50  # each once
    assert sum(row["orders"] for row in merged["sections"]["summary"]) == 50  # and counted once
    assert merged["sources"].endswith(": 50 order(s)")
