"""The same loss in numpy, torch, TensorFlow, JAX and Keras: the same values, the same verdict.

The self-test corpus writes each loss once for every framework (:mod:`vae_spec.selftest`):
``textbook``, the negative ELBO of a Bernoulli VAE on probabilities (batch mean), and the mutant
``kl_latent_mean``, the same loss with its KL averaged over every latent element (and the
batch). On the same inputs (rounded to the dtype) every framework's output lies within the
derived bound (vae_spec.tolerance) of the spec's value of the claim that loss meets: the ELBO
for the first, Convention(latent="mean") for the second; so two frameworks agree within the
sum of their bounds. The checks then give the same verdict (status and finding code, per
check) in every framework as in numpy.

Keras is compared in float32 only: its float64 depends on the backend (under jax and torch,
keras.ops.mean averages float64 inputs at float32 accuracy).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from vae_spec import Convention, Target, check, reference, tolerance
from vae_spec.frameworks import get_adapter
from vae_spec.selftest import corpus

FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax", "keras")
DTYPES = {framework: ("float32", "float64") for framework in FRAMEWORKS} | {"keras": ("float32",)}
#: the corpus entry of each loss
ENTRIES = {"elbo_loss": ("correct", "textbook"), "kl_latent_mean": ("mutant", "kl_latent_mean")}
ARGS = ("x_recon", "x", "mu", "logvar")
LIKELIHOOD = "bernoulli-probs"
#: the claim each loss meets exactly
CLAIMS = {"elbo_loss": Convention(), "kl_latent_mean": Convention(latent="mean")}
#: checks that apply in every framework (numpy has no autodiff) and tell the two losses apart
VERDICT_CHECKS = ("value", "latent_scaling")
#: what the two losses must get, by the definitions of the findings (README, finding codes)
EXPECTED_VERDICT = {
    "elbo_loss": (("value", "pass", None), ("latent_scaling", "pass", None)),
    "kl_latent_mean": (("value", "fail", "kl-latent-mean"), ("latent_scaling", "fail", "kl-latent-mean")),
}


def _param(framework, *values):
    marks = () if framework == "numpy" else (pytest.mark.framework(framework),)
    return pytest.param(framework, *values, marks=marks, id="-".join((framework, *values)))


def _loss(framework: str, name: str):
    """The corpus's function for ``name`` in ``framework``."""
    kind, function = ENTRIES[name]
    entry = corpus.entry(kind, framework, function)
    assert entry.kwargs["args"] == ARGS and entry.kwargs["likelihood"] == LIKELIHOOD
    return entry.load().fn


def _inputs(dtype: str, adapter) -> dict[str, np.ndarray]:
    """Seeded inputs rounded to ``dtype``: 5 examples, data (2, 3), latent (4,), probabilities
    sigmoid(l) for logits l in [-6, 6], mu in [-2, 2], logvar in [-3, 3], targets half binary
    and half soft."""
    rng = np.random.default_rng(20261126)
    x = np.where(rng.random((5, 2, 3)) < 0.5, rng.integers(0, 2, (5, 2, 3)), rng.random((5, 2, 3)))
    values = {
        "x_recon": 1 / (1 + np.exp(-rng.uniform(-6, 6, (5, 2, 3)))), "x": x,
        "mu": rng.uniform(-2, 2, (5, 4)), "logvar": rng.uniform(-3, 3, (5, 4)),
    }
    return {name: adapter.round_to(value, dtype) for name, value in values.items()}


def _output(framework: str, name: str, inputs: dict[str, np.ndarray], dtype: str) -> float:
    adapter = get_adapter(framework)
    natives = [adapter.asarray(inputs[arg], dtype) for arg in ARGS]
    return float(adapter.to_numpy(_loss(framework, name)(*natives)))


@pytest.mark.parametrize(
    "framework, dtype", [_param(f, d) for f in FRAMEWORKS for d in DTYPES[f]]
)
def test_outputs_lie_within_the_derived_bound_of_the_spec_and_of_numpy(framework, dtype):
    inputs = _inputs(dtype, get_adapter(framework))
    for name, convention in CLAIMS.items():
        target = Target(_loss(framework, name), framework=framework, term="loss", args=ARGS,
                        likelihood=LIKELIHOOD, convention=convention)
        expected = reference.expected(target, inputs)
        output = _output(framework, name, inputs, dtype)
        comparison = tolerance.compare(output, expected.value, expected.magnitude, dtype,
                                       expected.n_summands)
        assert comparison.passed, f"{framework} {name} ({dtype}): {comparison}"
        # numpy's output lies within the same bound of the same spec value, so the two differ
        # by at most twice the bound
        numpy_output = _output("numpy", name, inputs, dtype)
        assert abs(output - numpy_output) <= 2 * comparison.bound, (
            f"{framework} {name} ({dtype}): {output!r} vs numpy {numpy_output!r}"
        )
    # the bound tells the two claims apart on these inputs: the latent-mean loss is not the ELBO
    elbo = reference.expected(Target(_loss(framework, "elbo_loss"), framework=framework, term="loss",
                                     args=ARGS, likelihood=LIKELIHOOD), inputs)
    wrong = tolerance.compare(_output(framework, "kl_latent_mean", inputs, dtype), elbo.value,
                              elbo.magnitude, dtype, elbo.n_summands)
    assert not wrong.passed, f"the KL averaged over latents hides under the bound: {wrong}"


@functools.cache
def _verdict(framework: str, name: str, dtypes: tuple[str, ...]) -> tuple:
    target = Target(_loss(framework, name), framework=framework, term="loss", args=ARGS,
                    likelihood=LIKELIHOOD, dtypes=dtypes)
    report = check(target, checks=VERDICT_CHECKS, max_examples=5, raise_on_failure=False)
    return tuple((r.name, r.status, r.code if r.failed else None) for r in report.checks)


@pytest.mark.parametrize("framework", [_param(f) for f in FRAMEWORKS])
@pytest.mark.parametrize("name", list(CLAIMS))
def test_checks_give_every_framework_the_verdict_numpy_gets(framework, name):
    dtypes = DTYPES[framework]
    assert _verdict("numpy", name, dtypes) == EXPECTED_VERDICT[name]
    assert _verdict(framework, name, dtypes) == _verdict("numpy", name, dtypes)
