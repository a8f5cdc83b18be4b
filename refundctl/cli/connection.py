"""The flags that say where and as whom to connect, shared by submit, track and smoke.

``connection_options`` adds them to a command and hands the command one
:class:`ConnectionFlags` instead of seven parameters (flags over environment over
the config profile; the token itself is never a flag).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from refundctl.adapters import Connection
from refundctl.client import RateLimiter
from refundctl.config import DEFAULT_ADAPTER, Profile, Target, load_profile, resolve_target

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class ConnectionFlags:
    api: str | None
    profile_name: str | None
    adapter: str | None
    token_file: Path | None
    timeout: float
    max_attempts: int
    max_time: float

    def profile(self) -> Profile:
        return load_profile(self.profile_name)

    def target(self, api: str | None = None, adapter: str | None = None) -> Target:
        """Flags first, then ``api``/``adapter`` (e.g. a journal's), then environment and profile."""
        return resolve_target(self.profile(), self.api or api, self.adapter or adapter, self.token_file)

    def connection(self, target: Target, limiter: RateLimiter, concurrency: int) -> Connection:
        return Connection(
            target.api,
            target.token,
            limiter,
            concurrency=concurrency,
            max_attempts=self.max_attempts,
            max_time=self.max_time,
            timeout=self.timeout,
        )


_OPTIONS = (
    click.option("--api", metavar="URL", help="Refund API base URL (else $REFUNDCTL_API, else the profile)."),
    click.option("--profile", "profile_name", metavar="NAME", help="Config file profile to use."),
    click.option("--adapter", help=f"Supplier adapter (default: the profile's, else {DEFAULT_ADAPTER})."),
    click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File holding the API token (else $REFUNDCTL_TOKEN). The token itself is never a flag.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=30.0,
        show_default=True,
        help="Seconds to wait for one answer.",
    ),
    click.option(
        "--max-attempts",
        type=click.IntRange(min=1),
        default=8,
        show_default=True,
        help="Attempts per request before it is reported failed.",
    ),
    click.option(
        "--max-time",
        type=click.FloatRange(min=0),
        default=120.0,
        show_default=True,
        help="Seconds of retrying per request before it is reported failed.",
    ),
)
_FIELDS = ("api", "profile_name", "adapter", "token_file", "timeout", "max_attempts", "max_time")


def connection_options(f: F) -> F:
    """Add the connection flags; the command receives them as ``connection: ConnectionFlags``."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = ConnectionFlags(**{name: kwargs.pop(name) for name in _FIELDS})
        return f(*args, connection=flags, **kwargs)

    command: Any = wrapper
    for option in reversed(_OPTIONS):
        command = option(command)
    return command  # type: ignore[no-any-return]
