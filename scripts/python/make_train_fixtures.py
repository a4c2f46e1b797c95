#!/usr/bin/python3
"""Generates the PyTorch golden fixtures for panama-rnn's training tests.

Writes core/src/test/resources/fixtures/train/: layer_*.safetensors and cell_*.safetensors (forward
values and gradients of nn.LSTM / nn.GRU / nn.RNN and their cells), heads.safetensors (Linear,
Embedding and CrossEntropyLoss gradients), optim.safetensors (SGD / Adam / AdamW steps and
clip_grad_norm_), curve_lm.safetensors and curve_cls.safetensors (50-step training loss curves), and
index.txt. Run through scripts/make-train-fixtures (which makes sure PyTorch is installed), or
directly with /usr/bin/python3 -P scripts/python/make_train_fixtures.py [--out DIR].

Deterministic: a fixed case list, torch.manual_seed(zlib.crc32(case name)) per case, one thread.
Inputs and weights are drawn in float32 (so the stored F32 values are exact). Gradients of layers,
cells and heads are computed in float64 from those values and rounded to F32 when stored; the script
asserts that float32 autograd agrees with that reference within 1e-4 of max|ref| per tensor.
Optimiser steps and loss curves are run in float32 (what the Java side reproduces); a float64 rerun
is recorded in the metadata for information. After writing, every file is read back with the
independent reader in st_io.py, compared bit for bit, and its expected tensors are recomputed from the
file's own inputs (again bit for bit).

The file contract is described in the README.md next to the fixtures.
"""
import argparse
import os
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import decode, read_raw, write_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "core", "src", "test", "resources", "fixtures", "train")
MAX_BYTES = 1536 * 1024
REL_TOL = 1e-4  # float32 autograd vs the float64 reference, relative to max|ref| per tensor
F64 = torch.float64
F32 = torch.float32


def seed_of(name):
    return zlib.crc32(name.encode("utf-8"))


def b(v):
    return "true" if v else "false"


def common_meta(kind, name):
    return {"kind": kind, "case": name, "seed": str(seed_of(name)), "torch_version": torch.__version__}


# ----------------------------------------------------------------------------- checks

def same_bits(a, b_):
    bits = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[a.element_size()]
    return a.dtype == b_.dtype and a.shape == b_.shape and \
        torch.equal(a.contiguous().view(bits), b_.contiguous().view(bits))


def rel_err(got, ref):
    """max|got - ref| / max|ref| (absolute when ref is all zero)."""
    ref = ref.detach().double()
    err = float((got.detach().double() - ref).abs().max()) if ref.numel() else 0.0
    scale = float(ref.abs().max()) if ref.numel() else 0.0
    return err / scale if scale > 0 else err


def check_f32(case, ref64, got32, tol=REL_TOL):
    """Asserts float32 results agree with the float64 reference; returns the worst relative error."""
    worst = 0.0
    assert list(ref64) == list(got32)
    for k, r in ref64.items():
        e = rel_err(got32[k], r)
        assert e <= tol, f"{case}:{k}: float32 vs float64 relative error {e:.3g} > {tol}"
        worst = max(worst, e)
    return worst


def entries(inputs, outputs):
    """(name, tensor, dtype): integer tensors as I64, float tensors rounded to F32."""
    out = []
    for d in (inputs, outputs):
        for n, t in d.items():
            t = t.detach().contiguous()
            if t.dtype == torch.int64:
                out.append((n, t, "I64"))
            else:
                assert t.is_floating_point(), n
                out.append((n, t.to(F32).contiguous(), "F32"))
    names = [e[0] for e in out]
    assert len(names) == len(set(names)), "duplicate tensor names"
    return out


def read_back(path):
    meta, raw = read_raw(path)
    return meta, {n: decode(*v) for n, v in raw.items()}


def check_file(path, tensors, metadata):
    meta, got = read_back(path)
    assert meta == {str(k): str(v) for k, v in metadata.items()}, f"{path}: metadata differs"
    assert list(got) == [n for n, _, _ in tensors], f"{path}: tensor order differs"
    for name, t, dtype in tensors:
        g = got[name]
        assert g.dtype == t.dtype and tuple(g.shape) == tuple(t.shape), f"{path}:{name}: dtype/shape"
        assert same_bits(g, t), f"{path}:{name}: bits differ"


def rerun_check(path, case, gen):
    """Recomputes the expected tensors from the inputs stored in the file; they must come out bit for
    bit (float64 references rounded to F32, or the float32 runs)."""
    _, t = read_back(path)
    inputs = {n: t[n] for n in gen["input_names"](case, t)}
    outputs = gen["expected"](case, inputs)
    for n, v in outputs.items():
        v = v.detach()
        v = v if v.dtype == torch.int64 else v.to(F32)
        assert n in t, f"{path}: {n} missing"
        assert same_bits(v.contiguous(), t[n]), f"{path}:{n}: recomputed value differs"
    stored_outputs = [n for n in t if n not in inputs]
    assert stored_outputs == list(outputs), f"{path}: output names differ"


# ----------------------------------------------------------------------------- 1. layers

MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")


def layer_case(name, mode, I, H, T, B, L=1, bi=False, bf=False, bias=True, state=False,
               lengths=None, proj=0):
    if lengths is not None:
        assert len(lengths) == B and max(lengths) == T and min(lengths) >= 1
        assert min(lengths) < T and sorted(lengths, reverse=True) != list(lengths)
    return dict(kind="layer", name=name, mode=mode, I=I, H=H, T=T, B=B, L=L, bi=bi, bf=bf,
                bias=bias, state=state, lengths=lengths, proj=proj)


def layer_cases():
    cases = []
    for mode in MODES:
        m = mode.lower()
        cases.append(layer_case(f"{m}_basic", mode, I=5, H=7, T=6, B=3))
        cases.append(layer_case(f"{m}_l2_bi_bf_len_h0", mode, I=6, H=19, T=7, B=4, L=2, bi=True,
                                bf=True, state=True, lengths=[5, 7, 2, 6]))
    cases.append(layer_case("lstm_proj5_l2_bi_len_h0", "LSTM", I=5, H=12, T=6, B=3, L=2, bi=True,
                            state=True, lengths=[4, 6, 3], proj=5))
    cases.append(layer_case("gru_nobias_l2_bf_h0", "GRU", I=5, H=7, T=6, B=3, L=2, bf=True,
                            bias=False, state=True))
    cases.append(layer_case("gru_large_bi_len", "GRU", I=17, H=40, T=9, B=5, bi=True,
                            lengths=[9, 4, 7, 2, 6]))
    cases.append(layer_case("lstm_b1_l2_bi_h0", "LSTM", I=5, H=7, T=5, B=1, L=2, bi=True,
                            state=True))
    cases.append(layer_case("lstm_len1_bi_h0", "LSTM", I=4, H=6, T=5, B=3, bi=True, state=True,
                            lengths=[3, 1, 5]))
    return cases


def make_rnn(c):
    kw = dict(num_layers=c["L"], bias=c["bias"], batch_first=c["bf"], bidirectional=c["bi"])
    if c["mode"] == "LSTM":
        return nn.LSTM(c["I"], c["H"], proj_size=c["proj"], **kw)
    if c["mode"] == "GRU":
        return nn.GRU(c["I"], c["H"], **kw)
    return nn.RNN(c["I"], c["H"], nonlinearity="tanh" if c["mode"] == "RNN_TANH" else "relu", **kw)


def layer_inputs(c):
    torch.manual_seed(seed_of(c["name"]))
    mod = make_rnn(c)  # torch's default init (consumes the generator), then rescaled below
    with torch.no_grad():
        for p in mod.parameters():
            p.uniform_(-0.5, 0.5)
    t = {"rnn." + n: v.detach().clone() for n, v in mod.state_dict().items()}
    T, B, I, H, L = c["T"], c["B"], c["I"], c["H"], c["L"]
    D = 2 if c["bi"] else 1
    Hout = c["proj"] or H
    t["input"] = torch.randn((B, T, I) if c["bf"] else (T, B, I))
    if c["lengths"] is not None:
        t["lengths"] = torch.tensor(c["lengths"], dtype=torch.int64)
    if c["state"]:
        t["h0"] = torch.randn(L * D, B, Hout)
        if c["mode"] == "LSTM":
            t["c0"] = torch.randn(L * D, B, H)
    t["d_output"] = torch.randn((B, T, D * Hout) if c["bf"] else (T, B, D * Hout))
    t["d_h_n"] = torch.randn(L * D, B, Hout)
    if c["mode"] == "LSTM":
        t["d_c_n"] = torch.randn(L * D, B, H)
    return t


def layer_input_names(c, t):
    return [n for n in t if n.startswith("rnn.")] + \
        [n for n in ("input", "lengths", "h0", "c0", "d_output", "d_h_n", "d_c_n") if n in t]


def layer_expected(c, t, dtype=F64):
    mod = make_rnn(c).to(dtype)
    mod.load_state_dict({n[4:]: v.to(dtype) for n, v in t.items() if n.startswith("rnn.")},
                        strict=True)
    cv = lambda n: t[n].to(dtype)  # noqa: E731
    x = cv("input").requires_grad_()
    leaves = {"input": x}
    hx = None
    if "h0" in t:
        hx = leaves["h0"] = cv("h0").requires_grad_()
        if "c0" in t:
            leaves["c0"] = cv("c0").requires_grad_()
            hx = (hx, leaves["c0"])
    T = c["T"]
    if "lengths" in t:
        packed = pack_padded_sequence(x, t["lengths"], batch_first=c["bf"], enforce_sorted=False)
        out, hn = mod(packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=c["bf"], total_length=T)
    else:
        out, hn = mod(x, hx)
    cn = None
    if c["mode"] == "LSTM":
        hn, cn = hn
    loss = (out * cv("d_output")).sum() + (hn * cv("d_h_n")).sum()
    if cn is not None:
        loss = loss + (cn * cv("d_c_n")).sum()
    named = list(mod.named_parameters())
    assert [n for n, _ in named] == [n[4:] for n in t if n.startswith("rnn.")]
    grads = torch.autograd.grad(loss, [p for _, p in named] + list(leaves.values()))
    res = {"output": out.detach(), "h_n": hn.detach()}
    if cn is not None:
        res["c_n"] = cn.detach()
    for (n, _), g in zip(named, grads):
        res["grad.rnn." + n] = g
    for n, g in zip(leaves, grads[len(named):]):
        res["grad." + n] = g
    if "lengths" in t:  # padding: zero output, zero input gradient
        for bi_, n in enumerate(t["lengths"].tolist()):
            for k in ("output", "grad.input"):
                pad = res[k][bi_, n:] if c["bf"] else res[k][n:, bi_]
                assert torch.all(pad == 0), (c["name"], k)
    return res


def layer_meta(c):
    m = common_meta("layer", c["name"])
    m.update({"mode": c["mode"], "input_size": str(c["I"]), "hidden_size": str(c["H"]),
              "num_layers": str(c["L"]), "bidirectional": b(c["bi"]), "bias": b(c["bias"]),
              "batch_first": b(c["bf"]), "proj_size": str(c["proj"]), "seq_len": str(c["T"]),
              "batch": str(c["B"]), "has_h0": b(c["state"]),
              "has_c0": b(c["state"] and c["mode"] == "LSTM"),
              "has_lengths": b(c["lengths"] is not None), "weight_init": "uniform(-0.5,0.5)",
              "reference": "float64"})
    return m


# ----------------------------------------------------------------------------- 2. cells

def cell_cases():
    return [dict(kind="cell", name="cell_" + m.lower(), mode=m, I=6, H=9, B=4) for m in MODES]


def make_cell(c):
    if c["mode"] == "LSTM":
        return nn.LSTMCell(c["I"], c["H"])
    if c["mode"] == "GRU":
        return nn.GRUCell(c["I"], c["H"])
    return nn.RNNCell(c["I"], c["H"], nonlinearity="tanh" if c["mode"] == "RNN_TANH" else "relu")


def cell_inputs(c):
    torch.manual_seed(seed_of(c["name"]))
    cell = make_cell(c)
    with torch.no_grad():
        for p in cell.parameters():
            p.uniform_(-0.5, 0.5)
    t = {"cell." + n: v.detach().clone() for n, v in cell.state_dict().items()}
    B, I, H = c["B"], c["I"], c["H"]
    t["input"] = torch.randn(B, I)
    t["hx"] = torch.randn(B, H)
    if c["mode"] == "LSTM":
        t["cx"] = torch.randn(B, H)
    t["d_h"] = torch.randn(B, H)
    if c["mode"] == "LSTM":
        t["d_c"] = torch.randn(B, H)
    return t


def cell_input_names(c, t):
    return [n for n in t if n.startswith("cell.")] + \
        [n for n in ("input", "hx", "cx", "d_h", "d_c") if n in t]


def cell_expected(c, t, dtype=F64):
    cell = make_cell(c).to(dtype)
    cell.load_state_dict({n[5:]: v.to(dtype) for n, v in t.items() if n.startswith("cell.")},
                         strict=True)
    leaves = {k: t[k].to(dtype).requires_grad_() for k in ("input", "hx", "cx") if k in t}
    if "cx" in leaves:
        h, cc = cell(leaves["input"], (leaves["hx"], leaves["cx"]))
        loss = (h * t["d_h"].to(dtype)).sum() + (cc * t["d_c"].to(dtype)).sum()
    else:
        h, cc = cell(leaves["input"], leaves["hx"]), None
        loss = (h * t["d_h"].to(dtype)).sum()
    named = list(cell.named_parameters())
    grads = torch.autograd.grad(loss, [p for _, p in named] + list(leaves.values()))
    res = {"h": h.detach()}
    if cc is not None:
        res["c"] = cc.detach()
    for (n, _), g in zip(named, grads):
        res["grad.cell." + n] = g
    for n, g in zip(leaves, grads[len(named):]):
        res["grad." + n] = g
    return res


def cell_meta(c):
    m = common_meta("cell", c["name"])
    m.update({"mode": c["mode"], "input_size": str(c["I"]), "hidden_size": str(c["H"]),
              "batch": str(c["B"]), "bias": "true", "weight_init": "uniform(-0.5,0.5)",
              "reference": "float64"})
    return m


# ----------------------------------------------------------------------------- 3. heads

HEADS = dict(kind="heads", name="heads")


def heads_inputs(c):
    torch.manual_seed(seed_of(c["name"]))
    lin = nn.Linear(13, 6)
    emb = nn.Embedding(11, 4)
    t = {"linear.weight": lin.weight.detach().clone(), "linear.bias": lin.bias.detach().clone(),
         "linear_x": torch.randn(5, 13), "linear_dy": torch.randn(5, 6),
         "embed.weight": emb.weight.detach().clone(),
         "embed_ids": torch.randint(0, 11, (3, 5), dtype=torch.int64),  # 15 ids of 11: repeats
         "embed_dy": torch.randn(3, 5, 4),
         "ce_logits": torch.randn(7, 5) * 2.0}
    targets = torch.randint(1, 5, (7,), dtype=torch.int64)
    targets[2] = 0
    targets[5] = 0
    t["ce_targets"] = targets
    ids = t["embed_ids"].flatten().tolist()
    assert len(set(ids)) < len(ids)
    return t


def heads_input_names(c, t):
    return ["linear.weight", "linear.bias", "linear_x", "linear_dy", "embed.weight", "embed_ids",
            "embed_dy", "ce_logits", "ce_targets"]


def heads_expected(c, t, dtype=F64):
    res = {}
    w = t["linear.weight"].to(dtype).requires_grad_()
    bb = t["linear.bias"].to(dtype).requires_grad_()
    x = t["linear_x"].to(dtype).requires_grad_()
    y = F.linear(x, w, bb)
    gw, gb, gx = torch.autograd.grad((y * t["linear_dy"].to(dtype)).sum(), [w, bb, x])
    res.update({"linear_y": y.detach(), "grad.linear.weight": gw, "grad.linear.bias": gb,
                "grad.linear_x": gx})
    e = t["embed.weight"].to(dtype).requires_grad_()
    ey = F.embedding(t["embed_ids"], e)
    (ge,) = torch.autograd.grad((ey * t["embed_dy"].to(dtype)).sum(), [e])
    res["grad.embed.weight"] = ge
    for tag, red, ign in (("mean", "mean", 0), ("sum", "sum", 0), ("plain", "mean", -100)):
        lg = t["ce_logits"].to(dtype).requires_grad_()
        loss = F.cross_entropy(lg, t["ce_targets"], ignore_index=ign, reduction=red)
        (g,) = torch.autograd.grad(loss, [lg])
        res[f"ce_{tag}_loss"] = loss.detach().reshape(1)
        res[f"grad.ce_{tag}_logits"] = g
    return res


def heads_meta(c):
    m = common_meta("heads", c["name"])
    m.update({"linear": "in=13 out=6 bias=true batch=5", "embed": "num=11 dim=4 ids=(3,5)",
              "ce": "N=7 C=5; mean: ignore_index=0; sum: ignore_index=0; plain: ignore_index=-100",
              "reference": "float64"})
    return m


# ----------------------------------------------------------------------------- 4. optimisers

OPTIM = dict(kind="optim", name="optim")
STEPS = 3
OPTIMISERS = [  # name, class, hyper-parameters
    ("sgd", "SGD", dict(lr=0.1)),
    ("sgdm", "SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("sgdn", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True, dampening=0.0)),
    ("adam", "Adam", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)),
    ("adamwd", "Adam", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)),
    ("adamw", "AdamW", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)),
]


def optim_inputs(c):
    torch.manual_seed(seed_of(c["name"]))
    t = {"p1": torch.randn(6, 5), "p2": torch.randn(5)}
    for k in range(1, STEPS + 1):
        t[f"step{k}.g1"] = torch.randn(6, 5)
        t[f"step{k}.g2"] = torch.randn(5)
    return t


def optim_input_names(c, t):
    return ["p1", "p2"] + [f"step{k}.g{i}" for k in range(1, STEPS + 1) for i in (1, 2)]


def optim_expected(c, t, dtype=F32):
    res = {}
    for name, cls, hp in OPTIMISERS:
        p1 = t["p1"].to(dtype).clone().requires_grad_()
        p2 = t["p2"].to(dtype).clone().requires_grad_()
        opt = getattr(torch.optim, cls)([p1, p2], **hp)
        for k in range(1, STEPS + 1):
            p1.grad = t[f"step{k}.g1"].to(dtype).clone()
            p2.grad = t[f"step{k}.g2"].to(dtype).clone()
            opt.step()
            res[f"{name}.step{k}.p1"] = p1.detach().clone()
            res[f"{name}.step{k}.p2"] = p2.detach().clone()
    p1 = t["p1"].to(dtype).clone().requires_grad_()
    p2 = t["p2"].to(dtype).clone().requires_grad_()
    p1.grad = t["step1.g1"].to(dtype).clone()
    p2.grad = t["step1.g2"].to(dtype).clone()
    total = nn.utils.clip_grad_norm_([p1, p2], max_norm=1.0)
    assert float(total) > 1.0  # so that clipping actually scales
    res["clip.total_norm"] = total.detach().reshape(1).clone()
    res["clip.g1"] = p1.grad.clone()
    res["clip.g2"] = p2.grad.clone()
    return res


def optim_meta(c, f64_diff):
    m = common_meta("optim", c["name"])
    m.update({"steps": str(STEPS), "optimisers": ",".join(n for n, _, _ in OPTIMISERS),
              "clip.max_norm": "1.0", "clip.norm_type": "2.0", "reference": "float32",
              "float64_max_abs_diff": repr(f64_diff)})
    for name, cls, hp in OPTIMISERS:
        m[f"{name}.class"] = cls
        full = dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False) \
            if cls == "SGD" else dict(weight_decay=0.0 if cls == "Adam" else 0.01, amsgrad=False)
        full.update(hp)
        for k, v in full.items():
            if isinstance(v, tuple):
                v = ",".join(repr(float(x)) for x in v)
            elif isinstance(v, bool):
                v = b(v)
            else:
                v = repr(float(v))
            m[f"{name}.{k}"] = v
    return m


# ----------------------------------------------------------------------------- 5. loss curves

CURVE_STEPS = 50


class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(11, 8)
        self.rnn = nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.fc = nn.Linear(16, 11)

    def loss(self, t):
        tokens = t["tokens"]
        out, _ = self.rnn(self.embed(tokens[:, :-1]))
        logits = self.fc(out)
        return F.cross_entropy(logits.reshape(-1, 11), tokens[:, 1:].reshape(-1), ignore_index=0)


class Cls(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 10, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(20, 4)

    def loss(self, t, dtype):
        packed = pack_padded_sequence(t["x"].to(dtype), t["lengths"], batch_first=True,
                                      enforce_sorted=False)
        _, h_n = self.rnn(packed)
        logits = self.fc(torch.cat([h_n[0], h_n[1]], dim=1))
        return F.cross_entropy(logits, t["labels"])


CURVES = [dict(kind="curve", name="curve_lm", model=LM), dict(kind="curve", name="curve_cls", model=Cls)]


def curve_inputs(c):
    torch.manual_seed(seed_of(c["name"]))
    model = c["model"]()
    t = {n: v.detach().clone() for n, v in model.state_dict().items()}
    if c["name"] == "curve_lm":
        tokens = torch.randint(1, 11, (4, 10), dtype=torch.int64)
        for row, n in enumerate((10, 7, 9, 5)):  # trailing 0 padding
            tokens[row, n:] = 0
        t["tokens"] = tokens
    else:
        t["x"] = torch.randn(6, 8, 3)
        t["lengths"] = torch.tensor([8, 5, 3, 8, 2, 6], dtype=torch.int64)
        t["labels"] = torch.randint(0, 4, (6,), dtype=torch.int64)
    return t


def curve_input_names(c, t):
    extra = ("tokens",) if c["name"] == "curve_lm" else ("x", "lengths", "labels")
    return [n for n in t if not n.startswith("final.") and not n.startswith("grad.")
            and n not in ("losses", "grad_norms", "final_loss") and n not in extra] + list(extra)


def curve_expected(c, t, dtype=F32):
    model = c["model"]().to(dtype)
    names = [n for n in model.state_dict()]
    model.load_state_dict({n: t[n].to(dtype) for n in names}, strict=True)
    is_lm = c["name"] == "curve_lm"
    if is_lm:
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        compute = lambda: model.loss(t)  # noqa: E731
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        compute = lambda: model.loss(t, dtype)  # noqa: E731
    losses, norms, first_grads = [], [], {}
    for step in range(CURVE_STEPS):
        opt.zero_grad()
        loss = compute()
        losses.append(loss.detach().clone())
        loss.backward()
        if step == 0:
            first_grads = {"grad." + n: p.grad.detach().clone() for n, p in model.named_parameters()}
        if is_lm:
            norms.append(nn.utils.clip_grad_norm_(model.parameters(), 1.0).detach().clone())
        opt.step()
    with torch.no_grad():
        final_loss = compute().detach()
    res = {"losses": torch.stack(losses), "final_loss": final_loss.reshape(1)}
    if is_lm:
        res["grad_norms"] = torch.stack(norms)
    res.update(first_grads)
    res.update({"final." + n: v.detach().clone() for n, v in model.state_dict().items()})
    return res


def curve_meta(c, f64_loss_diff, f64_weight_diff):
    m = common_meta("curve", c["name"])
    if c["name"] == "curve_lm":
        m.update({"model": "embed=Embedding(11,8) rnn=LSTM(8,16,num_layers=2,batch_first=True) "
                           "fc=Linear(16,11)",
                  "inputs": "tokens[:, :-1]", "targets": "tokens[:, 1:]",
                  "loss": "cross_entropy(logits.reshape(-1,11), targets.reshape(-1), "
                          "ignore_index=0) mean",
                  "optimizer": "Adam", "lr": "0.01", "betas": "0.9,0.999", "eps": "1e-08",
                  "weight_decay": "0.0", "clip_grad_norm": "1.0"})
    else:
        m.update({"model": "rnn=GRU(3,10,bidirectional=True,batch_first=True) fc=Linear(20,4)",
                  "forward": "pack_padded_sequence(x, lengths, batch_first=True, "
                             "enforce_sorted=False); fc(cat(h_n[0], h_n[1], dim=1))",
                  "loss": "cross_entropy(logits, labels) mean",
                  "optimizer": "SGD", "lr": "0.1", "momentum": "0.9", "dampening": "0.0",
                  "weight_decay": "0.0", "nesterov": "false", "clip_grad_norm": "none"})
    m.update({"steps": str(CURVE_STEPS), "reference": "float32",
              "float64_losses_max_abs_diff": repr(f64_loss_diff),
              "float64_final_weights_max_abs_diff": repr(f64_weight_diff)})
    return m


# ----------------------------------------------------------------------------- driver

GENS = {
    "layer": dict(inputs=layer_inputs, input_names=layer_input_names, expected=layer_expected),
    "cell": dict(inputs=cell_inputs, input_names=cell_input_names, expected=cell_expected),
    "heads": dict(inputs=heads_inputs, input_names=heads_input_names, expected=heads_expected),
    "optim": dict(inputs=optim_inputs, input_names=optim_input_names, expected=optim_expected),
    "curve": dict(inputs=curve_inputs, input_names=curve_input_names, expected=curve_expected),
}


def max_abs_diff(a, b_):
    return max(float((a[k].double() - b_[k].double()).abs().max()) for k in a)


def generate(c):
    """Returns (file name, inputs, expected outputs, metadata, note for the log)."""
    gen = GENS[c["kind"]]
    inputs = gen["inputs"](c)
    if c["kind"] in ("layer", "cell", "heads"):
        ref = gen["expected"](c, inputs, F64)
        worst = check_f32(c["name"], ref, gen["expected"](c, inputs, F32))
        meta = {"layer": layer_meta, "cell": cell_meta, "heads": heads_meta}[c["kind"]](c)
        meta["float32_check_max_rel"] = f"{worst:.3g}"
        fname = ("layer_" if c["kind"] == "layer" else "") + c["name"] + ".safetensors"
        return fname, inputs, ref, meta, f"f32 vs f64 max rel {worst:.2g}"
    res = gen["expected"](c, inputs, F32)
    ref64 = gen["expected"](c, inputs, F64)
    if c["kind"] == "optim":
        d = max_abs_diff(res, ref64)
        assert d < 1e-5, f"optim: float32 vs float64 {d}"
        return "optim.safetensors", inputs, res, optim_meta(c, d), f"f64 max abs diff {d:.2g}"
    dl = float((res["losses"].double() - ref64["losses"]).abs().max())
    dw = max_abs_diff({k: v for k, v in res.items() if k.startswith("final.")},
                      {k: v for k, v in ref64.items() if k.startswith("final.")})
    assert dl < 1e-3, f"{c['name']}: float32 vs float64 losses differ by {dl}"
    losses = res["losses"]
    note = f"loss {float(losses[0]):.4f} -> {float(losses[-1]):.4f}; f64 diff loss {dl:.2g} w {dw:.2g}"
    return c["name"] + ".safetensors", inputs, res, curve_meta(c, dl, dw), note


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):  # drop stale files so index.txt and the folder agree
        if f.endswith(".safetensors"):
            os.remove(os.path.join(args.out, f))

    cases = layer_cases() + cell_cases() + [HEADS, OPTIM] + CURVES
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    files, total = [], 0
    for c in cases:
        fname, inputs, outputs, meta, note = generate(c)
        tensors = entries(inputs, outputs)
        path = os.path.join(args.out, fname)
        write_safetensors(path, tensors, meta)
        files.append((fname, c))
        size = os.path.getsize(path)
        total += size
        print(f"{fname:42} {size:8d} B  {note}")
    # Read every file back: bits, names, metadata; then recompute the expectations from the file.
    for fname, c in files:
        path = os.path.join(args.out, fname)
        _, inputs, outputs, meta, _ = generate(c)
        check_file(path, entries(inputs, outputs), meta)
        rerun_check(path, c, GENS[c["kind"]])
    with open(os.path.join(args.out, "index.txt"), "w") as f:
        f.write("".join(n + "\n" for n in sorted(n for n, _ in files)))
    print(f"\n{len(files)} files, {total} bytes, torch {torch.__version__}, written to {args.out}"
          " (all read back and recomputed)")
    if total > MAX_BYTES:
        sys.exit(f"fixtures exceed {MAX_BYTES} bytes")


if __name__ == "__main__":
    main()
