"""The real-world corpus: VAE losses re-expressed from public code, each with the claim a
README reader would declare for it and the true verdict.

``declaration`` holds exactly the keyword arguments of :class:`vae_spec.Target` besides ``fn``
and ``framework``: ``args`` always; ``term`` when not "loss"; ``likelihood``; ``posterior`` when
not logvar (implied by the scale's canonical name); ``convention`` when not the default; and
``data_shape``/``latent_shape`` only where the code hard-codes a shape. A correct loss is
declared with the convention it truly uses; a departing one with the claim its author makes
(the ELBO), so that the claim fails. ``is_elbo`` is the true verdict: the loss equals
s * (sum or mean over b of -ELBO_b) + c for one fixed model whose parameters and weights do not
move with the batch, latent or data size. ``codes`` name each departure (the README's finding codes).
``shapes`` gives one realistic trailing shape (batch excluded) for the truth test.

Importing this module imports no framework: ``fn`` is a "module:function" string.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from vae_spec import Convention

FRAMEWORKS = ("torch", "tensorflow", "jax", "keras", "numpy")
_T, _TF, _J, _K, _N = (f"tests.realworld.losses_{name}" for name in FRAMEWORKS)
_SSE = "gaussian:var=0.5"  # a plain summed squared error: sigma^2 = 1/2, constants dropped
_LOSS4 = ("x_recon", "x", "mu", "logvar")
_X_FIRST = ("x", "x_recon", "mu", "logvar")


@dataclass(frozen=True)
class Entry:
    name: str
    framework: str
    fn: str
    source: str
    declaration: dict = field(hash=False, compare=False)
    is_elbo: bool = True
    codes: tuple[str, ...] = ()
    shapes: dict = field(default_factory=dict, hash=False, compare=False)
    note: str = ""

    def load(self):
        """The loss function (imports its framework)."""
        module, _, attr = self.fn.partition(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def term(self) -> str:
        return self.declaration.get("term", "loss")

    @property
    def convention(self) -> Convention:
        return self.declaration.get("convention", Convention())


CORPUS: list[Entry] = [
    # ----------------------------------------------------------------------------- torch
    Entry(
        name="pytorch_examples_vae", framework="torch",
        fn=f"{_T}:pytorch_examples_loss_function",
        source="pytorch/examples vae/main.py (loss_function)",
        declaration=dict(args=_LOSS4, likelihood="bernoulli-probs",
                         convention=Convention(batch="sum"), data_shape=(784,)),
        is_elbo=True, shapes={"latent": (20,), "data": (784,)},
        note="BCE and KL summed over batch and elements; x.view(-1, 784) hard-codes D",
    ),
    Entry(
        name="pytorch_examples_vae_continuous_bernoulli", framework="torch",
        fn=f"{_T}:pytorch_examples_cb_loss_function",
        source="pytorch/examples vae/main.py at 4227bd0 (unmerged PR: continuous Bernoulli "
               "log normalizing constant)",
        declaration=dict(args=_LOSS4, likelihood="continuous-bernoulli-probs",
                         convention=Convention(batch="sum"), data_shape=(784,)),
        is_elbo=True, shapes={"latent": (20,), "data": (784,)},
        note="log C by a Taylor series in [0.49, 0.51] with a float32 log 2: "
             "exact to ~2e-9 per pixel there (a precision-level departure only)",
    ),
    Entry(
        name="pythae_vae_mse", framework="torch", fn=f"{_T}:pythae_vae_mse",
        source="clementchadebec/benchmark_VAE src/pythae/models/vae/vae_model.py "
               "(VAE.loss_function, reconstruction_loss='mse')",
        declaration=dict(args=("x_recon", "x", "mu", "logvar", "z"), likelihood=_SSE,
                         convention=Convention(constants=False)),
        is_elbo=True, shapes={"latent": (16,), "data": (1, 28, 28)},
        note="per-example sums then .mean(dim=0); returns a tuple (wrapper takes [0]); z unused",
    ),
    Entry(
        name="pythae_beta_vae_mse", framework="torch", fn=f"{_T}:pythae_beta_vae_mse",
        source="clementchadebec/benchmark_VAE src/pythae/models/beta_vae/beta_vae_model.py "
               "(BetaVAE.loss_function, beta=4, reconstruction_loss='mse')",
        declaration=dict(args=("x_recon", "x", "mu", "logvar", "z"), likelihood=_SSE,
                         convention=Convention(beta=4.0, constants=False)),
        is_elbo=True, shapes={"latent": (16,), "data": (1, 28, 28)},
        note="a declared beta on a squared error is still an ELBO: SSE + 4 KL = 4 (SSE/4 + KL), "
             "the Gaussian decoder with sigma^2 = 2",
    ),
    Entry(
        name="lightning_bolts_vae", framework="torch", fn=f"{_T}:lightning_bolts_vae_step",
        source="Lightning-Universe/lightning-bolts src/pl_bolts/models/autoencoders/basic_vae/"
               "basic_vae_module.py (VAE.step)",
        declaration=dict(args=_LOSS4, likelihood=_SSE, convention=Convention(constants=False)),
        is_elbo=False, codes=("recon-data-mean", "kl-latent-mean"),
        shapes={"latent": (256,), "data": (3, 32, 32)},
        note="F.mse_loss(reduction='mean') + kl_coeff=0.1 * kl_divergence(q, p).mean() over "
             "batch and latent: implied sigma^2 = 0.05 D/d",
    ),
    Entry(
        name="lightning_bolts_vae_mc", framework="torch", fn=f"{_T}:lightning_bolts_vae_mc_step",
        source="Lightning-Universe/lightning-bolts pl_bolts/models/autoencoders/basic_vae/"
               "basic_vae_module.py (VAE.step, releases with log_qz - log_pz)",
        declaration=dict(term="mc_loss", args=("x_recon", "x", "z", "mu", "logvar"),
                         likelihood=_SSE, convention=Convention(constants=False)),
        is_elbo=False, codes=("recon-data-mean", "kl-latent-mean"),
        shapes={"latent": (256,), "data": (3, 32, 32)},
        note="single-sample MC KL q.log_prob(z) - p.log_prob(z) given z, .mean() over batch "
             "and latent, times kl_coeff=0.1; MSE averaged over elements",
    ),
    Entry(
        name="antixk_vanilla_vae", framework="torch", fn=f"{_T}:antixk_vanilla_vae",
        source="AntixK/PyTorch-VAE models/vanilla_vae.py (VanillaVAE.loss_function, "
               "M_N = kld_weight = 0.00025 from configs/vae.yaml)",
        declaration=dict(args=_LOSS4, likelihood=_SSE, convention=Convention(constants=False)),
        is_elbo=False, codes=("recon-data-mean",),
        shapes={"latent": (128,), "data": (3, 64, 64)},
        note="F.mse_loss mean over every element + M_N * KL (batch mean): implied "
             "sigma^2 = M_N D / 2, 1.54 at 3x64x64; loss_function(*args, **kwargs) returns a dict",
    ),
    Entry(
        name="wiseodd_vae_pytorch", framework="torch", fn=f"{_T}:wiseodd_vae_pytorch_loss",
        source="wiseodd/generative-models VAE/vanilla_vae/vae_pytorch.py (revision quoted in "
               "issues #40 and #43)",
        declaration=dict(args=_LOSS4, likelihood="bernoulli-probs"),
        is_elbo=False, codes=("batch-mismatch",),
        shapes={"latent": (100,), "data": (784,)},
        note="summed BCE / mb_size (hard-coded 64) + batch-mean KL: right only at B = 64",
    ),
    Entry(
        name="world_models_vae", framework="torch", fn=f"{_T}:world_models_vae",
        source="public GitHub file vae.py of a gym-retro World Models VAE (loss_fn; the index "
               "does not name the repository)",
        declaration=dict(args=("x_recon", "x", "mu", "logvar"), likelihood=_SSE,
                         convention=Convention(batch="sum", constants=False)),
        is_elbo=False, codes=("kl-param-logstd",),
        shapes={"latent": (32,), "data": (3, 64, 64)},
        note="build_z uses std = exp(0.5 logvar) but the KL has 2*logvar and exp(2*logvar): "
             "log-variance read as log-std; returns a tuple (wrapper takes [0])",
    ),
    Entry(
        name="blog_bce_sum_kl_torch_mean", framework="torch", fn=f"{_T}:blog_torch_mean_kl",
        source="public GitHub file (vae_loss_fn in an options-discovery script; the index does "
               "not name the repository), the pattern of the vae_spec README example",
        declaration=dict(args=_LOSS4, likelihood="bernoulli-probs",
                         convention=Convention(batch="sum")),
        is_elbo=False, codes=("kl-latent-mean", "batch-mismatch"),
        shapes={"latent": (20,), "data": (784,)},
        note="BCE summed over batch and pixels, KL by torch.mean over batch and latent "
             "(weight 1/(B d)); returns a tuple (wrapper takes [0])",
    ),
    Entry(
        name="blog_mse_mean_kl_sum", framework="torch", fn=f"{_T}:blog_mse_mean_kl_sum",
        source="public GitHub file (class VAE_Loss with nn.MSELoss(); the index does not name "
               "the repository)",
        declaration=dict(args={"x_inputs": "x", "recons": "x_recon", "mu": "mu",
                               "log_var": "logvar"},
                         likelihood=_SSE, convention=Convention(batch="sum", constants=False)),
        is_elbo=False, codes=("recon-data-mean", "batch-mismatch"),
        shapes={"latent": (16,), "data": (784,)},
        note="nn.MSELoss() (mean over batch and elements) + KL summed over batch and latent; "
             "x comes first in the signature",
    ),
    Entry(
        name="theromanone_mse_sum_kl_09", framework="torch", fn=f"{_T}:theromanone_vae_loss",
        source="TheRomanOne/ML_pipeline loss_functions.py (vae_loss)",
        declaration=dict(args=_LOSS4, likelihood=_SSE,
                         convention=Convention(batch="sum", beta=0.9, constants=False)),
        is_elbo=True, shapes={"latent": (32,), "data": (3, 32, 32)},
        note="SSE + 0.9 KL: a KL weight on a squared error is the Gaussian decoder with "
             "sigma^2 = 0.45, still an ELBO",
    ),
    Entry(
        name="mse_sum_kl_missing_half", framework="torch", fn=f"{_T}:mse_sum_kl_missing_half",
        source="public GitHub file (VAE.get_loss; the index does not name the repository)",
        declaration=dict(args=("x", "x_recon", "mu", "logvar"), likelihood="gaussian",
                         convention=Convention(batch="sum", scale=2.0, constants=False)),
        is_elbo=True, shapes={"latent": (20,), "data": (784,)},
        note="KL without its 1/2, but next to a summed squared error: SSE + 2 KL = "
             "2 (SSE/2 + KL) is the ELBO of a unit-variance Gaussian decoder",
    ),
    Entry(
        name="dcgan_vae_kl_missing_half", framework="torch", fn=f"{_T}:dcgan_vae_kl",
        source="public GitHub file (DCGAN-architecture VAE, VAEBase.inference; the index does "
               "not name the repository)",
        declaration=dict(term="kl", args=("mu", "logvar"), convention=Convention(batch="none")),
        is_elbo=False, codes=("kl-missing-half",),
        shapes={"latent": (100,)},
        note="per-example KL -sum(1 + logvar - mu^2 - exp(logvar)) under a '-0.5 * sum' comment",
    ),
    Entry(
        name="diffusers_diagonal_gaussian_kl", framework="torch",
        fn=f"{_T}:diffusers_posterior_kl",
        source="huggingface/diffusers src/diffusers/models/autoencoders/vae.py "
               "(DiagonalGaussianDistribution.kl)",
        declaration=dict(term="kl", args=("mu", "logvar"), convention=Convention(batch="none")),
        is_elbo=True, shapes={"latent": (4, 8, 8)},
        note="per-example KL over a (C, H, W) latent, sum over dims [1, 2, 3]; the class takes "
             "the concatenated moments (wrapper concatenates); logvar clamped to [-30, 20]",
    ),
    Entry(
        name="ldm_autoencoder_kl_loss", framework="torch", fn=f"{_T}:ldm_autoencoder_kl_loss",
        source="CompVis/stable-diffusion ldm/modules/losses/contperceptual.py "
               "(LPIPSWithDiscriminator.forward, perceptual_weight=0, before disc_start)",
        declaration=dict(args=("x", "x_recon", "mu", "logvar", "dec_logscale"),
                         likelihood="laplace-learned", convention=Convention(constants=False)),
        is_elbo=False, codes=("kl-scaled",),
        shapes={"latent": (4, 8, 8), "data": (3, 32, 32)},
        note="|x - x_rec| / exp(s) + s (a Laplace NLL, log 2 dropped; LDM calls s 'logvar'), "
             "sums / B, and kl_weight = 1e-6 on the KL",
    ),
    Entry(
        name="pyro_vae_trace_elbo", framework="torch", fn=f"{_T}:pyro_vae_trace_elbo",
        source="pyro-ppl/pyro examples/vae/vae.py (model/guide with SVI(..., Trace_ELBO()))",
        declaration=dict(term="mc_loss", args=("x", "x_recon", "z", "mu", "std"),
                         likelihood="bernoulli-probs", convention=Convention(batch="sum"),
                         data_shape=(784,)),
        is_elbo=True, shapes={"latent": (50,), "data": (784,)},
        note="Trace_ELBO's single-sample loss summed over the data plate; the guide's scale is "
             "a std (exp of the encoder output); obs=x.reshape(-1, 784)",
    ),
    # ------------------------------------------------------------------------ tensorflow
    Entry(
        name="tf_docs_cvae", framework="tensorflow", fn=f"{_TF}:tf_docs_cvae_compute_loss",
        source="tensorflow/docs site/en/tutorials/generative/cvae.ipynb (log_normal_pdf, "
               "compute_loss)",
        declaration=dict(term="mc_loss", args=("x", "x_recon", "z", "mu", "logvar"),
                         likelihood="bernoulli-logits"),
        is_elbo=True, shapes={"latent": (2,), "data": (28, 28, 1)},
        note="log p(x|z) + log p(z) - log q(z|x) at the given z, reduce_sum over [1, 2, 3]; "
             "log2pi = tf.math.log(2. * np.pi) is float32, so the loss cannot run in float64",
    ),
    Entry(
        name="keras_io_vae_tf", framework="tensorflow", fn=f"{_TF}:keras_io_vae_train_step_loss",
        source="keras-team/keras-io examples/generative/vae.py (2020 tf.keras version, "
               "VAE.train_step)",
        declaration=dict(args=_X_FIRST, likelihood="bernoulli-probs", data_shape=(28, 28, 1)),
        is_elbo=True, shapes={"latent": (2,), "data": (28, 28, 1)},
        note="binary_crossentropy averages over the channel axis, then sum over axes (1, 2): "
             "the ELBO only with one channel, as the model's Input((28, 28, 1)) hard-codes",
    ),
    Entry(
        name="disentanglement_lib_vae", framework="tensorflow",
        fn=f"{_TF}:disentanglement_lib_vae_loss",
        source="google-research/disentanglement_lib disentanglement_lib/methods/shared/losses.py "
               "(bernoulli_loss) and methods/unsupervised/vae.py (compute_gaussian_kl, BetaVAE)",
        declaration=dict(args=_X_FIRST, likelihood="bernoulli-logits"),
        is_elbo=True, shapes={"latent": (10,), "data": (64, 64, 1)},
        note="sigmoid_cross_entropy_with_logits summed over the flattened image, reduce_mean; "
             "beta = 1",
    ),
    Entry(
        name="disentanglement_lib_beta_vae", framework="tensorflow",
        fn=f"{_TF}:disentanglement_lib_beta_vae_loss",
        source="google-research/disentanglement_lib disentanglement_lib/methods/unsupervised/"
               "vae.py (BetaVAE, beta = 4)",
        declaration=dict(args=_X_FIRST, likelihood="bernoulli-logits"),
        is_elbo=False, codes=("kl-scaled",),
        shapes={"latent": (10,), "data": (64, 64, 1)},
        note="beta = 4 on a Bernoulli decoder: no model has it as its ELBO; checked as the ELBO "
             "it departs (kl-scaled), declared Convention(beta=4.0) it conforms",
    ),
    Entry(
        name="tf_guide_subclassing_vae", framework="tensorflow",
        fn=f"{_TF}:tf_guide_subclassing_vae_loss",
        source="tensorflow/docs site/en/guide/keras/custom_layers_and_models.ipynb (keras-io "
               "guides/making_new_layers_and_models_via_subclassing.py), end-to-end VAE",
        declaration=dict(args=_X_FIRST, likelihood=_SSE, convention=Convention(constants=False)),
        is_elbo=False, codes=("recon-data-mean", "kl-latent-mean"),
        shapes={"latent": (32,), "data": (784,)},
        note="MeanSquaredError() + the add_loss KL by tf.reduce_mean over batch and latent; the "
             "Loss object computes in floatx (float32)",
    ),
    Entry(
        name="wiseodd_vae_tensorflow_tf2", framework="tensorflow",
        fn=f"{_TF}:wiseodd_vae_tensorflow_loss",
        source="wiseodd/generative-models VAE/vanilla_vae/vae_tensorflow.py",
        declaration=dict(args=("x", "x_recon", "mu", "logvar"), likelihood="bernoulli-logits"),
        is_elbo=False, codes=("recon-formula",),
        shapes={"latent": (100,), "data": (784,)},
        note="sigmoid_cross_entropy_with_logits(logits, X) positional, written for TF 0.x; "
             "under TF 2 it binds labels=logits, logits=X",
    ),
    Entry(
        name="blog_tf_kl_sign", framework="tensorflow", fn=f"{_TF}:blog_tf_kl",
        source="public GitHub file (blog-style tf.keras VAE, call() returns mse_loss, kl_loss; "
               "the index does not name the repository)",
        declaration=dict(term="kl", args=("mu", "logvar"), convention=Convention(batch="none")),
        is_elbo=False, codes=("kl-sign",),
        shapes={"latent": (8,)},
        note="'KL' = 0.5 * sum(1 + logvar - mu^2 - exp(logvar)): the textbook -KL, minimized",
    ),
    # ------------------------------------------------------------------------------- jax
    Entry(
        name="flax_vae", framework="jax", fn=f"{_J}:flax_vae_loss",
        source="google/flax examples/vae/train.py (kl_divergence, "
               "binary_cross_entropy_with_logits, train_step)",
        declaration=dict(args=_LOSS4, likelihood="bernoulli-logits"),
        is_elbo=True, shapes={"latent": (20,), "data": (784,)},
        note="jax.vmap per-example terms, .mean() each; log(1-p) as log(-expm1(log_sigmoid(l)))",
    ),
    Entry(
        name="haiku_vae", framework="jax", fn=f"{_J}:haiku_vae_loss",
        source="google-deepmind/dm-haiku examples/vae.py (binary_cross_entropy, kl_gaussian, "
               "loss_fn)",
        declaration=dict(args=("x", "x_recon", "mu", "std"), likelihood="bernoulli-logits"),
        is_elbo=True, shapes={"latent": (10,), "data": (28, 28, 1)},
        note="the encoder outputs stddev = exp(log_stddev); kl_gaussian(mean, stddev**2)",
    ),
    Entry(
        name="flax_nnx_toy_vae", framework="jax", fn=f"{_J}:flax_nnx_vae_loss",
        source="google/flax examples/nnx_toy_examples/05_vae.py (Encoder.__call__, train_step)",
        declaration=dict(args=("x_recon", "x", "mu", "std"), likelihood="bernoulli-logits"),
        is_elbo=False, codes=("recon-data-mean", "kl-latent-mean", "kl-scaled"),
        shapes={"latent": (32,), "data": (28, 28)},
        note="jnp.mean of optax.sigmoid_binary_cross_entropy over everything + 0.1 * KL averaged "
             "over latents: effective beta 0.1 D/d (2.45 at 28x28, d = 32)",
    ),
    Entry(
        name="numpyro_vae_trace_elbo", framework="jax", fn=f"{_J}:numpyro_vae_trace_elbo",
        source="pyro-ppl/numpyro examples/vae.py (model, guide, Trace_ELBO)",
        declaration=dict(term="mc_loss", args=("x", "x_recon", "z", "mu", "std"),
                         likelihood="bernoulli-probs", convention=Convention(batch="sum")),
        is_elbo=True, shapes={"latent": (50,), "data": (784,)},
        note="single-sample ELBO summed over the batch; the guide's scale is exp(.) of the "
             "encoder, a std",
    ),
    Entry(
        name="jax_vmap_mse_mean", framework="jax", fn=f"{_J}:jax_vae_train_loss",
        source="public GitHub file (jax vae_train_loss with vmapped mse_loss_fn; the index does "
               "not name the repository)",
        declaration=dict(args=_LOSS4, likelihood=_SSE, convention=Convention(constants=False)),
        is_elbo=False, codes=("recon-data-mean",),
        shapes={"latent": (8,), "data": (64,)},
        note="vmapped elementwise squared error .mean() over batch and elements, KL summed per "
             "example then .mean(): implied sigma^2 = D/2",
    ),
    # ----------------------------------------------------------------------------- keras
    Entry(
        name="keras_io_vae", framework="keras", fn=f"{_K}:keras_io_vae_train_step_loss",
        source="keras-team/keras-io examples/generative/vae.py (Keras 3 version, "
               "VAE.train_step)",
        declaration=dict(args=_X_FIRST, likelihood="bernoulli-probs", data_shape=(28, 28, 1)),
        is_elbo=True, shapes={"latent": (2,), "data": (28, 28, 1)},
        note="ops.sum(binary_crossentropy(...), axis=(1, 2)): the channel axis is averaged, so "
             "the ELBO needs C = 1 as the model hard-codes",
    ),
    Entry(
        name="keras_example_vae_2016", framework="keras", fn=f"{_K}:keras_example_vae_loss_2016",
        source="keras-team/keras examples/variational_autoencoder.py (first version, 2016)",
        declaration=dict(args=_X_FIRST, likelihood="bernoulli-probs",
                         convention=Convention(batch="none")),
        is_elbo=False, codes=("recon-data-mean",),
        shapes={"latent": (2,), "data": (784,)},
        note="per-example binary_crossentropy (a mean over the 784 pixels) + KL summed over "
             "latents: effective beta = D",
    ),
    Entry(
        name="keras_example_vae_original_dim", framework="keras",
        fn=f"{_K}:keras_example_vae_loss_original_dim",
        source="keras-team/keras examples/variational_autoencoder.py (mid-2016 revision, as in "
               "the cnvrg/keras fork)",
        declaration=dict(args=_X_FIRST, likelihood="bernoulli-probs",
                         convention=Convention(batch="none"), data_shape=(784,)),
        is_elbo=True, shapes={"latent": (2,), "data": (784,)},
        note="original_dim * binary_crossentropy restores the pixel sum, at the hard-coded "
             "D = 784; one value per example (Keras averages)",
    ),
    Entry(
        name="keras_example_vae_mse", framework="keras", fn=f"{_K}:keras_example_vae_mse_add_loss",
        source="keras-team/keras examples/variational_autoencoder.py (2018 revision, --mse, "
               "vae.add_loss)",
        declaration=dict(args=_X_FIRST, likelihood=_SSE, convention=Convention(constants=False),
                         data_shape=(784,)),
        is_elbo=True, shapes={"latent": (2,), "data": (784,)},
        note="mse(inputs, outputs) * original_dim is the summed squared error at D = 784",
    ),
    Entry(
        name="keras_blog_vae_log_sigma", framework="keras", fn=f"{_K}:keras_blog_vae_loss",
        source="blog.keras.io/building-autoencoders-in-keras.html (variational autoencoder "
               "section)",
        declaration=dict(args=("x", "x_recon", "mu", "logstd"), likelihood="bernoulli-probs",
                         data_shape=(784,)),
        is_elbo=False, codes=("kl-param-logvar",),
        shapes={"latent": (2,), "data": (784,)},
        note="z = z_mean + exp(z_log_sigma) * eps (a log-std), but the KL reads z_log_sigma as "
             "a log-variance (the sampler also draws eps with stddev 0.1)",
    ),
    # ----------------------------------------------------------------------------- numpy
    Entry(
        name="autograd_vae", framework="numpy", fn=f"{_N}:autograd_vae_objective_01",
        source="HIPS/autograd examples/variational_autoencoder.py (vae_lower_bound, objective)",
        declaration=dict(term="mc_loss", args=("x", "x_recon", "z", "mu", "logstd"),
                         likelihood="bernoulli-logits",
                         convention=Convention(scale=1 / 784), data_shape=(784,)),
        is_elbo=True, shapes={"latent": (10,), "data": (784,)},
        note="MC bound with log-std posterior, objective = -bound / data_dim (784): scale "
             "1/784; targets in {-1, 1} (wrapper maps 0/1), so an ELBO on binary x only: "
             "-logaddexp(0, -l t) is not the cross-entropy of a soft x in (0, 1)",
    ),
    Entry(
        name="numpy_nn_model_vae", framework="numpy", fn=f"{_N}:numpy_nn_model_vae_loss",
        source="AkiRusProd/numpy-nn-model nnmodel/modules/vae.py (VAE.fit loss history) and "
               "nnmodel/loss_functions.py (MSE)",
        declaration=dict(args=_LOSS4, likelihood=_SSE, convention=Convention(constants=False)),
        is_elbo=False, codes=("recon-data-mean", "kl-latent-mean"),
        shapes={"latent": (16,), "data": (784,)},
        note="squared error .mean() over everything + KL sum / (batch_size * latent_dim)",
    ),
    Entry(
        name="ilovetools_elbo_loss", framework="numpy", fn=f"{_N}:ilovetools_elbo_loss",
        source="AliMehdi512/ilovetools ilovetools/ml/vae.py (elbo_loss)",
        declaration=dict(args=_X_FIRST, likelihood="bernoulli-probs"),
        is_elbo=False, codes=("recon-data-mean",),
        shapes={"latent": (20,), "data": (784,)},
        note="BCE (eps 1e-8 inside the logs) np.mean over batch and pixels + KL summed over "
             "latents, batch mean: effective beta = D",
    ),
]
