"""One framework's primitives behind one interface, so that a loss is written once for all five.

A loss written as ``fn(o, *inputs)`` calls only ``o.exp``, ``o.sum``, ``o.bce`` ... and plain
arithmetic; ``ops(framework)`` gives ``o`` for numpy, torch, tensorflow, jax or keras (keras.ops,
any backend), each field the framework's own function: ``o.bce`` is torch's
``F.binary_cross_entropy`` (which clamps log at -100 and raises outside [0, 1]), TensorFlow's
``o.bce_with_logits`` is ``tf.nn.sigmoid_cross_entropy_with_logits``, and so on, so a loss
computes what a user of that framework would write. :func:`bind` gives the loss as the user's
function ``fn(*inputs)``. A framework is imported only when its primitives are asked for.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class Ops:
    """One framework's element-wise functions, reductions and loss helpers.

    Reductions take ``axis`` (None: every axis; an int or a tuple) and ``keepdims``.
    ``rows(a)`` reshapes (B, ...) to (B, n). ``bce(p, x)`` is the element-wise Bernoulli NLL
    on probabilities, -(x log p + (1 - x) log(1 - p)); ``bce_with_logits(l, x)`` the same on
    logits, softplus(l) - x l. ``stop_gradient`` is None where there is no autodiff (numpy).
    """

    exp: object
    expm1: object
    log: object
    log1p: object
    tanh: object
    abs: object
    softplus: object
    sigmoid: object
    clip: object  # clip(a, low, high)
    where: object
    ones_like: object
    to_float32: object
    stop_gradient: object
    rows: object
    sum: object
    mean: object
    prod: object
    bce: object
    bce_with_logits: object


def bind(fn, framework: str):
    """``fn(o, *inputs)`` as the user's function ``f(*inputs)`` in ``framework``."""
    return functools.partial(fn, ops(framework))


@functools.cache
def ops(framework: str) -> Ops:
    """The primitives of ``framework`` (imported now)."""
    builders = {"numpy": _numpy, "torch": _torch, "tensorflow": _tensorflow, "jax": _jax, "keras": _keras}
    if framework not in builders:
        raise ValueError(f"no primitives for framework {framework!r}")
    return builders[framework]()


def _reductions(sum_, mean, prod):
    """(sum, mean, prod) taking ``(a, axis=None, keepdims=False)`` from functions of that signature."""
    return tuple(lambda a, axis=None, keepdims=False, fn=fn: fn(a, axis=axis, keepdims=keepdims)
                 for fn in (sum_, mean, prod))


def _numpy() -> Ops:
    import numpy as np

    def bce(p, x):
        return -(x * np.log(p) + (1 - x) * np.log1p(-p))

    def softplus(v):
        return np.logaddexp(v, 0)

    return Ops(np.exp, np.expm1, np.log, np.log1p, np.tanh, np.abs, softplus,
               lambda v: 1 / (1 + np.exp(-v)), np.clip, np.where, np.ones_like,
               lambda a: a.astype(np.float32), None, lambda a: a.reshape(a.shape[0], -1),
               *_reductions(np.sum, np.mean, np.prod), bce, lambda l, x: softplus(l) - x * l)


def _torch() -> Ops:
    import torch
    import torch.nn.functional as F

    def reduce(fn):
        return lambda a, axis=None, keepdims=False: fn(a) if axis is None else fn(a, dim=axis, keepdim=keepdims)

    return Ops(torch.exp, torch.expm1, torch.log, torch.log1p, torch.tanh, torch.abs,
               lambda v: torch.logaddexp(v, torch.zeros_like(v)), torch.sigmoid, torch.clamp,
               torch.where, torch.ones_like, lambda t: t.float(), lambda t: t.detach(),
               lambda t: t.reshape(t.shape[0], -1), reduce(torch.sum), reduce(torch.mean), reduce(torch.prod),
               lambda p, x: F.binary_cross_entropy(p, x, reduction="none"),
               lambda l, x: F.binary_cross_entropy_with_logits(l, x, reduction="none"))


def _tensorflow() -> Ops:
    import tensorflow as tf

    def bce(p, x):
        return -(x * tf.math.log(p) + (1 - x) * tf.math.log1p(-p))

    return Ops(tf.exp, tf.math.expm1, tf.math.log, tf.math.log1p, tf.tanh, tf.abs,
               tf.math.softplus, tf.sigmoid, tf.clip_by_value, tf.where, tf.ones_like,
               lambda t: tf.cast(t, tf.float32), tf.stop_gradient,
               lambda t: tf.reshape(t, (tf.shape(t)[0], -1)),
               *_reductions(tf.reduce_sum, tf.reduce_mean, tf.reduce_prod), bce,
               lambda l, x: tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=l))


def _jax() -> Ops:
    import jax
    import jax.numpy as jnp

    def bce(p, x):
        return -(x * jnp.log(p) + (1 - x) * jnp.log1p(-p))

    def softplus(v):
        return jnp.logaddexp(v, 0)

    return Ops(jnp.exp, jnp.expm1, jnp.log, jnp.log1p, jnp.tanh, jnp.abs, softplus, jax.nn.sigmoid,
               jnp.clip, jnp.where, jnp.ones_like, lambda a: a.astype(jnp.float32),
               jax.lax.stop_gradient, lambda a: a.reshape(a.shape[0], -1),
               *_reductions(jnp.sum, jnp.mean, jnp.prod), bce, lambda l, x: softplus(l) - x * l)


def _keras() -> Ops:
    from keras import ops as k

    def bce(p, x):
        return -(x * k.log(p) + (1 - x) * k.log1p(-p))

    # keras.ops.softplus, not logaddexp(v, 0): under TensorFlow, keras.ops.logaddexp's
    # gradient at v = 0 is 1 (max's), not sigmoid(0) = 1/2
    return Ops(k.exp, k.expm1, k.log, k.log1p, k.tanh, k.abs, k.softplus, k.sigmoid, k.clip,
               k.where, k.ones_like, lambda t: k.cast(t, "float32"), k.stop_gradient,
               lambda t: k.reshape(t, (k.shape(t)[0], -1)),
               *_reductions(k.sum, k.mean, k.prod), bce, lambda l, x: k.softplus(l) - x * l)
