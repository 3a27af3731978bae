"""The mathematics of the VAE objective, in numpy float64.

Every function takes arrays with a leading batch axis and any trailing shape. ``*_elementwise``
functions return one value per element; the unsuffixed ones reduce over every axis but the
first (per example); ``*_magnitude`` functions give, per element, the sum of absolute values of
the textbook formula's summands (the scale of a correct implementation's rounding error);
``*_grad`` functions give analytic derivatives. Nothing here imports a framework.
"""

from .gaussian import (
    POSTERIORS,
    gaussian_entropy,
    gaussian_entropy_elementwise,
    gaussian_log_density,
    gaussian_log_density_elementwise,
    kl_diagonal,
    kl_diagonal_elementwise,
    kl_diagonal_grad,
    kl_diagonal_magnitude,
    kl_full,
    kl_standard_normal,
    kl_standard_normal_elementwise,
    kl_standard_normal_grad,
    kl_standard_normal_magnitude,
    scale_to_logvar,
)
from .likelihoods import (
    LIKELIHOODS,
    Likelihood,
    log_likelihood,
    log_likelihood_elementwise,
    log_likelihood_grad,
    log_likelihood_magnitude,
    parse_likelihood,
)
from .objective import (
    Convention,
    LossTerms,
    elbo,
    iwae_bound,
    iwae_log_weights,
    loss_terms,
    mc_kl,
    mc_negative_elbo,
    negative_elbo,
    reduce_batch,
    reduce_example,
)

__all__ = [
    "POSTERIORS", "LIKELIHOODS", "Convention", "Likelihood", "LossTerms",
    "elbo", "gaussian_entropy", "gaussian_entropy_elementwise", "gaussian_log_density",
    "gaussian_log_density_elementwise", "iwae_bound", "iwae_log_weights", "kl_diagonal",
    "kl_diagonal_elementwise", "kl_diagonal_grad", "kl_diagonal_magnitude", "kl_full",
    "kl_standard_normal", "kl_standard_normal_elementwise", "kl_standard_normal_grad",
    "kl_standard_normal_magnitude", "log_likelihood", "log_likelihood_elementwise",
    "log_likelihood_grad", "log_likelihood_magnitude", "loss_terms", "mc_kl",
    "mc_negative_elbo", "negative_elbo", "parse_likelihood", "reduce_batch", "reduce_example",
    "scale_to_logvar",
]
