"""A failing report is short for any shape; its counterexample is saved whole and reproduces."""

from __future__ import annotations

import contextlib
import io
import textwrap

import numpy as np
import pytest

from vae_spec import Target, check
from vae_spec.report import TEXT_LIMIT
from vae_spec.target import load_callable

MSE_MEAN = textwrap.dedent("""
    import numpy as np

    def loss(x_recon, x, mu, logvar):  # the article's Example 1, in numpy: every term averaged
        mse = np.mean((x - x_recon) ** 2)
        kl = -0.5 * np.mean(1 + logvar - mu**2 - np.exp(logvar))
        return mse + kl
""")


@pytest.fixture
def report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "images.py").write_text(MSE_MEAN)
    target = Target(load_callable("images.py:loss"), likelihood="gaussian", name="images.py:loss",
                    data_shape=(3, 64, 64), latent_shape=(128,))
    return check(target, raise_on_failure=False, artifacts="saved")


def test_a_failing_report_of_large_images_fits_in_4_kb(report):
    text = report.to_text()
    assert not report.passed and len(report.failures) >= 3
    assert len(text.encode()) <= TEXT_LIMIT
    assert "x_recon = <shape (1, 3, 64, 64), float32, in [" in text


def test_the_repro_loads_the_saved_inputs_and_gives_the_reported_output(report):
    first = report.failures[0]
    assert first.artifact.startswith("saved/") and first.artifact.endswith(".npz")
    saved = np.load(first.artifact)
    for name, values in first.counterexample["inputs"].items():
        np.testing.assert_array_equal(saved[name], np.asarray(values))  # lossless
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(first.repro, {})
    value = float(printed.getvalue().strip().strip("[]"))
    # the same float32 computation on the same inputs, printed by numpy with 8 significant
    # digits (a relative rounding of at most 5e-9); 1e-6 still tells any other input apart
    assert value == pytest.approx(float(np.ravel(first.counterexample["output"])[0]), rel=1e-6)
