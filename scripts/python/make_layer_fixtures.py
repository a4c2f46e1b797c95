#!/usr/bin/python3
"""Generates the PyTorch golden fixtures for panama-rnn's layer and cell tests.

Writes core/src/test/resources/fixtures/layers/{layer_*,cell_*}.safetensors and index.txt.
Run through scripts/make-fixtures (which makes sure PyTorch is installed), or directly with
/usr/bin/python3 scripts/python/make_layer_fixtures.py [--out DIR].

Everything is deterministic: a fixed case list, torch.manual_seed(crc32(case name)) per case,
float32, one thread, torch.no_grad(), modules in eval() mode. The safetensors writer and the
reader used by the self-check are in st_io.py (no safetensors package needed).

File contract (what the Java tests read) is described in the README.md next to the fixtures.
"""
import argparse
import json
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import TORCH_DTYPE, decode, read_raw as read_safetensors, write_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "core", "src", "test", "resources", "fixtures", "layers")

MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")
GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}

# ----------------------------------------------------------------------------- checks

def same_bits(a, b):
    bits = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[a.element_size()]
    return a.dtype == b.dtype and a.shape == b.shape and \
        torch.equal(a.contiguous().view(bits), b.contiguous().view(bits))


def rerun_check(path, case):
    """Rebuilds the module from the file alone (low-precision weights upcast to f32), runs it and
    checks that the stored expectations come out bit for bit."""
    meta, raw = read_safetensors(path)
    t = {n: decode(*v) for n, v in raw.items()}
    prefix = meta["prefix"]
    mod = (make_module(case) if meta["kind"] == "layer" else make_cell(case)).eval()
    sd = {n[len(prefix):]: v.float() for n, v in t.items() if n.startswith(prefix) and
          (n[len(prefix):].startswith("weight_") or n[len(prefix):].startswith("bias_"))}
    mod.load_state_dict(sd, strict=True)
    if meta["kind"] == "cell":
        if "cx" in t:
            h, c = mod(t["input"], (t["hx"], t["cx"]))
            assert same_bits(c, t["expected_c"]), path
        else:
            h = mod(t["input"], t["hx"])
        assert same_bits(h, t["expected_h"]), path
        return
    hx = None
    if "h0" in t:
        hx = (t["h0"], t["c0"]) if "c0" in t else t["h0"]
    bf = meta["batch_first"] == "true"
    T = t["input"].shape[1 if bf else 0]
    if "lengths" in t:
        lengths = t["lengths"].long()
        assert int(lengths.max()) == T and int(lengths.min()) >= 1
        packed = nn.utils.rnn.pack_padded_sequence(t["input"], lengths, batch_first=bf,
                                                   enforce_sorted=False)
        out, hn = mod(packed, hx)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=bf, total_length=T)
        for b, n in enumerate(lengths.tolist()):  # padding is zero
            pad = out[b, n:] if bf else out[n:, b]
            assert torch.all(pad == 0), path
    else:
        out, hn = mod(t["input"], hx)
    if isinstance(hn, tuple):
        hn, cn = hn
        assert same_bits(cn, t["expected_c_n"]), path
    assert same_bits(out, t["expected_output"]), path
    assert same_bits(hn, t["expected_h_n"]), path


def check_file(path, tensors, metadata):
    meta, got = read_safetensors(path)
    assert meta == {str(k): str(v) for k, v in metadata.items()}, f"{path}: metadata differs"
    assert list(got) == [n for n, _, _ in tensors], f"{path}: tensor order differs"
    for name, t, dtype in tensors:
        gd, gs, gb = got[name]
        assert gd == dtype and gs == tuple(t.shape), f"{path}:{name}: dtype/shape"
        assert same_bits(decode(gd, gs, gb), t.detach()), f"{path}:{name}: bits differ"


# ----------------------------------------------------------------------------- case list

def layer_case(name, mode, I, H, L=1, bi=False, bf=False, bias=True, T=5, B=2, state=False,
               lengths=None, proj=0, prefix="", wdtype="F32", wscale=1.0, dropout=0.0,
               xscale=2.0, edge=None):
    return dict(kind="layer", name=name, mode=mode, I=I, H=H, L=L, bi=bi, bf=bf, bias=bias, T=T,
                B=B, state=state, lengths=lengths, proj=proj, prefix=prefix, wdtype=wdtype,
                wscale=wscale, dropout=dropout, xscale=xscale, edge=edge)


# Covering table: every mode runs through all rows, so each option value meets each mode
# several times.  (layers, bidirectional, batch_first, bias, h0/c0 given, lengths, B, T)
ROWS = [
    (1, False, False, True, False, None, 1, 1),
    (1, False, True, True, True, None, 3, 5),
    (1, True, False, True, False, "I64", 4, 9),
    (1, True, True, False, True, None, 1, 2),
    (2, False, False, True, True, "I64", 3, 5),
    (2, True, False, True, False, None, 2, 9),
    (2, False, True, False, False, "I64", 5, 2),
    (2, True, True, True, True, "I64", 3, 5),
    (3, False, False, False, True, None, 2, 5),
    (3, True, False, True, True, "I64", 4, 9),
    (3, False, True, True, False, None, 1, 9),
    (3, True, True, False, False, "I64", 3, 2),
    (1, False, False, False, False, "I64", 6, 9),
    (2, False, False, True, True, "I64", 1, 5),
]
# (input_size, hidden_size); row k of mode m uses SIZES[(k + 3 m) % len(SIZES)].
SIZES = [(1, 3), (3, 5), (5, 7), (7, 13), (13, 17), (17, 33), (33, 7),
         (3, 17), (5, 1), (1, 1), (13, 5), (7, 33), (17, 3), (33, 13)]


def layer_name(mode, I, H, L, bi, bf, bias, T, B, state, lengths, tag=""):
    parts = ["layer", mode.lower(), f"l{L}"]
    if bi:
        parts.append("bi")
    if bf:
        parts.append("bf")
    if not bias:
        parts.append("nobias")
    if state:
        parts.append("h0")
    if lengths:
        parts.append("len" + ("32" if lengths == "I32" else ""))
    parts.append(f"i{I}h{H}t{T}b{B}")
    if tag:
        parts.append(tag)
    return "_".join(parts)


def build_cases():
    cases = []
    for m, mode in enumerate(MODES):
        for k, (L, bi, bf, bias, state, lengths, B, T) in enumerate(ROWS):
            I, H = SIZES[(k + 3 * m) % len(SIZES)]
            cases.append(layer_case(layer_name(mode, I, H, L, bi, bf, bias, T, B, state, lengths),
                                    mode, I, H, L, bi, bf, bias, T, B, state, lengths))

    def add(mode, I, H, L=1, bi=False, bf=False, bias=True, T=5, B=2, state=False, lengths=None,
            tag="", **kw):
        cases.append(layer_case(layer_name(mode, I, H, L, bi, bf, bias, T, B, state, lengths, tag),
                                mode, I, H, L, bi, bf, bias, T, B, state, lengths, **kw))

    # Saturation: all weights x3.
    add("LSTM", 7, 13, L=2, bi=True, T=9, B=3, state=True, tag="w3", wscale=3.0)
    add("GRU", 13, 17, L=2, T=9, B=3, lengths="I64", tag="w3", wscale=3.0)
    add("RNN_TANH", 5, 7, L=1, bi=True, T=9, B=2, state=True, tag="w3", wscale=3.0)
    add("RNN_RELU", 7, 5, L=2, T=5, B=3, tag="w3", wscale=3.0)
    # I32 lengths.
    add("LSTM", 5, 7, L=2, bi=True, bf=True, T=9, B=4, lengths="I32", state=True)
    add("GRU", 3, 5, L=1, T=5, B=3, lengths="I32")
    # Low-precision weights (expected outputs computed from the rounded weights).
    add("LSTM", 13, 17, L=2, bi=True, T=5, B=3, lengths="I64", tag="f16", wdtype="F16")
    add("GRU", 7, 13, L=2, T=5, B=2, state=True, tag="bf16", wdtype="BF16")
    add("RNN_TANH", 17, 33, L=1, bi=True, bf=True, T=5, B=2, tag="f16", wdtype="F16")
    add("LSTM", 5, 7, L=1, T=5, B=2, state=True, tag="bf16", wdtype="BF16", prefix="encoder.rnn.")
    # Prefixed state dict names.
    add("LSTM", 7, 13, L=2, bi=True, T=5, B=3, state=True, lengths="I64", tag="prefixed",
        prefix="encoder.rnn.")
    add("GRU", 5, 7, L=1, bf=True, T=5, B=2, tag="prefixed", prefix="encoder.rnn.")
    add("RNN_RELU", 3, 5, L=2, bi=True, T=2, B=2, state=True, tag="prefixed", prefix="encoder.rnn.")
    # LSTM with projections.
    add("LSTM", 5, 13, L=1, T=5, B=2, tag="proj5", proj=5)
    add("LSTM", 7, 17, L=1, bi=True, T=9, B=3, lengths="I64", tag="proj3", proj=3)
    add("LSTM", 3, 7, L=2, T=5, B=3, state=True, tag="proj1", proj=1)
    add("LSTM", 13, 33, L=2, bi=True, bf=True, T=9, B=4, state=True, lengths="I64", tag="proj7",
        proj=7)
    add("LSTM", 17, 13, L=2, bi=True, bias=False, T=5, B=1, tag="proj5", proj=5)
    add("LSTM", 5, 7, L=2, bi=True, T=5, B=3, state=True, lengths="I32", tag="proj3", proj=3,
        prefix="encoder.rnn.")
    # Larger cases for vector-kernel tail paths.
    add("LSTM", 64, 96, L=1, bi=True, T=12, B=4, state=True, lengths="I64", tag="large")
    add("GRU", 64, 96, L=1, T=12, B=4, state=True, tag="large")
    add("RNN_TANH", 64, 96, L=1, bf=True, T=12, B=4, lengths="I64", tag="large")
    add("RNN_RELU", 64, 96, L=1, T=12, B=4, state=True, tag="large")
    add("LSTM", 64, 96, L=1, T=12, B=4, tag="large_proj48", proj=48)
    # Dropout (ignored: module in eval()).
    add("LSTM", 5, 7, L=3, bi=True, T=5, B=2, state=True, tag="dropout", dropout=0.3)
    add("GRU", 7, 5, L=2, T=5, B=3, lengths="I64", tag="dropout", dropout=0.3)

    # Edge cases: NaN/Inf in the input, huge pre-activations.
    def edge(name, mode, I, H, L, bi, edge_kind, xscale=2.0, **kw):
        cases.append(layer_case("layer_edge_" + name, mode, I, H, L=L, bi=bi, T=6, B=4,
                                edge=edge_kind, xscale=xscale, **kw))
    edge("lstm_nan_inf", "LSTM", 5, 7, 2, True, "naninf", state=True)
    edge("gru_nan_inf", "GRU", 5, 7, 1, False, "naninf")
    edge("rnn_tanh_nan_inf_large", "RNN_TANH", 5, 7, 2, False, "naninf", xscale=2e4)
    edge("rnn_relu_large", "RNN_RELU", 5, 7, 2, True, "large", xscale=2e4)
    edge("rnn_relu_nan_inf", "RNN_RELU", 5, 7, 1, False, "naninf", state=True)
    edge("lstm_large", "LSTM", 5, 7, 1, False, "large", xscale=2e4, lengths="I64")

    # Cells.
    cell_sizes = [(5, 7, 3, True, 1.0), (1, 1, 1, True, 1.0), (13, 33, 1, False, 1.0),
                  (17, 3, 4, True, 3.0)]
    for m, mode in enumerate(MODES):
        for k in range(4):
            I, H, B, bias, wscale = cell_sizes[k]
            if m % 2 == 1 and k == 2:
                I, H = 33, 13
            name = f"cell_{mode.lower()}_i{I}h{H}b{B}" + ("" if bias else "_nobias") + \
                   ("_w3" if wscale != 1.0 else "")
            cases.append(dict(kind="cell", name=name, mode=mode, I=I, H=H, B=B, bias=bias,
                              wscale=wscale, xscale=2.0))
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    return cases


# ----------------------------------------------------------------------------- generation

def make_module(c):
    kw = dict(num_layers=c["L"], bias=c["bias"], batch_first=c["bf"], dropout=c["dropout"],
              bidirectional=c["bi"])
    if c["mode"] == "LSTM":
        return nn.LSTM(c["I"], c["H"], proj_size=c["proj"], **kw)
    if c["mode"] == "GRU":
        return nn.GRU(c["I"], c["H"], **kw)
    return nn.RNN(c["I"], c["H"], nonlinearity="tanh" if c["mode"] == "RNN_TANH" else "relu", **kw)


def make_cell(c):
    if c["mode"] == "LSTM":
        return nn.LSTMCell(c["I"], c["H"], bias=c["bias"])
    if c["mode"] == "GRU":
        return nn.GRUCell(c["I"], c["H"], bias=c["bias"])
    return nn.RNNCell(c["I"], c["H"], bias=c["bias"],
                      nonlinearity="tanh" if c["mode"] == "RNN_TANH" else "relu")


def prepare_weights(module, wscale, wdtype):
    """Scales the weights, rounds them to wdtype; returns the tensors to store (in wdtype)."""
    stored = {}
    for name, p in module.state_dict().items():
        if wscale != 1.0:
            p.mul_(wscale)
        low = p.to(TORCH_DTYPE[wdtype])
        p.copy_(low.float())
        stored[name] = low.clone()
    return stored


def seed_of(name):
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def gen_layer(c):
    seed = seed_of(c["name"])
    torch.manual_seed(seed)
    mod = make_module(c).eval()
    weights = prepare_weights(mod, c["wscale"], c["wdtype"])
    T, B, I, H, L = c["T"], c["B"], c["I"], c["H"], c["L"]
    D = 2 if c["bi"] else 1
    Hout = c["proj"] if c["proj"] > 0 else H
    x = torch.randn(T, B, I) * c["xscale"]
    if c["edge"] == "naninf":
        # sample 0: NaN at t=2; sample 1: +Inf at t=1; sample 2: -Inf at t=4; sample 3 stays finite.
        x[2, 0, 0] = float("nan")
        x[1, 1, I - 1] = float("inf")
        x[4, 2, 0] = float("-inf")
    if c["bf"]:
        x = x.transpose(0, 1).contiguous()
    h0 = c0 = None
    if c["state"]:
        h0 = torch.randn(L * D, B, Hout)
        if c["mode"] == "LSTM":
            c0 = torch.randn(L * D, B, H)
    lengths = None
    if c["lengths"]:
        lengths = torch.randint(1, T + 1, (B,), dtype=torch.int64)
        lengths[int(torch.randint(0, B, (1,)))] = T
        if B > 2 and bool(torch.all(lengths[:-1] >= lengths[1:])) and int(lengths.min()) < T:
            lengths = lengths.flip(0).contiguous()  # make it not sorted descending
    hx = None
    if h0 is not None:
        hx = (h0, c0) if c["mode"] == "LSTM" else h0
    with torch.no_grad():
        if lengths is not None:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=c["bf"],
                                                       enforce_sorted=False)
            out, hn = mod(packed, hx)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=c["bf"], total_length=T)
        else:
            out, hn = mod(x, hx)
    if c["mode"] == "LSTM":
        hn, cn = hn
    else:
        cn = None
    exp_out_shape = (B, T, D * Hout) if c["bf"] else (T, B, D * Hout)
    assert tuple(out.shape) == exp_out_shape, (c["name"], out.shape)
    assert tuple(hn.shape) == (L * D, B, Hout)
    if cn is not None:
        assert tuple(cn.shape) == (L * D, B, H)

    tensors = [(c["prefix"] + n, w, c["wdtype"]) for n, w in weights.items()]
    tensors.append(("input", x, "F32"))
    if h0 is not None:
        tensors.append(("h0", h0, "F32"))
    if c0 is not None:
        tensors.append(("c0", c0, "F32"))
    if lengths is not None:
        ld = c["lengths"]
        tensors.append(("lengths", lengths.to(TORCH_DTYPE[ld]), ld))
    tensors.append(("expected_output", out.contiguous(), "F32"))
    tensors.append(("expected_h_n", hn.contiguous(), "F32"))
    if cn is not None:
        tensors.append(("expected_c_n", cn.contiguous(), "F32"))
    b = lambda v: "true" if v else "false"
    meta = {
        "kind": "layer", "mode": c["mode"], "input_size": str(I), "hidden_size": str(H),
        "num_layers": str(L), "bidirectional": b(c["bi"]), "batch_first": b(c["bf"]),
        "bias": b(c["bias"]), "proj_size": str(c["proj"]), "prefix": c["prefix"],
        "weight_dtype": c["wdtype"], "has_h0": b(h0 is not None), "has_c0": b(c0 is not None),
        "has_lengths": b(lengths is not None), "dropout": repr(float(c["dropout"])),
        "seq_len": str(T), "batch": str(B), "weight_scale": repr(float(c["wscale"])),
        "input_scale": repr(float(c["xscale"])), "seed": str(seed),
        "torch_version": torch.__version__,
    }
    shape = "x".join(map(str, x.shape))
    return tensors, meta, shape, out


def gen_cell(c):
    seed = seed_of(c["name"])
    torch.manual_seed(seed)
    cell = make_cell(c).eval()
    weights = prepare_weights(cell, c["wscale"], "F32")
    B, I, H = c["B"], c["I"], c["H"]
    x = torch.randn(B, I) * c["xscale"]
    hx = torch.randn(B, H)
    cx = torch.randn(B, H) if c["mode"] == "LSTM" else None
    with torch.no_grad():
        if cx is not None:
            h, cc = cell(x, (hx, cx))
        else:
            h, cc = cell(x, hx), None
    tensors = [(n, w, "F32") for n, w in weights.items()]
    tensors += [("input", x, "F32"), ("hx", hx, "F32")]
    if cx is not None:
        tensors.append(("cx", cx, "F32"))
    tensors.append(("expected_h", h.contiguous(), "F32"))
    if cc is not None:
        tensors.append(("expected_c", cc.contiguous(), "F32"))
    meta = {"kind": "cell", "mode": c["mode"], "input_size": str(I), "hidden_size": str(H),
            "bias": "true" if c["bias"] else "false", "batch": str(B), "prefix": "",
            "weight_dtype": "F32", "weight_scale": repr(float(c["wscale"])),
            "input_scale": repr(float(c["xscale"])), "seed": str(seed),
            "torch_version": torch.__version__}
    return tensors, meta, "x".join(map(str, x.shape)), h


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):  # drop stale cases so index.txt and the folder agree
        if f.endswith(".safetensors") and (f.startswith("layer_") or f.startswith("cell_")):
            os.remove(os.path.join(args.out, f))

    cases = build_cases()
    files = []
    total = 0
    print(f"{'case':58} {'mode':8} {'input':>9} {'out':>10} {'max|out|':>10}")
    for c in cases:
        tensors, meta, shape, out = (gen_layer if c["kind"] == "layer" else gen_cell)(c)
        fname = c["name"] + ".safetensors"
        path = os.path.join(args.out, fname)
        write_safetensors(path, tensors, meta)
        check_file(path, tensors, meta)  # read back with the independent reader, compare bits
        rerun_check(path, c)  # rebuild the module from the file alone, expectations must match
        files.append(fname)
        total += os.path.getsize(path)
        finite = out[torch.isfinite(out)]
        mx = float(finite.abs().max()) if finite.numel() else float("nan")
        nonfinite = int((~torch.isfinite(out)).sum())
        extra = f"  ({nonfinite} non-finite)" if nonfinite else ""
        print(f"{c['name']:58} {c['mode']:8} {shape:>9} {'x'.join(map(str, out.shape)):>10} "
              f"{mx:10.4g}{extra}")
    with open(os.path.join(args.out, "index.txt"), "w") as f:
        f.write("".join(n + "\n" for n in sorted(files)))
    n_layer = sum(1 for c in cases if c["kind"] == "layer")
    print(f"\n{len(files)} files ({n_layer} layer, {len(files) - n_layer} cell), "
          f"{total} bytes, torch {torch.__version__}, written to {args.out}")
    if total > 3 * 1024 * 1024:
        sys.exit("fixtures exceed 3 MB")


if __name__ == "__main__":
    main()
