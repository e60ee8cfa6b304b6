#!/usr/bin/env bash
# The GPU machine's checks that need only its Python (torch with CUDA, transformers, lightning), one command:
#   issue 17: transformers' BertForMaskedLM.from_pretrained on Labbook's exports gives Labbook's top-5 fills;
#   issue 18: the Hugging Face Trainer and Lightning integrations, with the real frameworks (test_frameworks.py).
# Run benchmarks/gpu/prepare.sh here first, then on the device, carrying .gpu-carry:
#   bash benchmarks/gpu/check.sh        (writes $OUT/gpu-check.log when OUT is set)
# Figures go to docs/PRETRAINING.md and docs/PYTHON.md. The engine's own CUDA build (bf16 pre-training tokens/s)
# is not part of this script: ../shared/notes/gpu.md says what that build needs.
set -uo pipefail
cd "$(dirname "$0")/../.."
log="${OUT:-/tmp}/gpu-check.log"
export PYTHONUNBUFFERED=1
status=0
{
  echo "== machine"; nvidia-smi -L 2>&1 | head -2
  python3 -c 'import torch, transformers, sys; print("python", sys.version.split()[0], "torch", torch.__version__,
"cuda", torch.cuda.is_available(), "transformers", transformers.__version__)'
  echo "== issue 17: transformers loads the MLM exports"
  python3 benchmarks/gpu/hf_fills.py .gpu-carry/*/ || status=1
  echo "== issue 18: the integrations with the real frameworks"
  PYTHONPATH=python python3 tests/python/run.py tests/python/test_frameworks.py || status=1
  echo "== exit $status"
} 2>&1 | tee "$log"
exit $status
