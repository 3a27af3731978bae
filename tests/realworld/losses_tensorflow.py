"""TensorFlow VAE losses re-expressed from public code (see corpus.py for each entry's claim).

Losses that live inside a model's train_step / call are written as functions of the tensors
the step computes (data, decoder output, z_mean, z_log_var, ...); nothing else is changed.
``tf.keras`` is TensorFlow's Keras (Keras 3 from TF 2.16 on).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow import keras


# tensorflow/docs site/en/tutorials/generative/cvae.ipynb, log_normal_pdf and compute_loss:
# the single-sample MC estimate -(log p(x|z) + log p(z) - log q(z|x)) with the z the model
# sampled. log2pi = tf.math.log(2. * np.pi) is a float32 tensor. compute_loss(model, x) calls
# the model; written here (unavoidably) as a function of what the model returns.
def log_normal_pdf(sample, mean, logvar, raxis=1):
    log2pi = tf.math.log(2. * np.pi)
    return tf.reduce_sum(
        -.5 * ((sample - mean) ** 2. * tf.exp(-logvar) + logvar + log2pi),
        axis=raxis)


def tf_docs_cvae_compute_loss(x, x_logit, z, mean, logvar):
    cross_ent = tf.nn.sigmoid_cross_entropy_with_logits(logits=x_logit, labels=x)
    logpx_z = -tf.reduce_sum(cross_ent, axis=[1, 2, 3])
    logpz = log_normal_pdf(z, 0., 0.)
    logqz_x = log_normal_pdf(z, mean, logvar)
    return -tf.reduce_mean(logpx_z + logpz - logqz_x)


# keras-team/keras-io examples/generative/vae.py (2020 tf.keras version), VAE.train_step:
# binary_crossentropy averages over the last (channel) axis, then the sum over axes (1, 2).
def keras_io_vae_train_step_loss(data, reconstruction, z_mean, z_log_var):
    reconstruction_loss = tf.reduce_mean(
        tf.reduce_sum(
            keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)
        )
    )
    kl_loss = -0.5 * (1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))
    kl_loss = tf.reduce_mean(tf.reduce_sum(kl_loss, axis=1))
    total_loss = reconstruction_loss + kl_loss
    return total_loss


# google-research/disentanglement_lib disentanglement_lib/methods/shared/losses.py
# (bernoulli_loss, activation="logits", subtract_true_image_entropy=False) and
# methods/unsupervised/vae.py (compute_gaussian_kl, BaseVAE.model_fn, BetaVAE.regularizer).
def _dlib_bernoulli_loss(true_images, reconstructed_images):
    flattened_dim = np.prod(true_images.get_shape().as_list()[1:])
    reconstructed_images = tf.reshape(reconstructed_images, shape=[-1, flattened_dim])
    true_images = tf.reshape(true_images, shape=[-1, flattened_dim])
    loss = tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(logits=reconstructed_images, labels=true_images),
        axis=1)
    return loss


def _dlib_compute_gaussian_kl(z_mean, z_logvar):
    return tf.reduce_mean(
        0.5 * tf.reduce_sum(tf.square(z_mean) + tf.exp(z_logvar) - z_logvar - 1, [1]),
        name="kl_loss")


def _dlib_model_fn_loss(features, reconstructions, z_mean, z_logvar, beta):
    per_sample_loss = _dlib_bernoulli_loss(features, reconstructions)
    reconstruction_loss = tf.reduce_mean(per_sample_loss)
    kl_loss = _dlib_compute_gaussian_kl(z_mean, z_logvar)
    regularizer = beta * kl_loss  # BetaVAE.regularizer
    return tf.add(reconstruction_loss, regularizer, name="loss")


# vae.beta = 1 (gin): the plain VAE of the unsupervised study.
def disentanglement_lib_vae_loss(features, reconstructions, z_mean, z_logvar):
    return _dlib_model_fn_loss(features, reconstructions, z_mean, z_logvar, beta=1.0)


# vae.beta = 4 (gin; the study sweeps beta in 1, 2, 4, 6, 8, 16).
def disentanglement_lib_beta_vae_loss(features, reconstructions, z_mean, z_logvar):
    return _dlib_model_fn_loss(features, reconstructions, z_mean, z_logvar, beta=4.0)


# tensorflow/docs site/en/guide/keras/custom_layers_and_models.ipynb (now keras-io
# guides/making_new_layers_and_models_via_subclassing.py), the end-to-end VAE: the KL added by
# add_loss is tf.reduce_mean over batch and latent; the loop adds it to MeanSquaredError().
_mse_loss_fn = tf.keras.losses.MeanSquaredError()


def tf_guide_subclassing_vae_loss(x_batch_train, reconstructed, z_mean, z_log_var):
    kl_loss = -0.5 * tf.reduce_mean(
        z_log_var - tf.square(z_mean) - tf.exp(z_log_var) + 1
    )
    loss = _mse_loss_fn(x_batch_train, reconstructed)
    loss += sum([kl_loss])  # sum(vae.losses)
    return loss


# wiseodd/generative-models VAE/vanilla_vae/vae_tensorflow.py, written for TF 0.x where the
# signature was sigmoid_cross_entropy_with_logits(logits, targets). Run as written under TF 2
# (signature (labels=None, logits=None)), the positional call binds labels=logits, logits=X.
def wiseodd_vae_tensorflow_loss(X, logits, z_mu, z_logvar):
    # E[log P(X|z)]
    recon_loss = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(logits, X), 1)
    # D_KL(Q(z|X) || P(z|X)); calculate in closed form as both dist. are Gaussian
    kl_loss = 0.5 * tf.reduce_sum(tf.exp(z_logvar) + z_mu**2 - 1. - z_logvar, 1)
    return tf.reduce_mean(recon_loss + kl_loss)


# Public GitHub file (a blog-style tf.keras VAE whose call() returns "mse_loss, kl_loss, ...",
# comment "compute the KL divergence"; the index does not name the repository): the KL line,
# per example, with the sign of -KL.
def blog_tf_kl(z_mean, z_log_var):
    kl_loss = 0.5 * tf.reduce_sum(1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var), axis=1)
    return kl_loss
