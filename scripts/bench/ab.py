"""A/B timing of two builds of the same tmc kernels in ONE process (interleaved rounds), each checked against
PyTorch first. Used for the cp.async change: are the double-buffered kernels faster than the previous ones?

    python3 scripts/bench/ab.py NEW_KERNELS_DIR OLD_KERNELS_DIR [--rounds 5] [--reps 50] [--plans all]

Prints, per configuration and plan, the median over rounds of each build's time (each round: benchmark.py's
time_ms, a median of reps bursts of 10 back-to-back calls) and the ratio old / new. --plans names the plans to
compare (default fused,best; 'all': every fused plan the new build has); a plan whose kernel source is the same in
both builds is listed as unchanged, not timed."""
import argparse
import glob
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import benchmark as bm  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("new")
    ap.add_argument("old")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--plans", default="fused,best")
    a = ap.parse_args()
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, f16, {a.rounds} interleaved rounds")
    print("| config | plan | old ms | new ms | old / new |")
    print("|---|---|---|---|---|")
    for name, (block, *_) in bm.CONFIGS.items():
        with torch.no_grad():
            mod, x, ref, weights = bm.setup(name, "f16")
            if a.plans == "all":
                names = sorted(os.path.basename(f)[len(block) + 1:-5] for f in glob.glob(os.path.join(a.new, name, f"{block}_*.json")))
                plans = [p for p in names if p != "layerwise"]
            else:
                plans = a.plans.split(",")
            for plan in plans:
                sources = [open(os.path.join(d, name, f"{block}_{plan}.cu")).read() for d in (a.old, a.new)]
                if sources[0] == sources[1]:
                    print(f"| {name} | {plan} | | | unchanged |", flush=True)
                    continue
                progs = {}
                for build, d in (("old", a.old), ("new", a.new)):
                    prog = bm.tmc_torch.load(os.path.join(d, name, f"{block}_{plan}.json"))
                    args = {kk: weights[kk] for kk in prog.weights}
                    err = bm.max_rel_err(prog(x, **args), ref)
                    if not err < bm.TOLERANCE:
                        raise SystemExit(f"{name} {plan} {build}: differs from PyTorch ({err:.3e})")
                    progs[build] = (prog, args)
                times = {"old": [], "new": []}
                for _ in range(a.rounds):
                    for build in ("old", "new"):
                        prog, args = progs[build]
                        times[build].append(bm.time_ms(lambda: prog(x, **args), a.reps))
                old, new = statistics.median(times["old"]), statistics.median(times["new"])
                print(f"| {name} | {plan} | {old:.4f} | {new:.4f} | {old / new:.3f} |", flush=True)


if __name__ == "__main__":
    main()
