"""The three Keras/TensorFlow VAE losses of the article "Why isn't the variational autoencoder
loss showing correctly?" (2025), as printed there, each taking (x, x_decoded_mean, z_mean,
z_log_var) and returning Keras's per-example loss vector plus a KL scalar.

The article calls Example 1 correct. Against the ELBO with a unit-variance Gaussian decoder,
reduced per example (Keras averages the returned vector over the batch), all three depart:

* Example 1: ``keras.losses.mse`` averages the squared error over the data elements, and
  ``tf.reduce_mean`` averages the KL over the batch *and* the latent dimensions, so each
  example carries the batch's mean KL per latent dimension;
* Example 2: the same, with the KL further multiplied by 0.01;
* Example 3: ``tf.reduce_sum`` sums the KL over the batch and the latent dimensions, so every
  example carries the whole batch's KL and the loss grows with the batch size.
"""

import tensorflow as tf
from tensorflow import keras


def example1_vae_loss(x, x_decoded_mean, z_mean, z_log_var):
    """Example 1 ("Correct Implementation")."""
    xent_loss = keras.losses.mse(x, x_decoded_mean)
    kl_loss = -0.5 * tf.reduce_mean(1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))
    return xent_loss + kl_loss


def example2_vae_loss_incorrect(x, x_decoded_mean, z_mean, z_log_var):
    """Example 2 ("Incorrect Scaling"): the KL times 0.01."""
    xent_loss = keras.losses.mse(x, x_decoded_mean)
    kl_loss = -0.5 * tf.reduce_mean(1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var)) * 0.01
    return xent_loss + kl_loss


def example3_vae_loss_dimension_error(x, x_decoded_mean, z_mean, z_log_var):
    """Example 3 ("Dimensionality Error"): the KL summed over every element."""
    xent_loss = keras.losses.mse(x, x_decoded_mean)
    kl_loss = -0.5 * tf.reduce_sum(1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))
    return xent_loss + kl_loss
