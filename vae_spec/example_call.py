"""A target from one real call: ``Target.from_example(fn, recon_x=t1, x=t2, mu=t3, logvar=t4)``.

From the user's own tensors this infers the framework (the tensors' library), each
parameter's canonical role (from its name: ``recon_x``, ``x_hat`` and ``logits`` are
``x_recon``; ``z_mean`` is ``mu``; ``log_var`` is ``logvar``; ``log_std`` is ``logstd``; ...),
the term (from the roles present), the shapes (the tensors' trailing shapes, declared; the
data's is the decoder output's, to which ``x.view(-1, 784)`` reshapes the data), the
device, and keeps the values themselves as one case that every check runs on. Tensors are
given by the function's parameter names, by canonical names, or positionally in the
function's parameter order; a role that cannot be told, or that two parameters share, is a
TargetError that says how to declare it.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import numpy as np

from . import calls

#: parameter names people give each canonical input (lower case)
ROLE_NAMES = {
    "x": ("x", "inputs", "input", "data", "target", "targets", "x_true", "y_true", "images", "image",
          "imgs", "img", "batch", "x_in", "x_input", "original", "orig", "x_orig", "real", "x_real"),
    "x_recon": ("x_recon", "recon_x", "x_hat", "xhat", "recon", "recons", "reconstruction",
                "reconstructions", "x_rec", "x_reconstructed", "recon_batch", "x_decoded",
                "x_decoded_mean", "decoded", "logits", "x_logits", "recon_logits", "probs",
                "x_probs", "y_pred", "pred", "preds", "prediction", "output", "outputs", "x_mean",
                "x_prime", "x_tilde", "out", "decoder_output"),
    "mu": ("mu", "z_mean", "z_mu", "mu_z", "mean", "means", "loc", "z_loc", "q_mu", "mu_q",
           "posterior_mean", "enc_mu", "latent_mean"),
    "logvar": ("logvar", "log_var", "z_log_var", "z_logvar", "log_variance", "logvariance", "lv",
               "log_sigma2", "logsigma2", "log_sigma_sq", "log_var_z", "logvar_z", "z_log_variance",
               "latent_logvar"),
    "logstd": ("logstd", "log_std", "log_sigma", "logsigma", "z_log_sigma", "z_log_std",
               "log_scale", "logscale", "z_logstd"),
    "std": ("std", "sigma", "z_std", "z_sigma", "stddev", "scale", "z_scale", "sd"),
    "var": ("var", "variance", "sigma2", "sigma_sq", "z_var", "sigma_squared"),
    "z": ("z", "z_sample", "sample", "latent", "latents"),
    "eps": ("eps", "epsilon", "noise"),
    "prior_mu": ("prior_mu", "p_mu", "mu_p", "prior_mean"),
    "prior_logvar": ("prior_logvar", "p_logvar", "logvar_p", "prior_log_var"),
    "dec_logvar": ("dec_logvar", "x_logvar", "recon_logvar", "decoder_logvar", "log_var_x"),
    "dec_logscale": ("dec_logscale", "x_logscale", "recon_logscale", "decoder_logscale"),
}
_ROLE_OF = {name: role for role, names in ROLE_NAMES.items() for name in names}
#: the framework each tensor library's module names
_FRAMEWORKS = {"torch": "torch", "tensorflow": "tensorflow", "keras": "tensorflow", "jax": "jax",
               "jaxlib": "jax", "numpy": "numpy"}
_TERMS = (  # the term a set of roles computes, most specific first
    ({"x", "x_recon", "mu"}, "loss"), ({"x", "x_recon"}, "reconstruction"), ({"mu"}, "kl"),
)


@dataclass(frozen=True)
class Example:
    """One real call's inputs (float64 numpy, by canonical name) and their dtype."""

    inputs: dict
    dtype: str

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.inputs.items())
        return f"Example({shapes}, {self.dtype})"


def role_of(parameter: str) -> str | None:
    """The canonical input a parameter name stands for, or None."""
    return _ROLE_OF.get(parameter.lower())


def framework_of_tensor(value) -> str:
    """numpy, torch, tensorflow or jax, from the library that made ``value``."""
    root = type(value).__module__.split(".")[0]
    if root not in _FRAMEWORKS:
        raise ValueError(f"cannot tell the framework of a {type(value).__module__}.{type(value).__name__}; "
                         "pass framework=")
    return _FRAMEWORKS[root]


def bind_roles(fn, tensors: tuple, named: dict, args=None):
    """(args, {canonical name: tensor}) for one call of ``fn`` with these tensors."""
    from .target import CANONICAL_ARGS, TargetError

    if args is not None:
        canonical = calls.leaves(calls.normalize(args, lambda n: n in CANONICAL_ARGS))
        if tensors:
            if len(tensors) != len(canonical):
                raise TargetError(f"example: {len(tensors)} tensors for the {len(canonical)} inputs args names")
            named = {**dict(zip(canonical, tensors)), **named}
        unknown = sorted(set(named) - set(canonical))
        missing = [n for n in canonical if n not in named]
        if unknown or missing:
            raise TargetError(f"example: with args given, pass one tensor per canonical name it binds "
                              f"({', '.join(canonical)}); " + (f"unexpected {', '.join(unknown)}" if unknown
                                                              else f"missing {', '.join(missing)}"))
        return args, named
    parameters = _parameters(fn)
    by_parameter = dict(zip(parameters, tensors))
    if len(tensors) > len(parameters):
        raise TargetError(f"example: {len(tensors)} positional tensors for {len(parameters)} parameters")
    roles = {p: role_of(p) or (p if p in CANONICAL_ARGS else None) for p in parameters}
    for key, value in named.items():
        if key in parameters:
            by_parameter[key] = value
        elif key in CANONICAL_ARGS:
            holders = [p for p, r in roles.items() if r == key]
            if len(holders) != 1:
                raise TargetError(f"example: no parameter of {calls.readable_name(fn)} reads as {key!r} "
                                  f"(its parameters: {', '.join(parameters)}); pass the tensors by "
                                  "parameter name, or args=")
            by_parameter[holders[0]] = value
        else:
            raise TargetError(f"example: {calls.readable_name(fn)} has no parameter {key!r} "
                              f"(its parameters: {', '.join(parameters)})")
    order = [p for p in parameters if p in by_parameter]
    unknown = [p for p in order if roles[p] is None]
    if unknown:
        raise TargetError(f"example: cannot tell which input {', '.join(map(repr, unknown))} is; pass "
                          "args={" + ", ".join(f"'{p}': '<canonical name>'" for p in order) + "} "
                          f"with canonical names among {', '.join(CANONICAL_ARGS)}")
    seen = {}
    for p in order:
        if roles[p] in seen:
            raise TargetError(f"example: both {seen[roles[p]]!r} and {p!r} read as {roles[p]!r}; pass args= "
                              "to say which is which")
        seen[roles[p]] = p
    positional = order == parameters[:len(order)]
    args = tuple(roles[p] for p in order) if positional else {p: roles[p] for p in order}
    return args, {roles[p]: by_parameter[p] for p in order}


def roles_from_signature(fn) -> tuple[str, ...] | None:
    """The canonical names of ``fn``'s required parameters, read from their names, when every
    one reads as a distinct role; None otherwise."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    required = [p.name for p in signature.parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    roles = tuple(role_of(p) for p in required)
    if not roles or None in roles or len(set(roles)) != len(roles):
        return None
    return roles


def _parameters(fn) -> list[str]:
    from .target import TargetError

    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        raise TargetError(f"example: {calls.readable_name(fn)} has no signature to read the roles "
                          "from; pass args=") from None
    return [p.name for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def from_example(fn, tensors: tuple, named: dict, **declared):
    """The Target of one real call (see the module docstring); ``declared`` are Target keywords."""
    from .frameworks.base import get_adapter
    from .target import Target, TargetError

    args, by_role = bind_roles(fn, tensors, named, declared.pop("args", None))
    arrays = {name: value for name, value in by_role.items() if name != "key"}
    if not arrays:
        raise TargetError("example: no tensor given")
    first = next(iter(arrays.values()))
    try:
        framework = declared.pop("framework", None) or framework_of_tensor(first)
    except ValueError as exc:
        raise TargetError(f"example: {exc}") from None
    adapter = get_adapter(framework)
    inputs = {name: np.asarray(adapter.to_numpy(value), dtype=np.float64) for name, value in arrays.items()}
    dtype = adapter.dtype_name(first)
    term = declared.pop("term", None) or next(
        (t for roles, t in _TERMS if roles <= set(inputs)), "loss")
    shapes = {}
    data = [name for name in ("x_recon", "x", "dec_logvar", "dec_logscale") if name in inputs]
    if data:
        # the decoder's output shape is the one the loss computes in (x.view(-1, 784) reshapes
        # the data to it), unless one is declared; every data-shaped input must hold as many
        # elements per example
        first = inputs[data[0]]
        shape = (first.shape[0], *declared["data_shape"]) if declared.get("data_shape") else first.shape
        for name in data:
            if inputs[name].size != math.prod(shape):
                raise TargetError(f"example: {name}{inputs[name].shape} does not hold the "
                                  f"{math.prod(shape[1:])} elements per example of the data shape {shape[1:]}")
            inputs[name] = inputs[name].reshape(shape)
        if "data_shape" not in declared:
            shapes["data_shape"] = shape[1:] or None
    if "mu" in inputs and "latent_shape" not in declared:
        shapes["latent_shape"] = inputs["mu"].shape[1:] or None
    device = declared.pop("device", None) or _device(first)
    target = Target(fn, framework=framework, term=term, args=args, device=device,
                    example=Example(inputs, dtype), **shapes, **declared)
    return target


def _device(value) -> str | None:
    """The device a tensor lives on, where it is not the CPU."""
    kind = getattr(getattr(value, "device", None), "type", None)  # torch
    return kind if kind not in (None, "cpu") else None
