"""Example VAE losses shipped with vae_spec, as people write them; ``vae-spec demo`` runs them.

Each :class:`Example` names a loss (``module:function``), its framework, how it is called, and
what its author claims it computes. Modules import their framework only when loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..spec.objective import Convention


@dataclass(frozen=True)
class Example:
    """A bundled loss and its author's claim (the ELBO under ``convention``)."""

    name: str
    target: str
    framework: str
    args: object
    likelihood: str
    about: str
    convention: Convention = field(default_factory=Convention)
    data_shape: tuple | None = None
    latent_shape: tuple | None = None

    def load(self, *, declare_likelihood: bool = True):
        """The :class:`~vae_spec.Target` for this example (likelihood left out for diagnosis)."""
        from ..target import Target, load_callable

        return Target(
            load_callable(self.target), framework=self.framework, term="loss", args=self.args,
            likelihood=self.likelihood if declare_likelihood else None,
            convention=self.convention, data_shape=self.data_shape,
            latent_shape=self.latent_shape, name=self.target,
        )


_ARTICLE_ARGS = {"x": "x", "x_decoded_mean": "x_recon", "z_mean": "mu", "z_log_var": "logvar"}

EXAMPLES = (
    Example("article-1", "vae_spec.examples.article:example1_vae_loss", "tensorflow", _ARTICLE_ARGS,
            "gaussian", 'the article\'s "correct" Keras loss: mse + KL averaged over all elements',
            Convention(batch="none"), data_shape=(784,)),
    Example("article-2", "vae_spec.examples.article:example2_vae_loss_incorrect", "tensorflow",
            _ARTICLE_ARGS, "gaussian", "the article's Example 2: the same KL times 0.01",
            Convention(batch="none"), data_shape=(784,)),
    Example("article-3", "vae_spec.examples.article:example3_vae_loss_dimension_error", "tensorflow",
            _ARTICLE_ARGS, "gaussian", "the article's Example 3: KL summed over batch and latent",
            Convention(batch="none"), data_shape=(784,)),
    Example("pytorch-classic", "vae_spec.examples.pytorch_vae:loss_function", "torch",
            ("x_recon", "x", "mu", "logvar"), "bernoulli-probs",
            "PyTorch's classic example: BCE and KL both summed over the batch",
            Convention(batch="sum"), data_shape=(784,)),
    Example("keras3-correct", "vae_spec.examples.keras3:vae_loss", "keras",
            ("x", "x_recon", "mu", "logvar"), "bernoulli-probs",
            "a Keras 3 loss: per-example sums, batch mean"),
    Example("mse-weighted", "vae_spec.examples.mse_weighted:loss_function", "torch",
            ("x_recon", "x", "mu", "logvar"), "gaussian",
            "mse averaged over every element plus 0.001 * KL"),
    Example("logstd-encoder", "vae_spec.examples.logstd_encoder:vae_loss", "jax",
            ("x_recon", "x", "mu", "logstd"), "bernoulli-logits",
            "an encoder that outputs log-std; the KL uses it correctly"),
    Example("numpy-correct", "vae_spec.examples.numpy_vae:negative_elbo", "numpy",
            {"x": "x", "logits": "x_recon", "mu": "mu", "logvar": "logvar"},
            "bernoulli-logits", "a numpy loss with the stable logits form"),
)
