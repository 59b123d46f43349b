"""Measure one way of reading a bundle file, alone in a fresh process.

``python -m benchmarks._load_probe json|bundle PATH`` prints one JSON object on stdout:
the seconds it took, the process's peak RSS before and after, and what it read.

A fresh process per measurement keeps the peak RSS clean: the peak only ever grows, so
the baseline is taken after every import (and, for ``bundle``, after the schema validator
is built), and the difference is what reading the file needed at its peak.

- ``json``: ``json.loads`` of the file's bytes (the floor: no validation, no models);
- ``bundle``: ``ziggy_migrate.load_bundle(path)`` inside ``bulk_mode()``, as the CLI runs
  it: read, parse, upgrade, validate against the JSON Schema, check references, structure
  into the attrs models;
- ``bundle-plain``: the same as a plain library call, without ``bulk_mode()``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ziggy_migrate import bulk_mode, load_bundle, load_bundle_text

_TINY_BUNDLE = json.dumps(
    {
        "schemaVersion": 1,
        "provenance": {
            "source": {"url": "http://warm-up.invalid", "name": None},
            "toolVersion": "benchmark",
            "exportedAt": "2026-01-01T00:00:00Z",
            "selection": {"flowIds": [], "tags": []},
        },
        "flows": [],
        "connections": [],
        "secrets": [],
        "structures": [],
        "variables": [],
        "unresolvedReferences": [],
    }
).encode("utf-8")


def _peak_rss_bytes() -> int:
    """Peak resident set size of this process so far.

    Linux's ``VmHWM`` when there is one: ``ru_maxrss`` survives ``exec``, so in a process
    started by a big parent (the benchmark, after its network scenarios) it starts at the
    parent's size and hides everything smaller. Elsewhere ``ru_maxrss`` (KiB on Linux,
    bytes on macOS).
    """
    try:
        status = Path("/proc/self/status").read_text("ascii")
    except OSError:
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss if sys.platform == "darwin" else maxrss * 1024
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _read_json(path: Path) -> int:
    document: Any = json.loads(path.read_bytes())
    return len(document["flows"])


def _read_bundle(path: Path) -> int:
    with bulk_mode():
        return len(load_bundle(path).flows)


def _read_bundle_plain(path: Path) -> int:
    return len(load_bundle(path).flows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._load_probe")
    parser.add_argument("mode", choices=("json", "bundle", "bundle-plain"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--profile", type=Path, help="also write a cProfile dump here")
    args = parser.parse_args(argv)

    read: Callable[[Path], int] = _read_json
    if args.mode != "json":
        # Load a tiny bundle first (that builds the cached schema validator): a fixed
        # cost, not a per-file one.
        load_bundle_text(_TINY_BUNDLE)
        read = _read_bundle if args.mode == "bundle" else _read_bundle_plain
    baseline = _peak_rss_bytes()
    started = time.perf_counter()
    if args.profile is not None:
        profiler = cProfile.Profile()
        flows = profiler.runcall(read, args.path)
        profiler.dump_stats(str(args.profile))
    else:
        flows = read(args.path)
    seconds = time.perf_counter() - started
    result = {
        "mode": args.mode,
        "seconds": seconds,
        "baseline_rss": baseline,
        "peak_rss": _peak_rss_bytes(),
        "flows": flows,
        "file_bytes": args.path.stat().st_size,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
