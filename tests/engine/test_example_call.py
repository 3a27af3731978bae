"""From one real call: a loss and the tensors of a training step give a diagnosis and a check.

The framework, the roles (from parameter names), the term, the shapes and the dtype come from
the tensors; the values themselves are one of the cases every check runs on.
"""

from __future__ import annotations

import numpy as np
import pytest

from vae_spec import Target, check, diagnose
from vae_spec.example_call import role_of
from vae_spec.target import TargetError


def _batch(seed=0, batch=16, data=(1, 28, 28), latent=20):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, (batch, *data)).astype(np.float32)
    recon = (1 / (1 + np.exp(-rng.normal(size=(batch, int(np.prod(data))))))).astype(np.float32)
    mu = rng.normal(size=(batch, latent)).astype(np.float32)
    logvar = (0.3 * rng.normal(size=(batch, latent))).astype(np.float32)
    return recon, x, mu, logvar


@pytest.mark.framework("torch")
def test_a_notebook_one_liner_with_torch_tensors():
    import torch
    import torch.nn.functional as F

    def loss_function(recon_x, x, mu, logvar):  # pytorch/examples vae/main.py
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    recon, x, mu, logvar = (torch.from_numpy(a) for a in _batch())
    diagnosis = diagnose(loss_function, recon_x=recon, x=x, mu=mu, logvar=logvar)
    assert diagnosis.is_elbo and diagnosis.framework == "torch", diagnosis.to_text()
    assert diagnosis.claim.convention.batch == "sum" and diagnosis.claim.data_shape == (784,)
    report = check(loss_function, recon, x, mu, logvar, **diagnosis.claim.target_kwargs())
    assert report.passed, report.to_text()


@pytest.mark.framework("jax")
def test_a_notebook_one_liner_with_jax_arrays():
    import jax
    import jax.numpy as jnp

    @jax.jit
    def vae_loss(logits, x, z_mean, z_log_var):  # a flax-style loss: logits, per-example sums
        rec = jnp.sum(jnp.logaddexp(0.0, logits) - x * logits, axis=-1)
        kl = -0.5 * jnp.sum(1 + z_log_var - z_mean**2 - jnp.exp(z_log_var), axis=-1)
        return jnp.mean(rec + kl)

    rng = np.random.default_rng(1)
    logits = jnp.asarray(rng.normal(size=(8, 64)), dtype=jnp.float32)
    x = jnp.asarray(rng.integers(0, 2, (8, 64)), dtype=jnp.float32)
    z_mean, z_log_var = (jnp.asarray(rng.normal(size=(8, 4)), dtype=jnp.float32) for _ in range(2))
    diagnosis = diagnose(vae_loss, logits=logits, x=x, z_mean=z_mean, z_log_var=z_log_var)
    assert diagnosis.is_elbo and diagnosis.framework == "jax", diagnosis.to_text()
    assert diagnosis.likelihood["name"] == "bernoulli-logits"


def test_the_real_values_are_one_of_the_cases():
    seen = []

    def loss(recon_x, x, mu, logvar):
        seen.append((recon_x.shape, recon_x.dtype, float(recon_x.ravel()[0])))
        bce = -(x * np.log(recon_x) + (1 - x) * np.log1p(-recon_x)).reshape(len(x), -1).sum(axis=1)
        return np.mean(bce - 0.5 * (1 + logvar - mu**2 - np.exp(logvar)).sum(axis=1))

    recon, x, mu, logvar = _batch(batch=13)
    report = check(loss, recon, x.reshape(13, -1), mu, logvar, likelihood="bernoulli-probs", max_examples=3)
    assert report.passed
    assert (recon.shape, np.float32, float(recon.ravel()[0])) in seen


def test_roles_come_from_parameter_names_and_canonical_names():
    assert [role_of(n) for n in ("recon_x", "x_hat", "logits", "z_mean", "log_var", "log_std", "sigma")] == [
        "x_recon", "x_recon", "x_recon", "mu", "logvar", "logstd", "std"]

    def loss(x_hat, x, z_mean, z_log_var):
        return 0.0

    recon, x, mu, logvar = _batch()
    target = Target.from_example(loss, x_recon=recon, x=x, mu=mu, z_log_var=logvar)
    assert target.args == ("x_recon", "x", "mu", "logvar") and target.framework == "numpy"
    assert target.latent_shape == (20,) and target.data_shape == (784,) and target.term == "loss"
    assert target.example.dtype == "float32" and target.example.inputs["x"].shape == (16, 784)


def test_an_ambiguous_or_unknown_role_says_how_to_declare_it():
    recon, x, mu, logvar = _batch()

    def ambiguous(mean, mu, x, logvar):
        return 0.0

    with pytest.raises(TargetError, match="both 'mean' and 'mu' read as 'mu'"):
        Target.from_example(ambiguous, recon, mu, x, logvar)

    def unknown(h, x, mu, logvar):
        return 0.0

    with pytest.raises(TargetError, match="cannot tell which input 'h' is; pass args="):
        Target.from_example(unknown, recon, x, mu, logvar)
    # declared roles settle it
    target = Target.from_example(unknown, recon, x, mu, logvar, args=("x_recon", "x", "mu", "logvar"))
    assert target.canonical_args == ("x_recon", "x", "mu", "logvar")


def test_tensors_go_with_a_function_not_a_target():
    recon, x, mu, logvar = _batch()
    with pytest.raises(TypeError, match="go with a function, not a Target"):
        diagnose(Target(lambda a, b, c, d: 0.0), x_recon=recon)
