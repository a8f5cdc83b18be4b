"""Standard output that a closed pipe cannot turn into a wrong exit code.

``refundctl track --overdue | head -1`` closes the pipe after one line. A plain write
would then raise BrokenPipeError in the middle of the command, before it had decided
its exit code (5 here). :class:`PipeGuard` stands in for ``sys.stdout``: the first
write or flush that meets a closed pipe points the file descriptor at ``/dev/null``
(so no later flush, not even the interpreter's at exit, fails again) and every later
write is dropped. The command runs on to its own exit code and its stderr summary; a
command that stops early because nobody reads any more (``check`` streaming rows)
exits 141, the shell's code for SIGPIPE, unless it had already earned another.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from typing import BinaryIO, TextIO


class PipeGuard(io.TextIOBase):
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def _closed_pipe(self) -> None:
        self.broken = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # no file descriptor (a test's stream): dropping writes is enough
            pass

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._stream.write(text)
            except OSError as exc:
                if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EPIPE:
                    raise
                self._closed_pipe()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except OSError as exc:
                if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EPIPE:
                    raise
                self._closed_pipe()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def buffer(self) -> BinaryIO:
        """The byte stream underneath, for writers of bytes (click's shell completion)."""
        return self._stream.buffer

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._stream.errors


def guard_stdout() -> PipeGuard:
    """Put a :class:`PipeGuard` in front of ``sys.stdout`` (once) and return it."""
    if not isinstance(sys.stdout, PipeGuard):
        sys.stdout = PipeGuard(sys.stdout)
    return sys.stdout


def stdout_closed() -> bool:
    """True once a reader closed standard output: streaming more work is wasted."""
    return isinstance(sys.stdout, PipeGuard) and sys.stdout.broken
