"""``refundctl sandbox serve``: run the local refund API."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

import click

from refundctl.config import resolve_policy_dir
from refundctl.engine import decide
from refundctl.errors import ConfigError, InputError
from refundctl.net import is_loopback_host
from refundctl.orders import load_orders
from refundctl.orders.model import Order
from refundctl.policy.loader import load_policies
from refundctl.sandbox.app import Quoter, SandboxSettings, create_app
from refundctl.sandbox.faults import FaultConfig, parse_latency, parse_probability, parse_rate
from refundctl.sandbox.payments import PREFIX as PAYMENTS_PREFIX
from refundctl.sandbox.payments import PaymentLedger, payments_of
from refundctl.sandbox.payments_state import PaymentsState
from refundctl.sandbox.server import SandboxServer, bind, drop_connection
from refundctl.sandbox.store import MemoryStore, SqliteStore, Store

from .options import AsOf, Parsed, examples, policies_option

TOKEN_ENV = "REFUNDCTL_SANDBOX_TOKEN"
PAYMENTS_TOKEN_ENV = "REFUNDCTL_SANDBOX_PAYMENTS_TOKEN"
T = TypeVar("T")


def engine_quoter(policy_dir: Path | None, quote_as_of: datetime | None = None) -> Quoter:
    """Quotes the supplier's share of what the project's own engine decides under the given (or shipped) policies.

    The supplier owes what its fare rules and the regulations make it owe, never what a
    platform-funded waiver or goodwill code adds (``funded_by["platform"]``). With
    ``quote_as_of`` every quote is priced at that instant instead of the request's, so a
    demo or CI run quotes the same amounts on any day.
    """
    policies = load_policies(policy_dir)

    def quote(order: Order, as_of: datetime) -> tuple[Decimal, str]:
        decision = decide(order, policies, quote_as_of or as_of)
        return decision.funded_by.get("supplier", Decimal(0)), decision.currency

    return quote


def _probability(flag: str) -> Parsed[float]:
    return Parsed("P", lambda text: parse_probability(text, flag))


def _skew(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= -100:
        raise ValueError(f"--quote-skew: expected a percentage above -100 such as 5 or -2.5, got {text!r}")
    return value


def _token(env: str = TOKEN_ENV, prefix: str = "") -> str:
    token = os.environ.get(env, "")
    if not token:
        return prefix + secrets.token_urlsafe(24)
    if not token.isascii() or not token.isprintable() or " " in token:
        raise ConfigError(f"{env} must be printable ASCII without spaces")
    return token


def _orders(paths: Sequence[str]) -> list[Order]:
    orders = load_orders(paths) if paths else []
    duplicates = sorted(order_id for order_id, n in Counter(o.id for o in orders).items() if n > 1)
    if duplicates:
        raise InputError(f"--orders: duplicate order id(s): {', '.join(duplicates)}")
    return orders


def _stores(state: Path | None) -> tuple[Store, PaymentsState | None]:
    """The supplier's store and the payments API's, both in ``state`` when given."""
    if state is None:
        return MemoryStore(), None
    try:
        store = SqliteStore(state)
    except ValueError as exc:
        raise ConfigError(f"--state: {exc}") from None
    try:
        return store, PaymentsState(state)
    except ValueError as exc:
        store.close()
        raise ConfigError(f"--state: {exc}") from None


@click.group()
def sandbox() -> None:
    """A local refund API with real faults (demos, tests, CI).

    Run clients against it: `make demo`, the test suite and your own CI smoke tests.
    It also serves a payment provider's refunds API (Stripe's, in test mode) under
    /stripe, with its own key, for the platform-funded share of refunds."""


@sandbox.command(
    epilog=examples(
        "refundctl sandbox serve --orders orders.jsonl --port 8080",
        "refundctl sandbox serve --orders orders.jsonl --drop-rate 0.2 --error-rate 0.1 --print-config",
    )
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 takes a free port.")
@click.option("--allow-remote", is_flag=True, help="Allow a --host that is not loopback (the API is for testing).")
@click.option("--orders", "order_files", multiple=True, metavar="FILE", help="Orders to serve (repeatable).")
@policies_option
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file keeping refunds (the supplier's and the payments API's) across restarts.",
)
@click.option("--seed", type=int, help="Seed of every injected fault [default: random, printed at start].")
@click.option("--rate-limit", type=Parsed("N/s", parse_rate), help="Answer 429 over N requests per second.")
@click.option("--error-rate", type=_probability("--error-rate"),
              help="Answer 500/502/503 to this share of requests, unprocessed.")  # fmt: skip
@click.option("--drop-rate", type=_probability("--drop-rate"),
              help="Process this share of requests, then close without answering.")  # fmt: skip
@click.option("--latency", type=Parsed("MS[:JITTER]", parse_latency),
              help="Add this many milliseconds (+/- jitter) to each request.")  # fmt: skip
@click.option("--failure-rate", type=_probability("--failure-rate"),
              help="Share of refunds that end failed instead of succeeded.")  # fmt: skip
@click.option(
    "--settle-after",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Seconds a refund stays pending.",
)
@click.option("--quote-skew", type=Parsed("PERCENT", _skew),
              help="Quote this much more (or, negative, less) than the engine.")  # fmt: skip
@click.option(
    "--quote-ttl",
    type=click.FloatRange(min=0, min_open=True),
    default=900.0,
    show_default=True,
    help="Seconds a quote stays valid.",
)
@click.option(
    "--quote-as-of",
    type=AsOf(),
    help="Price quotes as if at this instant [default: the time of each request].",
)
@click.option("--print-config", is_flag=True, help="Print base_url, token and seed as JSON on stdout.")
def serve(
    host: str,
    port: int,
    allow_remote: bool,
    order_files: tuple[str, ...],
    policy_dir: Path | None,
    state: Path | None,
    seed: int | None,
    rate_limit: float | None,
    error_rate: float | None,
    drop_rate: float | None,
    latency: tuple[float, float] | None,
    failure_rate: float | None,
    settle_after: float,
    quote_skew: Decimal | None,
    quote_ttl: float,
    quote_as_of: datetime | None,
    print_config: bool,
) -> None:
    """Serve the sandbox refund API until SIGINT or SIGTERM."""
    if not is_loopback_host(host) and not allow_remote:
        raise ConfigError(f"--host {host} is not loopback; add --allow-remote to expose the sandbox on purpose")
    latency_ms, jitter_ms = latency or (0.0, 0.0)
    faults = FaultConfig(
        rate_limit=rate_limit,
        error_rate=error_rate or 0.0,
        drop_rate=drop_rate or 0.0,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        failure_rate=failure_rate or 0.0,
        seed=secrets.randbelow(2**31) if seed is None else seed,
    )
    settings = SandboxSettings(
        token=_token(),
        faults=faults,
        quote_skew=quote_skew or Decimal(0),
        quote_ttl=quote_ttl,
        settle_after=settle_after,
        payments_token=_token(PAYMENTS_TOKEN_ENV, "sk_test_"),  # a test-mode key, as Stripe's look
    )
    orders = _orders(order_files)
    quoter = engine_quoter(resolve_policy_dir(policy_dir)[0], quote_as_of)
    store, payments_state = _stores(state)
    try:
        try:
            sock = bind(host, port)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        ledger = PaymentLedger(payments_of(orders), payments_state)
        server = SandboxServer(
            create_app(orders, store, quoter, settings, dropper=drop_connection, ledger=ledger), sock
        )
        if not is_loopback_host(host):
            click.echo(f"refundctl sandbox: warning: listening on {host}, reachable beyond this machine", err=True)
        _announce(server.base_url, settings, print_config, len(orders))
        server.run()
    finally:
        store.close()
        if payments_state is not None:
            payments_state.close()


def _announce(url: str, settings: SandboxSettings, as_json: bool, order_count: int) -> None:
    """The only place the token is shown; nothing logs it afterwards."""
    seed = settings.faults.seed
    if not order_count:  # said in --print-config mode too: stderr is free there
        click.echo(
            "refundctl sandbox: warning: no orders (--orders FILE): every order lookup and quote is 404", err=True
        )
    payments_url = url + PAYMENTS_PREFIX
    if as_json:
        config = {
            "base_url": url,
            "token": settings.token,
            "seed": seed,
            "openapi_url": f"{url}/openapi.json",
            "payments_url": payments_url,
            "payments_token": settings.payments_token,
        }
        sys.stdout.write(json.dumps(config) + "\n")
        sys.stdout.flush()
        return
    token = f"token from {TOKEN_ENV}" if os.environ.get(TOKEN_ENV) else f"token {settings.token}"
    payments_token = (
        f"key from {PAYMENTS_TOKEN_ENV}" if os.environ.get(PAYMENTS_TOKEN_ENV) else f"key {settings.payments_token}"
    )
    click.echo(f"refundctl sandbox: serving {url} ({order_count} orders, OpenAPI at {url}/openapi.json)", err=True)
    click.echo(f"refundctl sandbox: {token}", err=True)
    click.echo(f"refundctl sandbox: seed {seed}; stop with Ctrl-C", err=True)
    click.echo(f"refundctl sandbox: payments (Stripe-like) at {payments_url}, {payments_token}", err=True)
