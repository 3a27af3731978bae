"""The corpus's own truth, checked without the check/diagnose engine.

For every entry: seeded numpy inputs at ``entry.shapes`` (batch 3), the loss called through its
framework (float64 where it runs, float32 otherwise), and the value compared with the float64
spec of the declared term under the declared convention (vae_spec.spec: negative_elbo,
mc_negative_elbo, kl_standard_normal).

- An entry conforms to its declaration when it is an ELBO (``is_elbo``), or when the
  declaration itself states its departure (a beta on a Bernoulli decoder): its output must lie
  within the derived bound of the spec.
- Every other departing entry must differ from its declared claim by a clear margin: more than
  100 bounds and 0.01 % of the value.

The bound is the one vae_spec.tolerance derives for a correct implementation in a dtype with
unit roundoff u: kappa u M, M the sum of the absolute values of the textbook summands (the
spec's *_magnitude functions, reduced and weighted as the loss is), kappa = 32 + 4 ceil(log2 n)
for n summands. Inputs are rounded to the dtype before the spec sees them, so a float32 run is
judged by the float32 u = 2^-24 on the same float32 values.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from vae_spec import Convention, Target, spec
from vae_spec.spec import parse_likelihood

from .corpus import CORPUS, FRAMEWORKS, Entry

BATCH = 3
SCALE_NAMES = ("logvar", "logstd", "std", "var")
UNIT_ROUNDOFF = {"float64": 2.0 ** -53, "float32": 2.0 ** -24}

#: entries that cannot run in float64, and why; the test asserts that float64 fails (raises or
#: returns another dtype) for exactly these, in the frameworks whose dtype handling is fixed
#: (keras depends on its backend and is not asserted)
FLOAT32_ONLY = {
    "tf_docs_cvae": "log2pi = tf.math.log(2. * np.pi) is a float32 tensor and TensorFlow "
                    "refuses to add it to float64 tensors",
    "tf_guide_subclassing_vae": "keras.losses.MeanSquaredError() computes in floatx (float32); "
                                "adding the float64 KL raises",
}

#: tensorflow entries that call tf.keras (Keras 3 from TF 2.16): run under the tensorflow backend
TF_KERAS = ("keras_io_vae_tf", "tf_guide_subclassing_vae")

#: extra, derived tolerance for entries whose formula is exact only up to a documented
#: approximation (beyond rounding)
def _cb_taylor_band(a: dict) -> float:
    # pytorch/examples PR 4227bd0 replaces log C(lambda) inside [0.49, 0.51] by
    # log 2 + 4/3 t^2 + 104/45 t^4 (t = lambda - 1/2) with log 2 from torch.tensor(2.0), a
    # float32: |float32(ln 2) - ln 2| = 1.905e-9, and the series remainder at |t| = 0.01 is
    # 5.7e-12 (mpmath, 50 digits). So at most 1.92e-9 per pixel in the band.
    in_band = np.count_nonzero(np.abs(a["x_recon"] - 0.5) <= 0.01)
    return 1.92e-9 * in_band


EXTRA_TOLERANCE = {"pytorch_examples_vae_continuous_bernoulli": _cb_taylor_band}

#: the stable finding codes (README) (errors name departures)
FINDING_CODES = frozenset((
    "kl-latent-mean", "kl-scaled", "kl-sign", "kl-missing-half", "kl-param-logstd",
    "kl-param-logvar", "kl-param-std", "kl-param-var", "kl-formula", "recon-data-mean",
    "recon-param", "recon-formula", "batch-mismatch", "gradient", "shape", "input-mutated",
    "raised", "timeout",
))
DECLARATION_KEYS = frozenset((
    "term", "args", "likelihood", "posterior", "convention", "data_shape", "latent_shape",
))


def _params(entries=CORPUS):
    return [pytest.param(e, id=e.name, marks=pytest.mark.framework(e.framework))
            for e in entries]


def _names(entry: Entry) -> tuple[str, ...]:
    args = entry.declaration["args"]
    return tuple(args.values()) if isinstance(args, dict) else tuple(args)


def _posterior(entry: Entry) -> str:
    declared = entry.declaration.get("posterior")
    if declared:
        return declared
    given = [n for n in _names(entry) if n in SCALE_NAMES]
    return given[0] if given else "logvar"


def _conforms(entry: Entry) -> bool:
    """Whether the entry must meet its declaration: an ELBO, or a declared departure."""
    return entry.is_elbo or not entry.convention.is_elbo


# ------------------------------------------------------------------------------- inputs
def _inputs(entry: Entry) -> dict[str, np.ndarray]:
    """Seeded float64 inputs for every canonical name the entry binds."""
    rng = np.random.default_rng(zlib.crc32(entry.name.encode()))
    names = _names(entry)
    latent = (BATCH,) + tuple(entry.shapes["latent"])
    mu = rng.uniform(-1.5, 1.5, latent)
    logvar = rng.uniform(-1.5, 1.5, latent)
    values = {"mu": mu, "logvar": logvar, "logstd": logvar / 2, "std": np.exp(logvar / 2),
              "var": np.exp(logvar)}
    values["eps"] = rng.standard_normal(latent)
    values["z"] = mu + np.exp(logvar / 2) * values["eps"]
    if "data" in entry.shapes:
        data = (BATCH,) + tuple(entry.shapes["data"])
        lik = parse_likelihood(entry.declaration["likelihood"])
        if lik.family in ("bernoulli", "continuous-bernoulli"):
            values["x"] = rng.integers(0, 2, data).astype(np.float64)
        else:
            values["x"] = rng.uniform(0.0, 1.0, data)
        if lik.parameterization == "probs":
            values["x_recon"] = rng.uniform(0.05, 0.95, data)
        elif lik.parameterization == "logits":
            values["x_recon"] = rng.uniform(-3.0, 3.0, data)
        else:
            values["x_recon"] = values["x"] + rng.normal(0.0, 0.3, data)
        values["dec_logvar"] = rng.uniform(-0.5, 0.5, data)
        values["dec_logscale"] = rng.uniform(-0.5, 0.5, data)
    return {name: values[name] for name in names}


def _rounded(inputs: dict[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
    return {k: v.astype(dtype).astype(np.float64) for k, v in inputs.items()}


# -------------------------------------------------------------------------- frameworks
def _to_native(framework: str, value: np.ndarray, dtype: str):
    if framework == "numpy":
        return value.astype(dtype)
    if framework == "torch":
        import torch
        return torch.tensor(value, dtype=getattr(torch, dtype))
    if framework == "tensorflow":
        import tensorflow as tf
        return tf.constant(value, dtype=dtype)
    if framework == "jax":
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)  # as vae_spec's jax adapter does
        return jnp.asarray(value, dtype=dtype)
    if framework == "keras":
        import keras
        return keras.ops.convert_to_tensor(value, dtype=dtype)
    raise ValueError(framework)


def _to_numpy(framework: str, out) -> np.ndarray:
    if framework == "torch":
        return out.detach().cpu().numpy()
    if framework == "tensorflow":
        return out.numpy()
    if framework == "keras":
        import keras
        return keras.ops.convert_to_numpy(out)
    return np.asarray(out)


def _call(entry: Entry, inputs: dict[str, np.ndarray], dtype: str) -> np.ndarray:
    fn = entry.load()
    native = {k: _to_native(entry.framework, v, dtype) for k, v in inputs.items()}
    args = entry.declaration["args"]
    if isinstance(args, dict):
        out = fn(**{user: native[name] for user, name in args.items()})
    else:
        out = fn(*(native[name] for name in args))
    return _to_numpy(entry.framework, out)


def _keras_backend() -> str:
    import keras
    return keras.backend.backend()


def _run(entry: Entry, inputs: dict[str, np.ndarray]):
    """(output, dtype, inputs as the function saw them): float64 where the loss runs in it.

    Under the jax and torch backends, keras.losses.binary_crossentropy and
    mean_squared_error compute in float32 and return float64 (measured: 4e-8 relative on
    float64 inputs), so keras losses are judged in float32 there.
    """
    float64 = entry.framework != "keras" or _keras_backend() == "tensorflow"
    try:
        out = _call(entry, inputs, "float64") if float64 else None
        if out is not None and out.dtype == np.float64:
            return out, "float64", inputs
    except Exception:  # noqa: BLE001 - any framework's dtype refusal
        pass
    seen = _rounded(inputs, "float32")
    return _call(entry, seen, "float32").astype(np.float64), "float32", seen


# ---------------------------------------------------------------------------- the spec
def _extra(a: dict) -> dict:
    return {k: a[k] for k in ("dec_logvar", "dec_logscale") if k in a}


def _reduce(per_example: np.ndarray, conv: Convention):
    return spec.reduce_batch(conv.scale * per_example, conv.batch)


def _expected_and_magnitude(entry: Entry, a: dict):
    """The spec's value of the declared term and M, the magnitude its bound scales with."""
    conv, term, posterior = entry.convention, entry.term, _posterior(entry)
    scale = a[posterior]
    if term == "kl":
        per = spec.kl_standard_normal(a["mu"], scale, posterior)
        mag = spec.reduce_example(spec.kl_standard_normal_magnitude(a["mu"], scale, posterior),
                                  conv.latent)
        if conv.latent == "mean":
            per = per / math.prod(a["mu"].shape[1:])
        return _reduce(per, conv), np.abs(_reduce(mag, conv))
    likelihood = entry.declaration["likelihood"]
    if term == "loss":
        value = spec.negative_elbo(a["x"], a["x_recon"], a["mu"], scale, likelihood, conv,
                                   posterior=posterior, **_extra(a))
        terms = spec.loss_terms(a["x"], a["x_recon"], a["mu"], scale, likelihood, conv,
                                posterior=posterior, **_extra(a))
        mag = terms.reconstruction_magnitude + conv.beta * terms.kl_magnitude
        return value, np.abs(_reduce(mag, conv))
    if term == "mc_loss":
        value = spec.mc_negative_elbo(a["x"], a["x_recon"], a["z"], a["mu"], scale, likelihood,
                                      conv, posterior=posterior, **_extra(a))
        recon_mag = spec.reduce_example(
            spec.log_likelihood_magnitude(a["x"], a["x_recon"], likelihood,
                                          constants=conv.constants, **_extra(a)), conv.data)
        lv = spec.scale_to_logvar(scale, posterior)
        # log p(z) - log q(z|x) per element, with both densities' 1/2 log(2 pi) written out
        # (as most code does): 1/2 z^2 + 1/2 (z - mu)^2 / sigma^2 + 1/2 |lv| + log(2 pi)
        mc_mag = (0.5 * a["z"] ** 2 + 0.5 * (a["z"] - a["mu"]) ** 2 * np.exp(-lv)
                  + 0.5 * np.abs(lv) + math.log(2 * math.pi))
        mag = recon_mag + conv.beta * spec.reduce_example(mc_mag, conv.latent)
        return value, np.abs(_reduce(mag, conv))
    raise ValueError(f"no truth for term {term!r}")


def _bound(entry: Entry, a: dict, magnitude, dtype: str):
    n = sum(v.size for v in a.values())
    kappa = 32 + 4 * math.ceil(math.log2(n))
    bound = kappa * UNIT_ROUNDOFF[dtype] * np.asarray(magnitude)
    if entry.name in EXTRA_TOLERANCE:
        bound = bound + EXTRA_TOLERANCE[entry.name](a)
    return bound


# ------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("entry", _params())
def test_value_against_the_spec(entry: Entry):
    if entry.name in TF_KERAS and _keras_backend() != "tensorflow":
        pytest.skip(f"{entry.name} calls tf.keras, which is Keras 3 and follows KERAS_BACKEND "
                    f"({_keras_backend()}): its losses then return that backend's arrays")
    inputs = _inputs(entry)
    out, dtype, seen = _run(entry, inputs)
    expected, magnitude = _expected_and_magnitude(entry, seen)
    expected = np.asarray(expected, dtype=np.float64)
    assert out.shape == expected.shape, (
        f"{entry.name}: output shape {out.shape}, the declared term has {expected.shape}")
    bound = _bound(entry, seen, magnitude, dtype)
    error = np.abs(out - expected)
    if _conforms(entry):
        assert np.all(error <= bound), (
            f"{entry.name} ({dtype}): output {out} differs from the spec {expected} by "
            f"{error}, above the derived bound {bound}")
    else:
        relative = error / np.maximum(np.abs(expected), 1.0)
        assert np.all(error > 100 * bound) and np.all(relative > 1e-4), (
            f"{entry.name} ({dtype}): a departing loss should differ clearly from its declared "
            f"claim, but output {out} vs spec {expected} (error {error}, bound {bound})")
    if entry.framework != "keras":
        assert (dtype == "float32") == (entry.name in FLOAT32_ONLY), (
            f"{entry.name}: ran in {dtype}; FLOAT32_ONLY says "
            f"{'float32 only' if entry.name in FLOAT32_ONLY else 'float64'}")


@pytest.mark.parametrize("entry", _params())
def test_declaration_is_a_valid_target(entry: Entry):
    """The declaration is exactly what a README reader passes: Target accepts it as is."""
    target = Target(entry.load(), framework=entry.framework, **entry.declaration)
    assert target.term == entry.term
    assert target.posterior == _posterior(entry)


def test_corpus_is_well_formed():
    names = [e.name for e in CORPUS]
    assert len(names) == len(set(names)), "entry names must be unique"
    assert len(CORPUS) >= 28
    counts = {fw: sum(e.framework == fw for e in CORPUS) for fw in FRAMEWORKS}
    assert counts["torch"] >= 10 and counts["tensorflow"] >= 5 and counts["jax"] >= 5
    assert counts["keras"] >= 3 and counts["numpy"] >= 3, counts
    assert sum(not e.is_elbo for e in CORPUS) >= 8
    for e in CORPUS:
        assert e.framework in FRAMEWORKS, e.name
        assert e.source and e.note and ":" in e.fn, e.name
        assert set(e.declaration) <= DECLARATION_KEYS and "args" in e.declaration, e.name
        assert set(e.codes) <= FINDING_CODES, (e.name, e.codes)
        assert bool(e.codes) == (not e.is_elbo), f"{e.name}: codes iff departing"
        assert "latent" in e.shapes and ("data" in e.shapes) == (e.term != "kl"), e.name
        for key, shape in (("data_shape", "data"), ("latent_shape", "latent")):
            if key in e.declaration:
                assert tuple(e.declaration[key]) == tuple(e.shapes[shape]), e.name
        if "convention" in e.declaration:
            assert e.declaration["convention"] != Convention(), f"{e.name}: default convention"
        if e.term == "loss":
            assert "term" not in e.declaration, f"{e.name}: term 'loss' is the default"
        if "posterior" in e.declaration:
            assert e.declaration["posterior"] != "logvar", e.name
