#!/usr/bin/env bash
# The shipped Tiny Shakespeare GPT: train (resumable: rerun this script after any stop),
# then publish the best checkpoint in bf16 with a measured model card.
#   RUN=runs/shakespeare-gpt bash recipes/shakespeare-gpt.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${RUN:-runs/shakespeare-gpt}"
nice -n 5 python -m gpt.train --corpus shakespeare --model gpt \
  --n-layer 6 --n-head 6 --n-embd 192 --block-size 256 --dropout 0.1 \
  --batch-size 16 --lr 3e-3 --warmup 200 --steps 100000 --minutes 140 --bf16 \
  --eval-interval 250 --eval-batches 20 --sample-chars 200 --threads 1 \
  --out "$RUN" --resume
python -m gpt.publish --run "$RUN/best" --out checkpoints/shakespeare-gpt --dtype bf16 \
  --title "Tiny Shakespeare GPT" --prompt "ROMEO:" --command "bash recipes/shakespeare-gpt.sh"
