"""The mutation corpus: buggy VAE losses the suite must catch, and correct ones it must pass.

Each :class:`Entry` names a function by ``module:function`` (so importing this module imports
no framework), the claim it is declared with (the keyword arguments of
:class:`~vae_spec.Target`, the convention as a dict), and, for a mutant, the finding codes
that name its bug: it is caught when a failing check's code is among them. The codes are the
specific ones wherever the departure has a name (``kl-scaled``, ``kl-param-logstd``, ...);
the generic ``kl-formula`` / ``recon-formula`` are expected only for a formula no rule names.
Where :func:`~vae_spec.diagnose` reads the term, it must name the departure with one of the
same codes. Correct variants must pass every check and, where the term is a loss, diagnose as
the ELBO.

Classes 1-20 are the issue's list; ``extra`` marks other common mistakes. Two classes cannot
exist in some frameworks, and :data:`NOT_APPLICABLE` says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax", "keras")
KINDS = ("mutant", "correct")
_CORE = ("numpy", "torch", "tensorflow")
_ALL = FRAMEWORKS

#: (class, framework) pairs with no mutant, and why
NOT_APPLICABLE = {
    ("14", "numpy"): "numpy has no automatic differentiation: a detached input or a clamp's zero "
                     "gradient does not exist there (the gradient check is skipped for numpy)",
    ("16", "tensorflow"): "TensorFlow tensors are immutable: a loss cannot modify its inputs in place",
    ("16", "jax"): "jax arrays are immutable: a loss cannot modify its inputs in place",
    ("16", "keras"): "keras.ops has no in-place operations",
}

_LOSS_ARGS = ("x_recon", "x", "mu", "logvar")


@dataclass(frozen=True)
class Entry:
    """One corpus function with its declared claim and, for a mutant, the codes that catch it."""

    name: str
    cls: str
    framework: str
    target: str
    kwargs: dict = field(hash=False, compare=False)
    expected_codes: tuple[str, ...] = ()
    kind: str = "mutant"
    about: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.framework}-{self.name}"

    def load(self):
        """The :class:`~vae_spec.Target` this entry declares (imports its framework)."""
        from ..spec.objective import Convention
        from ..target import Target, load_callable

        kwargs = dict(self.kwargs)
        kwargs["convention"] = Convention(**kwargs.get("convention", {}))
        return Target(load_callable(self.target), framework=self.framework, name=self.target, **kwargs)


def _claim(term="loss", args=_LOSS_ARGS, likelihood="bernoulli-probs", **rest) -> dict:
    claim = {"term": term, "args": tuple(args), "convention": rest.pop("convention", {})}
    if term != "kl":
        claim["likelihood"] = likelihood
    claim.update(rest)
    return claim


_KL = {"term": "kl", "args": ("mu", "logvar")}
_LOGITS = {"likelihood": "bernoulli-logits"}
_LEARNED_GAUSSIAN = {"likelihood": "gaussian-learned", "args": _LOSS_ARGS + ("dec_logvar",)}
_PRIOR = {"args": _LOSS_ARGS + ("prior_mu", "prior_logvar")}
_FLOAT16 = {"dtypes": ("float16",), "latent_shape": (32,)}

# (function, class, claim, expected codes, frameworks, what the bug is); codes per framework
# where they differ are given as a dict {framework: codes}
_MUTANTS = (
    ("kl_latent_mean", "1", {}, ("kl-latent-mean",), _ALL,
     "KL averaged over every element (the seed article's Example 1)"),
    ("kl_scaled_0_01", "2", {}, ("kl-scaled",), _ALL, "KL times a hidden 0.01"),
    ("kl_scaled_0_1", "2", {}, ("kl-scaled",), _CORE, "KL times a hidden 0.1"),
    ("kl_scaled_1e_4", "2", {}, ("kl-scaled",), _CORE, "KL times a hidden 1e-4"),
    ("kl_batch_sum", "3", {}, ("batch-mismatch",), _ALL,
     "KL summed over the batch, reconstruction averaged (the article's Example 3)"),
    ("recon_data_mean", "4", {}, ("recon-data-mean",), _ALL,
     "reconstruction averaged over data elements, KL summed"),
    ("logvar_read_as_logstd", "5", _KL, ("kl-param-logstd",), _ALL,
     "log-variance used as log-std: sigma^2 = exp(2 lv)"),
    ("logstd_read_as_logvar", "5", {"term": "kl", "args": ("mu", "logstd")},
     ("kl-param-logvar",), _CORE, "log-std used as log-variance: sigma^2 = exp(ls)"),
    ("std_read_as_var", "6", {"term": "kl", "args": ("mu", "std")}, ("kl-param-var",),
     _CORE, "std used where the variance belongs"),
    ("var_read_as_std", "6", {"term": "kl", "args": ("mu", "var")}, ("kl-param-std",),
     _CORE, "variance used where the std belongs"),
    ("kl_missing_half", "7", _KL, ("kl-missing-half",), _ALL, "KL without its 1/2"),
    ("kl_extra_half", "7", _KL, ("kl-scaled",), _CORE, "KL with an extra 1/2"),
    ("kl_sign_flipped", "8", {}, ("kl-sign",), _ALL, "KL subtracted"),
    ("kl_negated_twice", "8", {}, ("kl-sign",), _CORE,
     "the textbook KL (already positive) negated again"),
    ("double_sigmoid", "9", _LOGITS, ("recon-formula",), _ALL,
     "logits passed through a sigmoid, then to the logits form"),
    ("logits_form_on_probs", "9", {}, ("recon-param",), _CORE,
     "probabilities given to the logits form"),
    ("gaussian_divides_by_sigma", "10", _LEARNED_GAUSSIAN, ("recon-formula",), _CORE,
     "Gaussian NLL divided by sigma instead of sigma^2"),
    ("gaussian_learned_no_log_term", "10", _LEARNED_GAUSSIAN, ("recon-formula",), _CORE,
     "learned decoder variance without its log term"),
    ("kl_sum_over_batch_axis", "11", {}, ("batch-mismatch", "kl-latent-mean"), _ALL,
     "KL summed over the batch axis instead of the latent axis"),
    ("broadcast_b1_against_b", "12", {"convention": {"batch": "sum"}}, ("batch-mismatch",),
     _CORE + ("jax",), "(B, 1) reconstruction + (B,) KL broadcast to (B, B), then summed"),
    ("hardcoded_batch_size", "13", {}, ("batch-sum",), _CORE,
     "batch sum / 128 where the claim averages over the batch"),
    ("hardcoded_data_size", "13", {}, ("recon-data-mean",), _CORE,
     "element-mean reconstruction times 784"),
    ("detached_logvar", "14", {}, ("gradient",), ("torch", "tensorflow", "jax", "keras"),
     "logvar detached (stop_gradient) inside the KL: value right, gradient wrong"),
    ("detached_mu", "14", {}, ("gradient",), ("torch", "tensorflow", "jax"),
     "mu detached (stop_gradient) inside the KL"),
    ("clamped_logvar", "14", {}, ("gradient", "kl-formula"), ("torch", "tensorflow", "jax", "keras"),
     "logvar clamped to [-2.5, 2.5]: zero gradient (and a wrong KL) for |lv| > 2.5"),
    ("float16_logdet_overflow", "15", _FLOAT16, ("nonfinite",), _CORE,
     "log det as log(prod exp(lv)): the product overflows float16 where the KL is small"),
    ("float16_logstd_underflow", "15", _FLOAT16, ("nonfinite", "kl-formula"), _CORE,
     "sum log sigma as log(prod exp(lv/2)): the product underflows float16"),
    ("logvar_modified_in_place", "16", {}, ("input-mutated",), ("numpy", "torch"),
     "exp computed in place into logvar"),
    ("fixed_prior", "17", _PRIOR, ("kl-formula",), _ALL,
     "KL against N(0, I) where a learned diagonal prior is declared"),
    ("beta_on_reconstruction", "18", {"convention": {"beta": 4.0}}, ("kl-scaled",),
     _CORE, "beta = 4 applied to the reconstruction instead of the KL"),
    # the clamp changes the value only for |logit| > 16.6 opposite the target, and zeroes the
    # gradient there (the true one is +-1): where autodiff exists either names the bug
    ("clamped_probs_for_logits", "19", _LOGITS,
     {"numpy": ("recon-formula",), **dict.fromkeys(_ALL[1:], ("recon-formula", "gradient"))}, _ALL,
     "sigmoid probabilities clamped at 1e-7 where the exact logits form is claimed"),
    ("per_example_for_scalar", "20", {}, ("shape",), _CORE + ("jax",),
     "per-example vector returned where a scalar is declared"),
    ("scalar_for_per_example", "20", {"convention": {"batch": "none"}}, ("shape",), _ALL,
     "scalar returned where per-example losses are declared"),
    ("kl_mu_not_squared", "extra", _KL, ("kl-formula",), _CORE, "mu instead of mu^2 in the KL"),
    ("kl_log_std_for_log_var", "extra", _KL, ("kl-formula",), _CORE,
     "log sigma where log sigma^2 belongs in the KL"),
    ("kl_plus_one", "extra", _KL, ("kl-formula",), _CORE, "+1 instead of -1 in the KL"),
    ("logvar_squared_for_variance", "extra", _KL, ("kl-formula",), _CORE,
     "logvar**2 where exp(logvar) belongs"),
    ("reversed_kl", "extra", _KL, ("kl-formula",), _CORE, "KL(p || q) instead of KL(q || p)"),
    ("conv_latent_wrong_axis", "extra", {"latent_shape": (2, 3, 3)},
     ("kl-scaled", "kl-latent-mean"), _CORE,
     "(C, H, W) latent: KL summed over channels only, averaged over H and W"),
    ("bce_on_logits", "extra", _LOGITS,
     {"numpy": ("nonfinite", "recon-param", "recon-formula"),
      "torch": ("raised", "recon-param", "recon-formula"),
      "tensorflow": ("nonfinite", "recon-param", "recon-formula")}, _CORE,
     "the probability BCE applied to logits, no sigmoid"),
    ("bce_mean_kl_sum", "extra", {}, ("recon-data-mean", "batch-mismatch"), _CORE,
     "BCE with reduction='mean' plus a KL summed over batch and latent"),
    ("bce_arguments_swapped", "extra", {}, ("recon-formula", "nonfinite"), _CORE,
     "the BCE's prediction and target swapped"),
    ("reconstruction_sign", "extra", {}, ("recon-formula",), _CORE,
     "log-likelihood added instead of its negative"),
)

# (function, claim, frameworks, what it shows)
_CORRECT = (
    ("textbook", {}, _ALL, "textbook KL and Bernoulli on probabilities, batch mean"),
    ("stable_logits", _LOGITS, _ALL, "Bernoulli on logits via softplus, KL via expm1"),
    ("float16_upcast", {"dtypes": ("float16",), "latent_shape": (32,)}, _CORE + ("jax",),
     "float16 inputs computed in float32"),
    ("logstd_posterior", {"args": ("x_recon", "x", "mu", "logstd")}, _ALL,
     "log-std encoder, declared"),
    ("std_posterior", {"args": ("x_recon", "x", "mu", "std")}, _CORE, "std encoder, declared"),
    ("var_posterior", {"args": ("x_recon", "x", "mu", "var")}, _CORE, "variance encoder, declared"),
    ("batch_sum", {"convention": {"batch": "sum"}}, _ALL, "everything summed, batch='sum' declared"),
    ("beta_declared", {"convention": {"beta": 4.0}}, _ALL, "beta = 4 on the KL, declared"),
    ("gaussian_constants_dropped", {"likelihood": "gaussian", "convention": {"constants": False}},
     _CORE, "unit-variance Gaussian without its constants, declared"),
    ("gaussian_learned", _LEARNED_GAUSSIAN, _CORE, "Gaussian with a learned decoder log-variance"),
    ("learned_prior", _PRIOR, _CORE + ("jax",), "KL against a learned diagonal prior"),
    ("per_example", {"convention": {"batch": "none"}}, _ALL, "one loss per example, batch='none'"),
    ("kl_term", _KL, _CORE, "the KL term alone"),
)


def _module(kind: str, framework: str) -> str:
    prefix = "mutants" if kind == "mutant" else "correct"
    return f"vae_spec.selftest.{prefix}_{framework}"


def _build() -> tuple[Entry, ...]:
    entries = []
    for function, cls, claim, codes, frameworks, about in _MUTANTS:
        for framework in frameworks:
            expected = codes[framework] if isinstance(codes, dict) else codes
            entries.append(Entry(function, cls, framework, f"{_module('mutant', framework)}:{function}",
                                 _claim(**claim), tuple(expected), "mutant", about))
    for function, claim, frameworks, about in _CORRECT:
        for framework in frameworks:
            entries.append(Entry(function, "correct", framework,
                                 f"{_module('correct', framework)}:{function}",
                                 _claim(**claim), (), "correct", about))
    return tuple(entries)


ENTRIES: tuple[Entry, ...] = _build()


def entries(kind: str | None = None, frameworks=None) -> list[Entry]:
    """The corpus entries of one kind (both when None), restricted to ``frameworks``."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    if frameworks is not None:
        unknown = [f for f in frameworks if f not in FRAMEWORKS]
        if unknown:
            raise ValueError(f"frameworks: unknown framework(s) {', '.join(unknown)}; expected any of "
                             f"{', '.join(FRAMEWORKS)}")
    return [e for e in ENTRIES
            if (kind is None or e.kind == kind) and (frameworks is None or e.framework in frameworks)]
