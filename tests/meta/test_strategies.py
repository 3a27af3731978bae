"""The case strategies: declared shapes kept, free sizes distinct, values inside their regime,
inputs exactly for the bound arguments, and the pinned classic cases run by every search."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_spec import Target
from vae_spec.checks._engine import Context, Property, search
from vae_spec.frameworks import get_adapter
from vae_spec.frameworks.base import _round_nearest_even
from vae_spec.spec.likelihoods import parse_likelihood
from vae_spec.engine.layout import (
    DATA_HWC, DATA_VECTOR, LATENT_FAMILIES, LATENT_VECTOR, Axes, Layout, data_families,
)
from vae_spec.strategies import REGIMES, cases, classic_cases, input_shape, layouts, value_range

DTYPES = ("float16", "float32", "float64")


def loss(x_recon, x, mu, logvar):
    return 0.0


def loss_std(x_recon, x, mu, std):
    return 0.0


def learned(x_recon, x, mu, logvar, dec_logvar):
    return 0.0


def kl_prior(mu, logvar, prior_mu, prior_logvar):
    return 0.0


TARGETS = {
    "bernoulli-probs": Target(loss, likelihood="bernoulli-probs"),
    "bernoulli-logits": Target(loss, likelihood="bernoulli-logits"),
    "gaussian-std": Target(loss_std, args=("x_recon", "x", "mu", "std"), likelihood="gaussian"),
    "gaussian-learned": Target(learned, args=("x_recon", "x", "mu", "logvar", "dec_logvar"),
                               likelihood="gaussian-learned"),
    "kl-prior": Target(kl_prior, term="kl", args=("mu", "logvar", "prior_mu", "prior_logvar")),
    "fixed-shapes": Target(loss, likelihood="continuous-bernoulli-logits",
                           data_shape=(1, 4, 4), latent_shape=(5,)),
}


def d_and_d(case):
    """(d, D): latent and data sizes per example (D is None for a KL target)."""
    latent = math.prod(case.inputs["mu"].shape[1:])
    data = math.prod(case.inputs["x"].shape[1:]) if "x" in case.inputs else None
    return latent, data


# -- shapes ----------------------------------------------------------------------------------
@given(st.data())
@settings(max_examples=60)
def test_cases_keep_the_declared_shapes(data):
    target = TARGETS["fixed-shapes"]
    case = data.draw(cases(target, DTYPES))
    for name, value in case.inputs.items():
        trailing = (1, 4, 4) if name in ("x", "x_recon") else (5,)
        assert value.shape == (case.batch_size, *trailing)


def _inferred(family):
    return Axes(family.centre, "inferred", family)


@pytest.mark.parametrize("latent_family", LATENT_FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize("data_family", data_families("torch"), ids=lambda f: f.name)
def test_free_sizes_are_distinct_and_keep_their_rank(latent_family, data_family):
    layout = Layout(_inferred(latent_family), _inferred(data_family), ())

    @given(layouts(layout))
    @settings(max_examples=50)
    def inner(drawn):
        batch, latent, data = drawn
        assert len(latent) == len(latent_family.centre) and len(data) == len(data_family.centre)
        d, big_d = math.prod(latent), math.prod(data)
        assert d != big_d
        assert batch == 1 or batch not in (d, big_d)

    inner()


@given(layouts(Layout(Axes((4,), "declared"), _inferred(DATA_VECTOR), ())))
@settings(max_examples=100)
def test_a_fixed_latent_shape_still_keeps_the_batch_apart(layout):
    batch, latent, data = layout
    assert latent == (4,)
    assert batch == 1 or batch not in (4, math.prod(data))


@given(st.data())
@settings(max_examples=30)
def test_cases_within_an_inferred_image_layout_have_image_data(data):
    target = TARGETS["bernoulli-logits"]
    layout = Layout(_inferred(LATENT_VECTOR), _inferred(DATA_HWC), ())
    case = data.draw(cases(target, DTYPES, layout=layout))
    assert case.inputs["x"].ndim == 4 and case.inputs["mu"].ndim == 2
    assert case.inputs["x"].shape == case.inputs["x_recon"].shape


@given(st.data())
@settings(max_examples=60)
def test_every_input_of_a_case_has_its_canonical_shape(data):
    target = data.draw(st.sampled_from(list(TARGETS.values())))
    case = data.draw(cases(target, DTYPES))
    batch = case.batch_size
    latent_shape = case.inputs["mu"].shape[1:]
    data_shape = case.inputs["x"].shape[1:] if "x" in case.inputs else ()
    for name, value in case.inputs.items():
        assert value.shape == input_shape(name, batch, latent_shape, data_shape)


# -- inputs and values -----------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(TARGETS))
def test_inputs_are_exactly_the_bound_arguments(key):
    target = TARGETS[key]

    @given(cases(target, DTYPES))
    @settings(max_examples=20)
    def check(case):
        assert set(case.inputs) == set(target.canonical_args)
        assert all(value.dtype == np.float64 for value in case.inputs.values())

    check()


@pytest.mark.parametrize("key", sorted(TARGETS))
def test_values_lie_in_their_regime_range(key):
    target = TARGETS[key]
    likelihood = parse_likelihood(target.likelihood) if target.likelihood else None

    @given(cases(target, DTYPES))
    @settings(max_examples=40)
    def check(case):
        assert case.regime in REGIMES and case.dtype in DTYPES
        for name, value in case.inputs.items():
            low, high = value_range(name, case.regime, case.dtype, likelihood)
            assert np.all((low <= value) & (value <= high)), (name, low, high, value)

    check()


def test_binary_or_soft_targets_for_bernoulli_data():
    target = TARGETS["bernoulli-probs"]
    seen = {"binary": False, "soft": False}

    @given(cases(target, ("float32",)))
    @settings(max_examples=60)
    def check(case):
        x = case.inputs["x"]
        binary = np.all((x == 0) | (x == 1))
        seen["binary" if binary else "soft"] = True

    check()
    assert seen == {"binary": True, "soft": True}


@pytest.mark.parametrize("dtype", DTYPES + ("bfloat16",))
def test_wide_ranges_keep_the_terms_finite_in_the_dtype(dtype):
    # mu^2 and exp(logvar) for the widest inputs stay below the dtype's largest value
    largest = {"float16": 65504.0, "bfloat16": 3.39e38, "float32": 3.4e38, "float64": 1.8e308}[dtype]
    mu = max(abs(v) for v in value_range("mu", "wide", dtype))
    logvar = max(value_range("logvar", "wide", dtype))
    assert mu * mu < largest and math.exp(logvar) < largest


def test_near_prior_regime_is_within_1e_3_of_zero():
    for name in ("mu", "logvar"):
        assert value_range(name, "near-prior", "float32") == (-1e-3, 1e-3)


@pytest.mark.parametrize(("posterior", "low", "high"), [
    ("logstd", -1.5, 1.5), ("std", math.exp(-1.5), math.exp(1.5)), ("var", math.exp(-3), math.exp(3)),
])
def test_scale_ranges_follow_the_logvar_range(posterior, low, high):
    # typical logvar in [-3, 3]: logstd = logvar / 2, std = exp(logvar / 2), var = exp(logvar)
    assert value_range(posterior, "typical", "float32") == pytest.approx((low, high))


@pytest.mark.parametrize("dtype", DTYPES + ("bfloat16",))
def test_wide_probabilities_stay_inside_0_1_after_rounding(dtype):
    # rounded to the dtype, the widest probabilities are neither 0 nor 1 (log p stays finite)
    low, high = value_range("x_recon", "wide", dtype, parse_likelihood("bernoulli-probs"))
    rounded = _round_nearest_even(np.array([low, high]), dtype)
    assert 0 < rounded[0] and rounded[1] < 1


def test_unknown_input_has_no_range():
    with pytest.raises(ValueError, match="no value range for input 'w'"):
        value_range("w", "typical", "float32")


# -- classic cases ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["bernoulli-logits", "gaussian-std", "kl-prior"])
def test_classic_cases_pin_batch_one_logvar_zero_and_mu_zero(key):
    target = TARGETS[key]
    classics = classic_cases(target, "float32")
    assert len(classics) == 3
    assert all(case.batch_size == 1 and case.dtype == "float32" for case in classics)
    scale = target.posterior
    logvars = []
    for case in classics:
        value = float(case.inputs[scale].flat[0])
        logvar = {"logvar": lambda: value, "logstd": lambda: 2 * value,
                  "std": lambda: 2 * math.log(value), "var": lambda: math.log(value)}[scale]()
        logvars.append((float(case.inputs["mu"].flat[0]), logvar))
    mus = [mu for mu, _ in logvars]
    assert any(mu != 0 and lv == 0 for mu, lv in logvars)  # logvar exactly 0 with mu != 0
    assert 0.0 in mus  # mu exactly 0
    assert set(classics[0].inputs) == set(target.canonical_args)


def test_classic_cases_use_declared_shapes():
    for case in classic_cases(TARGETS["fixed-shapes"], "float64"):
        assert case.inputs["x"].shape == (1, 1, 4, 4)
        assert case.inputs["mu"].shape == (1, 5)


def test_classic_bernoulli_data_is_binary():
    for case in classic_cases(TARGETS["bernoulli-probs"], "float32"):
        assert set(np.unique(case.inputs["x"])) <= {0.0, 1.0}


def test_every_search_runs_the_classic_cases_in_every_dtype():
    target = TARGETS["bernoulli-logits"]
    ctx = Context(target=target, adapter=get_adapter("numpy"), dtypes=("float32", "float64"),
                  max_examples=5)
    seen = []

    def prop(case):
        seen.append(case)

    result = search(ctx, Property("probe", "probe", prop))
    assert result.status == "pass"
    for dtype in ctx.dtypes:
        for classic in classic_cases(target, dtype):
            assert any(
                case.dtype == dtype and all(np.array_equal(case.inputs[k], v) for k, v in classic.inputs.items())
                for case in seen
            )
