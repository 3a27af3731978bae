"""The vocabulary records agree with the spec they describe.

A Posterior's conversions are checked against the spec's correctly rounded
``scale_to_logvar`` and its derivative against the spec's KL gradient; a Term's parts against
the reference value the engine compares with.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vae_spec import Convention, Target, spec
from vae_spec.reference import expected
from vae_spec.target import TargetError
from vae_spec.vocabulary import POSTERIOR, TERM

LOGVARS = st.floats(-20.0, 20.0, allow_nan=False)


@pytest.mark.parametrize("name", list(POSTERIOR))
@given(logvar=LOGVARS)
def test_from_logvar_inverts_the_specs_conversion(name, logvar):
    # s(lv) is one exp or a halving (each rounded once, error <= u |s|), and scale_to_logvar
    # is correctly rounded: lv(s(lv)) = lv to a few u of max(|lv|, 1) (d lv / d s * s <= 2)
    posterior = POSTERIOR[name]
    back = posterior.to_logvar(posterior.from_logvar(np.array([logvar])))[0]
    assert abs(back - logvar) <= 8 * np.finfo(float).eps * max(abs(logvar), 1.0)


@pytest.mark.parametrize("name", list(POSTERIOR))
@given(logvar=st.floats(-5.0, 5.0), mu=st.floats(-3.0, 3.0))
def test_kl_gradient_is_bounded_by_its_magnitude(name, logvar, mu):
    # d KL / d s = 1/2 (sigma^2 - 1) d lv / d s exactly, so the spec's gradient must lie within
    # the stated magnitude 1/2 (sigma^2 + 1) |d lv / d s| and agree with the chain rule to
    # rounding (a few u of the magnitude)
    posterior = POSTERIOR[name]
    scale = posterior.from_logvar(np.array([logvar]))
    _, d_scale = spec.kl_standard_normal_grad(np.array([mu]), scale, name)
    chain = 0.5 * (posterior.variance_of(scale) - 1) * posterior.dlogvar_dscale(scale)
    magnitude = posterior.kl_grad_magnitude(scale)
    assert abs(d_scale[0]) <= magnitude[0] * (1 + 1e-12)
    assert abs(d_scale[0] - chain[0]) <= 16 * np.finfo(float).eps * magnitude[0]


@pytest.mark.parametrize("name", list(POSTERIOR))
def test_value_range_follows_the_logvar_interval(name):
    low, high = POSTERIOR[name].range_from_logvar(-2.0, 3.0)
    assert low < high
    lv = POSTERIOR[name].to_logvar(np.array([low, high]))
    np.testing.assert_allclose(lv, [-2.0, 3.0], rtol=1e-14, atol=1e-14)


def _inputs(term, posterior="logvar", batch=3, latent=4, data=5):
    rng = np.random.default_rng(0)
    values = {"x": rng.uniform(0.1, 0.9, (batch, data)), "x_recon": rng.uniform(0.1, 0.9, (batch, data)),
              "mu": rng.normal(size=(batch, latent)), "z": rng.normal(size=(batch, latent)),
              posterior: POSTERIOR[posterior].from_logvar(rng.normal(size=(batch, latent)))}
    return {name: values[name] for name in TERM[term].inputs(posterior)}


def _fn(*_):
    return 0.0


@pytest.mark.parametrize("term", ["kl", "reconstruction", "loss", "elbo", "mc_kl", "mc_loss"])
def test_a_terms_parts_add_up_to_its_reference(term):
    """loss = reconstruction + beta KL, elbo = -loss, mc_loss = reconstruction + beta mc_kl."""
    convention = Convention(beta=3.0)
    record = TERM[term]
    inputs = _inputs(term)

    def value(name):
        target = Target(_fn, args=TERM[name].inputs("logvar"), term=name, likelihood="bernoulli-probs",
                        convention=convention)
        return float(expected(target, {k: inputs[k] for k in TERM[name].inputs("logvar")}).value)

    parts = 0.0
    if record.reconstruction:
        parts += value("reconstruction")
    if record.kl is not None:
        kl = value("kl" if record.kl == "analytic" else "mc_kl")
        parts += convention.beta * kl if record.combined else kl
    # the reference adds the same float64 parts with the same weights: a few roundings of
    # u = 1.1e-16 apart, so 1e-13 relative; a missing or doubled part is off by order 1
    assert value(term) == pytest.approx(record.sign * parts, rel=1e-13)


@pytest.mark.parametrize("term", list(TERM))
def test_a_target_needs_exactly_the_terms_inputs(term):
    needed = TERM[term].inputs("logvar")
    extra = ("key",) if not TERM[term].deterministic else ()
    Target(_fn, args=needed + extra, term=term, likelihood="bernoulli-probs")
    for missing in needed:
        with pytest.raises(TargetError, match=f"needs the input '{missing}'"):
            Target(_fn, args=tuple(n for n in needed if n != missing), term=term, likelihood="bernoulli-probs")
    if TERM[term].deterministic:
        with pytest.raises(TargetError, match="random 'key' is only for the terms sampler, stochastic_loss"):
            Target(_fn, args=needed + ("key",), term=term, likelihood="bernoulli-probs")
