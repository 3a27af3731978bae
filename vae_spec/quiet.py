"""Framework chatter kept off the user's terminal while vae_spec runs.

TensorFlow, XLA, absl and oneDNN write log lines straight to file descriptor 2 from C++ (at
import: "oneDNN custom operations are on", "All log messages before absl::InitializeLog()";
during calls: "Local rendezvous is aborting", "oneDNN supports DT_HALF only on ..."), where no
Python setting reaches them once the framework is loaded. :func:`chatter_filtered` points
descriptor 2 at a pipe for the duration of a run; a thread passes every line through to the
real stderr except those chatter lines. What the user's own code prints, Python's warnings
and vae_spec's progress line pass unchanged (a partial line is passed on as soon as it holds
a carriage return), and descriptor 2 is restored when the run ends, so the user's logging
outside the run is untouched.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading

#: lines a framework writes that are not the user's output and not vae_spec's
CHATTER = re.compile(
    rb"^(?:"
    rb"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "  # absl / glog: TensorFlow, XLA, oneDNN
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags"
    rb"|(?:WARNING|INFO|ERROR):(?:tensorflow|absl|jax[\w.]*):"  # their Python loggers' default format
    rb")"
)


#: whether descriptor 2 was a terminal before a filter took it (None outside a filter)
_terminal_under_filter: bool | None = None
#: the descriptor the filter forwards to (None outside a filter)
_forwarding_to: int | None = None


def write_now(text: str) -> None:
    """``text`` on the real stderr at once, past the filter's thread (for a process about to exit)."""
    sys.stderr.flush()
    _write(2 if _forwarding_to is None else _forwarding_to, text.encode())


def stderr_is_terminal() -> bool:
    """Whether stderr reaches a terminal (seen through the filter, whose pipe is none)."""
    return sys.stderr.isatty() if _terminal_under_filter is None else _terminal_under_filter


def is_chatter(line: bytes) -> bool:
    return bool(CHATTER.match(line.lstrip(b"\r")))


@contextlib.contextmanager
def chatter_filtered():
    """Descriptor 2 through a filter that drops framework chatter, for the duration of the block."""
    global _terminal_under_filter, _forwarding_to
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 to redirect (an embedded interpreter)
        yield
        return
    outer, _terminal_under_filter = _terminal_under_filter, os.isatty(saved)
    outer_target, _forwarding_to = _forwarding_to, saved
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    forwarder = threading.Thread(target=_forward, args=(read_end, saved), daemon=True)
    forwarder.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end closes: the forwarder reads to its end
        forwarder.join(timeout=5)
        _terminal_under_filter, _forwarding_to = outer, outer_target
        os.close(saved)


def _forward(read_end: int, target: int) -> None:
    """Copy ``read_end`` to ``target`` line by line, leaving out chatter."""
    pending = b""
    with os.fdopen(read_end, "rb", buffering=0) as source:
        while chunk := source.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not is_chatter(line):
                    _write(target, line + b"\n")
            if b"\r" in pending and not is_chatter(pending.rsplit(b"\r", 1)[-1]):  # a progress line: now
                _write(target, pending)
                pending = b""
    if pending and not is_chatter(pending):
        _write(target, pending)


def _write(target: int, data: bytes) -> None:
    try:
        os.write(target, data)
    except OSError:  # the terminal went away: nothing left to show
        pass
