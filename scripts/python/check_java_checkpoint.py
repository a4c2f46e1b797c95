#!/usr/bin/python3
"""Loads models trained by `panama-rnn train` into PyTorch and scores them on the demo's test sets.

    /usr/bin/python3 -P scripts/python/check_java_checkpoint.py DIR [DIR...]

Each DIR is a model directory written by `panama-rnn train` (model.json with a "training" record,
weights.safetensors under PyTorch's state_dict names, the demo's cases.safetensors). The weights are loaded
with load_state_dict(strict=True) into scripts/python/train_models.py's modules (Classifier, CharLM,
Seq2Seq); the held-out metric PyTorch computes is printed beside the one Java recorded, and the script exits 1
if they differ by more than one test item (float32 sums in another order may flip a near-tie).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import read_safetensors  # noqa: E402
from train_models import (CharLM, Classifier, Seq2Seq, argmax_first, load_weights_into,  # noqa: E402
                          s2s_greedy, PAD)


def score(d):
    with open(os.path.join(d, "model.json")) as f:
        cfg = json.load(f)
    _, c = read_safetensors(os.path.join(d, "cases.safetensors"))
    torch.set_num_threads(1)
    with torch.no_grad():
        if cfg["structure"] == "n_vs_1":
            m = load_weights_into(Classifier(cfg["rnn"]["hidden_size"], len(cfg["labels"])), d)
            logits = m(c["inputs"], c["lengths"])
            return (argmax_first(logits) == c["labels"]).double().mean().item(), len(c["labels"])
        if cfg["structure"] == "lm":
            m = load_weights_into(CharLM(len(cfg["vocab"]), cfg["rnn"]["input_size"], cfg["rnn"]["hidden_size"], cfg["rnn"]["num_layers"]), d)
            t = c["test_tokens"].clone()
            t[t < 0] = PAD
            logits, _ = m(t[:, :-1])
            tgt = t[:, 1:]
            mask = tgt != PAD
            n = mask.sum().item()
            return ((argmax_first(logits) == tgt) & mask).sum().item() / n, n
        m = load_weights_into(Seq2Seq(len(cfg["input_vocab"]), len(cfg["output_vocab"]), cfg["encoder"]["rnn"]["input_size"],
                                      cfg["encoder"]["rnn"]["hidden_size"]), d)
        g, _, _ = s2s_greedy(m, c["src_tokens"], c["src_lengths"], cfg["max_output_length"])
        return (g == c["target_tokens"]).all(dim=1).double().mean().item(), len(g)


def main():
    bad = 0
    for d in sys.argv[1:]:
        with open(os.path.join(d, "model.json")) as f:
            rec = json.load(f)["training"]["test_accuracy"]
        got, n = score(d)
        ok = abs(got - rec) <= 1.0 / n + 1e-12
        bad += not ok
        print(f"{d}: PyTorch {torch.__version__} on the Java-trained weights: {got:.4f} on {n}; panama-rnn recorded {rec:.4f} "
              f"{'(same)' if got == rec else '(within one item)' if ok else '(DIFFERENT)'}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
