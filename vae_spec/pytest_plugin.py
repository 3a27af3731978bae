"""The pytest plugin: declared VAE losses become test items, one per applicable check.

A target is declared in the rootdir's pyproject.toml::

    [[tool.vae_spec.targets]]
    target = "mypkg.losses:vae_loss"
    framework = "torch"
    args = ["x_recon", "x", "mu", "logvar"]
    likelihood = "bernoulli-probs"
    convention = { batch = "sum" }

or on the command line (``--vae-target mypkg.losses:vae_loss --vae-framework torch ...``).
Each target is a collector whose items are ``<target>::<check>`` (``<check>[<dtype>]`` when
the target lists several dtypes), so ``-k`` selects; a failing item shows the engine's report
for its check. The pyproject targets are collected when pytest runs from the rootdir with no
path arguments (whatever ``testpaths`` says) or is given pyproject.toml itself.

Loading the plugin costs a read of pyproject.toml: it imports the engine, hypothesis and the
frameworks only once a target is declared.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from .declaration import (
    argparse_type, parse_args_text, parse_dtypes, parse_kwargs_text, parse_shape, parse_timeout,
)

#: the keys a [[tool.vae_spec.targets]] table may hold, with the TOML types each accepts
TABLE_KEYS = {
    "target": (str,), "name": (str,), "framework": (str,), "term": (str,),
    "args": (list, dict), "likelihood": (str,), "posterior": (str,), "convention": (dict,),
    "data_shape": (list, int), "latent_shape": (list, int), "dtypes": (list, str),
    "device": (str,), "kwargs": (dict,),
}
REQUIRED_KEYS = ("target", "framework")
CONVENTION_KEYS = ("data", "latent", "batch", "beta", "scale", "constants", "kl_batch")

# the options that describe --vae-target's claim, by table key
_CLAIM_OPTIONS = {
    "framework": "vae_framework", "term": "vae_term", "args": "vae_args", "kwargs": "vae_kwargs",
    "likelihood": "vae_likelihood", "posterior": "vae_posterior",
    "data_shape": "vae_data_shape", "latent_shape": "vae_latent_shape", "dtypes": "vae_dtypes",
}
_CONVENTION_OPTIONS = {
    "batch": "vae_batch", "latent": "vae_latent", "data": "vae_data",
    "beta": "vae_beta", "scale": "vae_scale", "kl_batch": "vae_kl_batch",
}


@dataclasses.dataclass(frozen=True)
class Declaration:
    """One declared target as written: its item name, where it was declared, its fields, and
    the directory its paths are relative to (the rootdir for pyproject.toml, the invocation
    directory for the command line)."""

    name: str
    source: str
    fields: dict
    base: Path


@dataclasses.dataclass
class _State:
    pyproject: Path
    declared: list[Declaration]
    command_line: Declaration | None
    search: dict


_STATE = pytest.StashKey[_State]()


def pytest_addoption(parser):
    group = parser.getgroup("vae_spec", "vae_spec: check that declared VAE losses are the ELBO")
    group.addoption("--vae-target", metavar="MODULE:ATTR",
                    help="check this loss too (module:attr or path/to/file.py:attr)")
    group.addoption("--vae-framework", help="--vae-target's framework: numpy, torch, tensorflow, "
                                            "jax, keras or array-api[:module]")
    group.addoption("--vae-term", help="--vae-target's term: kl, reconstruction, loss (default), "
                                       "elbo, mc_kl, mc_loss, iwae, sampler or stochastic_loss")
    group.addoption("--vae-args", type=argparse_type(parse_args_text), help="--vae-target's parameters as canonical names, comma-separated "
                                       "(x_recon,x,mu,logvar), user=canonical pairs, or JSON for nested calls")
    group.addoption("--vae-kwargs", type=argparse_type(parse_kwargs_text), help="--vae-target's fixed keyword arguments: beta=4 or JSON")
    group.addoption("--vae-likelihood", help="--vae-target's likelihood: bernoulli-probs, gaussian, ...")
    group.addoption("--vae-posterior", help="--vae-target's posterior scale: logvar, logstd, std or var")
    group.addoption("--vae-batch", choices=("mean", "sum", "none"), help="batch reduction (default mean)")
    group.addoption("--vae-kl-batch", choices=("mean", "sum", "none"),
                    help="the KL's batch reduction where it differs from --vae-batch")
    group.addoption("--vae-latent", choices=("sum", "mean"), help="latent reduction (default sum)")
    group.addoption("--vae-data", choices=("sum", "mean"), help="data reduction (default sum)")
    group.addoption("--vae-beta", type=float, help="declared KL weight (default 1)")
    group.addoption("--vae-scale", type=float, help="declared factor on both terms (default 1)")
    group.addoption("--vae-no-constants", action="store_true",
                    help="--vae-target drops the likelihood's normalizing constants")
    group.addoption("--vae-data-shape", type=argparse_type(parse_shape), metavar="1,28,28", help="trailing data shape")
    group.addoption("--vae-latent-shape", type=argparse_type(parse_shape), metavar="20", help="trailing latent shape")
    group.addoption("--vae-dtypes", type=argparse_type(parse_dtypes), metavar="float32",
                    help="dtypes to run in (default float32 and float64, less those the function raises in)")
    group.addoption("--vae-max-examples", type=int, metavar="N", help="cases per check, every target")
    group.addoption("--vae-seed", type=int, help="search seed, every target (default 0 under vae-ci)")
    group.addoption("--vae-profile", help="search profile: vae-dev, vae-ci (default) or vae-thorough")
    group.addoption("--vae-timeout", type=argparse_type(parse_timeout), default=60.0, metavar="SECONDS",
                    help="time limit per call of a target's function (default 60; 0 for none)")
    group.addoption("--vae-compile", action="store_true",
                    help="also check value and gradient of the framework-compiled function")
    group.addoption("--vae-html", metavar="DIR",
                    help="write an HTML report with plots for each failing target to DIR "
                         '(needs matplotlib: pip install "vae-spec[report]")')


@pytest.hookimpl(tryfirst=True)  # before hypothesis' plugin loads a --hypothesis-profile
def pytest_configure(config):
    pyproject = config.rootpath / "pyproject.toml"
    state = _State(pyproject=pyproject, declared=read_declarations(pyproject),
                   command_line=_command_line_declaration(config), search=_search_options(config))
    config.stash[_STATE] = state
    _configure_html(config)
    if (state.declared or state.command_line or "hypothesis" in sys.modules
            or config.getoption("hypothesis_profile", None)):
        from .profiles import register_hypothesis_profiles

        register_hypothesis_profiles()


def _configure_html(config) -> None:
    """--vae-html DIR: each failing target's page goes to DIR (matplotlib required)."""
    folder = config.getoption("vae_html", None)
    if folder is None:
        return
    from .html_report import MissingMatplotlib, require_matplotlib

    try:
        require_matplotlib()
    except MissingMatplotlib as exc:
        raise pytest.UsageError(f"--vae-html: {exc}") from None
    from . import pytest as vae_pytest

    vae_pytest.HTML_DIR = Path(folder).resolve()


def pytest_unconfigure(config):
    if config.getoption("vae_html", None) is not None:
        from . import pytest as vae_pytest

        vae_pytest.HTML_DIR = None


def pytest_report_header(config):
    state = config.stash[_STATE]
    if not (state.declared or state.command_line):
        return None
    count = len(state.declared) + (state.command_line is not None)
    profile = state.search["profile"] or "vae-ci"
    return f"vae_spec: {count} target(s) declared, profile {profile}"


def pytest_collect_file(file_path, parent):
    state = parent.config.stash[_STATE]
    if file_path == state.pyproject and state.declared:
        return TargetsFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect
def pytest_collection_modifyitems(session, config, items):
    state = config.stash[_STATE]
    collectors = []
    collected = any(item.getparent(TargetsFile) is not None for item in items)
    if state.declared and not collected and _runs_everything(config):
        collectors.append(TargetsFile.from_parent(session, path=state.pyproject))
    if state.command_line is not None:
        declaration = state.command_line
        collectors.append(TargetCollector.from_parent(
            session, name=declaration.name, nodeid=declaration.name, declaration=declaration,
        ))
    for collector in collectors:
        items.extend(session.genitems(collector))


def pytest_collection_finish(session):
    """Record each target's selected checks (after -k and -m), which its first item runs together."""
    selected: dict[int, tuple] = {}
    for item in session.items:
        if isinstance(item, CheckItem):
            target, check = item.target, item.check
        else:
            params = getattr(getattr(item, "callspec", None), "params", {})
            target, check = params.get("target"), params.get("check")
            if target is None or not isinstance(check, str):
                continue
            from .target import Target

            if not isinstance(target, Target):
                continue
        selected.setdefault(id(target), (target, []))[1].append(check)
    if selected:
        from . import pytest as vae_pytest

        vae_pytest.SELECTED.update({key: (target, tuple(checks)) for key, (target, checks) in selected.items()})


def _runs_everything(config) -> bool:
    """pytest runs from the rootdir with no path arguments (testpaths or the rootdir itself)."""
    return (config.args_source != pytest.Config.ArgsSource.ARGS
            and config.invocation_params.dir == config.rootpath)


class TargetsFile(pytest.File):
    """pyproject.toml: one collector per [[tool.vae_spec.targets]] table."""

    def collect(self):
        for declaration in self.config.stash[_STATE].declared:
            yield TargetCollector.from_parent(self, name=declaration.name, declaration=declaration)


class TargetCollector(pytest.Collector):
    """One declared target: one item per applicable check (per dtype when it lists several)."""

    def __init__(self, *, declaration: Declaration, **kwargs):
        super().__init__(**kwargs)
        self.declaration = declaration

    def collect(self):
        from .checks import CHECKS
        from .frameworks.base import FrameworkNotInstalled, adapter_for
        from .target import TargetError

        from .quiet import chatter_filtered
        from .runner import infer

        try:
            with chatter_filtered():  # importing the user's framework logs from C++
                target = build_target(self.declaration)
                adapter = adapter_for(target)
                # a function that runs at no shape and dtype gets no items: exit 2
                layout = infer(target, timeout=self.config.getoption("vae_timeout"))
        except (TargetError, FrameworkNotInstalled, ValueError) as exc:
            raise self.CollectError(f"{self.declaration.source}: {exc}") from None
        dtypes = target.dtypes if target.dtypes and len(target.dtypes) > 1 else (None,)
        for name, spec in CHECKS.items():
            if spec.applies(target, adapter):
                continue
            for dtype in dtypes:
                checked = target if dtype is None else dataclasses.replace(target, dtypes=(dtype,))
                # each item reuses the collection's probes; a dtype the function raised in is
                # probed again by its item, which then reports it
                reused = layout if dtype is None else (
                    dataclasses.replace(layout, dtypes=(dtype,), unsupported=())
                    if dtype in layout.dtypes else None)
                yield CheckItem.from_parent(
                    self, name=name if dtype is None else f"{name}[{dtype}]",
                    target=checked, check=name, layout=reused,
                )


class CheckItem(pytest.Item):
    """One named check of one target; a failure reports the engine's finding."""

    def __init__(self, *, target, check: str, layout=None, **kwargs):
        super().__init__(**kwargs)
        self.target = target
        self.check = check
        self.layout = layout

    def runtest(self):
        from .pytest import run_check
        from .quiet import chatter_filtered

        with chatter_filtered():
            run_check(self.target, self.check, layout=self.layout, **self.config.stash[_STATE].search)

    def repr_failure(self, excinfo, style=None):
        from .frameworks.base import FrameworkNotInstalled
        from .runner import ConformanceError
        from .target import TargetError

        if isinstance(excinfo.value, (ConformanceError, TargetError, FrameworkNotInstalled)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.parent.name}::{self.name}"


def build_target(declaration: Declaration):
    """The vae_spec.Target a declaration describes; files and modules resolve from its base."""
    from .declaration import declared_target, require_likelihood

    fields = dict(declaration.fields)
    fields.pop("name", None)
    return require_likelihood(declared_target(fields.pop("target"), base=declaration.base, **fields))


def read_declarations(pyproject: Path) -> list[Declaration]:
    """The [[tool.vae_spec.targets]] tables of ``pyproject``, checked for shape; UsageError if malformed."""
    try:
        raw = pyproject.read_bytes()
    except OSError:
        return []
    if b"vae_spec" not in raw:  # spares the TOML parse in projects that declare nothing
        return []
    import tomllib

    where = f"{pyproject.name} [tool.vae_spec]"
    try:
        tool = tomllib.loads(raw.decode("utf-8")).get("tool", {}).get("vae_spec")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise pytest.UsageError(f"{pyproject}: {exc}") from None
    if tool is None:
        return []
    if not isinstance(tool, dict) or set(tool) - {"targets"}:
        raise pytest.UsageError(f"{where}: expected only an array of tables 'targets'")
    tables = tool.get("targets", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise pytest.UsageError(f"{where}: 'targets' must be an array of tables ([[tool.vae_spec.targets]])")
    declarations = []
    for number, table in enumerate(tables, 1):
        source = f"{pyproject.name} [[tool.vae_spec.targets]] #{number}"
        _check_table(table, source)
        name = table.get("name", table["target"])
        declarations.append(Declaration(name, source, table, base=pyproject.parent))
    names = [d.name for d in declarations]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise pytest.UsageError(
            f"{where}: several targets named {', '.join(duplicated)}; give each a distinct 'name'"
        )
    return declarations


def _check_table(table: dict, source: str) -> None:
    unknown = sorted(set(table) - set(TABLE_KEYS))
    if unknown:
        raise pytest.UsageError(
            f"{source}: unknown key(s) {', '.join(unknown)}; expected any of {', '.join(TABLE_KEYS)}"
        )
    missing = [key for key in REQUIRED_KEYS if key not in table]
    if missing:
        raise pytest.UsageError(f"{source}: missing key(s) {', '.join(missing)}")
    for key, value in table.items():
        if not isinstance(value, TABLE_KEYS[key]):
            kinds = " or ".join(_TOML_KINDS[kind] for kind in TABLE_KEYS[key])
            raise pytest.UsageError(f"{source}: {key} must be {kinds}, got {value!r}")
    unknown = sorted(set(table.get("convention", {})) - set(CONVENTION_KEYS))
    if unknown:
        raise pytest.UsageError(
            f"{source}: unknown convention key(s) {', '.join(unknown)}; expected any of "
            f"{', '.join(CONVENTION_KEYS)}"
        )


_TOML_KINDS = {str: "a string", list: "an array", dict: "a table", int: "an integer"}


def _command_line_declaration(config) -> Declaration | None:
    """--vae-target and its claim options as a declaration; UsageError when they do not fit."""
    claim_options = (*_CLAIM_OPTIONS.values(), *_CONVENTION_OPTIONS.values())
    given = [f"--{dest.replace('_', '-')}" for dest in claim_options if config.getoption(dest) is not None]
    if config.getoption("vae_no_constants"):
        given.append("--vae-no-constants")
    spec = config.getoption("vae_target")
    if spec is None:
        if given:
            raise pytest.UsageError(f"{', '.join(given)} describe(s) --vae-target, which is not given")
        return None
    missing = [option for option in ("--vae-framework",) if option not in given]
    if missing:
        raise pytest.UsageError(f"--vae-target needs {' and '.join(missing)}")
    fields = {"target": spec}
    for key, dest in _CLAIM_OPTIONS.items():
        if config.getoption(dest) is not None:
            fields[key] = config.getoption(dest)
    convention = {key: config.getoption(dest) for key, dest in _CONVENTION_OPTIONS.items()
                  if config.getoption(dest) is not None}
    if config.getoption("vae_no_constants"):
        convention["constants"] = False
    fields["convention"] = convention
    return Declaration(spec, "--vae-target", fields, base=config.invocation_params.dir)


def _search_options(config) -> dict:
    profile = config.getoption("vae_profile")
    if profile is not None:
        from .profiles import resolve

        try:
            resolve(profile)
        except ValueError as exc:
            raise pytest.UsageError(f"--vae-profile: {exc}") from None
    max_examples = config.getoption("vae_max_examples")
    if max_examples is not None and max_examples < 1:
        raise pytest.UsageError(f"--vae-max-examples: expected a positive integer, got {max_examples}")
    return {"max_examples": max_examples, "seed": config.getoption("vae_seed"), "profile": profile,
            "compile": config.getoption("vae_compile"), "timeout": config.getoption("vae_timeout")}
