#!/usr/bin/env bash
# RNNs and the Transformer side by side in the same time budget (issue 14): the dates task, the
# reversal task of source lengths 5–60 (exact match by length, one plot) and Tiny Shakespeare
# (validation bits/char at equal minutes). The two models of a pair train at the same time, each on
# one thread, so both get the same machine for the same wall-clock time.
#
#   scripts/side-by-side.sh                      # 120 s per seq2seq model, 180 s per language model
#   SEQ2SEQ_SECONDS=30 LM_SECONDS=30 EVAL_MAX=100 scripts/side-by-side.sh   # a quick look
#
# Writes out/side-by-side/ (pairs, models, reversal-length.svg, summary.txt) and prints the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
SEQ2SEQ_SECONDS=${SEQ2SEQ_SECONDS:-120}
LM_SECONDS=${LM_SECONDS:-180}
SHAKESPEARE=${SHAKESPEARE:-../shared/data/tinyshakespeare.txt}
OUT=${OUT:-out/side-by-side}
EVAL_MAX=${EVAL_MAX:-1000}
seqgrad() { node dist/cli.js "$@"; }
threads() { if seqgrad train --help | grep -q -- '--threads'; then echo --threads 1; fi; }
T1=$(threads)
mkdir -p "$OUT"
rm -f "$OUT"/*.json

# ---- data: training pairs and held-out test pairs (other seeds) ----
seqgrad seq2seq dates --n 20000 --seed 1 --out "$OUT/dates-train.tsv"
seqgrad seq2seq dates --n 1000 --seed 2 --out "$OUT/dates-test.tsv"
seqgrad seq2seq generate --task reversal --n 20000 --min-length 5 --max-length 60 --seed 1 --out "$OUT/reversal-train.tsv"
seqgrad seq2seq generate --task reversal --n 1000 --min-length 5 --max-length 60 --seed 2 --out "$OUT/reversal-test.tsv"

# train_pair NAME ARGS… : the LSTM with Bahdanau attention and the Transformer, at the same time
train_pair() {
  local name=$1; shift
  seqgrad seq2seq train "$@" $T1 --time-limit "$SEQ2SEQ_SECONDS" --cell lstm --bidirectional --hidden 64 \
    --attention bahdanau --out "$OUT/$name-lstm.json" >"$OUT/$name-lstm.log" 2>&1 &
  local rnn=$!
  seqgrad seq2seq train "$@" $T1 --time-limit "$SEQ2SEQ_SECONDS" --arch transformer --hidden 64 --layers 2 \
    --heads 4 --dropout 0.1 --out "$OUT/$name-transformer.json" >"$OUT/$name-transformer.log" 2>&1 &
  local transformer=$!
  wait "$rnn" "$transformer"
}

train_pair dates --pairs "$OUT/dates-train.tsv"
# batch 16: the figures in the README were taken so (before the Transformer trainer padded to powers of two,
# its batch-64 workspaces for sources 5–60 words long did not fit in WebAssembly memory)
train_pair reversal --pairs "$OUT/reversal-train.tsv" --level word --batch 16

{
  echo "same wall-clock budget per model: seq2seq ${SEQ2SEQ_SECONDS} s, language model ${LM_SECONDS} s (one thread each, trained in pairs)"
  for task in dates reversal; do
    for arch in lstm transformer; do
      echo "== $task, $arch (greedy and beam 5 on $EVAL_MAX held-out pairs)"
      seqgrad seq2seq eval --model "$OUT/$task-$arch.json" --pairs "$OUT/$task-test.tsv" --beam 1,5 --errors 0 --max "$EVAL_MAX" | grep -Ev '^\s*$'
    done
  done
} >"$OUT/summary.txt"
seqgrad seq2seq length-curve --model "$OUT/reversal-lstm.json,$OUT/reversal-transformer.json" \
  --label "LSTM + Bahdanau,Transformer" --pairs "$OUT/reversal-test.tsv" --metric exact --bucket 10 --max "$EVAL_MAX" \
  --plot "$OUT/reversal-length.svg" >>"$OUT/summary.txt"

# ---- Tiny Shakespeare: validation bits/char after the same minutes ----
if [ -f "$SHAKESPEARE" ]; then
  seqgrad train --data "$SHAKESPEARE" $T1 --time-limit "$LM_SECONDS" --cell lstm --hidden 256 --seq-len 100 \
    --batch 32 --epochs 1000 --max-eval-tokens 100000 --out "$OUT/shakespeare-lstm.json" --json >"$OUT/shakespeare-lstm.log" 2>&1 &
  rnn=$!
  seqgrad train --data "$SHAKESPEARE" $T1 --time-limit "$LM_SECONDS" --arch transformer --hidden 128 --layers 2 \
    --seq-len 100 --batch 32 --epochs 1000 --max-eval-tokens 100000 --out "$OUT/shakespeare-transformer.json" --json >"$OUT/shakespeare-transformer.log" 2>&1 &
  transformer=$!
  wait "$rnn" "$transformer"
  for arch in lstm transformer; do
    echo "== Tiny Shakespeare, $arch: $(grep -o '"validationBitsPerChar":[^,}]*\|"steps":[^,}]*' "$OUT/shakespeare-$arch.log" | tr '\n' ' ')"
  done >>"$OUT/summary.txt"
fi
cat "$OUT/summary.txt"
