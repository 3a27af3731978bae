"""Buggy VAE losses that need Keras's own API: keras.losses, which averages over the last axis.

keras is imported when a loss runs, not when the corpus is read.
"""

from __future__ import annotations

from .registry import mutant
from .terms import kl


@mutant("4", codes=("recon-data-mean",), frameworks=("keras",))
def recon_data_mean(o, x_recon, x, mu, logvar):
    """Reconstruction averaged over data elements by keras.losses.binary_crossentropy, KL summed."""
    import keras

    reconstruction = keras.losses.binary_crossentropy(o.rows(x), o.rows(x_recon))
    return o.mean(reconstruction + kl(o, mu, logvar))
