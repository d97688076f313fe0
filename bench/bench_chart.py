"""The run as a PNG beside its JSON: each path beside its limit, the targets, memory.

    .venv/bin/python bench/bench_chart.py bench/results/credits-<time>.json [out.png]

make bench draws it after every run (same name as the JSON, .png).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen: files only
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script too
from bench_report import (  # noqa: E402
    CREDITS,
    CREDITS_HOT,
    CREDITS_WORKERS,
    GENERATION,
    NOOP,
    PGBENCH_HOT,
    WEBHOOK_ACK,
    WEBHOOK_NOOP,
)

# The path, then its limit: (label, scenario, in flight) each.
PAIRS = (
    (("Deduct @64", CREDITS, 64), ("no-op gRPC @64", NOOP, 64)),
    (("Deduct, 2 workers @64", CREDITS_WORKERS, 64), ("Deduct, 1 worker @64", CREDITS, 64)),
    (("Deduct, one account @64", CREDITS_HOT, 64), ("pgbench, one row @64", PGBENCH_HOT, 64)),
    (("webhook gateway @64", WEBHOOK_ACK, 64), ("no-op aiohttp @64", WEBHOOK_NOOP, 64)),
    (("CreateGeneration @16", GENERATION, 16), ("Deduct @16", CREDITS, 16)),
)


def _rps(results: list[dict], scenario: str, level: int) -> float | None:
    return next(
        (r["rps"] for r in results if r["scenario"] == scenario and r["in_flight"] == level),
        None,
    )


def _throughput(ax, results: list[dict]) -> None:
    labels, ours, limits = [], [], []
    for (label, scenario, level), (limit_label, limit, limit_level) in PAIRS:
        a, b = _rps(results, scenario, level), _rps(results, limit, limit_level)
        if a is None or b is None:
            continue
        labels.append(f"{label}\nvs {limit_label}")
        ours.append(a)
        limits.append(b)
    y = range(len(labels))
    ax.barh([i + 0.2 for i in y], ours, height=0.4, label="path", color="#2b6cb0")
    ax.barh([i - 0.2 for i in y], limits, height=0.4, label="its limit", color="#a0aec0")
    ax.set_yticks(list(y), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("requests/s")
    ax.set_title("Each path beside its limit (same run)")
    ax.legend(fontsize=7)


def _targets(ax, targets: list[dict]) -> None:
    ratios = [t for t in targets if t["value"] is not None and t["target"].endswith("x")]
    colors = ["#38a169" if t["met"] else "#e53e3e" for t in ratios]
    y = range(len(ratios))
    ax.barh(list(y), [t["value"] for t in ratios], color=colors)
    for i, t in enumerate(ratios):
        bound = float(t["target"].split()[1].rstrip("x"))
        ax.plot([bound, bound], [i - 0.4, i + 0.4], color="black", linewidth=1.5)
    ax.set_yticks(list(y), [t["name"] for t in ratios], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("ratio (black line: target; green met, red not met)")
    ax.set_title("Targets")


def _memory(ax, footprint: dict) -> None:
    names = list(footprint)
    idle = [footprint[n]["idle_mb"] or 0 for n in names]
    load = [footprint[n]["load_mb"] or 0 for n in names]
    # Only where measured: a run without the startup scenario has no make run bars.
    as_run = [(i, footprint[n].get("make_run_idle_mb")) for i, n in enumerate(names)]
    as_run = [(i, mb) for i, mb in as_run if mb is not None]
    x = range(len(names))
    ax.bar([i - 0.27 for i in x], idle, width=0.27, label="idle", color="#a0aec0")
    ax.bar(list(x), load, width=0.27, label="under load", color="#2b6cb0")
    if as_run:
        ax.bar(
            [i + 0.27 for i, _ in as_run],
            [mb for _, mb in as_run],
            width=0.27,
            label="idle, make run",
            color="#68d391",
        )
    ax.axhline(120, color="black", linewidth=1, linestyle="--", label="idle target")
    ax.set_xticks(list(x), names, fontsize=7)
    ax.set_ylabel("RSS, MB")
    ax.set_title("Resident memory")
    ax.legend(fontsize=7)


def draw(data: dict, out: Path) -> Path:
    fig, axes = plt.subplots(3, 1, figsize=(9, 12))
    _throughput(axes[0], data["results"])
    _targets(axes[1], data.get("targets") or [])
    _memory(axes[2], (data.get("ledger_checks") or {}).get("footprint") or {})
    machine = data.get("machine", {})
    fig.suptitle(
        f"make bench {machine.get('started', '')}: {machine.get('nproc', '?')} cores"
        f" ({machine.get('cpu', 'cpu unknown')}) shared with k6 and PostgreSQL"
        f" {machine.get('postgres', '')}; Python {machine.get('python')}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    source = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) == 3 else source.with_suffix(".png")
    print(draw(json.loads(source.read_text()), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
