"""The refund engine: a pure function from (order, policies, as_of) to a Decision."""

from refundctl.engine.core import decide
from refundctl.engine.decision import Decision, NextChange, RuleHit

__all__ = ["Decision", "NextChange", "RuleHit", "decide"]
