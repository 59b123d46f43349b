"""Measure the peak memory of one export or import, alone in a fresh process.

``python -m benchmarks._memory_probe export|import-full|import-empty --flows N ...``
runs the scenario as ``run.py`` does, at the library's default settings, against an
emulator in its own process that makes the data itself (so this process never holds
it), and prints one JSON object: the peak RSS above the start, the bundle file's size.

A fresh process keeps the figure honest: in the benchmark's own process, memory freed
by earlier runs but kept by the allocator would be reused without showing. The start is
taken after the imports and after a tiny bundle was loaded (which builds the cached
schema validator: a fixed cost, not one per flow). An import's peak includes loading
its bundle file, as ``ziggy flow import`` holds both.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks._data import Sizes
from benchmarks._load_probe import _TINY_BUNDLE
from benchmarks.run import Config, run_export, run_import
from ziggy_migrate import load_bundle_text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._memory_probe")
    parser.add_argument("scenario", choices=("export", "import-empty", "import-full"))
    parser.add_argument("--flows", type=int, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--secrets", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args(argv)
    load_bundle_text(_TINY_BUNDLE)
    sizes = Sizes(args.flows, args.nodes, args.connections, args.secrets)
    config = Config(
        sizes=sizes,
        latency=args.latency_ms / 1000.0,
        concurrency=16,
        load_sizes=sizes,
        scenarios=(args.scenario,),
        emulator="process",
        hide_secret_values=False,
        baseline_flows=None,
        skip_baseline=True,
        repeat=1,
        workdir=args.workdir,
        profile_dir=None,
        quick=False,
        memory_probe=True,
    )
    if args.scenario == "export":
        run = run_export(config, sizes, None)
    else:
        run = run_import(config, sizes, None, full_target=args.scenario == "import-full")
    result = {
        "scenario": args.scenario,
        "extra_rss": run.extra_rss,
        "file_bytes": run.file_bytes,
        "wall": run.wall,
        "concurrency": run.concurrency,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
