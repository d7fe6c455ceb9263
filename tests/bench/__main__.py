"""Run the benchmarks, print a table, optionally write JSON keyed by benchmark id."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import Figure


def benchmark_modules() -> list[str]:
    """Every ``tests/bench/b<N>_*.py``, in the order of N."""
    found = Path(__file__).parent.glob("b[0-9]*_*.py")
    return [
        f"tests.bench.{p.stem}" for p in sorted(found, key=lambda p: int(p.stem[1:].split("_")[0]))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument("--only", help="comma-separated ids, e.g. B1,B4")
    parser.add_argument("--child", metavar="MODULE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.quick)
    wanted = {x.strip().upper() for x in args.only.split(",")} if args.only else None
    # Every session writes its file: keep the benchmarks' out of the user's data folder.
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as scratch:
        os.environ.setdefault("HARNESS_DATA_DIR", scratch)
        return _run(args, wanted)


def _run(args: argparse.Namespace, wanted: set[str] | None) -> int:

    results: dict[str, dict[str, object]] = {}
    rows: list[tuple[str, str, str, Figure]] = []
    for module_name in benchmark_modules():
        module = importlib.import_module(module_name)  # for ID and TITLE only
        if wanted and module.ID not in wanted:
            continue
        print(f"running {module.ID} {module.TITLE} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        figures = _in_own_process(module_name, args.quick)
        results[module.ID] = {
            "title": module.TITLE,
            "quick": args.quick,
            "seconds": round(time.perf_counter() - started, 2),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "figures": {name: figure.to_json() for name, figure in figures.items()},
        }
        rows += [(module.ID, module.TITLE, name, fig) for name, fig in figures.items()]

    _print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    missed = [f"{bid} {name}" for bid, _, name, fig in rows if fig.met is False]
    if missed:
        print("targets missed: " + ", ".join(missed), file=sys.stderr)
    return 1 if missed else 0


def _in_own_process(module_name: str, quick: bool) -> dict[str, Figure]:
    """Run one benchmark in a fresh interpreter, so that what one leaves behind (a
    tuned collector, a big heap) does not weigh on the next one's timings."""
    command = [sys.executable, "-m", "tests.bench", "--child", module_name]
    if quick:
        command.append("--quick")
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    return {name: Figure(**fields) for name, fields in json.loads(result.stdout).items()}


def _child(module_name: str, quick: bool) -> int:
    figures: dict[str, Figure] = importlib.import_module(module_name).run(quick)
    print(json.dumps({name: dataclasses.asdict(fig) for name, fig in figures.items()}))
    return 0


def _print_table(rows: list[tuple[str, str, str, Figure]]) -> None:
    header = ("id", "benchmark", "figure", "value", "unit", "target", "met")
    lines = [header] + [
        (
            bid,
            title,
            name,
            _fmt(fig.value),
            fig.unit,
            f"{fig.direction} {_fmt(fig.target)}" if fig.target is not None else "",
            {True: "yes", False: "NO", None: ""}[fig.met],
        )
        for bid, title, name, fig in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
