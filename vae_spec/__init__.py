"""vae_spec: is your VAE loss the ELBO? Check a declared claim, or diagnose an undeclared one.

Public API (re-exports only)::

    from vae_spec import Target, Convention, check, diagnose
    vae_spec.json_schema()   # the JSON Schema of every --json document (docs/json.md)

Names are imported on first use, so ``import vae_spec`` (and loading the pytest plugin, which
lives in this package) costs almost nothing and imports no framework.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "CheckResult": ".report",
    "ConformanceError": ".runner",
    "Convention": ".spec.objective",
    "Diagnosis": ".diagnosis",
    "Finding": ".diagnosis",
    "Report": ".report",
    "Target": ".target",
    "TargetError": ".target",
    "check": ".runner",
    "diagnose": ".diagnosis",
    "json_schema": ".schema",
}

__all__ = [*_EXPORTS, "spec", "__version__"]


def __getattr__(name):
    if name == "spec":
        return importlib.import_module(".spec", __name__)
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module 'vae_spec' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
