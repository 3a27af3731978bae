"""Every JSON document vae-spec prints is vae-spec/1 and validates against the shipped schema;
its fields say what is true (no severity on a passing check, constants only where kept), and
diagnose leaves the raw probe inputs out unless --probes asks for them (docs/json.md)."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

jsonschema = pytest.importorskip("jsonschema")

import vae_spec  # noqa: E402
from vae_spec import Target, diagnose  # noqa: E402
from vae_spec.cli import EXIT_DEPARTS, EXIT_OK, EXIT_USAGE, UsageError, _error_type, main  # noqa: E402
from vae_spec.schema import SCHEMA, dumps  # noqa: E402

LOSSES = textwrap.dedent('''
    import numpy as np

    def _kl(mu, logvar):
        return 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1)

    def negative_elbo(x_recon, x, mu, logvar):
        bce = np.sum(np.logaddexp(0, x_recon) - x * x_recon, axis=1)
        return np.mean(bce + _kl(mu, logvar))

    def kl_without_half(x_recon, x, mu, logvar):
        bce = np.sum(np.logaddexp(0, x_recon) - x * x_recon, axis=1)
        return np.mean(bce + 2 * _kl(mu, logvar))

    def bce_probs(x_recon, x, mu, logvar):
        bce = -np.sum(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon), axis=1)
        return np.mean(bce + _kl(mu, logvar))

    def sse(x_recon, x, mu, logvar):
        return np.mean(np.sum((x - x_recon) ** 2, axis=1) + _kl(mu, logvar))

    def mse(x_recon, x, mu, logvar):
        return np.mean(np.mean((x - x_recon) ** 2, axis=1) + _kl(mu, logvar))

    def gaussian_with_constants(x_recon, x, mu, logvar):
        nll = 0.5 * np.sum((x - x_recon) ** 2, axis=1) + 0.5 * x.shape[1] * np.log(2 * np.pi)
        return np.mean(nll + _kl(mu, logvar))
''')
ARGS = "x_recon,x,mu,logvar"
NUMPY_EXAMPLE = ["vae_spec.examples.numpy_vae:negative_elbo", "--framework", "numpy",
                 "--args", "x=x,logits=x_recon,mu=mu,logvar=logvar"]


def strict(schema):
    """The schema with every listed object closed (additionalProperties false): a document of
    this release may hold no field the schema does not document."""
    if isinstance(schema, dict):
        closed = {key: strict(value) for key, value in schema.items()}
        if "properties" in schema and schema.get("additionalProperties") is True:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


@pytest.fixture(scope="module")
def validator():
    schema = vae_spec.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(strict(schema))


@pytest.fixture
def losses(tmp_path):
    path = tmp_path / "json_losses.py"
    path.write_text(LOSSES)
    return path


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(tmp_path, monkeypatch):
    """Large counterexamples are saved under the working directory: keep them out of the tree."""
    monkeypatch.chdir(tmp_path)


def run_json(capsys, argv, validator):
    """(exit status, the one JSON document on stdout, stderr), the document validated."""
    status = main(argv)
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    errors = [f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator.iter_errors(document)]
    assert not errors, errors
    assert document["schema"] == SCHEMA == "vae-spec/1"
    return status, document, captured.err


def check_argv(target, *extra):
    return ["check", target, "--framework", "numpy", "--args", ARGS, "--likelihood", "bernoulli-logits",
            "--max-examples", "5", "--json", *extra]


# -- the schema itself ----------------------------------------------------------------------------
def test_the_schema_ships_as_package_data_and_is_a_fresh_copy_each_time():
    from importlib import resources

    assert resources.files("vae_spec.schema").joinpath("vae-spec-1.json").is_file()
    schema = vae_spec.json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert [branch["$ref"] for branch in schema["oneOf"]] == [
        "#/$defs/check", "#/$defs/diagnose", "#/$defs/selftest", "#/$defs/error"]
    schema["$defs"].clear()
    assert vae_spec.json_schema()["$defs"], "json_schema() must not hand out its cached dict"


def test_every_object_states_its_additional_properties():
    def objects(node):
        if isinstance(node, dict):
            if "properties" in node:
                yield node
            for value in node.values():
                yield from objects(value)
        elif isinstance(node, list):
            for item in node:
                yield from objects(item)

    listed = [o for o in objects(vae_spec.json_schema()["$defs"]) if o.get("type") == "object"]
    assert listed and all(o.get("additionalProperties") is True for o in listed)


def test_non_finite_numbers_are_strings_so_the_json_is_strict():
    text = dumps({"a": float("nan"), "b": [1.0, float("inf"), -float("inf")]})
    assert json.loads(text) == {"a": "nan", "b": [1.0, "inf", "-inf"]}
    assert "NaN" not in text and "Infinity" not in text


# -- check -------------------------------------------------------------------------------------------
def test_a_passing_check_validates_and_its_passing_checks_have_no_severity(losses, capsys, validator):
    status, document, _ = run_json(capsys, check_argv(f"{losses}:negative_elbo"), validator)
    assert status == EXIT_OK and document["kind"] == "check" and document["passed"] is True
    assert document["checks"]
    for result in document["checks"]:
        assert result["status"] in ("pass", "skip") and result["severity"] is None, result


def test_a_failing_check_validates_with_its_severity_and_full_counterexample(losses, capsys, validator):
    status, document, _ = run_json(capsys, check_argv(f"{losses}:kl_without_half"), validator)
    assert status == EXIT_DEPARTS and document["passed"] is False
    failed = [r for r in document["checks"] if r["status"] in ("fail", "error")]
    assert failed and all(r["severity"] in ("error", "warning") for r in failed)
    value = next(r for r in failed if r["name"] == "value")
    assert isinstance(value["counterexample"]["inputs"]["x"], list)
    passing = [r for r in document["checks"] if r["status"] in ("pass", "skip")]
    assert passing and all(r["severity"] is None for r in passing)


# -- diagnose ----------------------------------------------------------------------------------------
def test_diagnose_of_an_elbo_validates(capsys, validator):
    status, document, _ = run_json(capsys, ["diagnose", *NUMPY_EXAMPLE, "--json"], validator)
    assert status == EXIT_OK and document["kind"] == "diagnose" and document["is_elbo"] is True
    assert document["convention"]["constants"] is None  # Bernoulli: no constants to keep
    assert document["counterexamples"] == [] and document["probes"] is False


def test_diagnose_without_probes_summarizes_the_inputs_and_stays_small(losses, capsys, validator):
    argv = ["diagnose", f"{losses}:mse", "--framework", "numpy", "--args", ARGS, "--data-shape", "784",
            "--json"]
    status = main(argv)
    out = capsys.readouterr().out
    assert status == EXIT_DEPARTS and len(out.encode()) < 8 * 1024, len(out)
    document = json.loads(out)
    assert not list(validator.iter_errors(document))
    assert document["probes"] is False and document["convention"]["constants"] is False
    (result,) = document["counterexamples"]
    example = result["counterexample"]
    assert "output" in example and example["regime"] == "probe"
    # a repro stays only where it loads the inputs from the artifact file, not writing them out
    assert result["repro"] is None or (result["artifact"] and "np.array([" not in result["repro"])
    x = example["inputs"]["x"]
    assert set(x) == {"shape", "dtype", "min", "max"}
    assert x["shape"][1:] == [784] and x["dtype"] == example["dtype"] and 0 <= x["min"] <= x["max"] <= 1


def test_diagnose_with_probes_holds_the_arrays(losses, capsys, validator):
    argv = ["diagnose", f"{losses}:mse", "--framework", "numpy", "--args", ARGS, "--data-shape", "784",
            "--json", "--probes"]
    status, document, _ = run_json(capsys, argv, validator)
    assert status == EXIT_DEPARTS and document["probes"] is True
    (result,) = document["counterexamples"]
    inputs = result["counterexample"]["inputs"]
    assert set(inputs) == {"x_recon", "x", "mu", "logvar"}
    assert np.asarray(inputs["x"]).shape[1:] == (784,)
    assert result["repro"] and "x_recon" in result["repro"]


@pytest.mark.parametrize(("name", "constants", "words"), [
    ("mse", False, "constants dropped"),  # a Gaussian's squared error without its normalizer
    ("sse", False, "constants dropped"),
    ("gaussian_with_constants", True, "constants kept"),
    ("bce_probs", None, None),  # Bernoulli on probabilities has no constants to keep or drop
])
def test_constants_are_true_only_when_kept_and_null_where_there_are_none(losses, name, constants, words):
    from vae_spec.target import load_callable

    target = Target(load_callable(f"{losses}:{name}"), framework="numpy", args=tuple(ARGS.split(",")),
                    name=name)
    diagnosis = diagnose(target)
    assert diagnosis.convention["constants"] is constants
    assert diagnosis.as_dict()["convention"]["constants"] is constants
    reads_as = next(line for line in diagnosis.to_text().splitlines() if "reads as:" in line)
    if words:
        assert words in reads_as
    else:
        assert "constants" not in reads_as


# -- selftest ----------------------------------------------------------------------------------------
def test_selftest_on_a_tiny_subset_validates(monkeypatch, capsys, validator):
    from vae_spec.selftest import corpus, runner

    chosen = {("mutant", "kl_scaled_0_01"), ("correct", "kl_term")}

    def one_of_each(kind, frameworks=None):
        return [e for e in corpus.entries(kind, frameworks) if (kind, e.name) in chosen]

    monkeypatch.setattr(runner, "entries", one_of_each)
    argv = ["selftest", "--framework", "numpy", "--max-examples", "2", "-j", "1", "--quiet", "--json"]
    status, document, _ = run_json(capsys, argv, validator)
    assert document["kind"] == "selftest" and status in (0, 1)
    assert document["summary"]["mutants"] == 1 and document["summary"]["correct_variants"] == 1


# -- errors ------------------------------------------------------------------------------------------
def test_an_error_under_json_is_a_json_document_on_stdout_and_text_on_stderr(capsys, validator):
    argv = ["check", "no_such_module_for_vae_spec:loss", "--framework", "numpy", "--args", ARGS,
            "--likelihood", "bernoulli-logits", "--json"]
    status, document, err = run_json(capsys, argv, validator)
    assert status == EXIT_USAGE == 2
    assert document["kind"] == "error" and document["verb"] == "check"
    assert document["error"]["type"] == "TargetError" and "no module named" in document["error"]["message"]
    assert err.startswith("vae-spec check: error:") and "no module named" in err


def test_a_command_line_error_under_json_is_json_too(capsys, validator):
    with pytest.raises(SystemExit) as exited:
        main(["diagnose", "mod:fn", "--json"])  # --framework missing: argparse's own error
    assert exited.value.code == EXIT_USAGE
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert not list(validator.iter_errors(document))
    assert document["kind"] == "error" and document["verb"] == "diagnose"
    assert document["error"]["type"] == "UsageError" and "--framework" in document["error"]["message"]
    assert "error:" in captured.err and "--framework" in captured.err


def test_a_command_line_error_without_json_prints_nothing_on_stdout(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["diagnose", "mod:fn"])
    assert exited.value.code == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == "" and "error:" in captured.err


def test_the_error_types_are_the_classes_main_catches():
    from vae_spec.frameworks.base import FrameworkNotInstalled
    from vae_spec.target import TargetError

    errors = [UsageError("u"), TargetError("t"), FrameworkNotInstalled("f"), ValueError("v")]
    assert [_error_type(e) for e in errors] == ["UsageError", "TargetError", "FrameworkNotInstalled",
                                                "ValueError"]
    enum = vae_spec.json_schema()["$defs"]["error"]["properties"]["error"]["properties"]["type"]["enum"]
    assert set(enum) == {"UsageError", "TargetError", "FrameworkNotInstalled", "ValueError"}
