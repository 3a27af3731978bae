"""vae_spec: is your VAE loss the ELBO? Check a declared claim, or diagnose an undeclared one.

Public API (re-exports only; importing vae_spec imports no framework)::

    from vae_spec import Target, Convention, check, diagnose
"""

from . import spec
from .diagnose import Diagnosis, Finding, diagnose
from .report import CheckResult, Report
from .runner import ConformanceError, check
from .spec.objective import Convention
from .target import Target, TargetError

__version__ = "0.1.0"

__all__ = [
    "CheckResult", "ConformanceError", "Convention", "Diagnosis", "Finding", "Report", "Target",
    "TargetError", "check", "diagnose", "spec", "__version__",
]
