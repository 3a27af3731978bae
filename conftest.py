"""Test-suite configuration: hypothesis profiles and the framework requirement.

Tests that need a framework carry ``@pytest.mark.framework("torch")``. Such a test is skipped
when the framework is not installed, unless the run requires every framework
(``--require-frameworks`` or VAE_SPEC_REQUIRE_FRAMEWORKS=1, as the README's test command and CI
do), in which case a missing framework fails the test instead of hiding it.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from hypothesis import HealthCheck, settings

# The project's own tests are derandomized: a given commit always runs the same examples, so
# a test that passes once passes every time. HYPOTHESIS_PROFILE=explore searches afresh.
settings.register_profile(
    "repo", derandomize=True, deadline=None, print_blob=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, print_blob=True, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repo"))

FRAMEWORK_MODULES = {
    "torch": "torch",
    "tensorflow": "tensorflow",
    "jax": "jax",
    "keras": "keras",
    "array-api": "array_api_strict",
}


def pytest_addoption(parser):
    parser.addoption(
        "--require-frameworks", action="store_true",
        default=os.environ.get("VAE_SPEC_REQUIRE_FRAMEWORKS", "") not in ("", "0"),
        help="fail, instead of skipping, tests whose framework is not installed",
    )


def pytest_runtest_setup(item):
    for marker in item.iter_markers("framework"):
        name = marker.args[0]
        module = FRAMEWORK_MODULES[name]
        if importlib.util.find_spec(module) is None:
            message = f"framework {name!r} is not installed (module {module})"
            if item.config.getoption("--require-frameworks"):
                pytest.fail(message + " and --require-frameworks is set", pytrace=False)
            pytest.skip(message)
