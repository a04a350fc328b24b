#!/usr/bin/env python3
"""Draws docs/bench.svg: time per call against N for each engine, log-log,
for B1 and B2, from the JSON that `scripts/bench_table.py --json FILE` writes
from criterion's own estimates. Needs matplotlib (`pip install matplotlib`).

    python3 scripts/bench_table.py --json target/bench.json
    python3 scripts/bench_plot.py target/bench.json docs/bench.svg
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ENGINES = ["interp", "jit-unfused", "jit", "jit-mt", "handwritten", "copy"]
STYLE = {
    "interp": ("#888888", "o"),
    "jit-unfused": ("#d98c1f", "s"),
    "jit": ("#1f5fd9", "D"),
    "jit-mt": ("#2a9d2a", "^"),
    "handwritten": ("#c0392b", "v"),
    "copy": ("#000000", "x"),
}


def main(src, dst):
    with open(src) as fh:
        data = json.load(fh)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, case in zip(axes, ["B1", "B2"]):
        for engine in ENGINES:
            xs, ys = [], []
            for log in [10, 16, 20, 24]:
                ms = data.get(f"{case}/2^{log}", {}).get(engine)
                if ms is not None:
                    xs.append(2**log)
                    ys.append(ms)
            if xs:
                color, marker = STYLE[engine]
                label = "memcpy of the same bytes" if engine == "copy" else engine
                ax.plot(xs, ys, marker=marker, color=color, label=label,
                        linestyle=":" if engine == "copy" else "-")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("N (elements per input)")
        ax.set_ylabel("median time per call (ms)")
        ax.set_title({"B1": "B1 seed: grad of x*x + 3*x",
                      "B2": "B2 chain: sum(tanh(ax+b)·sigmoid(cx) + exp(-x²)) and 4 gradients"}[case],
                     fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("gradjit, f32, one call = output and gradients (criterion medians)", fontsize=10)
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
