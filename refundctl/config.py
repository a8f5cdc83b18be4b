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

A profile may instead route orders by their ``supplier`` code to several targets, each
with its own API, adapter, token source, rate limit and concurrency::

    [profiles.disruption]
    default_target = "others"        # suppliers no target lists (omit: their orders are refused)

    [profiles.disruption.targets.zephyr]
    suppliers = ["ZA", "ZB"]         # supplier codes as the orders spell them
    api = "https://refunds.zephyr.example"
    adapter = "sandbox"              # default: sandbox
    token_env = "ZEPHYR_TOKEN"       # or token_file = "..."; one of the two, never the token
    rate = 10                        # requests per second at most (no bursts)
    concurrency = 8                  # requests in flight at most (default: 16)

Such a profile has no ``api``, ``adapter`` or ``token_file`` of its own, and
``--api``/``--adapter``/``--token-file``/``$REFUNDCTL_API`` are refused with it: they
would send every supplier's refunds to one API. Target names are what a journal records
for each refund, so that reruns and ``track --sync`` use the same target.

Every problem in the file is reported at once, as ``FILE:LINE: key.path: expected ...``
(``refundctl.validate`` reads it; ``refundctl.policy.locate`` finds the lines).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from refundctl.errors import ConfigError, Problem, shown
from refundctl.net import is_loopback_host
from refundctl.policy.locate import index_lines, locate
from refundctl.shipped import shipped_policies
from refundctl.validate import TOML, Fields, Issue, choice, count, positive, read, text

DEFAULT_ADAPTER = "sandbox"
# The adapters' names, for --adapter's choices and completion without importing the HTTP
# stack (a test keeps this equal to refundctl.adapters.ADAPTERS).
ADAPTER_NAMES = ("duffel", "sandbox")
# The payments providers' names (a test keeps this equal to refundctl.adapters.PAYMENTS); "none": paid by hand.
PAYMENTS_NAMES = ("stripe",)
PAYMENTS_CHOICES = (*PAYMENTS_NAMES, "none")
DEFAULT_SERVICE_LEVEL_DAYS = 14
DEFAULT_CONCURRENCY = 16
KEYS = frozenset(
    {"api", "adapter", "token_file", "default_service_level_days", "policies", "payments", "payments_api",
     "payments_token_file", "targets", "default_target"}
)  # fmt: skip
TARGET_KEYS = frozenset({"suppliers", "api", "adapter", "token_env", "token_file", "rate", "concurrency"})
SINGLE_KEYS = ("api", "adapter", "token_file")  # a routed profile's targets have these instead
DEFAULT_PAYMENTS_API = {"stripe": "https://api.stripe.com"}
_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """One target of a routed profile as configured; its token is read only when a run sends there."""

    name: str
    suppliers: tuple[str, ...]
    api: str
    adapter: str
    token_env: str | None
    token_file: Path | None
    rate: float  # requests per second at most
    concurrency: int


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
    targets: tuple[TargetConfig, ...] = ()  # routed by supplier code; empty: one target (api, adapter, token)
    default_target: str | None = None  # the target of suppliers no target lists (None: refused)
    source: str = ""  # "profile 'NAME' in FILE", for messages


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
        written = path.read_text(encoding="utf-8")
        data = tomllib.loads(written)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    profiles = data.get("profiles", {})
    name = name or data.get("profile")
    if name is None:
        return Profile()
    if not isinstance(profiles, dict) or not isinstance(profiles.get(name), dict):
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) else ""
        raise ConfigError(f"{path}: no profile {name!r} (known: {known or 'none'})")
    problems: list[Issue] = []
    profile = _profile(path, str(name), Fields(profiles[name], f"profiles.{name}", KEYS, problems, words=TOML))
    if problems:
        lines = index_lines(written)
        located = (Problem(str(path), locate(lines, p.path), p.path, p.message) for p in problems)
        raise ConfigError("\n".join(map(str, located)))
    return profile


def _path(value: Any) -> Path:
    return Path(text(value)).expanduser()


def _rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise ValueError(f"expected a positive number of requests per second, got {shown(value)}")
    return float(value)


def _name(what: str, pattern: re.Pattern[str]) -> Callable[[Any], str]:
    def named(value: Any) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(f"expected {what}, got {shown(value)}")
        return value

    return named


_env_name = _name("the name of an environment variable (the token itself is never in the file)", _ENV)
_target_name = _name("a target name of letters, digits, - and _ (up to 40)", _NAME)


def _profile(path: Path, name: str, table: Fields) -> Profile:
    targets = _targets(table)
    if "targets" in table.data:
        for key in SINGLE_KEYS:
            if key in table.data:
                table.problems.append(
                    Issue(table.at(key), f"a profile with targets sets this per target (targets.NAME.{key})")
                )
    default = table.get("default_target", _target_name, required=False)
    named = table.data.get("targets")
    names = [str(n) for n in named] if isinstance(named, dict) else []
    if default is not None and default not in names:
        known = ", ".join(names) or "none"
        table.problems.append(
            Issue(table.at("default_target"), f"expected one of the targets ({known}), got {default!r}")
        )
    policies = table.get("policies", _path, required=False)
    return Profile(
        name=name,
        api=table.get("api", text, required=False),
        adapter=table.get("adapter", choice(ADAPTER_NAMES), required=False),
        token_file=table.get("token_file", _path, required=False),
        default_service_level_days=table.get("default_service_level_days", count, DEFAULT_SERVICE_LEVEL_DAYS,
                                             required=False),
        policies=None if policies is None else path.parent / policies,
        payments=table.get("payments", choice(PAYMENTS_CHOICES), required=False),
        payments_api=table.get("payments_api", text, required=False),
        payments_token_file=table.get("payments_token_file", _path, required=False),
        targets=targets,
        default_target=default,
        source=f"profile {name!r} in {path}",
    )  # fmt: skip


def _targets(profile: Fields) -> tuple[TargetConfig, ...]:
    """The profile's targets, each supplier code in at most one of them."""
    table = profile.fields("targets", None)
    if "targets" in profile.data and not table.data and isinstance(profile.data["targets"], dict):
        profile.problems.append(Issue(table.path, "expected at least one target ([profiles.NAME.targets.TARGET])"))
    out: list[TargetConfig] = []
    owner: dict[str, str] = {}
    for key, value in table.data.items():
        before = len(profile.problems)
        name = read(key, table.at(key), _target_name, "", profile.problems)
        target = table.fields(key, TARGET_KEYS, required=frozenset({"suppliers", "api", "rate"}))
        if not isinstance(value, dict):
            continue
        suppliers = target.items("suppliers", lambda code, at: read(code, at, text, "", profile.problems))
        if "suppliers" in value and not suppliers and isinstance(value["suppliers"], list):
            profile.problems.append(Issue(target.at("suppliers"), "expected at least one supplier code"))
        for i, code in enumerate(suppliers):
            if code in owner:
                profile.problems.append(
                    Issue(
                        f"{target.at('suppliers')}[{i}]",
                        f"supplier {code!r} is routed to target {owner[code]!r} already",
                    )
                )
            owner.setdefault(code, key)
        token_env = target.get("token_env", _env_name, required=False)
        token_file = target.get("token_file", _path, required=False)
        given = {"token_env", "token_file"} & value.keys()
        if len(given) != 1:
            what = "not both" if given else "where the token is (never the token itself)"
            profile.problems.append(Issue(target.at("token_env"), f"expected token_env or token_file: {what}"))
        api = target.get("api", text, "", required=False)  # required ones are reported missing by ``fields``
        adapter = target.get("adapter", choice(ADAPTER_NAMES), DEFAULT_ADAPTER, required=False)
        rate = target.get("rate", _rate, 0.0, required=False)
        concurrency = target.get("concurrency", positive, DEFAULT_CONCURRENCY, required=False)
        if len(profile.problems) == before:
            out.append(TargetConfig(name, suppliers, api, adapter, token_env, token_file, rate, concurrency))
    return tuple(out)


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
    return _token_in(token_file)


def _token_in(token_file: Path) -> str:
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
    name: str = ""  # the routed profile's target name; "" for the run's one API
    rate: float | None = None  # requests per second at most (None: no limit)
    concurrency: int | None = None  # requests in flight at most (None: the command's --concurrency)


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


@dataclass(frozen=True, slots=True)
class Routing:
    """Where each supplier's refunds go: a routed profile's targets by supplier code, and its default."""

    targets: dict[str, TargetConfig]  # by name
    suppliers: dict[str, str]  # supplier code -> target name
    default: str | None  # the target of suppliers no target lists (None: their orders are refused)
    source: str  # "profile 'NAME' in FILE"

    def target_of(self, supplier: str) -> str | None:
        return self.suppliers.get(supplier, self.default)

    def target(self, name: str, api: str | None = None, adapter: str | None = None) -> Target:
        """Target ``name`` with its token read now (``api``, ``adapter``: what a journal bound it to, over the
        profile's)."""
        config = self.targets.get(name)
        if config is None:
            known = ", ".join(self.targets)
            raise ConfigError(
                f"{self.source} has no target {name!r} (known: {known}); refunds journaled through it are sent and "
                "tracked only through it: restore the target in the profile"
            )
        where = f"{self.source}: targets.{name}"
        if config.token_env is not None:
            given = os.environ.get(config.token_env, "").strip()
            if not given:
                raise ConfigError(f"{where}: token_env names ${config.token_env}, which is not set or empty")
            token = _checked_token(given, f"${config.token_env}")
        else:
            assert config.token_file is not None  # the profile has one or the other
            token = _token_in(config.token_file)
        url = _http_url(api or config.api, f"targets.{name}.api URL")
        return Target(url, adapter or config.adapter, token, name, config.rate, config.concurrency)


def routing(
    profile: Profile, api: str | None = None, adapter: str | None = None, token_file: Path | None = None
) -> Routing | None:
    """The profile's routing by supplier (None: a profile with one API); the single-API flags are refused with it."""
    if not profile.targets:
        return None
    flags = [f for f, v in (("--api", api), ("--adapter", adapter), ("--token-file", token_file)) if v is not None]
    if os.environ.get("REFUNDCTL_API"):
        flags.append("$REFUNDCTL_API")
    if flags:
        raise ConfigError(
            f"{profile.source} routes orders by supplier to its targets: {' and '.join(flags)} would send every "
            "supplier's refunds to one API; leave them out, or use a profile without targets"
        )
    return Routing(
        {t.name: t for t in profile.targets},
        {code: t.name for t in profile.targets for code in t.suppliers},
        profile.default_target,
        profile.source,
    )
