"""diagnose(target): infer how a loss relates to the ELBO and name its departures.

The loss is called on designed probes (:mod:`vae_spec.probes`) and its outputs are fitted as
scale * [reconstruction + beta * KL] + constant over candidate forms (:mod:`vae_spec.fitting`).
The best fitting form, preferred in the order "as declared, then the ELBO's own reductions",
gives the convention; its departures from the ELBO (DESIGN section 3) become findings.

is_elbo means: the loss equals s * (sum or mean over b of -ELBO_b) + c for one model whose
fixed parameters and weights do not depend on B, d or D. For a Gaussian (squared-error)
reconstruction any weights a, b > 0 are the ELBO of the model with sigma^2 = b / (2a), so such
a loss is judged by whether that implied variance stays put as the sizes change.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from . import fitting
from .frameworks.base import AdapterTypeError, get_adapter
from .checks import Context
from .engine.inference import infer_layout
from .probes import Probe, design
from .report import CheckResult, repro_snippet
from .spec.likelihoods import parse_likelihood
from .target import Target, TargetError

_SUPPORTED_TERMS = ("loss", "elbo", "kl", "reconstruction")
_RELATIVE_CLOSE = 1e-6  # coefficient ratios within this are "equal" (fits are at float64 or float32 accuracy)
_APPROXIMATE = 1e-3  # a form matching to this relative residual is reported as the nearest one


@dataclass(frozen=True)
class Finding:
    """One statement about the loss: a contract code, its severity and a plain sentence."""

    code: str
    severity: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message}


@dataclass
class Diagnosis:
    """What a loss computes, and how it relates to the ELBO."""

    target: str
    framework: str
    is_elbo: bool
    convention: dict | None
    scale: float | None
    beta: float | None
    likelihood: dict | None
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    form: dict | None = None
    residual: float | None = None
    implied_variance: float | None = None
    seconds: float = 0.0
    counterexamples: list[CheckResult] = field(default_factory=list)
    layout: str = ""  # the shapes and dtypes probed, and where each came from
    layout_data: dict | None = None

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def as_dict(self) -> dict:
        return {
            "target": self.target, "framework": self.framework, "is_elbo": self.is_elbo,
            "convention": self.convention, "scale": self.scale, "beta": self.beta,
            "likelihood": self.likelihood, "findings": [f.as_dict() for f in self.findings],
            "summary": self.summary, "form": self.form, "residual": self.residual,
            "implied_variance": self.implied_variance, "seconds": round(self.seconds, 3),
            "counterexamples": [c.as_dict() for c in self.counterexamples],
            "layout": self.layout_data,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_text(self) -> str:
        verdict = "is the ELBO" if self.is_elbo else "is NOT the ELBO"
        lines = [f"{self.target} [{self.framework}] {verdict}: {self.summary}"]
        if self.layout:
            lines.append(f"  shapes: {self.layout}")
        for finding in self.findings:
            lines.append(f"  {finding.severity:7} {finding.code}: {finding.message}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


# -- probing -----------------------------------------------------------------------------------
@dataclass
class _Observations:
    dtype: str
    probes: list[Probe]
    outputs: list[np.ndarray]
    raised: list[tuple[Probe, BaseException]]
    nonfinite: list[Probe]
    stochastic: bool


def _call(adapter, target, inputs, dtype):
    natives = {name: adapter.asarray(value, dtype) for name, value in inputs.items()}
    raw = adapter.call(target.bind(natives), natives)
    return adapter.to_numpy(raw), adapter.dtype_name(raw)


def _probe_dtype(adapter, target, probe, dtypes) -> str:
    """float64 where the function runs in it and keeps it (the fit's bounds are tightest),
    else the first dtype the function runs in."""
    if "float64" in dtypes:
        try:
            _, out_dtype = _call(adapter, target, probe.inputs, "float64")
        except Exception as exc:  # it ran in float64 during inference: a probe-specific failure
            out_dtype = f"none ({type(exc).__name__})"
        if out_dtype == "float64":
            return "float64"
    others = [d for d in dtypes if d != "float64"]
    return others[0] if others else "float64"


def _observe(adapter, target, layout, seed) -> _Observations:
    probes = design(target, layout, seed=seed)
    dtype = _probe_dtype(adapter, target, probes[0], layout.dtypes)
    kept, outputs, raised, nonfinite = [], [], [], []
    for probe in probes:
        inputs = {k: adapter.round_to(v, dtype) for k, v in probe.inputs.items()}
        probe = Probe(inputs, probe.kl_zero)
        try:
            output, _ = _call(adapter, target, inputs, dtype)
        except Exception as exc:
            raised.append((probe, exc))
            continue
        if not np.isfinite(output).all():
            nonfinite.append(probe)
            continue
        kept.append(probe)
        outputs.append(output)
    stochastic = False
    if kept:
        again, _ = _call(adapter, target, kept[0].inputs, dtype)
        stochastic = not np.array_equal(again, outputs[0])
    return _Observations(dtype, kept, outputs, raised, nonfinite, stochastic)


# -- judging -----------------------------------------------------------------------------------
def _preference(target, fit: fitting.Fit):
    """Ties between fitting forms go to the declared reading, then to the ELBO's reductions."""
    form = fit.form
    declared = target.likelihood
    declared_family = parse_likelihood(declared).name if declared else None
    likelihood_name = form.likelihood
    return (
        declared is not None and likelihood_name is not None and not _same_likelihood(likelihood_name, declared_family),
        form.kl_param not in (None, target.posterior),
        form.prior not in (None, "declared"),
        form.data not in (None, "sum"),
        form.latent not in (None, "sum"),
        None not in (form.batch_recon, form.batch_kl) and form.batch_recon != form.batch_kl,
        (form.batch_recon or form.batch_kl) == "sum",
        fitting.RECON_FAMILIES.index(likelihood_name) if likelihood_name in fitting.RECON_FAMILIES else 0,
        fit.margin,
    )


def _same_likelihood(fitted: str, declared: str) -> bool:
    if fitted == declared:
        return True
    return fitted in ("gaussian", "laplace") and declared.startswith(fitted)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _RELATIVE_CLOSE * max(abs(a), abs(b), 1e-300)


def _fraction(value: float) -> str:
    for denominator in range(1, 65):
        numerator = value * denominator
        if abs(numerator - round(numerator)) < 1e-9 * denominator and round(numerator) != 0:
            n = int(round(numerator))
            return f"{n}" if denominator == 1 else f"{n}/{denominator}"
    return f"{value:.4g}"


def diagnose(target: Target, *, seed: int = 0) -> Diagnosis:
    """Infer the convention of ``target``'s loss and name its departures from the ELBO.

    The target's likelihood and convention may be left out; declared shapes are honoured.
    A departure is a finding, not an exception; ``diagnosis.is_elbo`` gives the verdict.
    """
    if not isinstance(target, Target):
        raise TypeError(f"diagnose: expected a vae_spec.Target, got {type(target).__name__}")
    if target.term not in _SUPPORTED_TERMS:
        raise TargetError(
            f"term: diagnose infers the terms {', '.join(_SUPPORTED_TERMS)}; for {target.term!r} "
            "declare the claim and use check"
        )
    start = time.perf_counter()
    adapter = get_adapter(target.framework)
    target = replace(target, fn=adapter.prepare(target.fn))
    wanted = target.dtypes or tuple(d for d in ("float64", "float32") if d in adapter.dtypes())
    layout = infer_layout(Context(target=target, adapter=adapter, dtypes=wanted))
    # a size the function hard-codes is read like a declared one (a sum and a mean over it fit alike)
    target = replace(target, latent_shape=None if layout.latent.varies else layout.latent.shape,
                     data_shape=None if layout.data.varies else layout.data.shape)
    observations = _observe(adapter, target, layout, seed)
    diagnosis = _judge(target, adapter, observations)
    diagnosis.layout, diagnosis.layout_data = layout.words(target), layout.as_dict()
    diagnosis.findings[:0] = [
        Finding("dtype-unsupported", "warning", f"The function raised in {dtype} on every probe "
                f"({error}); probed in {', '.join(layout.dtypes)} only.")
        for dtype, error in layout.unsupported]
    diagnosis.seconds = time.perf_counter() - start
    return diagnosis


def _empty(target, findings, summary) -> Diagnosis:
    return Diagnosis(target.name, target.framework, False, None, None, None, None, findings, summary)


def _judge(target, adapter, obs: _Observations) -> Diagnosis:
    findings: list[Finding] = []
    if obs.raised:
        probe, exc = obs.raised[0]
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in probe.inputs.items())
        kind = "raised" if not isinstance(exc, AdapterTypeError) else "output-type"
        findings.append(Finding(kind, "error", (
            f"The function raised {type(exc).__name__}: {exc} on {len(obs.raised)} of "
            f"{len(obs.raised) + len(obs.probes) + len(obs.nonfinite)} probes (first with {shapes})."
            if kind == "raised" else f"The function returned {exc}.")))
    if obs.nonfinite:
        findings.append(Finding("nonfinite", "warning" if obs.probes else "error",
                                f"The output is NaN or infinite on {len(obs.nonfinite)} typical probes."))
    if obs.stochastic:
        findings.append(Finding("stochastic", "error",
                                "stochastic: two identical calls differ; declare term stochastic_loss "
                                "(the loss samples inside) instead of diagnosing it as deterministic."))
        return _empty(target, findings, "the loss is stochastic")
    if len(obs.probes) < 6:
        return _empty(target, findings, "too few probes ran to infer a form")
    term_sign = -1.0 if target.term == "elbo" else 1.0
    outputs = [term_sign * o for o in obs.outputs]
    shapes = {o.shape for o in outputs}
    vector = all(o.ndim == 1 and o.shape[0] == p.batch_size for o, p in zip(outputs, obs.probes))
    scalar = all(o.size == 1 for o in outputs)
    if not (vector or scalar):
        findings.append(Finding("shape", "error", f"The output shapes {sorted(shapes)} are neither "
                                "scalar nor one value per example."))
        return _empty(target, findings, "the output shape varies")
    inputs = [p.inputs for p in obs.probes]
    fits = fitting.fit_all(target, inputs, outputs, obs.dtype, vector_output=vector and not scalar)
    reduced_note = None
    if vector and not scalar and not any(f.fits for f in fits):
        # a (B,) output whose rows mix in batch-level terms: judge it as its framework averages it
        means = [np.atleast_1d(o.mean()) for o in outputs]
        mean_fits = fitting.fit_all(target, inputs, means, obs.dtype, vector_output=False)
        if any(f.fits for f in mean_fits) or (mean_fits and (not fits or mean_fits[0].margin < fits[0].margin)):
            fits, reduced_note = mean_fits, (
                "The function returns one value per example but its rows are not per-example "
                "losses; it is judged as its mean over the batch (as Keras reduces it).")
    return _verdict(target, adapter, obs, fits, findings, reduced_note)


def _verdict(target, adapter, obs, fits, findings, reduced_note) -> Diagnosis:
    fitting_forms = [f for f in fits if f.fits]
    precision_note = None
    if fitting_forms:
        best = min(fitting_forms, key=lambda f: _preference(target, f))
    elif fits and fits[0].relative_residual <= _APPROXIMATE:
        near = [f for f in fits if f.relative_residual <= 4 * fits[0].relative_residual]
        best = min(near, key=lambda f: _preference(target, f))
        precision_note = Finding("precision", "warning", (
            f"The loss matches the form below only to a relative {best.relative_residual:.2g}, not "
            f"to {obs.dtype} accuracy: it adds an epsilon, clamps, or computes in lower precision."))
    else:
        return _no_fit(target, adapter, obs, fits, findings)
    if reduced_note:
        findings.append(Finding("batch-mean", "info", reduced_note))
    if precision_note:
        findings.append(precision_note)
    return _describe(target, adapter, obs, best, findings)


def _no_fit(target, adapter, obs, fits, findings) -> Diagnosis:
    """Nothing fits: isolate the departing term with the probes where the KL is exactly 0."""
    zero = [i for i, p in enumerate(obs.probes) if p.kl_zero]
    recon_ok = False
    if target.term in ("loss", "elbo") and len(zero) >= 3:
        sign = -1.0 if target.term == "elbo" else 1.0
        recon_target = _recon_only(target)
        recon_fits = fitting.fit_all(
            recon_target, [obs.probes[i].inputs for i in zero],
            [sign * obs.outputs[i] - 0 for i in zero], obs.dtype,
            vector_output=obs.outputs[zero[0]].size > 1,
        )
        recon_ok = any(f.fits for f in recon_fits)
    nearest = fits[0] if fits else None
    if target.term == "kl" or recon_ok:
        code, what = "kl-formula", "the KL term"
    else:
        code, what = "recon-formula", "the reconstruction term"
    detail = (f" The nearest form ({_form_words(nearest.form)}) misses by a relative "
              f"{nearest.relative_residual:.3g}." if nearest else "")
    findings.append(Finding(code, "error", f"No ELBO form fits the outputs: {what} departs.{detail}"))
    diagnosis = _empty(target, findings, f"{what} is not any known form")
    diagnosis.residual = nearest.relative_residual if nearest else None
    diagnosis.form = _form_dict(nearest.form) if nearest else None
    diagnosis.counterexamples = _counterexample(target, adapter, obs, nearest)
    return diagnosis


def _recon_only(target) -> Target:
    return replace(target, term="reconstruction")


def _counterexample(target, adapter, obs, nearest):
    if nearest is None or not obs.probes:
        return []
    smallest = min(range(len(obs.probes)), key=lambda i: sum(v.size for v in obs.probes[i].inputs.values()))
    probe = obs.probes[smallest]
    return [CheckResult(
        "diagnose", "fail", "the smallest probe, with the output the nearest form predicts",
        code="formula", counterexample={
            "dtype": obs.dtype, "regime": "probe",
            "inputs": {k: v.tolist() for k, v in probe.inputs.items()},
            "output": np.asarray(obs.outputs[smallest]).tolist(),
        }, repro=repro_snippet(target, probe.inputs, obs.dtype),
    )]


# -- describing a fitted form --------------------------------------------------------------------
def _form_words(form: fitting.Form) -> str:
    reduced = {"sum": "summed", "mean": "averaged"}
    parts = []
    if form.likelihood:
        parts.append(f"{form.likelihood} reconstruction {reduced[form.data]} over data, "
                     f"{_batch_word(form.batch_recon)} over the batch")
    if form.kl_param:
        parts.append(f"KL reading the scale as {form.kl_param}, {reduced[form.latent]} over latent, "
                     f"{_batch_word(form.batch_kl)} over the batch")
    return "; ".join(parts)


def _form_dict(form: fitting.Form) -> dict:
    return {
        "likelihood": form.likelihood, "kl_param": form.kl_param, "prior": form.prior,
        "data": form.data, "latent": form.latent, "batch_recon": form.batch_recon,
        "batch_kl": form.batch_kl,
    }


def _offset_per_latent(fit: fitting.Fit, form: fitting.Form, a: float, b: float) -> bool:
    """A constant per latent element that grows with d: not a legal additive constant.

    Under a latent mean the per-element offset is one constant per example, which is legal.
    The coefficient counts when it is above the fit's accuracy relative to the KL weight.
    """
    if form.latent == "mean":
        return False
    return abs(fit.per_latent) > max(fit.relative_residual, 1e-9) * 1e3 * max(abs(b), abs(a), 1e-300)


def _complexity(value: float) -> int:
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


def _read_fixed_shapes(target, form: fitting.Form, a: float, b: float):
    """Where the target fixes D or d, a sum and a mean over it fit alike; read the simpler weights.

    The probes cannot vary a declared size, so (data sum, weight a) and (data mean, weight
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
            score = (_complexity(abs(a_read)) if form.likelihood else 0) + (
                _complexity(abs(b_read)) if form.kl_param else 0)
            readings.append((score, data != form.data, latent != form.latent, data, latent, a_read, b_read))
    _, _, _, data, latent, a_read, b_read = min(readings)
    return replace(form, data=data, latent=latent), a_read, b_read


def _describe(target, adapter, obs, best: fitting.Fit, findings: list[Finding]) -> Diagnosis:
    form, a, b = _read_fixed_shapes(target, best.form, best.recon, best.kl)
    has_recon, has_kl = form.likelihood is not None, form.kl_param is not None
    likelihood_info = None
    implied_variance = None
    scale = beta = None
    gaussian = form.likelihood == "gaussian"
    # natural weights: the reconstruction's coefficient in units of its negative log-likelihood
    if has_recon:
        family = parse_likelihood(form.likelihood) if form.likelihood not in ("gaussian", "laplace") else None
        likelihood_info = {"name": form.likelihood, "family": family.family if family else form.likelihood,
                           "parameterization": family.parameterization if family else "mean"}
    declared = parse_likelihood(target.likelihood) if target.likelihood else None
    if has_recon and has_kl:
        if gaussian:
            scale = b
            implied_variance = b / (2 * a) if a > 0 and b > 0 else None
            beta = b / a if a != 0 else math.inf  # relative to the sum of squared errors (sigma^2 = 1/2)
            likelihood_info["variance"] = implied_variance
        elif form.likelihood == "laplace":
            scale = b
            beta = b / a if a != 0 else math.inf
            likelihood_info["scale"] = b / a if a > 0 and b > 0 else None
        else:
            scale, beta = a, (b / a if a != 0 else math.inf)
    elif has_kl:
        scale, beta = b, 1.0
    else:
        scale, beta = a, None
        if gaussian and a > 0:
            implied_variance = 1 / (2 * a)
            likelihood_info["variance"] = implied_variance
    is_elbo = True

    def depart(code, message):
        nonlocal is_elbo
        is_elbo = False
        findings.append(Finding(code, "error", message))

    latent_words = _size_words(target.latent_shape, "latent dimensions", "d")
    data_words = _size_words(target.data_shape, "data elements", "D")
    # the scale input read as something else
    if has_kl and form.kl_param != target.posterior:
        depart(f"kl-param-{form.kl_param}", (
            f"The KL formula reads the {target.posterior} input as {form.kl_param}: "
            f"{_param_sentence(target.posterior, form.kl_param)}"))
    if has_kl and form.prior == "standard":
        depart("kl-formula", "The KL is taken against a fixed N(0, I) prior, not the declared learned prior.")
    if has_recon and declared and not _same_likelihood(form.likelihood, declared.name):
        same_family = form.likelihood.split("-")[0] == declared.name.split("-")[0] or (
            form.likelihood.startswith("continuous") == declared.name.startswith("continuous")
            and form.likelihood.replace("-probs", "").replace("-logits", "")
            == declared.name.replace("-probs", "").replace("-logits", ""))
        depart("recon-param" if same_family else "recon-formula", (
            f"The reconstruction is the {form.likelihood} negative log-likelihood, not the declared "
            f"{declared.name}" + (": logits and probabilities are swapped." if same_family else ".")))
    # reductions
    if form.data == "mean":
        if gaussian:
            depart("recon-data-mean", (
                f"The squared error is averaged over the {data_words}, so the implied decoder "
                f"variance grows with D (sigma^2 = w D / 2 for a KL weight w): no single model "
                f"has this loss as its ELBO."))
        else:
            depart("recon-data-mean", (
                f"The reconstruction is averaged over the {data_words}, so it weighs 1/D of what "
                f"the ELBO gives it against the KL."))
    if form.latent == "mean":
        effective = f": an effective beta of {1 / math.prod(target.latent_shape):.4g}" if target.latent_shape else ""
        depart("kl-latent-mean", (
            f"The KL is averaged over the {latent_words}, so it weighs 1/d of what the ELBO gives "
            f"it{effective}."))
    if has_recon and has_kl and form.batch_recon != form.batch_kl:
        depart("batch-mismatch", (
            f"The reconstruction is {_batch_word(form.batch_recon)} over the batch but the KL is "
            f"{_batch_word(form.batch_kl)}, so their relative weight changes with the batch size B."))
    if has_kl and _offset_per_latent(best, form, a, b):
        depart("kl-formula", (
            f"The KL is off by {best.per_latent:.4g} per latent dimension: it is not 0 when q "
            f"equals the prior (a '+1' where '-1' belongs, or a dropped term)."))
    # weights
    if has_kl and b < 0:
        depart("kl-sign", "The KL enters with the wrong sign: the loss rewards divergence from the prior.")
    elif has_recon and a < 0:
        depart("recon-formula", "The reconstruction enters with the wrong sign.")
    elif has_recon and has_kl:
        _weight_findings(target, form, a, b, beta, implied_variance, declared, depart, findings, is_elbo)
        is_elbo = is_elbo and not any(f.severity == "error" for f in findings)
    elif has_kl and not _close(b, 1.0) and target.convention.scale == 1.0:
        if _close(b, 2.0):
            depart("kl-missing-half", "The KL is twice the KL divergence: the factor 1/2 is missing.")
        else:
            depart("kl-scaled", f"The KL is multiplied by {_fraction(b)}.")
    # legal conventions, as information
    batch = form.batch_recon or form.batch_kl
    if batch in ("sum", "mean") and not any(f.code == f"batch-{batch}" for f in findings):
        findings.append(Finding(f"batch-{batch}", "info", f"The batch is {_batch_word(batch)}."))
    if form.likelihood in fitting.WITH_CONSTANTS and has_recon:
        constants_dropped = best.per_element == 0 or abs(best.per_element) < 1e-9 * max(abs(a), 1e-300)
        if constants_dropped and form.data == "sum":
            findings.append(Finding("constants-dropped", "info",
                                    "The likelihood's normalizing constants are dropped (legal)."))
    if implied_variance is not None:
        findings.append(Finding("gaussian-variance", "info", _variance_sentence(target, form, implied_variance)))
    if any(f.severity == "error" for f in findings):
        is_elbo = False
    convention = {
        "data": form.data or "sum", "latent": form.latent or "sum",
        "batch": form.batch_recon or form.batch_kl or "mean",
        "beta": beta, "scale": scale,
        "constants": not (form.likelihood in fitting.WITH_CONSTANTS and best.per_element == 0),
    }
    findings.sort(key=lambda f: ("error", "warning", "info").index(f.severity))
    summary = _summary(form, is_elbo, findings)
    diagnosis = Diagnosis(
        target.name, target.framework, is_elbo, convention, scale, beta, likelihood_info,
        findings, summary, _form_dict(form), best.relative_residual, implied_variance,
    )
    diagnosis.counterexamples = [] if is_elbo else _counterexample(target, adapter, obs, best)
    _check_gradient(target, adapter, obs, best, diagnosis)
    return diagnosis


def _weight_findings(target, form, a, b, beta, implied_variance, declared, depart, findings, is_elbo):
    """beta relative to the likelihood's natural scale; Gaussians judged by their implied variance."""
    declared_beta = target.convention.beta
    if form.likelihood == "gaussian":
        if declared is not None and declared.variance is not None and target.likelihood != "gaussian" or (
            declared is not None and declared.family == "gaussian" and target.likelihood != "gaussian"
        ):
            relative = b / (2 * a) / declared.variance if declared.variance else None
            if relative is not None and not _close(relative, declared_beta):
                depart("kl-scaled", f"Against the declared decoder variance {declared.variance:g}, the KL "
                                    f"weighs {relative:.4g}: an undeclared beta.")
            return
        own = b / a if a > 0 else None  # the coefficients are per reduced term already
        if own is not None and not (_close(own, 1.0) or _close(own, 2.0)):
            shape_ok = form.data == "sum" and form.latent == "sum" and form.batch_recon == form.batch_kl
            message = (f"The KL is weighted {own:.4g} relative to the loss's own reconstruction term "
                       f"(an undeclared beta; 1 would be the squared error's natural weight).")
            if shape_ok:
                findings.append(Finding("beta", "info", message + (
                    f" For a Gaussian decoder this is still an ELBO, with sigma^2 = {implied_variance:.4g}.")))
            else:
                depart("kl-scaled", message)
        return
    if form.likelihood == "laplace":
        return
    if _close(beta, declared_beta):
        if declared_beta != 1.0:
            findings.append(Finding("beta", "info", f"beta = {declared_beta:g}, as declared."))
        return
    if _close(beta, 2.0 * declared_beta):
        depart("kl-missing-half", "The KL is twice the KL divergence: the factor 1/2 is missing.")
    elif _close(beta, 1.0) and declared_beta != 1.0:
        depart("kl-scaled", f"The declared beta {declared_beta:g} is not applied: the KL weighs 1.")
    else:
        depart("kl-scaled", f"The KL is multiplied by {_fraction(beta / declared_beta)} relative to the "
                            f"reconstruction: an undeclared beta of {beta:.4g}.")


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


def _size_words(shape, what, letter) -> str:
    if shape:
        return f"{math.prod(shape)} {what}"
    return f"{what} ({letter})"


def _batch_word(how) -> str:
    return {"mean": "averaged", "sum": "summed", "none": "kept per example"}[how]


def _param_sentence(declared, read) -> str:
    sigma2 = {"logvar": "exp(input)", "logstd": "exp(2 input)", "std": "input^2", "var": "input"}
    return (f"it uses sigma^2 = {sigma2[read]} where the {declared} parameterization means "
            f"sigma^2 = {sigma2[declared]}.")


def _summary(form, is_elbo, findings) -> str:
    errors = [f.code for f in findings if f.severity == "error"]
    if is_elbo:
        return "the ELBO up to legal conventions" + (
            f" ({', '.join(f.code for f in findings if f.severity == 'info')})" if findings else "")
    return "departs: " + ", ".join(errors)


def _check_gradient(target, adapter, obs, best, diagnosis):
    """Value right but gradient wrong: compare autodiff with the fitted form's derivative."""
    if not adapter.supports_grad or not obs.probes:
        return
    from .reference import DIFFERENTIABLE

    wrt = tuple(n for n in target.canonical_args if n in DIFFERENTIABLE)
    if not wrt:
        return
    sign = -1.0 if target.term == "elbo" else 1.0
    probe = min(obs.probes[:4], key=lambda p: sum(v.size for v in p.inputs.values()))
    natives = {k: adapter.asarray(v, obs.dtype) for k, v in probe.inputs.items()}
    try:
        with adapter.precision_guard():
            _, grads = adapter.value_and_grad(target.bind(natives), natives, wrt)
    except Exception:
        return
    def model(inputs):
        matrix, _, _ = fitting.columns(best.form, target, inputs, {})
        return sign * float(np.sum(matrix @ np.array([best.recon, best.kl, best.per_element, best.offset, best.per_latent])))

    u = 2.0**-53 if obs.dtype == "float64" else 2.0**-24
    for name in wrt:
        base = probe.inputs[name]
        numeric = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            step = (u ** (1 / 3)) * max(1.0, abs(base[index]))
            plus, minus = dict(probe.inputs), dict(probe.inputs)
            plus[name] = base.copy(); plus[name][index] += step
            minus[name] = base.copy(); minus[name][index] -= step
            try:
                numeric[index] = (model(plus) - model(minus)) / (2 * step)
            except ValueError:
                return  # a step left the domain (a probability past 1): no verdict
        got = grads.get(name)
        # central differences: truncation h^2 f''' and rounding u/h, both ~u^(2/3) at h = u^(1/3)
        limit = 1e3 * u ** (2 / 3) * (1 + np.abs(numeric).max())
        if got is None:
            if np.abs(numeric).max() > limit:
                diagnosis.findings.append(Finding("gradient", "error", (
                    f"The value matches, but no gradient reaches {name!r} (detached or stop_gradient).")))
                diagnosis.is_elbo = False
            continue
        error = np.abs(np.asarray(got) - numeric).max()
        if error > limit:
            diagnosis.findings.append(Finding("gradient", "error", (
                f"The value matches, but d(loss)/d({name}) is off by {error:.3g} "
                f"(a clamp, detach or custom gradient).")))
            diagnosis.is_elbo = False
    if not diagnosis.is_elbo:
        diagnosis.summary = _summary(best.form, False, diagnosis.findings)
