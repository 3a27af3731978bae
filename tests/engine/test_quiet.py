"""Nothing but vae_spec's own lines: framework chatter never reaches the user's terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from vae_spec.quiet import chatter_filtered, is_chatter

#: lines TensorFlow 2.21, absl and oneDNN print on this machine, verbatim
CHATTER_LINES = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796462025.397235   24546 port.cc:153] oneDNN custom operations are on.",
    b"E0000 00:00:1796462033.176279   24546 util.cc:131] oneDNN supports DT_HALF only on platforms with AVX-512.",
    b"To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow "
    b"with the appropriate compiler flags.",
    b"W1205 09:14:02.123456  1234 rendezvous_mgr.cc:42] Local rendezvous is aborting with status: OUT_OF_RANGE",
    b"WARNING:tensorflow:5 out of the last 5 calls to <function loss> triggered tf.function retracing.",
]
OWN_LINES = [b"mylosses:loss [tensorflow] claims: loss", b"  ok   value: 46 cases conform",
             b"E = mc^2 is not a log line", b"W: a user's own warning"]


@pytest.mark.parametrize("line", CHATTER_LINES)
def test_framework_log_lines_are_chatter(line):
    assert is_chatter(line)


@pytest.mark.parametrize("line", OWN_LINES)
def test_other_lines_are_not(line):
    assert not is_chatter(line)


def test_the_filter_passes_everything_but_chatter(capfd):
    with chatter_filtered():
        for line in CHATTER_LINES[:3] + OWN_LINES:
            os.write(2, line + b"\n")
        os.write(2, b"\r\x1b[Kprogress 3/10")
    err = capfd.readouterr().err
    assert err == "".join(line.decode() + "\n" for line in OWN_LINES) + "\r\x1b[Kprogress 3/10"


def _run(args, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}  # TensorFlow at its loudest
    return subprocess.run([sys.executable, "-m", "vae_spec.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.framework("tensorflow")
def test_check_of_a_tensorflow_loss_prints_only_its_report(tmp_path):
    (tmp_path / "tfloss.py").write_text(textwrap.dedent("""
        import tensorflow as tf

        def loss(x_recon, x, mu, logvar):
            bce = -tf.reduce_sum(x * tf.math.log(x_recon) + (1 - x) * tf.math.log1p(-x_recon), axis=1)
            kl = -0.5 * tf.reduce_sum(1 + logvar - tf.square(mu) - tf.exp(logvar), axis=1)
            return tf.reduce_mean(bce + kl)
    """))
    # float16 makes oneDNN log its fallback on every machine without AVX-512 FP16
    done = _run(["check", "tfloss.py:loss", "--framework", "tensorflow", "--likelihood", "bernoulli-probs",
                 "--dtypes", "float16,float32", "--max-examples", "5"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tfloss.py:loss [tensorflow] claims:") and lines[-1].startswith("PASSED")
    assert all(line.startswith("  ") for line in lines[1:-1]), done.stdout


@pytest.mark.framework("tensorflow")
@pytest.mark.framework("torch")
@pytest.mark.framework("jax")
@pytest.mark.framework("keras")
def test_the_demo_prints_only_its_own_lines(tmp_path):
    done = _run(["demo", "--no-check"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert not [line for line in done.stdout.splitlines() if is_chatter(line.encode())]
