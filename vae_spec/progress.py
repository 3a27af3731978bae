"""One progress line on the terminal, rewritten in place on stderr, only where a person watches."""

from __future__ import annotations

import shutil
import sys


class TerminalLine:
    """A line on ``stream`` that each :meth:`show` rewrites; :meth:`clear` leaves it empty."""

    def __init__(self, stream):
        self.stream = stream
        self.width = max(shutil.get_terminal_size().columns - 1, 20)

    def show(self, text: str) -> None:
        self.stream.write(f"\r\033[K{text[:self.width]}")
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()


def terminal_line(quiet: bool = False, stream=None) -> TerminalLine | None:
    """A progress line on stderr when both stderr and stdout are a terminal, else None (nothing
    is printed when the output goes to a file or a pipe, or with ``quiet``)."""
    from .quiet import stderr_is_terminal

    if quiet or not (sys.stdout.isatty() and (stream.isatty() if stream else stderr_is_terminal())):
        return None
    return TerminalLine(stream or sys.stderr)
