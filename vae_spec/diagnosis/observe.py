"""Observations: the loss called on the designed probes (:mod:`vae_spec.probes`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..probes import Probe, design


@dataclass
class Observations:
    """The probes that ran, their outputs, and what went wrong on the others."""

    dtype: str
    probes: list[Probe]
    outputs: list[np.ndarray]
    raised: list[tuple[Probe, BaseException]]
    nonfinite: list[Probe]
    stochastic: bool


def call(adapter, target, inputs, dtype):
    """(output as float64 numpy, the output's dtype name) of one call in ``dtype``."""
    natives = {name: adapter.asarray(value, dtype, target.device) for name, value in inputs.items()}
    raw = adapter.call(target.bind(natives), natives)
    return adapter.to_numpy(raw), adapter.dtype_name(raw)


def probe_dtype(adapter, target, probe, dtypes) -> str:
    """float64 where the function runs in it and keeps it (the fit's bounds are tightest),
    else the first dtype the function runs in."""
    if "float64" in dtypes:
        try:
            _, out_dtype = call(adapter, target, probe.inputs, "float64")
        except Exception as exc:  # it ran in float64 during inference: a probe-specific failure
            out_dtype = f"none ({type(exc).__name__})"
        if out_dtype == "float64":
            return "float64"
    others = [d for d in dtypes if d != "float64"]
    return others[0] if others else "float64"


def observe(adapter, target, layout, seed) -> Observations:
    """Call the loss on every probe of the design, in the dtype :func:`probe_dtype` picks."""
    probes = design(target, layout, seed=seed)
    dtype = probe_dtype(adapter, target, probes[0], layout.dtypes)
    kept, outputs, raised, nonfinite = [], [], [], []
    for probe in probes:
        inputs = {k: adapter.round_to(v, dtype) for k, v in probe.inputs.items()}
        probe = Probe(inputs, probe.kl_zero)
        try:
            output, _ = call(adapter, target, inputs, dtype)
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
        again, _ = call(adapter, target, kept[0].inputs, dtype)
        stochastic = not np.array_equal(again, outputs[0])
    return Observations(dtype, kept, outputs, raised, nonfinite, stochastic)
