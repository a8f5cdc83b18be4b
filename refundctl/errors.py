"""Domain errors and the exit codes they map to.

Every error refundctl raises on purpose derives from :class:`RefundctlError` and
carries the :class:`ExitCode` the CLI exits with. The CLI turns them into exit
codes in exactly one place (``refundctl.cli.main``); nothing else calls
``sys.exit``.

Exception tree (every class is defined here; other modules import them from here)::

    RefundctlError
    ├── InputError            bad orders, policies, config or arguments   (exit 2)
    │   ├── OrderError        one or more order records are invalid
    │   └── PolicyError       one or more policy files are invalid
    ├── ConfigError           missing token, bad profile, bad URL         (exit 2)
    ├── JournalError          the journal cannot be opened or is foreign   (exit 2)
    ├── ApiError              the refund API failed in a final way        (exit 6)
    │   ├── AuthError         401/403: token missing or rejected          (exit 4)
    │   ├── QuoteRejected     the supplier no longer honours a quote (re-quoted once)
    │   ├── DuffelDataError   a Duffel answer that cannot be mapped
    │   └── TransportError    no usable answer after every retry          (exit 6)
    │       └── RetriesExhausted  attempts or time ran out
    ├── MismatchError         the supplier's amount differs from ours     (exit 7)
    ├── TimeoutExpired        a wait ran out (smoke)                      (exit 8)
    ├── Interrupted           Ctrl-C, after the journal was committed     (exit 130)
    └── CommandFailed         the command reported its outcome itself; only its exit code is left

Where commands differ, they ask different questions: ``submit`` exits 6 only when no leg it
sent got any answer (the API never answered), and 3 when a batch is partly done (the rows say
which refunds failed), where ``smoke``, trying one order, exits 6 for any supplier error;
``track --sync`` exits 3 when some legs could not be asked; ``report`` exits 5 whenever a leg
is overdue. Journal problems (another API, in use, damaged, planned with other amounts, journals
a report refuses to merge) are 2 like every other input.

Exceptions private to one module (``engine.windows.Unpriceable``,
``engine.fare_rules.RuleError``, ``client._retry.RetryableStatus``, ``submit.pipeline._Mismatch``,
the sandbox's ``ApiProblem``) never leave it: they become problems, manual reviews, journal rows
or HTTP answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ApiError",
    "AuthError",
    "CommandFailed",
    "ConfigError",
    "DuffelDataError",
    "ExitCode",
    "InputError",
    "Interrupted",
    "JournalError",
    "MismatchError",
    "OrderError",
    "PolicyError",
    "Problem",
    "QuoteRejected",
    "RefundctlError",
    "RetriesExhausted",
    "TimeoutExpired",
    "TransportError",
    "shown",
]


class ExitCode(IntEnum):
    """Exit codes of every refundctl command (documented in the README)."""

    OK = 0
    FAILURE = 1  # an unexpected internal error (a bug: please report it)
    BAD_INPUT = 2  # usage error, invalid orders, policies or configuration
    PARTIAL = 3  # a batch ran but some refunds (or legs) failed, were rejected, or are left to pay by hand
    AUTH = 4  # the API refused our credentials
    OVERDUE = 5  # track --overdue found refunds past their due date; report: a leg is overdue
    SUPPLIER = 6  # the supplier API answered with an error, or never answered
    MISMATCH = 7  # the supplier's refund amount differs from our decision; reconcile: confirmed legs differ
    TIMEOUT = 8  # waited for a final state and ran out of time
    TESTS_FAILED = 9  # policy test cases failed
    INTERRUPTED = 130  # Ctrl-C / SIGINT, after state was flushed
    CLOSED_PIPE = 141  # the reader closed stdout (| head) before the command earned another code


SHOWN_CHARS = 60  # a rejected value is quoted up to this length: a 100 KB string is not a message


def shown(value: object) -> str:
    """A rejected value as the input spelled it (JSON's true/false/null), cut to a readable length."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    try:
        text = repr(value)
    except RecursionError:  # nested deeper than repr goes
        return f"a {type(value).__name__} nested too deeply to show"
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 3]}... ({len(text)} characters)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input record or file, located precisely."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{where}: {what}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class RefundctlError(Exception):
    """Base of every error refundctl raises on purpose."""

    exit_code: ExitCode = ExitCode.FAILURE


class InputError(RefundctlError):
    """Input that refundctl cannot use; carries every problem found."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, problems: list[Problem] | str) -> None:
        self.problems = [Problem("<input>", None, None, problems)] if isinstance(problems, str) else problems
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[InputError], tuple[list[Problem]]]:
        # Keeps the problems intact when raised across a process pool (check --jobs).
        return (type(self), (self.problems,))


class OrderError(InputError):
    """One or more order records are invalid."""


class PolicyError(InputError):
    """One or more policy files are invalid."""


class ConfigError(RefundctlError):
    """Configuration refundctl cannot use: a missing token, a bad profile or URL, a refused confirmation."""

    exit_code = ExitCode.BAD_INPUT


class JournalError(RefundctlError):
    """The journal cannot be opened, is not a refundctl journal, or belongs to another API."""

    exit_code = ExitCode.BAD_INPUT


class ApiError(RefundctlError):
    """The refund API failed in a way retrying will not fix."""

    exit_code = ExitCode.SUPPLIER

    def __init__(self, message: str, *, status: int | None = None, error_type: str | None = None) -> None:
        self.status = status
        self.error_type = error_type
        super().__init__(message)


class AuthError(ApiError):
    """The API refused our credentials (401/403): nothing else could succeed."""

    exit_code = ExitCode.AUTH


class QuoteRejected(ApiError):
    """The supplier no longer honours the quote sent (expired, unknown): ask for a new one."""


class DuffelDataError(ApiError):
    """Duffel answered with an order refundctl cannot read; names the JSON path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"Duffel order: {path}: {message}", error_type="unexpected_order_shape")
        self.path = path


class TransportError(ApiError):
    """Connection errors, timeouts or retryable statuses that outlasted every retry."""


class RetriesExhausted(TransportError):
    """Every attempt failed in a retryable way; ``response`` is the last answer, if any."""

    def __init__(self, message: str, *, attempts: int, response: httpx.Response | None) -> None:
        self.attempts = attempts
        self.response = response
        super().__init__(message, status=None if response is None else response.status_code)


class MismatchError(RefundctlError):
    """The supplier's refund amount differs from our decision beyond the tolerance."""

    exit_code = ExitCode.MISMATCH


class TimeoutExpired(RefundctlError):
    """A wait for a final state ran out of time."""

    exit_code = ExitCode.TIMEOUT


class Interrupted(RefundctlError):
    """Ctrl-C after every finished step was committed; the message says where the run stands and how to resume."""

    exit_code = ExitCode.INTERRUPTED


class CommandFailed(RefundctlError):
    """The command has reported its outcome itself (rows, summary, report); only its exit code is left.

    ``refundctl.cli.main`` exits with ``exit_code`` and prints the message only if there is one.
    """

    def __init__(self, exit_code: ExitCode, message: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
