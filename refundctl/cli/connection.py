"""Where and as whom to connect: the connection flags of submit, track and smoke, resolved.

``refundctl.cli.options.connection_options`` declares the flags and hands the command
one :class:`ConnectionFlags` instead of seven parameters (flags over environment over
the config profile; the token itself is never a flag).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from refundctl.adapters import Connection
from refundctl.client import RateLimiter
from refundctl.config import (
    PaymentsTarget,
    Profile,
    Routing,
    Target,
    load_profile,
    resolve_payments,
    resolve_target,
    routing,
)
from refundctl.errors import ConfigError

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

    def routing(self, profile: Profile) -> Routing | None:
        """``profile``'s routing by supplier (None: one API); the single-API flags are refused with it."""
        return routing(profile, self.api, self.adapter, self.token_file)

    def routed_target(
        self, profile: Profile, name: str, api: str | None = None, adapter: str | None = None, *, unrouted: str
    ) -> Target:
        """Target ``name`` of ``profile``'s routing (``api``, ``adapter``: what a journal bound it to); ConfigError
        ``unrouted`` when the profile routes nothing."""
        routes = self.routing(profile)
        if routes is None:
            raise ConfigError(unrouted)
        return routes.target(name, api, adapter)

    def connection(self, target: Target | PaymentsTarget, limiter: RateLimiter, concurrency: int) -> Connection:
        return Connection(
            target.api,
            target.token,
            limiter,
            concurrency=concurrency,
            max_attempts=self.max_attempts,
            max_time=self.max_time,
            timeout=self.timeout,
        )


@dataclass(frozen=True, slots=True)
class PaymentsFlags:
    """The payments provider's flags (submit, track): which provider, where, the key's file."""

    provider: str | None
    api: str | None
    token_file: Path | None

    def provider_name(self, profile: Profile) -> str | None:
        name = self.provider or profile.payments
        return None if name == "none" else name

    def target(self, profile: Profile, api: str | None = None, provider: str | None = None) -> PaymentsTarget | None:
        """Flags first, then ``api``/``provider`` (e.g. a journal's), then the profile; None: paid by hand."""
        return resolve_payments(profile, self.provider or provider, self.api or api, self.token_file)
