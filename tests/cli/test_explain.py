"""``refundctl explain``: text for people, JSON for tools, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from refundctl.cli.main import cli

EXAMPLES = Path(__file__).parents[2] / "examples" / "orders-overrides.jsonl"
AS_OF = "2026-11-25T12:00:00Z"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["explain", *args])
    return result.exit_code, result.stdout, result.stderr


def test_text_shows_windows_in_utc_and_local_time_and_the_rounding() -> None:
    code, out, err = run("FARE-1", "--orders", str(EXAMPLES), "--as-of", AS_OF)
    assert (code, err) == (0, "")
    assert "* zephyr-air/standard/168h-or-more: 10% min 50.00; from booking up to 2026-12-13T00:00:00Z " in out
    assert "(2026-12-13T08:00:00+08:00) inclusive" in out
    assert "rounding zephyr-air/standard/168h-or-more: 10% of 1000.00 = 100.00 -> 100.00" in out
    assert "Decision: partial; paid 1190.00, refund 980.00" in out


def test_json_names_the_winner_and_the_waivers_that_also_matched(tmp_path: Path) -> None:
    order = json.loads(EXAMPLES.read_text().splitlines()[1])  # FRONTLINE-1
    order["waiver_codes"] = ["GW-FEE"]
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(order) + "\n")
    code, out, err = run("FRONTLINE-1", "--orders", str(path), "--as-of", AS_OF, "-o", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    waivers = {w["id"]: w for w in data["waivers"]}
    assert waivers["frontline-2020"]["winner"] is True
    assert waivers["goodwill-fee"]["matched"] is True and waivers["goodwill-fee"]["winner"] is False
    assert data["decision"]["waivers"] == ["frontline-2020"]
    assert data["decision"]["also_matched"] == ["goodwill-fee"]
    assert {r["id"]: r["applies"] for r in data["regulations"]} == {
        "ca-appr": False,
        "cn-caac-2021": False,
        "eu-261": False,
        "uk-261": False,
        "us-dot-2024": False,
        "us-dot-24-hour": False,
    }


def test_regulations_explain_why_and_the_compensation_band() -> None:
    code, out, _ = run("EU261-1", "--orders", str(EXAMPLES), "--as-of", AS_OF)
    assert code == 0
    assert "eu-261 (regulations/eu-261.toml): APPLIES" in out
    assert "FRA-JFK (final destination) great-circle 6188 km: the longest band, 600.00 EUR" in out
    assert "journey 1: FRA-JFK, segment(s) 1, 2026-11-28T12:00:00Z to 2026-11-28T20:45:00Z" in out
    assert "compensation: 600.00 EUR (eu-261, segment(s) 1), paid apart from the refund" in out


def test_unknown_order_id_is_a_clear_error() -> None:
    code, out, err = run("NOPE", "--orders", str(EXAMPLES), "--as-of", AS_OF)
    assert (code, out) == (2, "")
    assert err == f"refundctl: error: {EXAMPLES}: id: no valid order 'NOPE' among the 8 record(s) read\n"


def test_a_bad_record_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text('{"id": "X", "kind": "flight"}\n')
    code, out, err = run("X", "--orders", str(path), "--as-of", AS_OF)
    assert (code, out) == (2, "")
    assert f"{path}:1: currency: required field is missing" in err


def test_missing_orders_option_is_a_usage_error() -> None:
    code, out, err = run("X")
    assert (code, out) == (2, "")
    assert "Missing option '--orders'" in err
