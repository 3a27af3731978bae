"""diagnose -> claim -> check: the claim diagnose prints for a real loss passes ``check``.

For every loss of the real-world corpus, the claim diagnose infers (from the minimal
declaration, likelihood and convention left out) is fed back to ``check`` at the default
settings and must pass. A departing loss's claim states the objective the loss does compute:
its ``not_elbo`` names the departure, and the report of ``check`` keeps saying so. A loss with
no claim (a departure no Convention states) gets the reason instead. A loss that matches its
form only approximately (an epsilon inside a log: diagnose's ``precision`` warning) may still
fail ``check`` where the epsilon matters, but with no departure named: the claimed form is
the one the loss computes.
"""

from __future__ import annotations

import pytest

from vae_spec import Target, check, diagnose

from .corpus import CORPUS
from .test_verdicts import _params, target_of

DIAGNOSED = [e for e in CORPUS if e.term in ("loss", "elbo") and e.name != "autograd_vae"]


@pytest.fixture(scope="module")
def diagnoses():
    return {}


def _diagnosis(entry, cache):
    if entry.name not in cache:
        cache[entry.name] = diagnose(target_of(entry, for_diagnosis=True))
    return cache[entry.name]


@pytest.mark.parametrize("entry", _params(DIAGNOSED))
def test_the_claim_diagnose_prints_passes_check(entry, diagnoses):
    diagnosis = _diagnosis(entry, diagnoses)
    if diagnosis.claim is None:
        assert not entry.is_elbo and diagnosis.no_claim, diagnosis.to_text()
        pytest.skip(f"no Convention states this departure: {diagnosis.no_claim}")
    target = Target(entry.load(), name=entry.name, **diagnosis.claim.target_kwargs())
    report = check(target, raise_on_failure=False)
    if "precision" in diagnosis.codes:
        assert report.passed or not report.findings, f"{diagnosis.to_text()}\n{report.to_text()}"
    else:
        assert report.passed, f"{diagnosis.to_text()}\n{report.to_text()}"
    if not entry.is_elbo and diagnosis.claim.posterior == target_of(entry).posterior:
        assert diagnosis.claim.not_elbo and set(report.not_elbo) == set(diagnosis.claim.not_elbo)
