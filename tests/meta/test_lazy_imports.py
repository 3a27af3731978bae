"""Importing vae_spec, its engine or its pytest plugin imports no framework."""

import subprocess
import sys

import pytest

FRAMEWORKS = ("torch", "tensorflow", "jax", "keras", "array_api_strict",
              "matplotlib")  # the HTML report's plots, imported only when a page is drawn


@pytest.mark.parametrize("statement", [
    "import vae_spec",
    "from vae_spec import Target, Convention, check, diagnose, spec",
    "import vae_spec.pytest_plugin",
    "import vae_spec.runner, vae_spec.diagnosis, vae_spec.checks, vae_spec.cli, vae_spec.examples",
    "import vae_spec.selftest.corpus",
    "import vae_spec.html_report",
])
def test_no_framework_is_imported(statement):
    code = f"{statement}\nimport sys\nprint(','.join(m for m in {FRAMEWORKS!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "", f"{statement!r} imported {loaded.stdout.strip()}"


def test_import_vae_spec_loads_only_the_package_module():
    code = "import vae_spec, sys\nprint(sorted(m for m in sys.modules if m.startswith('vae_spec')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "['vae_spec']"


def test_loading_the_plugin_imports_no_numpy():
    """The plugin loads in every pytest run of a project that installs vae_spec: it parses its
    options with the standard library and imports numpy only when a target is collected."""
    code = "import vae_spec.pytest_plugin, sys\nprint('numpy' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
