"""The GPT's one-character decoding step as a single ONNX Runtime graph: the same math, ~3× faster.

Decoding one character of the shipped GPT is ~5 MFLOP, which one core does in a fraction of
a millisecond; eager PyTorch spends most of a step instead on the ~120 small operations
around that math (5-15 µs of dispatch each). ONNX Runtime runs the whole step, all layers,
as one call into C++, with the weights pre-transposed and packed for its matrix kernels.

The graph reads and writes the KV cache where the model's own `KVCache` / `RowCache` keeps
it (bound by pointer, never copied): each layer's attention writes the row's new key and
value into its next slot and attends over the slots up to it. So the prefill, the
re-prefill when a row is full, and everything that reads the cache stay the model's own
code; only the step of one new position per row runs here.

    step = decode_step(model)            # None when ONNX Runtime cannot run this model
    advance = step.bind(cache)           # one caller's stepper over its cache
    logits = advance(tokens, positions)  # (B, V); the new keys/values are in the cache

ONNX Runtime is optional: without it (or for a model on a GPU, in half precision, or under
`editing_heads` or `editing_stream`) `gpt.generation` decodes with the model itself. The
logits agree with the model's to float rounding (~1e-5): greedy text is the same; a seeded
draw could in principle flip where two cumulative probabilities straddle the random number
by less than that (`bench/generate.py` counts how often: see the README).
"""
from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from .model import GPT, KVCache

from .onnx_graph import GraphBuilder, onnx, tensor

try:
    import onnxruntime as ort
    from onnx import TensorProto
except ImportError:                      # optional: decoding falls back to the model itself
    ort = None

OPSET = 20                               # Gelu and LayerNormalization are single operators from here on
MISSING_RUNTIME = "ONNX Runtime is not installed (pip install onnxruntime onnx)"


def unavailable_reason(model: GPT) -> str | None:
    """Why the ONNX step cannot decode `model`, or None when it can."""
    from .model import GPT

    if ort is None:
        return MISSING_RUNTIME
    if not isinstance(model, GPT):
        return f"only the GPT has a decoding step to export, not {model.kind}"
    p = model.token_embedding.weight
    if p.device.type != "cpu":
        return f"the model is on {p.device.type}; the ONNX step runs on the CPU"
    if p.dtype != torch.float32:
        return f"the model's weights are {p.dtype}, the ONNX step is float32"
    return None


class DecodeStep:
    """One compiled ONNX Runtime session for one set of weights, shared by every stream:
    a session runs safely from many threads, each caller with its own binding."""

    def __init__(self, model: GPT):
        self.config = model.config
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1            # a matrix-vector step gains nothing from more threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3              # warnings about unused initializers are noise
        graph = step_graph(model).SerializeToString()
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def bind(self, cache: KVCache) -> CacheBinding:
        """A stepper over `cache` (the model's own KVCache or RowCache), for one caller."""
        if cache.keys.size(0) != self.config.n_layer or cache.keys.dtype != torch.float32 \
                or cache.keys.device.type != "cpu" or not cache.keys.is_contiguous():
            raise ValueError("the cache does not belong to this model's decoding step")
        return CacheBinding(self.session, self.config.vocab_size, cache)


class CacheBinding:
    """The session's inputs and outputs bound by pointer to one cache's first B rows and to
    arrays of its own; rebound only when B changes. One caller at a time."""

    def __init__(self, session, vocab_size: int, cache: KVCache):
        L, capacity, nh, S, hs = cache.keys.shape
        self.session = session
        self.keys, self.values = cache.keys.numpy(), cache.values.numpy()     # the cache's own memory
        self.tokens = np.zeros(capacity, np.int64)
        self.positions = np.zeros(capacity, np.int64)
        self.logits = np.zeros((capacity, 1, vocab_size), np.float32)
        self.rows = 0
        self.io = None

    def __call__(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Next-character logits (B, V) for rows 0..B-1, each continuing its text with
        `tokens[b]` at position `positions[b]` (B,). The attention writes each row's new key
        and value into the cache at its position; the caller moves the cache's lengths on."""
        B = tokens.size(0)
        if B != self.rows:
            self._bind(B)
        self.tokens[:B] = tokens.numpy()
        self.positions[:B] = positions.numpy()
        self.session.run_with_iobinding(self.io)
        return torch.from_numpy(self.logits[:B, 0].copy())

    def _bind(self, B: int) -> None:
        self.io = io = self.session.io_binding()
        self.rows = B

        def bind(name, array, output=False):
            (io.bind_output if output else io.bind_input)(
                name, "cpu", 0, array.dtype.type, list(array.shape), array.ctypes.data)

        bind("tokens", self.tokens[:B])
        bind("positions", self.positions[:B])
        for layer in range(self.keys.shape[0]):
            for kind, cache in (("keys", self.keys), ("values", self.values)):
                rows = cache[layer, :B]                                 # (B, nh, S, hs), contiguous
                bind(f"{kind}{layer}", rows)
                bind(f"new_{kind}{layer}", rows, output=True)            # the same memory: written in place
        bind("logits", self.logits[:B], output=True)


_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_STEPS_LOCK = threading.Lock()


def decode_step(model: GPT) -> DecodeStep | None:
    """The ONNX decoding step for `model`'s current weights, built on first use and rebuilt
    after the weights change (training moves their version counters); None when it cannot
    run the model (`unavailable_reason`)."""
    if unavailable_reason(model) is not None:
        return None
    version = tuple((p.data_ptr(), p._version) for p in model.parameters())
    with _STEPS_LOCK:
        built = _STEPS.get(model)
        if built is None or built[0] != version:
            built = (version, DecodeStep(model))
            _STEPS[model] = built
        return built[1]


def step_graph(model: GPT) -> onnx.ModelProto:
    """The decoding step as an ONNX graph.

    Inputs: `tokens`, `positions` (B,) int64 and, per layer, the cache `keys{l}`, `values{l}`
    (B, nh, block_size, hs). Outputs: `logits` (B, 1, V) and, per layer, `new_keys{l}`,
    `new_values{l}`: the cache with the new position written, bound to the inputs' memory.

    Each layer's attention is ONNX Runtime's GroupQueryAttention with as many key/value
    heads as query heads (plain multi-head attention): it reads the packed q, k, v from
    the one qkv matmul, writes the new key and value at slot `positions[b]` of row b, and
    attends over slots 0..positions[b], so rows of different lengths decode together."""
    c = model.config
    C, nh, S = c.n_embd, c.n_head, c.block_size
    hs = C // nh
    g = GraphBuilder(model)
    op, weights = g.op, g.weights
    x = op("Add", op("Gather", g.constant("token_embedding", weights["token_embedding.weight"]), "tokens"),
           op("Gather", g.constant("position_embedding", weights["position_embedding.weight"]), "positions"))  # (B, C)
    x = op("Unsqueeze", x, g.constant("axis_1", np.array([1], np.int64)))                 # (B, 1, C): one new position
    # GroupQueryAttention's lengths: the slots each row holds before this one, and the longest total
    held = op("Cast", "positions", to=TensorProto.INT32)
    longest = op("Cast", op("Add", op("ReduceMax", "positions", keepdims=0), g.constant("one", np.array(1, np.int64))),
                 to=TensorProto.INT32)
    for layer in range(c.n_layer):
        p = f"blocks.{layer}."
        qkv = g.linear(g.layer_norm(x, p + "ln_1"), p + "attn.qkv")                        # (B, 1, 3C)
        attended = op("GroupQueryAttention", qkv, "", "", f"keys{layer}", f"values{layer}", held, longest,
                      outputs=[f"attended{layer}", f"new_keys{layer}", f"new_values{layer}"],
                      domain="com.microsoft", num_heads=nh, kv_num_heads=nh)[0]            # (B, 1, C)
        x = op("Add", x, g.linear(attended, p + "attn.proj"))
        hidden = op("Gelu", g.linear(g.layer_norm(x, p + "ln_2"), p + "mlp.up"))            # (B, 1, 4C)
        x = op("Add", x, g.linear(hidden, p + "mlp.down"))
    op("MatMul", g.layer_norm(x, "ln_f"), g.constant("head", weights["head.weight"].T), outputs=["logits"])

    inputs = [tensor("tokens", TensorProto.INT64, ["B"]), tensor("positions", TensorProto.INT64, ["B"])]
    outputs = [tensor("logits", TensorProto.FLOAT, ["B", 1, c.vocab_size])]
    for layer in range(c.n_layer):
        inputs += [tensor(f"{kind}{layer}", TensorProto.FLOAT, ["B", nh, S, hs]) for kind in ("keys", "values")]
        outputs += [tensor(f"new_{kind}{layer}", TensorProto.FLOAT, ["B", nh, S, hs]) for kind in ("keys", "values")]
    return g.model("gpt_decoding_step", inputs, outputs, {"": OPSET, "com.microsoft": 1})
