"""Counterexample arrays saved losslessly beside the run, where a report is too short to hold them.

A counterexample of more than ``INLINE_ELEMENTS`` input elements (a 784-pixel image, say) is
summarized in the text report (shape, dtype, range) and written whole to an ``.npz`` file: the
inputs as float64, which holds every value of the lower-precision dtype they were rounded to
exactly. The repro snippet loads that file. Smaller counterexamples stay inline in the repro.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np

from .memo import fingerprint

#: where the files go unless the run names a directory (``--artifacts DIR``)
DEFAULT_DIRECTORY = pathlib.Path("vae-spec-artifacts")
#: input elements a repro snippet writes out itself
INLINE_ELEMENTS = 48


def needs_file(inputs: dict[str, np.ndarray]) -> bool:
    return sum(np.asarray(value).size for value in inputs.values()) > INLINE_ELEMENTS


def save(directory, target_name: str, label: str, inputs: dict[str, np.ndarray], dtype: str) -> pathlib.Path:
    """Write ``inputs`` to ``<directory>/<target>-<label>-<digest>.npz`` and return the path."""
    digest = fingerprint(("artifact", dtype), inputs.items()).hexdigest()[:12]
    path = pathlib.Path(directory if directory is not None else DEFAULT_DIRECTORY)
    path.mkdir(parents=True, exist_ok=True)
    path = path / f"{file_stem(target_name)}-{file_stem(label, 40)}-{digest}.npz"
    np.savez(path, **{name: np.asarray(value, dtype=np.float64) for name, value in inputs.items()})
    return path


def file_stem(text: str, limit: int = 60) -> str:
    """``text`` as part of a file name: safe characters only, at most ``limit`` of them (a
    target named after a closure's repr runs to hundreds)."""
    return (re.sub(r"[^A-Za-z0-9_.-]+", "_", text or "").strip("_.") or "target")[:limit]
