"""Times ONNX Runtime's fused SkipLayerNormalization against the Add + LayerNormalization it
replaces, on one thread. coral-lsp turns that fusion off for CPU sessions
(server/src/engine/runtime.rs) because the fused kernel was ~6x slower in ONNX Runtime 1.31;
rerun this after upgrading ONNX Runtime to see whether that still holds.

usage: python bench/ort_skip_layernorm.py [--batch 32] [--positions 64] [--width 256]
needs: pip install onnx onnxruntime numpy
"""
import argparse
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def add_layer_norm_model(batch: int, positions: int, width: int):
    shape = [batch, positions, width]
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["x", "residual"], ["sum"]),
            helper.make_node(
                "LayerNormalization", ["sum", "gamma", "beta"], ["y"], axis=-1, epsilon=1e-5
            ),
        ],
        "add_layer_norm",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, shape),
            helper.make_tensor_value_info("residual", TensorProto.FLOAT, shape),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        [
            numpy_helper.from_array(np.ones(width, np.float32), "gamma"),
            numpy_helper.from_array(np.zeros(width, np.float32), "beta"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def time_session(model: bytes, feeds: dict, fused: bool, runs: int = 200) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if not fused:
        options.add_session_config_entry(
            "optimization.disable_specified_optimizers", "SkipLayerNormFusion"
        )
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    for _ in range(5):
        session.run(None, feeds)
    start = time.perf_counter()
    for _ in range(runs):
        session.run(None, feeds)
    return (time.perf_counter() - start) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--positions", type=int, default=64)
    parser.add_argument("--width", type=int, default=256)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    shape = (args.batch, args.positions, args.width)
    feeds = {
        "x": rng.standard_normal(shape, dtype=np.float32),
        "residual": rng.standard_normal(shape, dtype=np.float32),
    }
    model = add_layer_norm_model(*shape)
    fused = time_session(model, feeds, fused=True)
    unfused = time_session(model, feeds, fused=False)
    print(f"onnxruntime {ort.__version__}, [{args.batch}, {args.positions}, {args.width}], 1 thread")
    print(f"  SkipLayerNormalization (fused): {fused * 1e3:.2f} ms")
    print(f"  Add + LayerNormalization:       {unfused * 1e3:.2f} ms  ({fused / unfused:.1f}x faster)")


if __name__ == "__main__":
    main()
