"""check and diagnose speak one vocabulary: a failing check names the departure diagnose names.

Each loss below departs from the ELBO in one known way and is declared as the ELBO. ``check``
must fail with the specific code (never only the generic kl-formula / recon-formula), the
report's findings must hold the same code and sentence that ``diagnose`` gives, and the
gradient must be reported only when the value conforms.
"""

from __future__ import annotations

import numpy as np
import pytest

from vae_spec import Convention, Target, check, diagnose

ARGS = ("x_recon", "x", "mu", "logvar")


def bce(x_recon, x):
    return -(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)).reshape(len(x), -1).sum(axis=1)


def kl(mu, logvar):
    return (0.5 * (mu**2 + np.exp(logvar) - 1 - logvar)).reshape(len(mu), -1)


def beta_4(x_recon, x, mu, logvar):
    return np.mean(bce(x_recon, x) + 4.0 * kl(mu, logvar).sum(axis=1))


def kl_weighted_2(x_recon, x, mu, logvar):
    return np.mean(bce(x_recon, x) + 2.0 * kl(mu, logvar).sum(axis=1))


def log_std_as_log_var(x_recon, x, mu, logvar):  # exp(2 lv) where exp(lv) belongs
    k = 0.5 * (mu**2 + np.exp(2 * logvar) - 1 - 2 * logvar)
    return np.mean(bce(x_recon, x) + k.reshape(len(mu), -1).sum(axis=1))


def kl_latent_mean(x_recon, x, mu, logvar):
    return np.mean(bce(x_recon, x) + kl(mu, logvar).mean(axis=1))


def kl_batch_sum(x_recon, x, mu, logvar):
    return np.mean(bce(x_recon, x)) + np.sum(kl(mu, logvar))


def lightning_mse_mean(x_recon, x, mu, logvar):  # F.mse_loss(reduction="mean") + KL, shapes fixed
    return np.mean((x_recon - x) ** 2) + np.mean(kl(mu, logvar).sum(axis=1))


CASES = [
    (beta_4, "bernoulli-probs", {}, "kl-scaled"),
    (kl_weighted_2, "bernoulli-probs", {}, "kl-missing-half"),
    (log_std_as_log_var, "bernoulli-probs", {}, "kl-param-logstd"),
    (kl_latent_mean, "bernoulli-probs", {}, "kl-latent-mean"),
    (kl_batch_sum, "bernoulli-probs", {}, "batch-mismatch"),
    (lightning_mse_mean, "gaussian:var=0.5", {"data_shape": (784,), "latent_shape": (8,)}, "recon-data-mean"),
]


@pytest.mark.parametrize("fn, likelihood, shapes, code", CASES, ids=[c[0].__name__ for c in CASES])
def test_check_names_the_departure_with_diagnose_code_and_sentence(fn, likelihood, shapes, code):
    report = check(Target(fn, args=ARGS, likelihood=likelihood, **shapes), raise_on_failure=False)
    assert not report.passed
    failing = {r.code for r in report.failures}
    assert code in failing, report.to_text()
    assert not failing & {"kl-formula", "recon-formula"}, report.to_text()
    diagnosis = diagnose(Target(fn, args=ARGS, **shapes))
    said = {f.code: f.message for f in diagnosis.findings if f.severity == "error"}
    named = {f.code: f.message for f in report.findings}
    assert code in said and code in named, f"{diagnosis.to_text()}\n{report.to_text()}"
    if code != "recon-data-mean":  # diagnose judges an MSE by its implied variance, check by the claimed one
        assert said[code] == named[code]


def test_a_kl_weighted_2_is_one_finding_with_both_readings():
    report = check(Target(kl_weighted_2, args=ARGS, likelihood="bernoulli-probs"), raise_on_failure=False)
    findings = [f for f in report.findings if f.code in ("kl-missing-half", "kl-scaled")]
    assert len(findings) == 1
    message = findings[0].message
    assert "1/2 is missing" in message and "beta of 2" in message


def test_the_gradient_is_held_back_while_the_value_departs():
    report = check(Target(beta_4, framework="numpy", args=ARGS, likelihood="bernoulli-probs"),
                   raise_on_failure=False)
    assert "gradient" not in {r.code for r in report.failures}


def test_a_declared_departure_passes_and_the_report_says_it_is_not_the_elbo():
    target = Target(kl_latent_mean, args=ARGS, likelihood="bernoulli-probs", convention=Convention(latent="mean"))
    report = check(target)
    assert report.not_elbo == ("kl-latent-mean",)
    assert "this claim is not the ELBO" in report.to_text()


def test_a_departure_from_a_declared_claim_that_is_legal_for_the_elbo_is_named():
    # a batch sum is a legal ELBO convention, but not what a batch-mean claim says
    def summed(x_recon, x, mu, logvar):
        return np.sum(bce(x_recon, x) + kl(mu, logvar).sum(axis=1))

    report = check(Target(summed, args=ARGS, likelihood="bernoulli-probs"), raise_on_failure=False)
    assert "batch-sum" in {r.code for r in report.failures}
    assert diagnose(Target(summed, args=ARGS)).is_elbo


def test_a_formula_no_rule_names_keeps_the_generic_code():
    def mu_not_squared(x_recon, x, mu, logvar):
        k = 0.5 * (np.abs(mu) + np.exp(logvar) - 1 - logvar)
        return np.mean(bce(x_recon, x) + k.sum(axis=1))

    report = check(Target(mu_not_squared, args=ARGS, likelihood="bernoulli-probs"), raise_on_failure=False)
    assert "kl-formula" in {r.code for r in report.failures} and not report.findings
