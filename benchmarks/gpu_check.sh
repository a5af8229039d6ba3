#!/usr/bin/env bash
# The one prepared device call of the GPU engine (run from the repository root on a CUDA machine):
#   bash benchmarks/gpu_check.sh [engine|paper]
# engine (default, ~5 min on one H200): the `cuda` tests, every engine target (benchmarks/bench_gpu.py)
#   and the tiny preset end to end on CUDA (sweep grouping, ensembles, graphs, scoring);
# layouts (~2 min): the cuda tests, then how K members run fastest (benchmarks/bench_wide.py: vmap vs the
#   wide grouped-convolution network, NCHW / channels_last, fp32 / bf16, with kernel profiles) and the
#   engine rows of the wide layouts;
# paper: the cuda tests, the default engine's rows, then `run_all.py --preset paper --betas 1 4 16` on
#   CUDA with PAPER_ARGS (default: full steps, one seed, PCA baseline), results tarred without checkpoints.
# Outputs go to $OUT (the device tool's folder) or benchmarks/out/gpu_check/: at most 8 files.
set -u
MODE=${1:-engine}
OUT=${OUT:-benchmarks/out/gpu_check}
mkdir -p "$OUT"
T0=$(date +%s)
log() { echo "[gpu_check $(( $(date +%s) - T0 )) s] $*"; }
PY=${PYTHON:-python3}
{
  nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv
  $PY -c "import torch, numpy, sklearn; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'numpy', numpy.__version__, 'sklearn', sklearn.__version__, 'cpus', __import__('os').cpu_count())"
  git log -1 --format='commit %h %s' 2>/dev/null || true
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

if [ "$MODE" = engine ]; then
  log "cuda tests"
  timeout 150 $PY -m pytest -q -p no:cacheprovider -m cuda tests/test_train_cuda.py > "$OUT/pytest_cuda.txt" 2>&1
  echo "pytest rc=$?" >> "$OUT/pytest_cuda.txt"; tail -5 "$OUT/pytest_cuda.txt"
  log "engine benchmark"
  timeout 240 $PY benchmarks/bench_gpu.py --seconds ${BENCH_SECONDS:-3} > "$OUT/bench_gpu.txt" 2>&1
  echo "bench rc=$?" >> "$OUT/bench_gpu.txt"; tail -25 "$OUT/bench_gpu.txt"
  log "tiny preset end to end on CUDA"
  rm -rf /tmp/tiny_cuda
  timeout 120 $PY run_all.py --preset tiny --betas 1 4 16 --seeds 0 1 --device cuda --baselines pca --no-figures \
      --results-dir /tmp/tiny_cuda > "$OUT/run_all_tiny.txt" 2>&1
  echo "run_all rc=$?" >> "$OUT/run_all_tiny.txt"; tail -12 "$OUT/run_all_tiny.txt"
  $PY - <<'PY' >> "$OUT/run_all_tiny.txt" 2>&1
import glob, json
for f in sorted(glob.glob("/tmp/tiny_cuda/runs/*/train/train_result.json")):
    r = json.load(open(f))
    print(r["config"]["model"], r["config"].get("beta", ""), r["config"]["seed"], r["engine"], r.get("ensemble_size", 1),
          round(r["images_per_s"]), {k: round(v, 2) for k, v in r["final"].items() if k in ("recon", "kl")})
PY
  tail -8 "$OUT/run_all_tiny.txt"
elif [ "$MODE" = layouts ]; then
  log "cuda tests"
  timeout 150 $PY -m pytest -q -p no:cacheprovider -m cuda tests/test_train_cuda.py > "$OUT/pytest_cuda.txt" 2>&1
  echo "pytest rc=$?" >> "$OUT/pytest_cuda.txt"; tail -5 "$OUT/pytest_cuda.txt"
  log "layouts of K = 32 members (forward + backward)"
  timeout 120 $PY benchmarks/bench_wide.py --members 32 --profile vmap wide_cl > "$OUT/bench_wide_k32.txt" 2>&1
  echo "bench rc=$?" >> "$OUT/bench_wide_k32.txt"; grep -v "^--\|^ \|^-\|^Name\|^Self" "$OUT/bench_wide_k32.txt" | tail -14
  log "one model at batch 64 (forward + backward), profiled"
  timeout 60 $PY benchmarks/bench_wide.py --members 1 --variants dense wide_cl --profile dense > "$OUT/bench_wide_k1.txt" 2>&1
  echo "bench rc=$?" >> "$OUT/bench_wide_k1.txt"; tail -6 "$OUT/bench_wide_k1.txt"
  log "engine rows of the wide layouts"
  timeout 150 $PY benchmarks/bench_gpu.py --seconds ${BENCH_SECONDS:-2.5} --only paper_group3_wide_cl_fp32 \
      k32_wide_fp32 k32_wide_cl_fp32 k32_wide_cl_bf16 k32_factor_vae_wide_cl_fp32 > "$OUT/bench_gpu_wide.txt" 2>&1
  echo "bench rc=$?" >> "$OUT/bench_gpu_wide.txt"; tail -12 "$OUT/bench_gpu_wide.txt"
else
  log "cuda tests"
  timeout 150 $PY -m pytest -q -p no:cacheprovider -m cuda tests/test_train_cuda.py > "$OUT/pytest_cuda.txt" 2>&1
  echo "pytest rc=$?" >> "$OUT/pytest_cuda.txt"; tail -3 "$OUT/pytest_cuda.txt"
  log "the default engine's rows"
  timeout 90 $PY benchmarks/bench_gpu.py --seconds 2.5 --only solo_graph_bf16 paper_group3_graph_bf16 k32_graph_bf16 \
      > "$OUT/bench_gpu_default.txt" 2>&1
  echo "bench rc=$?" >> "$OUT/bench_gpu_default.txt"; tail -8 "$OUT/bench_gpu_default.txt"
  log "paper preset"
  rm -rf /tmp/paper_cuda
  timeout ${PAPER_TIMEOUT:-560} $PY run_all.py --preset paper --betas 1 4 16 --device cuda ${PAPER_ARGS:---seeds 0 --baselines pca} \
      --results-dir /tmp/paper_cuda > "$OUT/run_all_paper.txt" 2>&1
  echo "run_all rc=$?" >> "$OUT/run_all_paper.txt"; tail -30 "$OUT/run_all_paper.txt"
  tar czf "$OUT/paper_results.tgz" --exclude='*.pt' --exclude='*.npz' -C /tmp paper_cuda 2>/dev/null
fi
log "done"
