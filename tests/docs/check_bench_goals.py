#!/usr/bin/env python3
"""scripts/bench-goals on sample results (no benchmark runs): every goal gets a row, a figure is
judged against its goal, a missing or stale result file is reported as missing rather than filled
in, and goals.md / goals.json are written.

    check_bench_goals.py REPO
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def datapoint(scenario, rate, ns, rss_kb=20000):
    return {"scenario": scenario, "points": 2000000, "points_per_second": rate, "peak_rss_kb": rss_kb,
            "wire_bytes_per_point": 10.0, "extra": {"record_ns_per_point": ns}}


RESULTS = {
    "cpus_allowed": 1,
    "datapoints": [
        datapoint("Paho C++, one message per point (baseline)", 30000, 0),
        datapoint("twinlink C++ json", 9e6, 70),
        datapoint("twinlink C++ cbor", 21e6, 39, rss_kb=7 * 1024),
        datapoint("twinlink C ABI json", 8e6, 80),
        datapoint("twinlink C ABI cbor", 12e6, 61),
    ],
    "shadow": [
        {"scenario": "shadow updates, 1 device(s) x 16 in flight",
         "extra": {"devices": 1, "in_flight": 16, "p50_ms": 1, "p99_ms": 1.5}},
        # One request at a time: only a note of the 1-device row, never the row's figure.
        {"scenario": "shadow updates, 1 device(s) x 1 in flight",
         "extra": {"devices": 1, "in_flight": 1, "p50_ms": 0.4, "p99_ms": 40}},
        {"scenario": "shadow updates, 100 device(s) x 1 in flight",
         "extra": {"devices": 100, "in_flight": 100, "p50_ms": 9, "p99_ms": 30}},
    ],
}
# scripts/bench's second shadow run (broker on the benchmark's core): notes only, never the figure.
ONE_CORE = {
    "shadow": [
        {"extra": {"devices": 1, "in_flight": 16, "p50_ms": 0.3, "p99_ms": 0.9}},
        {"extra": {"devices": 1, "in_flight": 1, "p50_ms": 0.25, "p99_ms": 0.5}},
        {"extra": {"devices": 100, "in_flight": 100, "p50_ms": 2, "p99_ms": 5}},
    ]
}
PYTHON = {
    "results": {
        "paho_mqtt_batched": {"points_per_s": 400000.0, "batch": 5000},
        "record": {"points_per_s": 1200000.0},
        "record_cbor": {"points_per_s": 1300000.0},
        "record_many": {"points_per_s": 31e6, "array": "numpy float64", "chunk": 10000},
    }
}
SIZES = {
    "series": [{"series": "temp", "encoding": "compact", "bytes_per_point": 2.2}],
    "together": [{"encoding": "cbor", "bytes_per_point": 8.0}, {"encoding": "compact", "bytes_per_point": 5.1}],
}
EXPECTED = {
    "record_cpp_ns": "met", "record_capi_ns": "not met", "python_record_vs_batched": "not met",
    "python_record_many": "met", "acked_points_cpp": "met", "bytes_per_point": "not met",
    "shadow_p99_1": "met", "shadow_p99_100": "not met", "peak_rss_mib": "met",
}


def run(script: Path, directory: Path, *args: str) -> dict:
    subprocess.run([sys.executable, str(script), "--dir", str(directory), *args], check=True,
                   capture_output=True, text=True, timeout=60)
    return json.loads((directory / "goals.json").read_text()) if not args else {}


def main() -> int:
    script = Path(sys.argv[1]) / "scripts" / "bench-goals"
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        # A file from an earlier run, then the run's start, then this run's files.
        (d / "sizes.json").write_text(json.dumps(SIZES))
        past = time.time() - 3600
        os.utime(d / "sizes.json", (past, past))
        run(script, d, "--begin")
        (d / "results.json").write_text(json.dumps(RESULTS))
        (d / "python.json").write_text(json.dumps(PYTHON))
        (d / "shadow-one-core.json").write_text(json.dumps(ONE_CORE))
        goals = {g["goal"]: g for g in run(script, d)["goals"]}
        expected = dict(EXPECTED, bytes_per_point="missing")
        for key, status in expected.items():
            got = goals.get(key, {}).get("status")
            if got != status:
                failures.append(f"{key}: {got}, expected {status}")
        if "earlier run" not in goals["bytes_per_point"]["notes"]:
            failures.append(f"stale sizes.json: {goals['bytes_per_point']['notes']!r}")
        if "one request at a time: p50 0.4 ms, p99 40.0 ms" not in goals["shadow_p99_1"]["notes"]:
            failures.append(f"shadow, one request at a time: {goals['shadow_p99_1']['notes']!r}")
        if "broker on the benchmark's core: p50 0.3 ms, p99 0.9 ms, one at a time p50 0.25 ms, p99 0.50 ms" \
                not in goals["shadow_p99_1"]["notes"] or goals["shadow_p99_1"]["value"] != 1.5:
            failures.append(f"shadow, broker on the same core: {goals['shadow_p99_1']!r}")
        if goals["python_record_vs_batched"]["value"] != 3.0:
            failures.append(f"ratio to the baseline: {goals['python_record_vs_batched']['value']}")

        # This run's sizes.json; python.json without numpy.
        (d / "sizes.json").write_text(json.dumps(SIZES))
        python = json.loads(json.dumps(PYTHON))
        python["results"]["record_many"]["array"] = "array('d')"
        (d / "python.json").write_text(json.dumps(python))
        goals = {g["goal"]: g for g in run(script, d)["goals"]}
        for key, status in dict(EXPECTED, python_record_many="missing").items():
            if goals[key]["status"] != status:
                failures.append(f"second run, {key}: {goals[key]['status']}, expected {status}")
        table = (d / "goals.md").read_text()
        if table.count("\n| ") != len(EXPECTED) + 1 or "missing" not in table:
            failures.append("goals.md:\n" + table)

        # Nothing at all: every row missing, and the script still succeeds.
        for name in ("results.json", "python.json", "sizes.json"):
            (d / name).unlink()
        goals = {g["goal"]: g for g in run(script, d)["goals"]}
        if {g["status"] for g in goals.values()} != {"missing"}:
            failures.append(f"no results: {[g['status'] for g in goals.values()]}")
    for f in failures:
        print(f"check_bench_goals: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
