"""Build the tiny ONNX models that kiln-onnx's unit tests load.

The demo models under models/ only use FP32 and INT64 tensors; these graphs cover the other
element types and the edge cases of OnnxRuntime/OnnxModel. Each model sits in its own directory
as model.onnx, because that is what OnnxRuntime.load reads. Run with Debian's python3-onnx
(1.12.0; onnxruntime is not needed):

    /usr/bin/python3 kiln-onnx/src/test/resources/make_types_model.py

It writes, next to this script (byte-identical on every run):
    types/model.onnx    Identity for FP64 [N,2], INT32 [N], INT64 [N,3], BOOL [N], STRING [N]
    lookup/model.onnx   Gather from a 10-entry FP32 table by an INT64 index [N]: an index out of
                        range passes Kiln's validation but fails inside ONNX Runtime
    zipmap/model.onnx   a tensor output plus an ai.onnx.ml ZipMap output (a sequence of maps),
                        as skl2onnx emits for classifiers
    float16/model.onnx  a FLOAT16 input, an element type Kiln does not support
"""

import os

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = [helper.make_opsetid("", 13)]


def save(name, graph, opset=OPSET):
    model = helper.make_model(graph, opset_imports=opset, producer_name="make_types_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(HERE, name, "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def types_model():
    specs = [
        ("f64", TensorProto.DOUBLE, ["N", 2]),
        ("i32", TensorProto.INT32, ["N"]),
        ("i64", TensorProto.INT64, ["N", 3]),
        ("flag", TensorProto.BOOL, ["N"]),
        ("text", TensorProto.STRING, ["N"]),
    ]
    inputs = [helper.make_tensor_value_info(n, t, s) for n, t, s in specs]
    outputs = [helper.make_tensor_value_info(n + "_out", t, s) for n, t, s in specs]
    nodes = [helper.make_node("Identity", [n], [n + "_out"]) for n, _, _ in specs]
    save("types", helper.make_graph(nodes, "types", inputs, outputs))


def lookup_model():
    table = helper.make_tensor("table", TensorProto.FLOAT, [10], [i * 1.5 for i in range(10)])
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "index"], ["value"], axis=0)],
        "lookup",
        [helper.make_tensor_value_info("index", TensorProto.INT64, ["N"])],
        [helper.make_tensor_value_info("value", TensorProto.FLOAT, ["N"])],
        initializer=[table],
    )
    save("lookup", graph)


def zipmap_model():
    # onnx 1.12's helper has no make_map_type_proto: build map(int64, tensor(float)) by hand.
    int_to_float = onnx.TypeProto()
    int_to_float.map_type.key_type = TensorProto.INT64
    float_tensor = helper.make_tensor_type_proto(TensorProto.FLOAT, None)
    int_to_float.map_type.value_type.CopyFrom(float_tensor)
    seq_of_maps = helper.make_sequence_type_proto(int_to_float)
    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["scores"], ["probabilities"]),
            helper.make_node("ZipMap", ["scores"], ["probability_map"], domain="ai.onnx.ml",
                             classlabels_int64s=[0, 1]),
        ],
        "zipmap",
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 2])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2]),
            helper.make_value_info("probability_map", seq_of_maps),
        ],
    )
    save("zipmap", graph, OPSET + [helper.make_opsetid("ai.onnx.ml", 1)])


def float16_model():
    graph = helper.make_graph(
        [helper.make_node("Cast", ["half"], ["single"], to=TensorProto.FLOAT)],
        "float16",
        [helper.make_tensor_value_info("half", TensorProto.FLOAT16, ["N"])],
        [helper.make_tensor_value_info("single", TensorProto.FLOAT, ["N"])],
    )
    save("float16", graph)


if __name__ == "__main__":
    types_model()
    lookup_model()
    zipmap_model()
    float16_model()
