"""A function that does not return: a ``timeout`` finding within the limit plus 5 s, never a hang."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import numpy as np

from vae_spec import Target, check, diagnose
from vae_spec.engine.call import GRACE

LIMIT = 1.0


def sleeps(x_recon, x, mu, logvar):
    time.sleep(1000)
    return np.float64(0.0)


def test_check_reports_a_timeout_and_moves_on():
    start = time.perf_counter()
    report = check(Target(sleeps, likelihood="bernoulli-probs"), timeout=LIMIT, raise_on_failure=False)
    elapsed = time.perf_counter() - start
    assert elapsed < LIMIT + GRACE  # one call waits out the limit; later ones fail at once
    (failure,) = report.failures
    assert failure.code == "timeout"
    assert failure.message.startswith(f"the call did not return within {LIMIT:g} s (inputs x_recon (2, 3)")


def test_diagnose_reports_a_timeout_and_no_verdict():
    start = time.perf_counter()
    diagnosis = diagnose(Target(sleeps), timeout=LIMIT)
    assert time.perf_counter() - start < LIMIT + GRACE
    assert [f.code for f in diagnosis.findings] == ["timeout"] and not diagnosis.is_elbo
    assert diagnosis.claim is None


def test_a_call_that_cannot_be_interrupted_stops_the_run(tmp_path):
    """The function blocks the interrupting signal and sleeps: the watchdog stops the command
    ``GRACE`` seconds after the limit, with the reason on stderr."""
    (tmp_path / "stuck.py").write_text(textwrap.dedent("""
        import signal
        import time

        def loss(x_recon, x, mu, logvar):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(1000)
    """))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "vae_spec.cli", "check", "stuck.py:loss", "--framework",
                           "numpy", "--likelihood", "bernoulli-probs", "--timeout", str(LIMIT)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "cannot be interrupted" in done.stderr
    assert time.perf_counter() - start < LIMIT + GRACE + 30  # 30 s: the interpreter's start and imports


def test_ctrl_c_prints_what_ran_and_exits_130(tmp_path):
    """SIGINT in the middle of a search: the report of what ran, exit 130, no traceback."""
    import signal

    (tmp_path / "slow.py").write_text(textwrap.dedent("""
        import time
        import numpy as np

        def loss(x_recon, x, mu, logvar):
            time.sleep(0.05)
            b = -(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)).sum(axis=1)
            return np.mean(b - 0.5 * (1 + logvar - mu**2 - np.exp(logvar)).sum(axis=1))
    """))
    process = subprocess.Popen([sys.executable, "-m", "vae_spec.cli", "check", "slow.py:loss", "--framework",
                                "numpy", "--likelihood", "bernoulli-probs"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # the imports, inference, and a few cases of the search
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in err and err.strip().endswith("vae-spec check: interrupted")
    assert out.startswith("slow.py:loss [numpy] claims:")
    assert "interrupted (Ctrl-C)" in out and out.strip().splitlines()[-1].startswith("INTERRUPTED")


def test_a_timer_armed_by_someone_else_is_left_alone():
    """pytest-timeout's signal method arms SIGALRM for the whole test: a check must neither
    cancel that timer nor take over its handler."""
    import signal

    fired = []

    def theirs(signum, frame):
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, theirs)
    signal.setitimer(signal.ITIMER_REAL, 100.0)
    try:
        check(Target(lambda x_recon, x, mu, logvar: np.float64(0.0), likelihood="bernoulli-probs"),
              max_examples=5, raise_on_failure=False)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining <= 100.0
        assert signal.getsignal(signal.SIGALRM) is theirs and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
