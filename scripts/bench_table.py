#!/usr/bin/env python3
"""Turns criterion's estimates (target/criterion) into the README's tables.

Run `cargo bench --bench elementwise --bench training` first, then
`python3 scripts/bench_table.py [--json FILE]`. Times are criterion's median
estimates; effective bandwidth is the bytes that must be read and written
divided by the time.
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "target", "criterion")
BYTES_PER_ELEMENT = {"B1": 8, "B2": 32}  # f32: B1 reads x, writes one gradient; B2 reads 4, writes 4
ENGINES = ["interp", "jit-unfused", "jit", "jit-mt", "handwritten"]


def median_ms(*path):
    # criterion writes `2^16` in a benchmark id as the directory `2_16`
    f = os.path.join(ROOT, *path, "new", "estimates.json")
    try:
        with open(f) as fh:
            return json.load(fh)["median"]["point_estimate"] / 1e6
    except (OSError, KeyError, ValueError):
        return None


def fmt(ms):
    if ms is None:
        return "—"
    return f"{ms * 1e3:.1f} µs" if ms < 0.1 else f"{ms:.3g} ms"


def main():
    results = {}
    lines = []
    for case in ["B1", "B2"]:
        lines.append(f"\n**{case}** (f32, one call computes the output and the gradients; GB/s = bytes read and written / time)\n")
        lines.append("| N | " + " | ".join(ENGINES) + " | jit GB/s | copy GB/s |")
        lines.append("|---" * (len(ENGINES) + 3) + "|")
        for log in [10, 16, 20, 24]:
            size = f"2^{log}"
            row = {e: median_ms(case, e, f"2_{log}") for e in ENGINES + ["copy"]}
            results[f"{case}/{size}"] = row
            n = 1 << log
            bw = lambda ms: "—" if ms is None else f"{BYTES_PER_ELEMENT[case] * n / (ms * 1e-3) / 1e9:.1f}"
            lines.append(f"| {size} | " + " | ".join(fmt(row[e]) for e in ENGINES) + f" | {bw(row['jit'])} | {bw(row['copy'])} |")
    lines.append("\n**B3, B4** (f32, N = 2^16, a whole training step: loss and gradients)\n")
    cols = ENGINES + ["matmuls-only", "gemm-only"]
    lines.append("| case | " + " | ".join(cols) + " | compile (jit) |")
    lines.append("|---" * (len(cols) + 2) + "|")
    for case in ["B3", "B4"]:
        row = {e: median_ms(case, e, "2_16") for e in cols}
        row["compile"] = median_ms(case, "compile", "jit")
        results[case] = row
        lines.append(f"| {case} | " + " | ".join(fmt(row[e]) for e in cols) + f" | {fmt(row['compile'])} |")
    comp = {c: median_ms("compile", "jit", c) for c in ["B1", "B2"]}
    results["compile"] = comp
    lines.append(f"\nCompile time, program text to callable executable (`jit`): B1 {fmt(comp['B1'])}, B2 {fmt(comp['B2'])}.")
    print("\n".join(lines))
    if len(sys.argv) > 2 and sys.argv[1] == "--json":
        with open(sys.argv[2], "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
