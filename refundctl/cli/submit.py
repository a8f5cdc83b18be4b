"""``refundctl submit``: decide every order, submit the eligible refunds, report every fate."""

from __future__ import annotations

import functools
import os
import shlex
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import click
from click.core import ParameterSource

from refundctl.adapters import Connection
from refundctl.client import RateLimiter
from refundctl.config import (
    DEFAULT_ADAPTER,
    DEFAULT_CONCURRENCY,
    Profile,
    Routing,
    Target,
    resolve_policy_dir,
)
from refundctl.errors import CommandFailed, ConfigError, ExitCode
from refundctl.orders.ids import read_order_ids
from refundctl.orders.shards import Shard
from refundctl.output import render
from refundctl.submit import Fate, Settings
from refundctl.submit.estimate import COLUMNS as ESTIMATE_COLUMNS
from refundctl.submit.estimate import Pace, estimate
from refundctl.submit.fates import COLUMNS, Tally
from refundctl.submit.legs import manual_lines
from refundctl.submit.routes import Router
from refundctl.submit.run import (
    Options,
    decide_orders,
    default_journal,
    fates_in_order,
    fetch_orders,
    run_submit,
)
from refundctl.submit.run import dry_run as dry_run_fates
from refundctl.submit.staging import Staging

from .connection import ConnectionFlags, PaymentsFlags
from .options import (
    Rate,
    as_of_option,
    concurrency_option,
    connection_options,
    examples,
    output_option,
    payments_options,
    policies_option,
    shard_option,
    tolerance_option,
)


def _interactive() -> bool:
    return sys.stdin.isatty()


def _ask(question: str) -> bool:
    return click.confirm(question, default=False, err=True)


def _connect(connection: ConnectionFlags, limiter: RateLimiter, concurrency: int) -> tuple[Target, Connection]:
    target = connection.target()
    return target, connection.connection(target, limiter, concurrency)


def _routed(ctx: click.Context, routes: Routing, fetch: bool, shard: Shard | None) -> None:
    """A routed profile sets each target's rate and concurrency: flags for one API are refused, not half-applied."""
    given = [
        f"--{name}" for name in ("rate", "concurrency") if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    ]
    if fetch:
        given.append("--fetch (it asks one API for its orders)")
    if given:
        raise ConfigError(
            f"{routes.source} routes orders by supplier, each target at its own rate and concurrency: "
            f"{', '.join(given)} cannot apply; set them per target in the profile"
        )
    if shard is not None and shard.count > 1:
        paces = ", ".join(f"{t.name} {t.rate / shard.count:g}/s" for t in routes.targets.values())
        _note(f"shard {shard}: each target's rate is shared by {shard.count} shards: {paces}")


def _paces(
    routes: Routing | None, profile: Profile, connection: ConnectionFlags, rate: float | None, shards: int
) -> dict[str, Pace]:
    """Each target's URL, adapter and rate (a shard's part of it), as the dry run's estimate needs; no token."""
    if routes is None:
        api = connection.api or os.environ.get("REFUNDCTL_API") or profile.api
        return {"": Pace(api, connection.adapter or profile.adapter or DEFAULT_ADAPTER, rate)}
    return {t.name: Pace(t.api, t.adapter, t.rate / shards) for t in routes.targets.values()}


def _lanes(
    routes: Routing | None, single: tuple[Target, Connection] | None, connection: ConnectionFlags, shards: int
) -> Callable[[str], tuple[Target, Connection]]:
    """A target's lane by name, opened once: its token read, its own rate limiter (a shard's part of its rate)."""

    @functools.cache
    def lane(name: str) -> tuple[Target, Connection]:
        if routes is None:
            if name or single is None:
                raise ConfigError(
                    f"the journal sent refunds through target {name!r} of a routed profile: resume with that "
                    "profile (--profile), or pass a new --journal"
                )
            return single
        target = routes.target(name)
        rate = None if target.rate is None else target.rate / shards
        return target, connection.connection(target, RateLimiter(rate), target.concurrency or DEFAULT_CONCURRENCY)

    return lane


def _note(line: str) -> None:
    click.echo(f"refundctl: {line}", err=True)


def _word(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def resume_command(ctx: click.Context, journal: Path) -> str:
    """The command line that resumes this run: what the user typed (environment and profile apply again),
    with the journal named."""
    words = ["refundctl", ctx.info_name or "submit"]
    for param in ctx.command.params:
        name = param.name
        if name is None or ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[name]
        if isinstance(param, click.Argument):
            words += [_word(v) for v in value]
        elif isinstance(param, click.Option) and param.is_flag:
            words += [param.opts[0]] if value else param.secondary_opts[:1]
        elif isinstance(param, click.Option):
            words += [param.opts[0], _word(value)]
    if ctx.get_parameter_source("journal_path") is not ParameterSource.COMMANDLINE:
        words += ["--journal", str(journal)]
    return shlex.join(words)


def _report(fates: Iterable[Fate], fmt_name: str, journal: Path | None) -> Tally:
    """Every order's fate on stdout, streamed; the summary per fate and currency, manual legs, and the journal,
    on stderr. Returns the fates counted."""
    tally = Tally()
    render((tally.add(f).to_row() for f in fates), fmt_name, sys.stdout, columns=COLUMNS)
    sys.stdout.flush()
    render(tally.rows(), "table", sys.stderr, columns=("fate", "currency", "orders", "total"))
    for line in manual_lines(tally.manual):
        click.echo(line, err=True)
    if journal is not None:
        click.echo(f"refundctl: journal: {journal}", err=True)
    return tally


@click.command(
    epilog=examples(
        "refundctl submit orders.jsonl --api http://127.0.0.1:8080 --dry-run",
        "refundctl submit orders.jsonl --journal run.journal.sqlite --rate 20/s --yes",
        "refundctl submit orders.jsonl --payments stripe --journal run.journal.sqlite",
    )
)
@click.argument("orders", nargs=-1, required=True)
@policies_option
@as_of_option
@connection_options
@payments_options
@click.option(
    "--journal",
    "journal_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Journal file (default: beside the first input, as NAME.journal.sqlite; with --shard K/N, "
    "NAME.shard-K-of-N.journal.sqlite, so shards run side by side).",
)
@concurrency_option(16, "Requests in flight at most.")
@click.option("--rate", type=Rate(), help="Requests per second at most (default: no limit).")
@click.option(
    "--verify-quote/--no-verify-quote",
    default=True,
    show_default=True,
    help="Ask the supplier's quote first (where offered); one below our decision by more than --tolerance is not sent.",
)
@tolerance_option("How far below our decision a quote may be and still be confirmed.")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Resend legs that failed in an earlier run (same key), and re-quote quote_mismatch refunds (with the "
    "--tolerance given now).",
)
@click.option(
    "--replan",
    is_flag=True,
    help="Plan anew, from today's decision, journaled orders whose decision changed and that sent nothing yet "
    "(a leg sent is never replanned).",
)
@click.option(
    "--rebind",
    is_flag=True,
    help="The journal's API (and payments API) is the same API at a new URL, e.g. a sandbox restarted on its "
    "--state with --port 0: resume there.",
)
@click.option(
    "--fetch",
    is_flag=True,
    help="ORDERS list supplier order ids, one per line: fetch each order from the supplier and decide it "
    "with the supplier's own refund rule where no policy file covers the carrier.",
)
@shard_option
@click.option("--dry-run", is_flag=True, help="Decide and show what would be sent; send nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before submitting to an API that is not loopback.")
@output_option()
def submit(
    orders: tuple[str, ...],
    policy_dir: Path | None,
    as_of: datetime,
    connection: ConnectionFlags,
    payments: PaymentsFlags,
    journal_path: Path | None,
    concurrency: int,
    rate: float | None,
    verify_quote: bool,
    tolerance: Decimal,
    retry_failed: bool,
    replan: bool,
    rebind: bool,
    fetch: bool,
    shard: Shard | None,
    dry_run: bool,
    yes: bool,
    output_format: str,
) -> None:
    """Submit the refund of every eligible order in ORDERS.

    ORDERS are files, or - for stdin.
    With --fetch, ORDERS are files of supplier order ids (one per line; blank
    lines and # comments ignored): each order is fetched through the adapter and
    decided with the supplier's own refund rule (e.g. Duffel's order conditions)
    where no policy file covers the carrier; an id that cannot be fetched or
    parsed stops the run before anything is sent.

    Orders decided full or partial are submitted; the others are reported. A
    refund settles as up to two legs: the supplier's share through the supplier,
    then (once the supplier accepted) the platform's share through --payments
    (e.g. stripe, against the order's payment_reference), or journaled manual
    without one. Every step is journaled, so rerunning the same command resumes:
    done legs are skipped, legs in flight are resent with the same idempotency
    key, failed ones (and quote mismatches) only with --retry-failed. A journaled
    order whose decision changed and that sent nothing is refused with both
    amounts unless --replan; a journal that sent refunds to one API is refused for
    another unless --rebind (the same API at a new URL). One run at a time per
    journal.

    A config profile with targets routes each order by its supplier code to
    its target (API, adapter, token source, rate and concurrency each): one
    rate limiter per target, so a 429 slows that supplier only; the journal
    keeps each refund's target for reruns and track --sync. --dry-run prints,
    per target, the orders, totals and the time the run takes at its rate.

    Exit 0 when every leg of every eligible refund was accepted, 3 when some
    were not (or are manual), 4 when an API refused its key, 6 when it never
    answered (nothing could be sent), 130 on Ctrl-C (after the journal is
    committed; it says how to resume).
    """
    profile = connection.profile()
    routes = connection.routing(profile)
    if routes is not None:
        _routed(click.get_current_context(), routes, fetch, shard)
    shards = 1 if shard is None else shard.count
    policy_dir, _ = resolve_policy_dir(policy_dir, profile)
    limiter = RateLimiter(rate)
    journal = journal_path or default_journal(orders[0], shard)
    if any(name != "-" and Path(name).resolve() == journal.resolve() for name in orders):
        raise ConfigError(
            f"--journal {journal} is one of the ORDERS files; name the journal apart (e.g. run.journal.sqlite)"
        )
    ids = [i for i in read_order_ids(orders) if shard is None or shard.holds(i.order_id)] if fetch else []
    # Every setting a run needs is checked before any work, and long before a journal is made or bound.
    link = None if (dry_run and not fetch) or routes is not None else _connect(connection, limiter, concurrency)
    pay_target = None if dry_run else payments.target(profile)
    provider = pay_target.provider if pay_target else payments.provider_name(profile)
    with Staging() as staging:
        if fetch:
            assert link is not None
            fetch_orders(staging, *link, ids, policy_dir, as_of, provider)
        else:
            decide_orders(staging, orders, policy_dir, as_of, shard, provider, Router(routes))
        if dry_run:
            _report(dry_run_fates(staging), output_format, None)
            plans = (plan for s in staging if (plan := s.to_send) is not None)
            loads, line = estimate(plans, _paces(routes, profile, connection, rate, shards), verify_quote)
            render(loads, "table", sys.stderr, columns=ESTIMATE_COLUMNS)
            _note(line)
            return
        lanes = _lanes(routes, link, connection, shards)
        for name in staging.targets:
            lanes(name)  # every token this run's new plans need is read before the journal is opened
        # The provider is paced on its own: its rate limits are not the supplier's.
        pay = (
            None
            if pay_target is None
            else (pay_target, connection.connection(pay_target, RateLimiter(rate), concurrency))
        )
        settings = Settings(concurrency, verify_quote, tolerance, retry_failed, profile.default_service_level_days)
        resume = resume_command(click.get_current_context(), journal)
        options = Options(yes, replan, rebind, resume, str(shard or "0/1"))
        ask = _ask if _interactive() else None
        digest = next(iter(staging.digests)) if len(staging.digests) == 1 else None
        done = run_submit(lanes, journal, staging, settings, options, ask, pay, _note, digest)
        tally = _report(fates_in_order(staging), output_format, journal)
    if done.unreachable:
        raise CommandFailed(
            ExitCode.SUPPLIER,
            f"no refund could be sent: the API never gave an answer ({done.unanswered} leg(s) failed after every "
            "retry); rerun with --retry-failed once it answers",
        )
    if tally.undone:
        raise CommandFailed(ExitCode.PARTIAL)
