"""Launches one emitted program once at a given shape, for a profiler (ncu) to capture.

    python3 scripts/gpu/profile_one.py MANIFEST.json N H W
"""
import sys
import os

sys.path.insert(0, os.path.dirname(__file__))
import verify_emitted as v  # noqa: E402

path, n, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
m = v.json.load(open(path))
block = v.tmc_torch.load(path)
ts = v.random_tensors(m, n, h, w, seed=3)
for _ in range(2):
    block(*[ts[i] for i in block.inputs], nhwc=True, **{k: ts[k] for k in block.weights})
v.torch.cuda.synchronize()
print("done")
