"""Each check catches the bug it exists for, and passes the same loss without the bug.

Every buggy loss below is the correct loss of its pair with one change, as people write it;
each pair runs the check that should tell them apart. The correct half makes each test able to
fail: a check that flagged everything would fail it.
"""

from __future__ import annotations

import numpy as np
import pytest

from vae_spec import ConformanceError, Convention, Target, TargetError, check

MAX_EXAMPLES = 12


def example_sum(a):
    return np.sum(a, axis=tuple(range(1, a.ndim)))


def example_mean(a):
    return np.mean(a, axis=tuple(range(1, a.ndim)))


def bce_elements(x_recon, x):
    """Bernoulli negative log-likelihood from logits, per element."""
    return np.logaddexp(0, x_recon) - x * x_recon


def kl_elements(mu, logvar):
    return -0.5 * (1 + logvar - mu * mu - np.exp(logvar))


# -- numpy losses: the correct one and its one-change variants ----------------------------------
def negative_elbo(x_recon, x, mu, logvar):
    return np.mean(example_sum(bce_elements(x_recon, x)) + example_sum(kl_elements(mu, logvar)))


def kl_latent_mean(x_recon, x, mu, logvar):
    return np.mean(example_sum(bce_elements(x_recon, x)) + example_mean(kl_elements(mu, logvar)))


def recon_data_mean(x_recon, x, mu, logvar):
    return np.mean(example_mean(bce_elements(x_recon, x)) + example_sum(kl_elements(mu, logvar)))


def kl_summed_over_batch(x_recon, x, mu, logvar):
    return np.mean(example_sum(bce_elements(x_recon, x))) + np.sum(kl_elements(mu, logvar))


def returns_a_list(x_recon, x, mu, logvar):
    return [negative_elbo(x_recon, x, mu, logvar)]


def raises(x_recon, x, mu, logvar):
    raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")


def raises_for_odd_batches(x_recon, x, mu, logvar):
    if x.shape[0] % 2:
        raise ValueError("batch must be even")
    return negative_elbo(x_recon, x, mu, logvar)


def per_example(x_recon, x, mu, logvar):
    return example_sum(bce_elements(x_recon, x)) + example_sum(kl_elements(mu, logvar))


def logvar_taken_for_the_variance(x_recon, x, mu, logvar):
    kl = -0.5 * (1 + np.log(logvar) - mu * mu - logvar)  # NaN for every logvar < 0
    return np.mean(example_sum(bce_elements(x_recon, x)) + example_sum(kl))


def numpy_target(fn, **kwargs):
    return Target(fn, framework="numpy", term="loss", likelihood="bernoulli-logits", **kwargs)


def run(target, checks):
    return check(target, checks=checks, max_examples=MAX_EXAMPLES, raise_on_failure=False)


def assert_caught(target, name, code):
    """``name`` fails with ``code`` and a counterexample; ``check`` raises ConformanceError."""
    report = run(target, (name,))
    (result,) = report.checks
    assert result.status == "fail", result.message
    assert result.code == code
    assert result.counterexample is not None and result.counterexample["inputs"]
    with pytest.raises(ConformanceError) as raised:
        check(target, checks=(name,), max_examples=MAX_EXAMPLES)
    assert raised.value.report.failures[0].name == name
    return result


def assert_passes(target, names):
    report = run(target, names)
    assert [r.status for r in report.checks] == ["pass"] * len(names), report.to_text()


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
@pytest.mark.parametrize(("bug", "name", "code"), [
    (recon_data_mean, "data_scaling", "recon-data-mean"),
    (returns_a_list, "returns_array", "output-type"),
    (logvar_taken_for_the_variance, "finite", "nonfinite"),
], ids=lambda v: getattr(v, "__name__", None))
def test_numpy_bug_is_caught_by_its_check(bug, name, code):
    result = assert_caught(numpy_target(bug), name, code)
    assert result.severity == "error"
    assert_passes(numpy_target(negative_elbo), (name,))


def test_a_latent_mean_is_reported_as_behaving_like_a_mean():
    result = assert_caught(numpy_target(kl_latent_mean), "latent_scaling", "kl-latent-mean")
    assert "multiplied the KL by 1:" in result.message and "behaves as a mean" in result.message
    assert_passes(numpy_target(negative_elbo), ("latent_scaling",))


def test_kl_summed_over_the_batch_is_a_batch_mismatch():
    names = ("batch_scaling", "batch_consistency")
    report = run(numpy_target(kl_summed_over_batch), names)
    for result in report.checks:
        assert result.status == "fail", result.message
        assert result.code == "batch-mismatch"
        assert result.counterexample is not None
    assert_passes(numpy_target(negative_elbo), names)


def test_a_per_example_vector_where_a_scalar_is_declared_is_a_shape_error():
    result = assert_caught(numpy_target(per_example), "shape", "shape")
    assert "expected ()" in result.message
    # declared per example, the same function conforms
    assert_passes(numpy_target(per_example, convention=Convention(batch="none")), ("shape",))


def test_a_loss_raising_on_every_call_gets_no_verdict_but_the_exception_and_a_hint():
    with pytest.raises(TargetError) as raised:
        check(numpy_target(raises), checks=("returns_array",), max_examples=5)
    message = str(raised.value)
    assert "raised on every call, so it gets no verdict" in message
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in message
    assert "(B, d)" in message and "(B, C, H, W)" in message and "float32, float64" in message
    assert "--data-shape" in message


def test_a_loss_raising_on_some_cases_is_reported_with_its_exception():
    result = assert_caught(numpy_target(raises_for_odd_batches), "returns_array", "raised")
    assert "ValueError: batch must be even" in result.message
    assert_passes(numpy_target(negative_elbo), ("returns_array",))


# -- torch: gradients and in-place operations -------------------------------------------------
def torch_losses():
    import torch
    import torch.nn.functional as F

    def axes(t):
        return tuple(range(1, t.dim()))

    def negative_elbo(x_recon, x, mu, logvar):
        bce = F.binary_cross_entropy_with_logits(x_recon, x, reduction="none").sum(axes(x))
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=axes(mu))
        return (bce + kl).mean()

    def mu_detached(x_recon, x, mu, logvar):
        return negative_elbo(x_recon, x, mu.detach(), logvar)

    def exp_in_place(x_recon, x, mu, logvar):
        bce = F.binary_cross_entropy_with_logits(x_recon, x, reduction="none").sum(axes(x))
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2), dim=axes(mu)) + 0.5 * torch.sum(logvar.exp_(), dim=axes(mu))
        return (bce + kl).mean()

    return negative_elbo, mu_detached, exp_in_place


def torch_target(fn):
    return Target(fn, framework="torch", term="loss", likelihood="bernoulli-logits")


@pytest.mark.framework("torch")
def test_a_detached_mu_fails_the_gradient_check():
    correct, mu_detached, _ = torch_losses()
    result = assert_caught(torch_target(mu_detached), "gradient", "gradient")
    assert "no gradient reaches 'mu'" in result.message
    assert_passes(torch_target(correct), ("gradient",))


@pytest.mark.framework("torch")
def test_an_in_place_exp_fails_the_no_mutation_check():
    correct, _, exp_in_place = torch_losses()
    result = assert_caught(torch_target(exp_in_place), "no_mutation", "input-mutated")
    assert result.message == "the call modified logvar in place"
    assert_passes(torch_target(correct), ("no_mutation",))


# -- torch: a kink accepts every subgradient, and only there ----------------------------------
def laplace_losses():
    """-log p for a unit-scale Laplace decoder, sum(|x - m| + log 2) per example, batch mean."""
    import math

    import torch

    def one_sided(x_recon, x):
        # |x - m| through where: at x = m the derivative with respect to m is -1, a subgradient
        d = x - x_recon
        return (torch.where(d >= 0, d, -d) + math.log(2)).flatten(1).sum(1).mean()

    def gradient_offset(x_recon, x):
        # the value is right, but every d/dm is off by +1/2 (m - m.detach() is 0)
        nll = torch.abs(x - x_recon) + math.log(2) + 0.5 * (x_recon - x_recon.detach())
        return nll.flatten(1).sum(1).mean()

    return one_sided, gradient_offset


def laplace_target(fn):
    return Target(fn, framework="torch", term="reconstruction", args=("x_recon", "x"),
                  likelihood="laplace")


@pytest.mark.framework("torch")
def test_a_one_sided_derivative_at_the_laplace_kink_passes():
    one_sided, _ = laplace_losses()
    assert_passes(laplace_target(one_sided), ("value", "gradient"))


@pytest.mark.framework("torch")
def test_a_wrong_laplace_gradient_is_caught_away_from_the_kink():
    _, gradient_offset = laplace_losses()
    assert_passes(laplace_target(gradient_offset), ("value",))
    result = assert_caught(laplace_target(gradient_offset), "gradient", "gradient")
    assert "d(output)/d(x_recon)" in result.message
