#!/usr/bin/python3
"""The character LM (models/charlm) as two ONNX graphs with explicit state, for ONNX Runtime's peer in the
HTTP load test (bench's OrtCharLm; `scripts/bench serve` runs this when the files are missing or stale).

The demo export of onnx/src/test/resources/onnx/demo/charlm has no state inputs: generating with it would
re-run the whole prefix for every token. This script builds the same PyTorch module (train_models.CharLM,
Embedding -> 2-layer LSTM -> Linear) from models/charlm/weights.safetensors and writes, into bench/models/charlm-ort/:

  prompt.onnx   tokens[B, T] int64 (<bos> + the prompt) -> logits[B, V] (the last step's), h_n[L, B, H], c_n[L, B, H],
                from a zero state; B and T dynamic
  step.onnx     token[B] int64, h0[L, B, H], c0[L, B, H] -> logits[B, V], h_n, c_n; B dynamic
  model.json    copied from models/charlm
  greedy.json   PyTorch's own greedy generations (train_models.lm_greedy: argmax, ties to the lowest id, until
                <eos> included or max_generate tokens) for a fixed list of prompts, the third opinion of the
                Java check (dev.panamarnn.bench.serve.OrtCharLmCheck)

opset 14, float32, modules in eval() mode; each graph is checked with onnx.checker, must hold the native LSTM
operator (no Loop or Scan), and is compared here with PyTorch by running the step graph's PyTorch twin.

    /usr/bin/python3 scripts/python/make_charlm_ort.py [--out DIR]
"""
import argparse
import json
import os
import shutil
import sys
import warnings

import onnx
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_models as tm  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "bench", "models", "charlm-ort")
OPSET = 14

# The prompts of the check: the load test's (scripts/lua/load.lua), the model's own test prompts
# (models/charlm/cases.json), the empty prompt and every single character; more are added by the Java check.
PROMPTS = ["the ", "a ", "my ", "this ", "her ", "one ", "our ", "that ", "the", "a b", "eve", "thi", "you", "a s",
           "", "every dog loves one green king ", "that red cat knows", "your dog knows this brown baker",
           "one queen helps that king behin", "the bird is loud", "a sailor sleeps behind the "]


class Prompt(nn.Module):
    """tokens (B, T) -> the last step's logits (B, V), h_n, c_n, from a zero state."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, tokens):
        logits, (h_n, c_n) = self.lm(tokens)
        return logits[:, -1, :], h_n, c_n


class Step(nn.Module):
    """token (B,), h0, c0 -> logits (B, V), h_n, c_n: one token of every sequence."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, token, h0, c0):
        logits, (h_n, c_n) = self.lm(token.unsqueeze(1), (h0, c0))
        return logits[:, 0, :], h_n, c_n


def export(m, args, in_names, out_names, dyn, path):
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(m, args, path + ".tmp", opset_version=OPSET, input_names=in_names, output_names=out_names,
                          dynamic_axes=dyn, do_constant_folding=True)
    model = onnx.load(path + ".tmp")
    onnx.checker.check_model(model, full_check=True)
    ops = sorted({n.op_type for n in model.graph.node})
    if "LSTM" not in ops or any(op in ("Loop", "Scan", "If") for op in ops):
        raise SystemExit(f"{path}: unexpected ONNX operators {ops}")
    os.replace(path + ".tmp", path)
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes; ops {' '.join(ops)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    a = ap.parse_args()
    src = os.path.join(ROOT, "models", "charlm")
    with open(os.path.join(src, "model.json")) as f:
        cfg = json.load(f)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    lm = tm.CharLM(len(cfg["vocab"]), cfg["rnn"]["input_size"], cfg["rnn"]["hidden_size"], cfg["rnn"]["num_layers"])
    tm.load_weights_into(lm, src)
    lm.eval()
    L, H = cfg["rnn"]["num_layers"], cfg["rnn"]["hidden_size"]
    os.makedirs(a.out, exist_ok=True)
    shutil.copy(os.path.join(src, "model.json"), os.path.join(a.out, "model.json"))

    tokens = torch.tensor([[cfg["bos"], 24, 12, 9, 3], [cfg["bos"], 5, 3, 6, 3]], dtype=torch.int64)
    export(Prompt(lm).eval(), (tokens,), ["tokens"], ["logits", "h_n", "c_n"],
           {"tokens": {0: "batch", 1: "seq_len"}, "logits": {0: "batch"}, "h_n": {1: "batch"}, "c_n": {1: "batch"}},
           os.path.join(a.out, "prompt.onnx"))
    g = torch.Generator().manual_seed(7)
    token = torch.tensor([5, 9, 3], dtype=torch.int64)
    h0, c0 = torch.randn(L, 3, H, generator=g), torch.randn(L, 3, H, generator=g)
    export(Step(lm).eval(), (token, h0, c0), ["token", "h0", "c0"], ["logits", "h_n", "c_n"],
           {"token": {0: "batch"}, "h0": {1: "batch"}, "c0": {1: "batch"}, "logits": {0: "batch"}, "h_n": {1: "batch"}, "c_n": {1: "batch"}},
           os.path.join(a.out, "step.onnx"))

    # The prompt and step twins agree with the whole-sequence module (what the graphs were traced from).
    with torch.no_grad():
        seq = torch.tensor([[cfg["bos"], 24, 12, 9, 3, 6]])
        full, _ = lm(seq)
        last, h, c = Prompt(lm)(seq[:, :-1])
        step, _, _ = Step(lm)(seq[:, -1], h, c)
        err = max(float((full[0, -2] - last[0]).abs().max()), float((full[0, -1] - step[0]).abs().max()))
        if err > 1e-5:
            raise SystemExit(f"prompt + step differ from the sequence call by {err}")

    vocab = cfg["vocab"]
    index = {ch: i for i, ch in enumerate(vocab)}
    cases = []
    for p in PROMPTS:
        ids = [cfg["bos"]] + [index[ch] for ch in p]
        out, margin = tm.lm_greedy(lm, ids, cfg["max_generate"])
        text = "".join(vocab[t] for t in out if len(vocab[t]) == 1)
        cases.append({"prompt": p, "text": text, "min_top2_margin": margin})
    with open(os.path.join(a.out, "greedy.json") + ".tmp", "w") as f:
        json.dump({"torch_version": torch.__version__, "max_new": cfg["max_generate"], "cases": cases}, f, indent=1)
        f.write("\n")
    os.replace(os.path.join(a.out, "greedy.json") + ".tmp", os.path.join(a.out, "greedy.json"))
    print(f"wrote {os.path.relpath(os.path.join(a.out, 'greedy.json'), ROOT)} ({len(cases)} PyTorch greedy generations)")


if __name__ == "__main__":
    main()
