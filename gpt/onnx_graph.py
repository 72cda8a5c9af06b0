"""Building an ONNX graph from a GPT's own weights, one operator at a time.

Both exported graphs (the server's one-character decoding step in `gpt.onnx_decoding`, the
browser's window pass in `gpt.web.graph`) are written with this builder: each names its
operators, and the weights come from the model's `state_dict`, stored transposed where
ONNX's MatMul reads them that way.
"""
from __future__ import annotations

import numpy as np

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError:                      # optional: callers check `onnx is None` and say so
    onnx = None


class GraphBuilder:
    """Nodes and initializers of one graph under construction, over one model's weights."""

    def __init__(self, model, compact: bool = False):
        self.config = model.config
        self.weights = {name: t.detach().float().cpu().numpy() for name, t in model.state_dict().items()}
        self.compact = compact
        self.nodes: list = []
        self.initializers: list = []

    def op(self, kind: str, *inputs: str, outputs: list[str] | None = None, **attributes) -> str | list[str]:
        """Add one operator; return its output's name (or names)."""
        outputs = outputs or [f"{kind}_{len(self.nodes)}"]
        self.nodes.append(helper.make_node(kind, list(inputs), outputs, **attributes))
        return outputs[0] if len(outputs) == 1 else outputs

    def constant(self, name: str, value) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def weight(self, name: str, value: np.ndarray) -> str:
        """A float32 weight. A compact graph stores it in half the bytes, as bfloat16, where that
        is exact (a checkpoint saved in bf16: the low 16 bits of every float32 are zero), and
        casts it back to float32 inside the graph: the same numbers either way."""
        value = np.ascontiguousarray(value, np.float32)
        bits = value.view(np.uint32)
        if not self.compact or (bits & 0xFFFF).any():
            return self.constant(name, value)
        stored = helper.make_tensor(name + ".bf16", onnx.TensorProto.BFLOAT16, value.shape,
                                    (bits >> 16).astype(np.uint16).tobytes(), raw=True)
        self.initializers.append(stored)
        return self.op("Cast", stored.name, outputs=[name], to=onnx.TensorProto.FLOAT)

    def linear(self, x: str, prefix: str) -> str:
        """x @ W.T (+ b): the weight is stored transposed, as MatMul reads it."""
        y = self.op("MatMul", x, self.weight(prefix + ".weight", self.weights[prefix + ".weight"].T))
        if self.config.bias:
            y = self.op("Add", y, self.weight(prefix + ".bias", self.weights[prefix + ".bias"]))
        return y

    def layer_norm(self, x: str, prefix: str) -> str:
        scale = self.weight(prefix + ".weight", self.weights[prefix + ".weight"])
        bias = [self.weight(prefix + ".bias", self.weights[prefix + ".bias"])] if self.config.bias else []
        return self.op("LayerNormalization", x, scale, *bias, epsilon=1e-5, axis=-1)

    def model(self, name: str, inputs: list, outputs: list, opsets: dict[str, int]):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid(domain, version)
                                                       for domain, version in opsets.items()], ir_version=10)


def tensor(name: str, dtype: int, dims: list) -> "onnx.ValueInfoProto":
    """A graph input's or output's name, element type and shape (names for dynamic sizes)."""
    return helper.make_tensor_value_info(name, dtype, dims)
