"""A sparse autoencoder (SAE) on one layer of the GPT's residual stream: its features.

The residual stream after block `layer` is a C-dimensional vector at every position; what
the model knows is spread across its directions, not its coordinates. A TopK SAE rewrites
each vector as a sum of a few of many learned directions ("features"):

    codes = TopK_k(ReLU((x - b_dec) @ W_enc + b_enc))      (..., n_features), k of them non-zero
    x_hat = codes @ W_dec + b_dec                           (..., C), each W_dec row of unit length

trained to make x_hat close to x. Each feature then fires on something a person can often
name; whether it does is measured (`quality`), and a feature's decoder row can be read through
the unembedding (what it promotes) or added to the stream while the model writes (`steering`).

    sae = train_sae(model, ids, SAEConfig(layer=3, n_features=1536, k=32))
    quality(sae, model, val_ids)       # FVU, L0, dead features, loss recovered
    with steering(model, sae, feature=17, strength=8.0):
        text = "".join(gpt.generate(model, "ROMEO:", 200, seed=1))
    save_sae(sae, "checkpoints/shakespeare-gpt/sae-layer3"); load_sae(...)
"""
from __future__ import annotations

import contextlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .errors import UsageError
from .model import GPT, editing_stream

SAE_WEIGHTS = "sae.safetensors"
SAE_CONFIG = "sae.json"


@dataclass
class SAEConfig:
    layer: int                  # the residual stream after this block (0-based)
    n_features: int = 1536
    k: int = 32                 # features active at every position
    d_model: int = 0            # the stream's width; filled in from the model

    def check(self, model: GPT) -> None:
        if not isinstance(model, GPT):
            raise UsageError(f"an SAE reads a GPT's residual stream; {model.kind} has none")
        if not 0 <= self.layer < model.config.n_layer:
            raise UsageError(f"layer must be 0..{model.config.n_layer - 1}, not {self.layer}")
        if not 1 <= self.k <= self.n_features:
            raise UsageError(f"k must be 1..n_features ({self.n_features}), not {self.k}")


class TopKSAE(nn.Module):
    """Encoder, TopK, decoder; the decoder's rows (the features' directions) kept at unit length."""

    def __init__(self, config: SAEConfig):
        super().__init__()
        self.config = config
        C, n = config.d_model, config.n_features
        directions = F.normalize(torch.randn(n, C), dim=-1)
        self.W_dec = nn.Parameter(directions)                  # (n_features, C)
        self.W_enc = nn.Parameter(directions.T.clone())        # (C, n_features): starts as the transpose
        self.b_enc = nn.Parameter(torch.zeros(n))
        self.b_dec = nn.Parameter(torch.zeros(C))

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.b_dec) @ self.W_enc + self.b_enc     # (..., C) -> (..., n_features)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Dense codes (..., n_features): the k largest pre-activations (after ReLU), zero elsewhere."""
        pre = self.pre_activations(x)
        top = pre.topk(self.config.k, dim=-1)
        return torch.zeros_like(pre).scatter_(-1, top.indices, top.values.relu())

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return codes @ self.W_dec + self.b_dec                 # (..., n_features) -> (..., C)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.encode(x)
        return self.decode(codes), codes

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        self.W_dec.data = F.normalize(self.W_dec.data, dim=-1)


# --- the residual stream ------------------------------------------------------------------

@torch.inference_mode()
def residual_stream(model: GPT, idx: torch.Tensor, layer: int) -> torch.Tensor:
    """The stream after block `layer` for every position of idx: (B, T) -> (B, T, C)."""
    x = model.embed(idx)
    for block in model.blocks[:layer + 1]:
        x, _ = block(x)
    return x


def stream_windows(model: GPT, ids: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` random windows of block_size characters of `ids` (1-D): (count, block)."""
    block = min(model.block_size, len(ids) - 1)
    starts = torch.randint(0, len(ids) - block, (count,), generator=generator)
    return torch.stack([ids[s:s + block] for s in starts.tolist()])


def gather_stream(model: GPT, ids: torch.Tensor, layer: int, positions: int, seed: int = 0,
                  batch_windows: int = 16) -> torch.Tensor:
    """About `positions` vectors of the stream after `layer`, from random windows of `ids`,
    gathered a batch of windows at a time: (positions, C), float32."""
    generator = torch.Generator().manual_seed(seed)
    block = min(model.block_size, len(ids) - 1)
    windows = math.ceil(positions / block)
    model.eval()
    chunks = []
    for first in range(0, windows, batch_windows):
        idx = stream_windows(model, ids, min(batch_windows, windows - first), generator).to(model.device)
        chunks.append(residual_stream(model, idx, layer).reshape(-1, model.config.n_embd).float().cpu())
    return torch.cat(chunks)[:positions]


# --- training -----------------------------------------------------------------------------

@dataclass
class SAETraining:
    positions: int = 300_000      # stream vectors to train on (kept in memory: 300k × 192 fp32 = 230 MB)
    epochs: int = 4
    batch_size: int = 2048
    lr: float = 1e-3
    seed: int = 0


def train_sae(model: GPT, ids: torch.Tensor, config: SAEConfig, training: SAETraining = SAETraining(),
              progress: Callable[[int, int, float], None] | None = None) -> TopKSAE:
    """A TopK SAE on the stream after `config.layer`, from windows of `ids` (the train split).
    `progress(step, steps, fvu)` is called every 50 steps."""
    config.check(model)
    config = SAEConfig(**{**asdict(config), "d_model": model.config.n_embd})
    torch.manual_seed(training.seed)
    stream = gather_stream(model, ids, config.layer, training.positions, training.seed)   # (N, C)
    sae = TopKSAE(config)
    with torch.no_grad():
        sae.b_dec.copy_(stream.mean(0))               # start from the mean: the codes explain what varies
    optimizer = torch.optim.Adam(sae.parameters(), lr=training.lr, betas=(0.9, 0.999))
    variance = (stream - stream.mean(0)).pow(2).sum(-1).mean()
    generator = torch.Generator().manual_seed(training.seed)
    steps = training.epochs * math.ceil(len(stream) / training.batch_size)
    step = 0
    for _ in range(training.epochs):
        for batch in torch.randperm(len(stream), generator=generator).split(training.batch_size):
            x = stream[batch]
            lr = training.lr * min(1.0, (steps - step) / (0.2 * steps))    # linear decay over the last 20%
            for group in optimizer.param_groups:
                group["lr"] = lr
            recon, _ = sae(x)
            loss = (recon - x).pow(2).sum(-1).mean() / variance            # the batch's FVU
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            _drop_parallel_gradient(sae)
            optimizer.step()
            sae.normalize_decoder()
            step += 1
            if progress is not None and step % 50 == 0:
                progress(step, steps, float(loss.detach()))
    return sae.eval()


def _drop_parallel_gradient(sae: TopKSAE) -> None:
    """Keep the decoder rows' gradient tangent to the unit sphere they are kept on."""
    W, g = sae.W_dec.data, sae.W_dec.grad
    if g is not None:
        g -= (g * W).sum(-1, keepdim=True) * W


# --- quality -------------------------------------------------------------------------------

@dataclass
class SAEQuality:
    fvu: float                 # fraction of the stream's variance the reconstruction leaves unexplained
    l0: float                  # features active per position, on average
    dead_fraction: float       # features never active on the measured text
    clean_loss: float          # next-character loss of the model as it is (nats)
    spliced_loss: float        # with the SAE's reconstruction in place of the stream
    ablated_loss: float        # with the stream replaced by its mean (the layer's information gone)
    recovered: float           # (ablated - spliced) / (ablated - clean): 1 = nothing lost
    positions: int


@torch.inference_mode()
def quality(sae: TopKSAE, model: GPT, ids: torch.Tensor, windows: int = 64, seed: int = 1) -> SAEQuality:
    """The SAE measured on `windows` random windows of `ids` (the val split)."""
    layer = sae.config.layer
    idx = stream_windows(model, ids, windows, torch.Generator().manual_seed(seed)).to(model.device)
    inputs, targets = idx[:, :-1], idx[:, 1:]
    model.eval()
    x = residual_stream(model, inputs, layer).float()                     # (W, T, C)
    recon, codes = sae(x)
    fvu = float((recon - x).pow(2).sum() / (x - x.mean((0, 1))).pow(2).sum())
    active = codes > 0
    mean = x.mean((0, 1))

    def loss_with(replace: Callable[[torch.Tensor], torch.Tensor] | None) -> float:
        edits = {} if replace is None else {layer: replace}
        with editing_stream(edits):
            logits, _ = model(inputs)
        return float(F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1)))

    clean = loss_with(None)
    spliced = loss_with(lambda s: sae(s.float())[0].to(s.dtype))
    ablated = loss_with(lambda s: mean.to(s.dtype).expand_as(s))
    return SAEQuality(fvu=fvu, l0=float(active.sum(-1).float().mean()),
                      dead_fraction=float((~active.reshape(-1, active.size(-1)).any(0)).float().mean()),
                      clean_loss=clean, spliced_loss=spliced, ablated_loss=ablated,
                      recovered=(ablated - spliced) / (ablated - clean), positions=int(active[..., 0].numel()))


# --- reading and using a feature -------------------------------------------------------------

CONTEXT_BEFORE, CONTEXT_AFTER = 23, 8
"""A top context: the firing character, 23 before it and 8 after."""


@dataclass
class FeatureTables:
    """What each feature does on a text (the val split), for a browser to show at once."""

    top_positions: torch.Tensor     # (n_features, top) int64: text positions of the strongest activations
    top_values: torch.Tensor        # (n_features, top) float32, descending; 0 where fewer fired
    shading: torch.Tensor           # (n_features, top, before + 1 + after) float16: the feature along each context
    density: torch.Tensor           # (n_features,) fraction of the text's positions where it fires


@torch.inference_mode()
def text_activations(sae: TopKSAE, model: GPT, ids: torch.Tensor,
                     chunk: Callable[[torch.Tensor, torch.Tensor], None]) -> None:
    """Every position of `ids` (1-D) encoded once, with between half a block and a block of
    context (all of it near the start): `chunk(positions, codes)` per window, codes (n, n_features)."""
    block, half = model.block_size, model.block_size // 2
    for start in range(0, max(1, len(ids) - half), half):
        window = ids[start:start + block]
        codes = sae.encode(residual_stream(model, window[None].to(model.device), sae.config.layer).float())[0]
        keep = slice(0 if start == 0 else half, len(window))
        chunk(torch.arange(start, start + len(window))[keep], codes[keep].cpu())


def feature_tables(sae: TopKSAE, model: GPT, ids: torch.Tensor, top: int = 20) -> FeatureTables:
    """Each feature's `top` strongest positions in `ids`, its activation along each of those
    contexts, and how often it fires."""
    n = sae.config.n_features
    best_values = torch.zeros(n, top)
    best_positions = torch.zeros(n, top, dtype=torch.long)
    fired = torch.zeros(n)
    codes_at: dict[int, torch.Tensor] = {}

    def chunk(positions: torch.Tensor, codes: torch.Tensor) -> None:
        fired.add_((codes > 0).sum(0).float())
        values = torch.cat([best_values, codes.T], dim=1)                     # (n, top + len)
        where = torch.cat([best_positions, positions.expand(n, -1)], dim=1)
        order = values.topk(top, dim=1).indices
        best_values.copy_(values.gather(1, order))
        best_positions.copy_(where.gather(1, order))

    text_activations(sae, model, ids, chunk)
    # the shading: each context's characters, the feature's activation at each (a second pass,
    # keeping only the positions some top context needs)
    width = CONTEXT_BEFORE + 1 + CONTEXT_AFTER
    offsets = torch.arange(-CONTEXT_BEFORE, CONTEXT_AFTER + 1)
    needed = (best_positions[..., None] + offsets).clamp(0, len(ids) - 1)      # (n, top, width)
    wanted = set(needed.unique().tolist())

    def keep(positions: torch.Tensor, codes: torch.Tensor) -> None:
        for p, row in zip(positions.tolist(), codes):
            if p in wanted:
                codes_at[p] = row.half()

    text_activations(sae, model, ids, keep)
    table = torch.stack([codes_at[p] for p in sorted(codes_at)])               # (positions kept, n)
    index = {p: i for i, p in enumerate(sorted(codes_at))}
    rows = torch.tensor([index[p] for p in needed.flatten().tolist()]).view(n, top, width)
    features = torch.arange(n)[:, None, None].expand(n, top, width)
    shading = table[rows, features]
    return FeatureTables(best_positions, best_values, shading.half(), fired / len(ids))

@torch.inference_mode()
def logit_effect(sae: TopKSAE, model: GPT) -> torch.Tensor:
    """(n_features, V): what each feature's direction adds to each character's logit, read
    straight through the final LayerNorm's gain and the output head (the direct path)."""
    return (sae.W_dec * model.ln_f.weight) @ model.head.weight.T


@torch.inference_mode()
def feature_activations(sae: TopKSAE, model: GPT, ids: torch.Tensor) -> torch.Tensor:
    """Every feature's activation at every position of one text: (T, n_features)."""
    return sae.encode(residual_stream(model, ids[None, -model.block_size:].to(model.device), sae.config.layer)
                      .float())[0]


@contextlib.contextmanager
def steering(model: GPT, sae: TopKSAE, feature: int, strength: float) -> Iterator[None]:
    """Within the context, the calling thread's passes add `strength` × the feature's
    direction to the stream after its layer at every position (strength 0: no change)."""
    _check_edit(sae, feature, strength, "strength")
    direction = sae.W_dec[feature].detach()
    with editing_stream({sae.config.layer: lambda x: x + (strength * direction).to(x.dtype)}):
        yield


@contextlib.contextmanager
def clamping(model: GPT, sae: TopKSAE, feature: int, value: float) -> Iterator[None]:
    """Within the context, the calling thread's passes hold the feature at `value` at every
    position: the stream after its layer moves by (value - its activation there) × its
    direction, so what the SAE does not explain (x - decode(encode(x))) is kept as it was.
    Clamping to 0 removes the feature where it fires; a positive value switches it on everywhere."""
    _check_edit(sae, feature, value, "value")
    direction = sae.W_dec[feature].detach()

    def clamp(x: torch.Tensor) -> torch.Tensor:
        activation = sae.encode(x.float())[..., feature:feature + 1]        # (B, T, 1)
        return x + ((value - activation) * direction).to(x.dtype)           # (B, T, C)

    with editing_stream({sae.config.layer: clamp}):
        yield


def _check_edit(sae: TopKSAE, feature: int, amount: float, name: str) -> None:
    if not 0 <= feature < sae.config.n_features:
        raise UsageError(f"feature must be 0..{sae.config.n_features - 1}, not {feature}")
    if not math.isfinite(amount):
        raise UsageError(f"the {name} must be a finite number, not {amount}")


# --- files ---------------------------------------------------------------------------------

def save_sae(sae: TopKSAE, folder: str | Path, extra: dict | None = None) -> Path:
    """`folder/sae.safetensors` and `folder/sae.json` (the config, and `extra`: quality, provenance)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in sae.state_dict().items()}, folder / SAE_WEIGHTS)
    (folder / SAE_CONFIG).write_text(json.dumps({"config": asdict(sae.config), **(extra or {})}, indent=2) + "\n")
    return folder


FEATURE_TABLES = "features.safetensors"


def save_tables(tables: FeatureTables, folder: str | Path) -> None:
    save_file({"top_positions": tables.top_positions.int(), "top_values": tables.top_values.half(),
               "shading": tables.shading.half(), "density": tables.density.float()}, Path(folder) / FEATURE_TABLES)


def load_tables(folder: str | Path) -> FeatureTables:
    try:
        t = load_file(Path(folder) / FEATURE_TABLES)
        return FeatureTables(t["top_positions"].long(), t["top_values"].float(), t["shading"], t["density"])
    except (OSError, KeyError, ValueError, RuntimeError, SafetensorError) as e:
        raise UsageError(f"{folder} has no readable feature tables: {str(e).splitlines()[0]}") from None


def top_context_entropy(tables: FeatureTables, ids: torch.Tensor, after: int = 0) -> float:
    """How consistent features are: the entropy (bits) of the character at (after=0) or just
    after (after=1) each feature's firing positions over its top contexts, averaged over the
    features that fired. A feature that means one thing has low entropy; random directions
    of a random model's stream fire on a jumble."""
    entropies = []
    for positions, values in zip(tables.top_positions, tables.top_values):
        chars = ids[(positions[values > 0] + after).clamp(max=len(ids) - 1)]
        if len(chars) < 2:
            continue
        p = torch.bincount(chars).float()
        p = p[p > 0] / p.sum()
        entropies.append(float(-(p * p.log2()).sum()))
    return sum(entropies) / max(1, len(entropies))


def load_sae(folder: str | Path) -> TopKSAE:
    folder = Path(folder)
    try:
        meta = json.loads((folder / SAE_CONFIG).read_text())
        config = SAEConfig(**meta["config"])
        sae = TopKSAE(config)
        sae.load_state_dict(load_file(folder / SAE_WEIGHTS))
    except (OSError, KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as e:
        raise UsageError(f"{folder} is not a readable SAE: {str(e).splitlines()[0]}") from None
    return sae.eval()

