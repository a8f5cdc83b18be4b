"""The policy test-case flow (``refundctl policy test``): decide each case's order and compare.

A flow, not part of ``refundctl.policy``: it runs the engine, which sits above the policy models.
"""

from refundctl.policy_cases.runner import Result, case_files, run_cases

__all__ = ["Result", "case_files", "run_cases"]
