"""Merges the sweep (sweep.cpp) and the SDPA baselines into bench/results/<device>-<date>.json,
draws the TOPS bar chart next to it, and prints the table. Usage: report.py sweep.json sdpa.json outdir"""
import datetime
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SERIES = [("sm80_kernel_ms", "sageattn mma.sync kernel"), ("sm80_e2e_ms", "sageattn mma.sync e2e"),
          ("auto_kernel_ms", "sageattn auto kernel"), ("auto_e2e_ms", "sageattn auto e2e"),
          ("fa2_ms", "SDPA FA2"), ("cudnn_ms", "SDPA cuDNN")]


def main() -> None:
    sweep = json.loads(Path(sys.argv[1]).read_text())
    sdpa = json.loads(Path(sys.argv[2]).read_text())
    out = Path(sys.argv[3])
    baselines = {(r["d"], r["causal"], r["n"]): r for r in sdpa["rows"]}
    rows = []
    for r in sweep["rows"]:
        r = {**r, **baselines[(r["d"], r["causal"], r["n"])]}
        for key, _ in SERIES:
            r[key.replace("_ms", "_tops")] = r["flops"] / (r[key] * 1e-3) / 1e12 if r[key] else 0.0
        r["prepass_ideal_gbps"] = r["prepass_ideal_bytes"] / (r["prepass_ms"] * 1e-3) / 1e9
        r["prepass_moved_gbps"] = r["prepass_moved_bytes"] / (r["prepass_ms"] * 1e-3) / 1e9
        rows.append(r)
    date = datetime.date.today().isoformat()
    device = sweep["device"].replace(" ", "-")
    result = {"device": sweep["device"], "date": date, "capability": sweep["capability"],
              "copy_gbps": sweep["copy_gbps"], "torch": sdpa["torch"], "cudnn": sdpa["cudnn"],
              "tops": "4*B*H*N^2*D / time, halved when causal; B=4 H=32 bf16 HND", "rows": rows}
    stem = f"{device}-{date}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")

    labels = [f"D{r['d']} {'causal' if r['causal'] else 'full'} {r['n'] // 1024}k" for r in rows]
    fig, ax = plt.subplots(figsize=(16, 6))
    width = 0.8 / len(SERIES)
    for i, (key, name) in enumerate(SERIES):
        ax.bar([x + (i - (len(SERIES) - 1) / 2) * width for x in range(len(rows))], [r[key.replace("_ms", "_tops")] for r in rows],
               width, label=name)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_ylabel("TOPS")
    ax.set_title(f"sageattn vs PyTorch SDPA, {sweep['device']}, {date} (B=4, H=32, bf16)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / f"{stem}.png", dpi=110)

    print(f"copy bandwidth {sweep['copy_gbps']:.0f} GB/s")
    print("D causal N | " + " | ".join(name for _, name in SERIES) + " | prepass ms, GB/s ideal/moved")
    for r, label in zip(rows, labels):
        tops = " | ".join(f"{r[k.replace('_ms', '_tops')]:6.0f}" for k, _ in SERIES)
        print(f"{label} | {tops} | {r['prepass_ms']:.3f} {r['prepass_ideal_gbps']:.0f}/{r['prepass_moved_gbps']:.0f}")


if __name__ == "__main__":
    main()
