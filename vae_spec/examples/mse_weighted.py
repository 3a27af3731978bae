"""A common PyTorch loss: mean squared error over every element plus a small weight on the KL."""

import torch
import torch.nn.functional as F


def loss_function(recon_x, x, mu, logvar):
    """MSE averaged over batch and pixels, plus 0.001 times the batch-averaged KL."""
    mse = F.mse_loss(recon_x, x, reduction="mean")
    kld = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
    return mse + 0.001 * kld
