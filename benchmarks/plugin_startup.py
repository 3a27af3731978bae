"""What the pytest plugin adds to a pytest run that declares no target.

Part 1: ``python -X importtime`` of ``import pytest; import vae_spec.pytest_plugin``; the
plugin's cost is the cumulative import time of every top-level module imported after pytest
(pytest itself is loaded in any pytest run), median over the repetitions.

Part 2: an unrelated one-test project (no [tool.vae_spec] in its pyproject.toml) run with
``python -m pytest`` with the plugin and with ``-p no:vae_spec``, interleaved, each
repeated; the added cost is the difference of the medians, in wall time and in CPU time
(user + system of the child, less disturbed by other load on the machine).

Goal: <= 50 ms added. ``--record`` writes the result as the section
"## Plugin start-up (benchmarks/plugin_startup.py)" of benchmarks/RESULTS.md, replacing that
section if present and leaving every other section as it is.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTION = "## Plugin start-up (benchmarks/plugin_startup.py)"
RESULTS = Path(__file__).with_name("RESULTS.md")
FRAMEWORKS = ("torch", "tensorflow", "jax", "keras")
GOAL_MS = 50.0

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\| ( *)(\S+)$")

_PROBE = """
import sys
def pytest_unconfigure(config):
    heavy = sorted(m for m in {names!r} if m in sys.modules)
    with open({out!r}, "w") as f:
        f.write(",".join(heavy))
"""


def plugin_import_ms(python: str, cwd: Path) -> tuple[float, list[tuple[str, float]]]:
    """Cumulative import time (ms) of what ``import vae_spec.pytest_plugin`` adds after pytest,
    and the packages (top-level names, at any depth) it brings in with their cumulative times."""
    stderr = subprocess.run(
        [python, "-X", "importtime", "-c", "import pytest; import vae_spec.pytest_plugin"],
        capture_output=True, text=True, check=True, cwd=cwd,
    ).stderr
    after_pytest, total, packages = False, 0.0, []
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        name, cumulative, depth = match.group(4), int(match.group(2)) / 1000, len(match.group(3))
        if after_pytest and depth == 0:  # top-level lines carry their children's time
            total += cumulative
        if after_pytest and "." not in name:
            packages.append((name, cumulative))
        after_pytest = after_pytest or (name == "pytest" and depth == 0)
    return total, packages


def run_pytest(python: str, project: Path, extra: list[str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one pytest run in ``project``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
                   cwd=project, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def make_project(root: Path) -> Path:
    (root / "pyproject.toml").write_text('[project]\nname = "unrelated"\nversion = "0"\n')
    (root / "test_unrelated.py").write_text("def test_addition():\n    assert 1 + 1 == 2\n")
    probe = root / "heavy.txt"
    (root / "conftest.py").write_text(_PROBE.format(
        names=(*FRAMEWORKS, "hypothesis", "scipy", "numpy", "vae_spec.runner"), out=str(probe)))
    return probe


def measure(python: str, repetitions: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        probe = make_project(project)
        imports = [plugin_import_ms(python, project) for _ in range(repetitions)]
        import_ms = statistics.median(total for total, _ in imports)
        contributors = sorted(imports[0][1], key=lambda part: -part[1])[:6]
        run_pytest(python, project, [])  # warm the file cache and bytecode
        with_plugin, without_plugin = [], []
        for _ in range(repetitions):
            with_plugin.append(run_pytest(python, project, []))
            loaded_with = probe.read_text()
            without_plugin.append(run_pytest(python, project, ["-p", "no:vae_spec"]))
            loaded_without = probe.read_text()
    wall = [statistics.median(run[0] for run in runs) * 1000 for runs in (with_plugin, without_plugin)]
    cpu = [statistics.median(run[1] for run in runs) * 1000 for runs in (with_plugin, without_plugin)]
    return {
        "import_ms": import_ms, "contributors": contributors,
        "wall_with": wall[0], "wall_without": wall[1], "cpu_with": cpu[0], "cpu_without": cpu[1],
        "loaded_with": loaded_with or "none", "loaded_without": loaded_without or "none",
        "repetitions": repetitions,
    }


def render(result: dict, python: str) -> str:
    added_wall = result["wall_with"] - result["wall_without"]
    added_cpu = result["cpu_with"] - result["cpu_without"]
    verdict = "within" if max(added_wall, added_cpu) <= GOAL_MS else "over"
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        SECTION, "",
        f"Command: `{Path(python).name} benchmarks/plugin_startup.py --repetitions "
        f"{result['repetitions']}`, run {stamp} (Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {load}). Medians of {result['repetitions']} runs.",
        "",
        "| measure | with plugin | without (`-p no:vae_spec`) | added |",
        "| --- | ---: | ---: | ---: |",
        f"| `import vae_spec.pytest_plugin` after pytest (-X importtime) | "
        f"{result['import_ms']:.1f} ms | 0 | {result['import_ms']:.1f} ms |",
        f"| one-test pytest run, wall | {result['wall_with']:.0f} ms | {result['wall_without']:.0f} ms "
        f"| {added_wall:.0f} ms |",
        f"| one-test pytest run, CPU | {result['cpu_with']:.0f} ms | {result['cpu_without']:.0f} ms "
        f"| {added_cpu:.0f} ms |",
        "",
        "Packages the plugin's import brings in (cumulative): " + (", ".join(
            f"{name} {ms:.1f} ms" for name, ms in result["contributors"]) or "none") + ".",
        f"Heavy modules loaded by the end of the run: with the plugin {result['loaded_with']}; "
        f"without it {result['loaded_without']}.",
        "The plugin module imports only pytest and the standard library when it loads; Python "
        "runs `vae_spec/__init__.py` first, and whatever that imports is counted here too.",
        f"Goal <= {GOAL_MS:.0f} ms added: {verdict}.",
    ]
    return "\n".join(lines) + "\n"


def record(section: str) -> None:
    """Replace this benchmark's section of RESULTS.md, or append it; other sections stay."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=15)
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure")
    parser.add_argument("--record", action="store_true", help="write the section into RESULTS.md")
    options = parser.parse_args(argv)
    section = render(measure(options.python, options.repetitions), options.python)
    print(section)
    if options.record:
        record(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
