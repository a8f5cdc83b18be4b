"""The smoke flow: one order through fetch, decide, quote, submit and track against a live API.

The quote check and the re-quote are the submit pipeline's (``refundctl.submit.quote``).
"""

from refundctl.smoke.run import (
    FailureKind,
    SmokeResult,
    SmokeRun,
    SmokeSettings,
    Step,
    run_smoke,
    smoke_test,
)

__all__ = [
    "FailureKind",
    "SmokeResult",
    "SmokeRun",
    "SmokeSettings",
    "Step",
    "run_smoke",
    "smoke_test",
]
