"""The GPT's forward pass over a window of new characters, as an ONNX graph of standard
operators, for ONNX Runtime Web in a browser.

One graph serves every use the page has: the prefill of a prompt (T new characters, no past),
the step of one character (T = 1 over the cached keys and values), and the attention maps of
a text (the same prefill, its `attention` output fetched). The server's decoding step
(`gpt.onnx_decoding`) uses ONNX Runtime's contrib attention operator; this one spells the
attention out in standard operators, which every ONNX Runtime build runs, WebAssembly included.

    inputs   tokens     (1, T) int64        the new characters
             past       (L, 2, nh, P, hs)   keys (0) and values (1) of the P characters before them
    outputs  logits     (1, T, V)           next-character logits after each new character
             present    (L, 2, nh, P+T, hs) past with the new keys and values appended
             attention  (L, nh, T, P+T)     each layer's attention weights, rows summing to 1
"""
from __future__ import annotations

import math

import numpy as np

from ..onnx_graph import GraphBuilder, onnx, tensor

OPSET = 18                               # LayerNormalization is one operator from 17 on


def window_graph(model, compact: bool = True) -> "onnx.ModelProto":
    """The graph above, with `model`'s weights (compact: each weight stored as float16 where
    that is exact, so a bf16 checkpoint's page downloads about half the bytes)."""
    from onnx import TensorProto

    c = model.config
    L, nh, C = c.n_layer, c.n_head, c.n_embd
    hs = C // nh
    g = GraphBuilder(model, compact)
    op, w = g.op, g.weights

    def ints(name, *values):
        return g.constant(name, np.array(values, np.int64))

    zero, one, three = ints("0", 0), ints("1", 1), ints("3", 3)
    T = op("Gather", op("Shape", "tokens"), one)                                     # (1,) new characters
    P = op("Gather", op("Shape", "past"), three)                                     # (1,) characters before them
    S = op("Add", P, T)                                                              # (1,) keys each query sees at most
    scalar = lambda v: op("Squeeze", v, zero)                                        # noqa: E731
    key_at = op("Range", g.constant("start", np.array(0, np.int64)), scalar(S), scalar(one))       # (S,)
    query_at = op("Range", scalar(P), scalar(S), scalar(one))                                      # (T,)
    # position t may read key s only if s <= t: (T, 1) against (1, S) -> (T, S)
    visible = op("LessOrEqual", op("Unsqueeze", key_at, zero), op("Unsqueeze", query_at, one))
    minus_inf = g.constant("minus_inf", np.array(-np.inf, np.float32))

    tokens = op("Gather", g.weight("token_embedding", w["token_embedding.weight"]), "tokens")     # (1, T, C)
    x = op("Add", tokens, op("Gather", g.weight("position_embedding", w["position_embedding.weight"]), query_at))
    presents, maps = [], []
    for layer in range(L):
        p = f"blocks.{layer}."
        qkv = g.linear(g.layer_norm(x, p + "ln_1"), p + "attn.qkv")                                 # (1, T, 3C)
        qkv = op("Transpose", op("Reshape", qkv, ints("qkv_shape", 0, -1, 3, nh, hs)), perm=[2, 0, 3, 1, 4])
        q, k, v = (op("Squeeze", op("Gather", qkv, ints(f"part{i}", i)), ints("01", 0, 1)) for i in range(3))  # (nh, T, hs)
        past = op("Gather", "past", ints(f"layer{layer}", layer))                                   # (1, 2, nh, P, hs)
        past_k, past_v = (op("Squeeze", op("Gather", past, ints(f"part{i}", i), axis=1), ints("01", 0, 1))
                          for i in range(2))                                                         # (nh, P, hs)
        keys = op("Concat", past_k, k, axis=1)                                                       # (nh, S, hs)
        values = op("Concat", past_v, v, axis=1)
        presents.append(op("Concat", op("Unsqueeze", keys, zero), op("Unsqueeze", values, zero), axis=0))  # (2, nh, S, hs)
        scores = op("Div", op("MatMul", q, op("Transpose", keys, perm=[0, 2, 1])),
                    g.constant("sqrt_hs", np.array(math.sqrt(hs), np.float32)))                   # (nh, T, S)
        weights = op("Softmax", op("Where", visible, scores, minus_inf), axis=-1)                   # rows sum to 1
        maps.append(weights)
        heads = op("Transpose", op("MatMul", weights, values), perm=[1, 0, 2])                      # (T, nh, hs)
        attended = op("Reshape", heads, ints("row_shape", 1, -1, C))                                # (1, T, C)
        x = op("Add", x, g.linear(attended, p + "attn.proj"))
        hidden = g.linear(g.layer_norm(x, p + "ln_2"), p + "mlp.up")                                # (1, T, 4C)
        x = op("Add", x, g.linear(gelu(g, hidden), p + "mlp.down"))
    op("MatMul", g.layer_norm(x, "ln_f"), g.weight("head", w["head.weight"].T), outputs=["logits"])   # (1, T, V)
    op("Concat", *[op("Unsqueeze", t, zero) for t in presents], axis=0, outputs=["present"])
    op("Concat", *[op("Unsqueeze", m, zero) for m in maps], axis=0, outputs=["attention"])
    # shared initializers were added once per use above: keep the first of each name
    seen: set[str] = set()
    g.initializers = [i for i in g.initializers if not (i.name in seen or seen.add(i.name))]

    f = TensorProto.FLOAT
    inputs = [tensor("tokens", TensorProto.INT64, [1, "T"]), tensor("past", f, [L, 2, nh, "P", hs])]
    outputs = [tensor("logits", f, [1, "T", c.vocab_size]), tensor("present", f, [L, 2, nh, "S", hs]),
               tensor("attention", f, [L, nh, "T", "S"])]
    return g.model("gpt_window", inputs, outputs, {"": OPSET})


def gelu(g: GraphBuilder, x: str) -> str:
    """GELU as torch's nn.GELU() computes it, 0.5 x (1 + erf(x / sqrt 2)), in standard operators."""
    half = g.constant("half", np.array(0.5, np.float32))
    one = g.constant("one_f", np.array(1.0, np.float32))
    root2 = g.constant("sqrt2", np.array(math.sqrt(2.0), np.float32))
    return g.op("Mul", g.op("Mul", x, half), g.op("Add", one, g.op("Erf", g.op("Div", x, root2))))
