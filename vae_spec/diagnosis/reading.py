"""A fitted form read as a claim: the weights in the likelihood's natural units.

The fit gives loss = a R + b K + (constants) with R the likelihood's natural element term
reduced as the form says and K the KL (:mod:`vae_spec.fitting`). Under a Convention,

    loss = scale * reduce_batch( reduce_data NLL + beta * reduce_latent KL ),

so for Bernoulli-type likelihoods scale = a and beta = b / a. A Gaussian's NLL per element is
(x - m)^2 / (2 V) (+ 1/2 log 2 pi V), so a = scale / (2 V) and b = scale * beta: three
unknowns for two weights. The declared variance fixes the gauge where there is one; otherwise,
for sums over data and latent (an ELBO for any a, b > 0), beta is taken as the reference's
(1 for the ELBO) and V = b / (2 a beta) is the variance the loss implies; for a mean over
either (no ELBO), the weights are read as written: scale 1, V = 1 / (2a), beta = b. A Laplace
with scale S has a = scale / S in the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .. import fitting, tolerance
from ..claims import Claim, not_elbo_codes
from ..spec.likelihoods import parse_likelihood
from ..spec.objective import Convention

#: least squares moves the coefficients by at most cond(A) times the relative error of the
#: data (the unit roundoff u, or the fit's own relative residual where the loss is only
#: approximately a form), and the probe design keeps cond(A) <= 1e3 (fitting's docstring).
#: A loss probed in float64 may still carry float32 constants (a float32 log 2, a float32
#: weight), so u is never taken below float32's: weights are read to about 6e-5.
CONDITION = 1e3

# the normalizing constant per data element of each likelihood with constants, given its parameter
_CONSTANT = {
    "gaussian": lambda v: 0.5 * math.log(2 * math.pi * v),
    "laplace": lambda s: math.log(2 * s),
    "gaussian-learned": lambda _: 0.5 * math.log(2 * math.pi),
    "laplace-learned": lambda _: math.log(2.0),
}


@dataclass(frozen=True)
class Reading:
    """The best form with its weights; every weight is in the units of the form's reductions."""

    form: fitting.Form
    fit: fitting.Fit
    a: float  # the reconstruction's weight
    b: float  # the KL's weight
    dtype: str
    constants: str  # "kept", "dropped", "none" (no likelihood constants) or "other"
    constant_words: str = ""  # what the constant is, when "other"

    @property
    def has_recon(self) -> bool:
        return self.form.likelihood is not None

    @property
    def keeps_constants(self) -> bool | None:
        """True when the loss keeps its likelihood's normalizing constants, False when it drops
        them (or adds some other constant), None when the likelihood has none to keep (Bernoulli)
        or there is no reconstruction."""
        if not self.has_recon or self.form.likelihood not in _CONSTANT:
            return None
        return self.constants == "kept"

    @property
    def has_kl(self) -> bool:
        return self.form.kl_param is not None

    @property
    def batch(self) -> str | None:
        """The batch reduction both terms share, or None when they differ."""
        present = [x for x in (self.form.batch_recon, self.form.batch_kl) if x is not None]
        return present[0] if len(set(present)) == 1 else None

    @property
    def accuracy(self) -> float:
        """The relative accuracy of the fitted weights."""
        return CONDITION * max(tolerance.UNIT_ROUNDOFF[self.dtype], tolerance.UNIT_ROUNDOFF["float32"],
                               self.fit.relative_residual)

    def close(self, x: float, y: float) -> bool:
        return abs(x - y) <= self.accuracy * max(abs(x), abs(y), 1e-300)

    def weights(self, likelihood: str | None, beta: float):
        """(scale, beta, parameter): the Convention's weights, and the Gaussian variance or
        Laplace scale, in the gauge the declared ``likelihood`` fixes, else at ``beta``."""
        a, b = self.a, self.b
        family = self.form.likelihood
        if family in ("gaussian", "laplace"):
            declared = parse_likelihood(likelihood) if likelihood else None
            fixed = None
            if declared is not None and declared.family == family and declared.learned is None:
                fixed = declared.variance if family == "gaussian" else declared.scale
            factor = 2.0 if family == "gaussian" else 1.0  # a = scale / (factor * parameter)
            if fixed is not None:
                scale = a * factor * fixed
                return scale, (b / scale if self.has_kl else 1.0), fixed
            if self.has_kl:
                if a <= 0 or b <= 0:
                    return None, None, None
                if self.form.data == "sum" and self.form.latent == "sum":
                    scale = b / beta  # an ELBO: the KL's weight is the implied variance's
                    return scale, beta, scale / (factor * a)
                return 1.0, b, 1.0 / (factor * a)  # not one: the loss's own weights, read as written
            return 1.0, 1.0, (1.0 / (factor * a) if a > 0 else None)
        if self.has_recon:
            return a, (b / a if self.has_kl and a != 0 else 1.0), None
        return b, 1.0, None

    def likelihood_name(self, parameter) -> str | None:
        family = self.form.likelihood
        if family == "gaussian":
            return "gaussian" if parameter == 1.0 else f"gaussian:var={parameter!r}"
        if family == "laplace":
            return "laplace" if parameter == 1.0 else f"laplace:scale={parameter!r}"
        return family

    def unclaimable(self, target) -> str | None:
        """Why no Convention states this form exactly, or None."""
        form = self.form
        if self.has_kl and form.prior == "standard":
            return "its KL ignores the declared prior"
        if self.has_kl and self.b < 0:
            return "its KL enters with a negative weight"
        if self.has_recon and self.a < 0:
            return "its reconstruction enters with a negative weight"
        if self.has_kl and offset_per_latent(self):
            return f"its KL is off by {self.fit.per_latent:.4g} per latent dimension"
        if self.constants == "other":
            return f"it adds {self.constant_words}, which no likelihood's normalizer gives"
        return None

    def claim(self, target, layout, reference: Convention) -> tuple[Claim | None, str | None]:
        """(the claim under which the loss conforms, None) or (None, why there is none)."""
        why = self.unclaimable(target)
        if why:
            return None, why
        scale, beta, parameter = self.weights(target.likelihood, reference.beta)
        if scale is None:
            return None, "its weights have no positive reading"
        scale, beta = simplest(scale, self.accuracy), simplest(beta, self.accuracy)
        if parameter is not None:
            parameter = simplest(parameter, self.accuracy)
        likelihood = self.likelihood_name(parameter) if self.has_recon else target.likelihood
        args = target.args
        posterior = target.posterior
        if self.has_kl and self.form.kl_param != target.posterior:
            posterior = self.form.kl_param
            args = _renamed(args, target.posterior, posterior)
        convention = Convention(
            data=self.form.data or reference.data, latent=self.form.latent or reference.latent,
            batch=self.form.batch_recon or self.form.batch_kl or reference.batch,
            kl_batch=self.form.batch_kl if self.has_recon else None,
            beta=beta if self.has_recon and self.has_kl else reference.beta,
            scale=scale, constants=self.constants != "dropped" if self.constants != "none" else reference.constants,
        )
        claim = Claim(
            framework=target.framework, term=target.term, args=args, likelihood=likelihood,
            posterior=posterior, convention=convention,
            data_shape=None if layout.data.varies else layout.data.shape,
            latent_shape=None if layout.latent.varies else layout.latent.shape,
            dtypes=target.dtypes or (tuple(layout.dtypes) if layout.unsupported else None),
            kwargs=target.kwargs, call=target.call,
            not_elbo=not_elbo_codes(convention) if target.computes.combined else (),
        )
        return claim, None


def read(target, obs, best: fitting.Fit) -> Reading:
    """The reading of ``best``: fixed sizes read with the simplest weights, constants judged."""
    form, a, b = read_fixed_shapes(target, best.form, best.recon, best.kl)
    reading = Reading(form, best, a, b, obs.dtype, "none")
    if not target.computes.reconstruction:
        return reading
    constants, words = _constants(target, obs, best, reading)
    return replace(reading, constants=constants, constant_words=words)


def _constants(target, obs, fit, reading):
    """Whether the loss's constant part is the likelihood's normalizer times the weight, 0, or other.

    Collinear columns (a constant per element under a data mean, and a constant per loss)
    split their total arbitrarily in least squares; their sum on each probe is determined, so
    the verdict compares totals: e C_i + c against scale k(V) C_i and against 0.
    """
    family = reading.form.likelihood
    coefficients = np.array([fit.recon, fit.kl, fit.per_element, fit.offset, fit.per_latent])
    totals, counts, sizes = [], [], []
    for inputs in [p.inputs for p in obs.probes]:
        matrix, _, _ = fitting.columns(fit.form, target, inputs, {})
        totals.append(fit.per_element * matrix[:, 2] + fit.offset * matrix[:, 3])
        sizes.append(np.abs(matrix) @ np.abs(coefficients))
        read_as, _, _ = fitting.columns(reading.form, target, inputs, {})
        counts.append(read_as[:, 2])  # data elements per row, as the reading reduces them
    total, count, size = np.concatenate(totals), np.concatenate(counts), np.concatenate(sizes)
    tolerance_ = reading.accuracy * (size + np.abs(total)) + 1e-300
    if np.all(np.abs(total) <= tolerance_):
        return ("dropped" if family in _CONSTANT else "none"), ""
    if family in _CONSTANT:
        scale, _, parameter = reading.weights(target.likelihood, target.convention.beta)
        if scale is not None and (parameter is not None or family.endswith("learned")):
            normalizer = scale * _CONSTANT[family](parameter) * count
            if np.all(np.abs(total - normalizer) <= tolerance_ + reading.accuracy * np.abs(normalizer)):
                return "kept", ""
    return "other", f"a constant ({fit.offset:.4g} per loss, {fit.per_element:.4g} per data element)"


def offset_per_latent(reading: Reading) -> bool:
    """A constant per latent element that grows with d: not a legal additive constant.

    Under a latent mean the per-element offset is one constant per example, which is legal.
    The coefficient counts when it is above the fit's accuracy relative to the KL weight.
    """
    fit = reading.fit
    if reading.form.latent == "mean":
        return False
    return abs(fit.per_latent) > max(fit.relative_residual, 1e-9) * 1e3 * max(abs(reading.b), abs(reading.a), 1e-300)


def simplest(value: float, relative: float) -> float:
    """The shortest decimal or small fraction within ``relative`` of ``value``, else ``value``."""
    if not math.isfinite(value) or value == 0:
        return value
    for digits in range(1, 7):
        rounded = float(f"{value:.{digits}g}")
        if abs(rounded - value) <= relative * abs(value):
            return rounded
    for denominator in range(2, 65):
        numerator = round(value * denominator)
        if numerator and abs(numerator / denominator - value) <= relative * abs(value):
            return numerator / denominator
    return value


def complexity(value: float) -> int:
    """How simple a weight is to write: the least q <= 12 making q * mantissa an integer (else 99).

    Weights people write (1, 0.5, 0.01, 4, 1/3) score low; 1/784 (a mean over 784 pixels
    folded into a sum) scores 99.
    """
    if not value > 0 or not math.isfinite(value):
        return 99
    mantissa = value / 10 ** math.floor(math.log10(value))
    for q in range(1, 13):
        if abs(mantissa * q - round(mantissa * q)) <= 1e-6 * mantissa * q:
            return q
    return 99


def read_fixed_shapes(target, form: fitting.Form, a: float, b: float):
    """Where the target fixes D or d, a sum and a mean over it fit alike; read the simpler weights.

    The probes cannot vary a fixed size, so (data sum, weight a) and (data mean, weight
    a D) fit equally. The reading whose weights are simplest to write wins (a loss averaging
    784 pixels has weight 1 on the mean, not 1/784 on the sum); ties keep the sum.
    """
    sizes = {
        "data": math.prod(target.data_shape) if target.data_shape and form.data == "sum" else None,
        "latent": math.prod(target.latent_shape) if target.latent_shape and form.latent == "sum" else None,
    }
    readings = []
    for data in ("sum", "mean") if sizes["data"] else (form.data,):
        for latent in ("sum", "mean") if sizes["latent"] else (form.latent,):
            a_read = a * sizes["data"] if data == "mean" and form.data == "sum" else a
            b_read = b * sizes["latent"] if latent == "mean" and form.latent == "sum" else b
            score = (complexity(abs(a_read)) if form.likelihood else 0) + (
                complexity(abs(b_read)) if form.kl_param else 0)
            readings.append((score, data != form.data, latent != form.latent, data, latent, a_read, b_read))
    _, _, _, data, latent, a_read, b_read = min(readings)
    return replace(form, data=data, latent=latent), a_read, b_read


def _renamed(args, old: str, new: str):
    if isinstance(args, dict):
        return {user: (new if name == old else name) for user, name in args.items()}
    return tuple(new if name == old else name for name in args)
