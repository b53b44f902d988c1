set -uo pipefail
out="${OUT:-out}"; v=.carry/v14; export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 scripts/bench/variants.py convfirst_n128_h28_c128 $v/r7 $v/r7x2 $v/f8 $v/f8x2 $v/s4 --rounds 7 > $out/variants_c128.txt 2>&1; tail -8 $out/variants_c128.txt
python3 scripts/bench/variants.py convfirst_n128_h56_c64 $v/c64_r7 $v/c64_r7x3 $v/c64_s4x5 $v/c64_s4 --rounds 7 > $out/variants_c64.txt 2>&1; tail -7 $out/variants_c64.txt
