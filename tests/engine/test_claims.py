"""diagnose -> claim -> check, for the bundled examples, and the claim's three printed forms.

Each bundled example is diagnosed with nothing declared but its inputs; the claim diagnose
states must pass ``check``. The claim is printed as a command line, a pyproject block and a
Target expression: each, read back by the CLI's parser, the plugin's reader and Python, must
declare the very target the claim describes.
"""

from __future__ import annotations

import shlex
import tomllib

import pytest

from vae_spec import Convention, Target, check, diagnose
from vae_spec.claims import Claim, not_elbo_codes
from vae_spec.cli import _build_target, build_parser
from vae_spec.examples import EXAMPLES
from vae_spec.pytest_plugin import Declaration, build_target

MARKS = {"numpy": [], "torch": [pytest.mark.framework("torch")], "jax": [pytest.mark.framework("jax")],
         "tensorflow": [pytest.mark.framework("tensorflow")], "keras": [pytest.mark.framework("keras")]}


@pytest.mark.parametrize("example", [pytest.param(e, id=e.name, marks=MARKS[e.framework]) for e in EXAMPLES])
def test_the_claim_of_every_bundled_example_passes_check(example):
    diagnosis = diagnose(example.load(declare_likelihood=False))
    assert diagnosis.claim is not None, diagnosis.to_text()
    target = Target(example.load().fn,
                    name=example.target, **diagnosis.claim.target_kwargs())
    report = check(target, raise_on_failure=False)
    assert report.passed, f"{diagnosis.to_text()}\n{report.to_text()}"
    if not diagnosis.is_elbo:  # the claim states what the loss computes, and says it is no ELBO
        assert report.not_elbo and set(report.not_elbo) == set(diagnosis.claim.not_elbo)
        assert "this claim is not the ELBO" in report.to_text()


CLAIMS = [
    Claim("numpy", "loss", ("x_recon", "x", "mu", "logvar"), "bernoulli-probs", "logvar"),
    Claim("numpy", "loss", {"recon_x": "x_recon", "x": "x", "mu": "mu", "log_std": "logstd"},
          "gaussian:var=0.45", "logstd", Convention(data="mean", batch="sum", beta=2.0, scale=0.9,
                                                    constants=False),
          data_shape=(1, 28, 28), latent_shape=(20,), dtypes=("float32",)),
    Claim("numpy", "kl", ("mu", "logvar"), None, "logvar", Convention(latent="mean")),
    Claim("numpy", "loss", ({"recon": "x_recon", "mu": "mu", "logvar": "logvar"}, "x"), "laplace",
          "logvar", kwargs={"beta": 1.0, "name": "it's"}),
]


def _fn(*args, **kwargs):
    return 0.0


def _same_target(a: Target, b: Target):
    fields = ("framework", "term", "args", "likelihood", "posterior", "convention", "data_shape",
              "latent_shape", "dtypes", "kwargs")
    assert {f: getattr(a, f) for f in fields} == {f: getattr(b, f) for f in fields}


@pytest.mark.parametrize("claim", CLAIMS, ids=range(len(CLAIMS)))
def test_the_command_line_declares_the_claimed_target(claim, monkeypatch):
    monkeypatch.setattr("vae_spec.target.load_callable", lambda spec, base=None: _fn)
    words = shlex.split(claim.command_line("tests.engine.test_claims:_fn"))
    assert words[:2] == ["vae-spec", "check"]
    options = build_parser().parse_args(words[1:])
    convention = Convention(data=options.data, latent=options.latent, batch=options.batch,
                            beta=options.beta, scale=options.scale, constants=not options.no_constants)
    _same_target(_build_target(options, convention), Target(_fn, **claim.target_kwargs()))


@pytest.mark.parametrize("claim", CLAIMS, ids=range(len(CLAIMS)))
def test_the_pyproject_block_declares_the_claimed_target(claim, tmp_path):
    table = tomllib.loads(claim.pyproject_block("tests.engine.test_claims:_fn"))["tool"]["vae_spec"]["targets"][0]
    declared = build_target(Declaration("t", "test", table, base=tmp_path))
    _same_target(declared, Target(_fn, **claim.target_kwargs()))


@pytest.mark.parametrize("claim", CLAIMS, ids=range(len(CLAIMS)))
def test_the_python_expression_declares_the_claimed_target(claim):
    built = eval(claim.python_expression("_fn"), {"Target": Target, "Convention": Convention, "_fn": _fn})
    _same_target(built, Target(_fn, **claim.target_kwargs()))


def test_a_claim_states_its_departures_from_the_elbo():
    assert not_elbo_codes(Convention()) == ()
    assert not_elbo_codes(Convention(batch="sum", scale=3.0, constants=False)) == ()
    assert set(not_elbo_codes(Convention(data="mean", latent="mean", beta=4.0))) == {
        "recon-data-mean", "kl-latent-mean", "kl-scaled"}
    assert not_elbo_codes(Convention(beta=2.0)) == ("kl-missing-half",)


LOSS_FILE = (
    "import numpy as np\n"
    "def loss(recon_x, x, mu, logvar):\n"
    "    b = -(x * np.log(recon_x) + (1 - x) * np.log1p(-recon_x)).reshape(len(x), -1).sum(1)\n"
    "    k = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar).reshape(len(mu), -1).sum(1)\n"
    "    return np.sum(b + k)\n"
)


def test_diagnose_json_carries_the_claim_with_target_and_convention_keys(tmp_path, capsys):
    import json

    from vae_spec.cli import main

    (tmp_path / "losses.py").write_text(LOSS_FILE)
    status = main(["diagnose", f"{tmp_path}/losses.py:loss", "--framework", "numpy", "--json"])
    claim = json.loads(capsys.readouterr().out)["claim"]
    assert status == 0
    assert {"framework", "term", "args", "likelihood", "posterior", "data_shape", "latent_shape",
            "dtypes", "kwargs", "convention", "not_elbo"} == set(claim)
    assert set(claim["convention"]) == set(Convention().as_dict())
    assert claim["args"] == ["x_recon", "x", "mu", "logvar"] and claim["convention"]["batch"] == "sum"


def test_write_pyproject_appends_the_claim_once_and_pytest_checks_it(tmp_path, monkeypatch, capsys):
    from vae_spec.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "losses.py").write_text(LOSS_FILE)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    argv = ["diagnose", "losses.py:loss", "--framework", "numpy", "--write-pyproject"]
    assert main(argv) == 0
    assert "wrote the claim of losses.py:loss to pyproject.toml" in capsys.readouterr().out
    tables = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["vae_spec"]["targets"]
    assert tables == [{"target": "losses.py:loss", "framework": "numpy",
                       "args": ["x_recon", "x", "mu", "logvar"], "likelihood": "bernoulli-probs",
                       "convention": {"batch": "sum"}}]
    assert check(build_target(Declaration("t", "test", tables[0], base=tmp_path)), max_examples=5).passed
    # a second write would declare the target twice: refused, the file untouched
    before = (tmp_path / "pyproject.toml").read_text()
    assert main(argv) == 2
    assert "already declares losses.py:loss; nothing written" in capsys.readouterr().err
    assert (tmp_path / "pyproject.toml").read_text() == before
