"""The progress line: on a terminal only, on stderr, rewritten in place, gone at the end."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap

import pytest

LOSS = textwrap.dedent("""
    import numpy as np

    def loss(x_recon, x, mu, logvar):
        b = -(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)).sum(axis=1)
        return np.mean(b - 0.5 * (1 + logvar - mu**2 - np.exp(logvar)).sum(axis=1))
""")


def _on_a_terminal(tmp_path, *options) -> tuple[bytes, int]:
    """stderr of ``vae-spec check`` run with stdout and stderr on a pseudo-terminal."""
    (tmp_path / "losses.py").write_text(LOSS)
    out_main, out_side = pty.openpty()
    err_main, err_side = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "vae_spec.cli", "check", "losses.py:loss", "--framework", "numpy",
         "--likelihood", "bernoulli-probs", "--max-examples", "5", *options],
        cwd=tmp_path, stdout=out_side, stderr=err_side)
    os.close(out_side)
    os.close(err_side)
    err = b""
    for fd in (out_main, err_main):
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            if fd == err_main:
                err += chunk
    return err, process.wait(timeout=120)


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="no pseudo-terminals on this platform")
def test_a_terminal_sees_what_runs_and_then_a_clean_line(tmp_path):
    err, status = _on_a_terminal(tmp_path)
    assert status == 0
    assert b"\r\x1b[Kchecking returns_array, shape, dtype and " in err
    assert err.endswith(b"\r\x1b[K")  # cleared before the report


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="no pseudo-terminals on this platform")
def test_quiet_prints_no_progress(tmp_path):
    err, status = _on_a_terminal(tmp_path, "--quiet")
    assert status == 0 and err == b""


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="no pseudo-terminals on this platform")
def test_the_selftest_line_sees_the_terminal_behind_the_chatter_filter():
    """The command runs inside the chatter filter, whose pipe is no terminal: the progress line
    asks whether stderr was one before the filter took it."""
    from vae_spec.quiet import chatter_filtered
    from vae_spec.selftest.cli import progress_line

    terminal, side = pty.openpty()
    saved = os.dup(2)
    os.dup2(side, 2)
    try:
        with chatter_filtered():
            assert progress_line() is not None
    finally:
        os.dup2(saved, 2)
        for fd in (saved, side, terminal):
            os.close(fd)
