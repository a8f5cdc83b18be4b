"""Policies as data: TOML files validated against a schema, never executed."""

from refundctl.policy.loader import PolicySet, load_policies
from refundctl.policy.model import Deadline, Penalty, Policy, Refundability, Rule, Window

__all__ = ["Deadline", "Penalty", "Policy", "PolicySet", "Refundability", "Rule", "Window", "load_policies"]
