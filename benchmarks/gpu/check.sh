#!/usr/bin/env bash
# Everything a GPU machine checks for issues 17 and 18, in one command (../shared/notes/gpu.md):
#   issue 17: transformers' BertForMaskedLM.from_pretrained on Labbook's exports gives Labbook's top-5 fills;
#             the engine built against the machine's CUDA LibTorch pre-trains the mini encoder in bf16 and fp32,
#             tokens/s against the CPU figure; the bf16 run's export loads in transformers too;
#   issue 18: the Hugging Face Trainer and Lightning integrations, with the real frameworks (test_frameworks.py).
# Run benchmarks/gpu/prepare.sh here first, then on the device, carrying .gpu-carry:
#   bash benchmarks/gpu/check.sh        (gpu-check.log, gpu-build.log, gpu-mlm-speed.json under $OUT, else /tmp;
#                                         gpu-configure.log too when the engine's configure fails)
# The Python checks come first, so that a failed engine build still leaves their results. About 6-8 minutes on
# 16 cores (an estimate: it has not run there); give the device call about 590 s.
# Figures go to docs/PRETRAINING.md, docs/PYTHON.md and docs/GPU.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp}"
export LABBOOK_GPU_BUILD="${LABBOOK_GPU_BUILD:-build-gpu}"
build="$LABBOOK_GPU_BUILD"
log="$out/gpu-check.log"
export PYTHONUNBUFFERED=1
status=0
# Everything below also goes to the log; the status must not live in a piped subshell, or it would be lost.
exec > >(tee "$log") 2>&1
echo "== machine"; nvidia-smi -L 2>&1 | head -2; nproc; cmake --version | head -1
nvcc --version 2>&1 | tail -1 || /usr/local/cuda/bin/nvcc --version 2>&1 | tail -1
python3 -c 'import torch, transformers, sys; print("python", sys.version.split()[0], "torch", torch.__version__,
"cuda", torch.cuda.is_available(), "transformers", transformers.__version__)'
echo "== issue 17: transformers loads the MLM exports made here"
python3 benchmarks/gpu/hf_fills.py .gpu-carry/gpu-mlm-*/ || status=1
echo "== issue 18: the integrations with the real frameworks"
PYTHONPATH=python python3 tests/python/run.py tests/python/test_frameworks.py || status=1
echo "== issue 17: the engine against this machine's LibTorch"
if bash benchmarks/gpu/build-engine.sh >"$out/gpu-build.log" 2>&1; then
  tail -3 "$out/gpu-build.log"
  # The carried libraries only for Labbook's programs (in a subshell): Python's own modules keep the image's.
  (source "$build/env.sh"
   python3 benchmarks/gpu/mlm_speed.py --lbk "$build/bin/lbk" --data .gpu-carry --out /tmp/gpu-speed \
     --json "$out/gpu-mlm-speed.json") || status=1
  echo "== issue 17: transformers loads the export of the CUDA bf16 run"
  python3 benchmarks/gpu/hf_fills.py /tmp/gpu-speed/export-*/ || status=1
else
  grep -E 'error|Error' "$out/gpu-build.log" | head -30; tail -20 "$out/gpu-build.log"
  cp "$build/configure.log" "$out/gpu-configure.log" 2>/dev/null
  echo "engine build failed: $out/gpu-build.log"; status=1
fi
echo "== exit $status"
exec 1>&- 2>&-
wait $! # tee: the log's last lines are written before $OUT is collected
exit $status
