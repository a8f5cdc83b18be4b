"""Where the policies shipped with refundctl are, installed or in a checkout.

Kept apart from the policy loader so that finding the folder imports nothing heavy.
"""

from __future__ import annotations

from pathlib import Path


def shipped_policies() -> Path:
    """The shipped policy directory.

    A wheel or sdist carries the policies inside the package (``refundctl/_policies``,
    mapped from the top-level ``policies/`` by setup.py); a source checkout or an
    editable install reads the top-level ``policies/`` folder itself.
    """
    package = Path(__file__).resolve().parent
    installed = package / "_policies"
    return installed if installed.is_dir() else package.parent / "policies"
