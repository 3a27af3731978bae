"""The HTML report: one self-contained page for a diagnosis or a check.

The page holds the verdict, the findings, the claim (a ``vae-spec check`` line and a
``[[tool.vae_spec.targets]]`` block), each failing check's counterexample, and plots of the
loss against the ELBO as the batch, latent and data sizes vary, drawn from the diagnosis's
probes as inline SVG by matplotlib (the ``report`` extra, imported only here and only when a
page is drawn). Nothing on the page refers to the network: no script, stylesheet or image URL.
"""

from __future__ import annotations

import html
import io
import re
import shlex
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from .artifacts import file_stem
from .report import array_summary, short_array

INSTALL = 'pip install "vae-spec[report]"'

#: (key, axis label, word) of each size the probes vary
_AXES = (("B", "batch size B", "batch"), ("d", "latent size d", "latent"), ("D", "data size D", "data"))
_CSS = """
body{font:15px/1.45 system-ui,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d1d1f;margin:0;background:#f6f7f9}
main{max-width:1160px;margin:0 auto;padding:20px 24px;background:#fff}
h1{font-size:22px;margin:4px 0 6px}h1 code{font-size:19px}h3{font-size:15px;margin:12px 0 4px}
h2{font-size:18px;margin:22px 0 8px;border-bottom:1px solid #ddd}
code,pre{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
pre{background:#f3f4f6;padding:8px 10px;border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0}
.verdict{font-size:17px;font-weight:600;padding:8px 12px;border-radius:4px;margin:8px 0;color:#fff}
.bad{background:#b3261e}.good{background:#1b6e20}.meta{color:#555;margin:2px 0}
table{border-collapse:collapse;width:100%;margin:4px 0}th{background:#fafafa;font-weight:600}
td,th{border-bottom:1px solid #e3e3e3;padding:4px 8px;text-align:left;vertical-align:top}td code{white-space:nowrap}
.sev-error{color:#b3261e;font-weight:600}.sev-warning{color:#8a5a00;font-weight:600}.sev-info{color:#245c9c}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:10px}
figure{margin:0;border:1px solid #e3e3e3;border-radius:4px;padding:4px}figure svg{width:100%;height:auto;display:block}
figcaption{font-size:13px;color:#555;padding:2px 6px}
.counterexample{border-left:4px solid #b3261e;padding:2px 12px;margin:10px 0}
"""


class MissingMatplotlib(ImportError):
    """matplotlib, which draws the plots, is not installed."""


def require_matplotlib() -> None:
    """Raise :class:`MissingMatplotlib`, naming the extra to install, if matplotlib is missing."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise MissingMatplotlib(f"the HTML report draws its plots with matplotlib, which is not "
                                f"installed: {INSTALL}")


def page_name(target: str) -> str:
    """A file name for ``target``'s page: safe characters only."""
    return file_stem(target) + ".html"


def write_page(path, page: str) -> str:
    """Write ``page`` to ``path`` (its folder made); the line that says so."""
    (path := Path(path)).parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return f"wrote the HTML report to {path}"


# -- pages --------------------------------------------------------------------------------------
def diagnosis_page(diagnosis, target_spec: str | None = None) -> str:
    """The page of a :class:`~vae_spec.diagnosis.Diagnosis`."""
    require_matplotlib()
    body = [_heading("diagnose", diagnosis.target, diagnosis.framework), *_diagnosis_sections(diagnosis, target_spec)]
    return _document(f"vae-spec diagnose {diagnosis.target}", body)


def check_page(report, target, target_spec: str | None = None, with_diagnosis: bool = True) -> str:
    """The page of a check's :class:`~vae_spec.report.Report` on ``target``; with
    ``with_diagnosis``, the target is also diagnosed for the plots (a note where it cannot be)."""
    require_matplotlib()
    where = target_spec or target.name
    verdict = "PASSED" if report.passed else f"FAILED ({len(report.failures)} check(s))"
    body = [_heading("check", report.target, report.framework),
            _verdict(f"{verdict} in {report.seconds:.2f} s (seed {report.seed})", report.passed),
            _p(f"claims: {report.claim}")]
    if report.not_elbo:
        body.append(_p(f"this claim is not the ELBO: it states {', '.join(report.not_elbo)}"))
    if report.layout:
        body.append(_p(f"shapes: {report.layout}", "meta"))
    if report.findings:
        body += ["<h2>Departures from the claim</h2>", _findings_table(report.findings)]
    body += ["<h2>Checks</h2>", _checks_table(report.checks)]
    failing = [r for r in report.checks if r.status in ("fail", "error") and r.counterexample]
    if failing:
        body += ["<h2>Counterexamples</h2>", *map(_counterexample, failing)]
    body += ["<h2>The declared claim</h2>", *_claim_lines(_declared_claim(target), where)]
    body += [_p(f"note: {note}", "meta") for note in report.notes]
    if with_diagnosis:
        body += ["<h2>Diagnosis of the same loss</h2>", *_diagnosis_of(target, where)]
    return _document(f"vae-spec check {report.target}", body)


def _diagnosis_of(target, where: str) -> list[str]:
    """The diagnosis sections for a check page, or why there are none."""
    from .diagnosis import diagnose

    try:
        diagnosis = diagnose(target)
    except Exception as exc:  # the plots explain; the check's verdict stands without them
        return [_p(f"no diagnosis: {type(exc).__name__}: {exc}", "meta")]
    return _diagnosis_sections(diagnosis, where)


def _diagnosis_sections(diagnosis, target_spec: str | None) -> list[str]:
    """Verdict, shapes, findings, plots and claim of a diagnosis."""
    from .diagnosis.result import _reads_as

    verdict = ("is the ELBO: " if diagnosis.is_elbo else "is NOT the ELBO: ") + diagnosis.summary
    out = [_verdict(verdict, diagnosis.is_elbo)]
    if diagnosis.layout:
        out.append(_p(f"shapes: {diagnosis.layout}", "meta"))
    if diagnosis.likelihood:
        out.append(_p(f"reads as: {_reads_as(diagnosis)}", "meta"))
    out += ["<h2>Findings</h2>", _findings_table(diagnosis.findings)]
    out += ["<h2>The loss against the ELBO</h2>", *_plots(diagnosis)]
    out.append("<h2>Claim under which it conforms</h2>")
    if diagnosis.claim is None:
        return out + [_p(f"no claim: {diagnosis.no_claim or 'none'}")]
    if diagnosis.claim.not_elbo:
        out.append(_p(f"it states the departures {', '.join(diagnosis.claim.not_elbo)}: not an ELBO"))
    return out + _claim_lines(diagnosis.claim, target_spec or diagnosis.target)


# -- HTML pieces --------------------------------------------------------------------------------
def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _p(text: str, cls: str | None = None) -> str:
    return f'<p class="{cls}">{_e(text)}</p>' if cls else f"<p>{_e(text)}</p>"


def _document(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body><main>\n"
            + "\n".join(body) + "\n</main></body></html>\n")


def _heading(verb: str, target: str, framework: str) -> str:
    return f"<h1>vae-spec {verb} <code>{_e(target)}</code> [{_e(framework)}]</h1>"


def _verdict(text: str, good: bool) -> str:
    return f'<p class="verdict {"good" if good else "bad"}">{_e(text)}</p>'


def _findings_table(findings) -> str:
    if not findings:
        return _p("no findings")
    rows = "".join(f'<tr><td class="sev-{_e(f.severity)}">{_e(f.severity)}</td><td><code>{_e(f.code)}'
                   f"</code></td><td>{_e(f.message)}</td></tr>" for f in findings)
    return f'<table class="findings"><tr><th>severity</th><th>code</th><th>finding</th></tr>{rows}</table>'


def _checks_table(checks) -> str:
    marks = [{"pass": "ok", "skip": "skip"}.get(r.status, "FAIL" if r.failed else "warn") for r in checks]
    rows = "".join(
        f'<tr><td class="{"sev-error" if r.failed else ""}">{mark}</td><td>{_e(r.name)}</td>'
        f"<td><code>{_e(r.code or '')}</code></td><td>{_e(r.message)}</td></tr>" for r, mark in zip(checks, marks))
    return f'<table class="checks"><tr><th></th><th>check</th><th>code</th><th>result</th></tr>{rows}</table>'


def _counterexample(result) -> str:
    """A failing check's counterexample: inputs by shape and range, output against expected."""
    example = result.counterexample or {}
    rows = []
    for name, values in example.get("inputs", {}).items():
        summary = array_summary(values)
        span = f"[{summary['min']:.4g}, {summary['max']:.4g}]" if summary["min"] is not None else "no finite value"
        rows.append(f"<tr><td><code>{_e(name)}</code></td><td>{_e(tuple(summary['shape']))}</td>"
                    f"<td>{_e(span)}</td></tr>")
    out = [f'<div class="counterexample"><h3>{_e(result.name)} <code>[{_e(result.code or "")}]</code></h3>',
           _p(result.message),
           _p(f"{example.get('dtype', '?')}, {example.get('regime', '?')} regime", "meta"),
           f"<table><tr><th>input</th><th>shape</th><th>range</th></tr>{''.join(rows)}</table>"]
    for key in ("output", "expected"):
        if key in example:
            out.append(f"<p>{key}: <code>{_e(short_array(example[key]))}</code></p>")
    if result.max_error is not None and result.bound is not None:
        margin = f" (margin {result.margin:.3g})" if result.margin is not None else ""
        out.append(_p(f"error {result.max_error:.6g}, bound {result.bound:.3g}{margin}"))
    if result.repro:
        out.append(f"<details><summary>repro</summary><pre>{_e(result.repro)}</pre></details>")
    return "\n".join(out) + "</div>"


def _claim_lines(claim, target_spec: str) -> list[str]:
    command, block = claim.command_line(target_spec), claim.pyproject_block(target_spec)
    out = []
    if command:
        out += ["<h3>Command line</h3>", f'<pre class="claim-command">{_e(_shell_lines(command))}</pre>']
    if block:
        out += ["<h3>pyproject.toml</h3>", f'<pre class="claim-pyproject">{_e(block)}</pre>']
    return out + ["<h3>Python</h3>", f"<pre>{_e(claim.python_expression())}</pre>"]


def _shell_lines(command: str, width: int = 96) -> str:
    """``command`` wrapped before its options (``\\`` continuations, as a shell reads them),
    never inside a quoted word."""
    lines, pieces = [""], command.split(" --")
    for number, piece in enumerate(pieces):
        word = piece if number == 0 else "--" + piece
        quoted = lines[-1].count("'") % 2 == 1
        if number and (quoted or len(lines[-1]) + len(word) < width):
            lines[-1] += " " + word
        elif number:
            lines.append("    " + word)
        else:
            lines[-1] = word
    wrapped = " \\\n".join(lines)
    try:
        same = shlex.split(wrapped.replace("\\\n", " ")) == shlex.split(command)
    except ValueError:
        same = False
    return wrapped if same else command


def _declared_claim(target):
    """The claim ``target`` declares, as a :class:`~vae_spec.claims.Claim` (its fields are Target's)."""
    from .claims import Claim

    return Claim(**{f.name: getattr(target, f.name) for f in fields(Claim) if f.name != "not_elbo"})


# -- the plots' data ----------------------------------------------------------------------------
@dataclass
class Series:
    """One axis's probes: the size, the loss, the fitted form's prediction, the ELBO's value."""

    axis: int  # index into _AXES
    sizes: np.ndarray
    loss: np.ndarray
    predicted: np.ndarray | None
    reference: np.ndarray | None
    fixed: str  # the other sizes, in words


def series(diagnosis) -> tuple[list[Series], list[str]]:
    """(a Series per size the probes vary, the sizes they hold fixed, in words)."""
    evidence = diagnosis.evidence
    if evidence is None or not evidence.observations.probes:
        return [], []
    obs, target = evidence.observations, evidence.target
    rows = [(p, o) for p, o in zip(obs.probes, obs.outputs) if not p.kl_zero]
    if not rows:
        return [], []
    sizes = np.array([_sizes(p.inputs) for p, _ in rows], dtype=float)
    centre = sizes[0]
    loss = np.array([float(np.mean(o)) for _, o in rows])
    predicted = _predictions(evidence, [p for p, _ in rows])
    elbo = _elbo_target(diagnosis, target)
    reference = None if elbo is None else np.array([_reference(elbo, p.inputs) for p, _ in rows])
    out, fixed = [], []
    for axis, (key, label, word) in enumerate(_AXES):
        if np.isnan(centre[axis]):
            continue
        others = [j for j in range(3) if j != axis and not np.isnan(centre[j])]
        on = np.all(sizes[:, others] == centre[others], axis=1) if others else np.ones(len(rows), bool)
        if len(set(sizes[on, axis])) < 2:
            fixed.append(f"{key} = {centre[axis]:g}")
            continue
        held = ", ".join(f"{_AXES[j][0]} = {centre[j]:g}" for j in others)
        out.append(Series(axis, sizes[on, axis], loss[on], None if predicted is None else predicted[on],
                          None if reference is None else reference[on], held))
    return out, fixed


def _sizes(inputs: dict) -> tuple[float, float, float]:
    """(B, d, D) of one probe (NaN where the target has no such input)."""
    batch = float(next(iter(inputs.values())).shape[0])
    return batch, *(float(inputs[n][0].size) if n in inputs else np.nan for n in ("mu", "x"))


def _predictions(evidence, probes) -> np.ndarray | None:
    """The fitted form on each probe: columns @ coefficients, in the output's sign, batch-averaged."""
    from . import fitting

    fit = evidence.fit
    if fit is None:
        return None
    coefficients = np.array([fit.recon, fit.kl, fit.per_element, fit.offset, fit.per_latent])
    sign = evidence.target.computes.sign
    values = []
    for probe in probes:
        found = fitting.columns(fit.form, evidence.target, probe.inputs, {})
        values.append(np.nan if found is None else sign * float(np.mean(found[0] @ coefficients)))
    return np.array(values)


def _elbo_target(diagnosis, target):
    """The target whose spec value is the ELBO's: the declared (else inferred) likelihood, the
    ELBO's reductions and beta, and the legal conventions (scale, batch, constants) the loss uses."""
    from .spec.likelihoods import parse_likelihood
    from .spec.objective import Convention

    claim = diagnosis.claim
    likelihood = target.likelihood
    if claim is not None and claim.likelihood and (likelihood is None or parse_likelihood(
            likelihood).family == parse_likelihood(claim.likelihood).family):
        likelihood = claim.likelihood
    if target.computes.reconstruction and likelihood is None:
        return None
    legal = claim.convention if claim is not None else target.convention
    try:
        convention = Convention(batch=legal.batch, beta=target.convention.beta,
                                scale=legal.scale, constants=legal.constants)
        return replace(target, likelihood=likelihood, convention=convention)
    except ValueError:
        return None


def _reference(target, inputs: dict) -> float:
    from .reference import expected

    try:
        return float(np.mean(expected(target, inputs).value))
    except (ValueError, ArithmeticError):
        return np.nan


# -- the plots ----------------------------------------------------------------------------------
def _plots(diagnosis) -> list[str]:
    """Figures of the loss and the ELBO against each size the probes vary, and their caption."""
    drawn, fixed = series(diagnosis)
    if not drawn:
        return [_p("no probes ran: nothing to plot")]
    evidence = diagnosis.evidence
    term = evidence.target.term
    reference = {"loss": "−ELBO", "elbo": "ELBO"}.get(term, f"the spec's {term}")
    vector = any(np.ndim(o) and np.size(o) > 1 for o in evidence.observations.outputs)
    ylabel = f"{term} value" + (" (mean of the rows)" if vector else "")
    intro = (f"Each point is one probe (random inputs at that size); the line through the loss's "
             f"points is the fitted form, the dashed line the {reference} of the ELBO's reductions "
             f"under the loss's legal conventions (scale, batch reduction, constants).")
    figures = [_figure(s, reference, ylabel) for s in drawn]
    out = [_p(intro), '<div class="plots">' + "".join(figures) + "</div>"]
    if fixed:
        out.append(_p(f"held fixed by the target: {', '.join(fixed)}", "meta"))
    if evidence.fit is not None:
        from .diagnosis.result import form_words

        fit = evidence.fit
        out.append(_p(f"fitted form: {form_words(fit.form)}; weights: reconstruction {fit.recon:.4g}, "
                      f"KL {fit.kl:.4g}, offset {fit.offset:.4g}; relative residual "
                      f"{fit.relative_residual:.2g}", "meta"))
    return out


def _figure(s: Series, reference: str, ylabel: str) -> str:
    key, label, word = _AXES[s.axis]
    caption = f"as the {word} size {key} varies ({s.fixed})" if s.fixed else f"as {key} varies"
    return f"<figure>{_svg(s, reference, label, ylabel)}<figcaption>{_e(caption)}</figcaption></figure>"


def _svg(s: Series, reference: str, xlabel: str, ylabel: str) -> str:
    """One plot as an inline <svg> element (text kept as text)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "vae-spec", "font.size": 10}):
        figure = Figure(figsize=(4.6, 3.3), layout="constrained")
        ax = figure.add_subplot()
        sizes = np.unique(s.sizes)
        ax.plot(s.sizes, s.loss, "o", color="C0", label="the loss (probes)", zorder=3)
        if s.predicted is not None:
            ax.plot(sizes, _means(s.sizes, s.predicted, sizes), "-", color="C0", label="fitted form")
        if s.reference is not None:
            ax.plot(s.sizes, s.reference, "s", mfc="none", color="C3", label=f"{reference} (probes)")
            ax.plot(sizes, _means(s.sizes, s.reference, sizes), "--", color="C3", label=reference)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_xticks(sizes)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9, frameon=False)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()  # the <svg> element alone: no XML prolog, no metadata
    return re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)


def _means(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The mean of ``y`` at each size in ``at`` (NaN where none is finite)."""
    return np.array([np.nanmean(y[x == v]) if np.isfinite(y[x == v]).any() else np.nan for v in at])
