"""Run by test_ddp under torchrun: train a few steps with DDP, write this rank's view."""
import json
import os
import sys

import torch

import gpt
from gpt.distributed import init_from_env, shutdown

out_dir = sys.argv[1]
torch.set_num_threads(1)
init_from_env(torch.device("cpu"))     # gloo between CPU processes, even where a GPU is present
rank = int(os.environ["RANK"])
corpus = gpt.Corpus.from_text("".join(chr(97 + (i * i) % 26) for i in range(5000)))
dataset = corpus.dataset(16)
torch.manual_seed(0)                      # the same initial weights on every rank
model = gpt.build_model("gpt", vocab_size=dataset.tokenizer.vocab_size, block_size=16,
                        n_layer=1, n_head=2, n_embd=16, dropout=0.0)
initial = [p.detach().clone() for p in model.parameters()]
trainer = gpt.Trainer(model, dataset, gpt.TrainConfig(max_steps=5, batch_size=4, lr=1e-2, warmup_steps=1,
                                                      eval_interval=5, eval_batches=1))
rng = torch.Generator()
rng.set_state(trainer.batch_rng.get_state())
first_batch = dataset.batch("train", 4, rng)[0]      # what this rank's first step will see
progress = list(trainer.run())
with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
    json.dump({
        "world_size": trainer.world_size,
        "params": [p.detach().flatten().tolist() for p in model.parameters()],
        "moved": sum((p - q).abs().sum().item() for p, q in zip(model.parameters(), initial)),
        "first_batch": first_batch.tolist(),
        "tokens_seen": progress[-1].tokens_seen,
    }, f)
shutdown()
