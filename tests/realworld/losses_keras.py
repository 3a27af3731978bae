"""Keras VAE losses re-expressed from public code with keras.ops (Keras 3, any backend).

The Keras 1/2 sources wrote ``K.sum``/``K.exp``/``K.square``/``K.mean`` (keras.backend) and
``objectives.binary_crossentropy``/``metrics.binary_crossentropy`` (now
``keras.losses.binary_crossentropy``, a mean over the last axis); those are written with
``keras.ops``. Their losses read z_mean and z_log_var from the enclosing graph (a closure
over symbolic tensors, or add_loss); here they are parameters, unavoidably.
"""

from __future__ import annotations

import keras
from keras import ops


# keras-team/keras-io examples/generative/vae.py (Keras 3 version), VAE.train_step.
def keras_io_vae_train_step_loss(data, reconstruction, z_mean, z_log_var):
    reconstruction_loss = ops.mean(
        ops.sum(
            keras.losses.binary_crossentropy(data, reconstruction),
            axis=(1, 2),
        )
    )
    kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
    kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
    total_loss = reconstruction_loss + kl_loss
    return total_loss


# keras-team/keras examples/variational_autoencoder.py, first version (2016, commit 05e727f):
# vae_loss(x, x_decoded_mean) compiled as the model loss, one value per example; the
# cross-entropy is the mean over the 784 pixels, the KL a sum over latents.
def keras_example_vae_loss_2016(x, x_decoded_mean, z_mean, z_log_var):
    xent_loss = keras.losses.binary_crossentropy(x, x_decoded_mean)
    kl_loss = - 0.5 * ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)
    return xent_loss + kl_loss


# keras-team/keras examples/variational_autoencoder.py, mid-2016 revision (as in the cnvrg/keras
# fork): the cross-entropy mean times original_dim = 784, one value per example.
original_dim = 784


def keras_example_vae_loss_original_dim(x, x_decoded_mean, z_mean, z_log_var):
    xent_loss = original_dim * keras.losses.binary_crossentropy(x, x_decoded_mean)
    kl_loss = - 0.5 * ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)
    return xent_loss + kl_loss


# keras-team/keras examples/variational_autoencoder.py, 2018 revision with --mse: mse(inputs,
# outputs) * original_dim, the KL summed over latents, K.mean over the batch, vae.add_loss.
def keras_example_vae_mse_add_loss(inputs, outputs, z_mean, z_log_var):
    reconstruction_loss = keras.losses.mean_squared_error(inputs, outputs)
    reconstruction_loss *= original_dim
    kl_loss = 1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)
    kl_loss = ops.sum(kl_loss, axis=-1)
    kl_loss *= -0.5
    vae_loss = ops.mean(reconstruction_loss + kl_loss)
    return vae_loss


# blog.keras.io/building-autoencoders-in-keras.html (F. Chollet), the VAE section: sampling is
# z_mean + K.exp(z_log_sigma) * epsilon (a log-std), but the KL treats z_log_sigma as a
# log-variance.
def keras_blog_vae_loss(inputs, outputs, z_mean, z_log_sigma):
    reconstruction_loss = keras.losses.binary_crossentropy(inputs, outputs)
    reconstruction_loss *= original_dim
    kl_loss = 1 + z_log_sigma - ops.square(z_mean) - ops.exp(z_log_sigma)
    kl_loss = ops.sum(kl_loss, axis=-1)
    kl_loss *= -0.5
    vae_loss = ops.mean(reconstruction_loss + kl_loss)
    return vae_loss
