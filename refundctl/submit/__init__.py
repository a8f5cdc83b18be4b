"""The submit flow: plan each eligible refund's legs in the journal, then send them all.

``run`` is the flow a command calls (decide or fetch, plan, confirm, journal, send);
``staging`` keeps a run's decided orders on disk in input order, with each fate as it
ends, so that memory does not grow with the input;
``journal`` keeps every step of every leg so that a crash or a rerun never loses or
doubles money; ``plan`` turns decisions into journal plans (the supplier's and the
platform's shares, each with its deterministic idempotency key); ``legs`` says which
platform legs cannot be sent before anything is; ``pipeline`` sends planned and
in-flight legs, the supplier's first, through any supplier adapter and payments
provider, bounded in concurrency and paced by the shared rate limiter; ``quote`` is
the quote check and re-quote (shared with smoke); ``fetch`` gets orders from the
supplier; ``fates`` says what became of every order.
"""

from refundctl.submit.fates import Fate, fate_of_entry, fate_of_unsubmitted, summarize, would_send
from refundctl.submit.pipeline import Pipeline, Settings
from refundctl.submit.plan import idempotency_key, plan_for

__all__ = [
    "Fate",
    "Pipeline",
    "Settings",
    "fate_of_entry",
    "fate_of_unsubmitted",
    "idempotency_key",
    "plan_for",
    "summarize",
    "would_send",
]
