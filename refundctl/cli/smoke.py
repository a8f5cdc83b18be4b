"""``refundctl smoke``: one order through fetch, decide, quote, submit and track, for CI."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import click

from refundctl.client import RateLimiter
from refundctl.config import Target, resolve_policy_dir
from refundctl.errors import CommandFailed, ConfigError, ExitCode
from refundctl.policy.loader import load_policies
from refundctl.smoke import FailureKind, SmokeSettings, Step, smoke_test

from .connection import ConnectionFlags
from .options import as_of_option, connection_options, examples, policies_option, tolerance_option

KIND_NAMES: dict[FailureKind, str] = {
    "input": "cannot be decided",
    "auth": "authentication",
    "supplier": "supplier error",
    "mismatch": "refund mismatch",
    "timeout": "timeout",
}


def _target(connection: ConnectionFlags, name: str | None) -> Target:
    """The one API, or with a routed profile the target named by ``--target`` (at its own rate limit)."""
    profile = connection.profile()
    if name is not None:
        unrouted = f"--target {name}: the profile routes no suppliers to targets; leave --target out"
        return connection.routed_target(profile, name, unrouted=unrouted)
    routes = connection.routing(profile)
    if routes is not None:
        raise ConfigError(
            f"{profile.source} routes suppliers to targets: name the one to smoke-test with --target "
            f"(one of: {', '.join(routes.targets)})"
        )
    return connection.target()


def _line(step: Step) -> str:
    return f"{step.status:<7} {step.name:<6} {step.seconds * 1000:>8.0f} ms  {step.detail}"


@click.command(
    epilog=examples(
        "REFUNDCTL_TOKEN=... refundctl smoke --api http://127.0.0.1:8080 --order ZA-1001",
        "refundctl smoke --adapter duffel --api https://api.duffel.com --order ord_0000A --commit",
        "refundctl smoke --profile disruption --target zephyr --order ZA-1001",
    )
)
@click.option("--order", "order_id", required=True, metavar="ID", help="The supplier's order id to run the path on.")
@click.option(
    "--commit", is_flag=True, help="Really submit (or confirm) the refund, then track it. Default: stop at the quote."
)
@click.option("--wait", type=click.FloatRange(min=0), default=120.0, show_default=True,
              help="Seconds to track the submitted refund until it is final (exit 8 when it is not).")  # fmt: skip
@click.option("--target", "target_name", metavar="NAME",
              help="With a profile that routes suppliers to targets: the target to smoke-test.")  # fmt: skip
@tolerance_option("How far below the decision the supplier's quote may be (as for submit).")
@policies_option
@as_of_option
@connection_options
def smoke(
    order_id: str,
    commit: bool,
    wait: float,
    target_name: str | None,
    tolerance: Decimal,
    policy_dir: Path | None,
    as_of: datetime,
    connection: ConnectionFlags,
) -> None:
    """Smoke-test a supplier API on one order, fetch to track.

    The steps: fetch, decide, quote, submit, track.
    Each step is printed with its timing. Nothing is submitted without --commit.
    The token comes from $REFUNDCTL_TOKEN or --token-file, never from a flag.
    Exit 0 when every step behaved; else the failed step, its HTTP exchange
    (token redacted) and an exit code for the kind of failure: 2 the order
    cannot be decided, 4 authentication, 6 supplier error, 7 refund mismatch,
    8 timeout.
    """
    target = _target(connection, target_name)
    settings = SmokeSettings(
        order_id,
        load_policies(resolve_policy_dir(policy_dir, connection.profile())[0]),
        as_of,
        commit,
        wait,
        tolerance=tolerance,
    )
    conn = connection.connection(target, RateLimiter(target.rate), 1)
    result = smoke_test(target.adapter, conn, settings)
    for step in result.steps:
        click.echo(_line(step))
    failed = result.failed
    total = sum(step.seconds for step in result.steps)
    if failed is None or failed.failure is None:
        click.echo(f"smoke: passed against {target.api} ({target.adapter}) in {total:.2f} s")
        return
    code = result.exit_code
    lines = [f"smoke failed at step {failed.name} ({KIND_NAMES[failed.failure]}, exit {int(code)}): {failed.detail}"]
    if failed.exchange is not None:
        lines += ["HTTP exchange (token redacted):", failed.exchange.render()]
    raise CommandFailed(code if code != ExitCode.OK else ExitCode.FAILURE, "\n".join(lines))
