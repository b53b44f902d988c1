"""Where a kernel's warps stall, phase by phase: reads Nsight Compute's per-SASS-instruction export (`ncu --import
REPORT --page source --csv --print-source sass`, as scripts/gpu/stall_sources.sh writes it) and splits the
instructions at each block barrier (BAR.SYNC) into phases, in address order; prints each phase's share of the warp
samples, its executed instructions and its largest stall reasons, then the whole kernel's stall reasons.

    python3 scripts/bench/sass_phases.py KERNEL.csv [--top N]

A loop's body may appear split across two phases (the compiler rotates loops), and stalls at a barrier are counted in
the phase it ends."""
import argparse
import csv


def number(text):
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=4, help="stall reasons shown per phase")
    a = ap.parse_args()
    rows = list(csv.reader(open(a.csv)))
    header = rows[1]
    col = {h: i for i, h in enumerate(header)}
    stalls = [h for h in header if h.startswith("stall_") and "Not Issued" not in h]
    phases, current = [], None
    total = {s: 0.0 for s in stalls}
    for r in rows[2:]:
        if len(r) < len(header) // 2:
            continue
        if current is None:
            current = {"samples": 0.0, "executed": 0.0, "stalls": {s: 0.0 for s in stalls}, "end": "the kernel's end"}
        source = r[col["Source"]].strip()
        current["samples"] += number(r[col["# Samples"]])
        current["executed"] += number(r[col["Instructions Executed"]])
        for s in stalls:
            current["stalls"][s] += number(r[col[s]])
            total[s] += number(r[col[s]])
        if source.startswith("BAR.SYNC"):
            current["end"] = source
            phases.append(current)
            current = None
    if current is not None:
        phases.append(current)
    samples = sum(p["samples"] for p in phases) or 1.0
    print(f"{a.csv}: {samples:.0f} warp samples, {sum(p['executed'] for p in phases):.0f} warp instructions")
    print("| phase | samples | instructions | largest stalls | ends at |")
    print("|---|---|---|---|---|")
    for i, p in enumerate(phases):
        top = sorted(p["stalls"].items(), key=lambda kv: -kv[1])[:a.top]
        reasons = ", ".join(f"{k[len('stall_'):]} {100 * v / samples:.1f} %" for k, v in top if v > 0)
        print(f"| {i} | {100 * p['samples'] / samples:.1f} % | {p['executed']:.0f} | {reasons} | {p['end'][:32]} |")
    top = sorted(total.items(), key=lambda kv: -kv[1])[:8]
    print("whole kernel: " + ", ".join(f"{k[len('stall_'):]} {100 * v / samples:.1f} %" for k, v in top))


if __name__ == "__main__":
    main()
