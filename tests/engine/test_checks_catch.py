"""Each check catches the bug it exists for, and passes the same loss without the bug.

The buggy losses are the self-test corpus's (:mod:`vae_spec.selftest`): each is the correct
loss of its pair with one change, as people write it, and each pair runs the check that should
tell them apart. The correct half makes each test able to fail: a check that flagged
everything would fail it. The cases that are no VAE bug of the corpus (a list returned, an
exception raised, a Laplace kink) are written here against the same
:class:`~vae_spec.selftest.ops.Ops`.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from vae_spec import ConformanceError, Target, TargetError, check
from vae_spec.selftest import corpus
from vae_spec.selftest.correct import textbook
from vae_spec.selftest.ops import bind

MAX_EXAMPLES = 12


def corpus_target(kind, name, framework="numpy", **claim):
    """The corpus entry's Target, its declared claim changed where ``claim`` says."""
    entry = corpus.entry(kind, framework, name)
    return dataclasses.replace(entry, kwargs={**entry.kwargs, **claim}).load()


def numpy_target(fn):
    """``fn(o, x_recon, x, mu, logvar)`` in numpy, claimed as the textbook's Bernoulli ELBO."""
    return Target(bind(fn, "numpy"), framework="numpy", term="loss", likelihood="bernoulli-probs")


# -- what is no VAE bug, written against the same primitives ------------------------------------
def returns_a_list(o, x_recon, x, mu, logvar):
    return [textbook(o, x_recon, x, mu, logvar)]


def raises(o, x_recon, x, mu, logvar):
    raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")


def raises_for_odd_batches(o, x_recon, x, mu, logvar):
    if x.shape[0] % 2:
        raise ValueError("batch must be even")
    return textbook(o, x_recon, x, mu, logvar)


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
@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")
@pytest.mark.parametrize(("bug", "name", "code"), [
    (lambda: corpus_target("mutant", "recon_data_mean"), "data_scaling", "recon-data-mean"),
    (lambda: numpy_target(returns_a_list), "returns_array", "output-type"),
    # the variance encoder's loss declared as taking logvar: log(logvar) is NaN for every logvar < 0
    (lambda: corpus_target("correct", "var_posterior", args=("x_recon", "x", "mu", "logvar")),
     "finite", "nonfinite"),
], ids=["recon_data_mean", "returns_a_list", "logvar_taken_for_the_variance"])
def test_numpy_bug_is_caught_by_its_check(bug, name, code):
    result = assert_caught(bug(), name, code)
    assert result.severity == "error"
    assert_passes(corpus_target("correct", "textbook"), (name,))


def test_a_latent_mean_is_reported_as_behaving_like_a_mean():
    result = assert_caught(corpus_target("mutant", "kl_latent_mean"), "latent_scaling", "kl-latent-mean")
    assert "multiplied the KL by 1:" in result.message and "behaves as a mean" in result.message
    assert_passes(corpus_target("correct", "textbook"), ("latent_scaling",))


def test_kl_summed_over_the_batch_is_a_batch_mismatch():
    names = ("batch_scaling", "batch_consistency")
    report = run(corpus_target("mutant", "kl_batch_sum"), names)
    for result in report.checks:
        assert result.status == "fail", result.message
        assert result.code == "batch-mismatch"
        assert result.counterexample is not None
    assert_passes(corpus_target("correct", "textbook"), names)


def test_a_per_example_vector_where_a_scalar_is_declared_is_a_shape_error():
    result = assert_caught(corpus_target("mutant", "per_example_for_scalar"), "shape", "shape")
    assert "expected ()" in result.message
    # declared per example, the same function conforms
    declared = corpus_target("mutant", "per_example_for_scalar", convention={"batch": "none"})
    assert_passes(declared, ("shape",))


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
    assert_passes(corpus_target("correct", "textbook"), ("returns_array",))


# -- torch: gradients and in-place operations -------------------------------------------------
@pytest.mark.framework("torch")
def test_a_detached_mu_fails_the_gradient_check():
    result = assert_caught(corpus_target("mutant", "detached_mu", "torch"), "gradient", "gradient")
    assert "no gradient reaches 'mu'" in result.message
    assert_passes(corpus_target("correct", "textbook", "torch"), ("gradient",))


@pytest.mark.framework("torch")
def test_an_in_place_exp_fails_the_no_mutation_check():
    result = assert_caught(corpus_target("mutant", "logvar_modified_in_place", "torch"),
                           "no_mutation", "input-mutated")
    assert result.message == "the call modified logvar in place"
    assert_passes(corpus_target("correct", "textbook", "torch"), ("no_mutation",))


# -- torch: a kink accepts every subgradient, and only there ----------------------------------
# -log p for a unit-scale Laplace decoder: sum(|x - m| + log 2) per example, batch mean
def laplace_one_sided(o, x_recon, x):
    """|x - m| through where: at x = m the derivative with respect to m is -1, a subgradient."""
    error = x - x_recon
    return o.mean(o.sum(o.rows(o.where(error >= 0, error, -error) + math.log(2)), axis=1))


def laplace_gradient_offset(o, x_recon, x):
    """The value is right, but every d/dm is off by +1/2 (m - stop_gradient(m) is 0)."""
    nll = o.abs(x - x_recon) + math.log(2) + 0.5 * (x_recon - o.stop_gradient(x_recon))
    return o.mean(o.sum(o.rows(nll), axis=1))


def laplace_target(fn):
    return Target(bind(fn, "torch"), framework="torch", term="reconstruction", args=("x_recon", "x"),
                  likelihood="laplace")


@pytest.mark.framework("torch")
def test_a_one_sided_derivative_at_the_laplace_kink_passes():
    assert_passes(laplace_target(laplace_one_sided), ("value", "gradient"))


@pytest.mark.framework("torch")
def test_a_wrong_laplace_gradient_is_caught_away_from_the_kink():
    target = laplace_target(laplace_gradient_offset)
    assert_passes(target, ("value",))
    result = assert_caught(target, "gradient", "gradient")
    assert "d(output)/d(x_recon)" in result.message


def test_a_non_array_output_says_what_it_returned():
    result = assert_caught(numpy_target(returns_a_list), "returns_array", "output-type")
    assert result.message.startswith("returned a list of length 1, not an array of numpy")
