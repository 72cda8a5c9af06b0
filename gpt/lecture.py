"""The notebooks' small worked examples, computed for the Learn tab.

The "mathematical trick" of self-attention: four ways for each position to gather its past.
    v1  an explicit loop: xbow[t] = mean(x[:t+1])
    v2  one matrix product with the lower-triangular matrix normalised by row sums
    v3  the same weights from softmax over a -inf-masked matrix of zeros
    v4  self-attention: the zeros become data-dependent scores q @ k^T
and why scores are scaled by 1/sqrt(head_size): without it their variance grows with the
head size and softmax turns nearly one-hot.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AveragingTrick:
    x: torch.Tensor                 # (T, C) the input
    xbow_loop: torch.Tensor         # v1
    weights_tril: torch.Tensor      # v2's (T, T) weights
    xbow_matmul: torch.Tensor
    weights_softmax: torch.Tensor   # v3's weights
    xbow_softmax: torch.Tensor
    weights_attention: torch.Tensor  # v4's weights, (T, T)
    out_attention: torch.Tensor     # (T, head_size)
    checks: dict[str, bool]         # allclose between versions 1-3


def averaging_trick(T: int = 8, C: int = 2, head_size: int = 16, seed: int = 1337) -> AveragingTrick:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, C, generator=g)
    xbow_loop = torch.stack([x[: t + 1].mean(0) for t in range(T)])
    tril = torch.tril(torch.ones(T, T))
    weights_tril = tril / tril.sum(1, keepdim=True)
    xbow_matmul = weights_tril @ x
    weights_softmax = torch.zeros(T, T).masked_fill(tril == 0, float("-inf")).softmax(-1)
    xbow_softmax = weights_softmax @ x
    key, query, value = (torch.randn(C, head_size, generator=g) / C**0.5 for _ in range(3))
    scores = (x @ query) @ (x @ key).T * head_size**-0.5
    weights_attention = scores.masked_fill(tril == 0, float("-inf")).softmax(-1)
    checks = {
        "v1 == v2 (loop vs tril matmul)": torch.allclose(xbow_loop, xbow_matmul, atol=1e-6),
        "v2 == v3 (tril matmul vs masked softmax)": torch.allclose(xbow_matmul, xbow_softmax, atol=1e-6),
        "v1 == v3": torch.allclose(xbow_loop, xbow_softmax, atol=1e-6),
    }
    return AveragingTrick(x, xbow_loop, weights_tril, xbow_matmul, weights_softmax, xbow_softmax,
                          weights_attention, weights_attention @ (x @ value), checks)


@dataclass
class ScalingDemo:
    head_size: int
    var_unscaled: float
    var_scaled: float
    softmax_unscaled: torch.Tensor  # one row of attention weights without the scaling
    softmax_scaled: torch.Tensor
    mean_max_unscaled: float        # the largest weight of a row, averaged over all rows
    mean_max_scaled: float


def scaling_demo(head_size: int = 64, T: int = 8, samples: int = 64, seed: int = 0) -> ScalingDemo:
    """Unit-variance q and k: q @ k^T has variance head_size; scaling brings it back to 1."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(samples, T, head_size, generator=g)
    k = torch.randn(samples, T, head_size, generator=g)
    raw = q @ k.transpose(-2, -1)
    scaled = raw * head_size**-0.5
    # the row to show: the one whose largest unscaled weight is the median's, a typical row
    peaks = F.softmax(raw[:, -1], -1).amax(-1)
    typical = int(peaks.argsort()[len(peaks) // 2])
    return ScalingDemo(head_size, raw.var().item(), scaled.var().item(),
                       F.softmax(raw[typical, -1], -1), F.softmax(scaled[typical, -1], -1),
                       F.softmax(raw, -1).amax(-1).mean().item(), F.softmax(scaled, -1).amax(-1).mean().item())
