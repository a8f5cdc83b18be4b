"""Where to send, as whom: flags over environment over a config file profile.

The config file is TOML, ``$REFUNDCTL_CONFIG`` or
``$XDG_CONFIG_HOME/refundctl/config.toml`` (default ``~/.config``)::

    profile = "sandbox"              # the profile used when none is named

    [profiles.sandbox]
    api = "http://127.0.0.1:8080"
    adapter = "sandbox"
    token_file = "~/.config/refundctl/sandbox.token"
    default_service_level_days = 14  # due date when no regulation sets one
    policies = "~/refund-policies"   # relative paths are relative to this file

The token is never a flag value: ``--token-file`` over ``$REFUNDCTL_TOKEN`` over
the profile's ``token_file``.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from refundctl.errors import ConfigError, shown
from refundctl.net import is_loopback_host
from refundctl.shipped import shipped_policies

DEFAULT_ADAPTER = "sandbox"
# The adapters' names, for --adapter's choices and completion without importing the HTTP
# stack (a test keeps this equal to refundctl.adapters.ADAPTERS).
ADAPTER_NAMES = ("duffel", "sandbox")
DEFAULT_SERVICE_LEVEL_DAYS = 14
KEYS = frozenset(
    {"api", "adapter", "token_file", "default_service_level_days", "policies", "payments", "payments_api",
     "payments_token_file"}
)  # fmt: skip
DEFAULT_PAYMENTS_API = {"stripe": "https://api.stripe.com"}


@dataclass(frozen=True, slots=True)
class Profile:
    name: str | None = None
    api: str | None = None
    adapter: str | None = None
    token_file: Path | None = None
    default_service_level_days: int = DEFAULT_SERVICE_LEVEL_DAYS
    policies: Path | None = None
    payments: str | None = None  # the payments provider for platform legs (None: paid by hand)
    payments_api: str | None = None
    payments_token_file: Path | None = None


def config_path() -> Path:
    explicit = os.environ.get("REFUNDCTL_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "refundctl" / "config.toml"


def load_profile(name: str | None) -> Profile:
    """The named profile (``--profile``, else ``$REFUNDCTL_PROFILE``, else the file's ``profile``)."""
    path = config_path()
    name = name or os.environ.get("REFUNDCTL_PROFILE") or None
    if not path.is_file():
        if name:
            raise ConfigError(f"profile {name!r} was asked for, but there is no config file at {path}")
        if os.environ.get("REFUNDCTL_CONFIG"):
            raise ConfigError(f"REFUNDCTL_CONFIG names {path}, which is not a file")
        return Profile()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    profiles = data.get("profiles", {})
    name = name or data.get("profile")
    if name is None:
        return Profile()
    if not isinstance(profiles, dict) or not isinstance(profiles.get(name), dict):
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) else ""
        raise ConfigError(f"{path}: no profile {name!r} (known: {known or 'none'})")
    return _profile(path, str(name), profiles[name])


def _profile(path: Path, name: str, table: dict[str, Any]) -> Profile:
    where = f"{path}: [profiles.{name}]"
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(KEYS))})")
    for key in ("api", "adapter", "token_file", "policies", "payments", "payments_api", "payments_token_file"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{where}: {key} must be a string")
    days = table.get("default_service_level_days", DEFAULT_SERVICE_LEVEL_DAYS)
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ConfigError(f"{where}: default_service_level_days must be a whole number of days")
    token_file = table.get("token_file")
    policies = table.get("policies")
    payments_token_file = table.get("payments_token_file")
    return Profile(
        name=name,
        api=table.get("api"),
        adapter=table.get("adapter"),
        token_file=None if token_file is None else Path(token_file).expanduser(),
        default_service_level_days=days,
        policies=None if policies is None else path.parent / Path(policies).expanduser(),
        payments=table.get("payments"),
        payments_api=table.get("payments_api"),
        payments_token_file=None if payments_token_file is None else Path(payments_token_file).expanduser(),
    )


def resolve_policy_dir(flag: Path | None, profile: Profile | None = None) -> tuple[Path, str]:
    """The policy directory in use and where that came from.

    ``--policies`` (click also fills it from ``$REFUNDCTL_POLICIES``) over the profile's
    ``policies`` over the set shipped with refundctl. ``profile`` defaults to the one
    ``$REFUNDCTL_PROFILE`` or the config file names.
    """
    if flag is not None:
        return flag, "--policies or $REFUNDCTL_POLICIES"
    profile = load_profile(None) if profile is None else profile
    if profile.policies is not None:
        return profile.policies, f"profile {profile.name!r} in {config_path()}"
    return shipped_policies(), "shipped with refundctl"


def _http_url(api: str, what: str) -> str:
    try:
        parts = urlsplit(api)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(f"{what} {shown(api)} is not an http(s) URL such as http://127.0.0.1:8080") from None
    if parts.username is not None or parts.password is not None:
        # Never echo it: the part before @ is a secret. Tokens have their own, safer places.
        raise ConfigError(
            f"the {what} carries credentials (user:password@host): give the URL without them, and the token "
            "in the environment or a token file"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what} {shown(api)} is not an http(s) URL such as http://127.0.0.1:8080")
    return api.rstrip("/")


def resolve_api(flag: str | None, profile: Profile) -> str:
    api = flag or os.environ.get("REFUNDCTL_API") or profile.api
    if not api:
        raise ConfigError("no API URL: pass --api, set REFUNDCTL_API, or set api in a config profile")
    return _http_url(api, "API URL")


def resolve_token(token_file: Path | None, profile: Profile) -> str:
    """The supplier API's token: ``--token-file`` over ``$REFUNDCTL_TOKEN`` over the profile's ``token_file``."""
    return _secret(token_file, profile.token_file, "REFUNDCTL_TOKEN", "--token-file")


def _secret(token_file: Path | None, profile_file: Path | None, env: str, flag: str) -> str:
    if token_file is None:
        given = os.environ.get(env, "").strip()
        if given:
            return _checked_token(given, f"${env}")
        token_file = profile_file
    if token_file is None:
        raise ConfigError(f"no API token: set {env} or pass {flag} (never the token itself)")
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:  # e.g. "No such file or directory", "Permission denied"
        raise ConfigError(f"cannot read token file {token_file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"token file {token_file} is not UTF-8 text") from None
    if not token:
        raise ConfigError(f"token file {token_file} is empty")
    if "\n" in token:
        raise ConfigError(f"token file {token_file} holds more than one line (expected the token alone)")
    _warn_if_shared(token_file)
    return _checked_token(token, f"token file {token_file}")


def _checked_token(token: str, source: str) -> str:
    """A token goes into an HTTP header: visible ASCII only. The message never shows the token."""
    bad = next((i for i, char in enumerate(token) if not "!" <= char <= "~"), None)
    if bad is not None:
        char = token[bad]
        what = "a space" if char == " " else "a non-ASCII character" if char > "\x7f" else "a control character"
        raise ConfigError(
            f"{source}: the token has {what} at position {bad + 1}; a token is printable ASCII without spaces "
            "(is it the right file or variable?)"
        )
    return token


def _warn_if_shared(path: Path) -> None:
    """As ssh does for keys: a secret others can read is worth a word."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        click.echo(f"refundctl: warning: token file {path} is readable by others (chmod 600 {path})", err=True)


def is_loopback(api: str) -> bool:
    """True for localhost and loopback addresses: the only targets submit needs no confirmation for."""
    return is_loopback_host(urlsplit(api).hostname or "")


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved API: its URL, the adapter that speaks to it, and the token (never printed)."""

    api: str
    adapter: str
    token: str = field(repr=False)


PAYMENTS_TOKEN_ENV = "REFUNDCTL_PAYMENTS_TOKEN"


@dataclass(frozen=True, slots=True)
class PaymentsTarget:
    """The payments provider for platform legs: its name, URL and secret key (never printed)."""

    provider: str
    api: str
    token: str = field(repr=False)

    @property
    def live(self) -> bool:
        """A live secret key against a target that is not loopback: real money leaves the platform."""
        return self.token.startswith(("sk_live_", "rk_live_")) and not is_loopback(self.api)


def resolve_payments(
    profile: Profile, provider: str | None, api: str | None, token_file: Path | None
) -> PaymentsTarget | None:
    """``--payments`` over the profile's ``payments`` (default: none, platform legs are paid by hand)."""
    name = provider or profile.payments
    if name in (None, "none"):
        return None
    url = api or profile.payments_api or DEFAULT_PAYMENTS_API.get(name)
    if not url:
        raise ConfigError(f"no URL for payments provider {name!r}: pass --payments-api or set payments_api")
    token = _secret(token_file, profile.payments_token_file, PAYMENTS_TOKEN_ENV, "--payments-token-file")
    return PaymentsTarget(name, _http_url(url, "payments API URL"), token)


def resolve_target(profile: Profile, api: str | None, adapter: str | None, token_file: Path | None) -> Target:
    return Target(
        api=resolve_api(api, profile),
        adapter=adapter or profile.adapter or DEFAULT_ADAPTER,
        token=resolve_token(token_file, profile),
    )
