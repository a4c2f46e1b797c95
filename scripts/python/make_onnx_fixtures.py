#!/usr/bin/python3
"""Generates the ONNX fixtures for panama-rnn's onnx module (issue 17: LSTM, GRU and RNN operators).

Writes, under onnx/src/test/resources/onnx/ (each folder rewritten from scratch every run):

  node/<test>/    ONNX 1.12's own backend node tests (Debian's libonnx-testdata) whose model holds an
                  LSTM, GRU or RNN node: model.onnx copied as is; each test_data_set_N converted into
                  inputs-N.safetensors and outputs-N.safetensors (tensors named after graph.input /
                  graph.output, in graph order, dtypes kept).
  attrs/<case>/   single-node models built with onnx.helper (opset 14, IR version 7), one per attribute
                  combination (cases.txt lists them): model.onnx + inputs.safetensors. No expected outputs:
                  the Java tests compare against ONNX Runtime. ORT's CPU kernels reject layout=1, so the
                  layout=1 cases also get ort.onnx: the same computation as Transpose -> op(layout=0) ->
                  Transpose, with the same graph inputs and outputs, for ORT to run.
  torch/<case>/   small PyTorch modules exported with torch.onnx.export (opset 14, dynamic sequence and
                  batch axes): model.onnx + inputs.safetensors + outputs.safetensors (PyTorch's outputs).
  demo/<model>/   the demo models of models/ (their PyTorch modules from train_models.py, their weights from
                  models/<model>/weights.safetensors) exported the same way, packed sequences included:
                  model.json copied from models/<model>, and per exported graph <stem>.onnx +
                  <stem>.inputs.safetensors + <stem>.outputs.safetensors (PyTorch's outputs). Stems: model
                  (classifier, charlm), encoder and decoder (seq2seq). Each folder is also a model
                  directory the application classes load from ONNX.

Run through scripts/make-onnx-fixtures (which installs libonnx-testdata, python3-onnx, python3-torch and
python3-numpy when missing), or directly with
/usr/bin/python3 scripts/python/make_onnx_fixtures.py [--out DIR].

Everything is deterministic: fixed case lists, a seed per case (crc32 of its name), float32, one
thread, torch.no_grad(). Tensor files are written with st_io.py (no safetensors package needed) and read
back to compare bits. Every model written passes onnx.checker.check_model. The README.md next to the
fixtures describes the file contract the Java tests rely on.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import warnings
import zlib

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import read_safetensors, write_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "onnx", "src", "test", "resources", "onnx")
TESTDATA_PACKAGE = "libonnx-testdata"
RECURRENT_OPS = {"LSTM", "GRU", "RNN"}
OPSET = 14
IR_VERSION = 7  # what ONNX Runtime 1.2x accepts for opset 14
PRODUCER = "panama-rnn scripts/python/make_onnx_fixtures.py"
MAX_TOTAL_BYTES = 3 * 1024 * 1024

NP_TO_ST = {np.dtype("float32"): "F32", np.dtype("int32"): "I32", np.dtype("int64"): "I64"}
ST_TO_ONNX = {"F32": TensorProto.FLOAT, "I32": TensorProto.INT32, "I64": TensorProto.INT64}


def seed_of(name):
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def graph_op_types(graph):
    """op_type of every node of a graph and of its subgraphs, in order."""
    ops = []
    for node in graph.node:
        ops.append(node.op_type)
        for a in node.attribute:
            if a.HasField("g"):
                ops += graph_op_types(a.g)
            for g in a.graphs:
                ops += graph_op_types(g)
    return ops


def st_dtype(array, where):
    dt = NP_TO_ST.get(array.dtype)
    if dt is None:
        raise SystemExit(f"{where}: dtype {array.dtype} has no safetensors mapping here (F32, I32, I64 only)")
    return dt


def write_checked(path, tensors, metadata):
    """tensors: (name, numpy array) in file order. Writes, reads back and compares bits."""
    entries = []
    for name, a in tensors:
        dt = st_dtype(a, f"{path}:{name}")
        entries.append((name, torch.from_numpy(np.array(a, order="C", copy=True)), dt))
    write_safetensors(path, entries, metadata)
    meta, got = read_safetensors(path)
    assert meta == {str(k): str(v) for k, v in metadata.items()}, f"{path}: metadata differs"
    assert list(got) == [n for n, _ in tensors], f"{path}: tensor order differs"
    for name, a in tensors:
        b = got[name].numpy()
        assert b.dtype == a.dtype and b.shape == a.shape and b.tobytes() == np.ascontiguousarray(a).tobytes(), \
            f"{path}:{name}: read back differs"
    return os.path.getsize(path)


def save_model(model, path):
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    onnx.checker.check_model(path)
    return os.path.getsize(path)


# ----------------------------------------------------------------------------- A. node tests

def package_version(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout:
        raise SystemExit(f"{package} is not installed; run scripts/make-onnx-fixtures (or: sudo apt-get install -y {package})")
    return out.stdout.strip()


def find_node_tests():
    """All backend node test folders of libonnx-testdata whose model holds an LSTM, GRU or RNN node."""
    out = subprocess.run(["dpkg", "-L", TESTDATA_PACKAGE], capture_output=True, text=True, check=True)
    found = {}
    for line in out.stdout.splitlines():
        m = re.search(r"/data/node/(test_[^/]+)/model\.onnx$", line)
        if not m:
            continue
        ops = graph_op_types(onnx.load(line).graph)
        if RECURRENT_OPS & set(ops):
            found[m.group(1)] = (os.path.dirname(line), ops)
    # Every test named after these operators must have been found by content, and nothing else.
    by_name = {n for n in found if re.match(r"test_(lstm|gru|rnn|simple_rnn)_", n)}
    if by_name != set(found):
        raise SystemExit(f"node tests found by content {sorted(found)} differ from those found by name {sorted(by_name)}")
    return dict(sorted(found.items()))


def read_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, numpy_helper.to_array(t)


def convert_node_test(name, src, ops, out_dir, version):
    model = onnx.load(os.path.join(src, "model.onnx"))
    initializers = {t.name for t in model.graph.initializer}
    in_names = [v.name for v in model.graph.input if v.name not in initializers]
    out_names = [v.name for v in model.graph.output]
    dst = os.path.join(out_dir, name)
    os.makedirs(dst)
    shutil.copyfile(os.path.join(src, "model.onnx"), os.path.join(dst, "model.onnx"))
    total = os.path.getsize(os.path.join(dst, "model.onnx"))
    sets = sorted((d for d in os.listdir(src) if re.fullmatch(r"test_data_set_\d+", d)), key=lambda d: int(d[14:]))
    if not sets:
        raise SystemExit(f"{name}: no test_data_set_N in {src}")
    shapes = []
    for d in sets:
        n = int(d[len("test_data_set_"):])
        files = os.listdir(os.path.join(src, d))
        for kind, names in (("input", in_names), ("output", out_names)):
            count = sum(1 for f in files if re.fullmatch(kind + r"_\d+\.pb", f))
            if count != len(names):
                raise SystemExit(f"{name}/{d}: {count} {kind}_K.pb files but the graph has {len(names)} {kind}s {names}")
            tensors = []
            for k, gname in enumerate(names):
                pb_name, a = read_pb(os.path.join(src, d, f"{kind}_{k}.pb"))
                if pb_name and pb_name != gname:
                    raise SystemExit(f"{name}/{d}/{kind}_{k}.pb: tensor named {pb_name!r}, graph says {gname!r}")
                st_dtype(a, f"{name}/{d}/{kind}_{k}.pb")
                tensors.append((gname, a))
                shapes.append(f"{gname}{list(a.shape)}")
            meta = {"source_package": TESTDATA_PACKAGE, "source_version": version, "onnx_version": onnx.__version__,
                    "test": name, "data_set": str(n), "kind": kind + "s",
                    "source": f"/usr/share/libonnx-testdata/data/node/{name}/{d}/{kind}_K.pb",
                    "names": ",".join(names)}
            total += write_checked(os.path.join(dst, f"{kind}s-{n}.safetensors"), tensors, meta)
    print(f"node   {name:40} {' '.join(sorted(set(ops))):5} sets={len(sets)} {' '.join(shapes)}")
    return total


# ----------------------------------------------------------------------------- B. attribute cases

T, B, I, H = 5, 3, 4, 6
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
OPTIONAL_INPUTS = ["B", "sequence_lens", "initial_h", "initial_c", "P"]  # node inputs 3.. (P: LSTM only)


def case(name, op, *, direction="forward", layout=0, bias=False, seq_lens=None, initial_h=False, initial_c=False,
         peephole=False, outputs=("Y", "Y_h"), t=T, b=B, note="", **attrs):
    """One single-node model. attrs are the node's other attributes (clip, activations, ...)."""
    return dict(name=name, op=op, direction=direction, layout=layout, bias=bias, seq_lens=seq_lens,
                initial_h=initial_h, initial_c=initial_c, peephole=peephole, outputs=tuple(outputs), T=t, B=b,
                note=note, attrs=attrs)


# activation_alpha / activation_beta: ONNX Runtime's LSTM and GRU consume them in order, only for the
# functions that take them (HardSigmoid, ScaledTanh, Affine: alpha and beta; LeakyRelu, ThresholdedRelu,
# Elu: alpha), across both directions. Its RNN instead reads alpha[d] / beta[d] for direction d and uses
# 0 (not the function's default) when a list is absent, so the RNN cases give every alpha and beta their
# functions take, explicitly, and pick functions for which both readings agree. Values are exact in float32.
ATTR_CASES = [
    # LSTM
    case("lstm_default", "LSTM", note="X, W, R only; every attribute at its default"),
    case("lstm_no_bias", "LSTM", initial_h=True, initial_c=True, outputs=("Y", "Y_h", "Y_c"),
         note='B absent as "" with later inputs present'),
    case("lstm_bias", "LSTM", bias=True),
    case("lstm_reverse", "LSTM", bias=True, direction="reverse", outputs=("Y", "Y_h", "Y_c")),
    case("lstm_bidirectional", "LSTM", bias=True, direction="bidirectional", outputs=("Y", "Y_h", "Y_c")),
    case("lstm_sequence_lens", "LSTM", bias=True, seq_lens=[5, 2, 4], outputs=("Y", "Y_h", "Y_c")),
    case("lstm_sequence_lens_bidirectional", "LSTM", bias=True, seq_lens=[3, 5, 1], initial_h=True, initial_c=True,
         direction="bidirectional", outputs=("Y", "Y_h", "Y_c")),
    case("lstm_initial_state", "LSTM", bias=True, initial_h=True, initial_c=True, outputs=("Y", "Y_h", "Y_c")),
    case("lstm_layout1", "LSTM", bias=True, layout=1, initial_h=True, initial_c=True, direction="bidirectional",
         outputs=("Y", "Y_h", "Y_c"), note="batch-first X (B,T,I), initial_h/c (B,D,H); Y (B,T,D,H), Y_h/Y_c (B,D,H)"),
    case("lstm_layout1_sequence_lens", "LSTM", bias=True, layout=1, seq_lens=[2, 5, 4], outputs=("Y", "Y_h", "Y_c")),
    case("lstm_peepholes", "LSTM", bias=True, peephole=True, initial_c=True, outputs=("Y", "Y_h", "Y_c"),
         note='P given; initial_h absent as ""'),
    case("lstm_peepholes_bidirectional", "LSTM", bias=True, peephole=True, direction="bidirectional",
         seq_lens=[4, 5, 2], outputs=("Y", "Y_h", "Y_c")),
    case("lstm_input_forget", "LSTM", bias=True, input_forget=1, outputs=("Y", "Y_h", "Y_c")),
    case("lstm_clip", "LSTM", bias=True, clip=0.5, outputs=("Y", "Y_h", "Y_c")),
    case("lstm_activations_hardsigmoid_leakyrelu_scaledtanh", "LSTM", bias=True, outputs=("Y", "Y_h", "Y_c"),
         activations=["HardSigmoid", "LeakyRelu", "ScaledTanh"],
         activation_alpha=[0.25, 0.125, 1.5], activation_beta=[0.625, 0.75],
         note="alphas: HardSigmoid 0.25, LeakyRelu 0.125, ScaledTanh 1.5; betas: HardSigmoid 0.625, ScaledTanh 0.75"),
    case("lstm_activations_sigmoid_relu_tanh", "LSTM", bias=True, outputs=("Y", "Y_h", "Y_c"),
         activations=["Sigmoid", "Relu", "Tanh"]),
    case("lstm_activations_hardsigmoid_defaults", "LSTM", bias=True, activations=["HardSigmoid", "Tanh", "Tanh"],
         note="no alpha/beta given: HardSigmoid's defaults alpha 0.2, beta 0.5"),
    case("lstm_bidirectional_6_activations", "LSTM", bias=True, direction="bidirectional", outputs=("Y", "Y_h", "Y_c"),
         activations=["HardSigmoid", "Tanh", "LeakyRelu", "Sigmoid", "ScaledTanh", "Relu"],
         activation_alpha=[0.25, 0.0625, 1.25], activation_beta=[0.375, 0.5],
         note="forward f,g,h = HardSigmoid(0.25, 0.375), Tanh, LeakyRelu(0.0625); "
              "reverse = Sigmoid, ScaledTanh(1.25, 0.5), Relu"),
    case("lstm_only_y_h", "LSTM", bias=True, outputs=("", "Y_h"), note='node outputs ["", "Y_h"]'),
    case("lstm_only_y_c", "LSTM", bias=True, outputs=("", "", "Y_c"), note='node outputs ["", "", "Y_c"]'),
    case("lstm_all_outputs", "LSTM", bias=True, outputs=("Y", "Y_h", "Y_c")),
    case("lstm_batch1", "LSTM", bias=True, b=1, direction="bidirectional", initial_h=True, initial_c=True,
         outputs=("Y", "Y_h", "Y_c")),
    case("lstm_steps1", "LSTM", bias=True, t=1, seq_lens=[1, 1, 1], outputs=("Y", "Y_h", "Y_c")),
    # GRU
    case("gru_default", "GRU", note="X, W, R only; linear_before_reset=0"),
    case("gru_linear_before_reset", "GRU", bias=True, linear_before_reset=1),
    case("gru_bias", "GRU", bias=True, linear_before_reset=0),
    case("gru_no_bias_initial_h", "GRU", initial_h=True, note='B and sequence_lens absent as ""'),
    case("gru_reverse", "GRU", bias=True, direction="reverse", linear_before_reset=1),
    case("gru_bidirectional", "GRU", bias=True, direction="bidirectional", linear_before_reset=1),
    case("gru_bidirectional_lbr0", "GRU", bias=True, direction="bidirectional", initial_h=True),
    case("gru_sequence_lens", "GRU", bias=True, seq_lens=[5, 1, 3], direction="reverse", linear_before_reset=1),
    case("gru_sequence_lens_bidirectional", "GRU", bias=True, seq_lens=[2, 4, 5], direction="bidirectional",
         initial_h=True),
    case("gru_initial_h", "GRU", bias=True, initial_h=True, linear_before_reset=1),
    case("gru_layout1", "GRU", bias=True, layout=1, initial_h=True, direction="bidirectional", linear_before_reset=1),
    case("gru_clip", "GRU", bias=True, clip=0.5, linear_before_reset=1),
    case("gru_clip_lbr0", "GRU", bias=True, clip=0.5),
    case("gru_activations_hardsigmoid_scaledtanh", "GRU", bias=True, linear_before_reset=1,
         activations=["HardSigmoid", "ScaledTanh"], activation_alpha=[0.25, 1.5], activation_beta=[0.375, 0.75]),
    case("gru_only_y_h", "GRU", bias=True, outputs=("", "Y_h")),
    case("gru_steps1", "GRU", bias=True, t=1, initial_h=True, linear_before_reset=1),
    # RNN
    case("rnn_default", "RNN", note="X, W, R only; Tanh"),
    case("rnn_bias", "RNN", bias=True),
    case("rnn_relu", "RNN", bias=True, activations=["Relu"]),
    case("rnn_sigmoid", "RNN", bias=True, activations=["Sigmoid"]),
    case("rnn_leakyrelu", "RNN", bias=True, activations=["LeakyRelu"], activation_alpha=[0.125]),
    case("rnn_scaledtanh", "RNN", bias=True, activations=["ScaledTanh"], activation_alpha=[1.5],
         activation_beta=[0.75]),
    case("rnn_hardsigmoid", "RNN", bias=True, activations=["HardSigmoid"], activation_alpha=[0.25],
         activation_beta=[0.625]),
    case("rnn_no_bias", "RNN", seq_lens=[5, 3, 1], note='B absent as "" with sequence_lens present'),
    case("rnn_reverse", "RNN", bias=True, direction="reverse"),
    case("rnn_bidirectional", "RNN", bias=True, direction="bidirectional", activations=["Relu", "Tanh"]),
    case("rnn_bidirectional_scaledtanh_hardsigmoid", "RNN", bias=True, direction="bidirectional",
         activations=["ScaledTanh", "HardSigmoid"], activation_alpha=[1.5, 0.25], activation_beta=[0.75, 0.625]),
    case("rnn_sequence_lens", "RNN", bias=True, seq_lens=[5, 2, 4], direction="bidirectional"),
    case("rnn_initial_h", "RNN", bias=True, initial_h=True),
    case("rnn_layout1", "RNN", bias=True, layout=1, initial_h=True, seq_lens=[3, 5, 2]),
    case("rnn_clip", "RNN", bias=True, clip=0.5),
    case("rnn_only_y_h", "RNN", bias=True, outputs=("", "Y_h")),
    case("rnn_batch1_steps1", "RNN", bias=True, t=1, b=1, initial_h=True, direction="bidirectional"),
]


def uniform(g, shape, scale):
    return ((torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * scale).float().numpy()


def attr_case_tensors(c):
    """Graph inputs (X, sequence_lens, initial_h, initial_c: those used) and initializers (W, R, B, P)."""
    op, d = c["op"], 2 if c["direction"] == "bidirectional" else 1
    g = torch.Generator().manual_seed(seed_of(c["name"]))
    t, b, gates = c["T"], c["B"], GATES[c["op"]]
    bf = c["layout"] == 1
    inputs = [("X", uniform(g, (b, t, I) if bf else (t, b, I), 1.0))]
    init = [("W", uniform(g, (d, gates * H, I), 0.5)), ("R", uniform(g, (d, gates * H, H), 0.5))]
    if c["bias"]:
        init.append(("B", uniform(g, (d, 2 * gates * H), 0.5)))
    if c["peephole"]:
        assert op == "LSTM"
        init.append(("P", uniform(g, (d, 3 * H), 0.5)))
    if c["seq_lens"] is not None:
        lens = np.array(c["seq_lens"], dtype=np.int32)
        assert lens.shape == (b,) and lens.min() >= 1 and lens.max() == t, c["name"]  # ORT needs >= 1
        inputs.append(("sequence_lens", lens))
    state_shape = (b, d, H) if bf else (d, b, H)
    if c["initial_h"]:
        inputs.append(("initial_h", uniform(g, state_shape, 1.0)))
    if c["initial_c"]:
        assert op == "LSTM"
        inputs.append(("initial_c", uniform(g, state_shape, 1.0)))
    return inputs, init


def node_inputs(c, names):
    """X, W, R, then the optional inputs in ONNX order, "" for absent ones, trailing absent ones dropped."""
    order = OPTIONAL_INPUTS if c["op"] == "LSTM" else OPTIONAL_INPUTS[:3]
    ins = ["X", "W", "R"] + [n if n in names else "" for n in order]
    while ins[-1] == "":
        ins.pop()
    return ins


def output_shapes(c, layout):
    d = 2 if c["direction"] == "bidirectional" else 1
    t, b = c["T"], c["B"]
    if layout == 1:
        return {"Y": [b, t, d, H], "Y_h": [b, d, H], "Y_c": [b, d, H]}
    return {"Y": [t, d, b, H], "Y_h": [d, b, H], "Y_c": [d, b, H]}


def node_attrs(c, layout):
    attrs = {"hidden_size": H}
    if c["direction"] != "forward":
        attrs["direction"] = c["direction"]
    if layout:
        attrs["layout"] = layout
    attrs.update(c["attrs"])
    return attrs


def value_info(name, array):
    return helper.make_tensor_value_info(name, ST_TO_ONNX[st_dtype(array, name)], list(array.shape))


def build_attr_model(c, inputs, init, twin=False):
    """The case's single-node model; with twin=True, for a layout=1 case, the same computation that
    ONNX Runtime can run: graph inputs transposed to layout 0, the op with layout=0, outputs transposed back."""
    names = {n for n, _ in inputs} | {n for n, _ in init}
    ins = node_inputs(c, names)
    outs = list(c["outputs"])
    shapes = output_shapes(c, c["layout"])
    nodes = []
    if twin:
        assert c["layout"] == 1
        for n in ("X", "initial_h", "initial_c"):
            if n in names:
                nodes.append(helper.make_node("Transpose", [n], [n + "_tm"], name=f"to_time_major_{n}", perm=[1, 0, 2]))
                ins[ins.index(n)] = n + "_tm"
        for k, n in enumerate(outs):
            if n:
                outs[k] = n + "_tm"
    nodes.append(helper.make_node(c["op"], ins, outs, name=c["op"].lower(),
                                **node_attrs(c, 0 if twin else c["layout"])))
    if twin:
        for n in c["outputs"]:
            if n:
                perm = [2, 0, 1, 3] if n == "Y" else [1, 0, 2]
                nodes.append(helper.make_node("Transpose", [n + "_tm"], [n], name=f"to_batch_major_{n}", perm=perm))
    graph = helper.make_graph(
        nodes, c["name"],
        [value_info(n, a) for n, a in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shapes[n]) for n in c["outputs"] if n],
        initializer=[numpy_helper.from_array(a, n) for n, a in init])
    model = helper.make_model(graph, producer_name=PRODUCER, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    # The declared output shapes must agree with ONNX's own shape inference.
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    for vi in inferred.graph.output:
        dims = [x.dim_value for x in vi.type.tensor_type.shape.dim]
        assert dims == shapes[vi.name], (c["name"], vi.name, dims, shapes[vi.name])
    return model


def describe(c, inputs, init):
    names = {n for n, _ in inputs} | {n for n, _ in init}
    parts = [f"T={c['T']}", f"B={c['B']}", f"I={I}", f"H={H}", f"direction={c['direction']}", f"layout={c['layout']}"]
    for k, v in c["attrs"].items():
        parts.append(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}")
    if c["seq_lens"] is not None:
        parts.append("sequence_lens=" + ",".join(map(str, c["seq_lens"])))
    parts.append("node_inputs=" + ",".join(n or '""' for n in node_inputs(c, names)))
    parts.append("node_outputs=" + ",".join(n or '""' for n in c["outputs"]))
    parts.append("graph_inputs=" + ",".join(n for n, _ in inputs))
    parts.append("initializers=" + ",".join(n for n, _ in init))
    parts.append(f"seed={seed_of(c['name'])}")
    if c["layout"] == 1:
        parts.append("ort.onnx=yes")
    return " ".join(parts)


def gen_attr_case(c, out_dir):
    inputs, init = attr_case_tensors(c)
    dst = os.path.join(out_dir, c["name"])
    os.makedirs(dst)
    total = save_model(build_attr_model(c, inputs, init), os.path.join(dst, "model.onnx"))
    if c["layout"] == 1:
        total += save_model(build_attr_model(c, inputs, init, twin=True), os.path.join(dst, "ort.onnx"))
    desc = describe(c, inputs, init)
    meta = {"case": c["name"], "op": c["op"], "description": desc, "note": c["note"], "seed": seed_of(c["name"]),
            "onnx_version": onnx.__version__, "torch_version": torch.__version__}
    total += write_checked(os.path.join(dst, "inputs.safetensors"), inputs, meta)
    print(f"attrs  {c['name']:50} {desc}")
    return total, f"{c['name']} {c['op']} {desc}" + (f"  # {c['note']}" if c["note"] else "")


# ----------------------------------------------------------------------------- C. PyTorch exports

TI, TH, TT, TB = 5, 7, 6, 3  # input size, hidden size, steps, batch
TORCH_CASES = [
    dict(name="lstm", mode="LSTM"),
    dict(name="lstm_2layer_bidirectional", mode="LSTM", layers=2, bi=True),
    dict(name="lstm_batch_first_h0", mode="LSTM", batch_first=True, state=True),
    dict(name="gru", mode="GRU"),
    dict(name="gru_2layer_bidirectional", mode="GRU", layers=2, bi=True),
    dict(name="rnn_tanh", mode="RNN_TANH"),
    dict(name="rnn_relu_2layer", mode="RNN_RELU", layers=2),
    dict(name="classifier", mode="CLASSIFIER"),
]
NATIVE_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN", "CLASSIFIER": "LSTM"}


class WithState(nn.Module):
    """An nn.LSTM called with an explicit (h0, c0), so that they become graph inputs."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, input, h0, c0):
        output, (h_n, c_n) = self.rnn(input, (h0, c0))
        return output, h_n, c_n


class Classifier(nn.Module):
    """Token ids (T, B) -> Embedding(20, 5) -> LSTM(5, 8) -> Linear(8, 3) on the last step -> LogSoftmax."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(20, 5)
        self.lstm = nn.LSTM(5, 8)
        self.linear = nn.Linear(8, 3)

    def forward(self, input):
        output, _ = self.lstm(self.embedding(input))
        return torch.log_softmax(self.linear(output[-1]), dim=-1)


def build_torch_case(c):
    """(module, [(input name, tensor)], [output names], dynamic_axes, description)."""
    torch.manual_seed(seed_of(c["name"]))
    mode, layers, bi = c["mode"], c.get("layers", 1), c.get("bi", False)
    bf, state = c.get("batch_first", False), c.get("state", False)
    if mode == "CLASSIFIER":
        m = Classifier().eval()
        x = torch.randint(0, 20, (TT, TB), dtype=torch.int64)
        dyn = {"input": {0: "seq_len", 1: "batch"}, "output": {0: "batch"}}
        return m, [("input", x)], ["output"], dyn, f"vocab=20 embed=5 H=8 classes=3 T={TT} B={TB}"
    kw = dict(num_layers=layers, bidirectional=bi, batch_first=bf)
    if mode == "LSTM":
        m = nn.LSTM(TI, TH, **kw)
    elif mode == "GRU":
        m = nn.GRU(TI, TH, **kw)
    else:
        m = nn.RNN(TI, TH, nonlinearity="tanh" if mode == "RNN_TANH" else "relu", **kw)
    m.eval()
    x = torch.randn(TB, TT, TI) if bf else torch.randn(TT, TB, TI)
    seq_axes = {0: "batch", 1: "seq_len"} if bf else {0: "seq_len", 1: "batch"}
    inputs = [("input", x)]
    names = ["output", "h_n"] + (["c_n"] if mode == "LSTM" else [])
    d = 2 if bi else 1
    if state:
        assert mode == "LSTM"
        inputs += [("h0", torch.randn(layers * d, TB, TH)), ("c0", torch.randn(layers * d, TB, TH))]
        m = WithState(m).eval()
    dyn = {"input": seq_axes, "output": seq_axes}
    dyn.update({n: {1: "batch"} for n in names[1:] + [n for n, _ in inputs[1:]]})
    desc = f"mode={mode} I={TI} H={TH} T={TT} B={TB} layers={layers} bidirectional={str(bi).lower()} " \
           f"batch_first={str(bf).lower()} h0c0={str(state).lower()}"
    return m, inputs, names, dyn, desc


def gen_torch_case(c, out_dir):
    m, inputs, names, dyn, desc = build_torch_case(c)
    dst = os.path.join(out_dir, c["name"])
    os.makedirs(dst)
    args = tuple(t for _, t in inputs)
    with torch.no_grad():
        outs = m(*args)
    outs = outs if isinstance(outs, tuple) else (outs,)
    outs = [o for o in outs for o in (o if isinstance(o, tuple) else (o,))]
    assert len(outs) == len(names), (c["name"], len(outs), names)
    path = os.path.join(dst, "model.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        # The exporter warns about batch sizes without h0 inputs (the zero state is built from the input's
        # shape) and about prim::Constant shape inference; the checks below are what matter.
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(m, args, path + ".tmp", opset_version=OPSET, input_names=[n for n, _ in inputs],
                          output_names=names, dynamic_axes=dyn, do_constant_folding=True)
    os.replace(path + ".tmp", path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    ops = graph_op_types(model.graph)
    want, layers = NATIVE_OP[c["mode"]], c.get("layers", 1)
    if ops.count(want) != layers or any(op in ("Loop", "Scan", "If") for op in ops):
        raise SystemExit(f"{c['name']}: the ONNX export has ops {ops}; expected {layers} native {want} op(s), no loops")
    graph_in = [v.name for v in model.graph.input if v.name not in {t.name for t in model.graph.initializer}]
    graph_out = [v.name for v in model.graph.output]
    assert graph_in == [n for n, _ in inputs] and graph_out == names, (c["name"], graph_in, graph_out)
    meta = {"case": c["name"], "description": desc, "seed": seed_of(c["name"]), "torch_version": torch.__version__,
            "onnx_version": onnx.__version__, "opset": OPSET, "ir_version": model.ir_version,
            "onnx_op_types": " ".join(sorted(set(ops))), "onnx_nodes": " ".join(ops),
            "inputs": ",".join(n for n, _ in inputs), "outputs": ",".join(names)}
    total = os.path.getsize(path)
    total += write_checked(os.path.join(dst, "inputs.safetensors"), [(n, t.numpy()) for n, t in inputs], meta)
    total += write_checked(os.path.join(dst, "outputs.safetensors"),
                           [(n, o.contiguous().numpy()) for n, o in zip(names, outs)], meta)
    print(f"torch  {c['name']:28} {desc}\n       ONNX ops: {' '.join(sorted(set(ops)))}  (nodes: {' '.join(ops)})")
    return total


# ----------------------------------------------------------------------------- D. the demo models

MAX_DEMO_BYTES = 4 * 1024 * 1024


class LMGraph(nn.Module):
    """The character LM's sequence call: token ids (B, T) -> logits (B, T, V), h_n, c_n."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, tokens):
        logits, (h_n, c_n) = self.lm(tokens)
        return logits, h_n, c_n


def export_graph(m, inputs, names, dyn, dst, stem, model_name, trace_inputs=None):
    """Exports m as dst/<stem>.onnx, traced on trace_inputs (default: inputs), with PyTorch's outputs for inputs
    beside it; returns (bytes written, outputs).

    A packed-sequence GRU must be traced at batch 1: the exporter folds the zero initial state it builds from the
    packed batch into a constant of the traced batch size (PyTorch's own warning says so), and only a batch of 1
    broadcasts to every batch size."""
    args = tuple(t for _, t in inputs)
    trace_args = args if trace_inputs is None else tuple(trace_inputs)
    with torch.no_grad():
        outs = m(*args)
    outs = outs if isinstance(outs, tuple) else (outs,)
    assert len(outs) == len(names), (stem, len(outs), names)
    path = os.path.join(dst, stem + ".onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(m, trace_args, path + ".tmp", opset_version=OPSET, input_names=[n for n, _ in inputs],
                          output_names=names, dynamic_axes=dyn, do_constant_folding=True)
    os.replace(path + ".tmp", path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    ops = graph_op_types(model.graph)
    if any(op in ("Loop", "Scan", "If") for op in ops):
        raise SystemExit(f"{model_name}/{stem}: the ONNX export has loops: {ops}")
    meta = {"model": model_name, "graph": stem, "torch_version": torch.__version__, "onnx_version": onnx.__version__,
            "opset": OPSET, "onnx_op_types": " ".join(sorted(set(ops))), "inputs": ",".join(n for n, _ in inputs),
            "outputs": ",".join(names)}
    total = os.path.getsize(path)
    total += write_checked(os.path.join(dst, stem + ".inputs.safetensors"), [(n, t.numpy()) for n, t in inputs], meta)
    total += write_checked(os.path.join(dst, stem + ".outputs.safetensors"),
                           [(n, o.contiguous().numpy()) for n, o in zip(names, outs)], meta)
    print(f"demo   {model_name}/{stem}.onnx  ONNX ops: {' '.join(sorted(set(ops)))}")
    return total, outs


def gen_demo(out_dir):
    import json
    import train_models as tm
    models = os.path.join(ROOT, "models")
    total = 0

    def start(name):
        dst = os.path.join(out_dir, name)
        os.makedirs(dst)
        shutil.copy(os.path.join(models, name, "model.json"), os.path.join(dst, "model.json"))
        with open(os.path.join(models, name, "model.json")) as f:
            return dst, json.load(f)

    g = torch.Generator().manual_seed(seed_of("demo"))
    dst, cfg = start("classifier")
    m = tm.Classifier(cfg["rnn"]["hidden_size"], len(cfg["labels"]))
    tm.load_weights_into(m, os.path.join(models, "classifier"))
    m.eval()
    lengths = torch.tensor([9, 5, 7, 3], dtype=torch.int64)
    x = torch.randn(4, 9, 1, generator=g)
    for b, n in enumerate(lengths.tolist()):
        x[b, n:] = 0
    size, _ = export_graph(m, [("x", x), ("lengths", lengths)], ["logits"],
                           {"x": {0: "batch", 1: "seq_len"}, "lengths": {0: "batch"}, "logits": {0: "batch"}}, dst, "model", "classifier",
                           trace_inputs=(x[:1], lengths[:1]))
    total += size

    dst, cfg = start("charlm")
    lm = tm.CharLM(len(cfg["vocab"]), cfg["rnn"]["input_size"], cfg["rnn"]["hidden_size"], cfg["rnn"]["num_layers"])
    tm.load_weights_into(lm, os.path.join(models, "charlm"))
    lm.eval()
    tokens = torch.randint(3, len(cfg["vocab"]), (2, 8), generator=g, dtype=torch.int64)
    size, _ = export_graph(LMGraph(lm).eval(), [("tokens", tokens)], ["logits", "h_n", "c_n"],
                           {"tokens": {0: "batch", 1: "seq_len"}, "logits": {0: "batch", 1: "seq_len"}, "h_n": {1: "batch"}, "c_n": {1: "batch"}},
                           dst, "model", "charlm")
    total += size

    dst, cfg = start("seq2seq")
    s2s = tm.Seq2Seq(len(cfg["input_vocab"]), len(cfg["output_vocab"]), cfg["encoder"]["rnn"]["input_size"], cfg["encoder"]["rnn"]["hidden_size"])
    tm.load_weights_into(s2s, os.path.join(models, "seq2seq"))
    s2s.eval()
    lengths = torch.tensor([10, 6, 8], dtype=torch.int64)
    src = torch.randint(3, len(cfg["input_vocab"]), (3, 10), generator=g, dtype=torch.int64)
    for b, n in enumerate(lengths.tolist()):
        src[b, n:] = cfg.get("pad", 0)
    size, (h,) = export_graph(s2s.encoder, [("src", src), ("lengths", lengths)], ["h_n"],
                              {"src": {0: "batch", 1: "seq_len"}, "lengths": {0: "batch"}, "h_n": {1: "batch"}}, dst, "encoder", "seq2seq",
                              trace_inputs=(src[:1], lengths[:1]))
    total += size
    dec_in = torch.cat([torch.full((3, 1), cfg["bos"], dtype=torch.int64),
                        torch.randint(3, len(cfg["output_vocab"]), (3, 4), generator=g, dtype=torch.int64)], dim=1)
    size, _ = export_graph(s2s.decoder, [("tokens", dec_in), ("h", h.contiguous())], ["logits", "h_n"],
                           {"tokens": {0: "batch", 1: "seq_len"}, "h": {1: "batch"}, "logits": {0: "batch", 1: "seq_len"}, "h_n": {1: "batch"}},
                           dst, "decoder", "seq2seq")
    total += size
    if total > MAX_DEMO_BYTES:
        sys.exit(f"demo ONNX fixtures exceed {MAX_DEMO_BYTES} bytes: {total}")
    return total


# ----------------------------------------------------------------------------- main

def fresh(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    os.makedirs(args.out, exist_ok=True)
    total = 0

    version = package_version(TESTDATA_PACKAGE)
    node_dir = fresh(os.path.join(args.out, "node"))
    tests = find_node_tests()
    for name, (src, ops) in tests.items():
        total += convert_node_test(name, src, ops, node_dir, version)
    converted = sorted(os.listdir(node_dir))
    assert converted == list(tests), "not every node test was converted"

    attrs_dir = fresh(os.path.join(args.out, "attrs"))
    names = [c["name"] for c in ATTR_CASES]
    assert len(names) == len(set(names)), "duplicate attrs case names"
    lines = []
    for c in ATTR_CASES:
        size, line = gen_attr_case(c, attrs_dir)
        total += size
        lines.append(line)
    with open(os.path.join(attrs_dir, "cases.txt"), "w") as f:
        f.write("# name op attributes... (generated by scripts/make-onnx-fixtures; see ../README.md)\n")
        f.write("# activation_alpha/beta are listed as stored: LSTM/GRU consume them in order, only for the functions\n"
                "# that take them; RNN cases give one value per direction (ONNX Runtime's RNN reads alpha[d], beta[d]).\n")
        f.write("".join(line + "\n" for line in lines))
    total += os.path.getsize(os.path.join(attrs_dir, "cases.txt"))

    torch_dir = fresh(os.path.join(args.out, "torch"))
    for c in TORCH_CASES:
        total += gen_torch_case(c, torch_dir)

    demo_bytes = gen_demo(fresh(os.path.join(args.out, "demo")))

    print(f"\n{len(tests)} node tests ({TESTDATA_PACKAGE} {version}), {len(ATTR_CASES)} attrs cases, "
          f"{len(TORCH_CASES)} torch exports: {total} bytes, 3 demo models: {demo_bytes} bytes written to {args.out} "
          f"(onnx {onnx.__version__}, torch {torch.__version__})")
    if total > MAX_TOTAL_BYTES:
        sys.exit("ONNX fixtures exceed 3 MB")


if __name__ == "__main__":
    main()
