"""Times alternative kernels of ONE benchmark configuration in one process, interleaved, each checked against
PyTorch first: for trying a hand-edited or differently planned kernel before teaching the emitter or planner.

    python3 scripts/bench/variants.py CONFIG DIR... [--rounds 5] [--reps 50]

CONFIG is a key of benchmark.py's CONFIGS (e.g. convfirst_n128_h56_c64); each DIR holds one manifest (*.json) and
the .cu it names. Prints each variant's median over rounds (each round: benchmark.py's time_ms, a median of reps
bursts of 10 back-to-back calls) and its speed relative to the first DIR."""
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
    ap.add_argument("config")
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--time-wrong", action="store_true",
                    help="time variants whose output differs too (ablations that drop work on purpose)")
    a = ap.parse_args()
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, f16, {a.config}, {a.rounds} interleaved rounds")
    progs = []
    with torch.no_grad():
        mod, x, ref, weights = bm.setup(a.config, "f16")
        for d in a.dirs:
            (manifest,) = glob.glob(os.path.join(d, "*.json"))
            prog = bm.tmc_torch.load(manifest)
            args = {kk: weights[kk] for kk in prog.weights}
            err = bm.max_rel_err(prog(x, **args), ref)
            status = "ok" if err < bm.TOLERANCE else "WRONG"
            print(f"{d}: max rel err {err:.3e} {status}", flush=True)
            progs.append((d, prog, args, status))
        times = {d: [] for d in a.dirs}
        for _ in range(a.rounds):
            for d, prog, args, status in progs:
                if status == "ok" or a.time_wrong:
                    times[d].append(bm.time_ms(lambda: prog(x, **args), a.reps))
    status_of = {d: status for d, _, _, status in progs}
    base = statistics.median(times[a.dirs[0]]) if times[a.dirs[0]] else None
    print("| variant | ms | first / this |")
    print("|---|---|---|")
    for d in a.dirs:
        if not times[d]:
            print(f"| {d} | wrong | |")
            continue
        t = statistics.median(times[d])
        mark = "" if status_of[d] == "ok" else " (output wrong: ablation)"
        print(f"| {d}{mark} | {t:.4f} | {base / t:.3f} |" if base else f"| {d}{mark} | {t:.4f} | |", flush=True)


if __name__ == "__main__":
    main()
