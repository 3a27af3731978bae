"""The HTML report (``--html``, ``--vae-html``): one self-contained page with the verdict, the
findings, the claim, the counterexamples and inline SVG plots, rendered by headless Chromium.

The loss is a numpy negative ELBO whose KL is averaged over the latent dimensions
(``kl-latent-mean``): the probes vary B, d and D, so a diagnosis page holds three plots.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from vae_spec import Target, check, diagnose
from vae_spec import html_report
from vae_spec.cli import main

pytestmark = pytest.mark.framework("report")
pytest_plugins = ["pytester"]

LOSS = '''
import numpy as np

def kl_mean_loss(x_recon, x, mu, logvar):
    """Bernoulli NLL summed over the data, the KL averaged over the latent axis, batch mean."""
    nll = -(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)).sum(axis=1)
    kl = -0.5 * (1 + logvar - mu**2 - np.exp(logvar)).mean(axis=1)
    return (nll + kl).mean()
'''
namespace: dict = {}
exec(compile(LOSS, __file__, "exec"), namespace)
kl_mean_loss = namespace["kl_mean_loss"]
SPEC = "losses_np:kl_mean_loss"


def _target(**claim):
    return Target(kl_mean_loss, framework="numpy", name=SPEC, **claim)


@pytest.fixture(scope="module")
def diagnosis():
    return diagnose(_target())


@pytest.fixture(scope="module")
def diagnosis_html(diagnosis):
    return html_report.diagnosis_page(diagnosis, SPEC)


def external_references(page: str) -> list[str]:
    """src/href attributes and CSS url()s that reach the network, and any script or link tag."""
    found = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//[^"'\s>]*""", page, flags=re.I)
    found += re.findall(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)", page, flags=re.I)
    found += re.findall(r"<(?:script|link|iframe|img)\b[^>]*>", page, flags=re.I)
    return found


def claim_command(page: str) -> str:
    """The page's ``vae-spec check`` line, its ``\\`` continuations joined."""
    shown = re.search(r'<pre class="claim-command">(.*?)</pre>', page, flags=re.S).group(1)
    return html.unescape(shown).replace(" \\\n    ", " ")


def test_the_diagnosis_page_has_the_verdict_findings_claim_and_one_plot_per_size(diagnosis, diagnosis_html):
    page = diagnosis_html
    assert "is NOT the ELBO" in page
    assert "kl-latent-mean" in diagnosis.codes
    for finding in diagnosis.findings:
        assert html.escape(finding.code) in page and html.escape(finding.message) in page
    assert claim_command(page) == diagnosis.claim.command_line(SPEC)
    assert html.escape(diagnosis.claim.pyproject_block(SPEC)) in page
    assert "[[tool.vae_spec.targets]]" in page
    assert page.count("<svg") == 3  # B, d and D all vary
    for label in ("batch size B", "latent size d", "data size D", "−ELBO", "fitted form"):
        assert label in page
    assert external_references(page) == []


def test_the_plotted_elbo_is_the_spec_and_the_fit_reproduces_the_loss(diagnosis):
    drawn, fixed = html_report.series(diagnosis)
    assert [s.axis for s in drawn] == [0, 1, 2] and fixed == []
    # diagnose accepts a form only within its derived float64 bound (a relative residual near
    # 1e-15 here, printed on the page); 1e-9 tolerates the plot's own evaluation and still
    # catches a wrong form, whose gap from the loss is of order 1
    for s in drawn:
        np.testing.assert_allclose(s.predicted, s.loss, rtol=1e-9)
    latent = drawn[1]  # the ELBO sums the KL over d: it departs from the loss as d grows
    assert not np.allclose(latent.reference, latent.loss)


def test_the_elbo_line_coincides_with_a_correct_loss():
    def negative_elbo(x_recon, x, mu, logvar):
        nll = -(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)).sum(axis=1)
        return (nll - 0.5 * (1 + logvar - mu**2 - np.exp(logvar)).sum(axis=1)).sum()

    result = diagnose(Target(negative_elbo, framework="numpy"))
    assert result.is_elbo
    # the same float64 sum computed two ways: they differ by rounding, n u |terms| ~ 1e-14
    # relative at these sizes; a KL weighed 1/d or a mean over D would be off by order 1
    for s in html_report.series(result)[0]:
        np.testing.assert_allclose(s.reference, s.loss, rtol=1e-9)


def test_the_check_page_has_each_failing_checks_counterexample_and_the_declared_claim():
    target = _target(likelihood="bernoulli-probs")
    report = check(target, max_examples=5, raise_on_failure=False)
    page = html_report.check_page(report, target, SPEC)
    assert not report.passed and "FAILED" in page
    for result in report.failures:
        assert html.escape(result.message) in page
    assert "Counterexamples" in page and "<th>shape</th>" in page and "expected: " in page
    assert claim_command(page).startswith("vae-spec check losses_np:kl_mean_loss --framework numpy ")
    assert html.escape('likelihood = "bernoulli-probs"') in page
    assert page.count("<svg") == 3  # the diagnosis of the same loss
    assert external_references(page) == []


def test_user_text_is_escaped_and_page_names_are_safe():
    target = Target(kl_mean_loss, framework="numpy", name="<script>alert(1)</script>:x")
    page = html_report.diagnosis_page(diagnose(target))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert html_report.page_name("pkg/losses.py:<vae loss>") == "pkg_losses.py_vae_loss.html"
    assert html_report.page_name("../..") == "target.html"


def test_the_cli_writes_the_page(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "losses_np.py").write_text(LOSS)
    monkeypatch.delitem(sys.modules, "losses_np", raising=False)
    out = tmp_path / "report.html"
    try:
        _cli_writes_the_page(tmp_path, out, capsys)
    finally:
        sys.modules.pop("losses_np", None)


def _cli_writes_the_page(tmp_path, out, capsys):
    status = main(["diagnose", SPEC, "--framework", "numpy", "--html", str(out)])
    assert status == 1 and out.read_text(encoding="utf-8").count("<svg") == 3
    assert f"wrote the HTML report to {out}" in capsys.readouterr().out
    out = tmp_path / "check.html"
    status = main(["check", SPEC, "--framework", "numpy", "--likelihood", "bernoulli-probs",
                   "--max-examples", "5", "--json", "--html", str(out)])
    captured = capsys.readouterr()
    assert status == 1 and "Counterexamples" in out.read_text(encoding="utf-8")
    assert "wrote the HTML report" in captured.err and "wrote" not in captured.out


def test_without_matplotlib_html_is_a_usage_error_naming_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # find_spec then reports it missing
    status = main(["diagnose", "vae_spec.examples.numpy_vae:negative_elbo", "--framework", "numpy",
                   "--html", str(tmp_path / "r.html")])
    assert status == 2
    assert 'pip install "vae-spec[report]"' in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_the_pytest_plugin_writes_one_page_per_failing_target(pytester):
    pytester.makepyfile(losses_html=LOSS + "\n\ndef good(x_recon, x, mu, logvar):\n"
                        "    return kl_mean_loss(x_recon, x, mu, logvar)\n")
    tables = "".join(
        f'[[tool.vae_spec.targets]]\ntarget = "losses_html:{name}"\nframework = "numpy"\n'
        f'likelihood = "bernoulli-probs"\n{extra}\n'
        for name, extra in (("kl_mean_loss", ""), ("good", 'convention = { latent = "mean" }')))
    pytester.makepyprojecttoml(tables)
    result = pytester.runpytest("--vae-max-examples=5", "-p", "no:cacheprovider", "-k", "value or shape",
                                "--vae-html", "pages")
    result.assert_outcomes(passed=3, failed=1)
    pages = sorted(p.name for p in (pytester.path / "pages").iterdir())
    assert pages == ["losses_html_kl_mean_loss.html"]
    assert "kl-latent-mean" in (pytester.path / "pages" / pages[0]).read_text(encoding="utf-8")


# -- rendered by a browser ----------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(tmp_path, *arguments) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
               f"--user-data-dir={tmp_path / 'profile'}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install chromium): "
                                             "the page is not rendered")
def test_chromium_renders_the_plots_and_findings(tmp_path, diagnosis, diagnosis_html):
    page = tmp_path / "report.html"
    page.write_text(diagnosis_html, encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom.count("<svg") == 3
    assert "is NOT the ELBO" in dom and "kl-latent-mean" in dom
    assert "batch size B" in dom and "−ELBO" in dom  # the plots' text, kept as SVG text
    screenshot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1200,1800", page.as_uri())
    assert screenshot.stat().st_size > 20_000
    from matplotlib.image import imread

    pixels = imread(screenshot)[..., :3]
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100  # not a flat colour
    blue = np.all(np.abs(pixels - np.array([0x1F, 0x77, 0xB4]) / 255) < 0.08, axis=-1)
    red = np.all(np.abs(pixels - np.array([0xB3, 0x26, 0x1E]) / 255) < 0.08, axis=-1)
    assert blue.sum() > 200  # the loss's points and fitted lines (matplotlib's C0)
    assert red.sum() > 5_000  # the verdict banner


def test_without_matplotlib_vae_html_stops_pytest_with_a_usage_error(pytester, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = pytester.runpytest("-p", "no:cacheprovider", "--vae-html", "pages")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert '--vae-html: ' in result.stderr.str() and 'pip install "vae-spec[report]"' in result.stderr.str()
