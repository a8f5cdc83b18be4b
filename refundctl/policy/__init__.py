"""Policies as data: TOML files validated against a schema, never executed.

This package re-exports the models only; ``refundctl.policy.loader.load_policies``
reads and validates a directory (importing it loads the schemas and their calendars).
"""

from refundctl.policy.model import Deadline, Penalty, Policy, PolicySet, Refundability, Rule, Window

__all__ = ["Deadline", "Penalty", "Policy", "PolicySet", "Refundability", "Rule", "Window"]
