"""Config profiles, flag/env/file precedence, token sources, and the progress bar; routed profiles: targets by
supplier code, validated with FILE:LINE: key path: what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from refundctl.config import (
    PaymentsTarget,
    is_loopback,
    load_profile,
    resolve_api,
    resolve_payments,
    resolve_target,
    resolve_token,
    routing,
)
from refundctl.errors import ConfigError

CONFIG = """
profile = "staging"

[profiles.staging]
api = "https://staging.example.com/"
adapter = "sandbox"
token_file = "{token}"
default_service_level_days = 7

[profiles.bad]
api = "x"
colour = "blue"

[profiles.paypal]
payments = "paypal"
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("REFUNDCTL_CONFIG", "REFUNDCTL_PROFILE", "REFUNDCTL_API", "REFUNDCTL_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    token = tmp_path / "staging.token"
    token.write_text("file-token\n")
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(token=token))
    monkeypatch.setenv("REFUNDCTL_CONFIG", str(path))
    return path


def test_no_config_file_is_an_empty_profile() -> None:
    profile = load_profile(None)
    assert (profile.name, profile.api, profile.default_service_level_days) == (None, None, 14)


def test_default_profile_from_the_file(config: Path) -> None:
    profile = load_profile(None)
    assert (profile.name, profile.api, profile.default_service_level_days) == (
        "staging",
        "https://staging.example.com/",
        7,
    )


def test_flags_over_environment_over_config(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = load_profile(None)
    assert resolve_api(None, profile) == "https://staging.example.com"
    monkeypatch.setenv("REFUNDCTL_API", "http://127.0.0.1:9000")
    assert resolve_api(None, profile) == "http://127.0.0.1:9000"
    assert resolve_api("http://localhost:1", profile) == "http://localhost:1"
    assert resolve_token(None, profile) == "file-token"
    monkeypatch.setenv("REFUNDCTL_TOKEN", "env-token")
    assert resolve_token(None, profile) == "env-token"
    flag_file = config.parent / "flag.token"
    flag_file.write_text("flag-token")
    assert resolve_token(flag_file, profile) == "flag-token"


def test_target_never_shows_its_token(config: Path) -> None:
    target = resolve_target(load_profile(None), None, None, None)
    assert (target.api, target.adapter) == ("https://staging.example.com", "sandbox")
    assert "file-token" not in repr(target)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad", "unknown key"),
        ("nope", "no profile 'nope'"),
        ("paypal", r"config.toml:\d+: profiles.paypal.payments: expected one of stripe, none, got 'paypal'"),
    ],
)
def test_bad_profiles(config: Path, name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_profile(name)


def test_unreadable_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("profile = ")
    monkeypatch.setenv("REFUNDCTL_CONFIG", str(path))
    with pytest.raises(ConfigError, match="cannot read config"):
        load_profile(None)
    monkeypatch.setenv("REFUNDCTL_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"^REFUNDCTL_CONFIG names .*missing.toml, which is not a file$"):
        load_profile(None)
    with pytest.raises(ConfigError, match=r"^profile 'ops' was asked for, but there is no config file at .*missing"):
        load_profile("ops")


@pytest.mark.parametrize("api", [None, "ftp://x", "not a url"])
def test_bad_or_missing_api(api: str | None) -> None:
    with pytest.raises(ConfigError):
        resolve_api(api, load_profile(None))


def test_token_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no API token"):
        resolve_token(None, load_profile(None))
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    with pytest.raises(ConfigError, match="is empty"):
        resolve_token(empty, load_profile(None))
    with pytest.raises(ConfigError, match=r"cannot read token file .*missing: No such file or directory$"):
        resolve_token(tmp_path / "missing", load_profile(None))
    latin = tmp_path / "latin"
    latin.write_bytes(b"caf\xe9")
    with pytest.raises(ConfigError, match=r"token file .*latin is not UTF-8 text$"):
        resolve_token(latin, load_profile(None))


@pytest.mark.parametrize(
    ("api", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://localhost", True),
        ("http://[::1]:9", True),
        ("https://refunds.example.com", False),
        ("http://10.0.0.1", False),
    ],
)
def test_is_loopback(api: str, loopback: bool) -> None:
    assert is_loopback(api) is loopback


@pytest.mark.parametrize(
    ("token", "what"),
    [("tok\u00e9n", "a non-ASCII character at position 4"), ("tok\x1bn", "a control character at position 4"),
     ("to ken", "a space at position 3"), ("tok\x7f", "a control character at position 4")],
)  # fmt: skip
def test_a_token_unfit_for_a_header_is_a_config_error_that_never_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str, what: str
) -> None:
    monkeypatch.setenv("REFUNDCTL_TOKEN", token)
    with pytest.raises(ConfigError) as info:
        resolve_token(None, load_profile(None))
    assert str(info.value).startswith(f"$REFUNDCTL_TOKEN: the token has {what}; a token is printable ASCII")
    assert token not in str(info.value)


def test_an_orders_file_given_as_token_file_is_refused(tmp_path: Path) -> None:
    orders = tmp_path / "orders.jsonl"
    orders.write_text('{"id": "A"}\n{"id": "B"}\n')
    orders.chmod(0o600)
    with pytest.raises(ConfigError, match=r"orders.jsonl holds more than one line \(expected the token alone\)$"):
        resolve_token(orders, load_profile(None))
    orders.write_text('{"id": "A"}\n')
    with pytest.raises(ConfigError, match=r"the token has a space at position 7"):
        resolve_token(orders, load_profile(None))


def test_a_token_file_readable_by_others_is_used_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "token"
    path.write_text("sk_test_abc\n")
    path.chmod(0o644)
    assert resolve_token(path, load_profile(None)) == "sk_test_abc"
    err = capsys.readouterr().err
    assert err == f"refundctl: warning: token file {path} is readable by others (chmod 600 {path})\n"
    path.chmod(0o600)
    assert resolve_token(path, load_profile(None)) == "sk_test_abc"
    assert capsys.readouterr().err == ""


def test_an_api_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_api("http://user:s3cret@127.0.0.1:8080", load_profile(None))
    assert "s3cret" not in str(info.value)
    assert "carries credentials" in str(info.value)
    with pytest.raises(ConfigError, match="is not an http"):
        resolve_api("http://127.0.0.1:notaport", load_profile(None))


PAYMENTS_CONFIG = """
[profiles.pay]
payments = "stripe"
payments_token_file = "{key}"

[profiles.elsewhere]
payments = "stripe"
payments_api = "http://127.0.0.1:9/stripe"
"""


def test_payments_from_flags_environment_and_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "stripe.key"
    key.write_text("sk_test_fromfile\n")
    key.chmod(0o600)
    path = tmp_path / "config.toml"
    path.write_text(PAYMENTS_CONFIG.format(key=key))
    monkeypatch.setenv("REFUNDCTL_CONFIG", str(path))
    monkeypatch.delenv("REFUNDCTL_PAYMENTS_TOKEN", raising=False)
    none = load_profile(None)
    assert resolve_payments(none, None, None, None) is None  # default: platform legs are paid by hand
    assert resolve_payments(none, "none", None, None) is None
    target = resolve_payments(load_profile("pay"), None, None, None)
    assert target is not None
    assert (target.provider, target.api, target.token) == ("stripe", "https://api.stripe.com", "sk_test_fromfile")
    assert "sk_test_fromfile" not in repr(target)
    monkeypatch.setenv("REFUNDCTL_PAYMENTS_TOKEN", "sk_test_env")
    assert resolve_payments(load_profile("pay"), None, None, None).token == "sk_test_env"  # type: ignore[union-attr]
    assert resolve_payments(load_profile("pay"), None, None, key).token == "sk_test_fromfile"  # type: ignore[union-attr]
    other = resolve_payments(load_profile("elsewhere"), None, "http://127.0.0.1:8/stripe/", None)
    assert other is not None and other.api == "http://127.0.0.1:8/stripe"  # the flag over the profile


def test_payments_without_a_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REFUNDCTL_PAYMENTS_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="set REFUNDCTL_PAYMENTS_TOKEN or pass --payments-token-file"):
        resolve_payments(load_profile(None), "stripe", None, None)


@pytest.mark.parametrize(
    ("key", "api", "live"),
    [
        ("sk_live_1", "https://api.stripe.com", True),
        ("rk_live_1", "https://api.stripe.com", True),
        ("sk_test_1", "https://api.stripe.com", False),
        ("sk_live_1", "http://127.0.0.1:8080/stripe", False),  # the sandbox is no real money
    ],
)
def test_a_live_key_against_a_real_target(key: str, api: str, live: bool) -> None:
    assert PaymentsTarget("stripe", api, key).live is live


# Routed profiles: one target per supplier group, each with its own token source, rate and concurrency.

ROUTED = """\
profile = "disruption"

[profiles.disruption]
default_target = "others"
default_service_level_days = 7

[profiles.disruption.targets.zephyr]
suppliers = ["ZA", "ZB"]
api = "https://refunds.zephyr.example/"
token_env = "ZEPHYR_TOKEN"
rate = 10
concurrency = 4

[profiles.disruption.targets.others]
suppliers = ["HARBOR-SHA"]
api = "http://127.0.0.1:9000"
adapter = "duffel"
token_file = "{token}"
rate = 2.5
"""


@pytest.fixture
def token(tmp_path: Path) -> Path:
    path = tmp_path / "others.token"
    path.write_text("file-token\n")
    path.chmod(0o600)
    return path


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("REFUNDCTL_CONFIG", str(path))
    return path


def test_a_routed_profile_reads_every_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: Path) -> None:
    _config(tmp_path, monkeypatch, ROUTED.format(token=token))
    profile = load_profile(None)
    routes = routing(profile)
    assert routes is not None and profile.default_service_level_days == 7
    zephyr, others = routes.targets["zephyr"], routes.targets["others"]
    assert (zephyr.suppliers, zephyr.adapter, zephyr.rate, zephyr.concurrency) == (("ZA", "ZB"), "sandbox", 10.0, 4)
    assert (others.adapter, others.rate, others.concurrency, others.token_file) == ("duffel", 2.5, 16, token)
    assert [routes.target_of(code) for code in ("ZA", "ZB", "HARBOR-SHA", "QQ")] == ["zephyr"] * 2 + ["others"] * 2


def test_each_target_reads_its_own_token_and_never_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: Path
) -> None:
    _config(tmp_path, monkeypatch, ROUTED.format(token=token))
    routes = routing(load_profile(None))
    assert routes is not None
    with pytest.raises(ConfigError, match=r"targets\.zephyr: token_env names \$ZEPHYR_TOKEN, which is not set"):
        routes.target("zephyr")
    monkeypatch.setenv("ZEPHYR_TOKEN", "env-token")
    zephyr = routes.target("zephyr")
    assert (zephyr.api, zephyr.token, zephyr.name, zephyr.rate) == ("https://refunds.zephyr.example", "env-token",
                                                                    "zephyr", 10.0)  # fmt: skip
    assert "env-token" not in repr(zephyr)
    assert routes.target("others").token == "file-token"
    assert routes.target("others", "http://127.0.0.1:9999").api == "http://127.0.0.1:9999"  # a journal's URL
    with pytest.raises(ConfigError, match=r"has no target 'gone' \(known: zephyr, others\)"):
        routes.target("gone")


def test_a_profile_without_targets_is_not_routed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(tmp_path, monkeypatch, 'profile = "one"\n[profiles.one]\napi = "http://127.0.0.1:1"\n')
    assert routing(load_profile(None)) is None


def test_flags_for_one_api_are_refused_with_a_routed_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: Path
) -> None:
    _config(tmp_path, monkeypatch, ROUTED.format(token=token))
    profile = load_profile(None)
    with pytest.raises(ConfigError, match=r"routes orders by supplier to its targets: --api and --token-file would"):
        routing(profile, "http://127.0.0.1:1", None, token)
    monkeypatch.setenv("REFUNDCTL_API", "http://127.0.0.1:1")
    with pytest.raises(ConfigError, match=r": \$REFUNDCTL_API would send every supplier's refunds to one API"):
        routing(profile)


BAD = """\
profile = "bad"

[profiles.bad]
api = "http://127.0.0.1:1"
default_target = "nowhere"

[profiles.bad.targets.a]
suppliers = ["ZA", 7]
api = "http://127.0.0.1:2"
rate = 0
concurrency = -1
colour = "blue"

[profiles.bad.targets.b]
suppliers = ["ZA"]
api = "http://127.0.0.1:3"
token_env = "B_TOKEN"
token_file = "b.token"
adapter = "teleport"

[profiles.bad.targets."not ok"]
suppliers = []
api = "http://127.0.0.1:4"
token_env = "has a space"
"""


def test_every_problem_is_located_with_what_was_expected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path, monkeypatch, BAD)
    with pytest.raises(ConfigError) as info:
        load_profile(None)
    found = set(str(info.value).splitlines())
    expected = {
        "5: profiles.bad.default_target: expected one of the targets (a, b, not ok), got 'nowhere'",
        "12: profiles.bad.targets.a.colour: unknown key (expected one of: adapter, api, concurrency, rate, suppliers, "
        "token_env, token_file)",
        "8: profiles.bad.targets.a.suppliers[1]: expected a non-empty string, got 7",
        "10: profiles.bad.targets.a.rate: expected a positive number of requests per second, got 0",
        "11: profiles.bad.targets.a.concurrency: expected a non-negative whole number, got -1",
        "7: profiles.bad.targets.a.token_env: expected token_env or token_file: where the token is (never the token "
        "itself)",
        "15: profiles.bad.targets.b.suppliers[0]: supplier 'ZA' is routed to target 'a' already",
        "17: profiles.bad.targets.b.token_env: expected token_env or token_file: not both",
        "14: profiles.bad.targets.b.rate: required key is missing",
        "19: profiles.bad.targets.b.adapter: expected one of duffel, sandbox, got 'teleport'",
        "21: profiles.bad.targets.not ok: expected a target name of letters, digits, - and _ (up to 40), got 'not ok'",
        "22: profiles.bad.targets.not ok.suppliers: expected at least one supplier code",
        "24: profiles.bad.targets.not ok.token_env: expected the name of an environment variable (the token itself "
        "is never in the file), got 'has a space'",
        "21: profiles.bad.targets.not ok.rate: required key is missing",
        "4: profiles.bad.api: a profile with targets sets this per target (targets.NAME.api)",
    }
    assert found == {f"{path}:{line}" for line in expected}


def test_a_target_that_is_not_a_table_and_empty_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path, monkeypatch, 'profile = "p"\n[profiles.p]\ntargets = { a = 3 }\n')
    with pytest.raises(ConfigError, match=rf"^{path}:3: profiles.p.targets.a: expected a table, got int$"):
        load_profile(None)
    _config(tmp_path, monkeypatch, 'profile = "p"\n[profiles.p.targets]\n')
    with pytest.raises(ConfigError, match=r":2: profiles.p.targets: expected at least one target"):
        load_profile(None)
