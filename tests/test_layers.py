"""What import-linter (``make layers``) cannot see: what importing a package's ``__init__`` loads."""

from __future__ import annotations

import subprocess
import sys


def test_policy_models_load_without_the_loader_or_its_calendars() -> None:
    heavy = ("holidays", "refundctl.policy.loader", "refundctl.policy.schema")
    code = f"import sys, refundctl.policy.model\nprint(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
