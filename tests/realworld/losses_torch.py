"""PyTorch VAE losses re-expressed from public code (see corpus.py for each entry's claim).

Each function keeps its source's reductions, API calls and shape handling; a comment above
it names the repository and file. Where the source's loss is a method, returns a tuple or a
dict, or reads hyper-parameters from ``self``, the faithful function is kept and a thin
wrapper (said so in its comment) picks the scalar the training loop backpropagates.
``size_average=False`` (deprecated) is written as its equivalent ``reduction="sum"``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import distributions as dist
from torch import nn


# pytorch/examples vae/main.py (main branch): BCE summed over batch and pixels, x.view(-1, 784).
def pytorch_examples_loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    # 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2), Appendix B of Kingma & Welling
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


# pytorch/examples vae/main.py at commit 4227bd0 ("added continuous Bernoulli log normalizing
# constant to VAE", a pull-request branch, never merged): the continuous Bernoulli correction,
# with a Taylor expansion of log C in [0.49, 0.51] and log 2 taken as torch.tensor(2.0), a
# float32 constant.
def _cb_atanh(x):
    return 0.5 * (torch.log(1.0 + x) - torch.log(1.0 - x))


def _cont_bern_log_norm(lam, l_lim=0.49, u_lim=0.51):
    outside = torch.max(torch.le(lam, l_lim), torch.gt(lam, u_lim))
    cut_lam = torch.where(outside, lam, l_lim * torch.ones_like(lam))
    log_norm = (torch.log(torch.abs(2.0 * _cb_atanh(1 - 2.0 * cut_lam)))
                - torch.log(torch.abs(1 - 2.0 * cut_lam)))
    taylor = (torch.log(torch.tensor(2.0)) + 4.0 / 3.0 * torch.pow(lam - 0.5, 2)
              + 104.0 / 45.0 * torch.pow(lam - 0.5, 4))
    return torch.where(outside, log_norm, taylor)


def pytorch_examples_cb_loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    NLNC = -torch.sum(_cont_bern_log_norm(recon_x))  # negative log normalizing constant
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + NLNC + KLD


# clementchadebec/benchmark_VAE src/pythae/models/vae/vae_model.py, VAE.loss_function: per
# example sums over the flattened data, then .mean(dim=0); returns (loss, recon, kld).
def pythae_vae_loss_function(recon_x, x, mu, log_var, z, reconstruction_loss="mse"):
    if reconstruction_loss == "mse":
        recon_loss = F.mse_loss(
            recon_x.reshape(x.shape[0], -1), x.reshape(x.shape[0], -1), reduction="none"
        ).sum(dim=-1)
    elif reconstruction_loss == "bce":
        recon_loss = F.binary_cross_entropy(
            recon_x.reshape(x.shape[0], -1), x.reshape(x.shape[0], -1), reduction="none"
        ).sum(dim=-1)
    KLD = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=-1)
    return (recon_loss + KLD).mean(dim=0), recon_loss.mean(dim=0), KLD.mean(dim=0)


# Thin wrapper (unavoidable): pythae returns a tuple; the model's output.loss is element 0.
def pythae_vae_mse(recon_x, x, mu, log_var, z):
    return pythae_vae_loss_function(recon_x, x, mu, log_var, z, reconstruction_loss="mse")[0]


# clementchadebec/benchmark_VAE src/pythae/models/beta_vae/beta_vae_model.py,
# BetaVAE.loss_function: (recon_loss + self.beta * KLD).mean(dim=0).
def pythae_beta_vae_loss_function(recon_x, x, mu, log_var, z, beta=4.0, reconstruction_loss="mse"):
    if reconstruction_loss == "mse":
        recon_loss = F.mse_loss(
            recon_x.reshape(x.shape[0], -1), x.reshape(x.shape[0], -1), reduction="none"
        ).sum(dim=-1)
    elif reconstruction_loss == "bce":
        recon_loss = F.binary_cross_entropy(
            recon_x.reshape(x.shape[0], -1), x.reshape(x.shape[0], -1), reduction="none"
        ).sum(dim=-1)
    KLD = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=-1)
    return (recon_loss + beta * KLD).mean(dim=0), recon_loss.mean(dim=0), KLD.mean(dim=0)


# Thin wrapper (unavoidable): BetaVAEConfig(beta=4.0, reconstruction_loss="mse"), element 0.
def pythae_beta_vae_mse(recon_x, x, mu, log_var, z):
    return pythae_beta_vae_loss_function(recon_x, x, mu, log_var, z, beta=4.0)[0]


# Lightning-Universe/lightning-bolts src/pl_bolts/models/autoencoders/basic_vae/
# basic_vae_module.py, VAE.step (current): F.mse_loss(reduction="mean") and the analytic
# torch.distributions.kl_divergence(q, p) averaged over batch AND latent, times kl_coeff=0.1.
def lightning_bolts_vae_step(x_hat, x, mu, log_var, kl_coeff=0.1):
    std = torch.exp(log_var / 2)
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(std))
    q = torch.distributions.Normal(mu, std)
    recon_loss = F.mse_loss(x_hat, x, reduction="mean")
    kl = torch.distributions.kl_divergence(q, p)
    kl = kl.mean()
    kl *= kl_coeff
    return kl + recon_loss


# Lightning-Universe/lightning-bolts pl_bolts/models/autoencoders/basic_vae/basic_vae_module.py,
# VAE.step (releases before the analytic KL): a single-sample MC KL log q(z) - log p(z) at the
# sampled z, averaged over batch and latent, times kl_coeff.
def lightning_bolts_vae_mc_step(x_hat, x, z, mu, log_var, kl_coeff=0.1):
    std = torch.exp(log_var / 2)
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(std))
    q = torch.distributions.Normal(mu, std)
    recon_loss = F.mse_loss(x_hat, x, reduction="mean")
    log_qz = q.log_prob(z)
    log_pz = p.log_prob(z)
    kl = log_qz - log_pz
    kl = kl.mean()
    kl *= kl_coeff
    return kl + recon_loss


# AntixK/PyTorch-VAE models/vanilla_vae.py, VanillaVAE.loss_function(*args, **kwargs): MSE
# averaged over every element, KL summed over latents and averaged over the batch, weighted
# by kwargs['M_N']; returns a dict.
def antixk_vanilla_vae_loss_function(*args, **kwargs):
    recons = args[0]
    input = args[1]
    mu = args[2]
    log_var = args[3]
    kld_weight = kwargs["M_N"]  # Account for the minibatch samples from the dataset
    recons_loss = F.mse_loss(recons, input)
    kld_loss = torch.mean(-0.5 * torch.sum(1 + log_var - mu ** 2 - log_var.exp(), dim=1), dim=0)
    loss = recons_loss + kld_weight * kld_loss
    return {"loss": loss, "Reconstruction_Loss": recons_loss.detach(), "KLD": -kld_loss.detach()}


# Thin wrapper (unavoidable): experiment.py passes M_N=self.params['kld_weight'] (0.00025 in
# configs/vae.yaml) and backpropagates the dict's 'loss'.
def antixk_vanilla_vae(recons, input, mu, log_var):
    return antixk_vanilla_vae_loss_function(recons, input, mu, log_var, M_N=0.00025)["loss"]


# wiseodd/generative-models VAE/vanilla_vae/vae_pytorch.py (the revision quoted by the
# author in issues #40 and #43): the summed BCE divided by the hard-coded mb_size = 64, the
# KL summed over latents and averaged over the batch.
def wiseodd_vae_pytorch_loss(X_sample, X, z_mu, z_var, mb_size=64):
    recon_loss = F.binary_cross_entropy(X_sample, X, reduction="sum") / mb_size
    kl_loss = torch.mean(0.5 * torch.sum(torch.exp(z_var) + z_mu ** 2 - 1. - z_var, 1))
    return recon_loss + kl_loss


# A World Models VAE for gym-retro (public GitHub file vae.py; the index does not name the
# repository): build_z samples with std = exp(0.5 * logvar), but the KL is written for a
# log-std input (2 * logvar); returns (loss, BCE, KLD).
def world_models_loss_fn(reconstruction, original, mu, logvar):
    # This is the L2 loss, described in the World Models paper
    BCE = F.mse_loss(reconstruction, original, reduction="sum")
    KLD = -0.5 * torch.sum(1 + 2 * logvar - mu.pow(2) - (2 * logvar).exp())
    return BCE + KLD, BCE, KLD


# Thin wrapper (unavoidable): the training loop backpropagates element 0.
def world_models_vae(reconstruction, original, mu, logvar):
    return world_models_loss_fn(reconstruction, original, mu, logvar)[0]


# Blog/tutorial style (public GitHub file, vae_loss_fn in an options-discovery script; the
# index does not name the repository): pytorch/examples' BCE sum, but the KL by torch.mean
# over batch and latent; returns (loss, BCE, KLD).
def blog_vae_loss_fn(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x, reduction="sum")
    KLD = -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD, BCE, KLD


# Thin wrapper (unavoidable): element 0 is backpropagated.
def blog_torch_mean_kl(recon_x, x, mu, logvar):
    return blog_vae_loss_fn(recon_x, x, mu, logvar)[0]


# Blog/tutorial style (public GitHub file, class VAE_Loss; the index does not name the
# repository): nn.MSELoss() (reduction "mean") plus the KL summed over batch and latent.
_recon_loss = nn.MSELoss()


def blog_mse_mean_kl_sum(x_inputs, recons, mu, log_var):
    recons_loss = _recon_loss(recons, x_inputs)
    kld_loss = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())
    loss = recons_loss + 1 * kld_loss
    return loss


# TheRomanOne/ML_pipeline loss_functions.py: summed MSE plus 0.9 times the summed KL.
def theromanone_vae_loss(recon_x, x, mu, logvar):
    recon_loss = F.mse_loss(recon_x, x, reduction="sum")
    kl_loss = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return recon_loss + .9 * kl_loss


# Public GitHub file (a VAE class with get_loss; the index does not name the repository):
# summed MSE plus a KL written without its 1/2.
def mse_sum_kl_missing_half(data, reconst_data, mu, logvar):
    MSE = F.mse_loss(data, reconst_data, reduction="sum")
    KLD = -torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return MSE + KLD


# Public GitHub file (a DCGAN-architecture VAE, VAEBase.inference; the index does not name the
# repository): the per-example KL, commented "-0.5 * sum(...)", written without the 0.5.
def dcgan_vae_kl(mu, logvar):
    kl = -torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)
    return kl


# huggingface/diffusers src/diffusers/models/autoencoders/vae.py, DiagonalGaussianDistribution
# (the same class as CompVis ldm/modules/distributions/distributions.py): moments (B, 2C, H, W)
# chunked on dim 1, logvar clamped to [-30, 20], KL summed over dims [1, 2, 3].
class DiagonalGaussianDistribution:
    def __init__(self, parameters, deterministic=False):
        self.parameters = parameters
        self.mean, self.logvar = torch.chunk(parameters, 2, dim=1)
        self.logvar = torch.clamp(self.logvar, -30.0, 20.0)
        self.deterministic = deterministic
        self.std = torch.exp(0.5 * self.logvar)
        self.var = torch.exp(self.logvar)
        if self.deterministic:
            self.var = self.std = torch.zeros_like(self.mean)

    def kl(self, other=None):
        if self.deterministic:
            return torch.Tensor([0.0])
        if other is None:
            return 0.5 * torch.sum(
                torch.pow(self.mean, 2) + self.var - 1.0 - self.logvar, dim=[1, 2, 3]
            )
        return 0.5 * torch.sum(
            torch.pow(self.mean - other.mean, 2) / other.var
            + self.var / other.var - 1.0 - self.logvar + other.logvar,
            dim=[1, 2, 3],
        )


# Thin wrapper (unavoidable): diffusers builds the posterior from the encoder's concatenated
# moments; the KL of that posterior is what AutoencoderKL training penalizes.
def diffusers_posterior_kl(mean, logvar):
    return DiagonalGaussianDistribution(torch.cat([mean, logvar], dim=1)).kl()


# CompVis/stable-diffusion (and latent-diffusion) ldm/modules/losses/contperceptual.py,
# LPIPSWithDiscriminator.forward, generator pass with perceptual_weight=0 and before
# disc_start (disc_factor 0, so the GAN term vanishes): an L1 NLL with a learned scalar
# log-scale (named self.logvar there), sums divided by the batch size, and kl_weight=1e-6 on
# the KL (models/first_stage_models/kl-f8/config.yaml). The posterior is built as above.
def ldm_autoencoder_kl_loss(inputs, reconstructions, mean, logvar, dec_logscale, kl_weight=1e-6):
    posteriors = DiagonalGaussianDistribution(torch.cat([mean, logvar], dim=1))
    rec_loss = torch.abs(inputs.contiguous() - reconstructions.contiguous())
    nll_loss = rec_loss / torch.exp(dec_logscale) + dec_logscale
    weighted_nll_loss = nll_loss
    weighted_nll_loss = torch.sum(weighted_nll_loss) / weighted_nll_loss.shape[0]
    kl_loss = posteriors.kl()
    kl_loss = torch.sum(kl_loss) / kl_loss.shape[0]
    return weighted_nll_loss + kl_weight * kl_loss


# pyro-ppl/pyro examples/vae/vae.py: the loss SVI(model, guide, loss=Trace_ELBO()) minimizes
# for one sample z from the guide: -(log p(x|z) + log p(z) - log q(z|x)), summed over the
# "data" plate. pyro.distributions wraps these torch.distributions (not installed here):
# Normal(...).independent(1) and Bernoulli(loc_img).independent(1) with obs=x.reshape(-1, 784).
def pyro_vae_trace_elbo(x, loc_img, z, z_loc, z_scale):
    obs = x.reshape(-1, 784)
    z_prior = dist.Independent(dist.Normal(torch.zeros_like(z_loc), torch.ones_like(z_scale)), 1)
    likelihood = dist.Independent(dist.Bernoulli(probs=loc_img, validate_args=False), 1)
    guide = dist.Independent(dist.Normal(z_loc, z_scale), 1)
    model_log_prob = z_prior.log_prob(z) + likelihood.log_prob(obs)
    guide_log_prob = guide.log_prob(z)
    return -(model_log_prob - guide_log_prob).sum()
