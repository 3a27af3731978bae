"""Observations: the loss called on the designed probes (:mod:`vae_spec.probes`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.call import DEFAULT_TIMEOUT, Caller
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
    mutated: tuple[str, ...] = ()  # inputs the function modified in place on some probe


def probe_dtype(caller: Caller, probe, dtypes) -> str:
    """float64 where the function runs in it and keeps it (the fit's bounds are tightest),
    else the first dtype the function runs in (a float64 call that raises here ran during
    shape inference: the probes that raise are reported one by one)."""
    if "float64" in dtypes and caller.call(probe.inputs, "float64").dtype == "float64":
        return "float64"
    others = [d for d in dtypes if d != "float64"]
    return others[0] if others else "float64"


def observe(adapter, target, layout, seed, timeout: float | None = DEFAULT_TIMEOUT) -> Observations:
    """Call the loss on every probe of the design, in the dtype :func:`probe_dtype` picks.

    Every probe is a fresh call (nothing remembered), so calling the first probe twice tells
    whether the function samples inside.
    """
    caller = Caller(target, adapter, seed=seed, remember=False, timeout=timeout)
    probes = design(target, layout, seed=seed)
    dtype = probe_dtype(caller, probes[0], layout.dtypes)
    kept, outputs, raised, nonfinite, mutated = [], [], [], [], set()
    for probe in probes:
        inputs = {k: adapter.round_to(v, dtype) for k, v in probe.inputs.items()}
        probe = Probe(inputs, probe.kl_zero)
        call = caller.call(inputs, dtype)
        mutated.update(call.mutated)
        if not call.ok:
            raised.append((probe, call.error))
        elif not np.isfinite(call.output).all():
            nonfinite.append(probe)
        else:
            kept.append(probe)
            outputs.append(call.output)
    stochastic = False
    if kept:
        again = caller.call(kept[0].inputs, dtype)
        stochastic = not again.ok or not np.array_equal(again.output, outputs[0])
    return Observations(dtype, kept, outputs, raised, nonfinite, stochastic,
                        tuple(n for n in target.canonical_args if n in mutated))
