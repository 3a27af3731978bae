"""A Keras 3 VAE loss with keras.ops: per-example sums over data and latent, batch mean."""

from keras import ops


def vae_loss(x, x_recon, mu, logvar):
    """Bernoulli reconstruction on probabilities plus KL(q || N(0, I)), averaged over the batch."""
    batch = ops.shape(x)[0]
    x = ops.reshape(x, (batch, -1))
    p = ops.reshape(x_recon, (batch, -1))
    reconstruction = -ops.sum(x * ops.log(p) + (1 - x) * ops.log1p(-p), axis=1)
    mu = ops.reshape(mu, (batch, -1))
    logvar = ops.reshape(logvar, (batch, -1))
    kl = 0.5 * ops.sum(ops.square(mu) + ops.exp(logvar) - 1 - logvar, axis=1)
    return ops.mean(reconstruction + kl)
