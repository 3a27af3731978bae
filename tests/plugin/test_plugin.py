"""The pytest plugin and parametrize_with_checks, run on a throwaway project with pytester.

The project holds a correct Bernoulli-probs negative ELBO (batch sum) and a buggy one whose KL
is averaged over latent dimensions (finding ``kl-latent-mean``; its value check reports
``kl-latent-mean`` too, as diagnose names it), in numpy and in torch. Runs keep to a few checks and 5 cases per check.
Torch runs in a subprocess: a torch imported inside an in-process run cannot be imported again
once pytester restores sys.modules.
"""

from __future__ import annotations

import re

import pytest

from vae_spec import Convention, Target
from vae_spec.checks import CHECKS
from vae_spec.frameworks import get_adapter
from vae_spec.pytest import parametrize_with_checks

pytest_plugins = ["pytester"]

LOSSES_NUMPY = """
import numpy as np

def _terms(x_recon, x, mu, logvar):
    data_axes, latent_axes = tuple(range(1, x.ndim)), tuple(range(1, mu.ndim))
    nll = -(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)).sum(axis=data_axes)
    kl = -0.5 * (1 + logvar - mu**2 - np.exp(logvar))
    return nll, kl, latent_axes

def good(x_recon, x, mu, logvar):
    nll, kl, latent_axes = _terms(x_recon, x, mu, logvar)
    return (nll + kl.sum(axis=latent_axes)).sum()

def bad(x_recon, x, mu, logvar):
    nll, kl, latent_axes = _terms(x_recon, x, mu, logvar)
    return (nll + kl.mean(axis=latent_axes)).sum()

def broken(x_recon, x, mu, logvar):
    raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
"""

LOSSES_TORCH = """
import torch

def _terms(x_recon, x, mu, logvar):
    data_axes, latent_axes = tuple(range(1, x.ndim)), tuple(range(1, mu.ndim))
    nll = -(x * torch.log(x_recon) + (1 - x) * torch.log1p(-x_recon)).sum(dim=data_axes)
    kl = -0.5 * (1 + logvar - mu**2 - torch.exp(logvar))
    return nll, kl, latent_axes

def good(x_recon, x, mu, logvar):
    nll, kl, latent_axes = _terms(x_recon, x, mu, logvar)
    return (nll + kl.sum(dim=latent_axes)).sum()

def bad(x_recon, x, mu, logvar):
    nll, kl, latent_axes = _terms(x_recon, x, mu, logvar)
    return (nll + kl.mean(dim=latent_axes)).sum()
"""


def table(name, target, framework="numpy", **extra):
    """One [[tool.vae_spec.targets]] table for a Bernoulli-probs loss with batch sum."""
    lines = [
        "[[tool.vae_spec.targets]]", f'name = "{name}"', f'target = "{target}"',
        f'framework = "{framework}"', 'args = ["x_recon", "x", "mu", "logvar"]',
        'likelihood = "bernoulli-probs"', 'convention = { batch = "sum" }',
    ]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def make_project(pytester, *tables, testpaths=True):
    """losses_np.py, losses_torch.py, a trivial tests/ and pyproject.toml with the tables."""
    pytester.makepyfile(losses_np=LOSSES_NUMPY, losses_torch=LOSSES_TORCH)
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_unrelated.py").write_text("def test_unrelated():\n    pass\n")
    ini = '[tool.pytest.ini_options]\n' + ('testpaths = ["tests"]\n' if testpaths else "")
    pytester.makepyprojecttoml(ini + "\n" + "\n".join(tables))


NUMPY_TARGETS = (table("good", "losses_np:good"), table("bad", "losses_np:bad"))
FEW = ("--vae-max-examples=5", "-p", "no:cacheprovider")


def _loss(x_recon, x, mu, logvar):
    return x_recon


def applicable_checks(fn, framework="numpy"):
    target = Target(fn, framework=framework, args=("x_recon", "x", "mu", "logvar"),
                    likelihood="bernoulli-probs")
    adapter = get_adapter(framework)
    return [name for name, spec in CHECKS.items() if not spec.applies(target, adapter)]


def test_pyproject_targets_become_one_item_per_applicable_check(pytester):
    make_project(pytester, *NUMPY_TARGETS)
    result = pytester.runpytest("--collect-only", "-q")
    checks = applicable_checks(_loss)
    expected = [f"pyproject.toml::{name}::{check}" for name in ("good", "bad") for check in checks]
    assert [line for line in result.outlines if line.startswith("pyproject.toml::")] == expected
    result.stdout.fnmatch_lines(["tests/test_unrelated.py::test_unrelated"])


def test_a_correct_loss_passes_and_a_buggy_one_fails_with_the_engines_report(pytester):
    make_project(pytester, *NUMPY_TARGETS)
    result = pytester.runpytest(*FEW, "-k", "value or latent_scaling or shape", "pyproject.toml")
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines([
        "*_ bad::value _*",
        "value [[]kl-latent-mean]: output differs from the spec by *",
        "",
        "losses_np:bad [[]numpy] claims: loss, likelihood=bernoulli-probs*batch=sum*",
        "*departs from the claim:",
        "    kl-latent-mean: The KL is averaged over the latent dimensions*",
        "  FAIL value [[]kl-latent-mean]: output differs from the spec by *, above the bound *",
        "*counterexample (*",
        "*error * > bound * (margin *)",
        "*repro:",
        "*from losses_np import bad as fn",
        "*_ bad::latent_scaling _*",
        "  FAIL latent_scaling [[]kl-latent-mean]: *",
        "FAILED pyproject.toml::bad::value - value [[]kl-latent-mean]: output differs*",
    ])
    # the report is the whole failure: no traceback into the plugin or the engine
    assert "Traceback" not in result.stdout.str()
    assert "vae_spec/" not in result.stdout.str()


def test_the_reported_session_time_is_the_wall_time(pytester):
    """The plugin leaves pytest's session timer alone: a run holding a 0.5 s test and a target's
    checks reports at least 0.5 s and no more than the wall time of the whole run."""
    import time

    make_project(pytester, NUMPY_TARGETS[0])
    (pytester.path / "tests" / "test_unrelated.py").write_text(
        "import time\n\ndef test_slow():\n    time.sleep(0.5)\n")
    start = time.perf_counter()
    result = pytester.runpytest_subprocess(*FEW, "-k", "slow or value", "tests", "pyproject.toml")
    wall = time.perf_counter() - start
    result.assert_outcomes(passed=2)
    reported = float(re.search(r" in ([0-9.]+)s =+$", result.stdout.str(), re.M).group(1))
    assert 0.5 <= reported <= wall


def test_k_selects_targets_and_checks(pytester):
    make_project(pytester, *NUMPY_TARGETS)
    result = pytester.runpytest(*FEW, "-k", "good and value")
    result.assert_outcomes(passed=1, deselected=2 * len(applicable_checks(_loss)))
    result.stdout.fnmatch_lines(["*1 passed*deselected*"])


def test_a_target_checked_in_several_dtypes_has_one_item_per_dtype(pytester):
    make_project(pytester, table("good", "losses_np:good", dtypes='["float32", "float64"]'))
    result = pytester.runpytest("--collect-only", "-q", "-k", "value", "pyproject.toml")
    assert [line for line in result.outlines if line.startswith("pyproject.toml::")] == [
        "pyproject.toml::good::value[float32]", "pyproject.toml::good::value[float64]",
    ]


def test_a_file_target_resolves_from_the_rootdir(pytester):
    make_project(pytester, table("from_file", "lib/loss_file.py:good"))
    (pytester.path / "lib").mkdir()
    (pytester.path / "lib" / "loss_file.py").write_text(LOSSES_NUMPY)
    result = pytester.runpytest(*FEW, "-k", "value", "pyproject.toml")
    result.assert_outcomes(passed=1)


def test_naming_other_paths_leaves_the_pyproject_targets_out(pytester):
    make_project(pytester, *NUMPY_TARGETS)
    result = pytester.runpytest("--collect-only", "-q", "tests")
    assert not [line for line in result.outlines if "pyproject.toml::" in line]
    result.stdout.fnmatch_lines(["1 test collected*"])


def test_without_testpaths_the_rootdir_walk_collects_the_targets_once(pytester):
    make_project(pytester, *NUMPY_TARGETS, testpaths=False)
    result = pytester.runpytest("--collect-only", "-q")
    items = [line for line in result.outlines if line.startswith("pyproject.toml::")]
    assert len(items) == len(set(items)) == 2 * len(applicable_checks(_loss))


def test_a_command_line_target_is_checked(pytester):
    make_project(pytester)
    result = pytester.runpytest(
        *FEW, "tests", "--vae-target", "losses_np:bad", "--vae-framework", "numpy",
        "--vae-args", "x_recon,x,mu,logvar", "--vae-likelihood", "bernoulli-probs",
        "--vae-batch", "sum", "-k", "latent_scaling or unrelated", "--vae-seed", "7",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*_ losses_np:bad::latent_scaling _*",
        "  FAIL latent_scaling [[]kl-latent-mean]: *",
        "FAILED (1 check(s)) in * s (seed 7)",
        "FAILED losses_np:bad::latent_scaling*",
    ])


BAD_TABLES = {
    "no colon": (table("t", "losses_np"),
                 "target 'losses_np': expected 'module:attr' or 'path/to/file.py:attr'"),
    "missing module": (table("t", "no_such_module:good"),
                       "target 'no_such_module:good': no module named 'no_such_module'"),
    "missing attribute": (table("t", "losses_np:nothing"),
                          "target 'losses_np:nothing': losses_np has no attribute 'nothing'"),
    "unknown framework": (table("t", "losses_np:good", framework="mxnet"),
                          "framework: unknown framework 'mxnet'; *"),
    "never runs": (table("t", "losses_np:broken"),
                   "losses_np:broken raised on every call, so it gets no verdict. Tried *"
                   "RuntimeError: mat1 and mat2 shapes cannot be multiplied. Hint: declare *"),
}


@pytest.mark.parametrize("case", list(BAD_TABLES))
def test_a_bad_target_is_one_collection_error_with_a_one_line_message(pytester, case):
    text, message = BAD_TABLES[case]
    make_project(pytester, text)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([
        "*ERROR collecting pyproject.toml*",
        "pyproject.toml [[][[]tool.vae_spec.targets]] #1: " + message,
        "ERROR pyproject.toml::t",
        "*Interrupted: 1 error during collection*",
    ])
    assert "Traceback" not in result.stdout.str()


MALFORMED = {
    "unknown key": (table("t", "losses_np:good") + 'frameworks = "torch"\n',
                    "pyproject.toml [[][[]tool.vae_spec.targets]] #1: unknown key(s) frameworks; *"),
    "missing key": ('[[tool.vae_spec.targets]]\ntarget = "losses_np:good"\n',
                    "pyproject.toml [[][[]tool.vae_spec.targets]] #1: missing key(s) framework"),
    "wrong type": (table("t", "losses_np:good").replace('args = ["x_recon", "x", "mu", "logvar"]',
                                                        'args = "x"'),
                   "pyproject.toml [[][[]tool.vae_spec.targets]] #1: args must be an array or a table, got 'x'"),
    "targets not an array": ('[tool.vae_spec]\ntargets = "losses_np:good"\n',
                             "pyproject.toml [[]tool.vae_spec]: 'targets' must be an array of tables *"),
    "same name twice": (table("t", "losses_np:good") + table("t", "losses_np:bad"),
                        "pyproject.toml [[]tool.vae_spec]: several targets named t; *"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_table_is_one_usage_error(pytester, case):
    text, message = MALFORMED[case]
    make_project(pytester, text)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: " + message])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("options, message", [
    (["--vae-target", "losses_np:good"], "ERROR: --vae-target needs --vae-framework"),
    (["--vae-framework", "torch"], "ERROR: --vae-framework describe(s) --vae-target, which is not given"),
    (["--vae-profile", "fast"], "ERROR: --vae-profile: profile: unknown profile 'fast'; *"),
])
def test_command_line_options_that_do_not_fit_are_one_usage_error(pytester, options, message):
    make_project(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider", *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


PARAMETRIZED_TEST = """
from vae_spec import Convention, Target
from vae_spec.pytest import parametrize_with_checks, run_check
import losses_np

ARGS = ("x_recon", "x", "mu", "logvar")
TARGETS = [
    Target(fn, framework="numpy", args=ARGS, likelihood="bernoulli-probs",
           convention=Convention(batch="sum"))
    for fn in (losses_np.good, losses_np.bad)
]

@parametrize_with_checks(TARGETS, expected_failed_checks={{
    "losses_np:bad": {{"value": "KL averaged over latents", "latent_scaling": "same bug"}},
    "losses_np:good": {{"value": "wrongly listed: must XPASS and fail"}},
}})
def test_losses(target, check):
    run_check(target, check, max_examples=5)
"""


def test_expected_failed_checks_turn_known_failures_into_strict_xfails(pytester):
    make_project(pytester)
    pytester.makepyfile(test_parametrized=PARAMETRIZED_TEST.format())
    result = pytester.runpytest("-p", "no:cacheprovider", "-rfxX", "test_parametrized.py",
                                "-k", "value or latent_scaling")
    result.assert_outcomes(passed=1, xfailed=2, failed=1)
    result.stdout.fnmatch_lines_random([
        "XFAIL test_parametrized.py::test_losses[[]losses_np:bad::value] - KL averaged over latents",
        "XFAIL test_parametrized.py::test_losses[[]losses_np:bad::latent_scaling] - same bug",
        "[[]XPASS(strict)[]] wrongly listed: must XPASS and fail",
        "FAILED test_parametrized.py::test_losses[[]losses_np:good::value]*",
    ])


def test_a_parametrized_failure_shows_the_target_in_one_short_repr(pytester):
    make_project(pytester)
    pytester.makepyfile(test_parametrized=PARAMETRIZED_TEST.split("@parametrize_with_checks")[0] + (
        "@parametrize_with_checks(TARGETS[1:])\n"
        "def test_losses(target, check):\n"
        "    run_check(target, check, max_examples=5)\n"))
    result = pytester.runpytest("-p", "no:cacheprovider", "test_parametrized.py", "-k", "value")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["target = Target('losses_np:bad', framework='numpy', term='loss')"])
    assert "Target(fn=" not in result.stdout.str()


def _numpy_target(fn, name):
    return Target(fn, framework="numpy", args=("x_recon", "x", "mu", "logvar"),
                  likelihood="bernoulli-probs", convention=Convention(batch="sum"), name=name)


def test_parametrize_with_checks_ids_carry_target_and_check_names():
    target = _numpy_target(_loss, "mine")
    mark = parametrize_with_checks([target], expected_failed_checks=lambda t: {"shape": "known"})
    argnames, params = mark.args
    assert argnames == ("target", "check")
    assert [p.id for p in params] == [f"mine::{name}" for name in applicable_checks(_loss)]
    (shape,) = [p for p in params if p.id == "mine::shape"]
    (xfail,) = shape.marks
    assert (xfail.name, xfail.kwargs["reason"], xfail.kwargs["strict"]) == ("xfail", "known", True)


@pytest.mark.parametrize("expected, message", [
    ({"mine": {"valu": "typo"}}, "expected_failed_checks: unknown check 'valu' for mine; *"),
    ({"mine": {"gradient": "n/a"}},
     "expected_failed_checks: check 'gradient' does not apply to mine: "
     "numpy has no automatic differentiation"),
])
def test_expected_failed_checks_naming_no_applicable_check_is_an_error(expected, message):
    with pytest.raises(ValueError) as error:
        parametrize_with_checks([_numpy_target(_loss, "mine")], expected_failed_checks=expected)
    assert re.fullmatch(message.replace("*", ".*").replace("(", r"\(").replace(")", r"\)"), str(error.value))


NO_TARGET_CONFTEST = """
import sys

def pytest_unconfigure(config):
    loaded = sorted(m for m in ("torch", "tensorflow", "jax", "keras") if m in sys.modules)
    plugin = "vae_spec.pytest_plugin" in sys.modules
    with open("modules.txt", "w") as f:
        f.write(f"plugin={plugin} frameworks={','.join(loaded) or 'none'}")
"""


def test_without_targets_the_plugin_imports_no_framework_and_registers_the_profiles(pytester):
    pytester.makepyprojecttoml('[project]\nname = "unrelated"\nversion = "0"\n')
    pytester.makeconftest(NO_TARGET_CONFTEST)
    pytester.makepyfile(test_unrelated="""
        from hypothesis import settings
        from vae_spec.profiles import PROFILES

        def test_the_chosen_profile_is_loaded():
            assert settings.default.max_examples == PROFILES["vae-dev"]["max_examples"]
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--hypothesis-profile", "vae-dev")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "modules.txt").read_text() == "plugin=True frameworks=none"


def _outcomes_and_findings(result) -> tuple[list[str], list[str]]:
    lines = result.outlines
    outcomes = sorted(line for line in lines if re.match(r"(PASSED|FAILED) pyproject", line))
    findings = sorted(line.strip() for line in lines
                      if re.match(r"\s+(FAIL |error .* > bound|x_recon =|mu =|logvar =)", line))
    return outcomes, findings


def test_the_selected_checks_of_a_target_run_once_for_all_its_items(pytester, monkeypatch):
    from vae_spec import pytest as vae_pytest

    runs = []

    def counted(target, **settings):
        runs.append((target.name, tuple(sorted(settings["checks"]))))
        return real(target, **settings)

    real = vae_pytest.run_checks
    monkeypatch.setattr(vae_pytest, "run_checks", counted)
    make_project(pytester, *NUMPY_TARGETS)
    result = pytester.runpytest(*FEW, "-k", "value or latent_scaling", "pyproject.toml")
    result.assert_outcomes(passed=2, failed=2)
    assert sorted(runs) == [("losses_np:bad", ("latent_scaling", "value")),
                            ("losses_np:good", ("latent_scaling", "value"))]


def test_xdist_gives_the_same_results(pytester):
    make_project(pytester, *NUMPY_TARGETS)
    options = (*FEW, "-rA", "-k", "value or latent_scaling", "pyproject.toml")
    serial = pytester.runpytest(*options)
    parallel = pytester.runpytest_subprocess(*options, "-n", "2")
    parallel.assert_outcomes(passed=2, failed=2)
    assert _outcomes_and_findings(parallel) == _outcomes_and_findings(serial)


@pytest.mark.framework("torch")
def test_torch_targets_pass_and_fail_alike(pytester):
    make_project(pytester, table("good", "losses_torch:good", framework="torch"),
                 table("bad", "losses_torch:bad", framework="torch"))
    result = pytester.runpytest_subprocess(*FEW, "-k", "value or latent_scaling or gradient",
                                           "pyproject.toml")
    # the buggy loss's value departs, so its gradient is not judged (one vocabulary)
    result.assert_outcomes(passed=3, failed=2, skipped=1)
    result.stdout.fnmatch_lines_random([
        "  FAIL value [[]kl-latent-mean]: *",
        "  FAIL latent_scaling [[]kl-latent-mean]: *",
        "FAILED pyproject.toml::bad::value*",
        "FAILED pyproject.toml::bad::latent_scaling*",
    ])
    assert "Traceback" not in result.stdout.str()
