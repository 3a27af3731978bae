"""diagnose(): the verdict, convention and findings for losses whose departures are known.

Each expected code follows from how the loss is written (the comment by each loss says why);
the numbers asserted (beta 0.01, sigma^2 = 0.5 D / d) are the weights written in the loss.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vae_spec import Target, diagnose
from vae_spec.cli import main
from vae_spec.demo import run_demo
from vae_spec.examples import EXAMPLES

ARGS = ("x_recon", "x", "mu", "logvar")
ARTICLE_ARGS = {"x": "x", "x_decoded_mean": "x_recon", "z_mean": "mu", "z_log_var": "logvar"}


def _rows(a):
    return a.reshape(a.shape[0], -1)


def bce(x_recon, x):
    return -_rows(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)).sum(axis=1)


def kl(mu, logvar):
    return 0.5 * _rows(mu**2 + np.exp(logvar) - 1 - logvar)


def elbo_loss(x_recon, x, mu, logvar):            # the ELBO, batch mean
    return np.mean(bce(x_recon, x) + kl(mu, logvar).sum(axis=1))


def kl_latent_mean(x_recon, x, mu, logvar):       # KL averaged over latent dims
    return np.mean(bce(x_recon, x) + kl(mu, logvar).mean(axis=1))


def recon_data_mean(x_recon, x, mu, logvar):      # BCE averaged over data elements
    return np.mean(bce(x_recon, x) / _rows(x).shape[1] + kl(mu, logvar).sum(axis=1))


def batch_mismatch(x_recon, x, mu, logvar):       # KL summed over the batch, BCE averaged
    return np.mean(bce(x_recon, x)) + kl(mu, logvar).sum()


def kl_scaled(x_recon, x, mu, logvar):            # an undeclared beta of 0.1
    return np.mean(bce(x_recon, x) + 0.1 * kl(mu, logvar).sum(axis=1))


def kl_missing_half(x_recon, x, mu, logvar):      # 2 KL
    return np.mean(bce(x_recon, x) + 2 * kl(mu, logvar).sum(axis=1))


def kl_sign(x_recon, x, mu, logvar):              # - KL
    return np.mean(bce(x_recon, x) - kl(mu, logvar).sum(axis=1))


def logvar_as_logstd(x_recon, x, mu, logvar):     # sigma^2 = exp(2 logvar)
    return np.mean(bce(x_recon, x) + kl(mu, 2 * logvar).sum(axis=1))


def double_sigmoid(x_recon, x, mu, logvar):       # logits passed where probabilities belong
    p = 1 / (1 + np.exp(-x_recon))
    return np.mean(bce(p, x) + kl(mu, logvar).sum(axis=1))


def kl_plus_one(x_recon, x, mu, logvar):          # + 1 in place of - 1: no ELBO form
    return np.mean(bce(x_recon, x) + 0.5 * _rows(mu**2 + np.exp(logvar) + 1 - logvar).sum(axis=1))


def stochastic(x_recon, x, mu, logvar):           # samples inside
    z = mu + np.exp(logvar / 2) * np.random.standard_normal(mu.shape)
    log_q_minus_log_p = _rows(-0.5 * (z - mu) ** 2 * np.exp(-logvar) - 0.5 * logvar + 0.5 * z**2).sum(axis=1)
    return np.mean(bce(x_recon, x) + log_q_minus_log_p)


def raises_for_odd_batches(x_recon, x, mu, logvar):
    if x.shape[0] % 2:
        raise ValueError("batch must be even")
    return elbo_loss(x_recon, x, mu, logvar)


def diagnosis_of(fn, **kwargs):
    return diagnose(Target(fn, framework="numpy", args=ARGS, **kwargs))


def error_codes(diagnosis):
    return {f.code for f in diagnosis.findings if f.severity == "error"}


def test_the_elbo_is_the_elbo():
    diagnosis = diagnosis_of(elbo_loss)
    assert diagnosis.is_elbo and error_codes(diagnosis) == set()
    assert diagnosis.convention["batch"] == "mean"
    assert diagnosis.likelihood["name"] == "bernoulli-probs"
    assert math.isclose(diagnosis.beta, 1.0, rel_tol=1e-9)


@pytest.mark.parametrize(("fn", "code"), [
    (kl_latent_mean, "kl-latent-mean"),
    (recon_data_mean, "recon-data-mean"),
    (batch_mismatch, "batch-mismatch"),
    (kl_scaled, "kl-scaled"),
    (kl_missing_half, "kl-missing-half"),
    (kl_sign, "kl-sign"),
    (logvar_as_logstd, "kl-param-logstd"),
    (double_sigmoid, "recon-param"),
    (kl_plus_one, "kl-formula"),
])
def test_each_departure_is_named(fn, code):
    declared = {"likelihood": "bernoulli-probs"} if code == "recon-param" else {}
    diagnosis = diagnosis_of(fn, **declared)
    assert not diagnosis.is_elbo
    assert error_codes(diagnosis) == {code}, diagnosis.to_text()


def test_a_declared_beta_is_legal():
    from vae_spec import Convention

    diagnosis = diagnosis_of(kl_scaled, convention=Convention(beta=0.1))
    assert diagnosis.is_elbo, diagnosis.to_text()
    assert "beta" in diagnosis.codes


def test_the_beta_of_kl_scaled_is_the_written_factor():
    assert math.isclose(diagnosis_of(kl_scaled).beta, 0.1, rel_tol=1e-9)


def test_a_stochastic_loss_is_reported_not_fitted():
    diagnosis = diagnosis_of(stochastic)
    assert "stochastic" in diagnosis.codes and not diagnosis.is_elbo
    assert "stochastic_loss" in next(f.message for f in diagnosis.findings if f.code == "stochastic")


def test_a_loss_raising_on_some_probes_says_so_and_still_fits_the_rest():
    diagnosis = diagnosis_of(raises_for_odd_batches)
    assert "raised" in diagnosis.codes
    assert diagnosis.form is not None and diagnosis.form["likelihood"] == "bernoulli-probs"


def test_an_epsilon_in_the_log_is_a_precision_warning():
    def with_epsilon(x_recon, x, mu, logvar):
        b = -_rows(x * np.log(x_recon + 1e-8) + (1 - x) * np.log(1 - x_recon + 1e-8)).sum(axis=1)
        return np.mean(b + kl(mu, logvar).sum(axis=1))

    diagnosis = diagnosis_of(with_epsilon)
    assert diagnosis.is_elbo and "precision" in diagnosis.codes


def test_a_loss_that_modifies_its_input_in_place_is_not_the_elbo():
    def exp_in_place(x_recon, x, mu, logvar):
        var = np.exp(logvar, out=logvar)  # the caller's logvar now holds the variance
        b = -_rows(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)).sum(axis=1)
        return np.mean(b + 0.5 * _rows(mu**2 + var - 1 - np.log(var)).sum(axis=1))

    diagnosis = diagnosis_of(exp_in_place)
    assert error_codes(diagnosis) == {"input-mutated"} and not diagnosis.is_elbo
    assert "logvar in place" in diagnosis.findings[0].message


@pytest.mark.framework("torch")
def test_value_right_gradient_wrong_is_a_gradient_finding():
    import torch

    def detached(x_recon, x, mu, logvar):
        b = torch.nn.functional.binary_cross_entropy(x_recon, x, reduction="none").flatten(1).sum(1)
        k = 0.5 * (mu.detach() ** 2 + logvar.exp() - 1 - logvar).flatten(1).sum(1)
        return (b + k).mean()

    diagnosis = diagnose(Target(detached, framework="torch", args=ARGS))
    assert error_codes(diagnosis) == {"gradient"} and not diagnosis.is_elbo
    message = next(f.message for f in diagnosis.findings if f.code == "gradient")
    assert "no gradient reaches 'mu'" in message  # the gradient check's own words


@pytest.mark.framework("torch")
def test_a_gradient_that_raises_is_a_gradient_finding():
    import torch

    class Opaque(torch.autograd.Function):
        """The identity whose backward pass was never written."""

        @staticmethod
        def forward(ctx, a):
            return a.clone()

        @staticmethod
        def backward(ctx, grad):
            raise NotImplementedError("no backward")

    def opaque(x_recon, x, mu, logvar):
        b = torch.nn.functional.binary_cross_entropy(x_recon, x, reduction="none").flatten(1).sum(1)
        k = 0.5 * (Opaque.apply(mu) ** 2 + logvar.exp() - 1 - logvar).flatten(1).sum(1)
        return (b + k).mean()

    diagnosis = diagnose(Target(opaque, framework="torch", args=ARGS))
    assert error_codes(diagnosis) == {"gradient"}
    assert "raised NotImplementedError: no backward" in diagnosis.findings[0].message


@pytest.mark.framework("torch")
def test_a_correct_loss_with_a_float32_constant_has_no_gradient_finding():
    import torch

    def gaussian(x_recon, x, mu, logvar):  # float32 constants inside a float64 computation
        nll = (x - x_recon) ** 2 * np.float32(0.5) + np.float32(0.5 * np.log(2 * np.pi))
        k = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
        return (nll.sum(dim=1) + k).mean()

    diagnosis = diagnose(Target(gaussian, framework="torch", args=ARGS))
    assert diagnosis.is_elbo and "gradient" not in diagnosis.codes


# -- the article's three losses (TensorFlow), exactly as the issue states them -----------------
@pytest.fixture(scope="module")
def article():
    from vae_spec.examples import article

    def run(fn, **shapes):
        return diagnose(Target(fn, framework="tensorflow", args=ARTICLE_ARGS, **shapes))

    return {
        1: run(article.example1_vae_loss),
        2: run(article.example2_vae_loss_incorrect),
        3: run(article.example3_vae_loss_dimension_error),
        "1@784": run(article.example1_vae_loss, data_shape=(784,), latent_shape=(16,)),
    }


@pytest.mark.framework("tensorflow")
def test_article_example1_is_mse_mean_plus_latent_mean_kl(article):
    diagnosis = article[1]
    assert not diagnosis.is_elbo
    assert diagnosis.likelihood["family"] == "gaussian"
    assert error_codes(diagnosis) == {"recon-data-mean", "kl-latent-mean"}
    assert diagnosis.form["data"] == "mean" and diagnosis.form["latent"] == "mean"
    assert "gaussian-variance" in diagnosis.codes and diagnosis.implied_variance is not None


@pytest.mark.framework("tensorflow")
def test_article_example1_at_declared_shapes_reports_the_numbers(article):
    diagnosis = article["1@784"]
    assert error_codes(diagnosis) == {"recon-data-mean", "kl-latent-mean"}
    message = next(f.message for f in diagnosis.findings if f.code == "kl-latent-mean")
    assert "16 latent dimensions" in message and "0.0625" in message
    variance = next(f.message for f in diagnosis.findings if f.code == "gaussian-variance")
    assert "24.5" in variance  # sigma^2 = 0.5 D / d = 0.5 * 784 / 16


@pytest.mark.framework("tensorflow")
def test_article_example2_is_kl_scaled_by_0_01_relative_to_example1(article):
    assert "kl-scaled" in error_codes(article[2])
    assert "kl-scaled" not in error_codes(article[1])
    assert math.isclose(article[2].beta / article[1].beta, 0.01, rel_tol=1e-6)


@pytest.mark.framework("tensorflow")
def test_article_example3_is_a_batch_mismatch(article):
    assert "batch-mismatch" in error_codes(article[3])
    assert article[3].form["batch_recon"] == "mean" and article[3].form["batch_kl"] == "sum"


# -- the bundled examples and the command line ---------------------------------------------------
EXPECTED_VERDICT = {
    "article-1": False, "article-2": False, "article-3": False, "pytorch-classic": True,
    "keras3-correct": True, "mse-weighted": False, "logstd-encoder": True, "numpy-correct": True,
}


@pytest.mark.framework("tensorflow")
@pytest.mark.framework("torch")
@pytest.mark.framework("jax")
@pytest.mark.framework("keras")
def test_the_demo_gives_every_bundled_example_its_verdict_in_order():
    """The demo (the README's main job) diagnoses each example with its verdict and checks the
    author's claim, which is the ELBO: it passes exactly where the loss is the ELBO."""
    printed = []
    rows = run_demo(stream=printed.append, jobs=2)
    assert [row["example"] for row in rows] == [example.name for example in EXAMPLES]
    for row, text in zip(rows, printed):
        expected = EXPECTED_VERDICT[row["example"]]
        assert row["is_elbo"] == expected, text
        assert text.startswith(f"{row['example']:16} {row['framework']:10} {'ELBO' if expected else 'NOT ELBO'}")
        verdict = "passes" if expected else "fails ("
        assert f"check of the author's claim: {verdict}" in text, text
    assert printed[-1].strip() == "8 examples diagnosed: 4 ELBO, 4 not."


def test_cli_diagnose_json_has_the_contract_fields(tmp_path, capsys):
    path = tmp_path / "loss.py"
    path.write_text(
        "import numpy as np\n"
        "def loss(x_recon, x, mu, logvar):\n"
        "    b = -(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)).reshape(len(x), -1).sum(1)\n"
        "    k = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar).reshape(len(mu), -1).mean(1)\n"
        "    return np.mean(b + k)\n"
    )
    status = main(["diagnose", f"{path}:loss", "--framework", "numpy", "--args", ",".join(ARGS), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert status == 1
    assert {"target", "framework", "is_elbo", "convention", "scale", "beta", "likelihood", "findings"} <= set(payload)
    assert set(payload["convention"]) == {"data", "latent", "batch", "beta", "scale", "constants"}
    assert {"code": "kl-latent-mean", "severity": "error"}.items() <= payload["findings"][0].items()
