#!/usr/bin/env python3
"""What one Python call of record(name, value) costs in each binding style: pybind11's dispatcher,
nanobind's, and a plain METH_FASTCALL builtin (the calling convention of the shipped
Datapoints.record), each converting the same arguments the same way and calling the same C function,
beside two floors: the benchmark's loop without a call, and a call of a Python function that does
nothing. Builds its extension modules (CMakeLists.txt beside this file) into build/bench/callcost/,
prints a table and writes build/bench/callcost.json.

Two targets per style: `sink`, a C function that stores its arguments into volatiles (the binding's
own cost, isolated), and `record`, the real tl_datapoints_record_double on a pipeline connected to
a private mosquitto (the whole cost of a point). The shipped twinlink.Datapoints.record is measured
on the same broker. Every variant runs the same loop, the repeats alternate between the variants, and
the best repeat is reported. Then each variant runs once more under sys.getallocatedblocks() and
tracemalloc, which see what the Python allocator holds after the loop and at its peak, and the
floors and sink rows once more in a process of their own that counts the calling thread's malloc,
calloc and realloc calls (malloc_count.c, preloaded), which is where C++ code takes its memory.

nanobind is optional: without it (or if its module does not build) its rows are reported missing.

    callcost.py [--calls N] [--repeats N] [--allocation-calls N] [--sink-only] [--out PATH]
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
BUILD = REPO / "build" / "bench" / "callcost"
sys.path.insert(0, str(HERE.parent))  # bench.py: its Broker and its twinlink devices

import bench  # noqa: E402

Record = Callable[[str, float], None]
FLUSH_MS = 120_000


# -- building ----------------------------------------------------------------------------------


def cmake_dir_of(package: str) -> Optional[str]:
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    if package == "pybind11":
        return str(module.get_cmake_dir())
    return str(module.cmake_dir())


def run_quietly(command: List[str]) -> Optional[str]:
    """None when `command` succeeded, else its output (a build's errors)."""
    out = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    return None if out.returncode == 0 else out.stdout + out.stderr


def build(twinlink_dir: Path) -> Optional[str]:
    """Configures (again: nanobind may have been installed since) and builds the modules into
    BUILD, incrementally. Returns why the nanobind module is missing, or None when it was built.
    Exits when the required modules do not build."""
    nanobind_dir = cmake_dir_of("nanobind")
    configure = [
        "cmake", "-S", str(HERE), "-B", str(BUILD), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
        f"-DPython_EXECUTABLE={sys.executable}", f"-Dpybind11_DIR={cmake_dir_of('pybind11')}",
        f"-DTWINLINK_LIBRARY={twinlink_dir / 'libtwinlink.so.0'}",
    ]
    if nanobind_dir is not None:
        configure.append(f"-Dnanobind_DIR={nanobind_dir}")
    if subprocess.run(["sh", "-c", "command -v ccache"], capture_output=True).returncode == 0:
        configure += ["-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"]
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    for command in (configure, ["cmake", "--build", str(BUILD), "-j", jobs, "--target",
                                "callcost_vectorcall", "callcost_pybind11", "callcost_malloc_count"]):
        failure = run_quietly(command)
        if failure is not None:
            raise SystemExit(f"callcost: {' '.join(command[:2])} failed:\n{failure}")
    if nanobind_dir is None:
        return "nanobind is not installed (scripts/bootstrap python_bench)"
    failure = run_quietly(["cmake", "--build", str(BUILD), "-j", jobs, "--target", "callcost_nanobind"])
    if failure is not None:
        print(f"callcost: the nanobind module did not build; its rows are missing:\n{failure}", file=sys.stderr)
        return "the nanobind module did not build"
    return None


class Pipeline:
    """libcallcost_target's pipeline, which every module's record() records into."""

    def __init__(self) -> None:
        self.lib = ctypes.CDLL(str(BUILD / "libcallcost_target.so"))
        self.lib.callcost_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        self.lib.callcost_flush.argtypes = [ctypes.c_uint]
        self.lib.callcost_counts.argtypes = [ctypes.POINTER(ctypes.c_ulonglong)] * 2
        self.lib.tl_last_error.restype = ctypes.c_char_p  # libtwinlink's, through this library

    def open(self, broker_uri: str) -> None:
        self.check(self.lib.callcost_open(broker_uri.encode(), f"bench-callcost-{os.getpid()}".encode()))

    def flush(self) -> None:
        self.check(self.lib.callcost_flush(FLUSH_MS))

    def counts(self) -> Tuple[int, int]:
        acked, dropped = ctypes.c_ulonglong(), ctypes.c_ulonglong()
        self.check(self.lib.callcost_counts(ctypes.byref(acked), ctypes.byref(dropped)))
        return acked.value, dropped.value

    def close(self) -> None:
        self.lib.callcost_close()

    def check(self, status: int) -> None:
        if status != 0:
            message = self.lib.tl_last_error()
            raise SystemExit(f"callcost: the benchmark's pipeline failed ({status}): {message.decode()}")


# -- the loops ---------------------------------------------------------------------------------
# The loop of bench.py's record() benchmark, with the callee a local (LOAD_FAST) as there. Each loop
# returns its seconds.


def loop_without_call(calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        20.0 + (i % 100) * 0.01  # the argument alone, computed and discarded
    return time.perf_counter() - started


def loop_calling(record: Record, calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        record("temp", 20.0 + (i % 100) * 0.01)
    return time.perf_counter() - started


def python_noop(name: str, value: float) -> None:
    pass


class Variant:
    """One row: a loop to time (None when its module is missing, with the reason), what to do after
    each timed run outside the timing, and the figures measured."""

    def __init__(self, key: str, label: str, run: Optional[Callable[[int], float]],
                 after: Optional[Callable[[], None]] = None, missing: Optional[str] = None) -> None:
        self.key, self.label, self.run, self.after, self.missing = key, label, run, after, missing
        self.ns: List[float] = []
        self.allocations: Dict[str, float] = {}

    def result(self) -> Dict[str, Any]:
        if self.run is None:
            return {"label": self.label, "missing": self.missing}
        return {"label": self.label, "best_ns": min(self.ns), "median_ns": statistics.median(self.ns),
                "runs_ns": self.ns, **self.allocations}


def calling(record: Record) -> Callable[[int], float]:
    return lambda calls: loop_calling(record, calls)


STYLES = [("pybind11", "pybind11 (std::string_view, double)"),
          ("nanobind", "nanobind (std::string_view, double)"),
          ("vectorcall", "METH_FASTCALL builtin")]


def import_modules(nanobind_missing: Optional[str] = None) -> Dict[str, Optional[ModuleType]]:
    """The built modules by style; nanobind's is None when missing."""
    if str(BUILD) not in sys.path:
        sys.path.insert(0, str(BUILD))
    nanobind: Optional[ModuleType] = None
    if nanobind_missing is None:
        try:
            nanobind = importlib.import_module("callcost_nanobind")
        except ImportError:
            nanobind = None
    return {"pybind11": importlib.import_module("callcost_pybind11"), "nanobind": nanobind,
            "vectorcall": importlib.import_module("callcost_vectorcall")}


def local_variants(modules: Dict[str, Optional[ModuleType]],
                   nanobind_missing: Optional[str] = None) -> List[Variant]:
    """The floors and the sink rows: what runs without a broker."""
    variants = [Variant("loop", "floor: the loop, no call", loop_without_call),
                Variant("python_noop", "floor: a Python function that does nothing", calling(python_noop))]
    for style, label in STYLES:
        module = modules[style]
        sink = None if module is None else calling(module.sink)
        variants.append(Variant(f"{style}_sink", f"sink, {label}", sink, missing=nanobind_missing))
    return variants


def measure(variants: List[Variant], calls: int, repeats: int) -> None:
    present = [v for v in variants if v.run is not None]
    for v in present:  # warm-up: first calls, caches, the pipelines' first batches
        assert v.run is not None
        v.run(calls // 10)
        if v.after:
            v.after()
    for repeat in range(repeats):
        for v in present if repeat % 2 == 0 else reversed(present):
            assert v.run is not None
            v.ns.append(v.run(calls) / calls * 1e9)
            if v.after:
                v.after()  # the pipeline drained outside the timing, so every repeat starts alike


def measure_allocations(variants: List[Variant], calls: int) -> None:
    """Blocks the Python allocator holds more after `calls` calls (sys.getallocatedblocks()), and
    the bytes tracemalloc saw held at the loop's peak and after it. A per-call allocation that is
    kept shows as about `calls` blocks; one freed within the call shows in neither figure, nor does
    memory taken with C or C++ allocators (malloc, operator new) rather than Python's."""
    for v in variants:
        if v.run is None:
            continue
        v.run(1000)
        before = sys.getallocatedblocks()
        v.run(calls)
        blocks = sys.getallocatedblocks() - before
        tracemalloc.start()
        v.run(1000)
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        v.run(calls)
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if v.after:
            v.after()
        v.allocations = {"allocation_calls": calls, "blocks_kept": blocks,
                         "tracemalloc_peak_bytes": peak - start, "tracemalloc_kept_bytes": current - start}


def count_heap_allocations(calls: int) -> Dict[str, float]:
    """In this process, preloaded with libcallcost_malloc_count: heap allocations per call of the
    floors and the sink rows, by this thread."""
    lib = ctypes.CDLL(str(BUILD / "libcallcost_malloc_count.so"))
    lib.callcost_allocations.restype = ctypes.c_ulonglong
    counts: Dict[str, float] = {}
    for v in local_variants(import_modules()):
        if v.run is None:
            continue
        v.run(1000)
        before = lib.callcost_allocations()
        v.run(calls)
        counts[v.key] = (lib.callcost_allocations() - before) / calls
    return counts


def heap_allocations_in_child(calls: int) -> Dict[str, float]:
    env = dict(os.environ, LD_PRELOAD=str(BUILD / "libcallcost_malloc_count.so"))
    out = subprocess.run([sys.executable, __file__, "--count-heap", "--allocation-calls", str(calls)],
                         env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        print(f"callcost: the heap allocation count failed:\n{out.stderr}", file=sys.stderr)
        return {}
    counts: Dict[str, float] = json.loads(out.stdout)
    return counts


# -- report ------------------------------------------------------------------------------------


def table(variants: List[Variant], floor_ns: float) -> str:
    heading = 'one call of record("temp", x), loop included'
    lines = [f"{heading:<50} {'best ns':>8} {'median':>8} {'over loop':>9} {'blocks kept':>11} {'peak B':>7}"
             f" {'mallocs/call':>12}"]
    for v in variants:
        if v.run is None:
            lines.append(f"{v.label:<50} {'missing: ' + str(v.missing)}")
            continue
        best = min(v.ns)
        count = v.allocations.get("heap_allocations_per_call")
        heap = "–" if count is None else f"{count:.2f}"
        lines.append(f"{v.label:<50} {best:>8.1f} {statistics.median(v.ns):>8.1f} {best - floor_ns:>9.1f} "
                     f"{v.allocations['blocks_kept']:>11} {v.allocations['tracemalloc_peak_bytes']:>7} "
                     f"{heap:>12}")
    return "\n".join(lines)


def git_commit() -> Optional[str]:
    out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls per repeat and variant (default 1000000)")
    parser.add_argument("--repeats", type=int, default=7, help="alternating repeats; the best is reported (default 7)")
    parser.add_argument("--allocation-calls", type=int, default=100_000, help="calls of the allocation check")
    parser.add_argument("--sink-only", action="store_true", help="no broker: the floors and the sink rows only")
    parser.add_argument("--count-heap", action="store_true", help=argparse.SUPPRESS)  # the child of the count
    parser.add_argument("--out", default=str(REPO / "build" / "bench" / "callcost.json"))
    args = parser.parse_args()

    import twinlink  # loads libtwinlink.so.0, which the modules below then share

    if args.count_heap:
        print(json.dumps(count_heap_allocations(args.allocation_calls)))
        return 0
    twinlink_dir = Path(twinlink.__file__).resolve().parent
    nanobind_missing = build(twinlink_dir)
    modules = import_modules(nanobind_missing)
    if modules["nanobind"] is None and nanobind_missing is None:
        nanobind_missing = "the nanobind module did not import"

    load_before = os.getloadavg()
    broker = None if args.sink_only else bench.Broker()
    pipeline = Pipeline()
    device = None
    try:
        if broker is not None and broker.pinned:
            print("callcost.py: broker pinned to core 0, benchmark to core 1")
        variants = local_variants(modules, nanobind_missing)
        if broker is not None:
            pipeline.open(broker.uri)
            for style, label in STYLES:
                module = modules[style]
                record = None if module is None else calling(module.record)
                variants.append(Variant(f"{style}_record", f"pipeline, {label}", record,
                                        pipeline.flush, nanobind_missing))
            device = bench.twinlink_device(broker.uri, "callcost")
            shipped = device.datapoints
            variants.append(Variant("twinlink_record", "pipeline, shipped twinlink Datapoints.record",
                                    calling(shipped.record), lambda: shipped.flush(FLUSH_MS / 1000)))
        measure(variants, args.calls, args.repeats)
        measure_allocations(variants, args.allocation_calls)
        for key, per_call in heap_allocations_in_child(args.allocation_calls).items():
            for v in variants:
                if v.key == key and v.run is not None:
                    v.allocations["heap_allocations_per_call"] = per_call
        delivered: Dict[str, Any] = {}
        if broker is not None:
            acked, dropped = pipeline.counts()
            delivered = {"benchmark_pipeline_acked": acked, "benchmark_pipeline_dropped": dropped}
            stats = shipped.stats()
            delivered.update(shipped_acked=stats.acked_points, shipped_recorded=stats.recorded,
                             shipped_dropped=stats.dropped_points)
            if dropped or stats.dropped_points or stats.acked_points != stats.recorded:
                raise SystemExit(f"callcost: points were lost: {delivered}")
    finally:
        if device is not None:
            device.close()
        pipeline.close()
        if broker is not None:
            broker.stop()
    load_after = os.getloadavg()

    floor_ns = min(variants[0].ns)
    print()
    print(table(variants, floor_ns))
    print(f"\n{args.calls:,} calls per repeat, best of {args.repeats} alternating repeats; blocks kept, "
          f"tracemalloc's peak and the mallocs of the calling thread over {args.allocation_calls:,} calls; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "python": platform.python_version(),
        "twinlink": twinlink.library_version(),
        "commit": git_commit(),
        "pybind11": importlib.import_module("pybind11").__version__,
        "nanobind": None if nanobind_missing else importlib.import_module("nanobind").__version__,
        "cpu_pinned": broker is not None and broker.pinned,
        "calls": args.calls,
        "repeats": args.repeats,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "loop_floor_ns": floor_ns,
        "variants": {v.key: v.result() for v in variants},
        "delivered": delivered,
    }, indent=2) + "\n")
    print(f"callcost.py: wrote {os.path.relpath(out, Path.cwd())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
