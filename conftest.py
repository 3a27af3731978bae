"""Test-suite configuration: hypothesis profiles, the framework requirement and selection.

Tests that need a framework carry ``@pytest.mark.framework("torch")``. Such a test is skipped
when the framework is not installed, unless the run requires it: ``--require-frameworks`` or
VAE_SPEC_REQUIRE_FRAMEWORKS=1 require every framework (as the README's test command and CI
do), VAE_SPEC_REQUIRE_FRAMEWORKS=torch,keras the ones named (as each tox env does for what it
installs); a required framework that is missing fails the test instead of hiding it.

``--frameworks torch,keras`` (or VAE_SPEC_FRAMEWORKS) runs only the tests whose frameworks are
all among those named, an unmarked test counting as a numpy test; the rest are deselected.
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
    "numpy": "numpy",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "jax": "jax",
    "keras": "keras",
    "array-api": "array_api_strict",
    "report": "matplotlib",  # the HTML report's plots (the report extra), required like a framework
}


def _framework_list(text: str, source: str) -> frozenset[str]:
    names = frozenset(name.strip() for name in text.split(",") if name.strip())
    unknown = sorted(names - set(FRAMEWORK_MODULES))
    if unknown:
        raise pytest.UsageError(
            f"{source}: unknown framework(s) {', '.join(unknown)}; expected any of "
            f"{', '.join(FRAMEWORK_MODULES)}"
        )
    return names


def pytest_addoption(parser):
    parser.addoption(
        "--require-frameworks", action="store_true",
        help="fail, instead of skipping, tests whose framework is not installed (every framework)",
    )
    parser.addoption(
        "--frameworks", default=os.environ.get("VAE_SPEC_FRAMEWORKS"), metavar="LIST",
        help="run only tests whose frameworks are all in LIST (comma-separated; an unmarked "
             "test counts as numpy)",
    )


REQUIRED = pytest.StashKey[frozenset]()
SELECTED = pytest.StashKey[frozenset | None]()


def pytest_configure(config):
    """Resolve which frameworks must be installed and which tests to keep."""
    required = os.environ.get("VAE_SPEC_REQUIRE_FRAMEWORKS", "").strip()
    if config.getoption("--require-frameworks") or required == "1":
        config.stash[REQUIRED] = frozenset(FRAMEWORK_MODULES)
    elif required in ("", "0"):
        config.stash[REQUIRED] = frozenset()
    else:
        config.stash[REQUIRED] = _framework_list(required, "VAE_SPEC_REQUIRE_FRAMEWORKS")
    selected = config.getoption("--frameworks")
    config.stash[SELECTED] = None if selected is None else _framework_list(selected, "--frameworks")


def _frameworks_of(item) -> frozenset[str]:
    return frozenset(marker.args[0] for marker in item.iter_markers("framework")) or frozenset({"numpy"})


def pytest_collection_modifyitems(config, items):
    selected = config.stash[SELECTED]
    if selected is None:
        return
    kept, dropped = [], []
    for item in items:
        (kept if _frameworks_of(item) <= selected else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_runtest_setup(item):
    for name in _frameworks_of(item):
        module = FRAMEWORK_MODULES[name]
        if importlib.util.find_spec(module) is None:
            message = f"framework {name!r} is not installed (module {module})"
            if name in item.config.stash[REQUIRED]:
                pytest.fail(message + ", and this run requires it", pytrace=False)
            pytest.skip(message)


@pytest.fixture(autouse=True)
def _artifacts_in_a_temporary_directory(tmp_path_factory, monkeypatch):
    """Large counterexamples a test provokes are saved under the test's temporary tree, not in
    the working directory (vae_spec.artifacts.DEFAULT_DIRECTORY)."""
    from vae_spec import artifacts

    monkeypatch.setattr(artifacts, "DEFAULT_DIRECTORY", tmp_path_factory.mktemp("vae-spec-artifacts"))
