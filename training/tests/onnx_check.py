"""Checks an exported CORAL model with the reference ONNX checker (full check, with shape
inference) and prints its opset, inputs and outputs.

usage: python3 onnx_check.py MODEL.onnx
"""
import sys

import onnx


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path)
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    assert inputs == ["tokens", "segments", "mask"], inputs
    assert outputs == ["stage_probs", "topic_probs", "embedding"], outputs
    assert opsets.get("ai.onnx", 0) <= 20, opsets
    print(f"ok: {path} ir={model.ir_version} opsets={opsets} nodes={len(model.graph.node)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
