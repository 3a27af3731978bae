"""diagnose(target): infer how a loss relates to the ELBO, name its departures, state its claim.

The loss is called on designed probes (:mod:`.observe`) and its outputs are fitted as
scale * [reconstruction + beta * KL] + constant over candidate forms (:mod:`vae_spec.fitting`).
The best fitting form, preferred in the order "as declared, then the ELBO's own reductions",
is read as a claim (:mod:`.reading`); its departures from the ELBO (:mod:`.rules`) become
findings. ``check`` names a failing claim's departures with the same rules
(:func:`name_departures`).

is_elbo means: the loss equals s * (sum or mean over b of -ELBO_b) + c for one model whose
fixed parameters and weights do not depend on B, d or D. For a Gaussian (squared-error)
reconstruction any weights a, b > 0 are the ELBO of the model with sigma^2 = b / (2a), so such
a loss is judged by whether that implied variance stays put as the sizes change.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from .. import artifacts, fitting
from ..checks import Context
from ..engine.call import DEFAULT_TIMEOUT, CallTimeout
from ..engine.inference import infer_layout
from ..frameworks.base import AdapterTypeError, adapter_for
from ..report import CheckResult, repro_snippet
from ..spec.likelihoods import parse_likelihood
from ..target import Target, TargetError
from ..vocabulary import DIAGNOSABLE_TERMS
from .gradient import gradient_findings
from .observe import Observations, observe
from .reading import Reading, read
from .result import Diagnosis, Evidence, form_dict, form_words
from .rules import CLAIM, ELBO, Finding, conventions, departures, implied_variance, reference, same_likelihood

__all__ = ["Diagnosis", "Finding", "diagnose", "name_departures"]

_APPROXIMATE = 1e-3  # a form matching to this relative residual is reported as the nearest one


def diagnose(target: Target, *tensors, seed: int = 0, timeout: float | None = DEFAULT_TIMEOUT,
             **named) -> Diagnosis:
    """Infer the convention of ``target``'s loss, name its departures from the ELBO, and state
    the claim under which it conforms.

    The target's likelihood and convention may be left out; declared shapes are honoured.
    A departure is a finding, not an exception; ``diagnosis.is_elbo`` gives the verdict and
    ``diagnosis.claim`` a declaration that :func:`~vae_spec.check` passes. ``target`` may
    also be the function itself with the tensors of one real call
    (``diagnose(loss_fn, recon_x=..., x=..., mu=..., logvar=...)``): see
    :meth:`Target.from_example`. ``timeout`` limits each call (seconds; None for no limit): a
    call past it gives a ``timeout`` finding and no verdict.
    """
    target = as_target("diagnose", target, tensors, named)
    if not target.computes.diagnosable:
        raise TargetError(
            f"term: diagnose infers the terms {', '.join(DIAGNOSABLE_TERMS)}; for {target.term!r} "
            "declare the claim and use check"
        )
    start = time.perf_counter()
    adapter = adapter_for(target)
    target = replace(target, fn=adapter.prepare(target.fn))
    wanted = target.dtypes or tuple(d for d in ("float64", "float32") if d in adapter.dtypes())
    inference = Context(target=target, adapter=adapter, dtypes=wanted, timeout=timeout)
    layout = infer_layout(inference)
    probed = _with_fixed_sizes(target, layout)
    observations = None
    if inference.timed_out is not None:
        diagnosis = _timed_out(target, inference.timed_out)
    else:
        observations = observe(adapter, probed, layout, seed, timeout)
        diagnosis = _judge(probed, adapter, observations, layout)
    if diagnosis.evidence is None:
        diagnosis.evidence = Evidence(probed, observations, None)
    diagnosis.layout, diagnosis.layout_data = layout.words(target), layout.as_dict()
    diagnosis.findings[:0] = [
        Finding("dtype-unsupported", "warning", f"The function raised in {dtype} on every probe "
                f"({error}); probed in {', '.join(layout.dtypes)} only.")
        for dtype, error in layout.unsupported]
    diagnosis.seconds = time.perf_counter() - start
    return diagnosis


def as_target(verb: str, target, tensors: tuple, named: dict) -> Target:
    """``target`` itself, or the Target of a function and one real call's tensors."""
    if isinstance(target, Target):
        if tensors or named:
            given = ", ".join(list(named) or [f"{len(tensors)} positional"])
            raise TypeError(f"{verb}: tensors ({given}) go with a function, not a Target; use "
                            "Target.from_example")
        return target
    if callable(target) and (tensors or named):
        return Target.from_example(target, *tensors, **named)
    raise TypeError(f"{verb}: expected a vae_spec.Target, or a function with the tensors of one "
                    f"call, got {type(target).__name__}")


def name_departures(ctx) -> list[Finding]:
    """The departures of ``ctx.target``'s loss from its own claim, by the rules diagnose uses.

    Empty when no known form fits the loss (a wrong formula with no name) or when the claimed
    form fits (the failure lies outside the probes' regime).
    """
    target = ctx.target
    if not target.computes.diagnosable:
        return []
    probed = _with_fixed_sizes(target, ctx.layout)
    obs = observe(ctx.adapter, probed, ctx.layout, seed=0)
    if obs.stochastic or len(obs.probes) < 6:
        return []
    read_as = _fits(probed, obs, CLAIM)
    if read_as is None:
        return []
    best = _best(probed, read_as[0], CLAIM)
    return [] if best is None else departures(read(probed, obs, best), probed, CLAIM)


def _with_fixed_sizes(target, layout) -> Target:
    """A size the function hard-codes is read like a declared one (a sum and a mean over it fit alike)."""
    return replace(target, latent_shape=None if layout.latent.varies else layout.latent.shape,
                   data_shape=None if layout.data.varies else layout.data.shape)


def _empty(target, findings, summary, no_claim=None) -> Diagnosis:
    return Diagnosis(target.name, target.framework, False, None, None, None, None, findings, summary,
                     no_claim=no_claim)


def _fits(target, obs: Observations, against):
    """(fits, raw, reduced_rows), or None for outputs of no form.

    ``raw`` are the fits of the outputs as returned. A per-example output whose rows mix in a
    term reduced over the batch (a (B,) loss plus a batch-mean KL, as Keras losses are often
    written) is read by ``diagnose`` as its framework averages it: ``fits`` are then the
    fits of the rows' mean, and ``reduced_rows`` is True; the claim still states the raw rows.
    """
    outputs = [target.computes.sign * o for o in obs.outputs]
    vector = all(o.ndim == 1 and o.shape[0] == p.batch_size for o, p in zip(outputs, obs.probes))
    scalar = all(o.size == 1 for o in outputs)
    if not (vector or scalar):
        return None
    inputs = [p.inputs for p in obs.probes]
    fits = fitting.fit_all(target, inputs, outputs, obs.dtype, vector_output=vector and not scalar)
    per_example = [f for f in fits if f.form.batch_recon in (None, "none") and f.form.batch_kl in (None, "none")]
    if against == ELBO and vector and not scalar and not any(f.fits for f in per_example):
        means = [np.atleast_1d(o.mean()) for o in outputs]
        mean_fits = fitting.fit_all(target, inputs, means, obs.dtype, vector_output=False)
        if any(f.fits for f in mean_fits) or (mean_fits and (not fits or mean_fits[0].margin < fits[0].margin)):
            return mean_fits, fits, True
    return fits, fits, False


def _best(target, fits, against) -> fitting.Fit | None:
    fitting_forms = [f for f in fits if f.fits]
    if fitting_forms:
        return min(fitting_forms, key=lambda f: _preference(target, f, against))
    if fits and fits[0].relative_residual <= _APPROXIMATE:
        near = [f for f in fits if f.relative_residual <= 4 * fits[0].relative_residual]
        return min(near, key=lambda f: _preference(target, f, against))
    return None


def _preference(target, fit: fitting.Fit, against):
    """Ties between fitting forms go to the declared reading, then to the reference's reductions."""
    form = fit.form
    ref = reference(target, against)
    declared = target.likelihood
    declared_family = parse_likelihood(declared).name if declared else None
    likelihood_name = form.likelihood
    return (
        declared is not None and likelihood_name is not None and not same_likelihood(likelihood_name, declared_family),
        form.kl_param not in (None, target.posterior),
        form.prior not in (None, "declared"),
        form.data not in (None, ref.data),
        form.latent not in (None, ref.latent),
        None not in (form.batch_recon, form.batch_kl) and form.batch_recon != form.batch_kl
        and (against == ELBO or (form.batch_recon, form.batch_kl) != (ref.batch, ref.kl_batch_reduction)),
        (form.batch_recon or form.batch_kl) not in (None, ref.batch) if against == CLAIM
        else (form.batch_recon or form.batch_kl) == "sum",
        fitting.RECON_FAMILIES.index(likelihood_name) if likelihood_name in fitting.RECON_FAMILIES else 0,
        fit.margin,
    )


def _timed_out(target, exc: CallTimeout) -> Diagnosis:
    finding = Finding("timeout", "error", f"The function timed out: {exc}.")
    return _empty(target, [finding], "the function did not return in time", "the function timed out")


def _judge(target, adapter, obs: Observations, layout) -> Diagnosis:
    findings: list[Finding] = []
    timed_out = [exc for _, exc in obs.raised if isinstance(exc, CallTimeout)]
    if timed_out:
        return _timed_out(target, timed_out[0])
    if obs.raised:
        probe, exc = obs.raised[0]
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in probe.inputs.items())
        kind = "raised" if not isinstance(exc, AdapterTypeError) else "output-type"
        findings.append(Finding(kind, "error", (
            f"The function raised {type(exc).__name__}: {exc} on {len(obs.raised)} of "
            f"{len(obs.raised) + len(obs.probes) + len(obs.nonfinite)} probes (first with {shapes})."
            if kind == "raised" else f"The function returned {exc}.")))
    if obs.mutated:
        findings.append(Finding("input-mutated", "error", (
            f"The function modifies its input{'s' if len(obs.mutated) > 1 else ''} "
            f"{', '.join(obs.mutated)} in place: the caller's tensors change (and autograd may "
            "differentiate the modified values).")))
    if obs.nonfinite:
        findings.append(Finding("nonfinite", "warning" if obs.probes else "error",
                                f"The output is NaN or infinite on {len(obs.nonfinite)} typical probes."))
    if obs.stochastic:
        findings.append(Finding("stochastic", "error",
                                "stochastic: two identical calls differ; declare term stochastic_loss "
                                "(the loss samples inside) instead of diagnosing it as deterministic."))
        return _empty(target, findings, "the loss is stochastic", "the loss is stochastic")
    if len(obs.probes) < 6:
        return _empty(target, findings, "too few probes ran to infer a form", "too few probes ran")
    read_as = _fits(target, obs, ELBO)
    if read_as is None:
        shapes = sorted({o.shape for o in obs.outputs})
        findings.append(Finding("shape", "error", f"The output shapes {shapes} are neither "
                                "scalar nor one value per example."))
        return _empty(target, findings, "the output shape varies", "the output shape varies")
    fits, raw, reduced_rows = read_as
    best = _best(target, fits, ELBO)
    if best is None:
        return _no_fit(target, adapter, obs, fits, findings)
    if reduced_rows:
        findings.append(Finding("batch-mean", "info", (
            "The function returns one value per example but its rows are not per-example "
            "losses; it is judged as its mean over the batch (as Keras reduces it).")))
    if not best.fits:
        findings.append(Finding("precision", "warning", (
            f"The loss matches the form below only to a relative {best.relative_residual:.2g}, not "
            f"to {obs.dtype} accuracy: it adds an epsilon, clamps, or computes in lower precision.")))
    raw_best = _best(target, raw, ELBO) if reduced_rows else best
    stated = read(target, obs, raw_best) if raw_best is not None else None
    diagnosis = _describe(target, adapter, obs, read(target, obs, best), findings, layout, stated)
    diagnosis.evidence = Evidence(target, obs, best, reduced_rows)
    return diagnosis


def _no_fit(target, adapter, obs, fits, findings) -> Diagnosis:
    """Nothing fits: isolate the departing term with the probes where the KL is exactly 0."""
    zero = [i for i, p in enumerate(obs.probes) if p.kl_zero]
    recon_ok = False
    if target.computes.combined and len(zero) >= 3:
        recon_fits = fitting.fit_all(
            replace(target, term="reconstruction"), [obs.probes[i].inputs for i in zero],
            [target.computes.sign * obs.outputs[i] for i in zero], obs.dtype,
            vector_output=obs.outputs[zero[0]].size > 1,
        )
        recon_ok = any(f.fits for f in recon_fits)
    nearest = fits[0] if fits else None
    if target.computes.kl_alone or recon_ok:
        code, what = "kl-formula", "the KL term"
    else:
        code, what = "recon-formula", "the reconstruction term"
    detail = (f" The nearest form ({form_words(nearest.form)}) misses by a relative "
              f"{nearest.relative_residual:.3g}." if nearest else "")
    findings.append(Finding(code, "error", f"No ELBO form fits the outputs: {what} departs.{detail}"))
    diagnosis = _empty(target, findings, f"{what} is not any known form", f"{what} is not any known form")
    diagnosis.residual = nearest.relative_residual if nearest else None
    diagnosis.form = form_dict(nearest.form) if nearest else None
    diagnosis.counterexamples = _counterexample(target, obs)
    return diagnosis


def _counterexample(target, obs):
    if not obs.probes:
        return []
    smallest = min(range(len(obs.probes)), key=lambda i: sum(v.size for v in obs.probes[i].inputs.values()))
    probe = obs.probes[smallest]
    artifact = (artifacts.save(None, target.name, "diagnose", probe.inputs, obs.dtype)
                if artifacts.needs_file(probe.inputs) else None)
    return [CheckResult(
        "diagnose", "fail", "the smallest probe and the function's output on it",
        code="formula", counterexample={
            "dtype": obs.dtype, "regime": "probe",
            "inputs": {k: v.tolist() for k, v in probe.inputs.items()},
            "output": np.asarray(obs.outputs[smallest]).tolist(),
        }, repro=repro_snippet(target, probe.inputs, obs.dtype, artifact),
        artifact=None if artifact is None else str(artifact),
    )]


def _describe(target, adapter, obs, reading: Reading, findings, layout, stated: Reading | None) -> Diagnosis:
    """The diagnosis of ``reading``, with the claim of ``stated`` (the raw output's reading)."""
    if stated is None:
        claim, no_claim = None, "its rows are not per-example losses, and no form reads them as returned"
    else:
        claim, no_claim = stated.claim(target, layout, reference(target, ELBO))
    departed = departures(reading, target, ELBO)
    if not departed:  # the gradient is judged once the value conforms, under its claim
        departed = gradient_findings(target, adapter, obs, claim, layout)
    findings += departed + [f for f in conventions(reading, target, form_is_elbo=not departed)
                            if f.code not in {g.code for g in findings}]
    is_elbo = not any(f.severity == "error" for f in findings)
    findings.sort(key=lambda f: ("error", "warning", "info").index(f.severity))
    scale, beta, likelihood = _natural(reading, target)
    errors = [f.code for f in findings if f.severity == "error"]
    summary = ("the ELBO up to legal conventions" + (
        f" ({', '.join(f.code for f in findings if f.severity == 'info')})" if findings else "")
        if is_elbo else "departs: " + ", ".join(errors))
    form = reading.form
    convention = {
        "data": form.data or "sum", "latent": form.latent or "sum",
        "batch": form.batch_recon or form.batch_kl or "mean", "beta": beta, "scale": scale,
        "constants": reading.keeps_constants,
    }
    diagnosis = Diagnosis(
        target.name, target.framework, is_elbo, convention, scale, beta, likelihood,
        findings, summary, form_dict(form), reading.fit.relative_residual, implied_variance(reading),
        claim=claim, no_claim=no_claim,
    )
    diagnosis.counterexamples = [] if is_elbo else _counterexample(target, obs)
    return diagnosis


def _natural(reading: Reading, target):
    """(scale, beta, likelihood dict) as reported: a Gaussian's beta is relative to the sum of
    squared errors (sigma^2 = 1/2), its scale the KL's weight."""
    form, a, b = reading.form, reading.a, reading.b
    info = None
    if reading.has_recon:
        family = parse_likelihood(form.likelihood) if form.likelihood not in ("gaussian", "laplace") else None
        info = {"name": form.likelihood, "family": family.family if family else form.likelihood,
                "parameterization": family.parameterization if family else "mean"}
    if reading.has_recon and reading.has_kl:
        beta = b / a if a != 0 else float("inf")
        if form.likelihood == "gaussian":
            info["variance"] = implied_variance(reading)
            return b, beta, info
        if form.likelihood == "laplace":
            info["scale"] = b / a if a > 0 and b > 0 else None
            return b, beta, info
        return a, beta, info
    if reading.has_kl:
        return b, 1.0, info
    if form.likelihood == "gaussian":
        info["variance"] = implied_variance(reading)
    return a, None, info
