#!/usr/bin/env bash
# Scores a large JSON lines file (plain or .zst) with an exported model on a Slurm cluster: an array of SHARDS
# tasks, each running `lbk predict --shard K/SHARDS` on its block of lines, then one job that joins the parts in
# order into OUT, byte for byte what a single `lbk predict` on one machine writes. Run it on a login node:
#
#   examples/slurm/predict.sh MODEL DATA OUT SHARDS [sbatch options...]
#   examples/slurm/predict.sh exports/top20 papers.jsonl.zst scores.jsonl 16 --partition=cpu --cpus-per-task=16
#
# MODEL is an export folder (`lbk export RUN --format model --out DIR`); MODEL, DATA and OUT must be on a
# filesystem the compute nodes share. OUT ends in .csv (CSV, one header) or .jsonl (JSON lines). lbk is $LBK,
# else the lbk on PATH (with lbk-engine beside it). The sbatch options go to every job (the joining one too).
# Parts and task logs go to OUT.parts/; the parts are removed once OUT is written, the logs stay (each start of a
# task appends to its log: what a failed try said stays above the next one's lines).
# Run again after a failed task, it scores only the shards whose parts are missing (and a task stopped by its time
# limit continues its part), as long as the model, the data, lbk, lbk-engine, SHARDS and the format are what they
# were (OUT.parts/inputs records them); otherwise it scores every shard anew. It refuses while a job of the earlier
# submission is still queued or running (OUT.parts/jobs).
# Shards are blocks of whole chunks of lines (docs/PREDICT.md): a small file leaves some tasks nothing to do.
set -euo pipefail

die() {
  echo "predict.sh: $*" >&2
  exit 2
}

part_file() { printf '%s/part-%05d.%s' "$1" "$2" "$3"; } # PARTS K EXT

# In array task K: score shard K of SHARDS into its part file (renamed into place only when complete). A task
# stopped by its time limit keeps what it scored (lbk predict stops at a chunk's end on SIGTERM), and the same task
# run again continues it (--resume).
task() {
  local lbk="$1" model="$2" data="$3" parts="$4" shards="$5" ext="$6"
  local k="$SLURM_ARRAY_TASK_ID" part
  part="$(part_file "$parts" "$k" "$ext")"
  # Each start in the task's log (appended to: a rerun keeps what the failed one said), and lbk's own lines: whether
  # it continued an interrupted part, its rows and rate, the lines of its shard.
  echo "predict.sh: task $k of $shards on $(hostname), $(date '+%Y-%m-%d %H:%M:%S')"
  # The CPUs Slurm gave the task (without --cpus-per-task, nproc counts what its cgroup allows).
  "$lbk" predict "$model" --data "$data" --out "$part.tmp" --format "$ext" --threads "${SLURM_CPUS_PER_TASK:-$(nproc)}" \
    --shard "$k/$shards" --resume
  mv "$part.tmp" "$part"
}

# After every task succeeded: the parts in shard order into OUT (CSV keeps the first part's header only).
join_parts() {
  local out="$1" parts="$2" shards="$3" ext="$4" k f files=()
  for ((k = 0; k < shards; k++)); do
    f="$(part_file "$parts" "$k" "$ext")"
    [ -f "$f" ] || die "$f is missing: task $k did not finish (its log: $parts/task-$k.log)"
    files+=("$f")
  done
  if [ "$ext" = csv ]; then
    awk 'FNR > 1 || NR == 1' "${files[@]}" >"$out.tmp"
  else
    cat "${files[@]}" >"$out.tmp"
  fi
  mv "$out.tmp" "$out"
  rm -f "${files[@]}"
  echo "predict.sh: wrote $out from $shards shards"
}

# What a part depends on: the model folder's files, the data, lbk and lbk-engine (name, size, modification time to
# the nanosecond), SHARDS, format.
inputs_of() { # MODEL DATA LBK SHARDS EXT
  local engine
  engine="$(dirname "$3")/lbk-engine"
  [ -e "$engine" ] || engine=""
  stat -L -c '%n %s %y' "$1"/* "$2" "$3" ${engine:+"$engine"}
  echo "shards $4 format $5"
}

# Fails when a job of an earlier submission for these parts is still queued or running: its tasks would write the
# parts a new array writes. A join that waits on a failed array (DependencyNeverSatisfied) never runs.
check_no_earlier_jobs() { # PARTS
  local ids=() id active=""
  [ -f "$1/jobs" ] || return 0
  read -ra ids <"$1/jobs" || true
  for id in "${ids[@]}"; do
    if squeue -h -j "$id" -o '%T %r' 2>/dev/null | grep -v DependencyNeverSatisfied | grep -q .; then
      active+="${active:+, }$id"
    fi
  done
  [ -z "$active" ] || die "job $active of an earlier submission for $1 is still queued or running; wait for it to \
end or cancel it (scancel $active), then run this again"
}

# The shards whose part is not in PARTS, as an array spec ("1,4-6"); parts of other inputs are removed first.
missing_shards() { # PARTS SHARDS EXT INPUTS
  local parts="$1" shards="$2" ext="$3" inputs="$4" k start=-1 spec=""
  if [ "$(cat "$parts/inputs" 2>/dev/null)" != "$inputs" ]; then
    rm -f "$parts"/part-*
    printf '%s\n' "$inputs" >"$parts/inputs"
  fi
  for ((k = 0; k <= shards; k++)); do
    if [ "$k" -lt "$shards" ] && [ ! -f "$(part_file "$parts" "$k" "$ext")" ]; then
      [ "$start" -ge 0 ] || start="$k"
    elif [ "$start" -ge 0 ]; then
      spec+="${spec:+,}$start"
      [ "$((k - 1))" -eq "$start" ] || spec+="-$((k - 1))"
      start=-1
    fi
  done
  echo "$spec"
}

submit() {
  [ $# -ge 4 ] || die "usage: predict.sh MODEL DATA OUT SHARDS [sbatch options...]"
  local model data out shards lbk ext parts todo kept array join self
  [ -f "$1/model.json" ] || die "$1: not an export folder (make one with: lbk export RUN --format model --out DIR)"
  [ -f "$2" ] || die "$2: no such file"
  model="$(realpath "$1")"
  data="$(realpath "$2")"
  out="$(realpath -m "$3")"
  [ -d "$(dirname "$out")" ] || die "$3: its folder does not exist"
  [[ "$4" =~ ^[1-9][0-9]*$ ]] || die "SHARDS: $4 is not a whole number of 1 or more"
  case "${out,,}" in
  *.csv) ext=csv ;;
  *.jsonl) ext=jsonl ;;
  *) die "$3: OUT ends in .jsonl (JSON lines) or .csv; compress it once written (zstd $3) if need be" ;;
  esac
  case "${data,,}" in # as lbk reads them: by the name's ending, any case
  *.csv | *.tsv | *.tab | *.csv.zst | *.tsv.zst | *.tab.zst)
    die "$2: a CSV/TSV table cannot be cut into shards (a record may span lines); score it with one lbk predict, or \
convert it to JSON lines" ;;
  esac
  shards="$4"
  shift 4
  lbk="${LBK:-$(command -v lbk || true)}"
  [ -n "$lbk" ] && [ -x "$lbk" ] || die "lbk not found: put it on PATH or set LBK to its path"
  lbk="$(realpath "$lbk")"
  parts="$out.parts"
  mkdir -p "$parts"
  check_no_earlier_jobs "$parts"
  todo="$(missing_shards "$parts" "$shards" "$ext" "$(inputs_of "$model" "$data" "$lbk" "$shards" "$ext")")"
  kept="$(find "$parts" -maxdepth 1 -name "part-*.$ext" | wc -l)"
  if [ -z "$todo" ]; then # every part is there from an earlier run whose join did not happen
    echo "predict.sh: all $shards parts are in $parts/ from an earlier run; joining them here"
    join_parts "$out" "$parts" "$shards" "$ext"
    return
  fi
  self="$(realpath "${BASH_SOURCE[0]}")"
  array="$(sbatch --parsable --job-name=lbk-predict --array="$todo" --output="$parts/task-%a.log" --open-mode=append "$@" \
    "$self" --task "$lbk" "$model" "$data" "$parts" "$shards" "$ext")"
  array="${array%%;*}"
  if ! join="$(sbatch --parsable --job-name=lbk-predict-join --dependency=afterok:"$array" --kill-on-invalid-dep=yes \
    --output="$parts/join.log" "$@" "$self" --join "$out" "$parts" "$shards" "$ext")"; then
    scancel "$array" || true # no join would ever collect its parts
    die "the joining job was refused, so array job $array was cancelled"
  fi
  local what="$shards shards"
  [ "$kept" -eq 0 ] ||
    what="$((shards - kept)) of $shards shards (numbered $todo; $kept parts kept from an earlier run)"
  printf '%s %s\n' "$array" "${join%%;*}" >"$parts/jobs"
  echo "predict.sh: array job $array scores $what; job ${join%%;*} joins them into $out (logs in $parts/)"
}

case "${1:-}" in
--task) shift && task "$@" ;;
--join) shift && join_parts "$@" ;;
*) submit "$@" ;;
esac
