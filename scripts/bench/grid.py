"""Emits hand-written fused plans of one benchmark configuration as separate programs, for variants.py: a way to try
tiles, chunks and warps the planner does not rank first (docs/benchmarks.md).

    python3 scripts/bench/grid.py SAMPLE CONFIG SHAPE OUT [-p C=128] --plan 'tile N 1, H 8, W 8; stream E by 64; warps 4' ...

Each --plan is a list of directives separated by ';'. The plan is added to a copy of samples/SAMPLE.tm as 'g0', 'g1',
... (the sample's own 'fused' plan is emitted too, as 'fused'), and each program goes to OUT/CONFIG/<name>/. Prints the
planner's line for each (occupancy, shared memory, registers) or why it was refused."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sample")
    ap.add_argument("config")
    ap.add_argument("shape")
    ap.add_argument("out")
    ap.add_argument("-p", "--param", action="append", default=[])
    ap.add_argument("--plan", action="append", default=[])
    a = ap.parse_args()
    text = open(os.path.join(ROOT, "samples", a.sample + ".tm")).read()
    block = re.search(r"^block (\w+)", text, re.M).group(1)
    plans = {"fused": None}
    for i, p in enumerate(a.plan):
        body = "\n".join("  " + d.strip() for d in p.split(";") if d.strip())
        text += f"\nplan g{i} for {block} on sm_90 {{\n{body}\n}}\n"
        plans[f"g{i}"] = p
    tmc = os.environ.get("TMC", os.path.join(ROOT, "bin", "tmc"))
    params = [x for p in a.param for x in ("-p", p)]
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, a.sample + ".tm")
        open(src, "w").write(text)
        summary = subprocess.run([tmc, "compile", src, "--no-emit", "--shape", a.shape, *params],
                                 capture_output=True, text=True)
        lines = (summary.stdout + summary.stderr).splitlines()
        for name, p in plans.items():
            dest = os.path.join(a.out, a.config, name)
            os.makedirs(dest, exist_ok=True)
            r = subprocess.run([tmc, "emit", src, "--plan", name, "--shape", a.shape, "-o", tmp + "/e_" + name, *params],
                               capture_output=True, text=True)
            line = next((l.strip() for l in lines if l.strip().startswith(f"plan {name} ")), None)
            if r.returncode != 0:
                line = (r.stdout + r.stderr).strip()[:400]
            print(f"{name}: {p or 'the sample plan'}\n    {line}")
            if r.returncode == 0:
                for f in os.listdir(tmp + "/e_" + name):
                    if f.startswith(f"{block}_{name}.") and f.endswith((".cu", ".json")):
                        os.replace(os.path.join(tmp, "e_" + name, f), os.path.join(dest, f))
            else:
                os.rmdir(dest)


if __name__ == "__main__":
    sys.exit(main())
