#!/usr/bin/env bash
# The lecture's small models, each in a minute or two on one CPU thread, then the ladder.
set -euo pipefail
cd "$(dirname "$0")/.."
train_and_publish() {   # NAME TITLE TRAIN-ARGS...
  local name="$1" title="$2"; shift 2
  python -m gpt.train "$@" --sample-chars 0 --threads 1 --out "runs/$name"
  python -m gpt.publish --run "runs/$name/best" --out "checkpoints/$name" --title "$title" \
    --command "bash recipes/small-models.sh"
}
train_and_publish shakespeare-bigram "Tiny Shakespeare bigram" --corpus shakespeare --model bigram \
  --steps 3000 --batch-size 32 --lr 0.1 --warmup 20 --weight-decay 0 --eval-interval 500
train_and_publish shakespeare-mlp "Tiny Shakespeare MLP (makemore, 8 characters of context)" --corpus shakespeare \
  --model mlp --block-size 8 --n-embd 16 --n-hidden 512 --steps 6000 --batch-size 32 --lr 1e-2 --warmup 100 \
  --weight-decay 0 --eval-interval 1000
train_and_publish names-bigram "names bigram (makemore part 1)" --corpus names --model bigram \
  --steps 3000 --batch-size 256 --lr 0.1 --warmup 20 --weight-decay 0 --eval-interval 1000 --eval-batches 20
train_and_publish names-mlp "names MLP (makemore part 2)" --corpus names --model mlp --block-size 3 --n-embd 10 \
  --n-hidden 200 --steps 30000 --batch-size 128 --lr 1e-2 --warmup 100 --weight-decay 0 --eval-interval 5000 \
  --eval-batches 50
train_and_publish names-mlp-2d "names MLP with 2-D embeddings (makemore part 2)" --corpus names --model mlp \
  --block-size 3 --n-embd 2 --n-hidden 200 --steps 30000 --batch-size 128 --lr 1e-2 --warmup 100 --weight-decay 0 \
  --eval-interval 5000 --eval-batches 50
python -m gpt.ladder --out checkpoints/ladder
