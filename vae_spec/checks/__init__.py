"""The conformance checks, one named function per property, in run order.

Each check takes a :class:`~vae_spec.checks._engine.Context` and returns a
:class:`~vae_spec.report.CheckResult`; ``CHECKS`` maps names to their registrations.
"""

from . import output, value, batch, scaling, gradient, mutation, stochastic, sampler  # noqa: F401  (registers)
from ._engine import Context
from .registry import CHECKS, CheckSpec

__all__ = ["CHECKS", "CheckSpec", "Context"]
