"""Buggy VAE losses written once for every framework: each departs from its claim in one known way.

Each is declared with its class (1-20 are the issue's list, ``extra`` other common mistakes),
the finding codes that name its bug, the frameworks it runs in, and the claim it breaks (see
:mod:`vae_spec.selftest.registry`). ``o`` is the framework's :class:`~vae_spec.selftest.ops.Ops`;
:mod:`~vae_spec.selftest.terms` holds the correct parts a mutant leaves alone. Bugs that need one
framework's own API live in ``mutants_<framework>.py``.
"""

from __future__ import annotations

import math

from .registry import AUTODIFF, CORE, FRAMEWORKS, mutant
from .terms import bce, bce_logits, kl

_LOGITS = "bernoulli-logits"
_FLOAT16 = {"dtypes": ("float16",), "latent_shape": (32,)}


# -- 1-4: reductions and weights ------------------------------------------------------------------
@mutant("1", codes=("kl-latent-mean",), frameworks=FRAMEWORKS)
def kl_latent_mean(o, x_recon, x, mu, logvar):
    """KL averaged over every element (the seed article's Example 1)."""
    divergence = -0.5 * o.mean(1 + logvar - mu * mu - o.exp(logvar))
    return o.mean(bce(o, x_recon, x)) + divergence


@mutant("2", codes=("kl-scaled",), frameworks=FRAMEWORKS)
def kl_scaled_0_01(o, x_recon, x, mu, logvar):
    """KL times a hidden 0.01."""
    return o.mean(bce(o, x_recon, x) + 0.01 * kl(o, mu, logvar))


@mutant("2", codes=("kl-scaled",), frameworks=CORE)
def kl_scaled_0_1(o, x_recon, x, mu, logvar):
    """KL times a hidden 0.1."""
    return o.mean(bce(o, x_recon, x) + 0.1 * kl(o, mu, logvar))


@mutant("2", codes=("kl-scaled",), frameworks=CORE)
def kl_scaled_1e_4(o, x_recon, x, mu, logvar):
    """KL times a hidden 1e-4."""
    return o.mean(bce(o, x_recon, x) + 1e-4 * kl(o, mu, logvar))


@mutant("3", codes=("batch-mismatch",), frameworks=FRAMEWORKS)
def kl_batch_sum(o, x_recon, x, mu, logvar):
    """KL summed over the batch, reconstruction averaged (the article's Example 3)."""
    divergence = -0.5 * o.sum(1 + logvar - mu * mu - o.exp(logvar))
    return o.mean(bce(o, x_recon, x)) + divergence


@mutant("4", codes=("recon-data-mean",), frameworks=("numpy", "torch", "tensorflow", "jax"))
def recon_data_mean(o, x_recon, x, mu, logvar):
    """Reconstruction averaged over data elements, KL summed."""
    reconstruction = o.mean(o.rows(o.bce(x_recon, x)), axis=1)
    return o.mean(reconstruction + kl(o, mu, logvar))


# -- 5-8: the KL's formula (declared as the KL term alone) -----------------------------------------
@mutant("5", codes=("kl-param-logstd",), frameworks=FRAMEWORKS, term="kl")
def logvar_read_as_logstd(o, mu, logvar):
    """Log-variance used as log-std: sigma^2 = exp(2 lv)."""
    return o.mean(0.5 * o.sum(o.rows(mu * mu + o.exp(2 * logvar) - 1 - 2 * logvar), axis=1))


@mutant("5", codes=("kl-param-logvar",), frameworks=CORE, term="kl")
def logstd_read_as_logvar(o, mu, logstd):
    """Log-std used as log-variance: sigma^2 = exp(ls)."""
    return o.mean(0.5 * o.sum(o.rows(mu * mu + o.exp(logstd) - 1 - logstd), axis=1))


@mutant("6", codes=("kl-param-var",), frameworks=CORE, term="kl")
def std_read_as_var(o, mu, std):
    """Std used where the variance belongs."""
    return o.mean(0.5 * o.sum(o.rows(mu * mu + std - 1 - o.log(std)), axis=1))


@mutant("6", codes=("kl-param-std",), frameworks=CORE, term="kl")
def var_read_as_std(o, mu, var):
    """Variance used where the std belongs (squared again)."""
    return o.mean(0.5 * o.sum(o.rows(mu * mu + var * var - 1 - 2 * o.log(var)), axis=1))


@mutant("7", codes=("kl-missing-half",), frameworks=FRAMEWORKS, term="kl")
def kl_missing_half(o, mu, logvar):
    """KL without its 1/2."""
    return o.mean(-o.sum(o.rows(1 + logvar - mu * mu - o.exp(logvar)), axis=1))


@mutant("7", codes=("kl-scaled",), frameworks=CORE, term="kl")
def kl_extra_half(o, mu, logvar):
    """KL with an extra 1/2."""
    return o.mean(-0.25 * o.sum(o.rows(1 + logvar - mu * mu - o.exp(logvar)), axis=1))


@mutant("8", codes=("kl-sign",), frameworks=FRAMEWORKS)
def kl_sign_flipped(o, x_recon, x, mu, logvar):
    """KL subtracted."""
    return o.mean(bce(o, x_recon, x) - kl(o, mu, logvar))


@mutant("8", codes=("kl-sign",), frameworks=CORE)
def kl_negated_twice(o, x_recon, x, mu, logvar):
    """The textbook KL -1/2 sum(1 + lv - mu^2 - exp(lv)), already positive, negated again."""
    divergence = -0.5 * o.sum(o.rows(1 + logvar - mu * mu - o.exp(logvar)), axis=1)
    divergence = -divergence
    return o.mean(bce(o, x_recon, x) + divergence)


# -- 9-10: the likelihood -------------------------------------------------------------------------
@mutant("9", codes=("recon-formula",), frameworks=FRAMEWORKS, likelihood=_LOGITS)
def double_sigmoid(o, x_recon, x, mu, logvar):
    """Logits passed through a sigmoid, then to the logits form."""
    return o.mean(bce_logits(o, o.sigmoid(x_recon), x) + kl(o, mu, logvar))


@mutant("9", codes=("recon-param",), frameworks=CORE)
def logits_form_on_probs(o, x_recon, x, mu, logvar):
    """Probabilities given to the logits form."""
    return o.mean(bce_logits(o, x_recon, x) + kl(o, mu, logvar))


@mutant("10", codes=("recon-formula",), frameworks=CORE, likelihood="gaussian-learned")
def gaussian_divides_by_sigma(o, x_recon, x, mu, logvar, dec_logvar):
    """Gaussian NLL divided by sigma instead of sigma^2."""
    sigma = o.exp(0.5 * dec_logvar)
    error = x - x_recon
    nll = error * error / (2 * sigma) + 0.5 * dec_logvar + 0.5 * math.log(2 * math.pi)
    return o.mean(o.sum(o.rows(nll), axis=1) + kl(o, mu, logvar))


@mutant("10", codes=("recon-formula",), frameworks=CORE, likelihood="gaussian-learned")
def gaussian_learned_no_log_term(o, x_recon, x, mu, logvar, dec_logvar):
    """Learned decoder variance without its 1/2 log sigma^2 term."""
    error = x - x_recon
    nll = 0.5 * (error * error) * o.exp(-dec_logvar) + 0.5 * math.log(2 * math.pi)
    return o.mean(o.sum(o.rows(nll), axis=1) + kl(o, mu, logvar))


# -- 11-13: axes, broadcasting, hard-coded sizes -----------------------------------------------------
@mutant("11", codes=("batch-mismatch", "kl-latent-mean"), frameworks=FRAMEWORKS)
def kl_sum_over_batch_axis(o, x_recon, x, mu, logvar):
    """KL summed over the batch axis (0) instead of the latent axis."""
    divergence = -0.5 * o.sum(1 + logvar - mu * mu - o.exp(logvar), axis=0)
    return o.mean(bce(o, x_recon, x)) + o.mean(divergence)


@mutant("12", codes=("batch-mismatch",), frameworks=CORE + ("jax",), convention={"batch": "sum"})
def broadcast_b1_against_b(o, x_recon, x, mu, logvar):
    """(B, 1) reconstruction (keepdims) + (B,) KL broadcast to (B, B), then summed."""
    reconstruction = o.sum(o.rows(o.bce(x_recon, x)), axis=1, keepdims=True)
    return o.sum(reconstruction + kl(o, mu, logvar))


@mutant("13", codes=("batch-sum",), frameworks=CORE)
def hardcoded_batch_size(o, x_recon, x, mu, logvar):
    """Batch sum / 128 where the claim averages over the batch."""
    return o.sum(bce(o, x_recon, x) + kl(o, mu, logvar)) / 128


@mutant("13", codes=("recon-data-mean",), frameworks=CORE)
def hardcoded_data_size(o, x_recon, x, mu, logvar):
    """Element-mean reconstruction (BCE with reduction='mean') times 784, MNIST's data size."""
    reconstruction = o.mean(o.bce(x_recon, x)) * 784
    return reconstruction + o.mean(kl(o, mu, logvar))


# -- 14: gradients --------------------------------------------------------------------------------
@mutant("14", codes=("gradient",), frameworks=AUTODIFF)
def detached_logvar(o, x_recon, x, mu, logvar):
    """Logvar detached (stop_gradient) inside the KL: value right, gradient wrong."""
    return o.mean(bce(o, x_recon, x) + kl(o, mu, o.stop_gradient(logvar)))


@mutant("14", codes=("gradient",), frameworks=("torch", "tensorflow", "jax"))
def detached_mu(o, x_recon, x, mu, logvar):
    """Mu detached (stop_gradient) inside the KL: the KL never pulls mu toward 0."""
    return o.mean(bce(o, x_recon, x) + kl(o, o.stop_gradient(mu), logvar))


@mutant("14", codes=("gradient", "kl-formula"), frameworks=AUTODIFF)
def clamped_logvar(o, x_recon, x, mu, logvar):
    """Logvar clamped to [-2.5, 2.5] "for stability": zero gradient (and a wrong KL) for |lv| > 2.5."""
    return o.mean(bce(o, x_recon, x) + kl(o, mu, o.clip(logvar, -2.5, 2.5)))


# -- 15: float16 (the order of operations is the bug) ---------------------------------------------
@mutant("15", codes=("nonfinite",), frameworks=CORE, **_FLOAT16)
def float16_logdet_overflow(o, x_recon, x, mu, logvar):
    """Log det as log(prod exp(lv)): the product overflows float16 once sum(lv) > 11.1."""
    var = o.exp(logvar)
    logdet = o.log(o.prod(o.rows(var), axis=1))
    latent_size = o.rows(mu).shape[1]
    divergence = 0.5 * (o.sum(o.rows(mu * mu + var), axis=1) - latent_size - logdet)
    return o.mean(bce(o, x_recon, x) + divergence)


@mutant("15", codes=("nonfinite", "kl-formula"), frameworks=CORE, **_FLOAT16)
def float16_logstd_underflow(o, x_recon, x, mu, logvar):
    """Sum log sigma as log(prod exp(lv / 2)): the product underflows float16 once sum(lv) < -19."""
    std = o.exp(0.5 * logvar)
    sum_log_std = o.log(o.prod(o.rows(std), axis=1))
    divergence = 0.5 * o.sum(o.rows(mu * mu + std * std - 1), axis=1) - sum_log_std
    return o.mean(bce(o, x_recon, x) + divergence)


# -- 17-20 ----------------------------------------------------------------------------------------
@mutant("17", codes=("kl-formula",), frameworks=FRAMEWORKS)
def fixed_prior(o, x_recon, x, mu, logvar, prior_mu, prior_logvar):
    """KL against N(0, I) where a learned diagonal prior is declared."""
    return o.mean(bce(o, x_recon, x) + kl(o, mu, logvar))


@mutant("18", codes=("kl-scaled",), frameworks=CORE, convention={"beta": 4.0})
def beta_on_reconstruction(o, x_recon, x, mu, logvar):
    """Beta = 4 applied to the reconstruction instead of the KL."""
    return o.mean(4.0 * bce(o, x_recon, x) + kl(o, mu, logvar))


# the clamp changes the value only for |logit| > 16.6 opposite the target, and zeroes the
# gradient there (the true one is +-1): where autodiff exists either names the bug
@mutant("19", codes={"numpy": ("recon-formula",), **dict.fromkeys(AUTODIFF, ("recon-formula", "gradient"))},
        frameworks=FRAMEWORKS, likelihood=_LOGITS)
def clamped_probs_for_logits(o, x_recon, x, mu, logvar):
    """Sigmoid probabilities clamped at 1e-7 where the exact logits form is claimed."""
    probs = o.clip(o.sigmoid(x_recon), 1e-7, 1 - 1e-7)
    return o.mean(bce(o, probs, x) + kl(o, mu, logvar))


@mutant("20", codes=("shape",), frameworks=CORE + ("jax",))
def per_example_for_scalar(o, x_recon, x, mu, logvar):
    """Per-example vector returned where a scalar is declared."""
    return bce(o, x_recon, x) + kl(o, mu, logvar)


@mutant("20", codes=("shape",), frameworks=FRAMEWORKS, convention={"batch": "none"})
def scalar_for_per_example(o, x_recon, x, mu, logvar):
    """Scalar returned where per-example losses are declared."""
    return o.mean(bce(o, x_recon, x) + kl(o, mu, logvar))


# -- more ways VAE losses go wrong ----------------------------------------------------------------
@mutant("extra", codes=("kl-formula",), frameworks=CORE, term="kl")
def kl_mu_not_squared(o, mu, logvar):
    """Mu instead of mu^2 in the KL."""
    return o.mean(0.5 * o.sum(o.rows(mu + o.exp(logvar) - 1 - logvar), axis=1))


@mutant("extra", codes=("kl-formula",), frameworks=CORE, term="kl")
def kl_log_std_for_log_var(o, mu, logvar):
    """Log sigma where log sigma^2 belongs in the KL."""
    log_std = 0.5 * logvar
    return o.mean(0.5 * o.sum(o.rows(mu * mu + o.exp(logvar) - 1 - log_std), axis=1))


@mutant("extra", codes=("kl-formula",), frameworks=CORE, term="kl")
def kl_plus_one(o, mu, logvar):
    """+1 instead of -1 in the KL."""
    return o.mean(0.5 * o.sum(o.rows(mu * mu + o.exp(logvar) + 1 - logvar), axis=1))


@mutant("extra", codes=("kl-formula",), frameworks=CORE, term="kl")
def logvar_squared_for_variance(o, mu, logvar):
    """Logvar**2 where exp(logvar) belongs in the KL."""
    return o.mean(0.5 * o.sum(o.rows(mu * mu + logvar * logvar - 1 - logvar), axis=1))


@mutant("extra", codes=("kl-formula",), frameworks=("numpy", "tensorflow"), term="kl")
def reversed_kl(o, mu, logvar):
    """KL(p || q) instead of KL(q || p): 1/2 sum(1/sigma^2 + mu^2/sigma^2 - 1 + lv)."""
    inverse_var = o.exp(-logvar)
    return o.mean(0.5 * o.sum(o.rows(inverse_var + mu * mu * inverse_var - 1 + logvar), axis=1))


@mutant("extra", codes=("kl-scaled", "kl-latent-mean"), frameworks=CORE, latent_shape=(2, 3, 3))
def conv_latent_wrong_axis(o, x_recon, x, mu, logvar):
    """(C, H, W) latent: KL summed over channels only, averaged over H and W."""
    divergence = -0.5 * o.sum(1 + logvar - mu * mu - o.exp(logvar), axis=1)
    return o.mean(bce(o, x_recon, x)) + o.mean(divergence)


@mutant("extra", frameworks=CORE, likelihood=_LOGITS, codes={
    "numpy": ("nonfinite", "recon-param", "recon-formula"),
    "torch": ("raised", "recon-param", "recon-formula"),  # F.binary_cross_entropy rejects p outside [0, 1]
    "tensorflow": ("nonfinite", "recon-param", "recon-formula")})
def bce_on_logits(o, x_recon, x, mu, logvar):
    """The probability BCE applied to logits, no sigmoid."""
    return o.mean(bce(o, x_recon, x) + kl(o, mu, logvar))


@mutant("extra", codes=("recon-data-mean", "batch-mismatch"), frameworks=CORE)
def bce_mean_kl_sum(o, x_recon, x, mu, logvar):
    """BCE with reduction='mean' plus a KL summed over batch and latent."""
    reconstruction = o.mean(o.bce(x_recon, x))
    divergence = -0.5 * o.sum(1 + logvar - mu * mu - o.exp(logvar))
    return reconstruction + divergence


@mutant("extra", codes=("recon-formula", "nonfinite"), frameworks=CORE)
def bce_arguments_swapped(o, x_recon, x, mu, logvar):
    """The BCE's prediction and target swapped: -[p log x + (1 - p) log(1 - x)]."""
    return o.mean(bce(o, x, x_recon) + kl(o, mu, logvar))


@mutant("extra", codes=("recon-formula",), frameworks=CORE)
def reconstruction_sign(o, x_recon, x, mu, logvar):
    """Log-likelihood added instead of its negative."""
    log_likelihood = -bce(o, x_recon, x)
    return o.mean(log_likelihood + kl(o, mu, logvar))
