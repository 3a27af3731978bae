"""Departures: how a reading differs from a reference claim, each as a coded finding.

One set of rules serves both verbs. ``diagnose`` compares the reading with the ELBO (the
declared likelihood, posterior and beta; any batch reduction, positive scale, dropped
constants and, for an undeclared Gaussian, any fixed variance are legal). ``check`` compares it
with the declared claim, where every field counts. A code names the same departure in both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..spec.likelihoods import parse_likelihood
from ..spec.objective import Convention
from ..vocabulary import POSTERIOR
from .reading import Reading, offset_per_latent

ELBO, CLAIM = "elbo", "claim"


@dataclass(frozen=True)
class Finding:
    """One statement about the loss: a contract code, its severity and a plain sentence."""

    code: str
    severity: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message}


def reference(target, against: str) -> Convention:
    """The convention a reading is compared with: the claim's own, or the ELBO's reductions."""
    if against == CLAIM:
        return target.convention
    return Convention(beta=target.convention.beta)


@dataclass(frozen=True)
class Comparison:
    """A reading, the target it reads, and the reference it is compared with."""

    reading: Reading
    target: object
    ref: Convention
    against: str

    @property
    def latent_words(self) -> str:
        return _size_words(self.target.latent_shape, "latent dimensions", "d")

    @property
    def data_words(self) -> str:
        return _size_words(self.target.data_shape, "data elements", "D")


#: the departure rules, in the order their findings are reported
RULES: list = []


def rule(fn):
    """Register ``fn(comparison) -> list[Finding]`` as a departure rule."""
    RULES.append(fn)
    return fn


def departures(reading: Reading, target, against: str) -> list[Finding]:
    """Every way the reading departs from the reference, as error findings: each rule's, in order."""
    comparison = Comparison(reading, target, reference(target, against), against)
    return [finding for each in RULES for finding in each(comparison)]


def _error(code: str, message: str) -> list[Finding]:
    return [Finding(code, "error", message)]


@rule
def posterior_parameterization(c: Comparison) -> list[Finding]:
    form, declared = c.reading.form, c.target.posterior
    if not c.reading.has_kl or form.kl_param == declared:
        return []
    return _error(f"kl-param-{form.kl_param}", (
        f"The KL formula reads the {declared} input as {form.kl_param}: "
        f"{_param_sentence(declared, form.kl_param)}"))


@rule
def learned_prior(c: Comparison) -> list[Finding]:
    if c.reading.has_kl and c.reading.form.prior == "standard":
        return _error("kl-formula", "The KL is taken against a fixed N(0, I) prior, not the declared learned prior.")
    return []


@rule
def likelihood_family(c: Comparison) -> list[Finding]:
    declared = _declared_likelihood(c)
    if declared is None:
        return []
    fitted = c.reading.form.likelihood
    swapped = fitted.replace("-probs", "").replace("-logits", "") == \
        declared.replace("-probs", "").replace("-logits", "")
    return _error("recon-param" if swapped else "recon-formula", (
        f"The reconstruction is the {fitted} negative log-likelihood, not the declared "
        f"{declared}" + (": logits and probabilities are swapped." if swapped else ".")))


def _declared_likelihood(c: Comparison) -> str | None:
    """The declared likelihood's name where the reading's family is another, else None."""
    target = c.target
    if not c.reading.has_recon or not target.likelihood:
        return None
    declared = parse_likelihood(target.likelihood).name
    return None if same_likelihood(c.reading.form.likelihood, declared) else declared


@rule
def data_reduction(c: Comparison) -> list[Finding]:
    form = c.reading.form
    if not c.reading.has_recon or form.data == c.ref.data:
        return []
    if form.data == "mean" and form.likelihood == "gaussian":
        return _error("recon-data-mean", (
            f"The squared error is averaged over the {c.data_words}, so the implied decoder "
            f"variance grows with D (sigma^2 = w D / 2 for a KL weight w): no single model "
            f"has this loss as its ELBO."))
    if form.data == "mean":
        return _error("recon-data-mean", (
            f"The reconstruction is averaged over the {c.data_words}, so it weighs 1/D of what "
            "the ELBO gives it against the KL."))
    return _error("recon-data-mean", f"The reconstruction is summed over the {c.data_words}; the claim "
                                     "averages it (data='mean').")


@rule
def latent_reduction(c: Comparison) -> list[Finding]:
    form, shape = c.reading.form, c.target.latent_shape
    if not c.reading.has_kl or form.latent == c.ref.latent:
        return []
    if form.latent == "mean":
        effective = f": an effective beta of {1 / math.prod(shape):.4g}" if shape else ""
        return _error("kl-latent-mean", (
            f"The KL is averaged over the {c.latent_words}, so it weighs 1/d of what the "
            f"ELBO gives it{effective}."))
    return _error("kl-latent-mean", f"The KL is summed over the {c.latent_words}; the claim averages "
                                    "it (latent='mean').")


@rule
def batch_reductions(c: Comparison) -> list[Finding]:
    reading, ref, form = c.reading, c.ref, c.reading.form
    claimed = (ref.batch, ref.kl_batch_reduction) if c.against == CLAIM else None
    both = reading.has_recon and reading.has_kl
    if both and form.batch_recon != form.batch_kl and (form.batch_recon, form.batch_kl) != claimed:
        return _error("batch-mismatch", (
            f"The reconstruction is {batch_word(form.batch_recon)} over the batch but the KL is "
            f"{batch_word(form.batch_kl)}, so their relative weight changes with the batch size B."))
    if both and claimed and claimed[0] != claimed[1] and form.batch_recon == form.batch_kl:
        return _error("batch-mismatch", (
            f"Both terms are {batch_word(form.batch_recon)} over the batch; the claim reduces the KL "
            f"as {claimed[1]!r} and the reconstruction as {claimed[0]!r}."))
    if claimed and reading.batch and reading.batch != ref.batch:
        return _error(f"batch-{reading.batch}", f"The batch is {batch_word(reading.batch)}; the claim says "
                                                f"{batch_word(ref.batch)} (batch={ref.batch!r}).")
    return []


@rule
def kl_offset(c: Comparison) -> list[Finding]:
    if not (c.reading.has_kl and offset_per_latent(c.reading)):
        return []
    return _error("kl-formula", (
        f"The KL is off by {c.reading.fit.per_latent:.4g} per latent dimension: it is not 0 when q "
        f"equals the prior (a '+1' where '-1' belongs, or a dropped term)."))


@rule
def signs_and_weights(c: Comparison) -> list[Finding]:
    """A term with the wrong sign; else, where the likelihood family is the declared one, the weights."""
    reading = c.reading
    if reading.has_kl and reading.b < 0:
        return _error("kl-sign", "The KL enters with the wrong sign: the loss rewards divergence from the prior.")
    if reading.has_recon and reading.a < 0:
        return _error("recon-formula", "The reconstruction enters with the wrong sign.")
    if _declared_likelihood(c) is not None:
        return []
    return _weight_departures(reading, c.target, c.ref, c.against)


@rule
def constants(c: Comparison) -> list[Finding]:
    return _constant_departures(c.reading, c.ref) if c.against == CLAIM else []


def _weight_departures(reading, target, ref, against) -> list[Finding]:
    """beta against the reference's; for ``check`` also the overall scale."""
    found = []
    form = reading.form
    free_variance = against == ELBO and form.likelihood in ("gaussian", "laplace") and (
        target.likelihood in (None, "gaussian", "laplace"))
    if reading.has_recon and reading.has_kl:
        if free_variance:
            if form.likelihood == "gaussian":
                own = reading.b / reading.a
                shape_ok = form.data == "sum" and form.latent == "sum" and form.batch_recon == form.batch_kl
                if not (reading.close(own, 1.0) or reading.close(own, 2.0)) and not shape_ok:
                    found.append(Finding("kl-scaled", "error", (
                        f"The KL is weighted {own:.4g} relative to the loss's own reconstruction term "
                        "(an undeclared beta; 1 would be the squared error's natural weight).")))
            return found
        scale, beta, parameter = reading.weights(target.likelihood, ref.beta)
        if beta is not None and not reading.close(beta, ref.beta):
            found.append(_beta_finding(reading, beta, ref.beta, target, parameter))
    elif reading.has_kl or reading.has_recon:
        scale = reading.weights(target.likelihood, ref.beta)[0]
        if against == ELBO and reading.has_kl and scale is not None and not reading.close(scale, ref.scale):
            factor = scale / ref.scale
            if reading.close(factor, 2.0):
                found.append(Finding("kl-missing-half", "error",
                                     "The KL is twice the KL divergence: the factor 1/2 is missing."))
            else:
                found.append(Finding("kl-scaled", "error", f"The KL is multiplied by {fraction(factor)}."))
            return found
    else:
        return found
    if against == CLAIM and scale is not None and not reading.close(scale, ref.scale) and not found:
        factor = scale / ref.scale
        what = "loss" if target.computes.combined else "term"
        if target.computes.kl_alone and reading.close(factor, 2.0):
            found.append(Finding("kl-missing-half", "error",
                                 "The KL is twice the KL divergence: the factor 1/2 is missing."))
        elif target.computes.kl_alone:
            found.append(Finding("kl-scaled", "error", f"The KL is multiplied by {fraction(factor)}."))
        else:
            found.append(Finding("loss-scaled", "error", (
                f"The {what} is {fraction(factor)} times the claimed one: one factor on every term "
                f"(declare scale={scale:.6g} if it is intended).")))
    return found


def _beta_finding(reading, beta, declared_beta, target, parameter) -> Finding:
    ratio = beta / declared_beta
    against = ""
    if parameter is not None and target.likelihood and parse_likelihood(target.likelihood).family == "gaussian":
        against = f" (against the declared decoder variance {parameter:g})"
    if reading.close(ratio, 2.0):
        return Finding("kl-missing-half", "error", (
            f"The KL weighs twice what the claim gives it{against}. Read as a formula, the KL's "
            f"factor 1/2 is missing; read as a weight, it is an undeclared beta of {beta:g} "
            f"(declare beta={beta:g} if it is intended)."))
    if reading.close(beta, 1.0) and declared_beta != 1.0:
        return Finding("kl-scaled", "error",
                       f"The declared beta {declared_beta:g} is not applied: the KL weighs 1{against}.")
    return Finding("kl-scaled", "error", (
        f"The KL is multiplied by {fraction(ratio)} relative to the reconstruction{against}: an "
        f"undeclared beta of {beta:.4g}."))


def _constant_departures(reading, ref) -> list[Finding]:
    if reading.constants == "dropped" and ref.constants:
        return [Finding("constants-dropped", "error", (
            "The likelihood's normalizing constants are dropped; the claim keeps them "
            "(declare constants=False: dropping them is legal)."))]
    if reading.constants == "kept" and not ref.constants:
        return [Finding("constants-kept", "error",
                        "The likelihood's normalizing constants are kept; the claim drops them.")]
    if reading.constants == "other":
        return [Finding("loss-offset", "error", (
            f"The loss adds {reading.constant_words}, which the claim does not have (a constant is "
            "legal for the ELBO, but no claim states it)."))]
    return []


def conventions(reading: Reading, target, form_is_elbo: bool) -> list[Finding]:
    """The legal conventions the loss uses, as info findings (for ``diagnose``)."""
    found = []
    form = reading.form
    batch = form.batch_recon or form.batch_kl
    if batch in ("sum", "mean"):
        found.append(Finding(f"batch-{batch}", "info", f"The batch is {batch_word(batch)}."))
    if reading.constants == "dropped" and form.data == "sum":
        found.append(Finding("constants-dropped", "info",
                             "The likelihood's normalizing constants are dropped (legal)."))
    if reading.has_recon and reading.has_kl and form.likelihood not in ("gaussian", "laplace"):
        beta = reading.b / reading.a if reading.a else None
        declared = target.convention.beta
        if declared != 1.0 and beta is not None and reading.close(beta, declared):
            found.append(Finding("beta", "info", f"beta = {declared:g}, as declared."))
    if form.likelihood == "gaussian" and reading.has_recon:
        own = reading.b / reading.a if reading.has_kl and reading.a else None
        variance = implied_variance(reading)
        if own is not None and form_is_elbo and not (reading.close(own, 1.0) or reading.close(own, 2.0)):
            found.append(Finding("beta", "info", (
                f"The KL is weighted {own:.4g} relative to the loss's own reconstruction term "
                f"(an undeclared beta; 1 would be the squared error's natural weight). For a "
                f"Gaussian decoder this is still an ELBO, with sigma^2 = {variance:.4g}.")))
        if variance is not None:
            found.append(Finding("gaussian-variance", "info", _variance_sentence(target, form, variance)))
    return found


def implied_variance(reading: Reading) -> float | None:
    """sigma^2 = b / (2a) for a squared error weighted a beside a KL weighted b (1 / (2a) alone)."""
    if reading.form.likelihood != "gaussian" or reading.a <= 0:
        return None
    if reading.has_kl:
        return reading.b / (2 * reading.a) if reading.b > 0 else None
    return 1 / (2 * reading.a)


def _variance_sentence(target, form, variance) -> str:
    """sigma^2 = b / (2a) in natural units: a mean over D or d rescales it by D or 1/d."""
    factors = []
    if form.data == "mean":
        factors.append(("D", target.data_shape))
    if form.latent == "mean":
        factors.append(("1/d", target.latent_shape))
    if not factors:
        return f"As a Gaussian decoder, the squared error implies sigma^2 = {variance:.4g}."
    symbolic = ("D" if form.data == "mean" else "") + ("/d" if form.latent == "mean" else "")
    if all(shape for _, shape in factors):
        value = variance
        for letter, shape in factors:
            value = value * math.prod(shape) if letter == "D" else value / math.prod(shape)
        at = f", which is {value:.4g} at the declared shapes"
    else:
        at = ", which moves with the sizes"
    return (f"As a Gaussian decoder, the squared error implies sigma^2 = {variance:.4g}{symbolic.replace('D', ' D')}"
            f"{at} (D data elements, d latent dimensions).")


def same_likelihood(fitted: str, declared: str) -> bool:
    if fitted == declared:
        return True
    return fitted in ("gaussian", "laplace") and declared.startswith(fitted)


def fraction(value: float) -> str:
    for denominator in range(1, 65):
        numerator = value * denominator
        if abs(numerator - round(numerator)) < 1e-9 * denominator and round(numerator) != 0:
            n = int(round(numerator))
            return f"{n}" if denominator == 1 else f"{n}/{denominator}"
    return f"{value:.4g}"


def batch_word(how) -> str:
    return {"mean": "averaged", "sum": "summed", "none": "kept per example"}[how]


def _size_words(shape, what, letter) -> str:
    if shape:
        return f"{math.prod(shape)} {what}"
    return f"{what} ({letter})"


def _param_sentence(declared, read) -> str:
    return (f"it uses sigma^2 = {POSTERIOR[read].variance} where the {declared} parameterization "
            f"means sigma^2 = {POSTERIOR[declared].variance}.")
