"""The GPT's forward pass over a window of new characters, as an ONNX graph of standard
operators, for ONNX Runtime Web in a browser.

One graph serves every use the page has: the prefill of a prompt (T new characters, no past),
the step of one character (T = 1 over the cached keys and values), and the attention maps of
a text (the same prefill, its `attention` output fetched). The server's decoding step
(`gpt.onnx_decoding`) uses ONNX Runtime's contrib attention operator; this one spells the
attention out in standard operators, which every ONNX Runtime build runs, WebAssembly included.

    inputs   tokens           (1, T) int64    the new characters
             past_keys{l}     (1, P, C)       layer l's keys of the P characters before them, heads side by side
             past_values{l}   (1, P, C)       and their values
    outputs  logits           (1, T, V)       next-character logits after each new character
             keys{l}          (1, T, C)       the new characters' keys, to append to the cache
             values{l}        (1, T, C)       and values
             attention        (L, nh, T, P+T) each layer's attention weights, rows summing to 1

The page keeps the cache itself and the graph returns only the new rows: a browser copies
every output out of WebAssembly's memory into a fresh array, which for a whole cache would
cost more than the step's arithmetic.
"""
from __future__ import annotations

import math

import numpy as np

from ..onnx_graph import GraphBuilder, onnx, tensor

OPSET = 20                               # Gelu is one standard operator from 20 on (LayerNormalization from 17)


def window_graph(model, compact: bool = True) -> "onnx.ModelProto":
    """The graph above, with `model`'s weights (compact: each weight stored as bfloat16 where
    that is exact, so a bf16 checkpoint's page downloads half the bytes).

    In a browser a step's time goes to its operators' overheads and to the bytes copied in
    and out, more than to its arithmetic: the graph keeps the operators few (each layer's q,
    k and v come out of one Split) and returns only the new keys and values."""
    from onnx import TensorProto

    c = model.config
    L, nh, C = c.n_layer, c.n_head, c.n_embd
    hs = C // nh
    g = GraphBuilder(model, compact)
    op, w = g.op, g.weights

    def ints(name, *values):
        return g.constant(name, np.array(values, np.int64))

    zero, one = ints("0", 0), ints("1", 1)
    T = op("Gather", op("Shape", "tokens"), one)                                     # (1,) new characters
    P = op("Gather", op("Shape", "past_keys0"), one)                                 # (1,) characters before them
    S = op("Add", P, T)                                                              # (1,) keys each query sees at most
    scalar = lambda v: op("Squeeze", v, zero)                                        # noqa: E731
    key_at = op("Range", g.constant("start", np.array(0, np.int64)), scalar(S), scalar(one))       # (S,)
    query_at = op("Range", scalar(P), scalar(S), scalar(one))                                      # (T,)
    # position t may read key s only if s <= t: (T, 1) against (1, S) -> (T, S)
    visible = op("LessOrEqual", op("Unsqueeze", key_at, zero), op("Unsqueeze", query_at, one))
    minus_inf = g.constant("minus_inf", np.array(-np.inf, np.float32))
    by_head = ints("by_head", -1, nh, hs)

    tokens = op("Gather", g.weight("token_embedding", w["token_embedding.weight"]), "tokens")     # (1, T, C)
    x = op("Add", tokens, op("Gather", g.weight("position_embedding", w["position_embedding.weight"]), query_at))
    maps = []
    for layer in range(L):
        p = f"blocks.{layer}."
        qkv = g.linear(g.layer_norm(x, p + "ln_1"), p + "attn.qkv")                                 # (1, T, 3C)
        q, _, _ = op("Split", qkv, ints("thirds", C, C, C), axis=2,
                     outputs=[f"q{layer}", f"keys{layer}", f"values{layer}"])                       # each (1, T, C)
        keys = op("Concat", f"past_keys{layer}", f"keys{layer}", axis=1)                           # (1, S, C)
        values = op("Concat", f"past_values{layer}", f"values{layer}", axis=1)
        q = op("Transpose", op("Reshape", q, by_head), perm=[1, 0, 2])                             # (nh, T, hs)
        keys = op("Transpose", op("Reshape", keys, by_head), perm=[1, 2, 0])                       # (nh, hs, S)
        values = op("Transpose", op("Reshape", values, by_head), perm=[1, 0, 2])                   # (nh, S, hs)
        scores = op("Div", op("MatMul", q, keys), g.constant("sqrt_hs", np.array(math.sqrt(hs), np.float32)))  # (nh, T, S)
        weights = op("Softmax", op("Where", visible, scores, minus_inf), axis=-1)                   # rows sum to 1
        maps.append(weights)
        heads = op("Transpose", op("MatMul", weights, values), perm=[1, 0, 2])                      # (T, nh, hs)
        attended = op("Reshape", heads, ints("row_shape", 1, -1, C))                                # (1, T, C)
        x = op("Add", x, g.linear(attended, p + "attn.proj"))
        hidden = op("Gelu", g.linear(g.layer_norm(x, p + "ln_2"), p + "mlp.up"))                    # (1, T, 4C)
        x = op("Add", x, g.linear(hidden, p + "mlp.down"))
    op("MatMul", g.layer_norm(x, "ln_f"), g.weight("head", w["head.weight"].T), outputs=["logits"])   # (1, T, V)
    maps_shape = op("Concat", ints("layers_heads", L, nh), T, S, axis=0)
    op("Reshape", op("Concat", *maps, axis=0), maps_shape, outputs=["attention"])                   # (L, nh, T, S)
    # shared constants were added once per use above: keep the first of each name
    seen: set[str] = set()
    g.initializers = [i for i in g.initializers if not (i.name in seen or seen.add(i.name))]

    f = TensorProto.FLOAT
    inputs = [tensor("tokens", TensorProto.INT64, [1, "T"])]
    inputs += [tensor(f"past_{kind}{layer}", f, [1, "P", C]) for layer in range(L) for kind in ("keys", "values")]
    outputs = [tensor("logits", f, [1, "T", c.vocab_size])]
    outputs += [tensor(f"{kind}{layer}", f, [1, "T", C]) for layer in range(L) for kind in ("keys", "values")]
    outputs.append(tensor("attention", f, [L, nh, "T", "S"]))
    return g.model("gpt_window", inputs, outputs, {"": OPSET})

