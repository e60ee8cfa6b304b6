#!/usr/bin/env bash
# Here, before a GPU session's device run: makes what benchmarks/gpu/check.sh reads there, under .gpu-carry/ (ignored;
# name it in the run's carry): two tiny BertForMaskedLM exports of Labbook MLM runs on the sample, the decoder tied
# and untied; the 5k sample, compressed; and the engine's build dependencies (stage-engine-deps.sh). About 14 MB.
# Needs build/bin/lbk (./test.sh or ./run.sh builds it); about 35 s on two cores.
#   prepare.sh --goal   instead puts the whole arXiv corpus under .gpu-goal/arxiv/ (51 MB) for goal.py, carried
#                       by a second device call on the machine check.sh built on (docs/GPU.md, "Issue 17's goal").
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = "--goal" ]; then
  rm -rf .gpu-goal && mkdir -p .gpu-goal/arxiv
  cp ../shared/data/arxiv/arxiv-dev.jsonl.zst .gpu-goal/arxiv/
  du -sh .gpu-goal
  exit 0
fi
out=.gpu-carry
rm -rf "$out" && mkdir -p "$out"
store="$out/store.db"
for tied in true false; do
  name="gpu-mlm-tied-$tied"
  /usr/bin/python3 - "$name" "$tied" "$out/$name.json" <<'PY'
import json, sys
name, tied, path = sys.argv[1], sys.argv[2] == "true", sys.argv[3]
e = json.load(open("experiments/pretrain-debug.json"))
e["name"] = name
e["data"]["limit"] = 600
e["tokenizer"].update({"vocab_size": 1000, "max_tokens": 48})
e["model"].update({"embedding_dim": 32, "hidden": 64, "layers": 1, "heads": 2})
e["training"].update({"max_steps": 30, "log_every": 10})
e["evaluation"] = {"every_steps": 30, "metric": "loss"}
e.setdefault("mlm", {})["tied_decoder"] = tied
json.dump(e, open(path, "w"), indent=1)
PY
  build/bin/lbk --store "$store" run "$out/$name.json" >/dev/null
  build/bin/lbk --store "$store" export "$name" --format hf --out "$out/$name"
done
rm -rf "$store" "${store%.db}.runs" "$out"/*.json
zstd -q -19 -f ../shared/data/arxiv/arxiv-sample-5k.jsonl -o "$out/arxiv-sample-5k.jsonl.zst"
benchmarks/gpu/stage-engine-deps.sh
du -sh "$out"
