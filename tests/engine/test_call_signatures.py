"""Calls as they are: a dict-taking loss, a module method with a beta attribute, a beta= keyword.

Each is checked from the API, from the command line and from pyproject.toml (the pytest
plugin), and every report names it readably (``module:VAE.loss_function``, a partial with its
fixed keywords).
"""

from __future__ import annotations

import functools
import textwrap

import pytest

from vae_spec import Target, check, diagnose
from vae_spec.calls import ArgsError, build, expression, leaves, normalize, parse_kwargs_text, parse_text
from vae_spec.cli import main
from vae_spec.target import CANONICAL_ARGS, TargetError

from . import call_signatures as losses

pytest_plugins = ["pytester"]

MODULE = "tests.engine.call_signatures"
ARGS = ("x_recon", "x", "mu", "logvar")
DICT_ARGS = ({"recon": "x_recon", "mu": "mu", "logvar": "logvar"}, "x")
LIKELIHOOD = "bernoulli-probs"
FEW = {"max_examples": 5}


# -- the args structure ----------------------------------------------------------------------
def test_a_nested_structure_is_normalized_flattened_and_built():
    args = normalize([{"recon": "x_recon", "stats": ["mu", "logvar"]}, "x"], CANONICAL_ARGS.__contains__)
    assert args == ({"recon": "x_recon", "stats": ("mu", "logvar")}, "x")
    assert leaves(args) == ("x_recon", "mu", "logvar", "x")
    values = {"x_recon": 1, "mu": 2, "logvar": 3, "x": 4}
    assert [build(a, values) for a in args] == [{"recon": 1, "stats": (2, 3)}, 4]
    assert expression(args, {"beta": 1.0}) == "fn({'recon': x_recon, 'stats': (mu, logvar)}, x, beta=1.0)"


@pytest.mark.parametrize("bad, says", [
    (("x_recon", "x_recon"), "bound more than once"),
    ({"a": {"b": "z_mean"}}, "unknown canonical name 'z_mean'"),
    ((1, "x"), "expected a canonical name"),
])
def test_a_bad_structure_says_what_is_wrong(bad, says):
    with pytest.raises(ArgsError, match=says):
        normalize(bad, CANONICAL_ARGS.__contains__)


def test_args_and_kwargs_text():
    assert parse_text("x_recon, x,mu,logvar") == ("x_recon", "x", "mu", "logvar")
    assert parse_text("recon_x=x_recon,x=x") == {"recon_x": "x_recon", "x": "x"}
    assert parse_text('[{"recon": "x_recon"}, "x"]') == [{"recon": "x_recon"}, "x"]
    assert parse_kwargs_text("beta=4,free_bits=0.5,name=kl,warm=true") == {
        "beta": 4, "free_bits": 0.5, "name": "kl", "warm": True}
    assert parse_kwargs_text('{"beta": 1.0}') == {"beta": 1.0}
    with pytest.raises(ArgsError, match="name=value"):
        parse_kwargs_text("beta")
    with pytest.raises(ArgsError, match="all positional names or all"):
        parse_text("x_recon,x=x")


# -- the API ---------------------------------------------------------------------------------
def test_a_module_method_reading_its_beta_attribute():
    target = Target(losses.model.loss_function, args=ARGS, likelihood=LIKELIHOOD)
    assert target.name == f"{MODULE}:VAE.loss_function"
    assert check(target, **FEW).passed
    report = check(Target(losses.beta_vae.loss_function, args=ARGS, likelihood=LIKELIHOOD),
                   raise_on_failure=False, **FEW)
    assert "kl-scaled" in {r.code for r in report.failures}


def test_a_dict_taking_loss_through_args_and_through_a_call_hook():
    assert check(Target(losses.loss_from_dict, args=DICT_ARGS, likelihood=LIKELIHOOD), **FEW).passed

    def call(fn, a):
        return fn({"recon": a.x_recon, "mu": a.mu, "logvar": a.logvar}, a.x)

    hooked = Target(losses.loss_from_dict, call=call, likelihood=LIKELIHOOD)
    report = check(hooked, **FEW)
    assert report.passed and "call = ...  # the target's call= hook" not in report.to_text()
    assert diagnose(hooked).is_elbo


def test_a_beta_keyword_through_kwargs_and_through_a_partial():
    fixed = Target(losses.loss_with_beta, args=ARGS, kwargs={"beta": 1.0}, likelihood=LIKELIHOOD)
    assert check(fixed, **FEW).passed
    partial = Target(functools.partial(losses.loss_with_beta, beta=1.0), args=ARGS, likelihood=LIKELIHOOD)
    assert partial.name == f"{MODULE}:loss_with_beta(beta=1.0, ...)"
    assert check(partial, **FEW).passed
    default = check(Target(losses.loss_with_beta, args=ARGS, likelihood=LIKELIHOOD), raise_on_failure=False, **FEW)
    assert "kl-scaled" in {r.code for r in default.failures}


def test_a_keyword_the_function_does_not_take_is_a_target_error():
    with pytest.raises(TargetError, match="cannot be called with the call fn"):
        Target(losses.loss_from_dict, args=DICT_ARGS, kwargs={"beta": 1.0})


def test_the_repro_calls_the_function_as_declared():
    report = check(Target(losses.loss_with_beta, args=ARGS, kwargs={"beta": 2.0}, likelihood=LIKELIHOOD),
                   raise_on_failure=False, **FEW)
    repro = next(r.repro for r in report.failures if r.repro)
    assert "fn(x_recon, x, mu, logvar, beta=2.0)" in repro


# -- the command line ------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    [f"{MODULE}:model.loss_function", "--args", "x_recon,x,mu,logvar"],
    [f"{MODULE}:loss_from_dict", "--args", '[{"recon": "x_recon", "mu": "mu", "logvar": "logvar"}, "x"]'],
    [f"{MODULE}:loss_with_beta", "--args", "x_recon,x,mu,logvar", "--kwargs", "beta=1.0"],
], ids=["method", "dict", "kwargs"])
def test_each_call_signature_is_checked_from_the_command_line(argv, capsys):
    status = main(["check", *argv, "--framework", "numpy", "--likelihood", LIKELIHOOD, "--max-examples", "5"])
    out = capsys.readouterr().out
    assert status == 0, out


def test_a_bad_kwargs_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:  # argparse's usage error
        main(["check", f"{MODULE}:loss_with_beta", "--framework", "numpy", "--args",
              "x_recon,x,mu,logvar", "--kwargs", "beta", "--likelihood", LIKELIHOOD])
    assert exited.value.code == 2 and "argument --kwargs: expected name=value pairs" in capsys.readouterr().err


# -- pyproject.toml --------------------------------------------------------------------------
def test_each_call_signature_is_checked_from_pyproject(pytester):
    pytester.makepyprojecttoml(textwrap.dedent(f"""
        [[tool.vae_spec.targets]]
        target = "{MODULE}:model.loss_function"
        framework = "numpy"
        args = ["x_recon", "x", "mu", "logvar"]
        likelihood = "{LIKELIHOOD}"

        [[tool.vae_spec.targets]]
        target = "{MODULE}:loss_from_dict"
        framework = "numpy"
        args = [{{recon = "x_recon", mu = "mu", logvar = "logvar"}}, "x"]
        likelihood = "{LIKELIHOOD}"

        [[tool.vae_spec.targets]]
        target = "{MODULE}:loss_with_beta"
        framework = "numpy"
        args = ["x_recon", "x", "mu", "logvar"]
        kwargs = {{beta = 1.0}}
        likelihood = "{LIKELIHOOD}"
    """))
    result = pytester.runpytest("--vae-max-examples=5", "-p", "no:cacheprovider", "pyproject.toml")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, result.stdout.str()
    assert outcomes["passed"] >= 3 * 10  # every applicable check of each of the three targets
