"""``vae-spec check``: exit 0 when the loss conforms, 1 when it departs, 2 for usage errors; the
JSON report carries the contract's fields."""

from __future__ import annotations

import json
import textwrap

import pytest

from vae_spec.cli import EXIT_DEPARTS, EXIT_OK, EXIT_USAGE, main

LOSSES = textwrap.dedent('''
    import numpy as np

    def _sum(a):
        return np.sum(a, axis=tuple(range(1, a.ndim)))

    def negative_elbo(x_recon, x, mu, logvar):
        bce = _sum(np.logaddexp(0, x_recon) - x * x_recon)
        kl = _sum(-0.5 * (1 + logvar - mu * mu - np.exp(logvar)))
        return np.mean(bce + kl)

    def broken(x_recon, x, mu, logvar):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    def float32_only(x_recon, x, mu, logvar):
        if x.dtype == np.float64:
            raise TypeError("expected a float tensor, got a double tensor")
        return negative_elbo(x_recon, x, mu, logvar)

    def kl_without_half(x_recon, x, mu, logvar):
        bce = _sum(np.logaddexp(0, x_recon) - x * x_recon)
        kl = _sum(-(1 + logvar - mu * mu - np.exp(logvar)))
        return np.mean(bce + kl)
''')

CONTRACT_FIELDS = {"target", "framework", "passed", "seconds", "checks"}
CHECK_FIELDS = {"name", "status", "message", "max_error", "bound", "counterexample", "repro"}


@pytest.fixture
def losses(tmp_path):
    path = tmp_path / "user_losses.py"
    path.write_text(LOSSES)
    return path


def check_args(target, *extra):
    return ["check", target, "--framework", "numpy", "--term", "loss",
            "--args", "x_recon,x,mu,logvar", "--likelihood", "bernoulli-logits",
            "--max-examples", "5", *extra]


def test_a_conforming_loss_exits_0(losses, capsys):
    assert main(check_args(f"{losses}:negative_elbo")) == EXIT_OK == 0
    out = capsys.readouterr().out
    assert "PASSED" in out


def test_a_departing_loss_exits_1(losses, capsys):
    assert main(check_args(f"{losses}:kl_without_half")) == EXIT_DEPARTS == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "value" in out


def test_json_output_has_the_contract_fields(losses, capsys):
    assert main(check_args(f"{losses}:kl_without_half", "--json")) == EXIT_DEPARTS
    report = json.loads(capsys.readouterr().out)
    assert CONTRACT_FIELDS <= set(report)
    assert report["target"] == f"{losses}:kl_without_half"
    assert report["framework"] == "numpy"
    assert report["passed"] is False
    assert isinstance(report["seconds"], float) and report["seconds"] > 0
    assert report["checks"]
    for result in report["checks"]:
        assert CHECK_FIELDS <= set(result)
        assert result["status"] in ("pass", "fail", "skip", "error")
    value = next(r for r in report["checks"] if r["name"] == "value")
    assert value["status"] == "fail"
    assert value["max_error"] > value["bound"] > 0
    assert value["counterexample"]["inputs"].keys() == {"x_recon", "x", "mu", "logvar"}
    assert "np.array" in value["repro"]


def test_json_of_a_conforming_loss_passes(losses, capsys):
    assert main(check_args(f"{losses}:negative_elbo", "--json", "--batch", "mean")) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is True
    assert {r["status"] for r in report["checks"]} <= {"pass", "skip"}


def test_the_declared_convention_is_used(losses, capsys):
    # a batch mean declared per example (batch none) returns a scalar, not (B,)
    assert main(check_args(f"{losses}:negative_elbo", "--batch", "none", "--json")) == EXIT_DEPARTS
    report = json.loads(capsys.readouterr().out)
    assert "batch=none" in report["claim"]
    assert next(r for r in report["checks"] if r["name"] == "shape")["status"] == "fail"


@pytest.mark.parametrize(("argv", "message"), [
    (["check", "no_colon_here", "--framework", "numpy", "--args", "x_recon,x,mu,logvar",
      "--likelihood", "bernoulli-logits"], "expected 'module:attr'"),
    (["check", "no_such_module_for_vae_spec:loss", "--framework", "numpy",
      "--args", "x_recon,x,mu,logvar", "--likelihood", "bernoulli-logits"], "no module named"),
    (["check", "{losses}:negative_elbo", "--framework", "mxnet", "--args", "x_recon,x,mu,logvar",
      "--likelihood", "bernoulli-logits"], "unknown framework 'mxnet'"),
    (["check", "{losses}:negative_elbo", "--framework", "numpy", "--args", "x_recon,x,mu,log_var",
      "--likelihood", "bernoulli-logits"], "unknown canonical name 'log_var'"),
    (["check", "{losses}:negative_elbo", "--framework", "numpy", "--args", "x_recon,x,mu,logvar",
      "--likelihood", "poisson"], "poisson"),
    (["check", "{losses}:negative_elbo", "--framework", "numpy", "--args", "x_recon,x,mu,logvar"],
     "likelihood"),
    (["check", "{losses}:negative_elbo", "--framework", "numpy", "--args", "x_recon,x,mu,logvar",
      "--likelihood", "bernoulli-logits", "--max-examples", "0"], "max_examples: expected a positive integer, got 0"),
])
def test_usage_errors_exit_2_with_a_message(losses, capsys, argv, message):
    argv = [a.replace("{losses}", str(losses)) for a in argv]
    assert main(argv) == EXIT_USAGE == 2
    err = capsys.readouterr().err
    assert err.startswith("vae-spec check: error:") and message in err


def test_no_verb_prints_help_and_exits_2(capsys):
    assert main([]) == EXIT_USAGE
    assert "usage: vae-spec" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["check", "mod:fn", "--args", "x_recon,x,mu,logvar"],  # --framework missing
    ["check", "mod:fn", "--framework", "numpy", "--kl-batch", "median"],
    ["check", "mod:fn", "--framework", "numpy", "--args", "mu,logvar", "--batch", "median"],
    ["check", "mod:fn", "--framework", "numpy", "--args", "mu,logvar", "--data-shape", "1,0"],
    ["check", "mod:fn", "--framework", "numpy", "--args", "x_recon=x_recon,x"],
])
def test_malformed_command_lines_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == EXIT_USAGE
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["check", "diagnose"])
def test_a_function_that_never_runs_exits_2_with_what_was_tried_and_a_hint(losses, capsys, verb):
    args = check_args(f"{losses}:broken")
    if verb == "diagnose":
        args = ["diagnose", *args[1:8]]
    assert main(args) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "raised on every call, so it gets no verdict" in captured.err
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in captured.err
    assert "--data-shape" in captured.err and "Traceback" not in captured.err


def test_dtypes_restricts_the_run_and_an_unsupported_dtype_is_a_warning(losses, capsys):
    assert main(check_args(f"{losses}:float32_only")) == EXIT_OK
    out = capsys.readouterr().out
    assert "dtype-unsupported" in out and "dtypes float32" in out
    assert main(check_args(f"{losses}:float32_only", "--dtypes", "float32")) == EXIT_OK
    assert "dtype-unsupported" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(check_args(f"{losses}:negative_elbo", "--dtypes", "float17"))
    assert "expected comma-separated dtypes" in capsys.readouterr().err
