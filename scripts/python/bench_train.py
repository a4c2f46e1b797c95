#!/usr/bin/python3
"""PyTorch's training step, the peer of bench/…/TrainStepBenchmark (run by `scripts/bench train`).

    /usr/bin/python3 scripts/python/bench_train.py [--threads 1,2] [--min-time 2] [--out FILE]

Same models, shapes, inputs (by the same formulas), loss, clipping and optimiser (Adam, lr 1e-3) as the Java
benchmark: G1 and L2 as layers alone (loss = sum(output * R)), and the demo models (scripts/python/train_models.py's
Classifier, CharLM, Seq2Seq) at their training batch with cross-entropy and clip_grad_norm_(1.0). Phases:
`step` (zero_grad, forward, backward, [clip,] Adam step), `forward` (layers only; autograd recording on),
`forward+backward`. For each thread count n the script re-runs itself in a child with OMP_NUM_THREADS=n
OPENBLAS_NUM_THREADS=n MKL_NUM_THREADS=n and torch.set_num_threads(n); above one thread with OMP_WAIT_POLICY
unset and =PASSIVE, keeping the faster (as bench_models.py). Like JMH's AverageTime: warm-up, then 10
iterations of >= min-time/10 s each; the figure is the median of the iteration means, in ms.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_models import Classifier, CharLM, Seq2Seq  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LAYERS = {  # name: (module, I, H, T, B, layers, bidirectional)
    "G1": (nn.GRU, 128, 256, 128, 32, 2, True),
    "L2": (nn.LSTM, 512, 512, 100, 64, 1, False),
}
MODELS = ["G1", "L2", "classifier", "charlm", "seq2seq"]


def tokens(n, length, vocab):
    seqs = [[3 + (13 * i + 7 * t) % (vocab - 3) for t in range(length(i))] for i in range(n)]
    T = max(len(s) for s in seqs)
    out = torch.zeros(n, T, dtype=torch.int64)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s)
    return out, torch.tensor([len(s) for s in seqs], dtype=torch.int64)


def make(model):
    """(parameters, step function(phase)) for one model."""
    torch.manual_seed(1)
    if model in LAYERS:
        cls, I, H, T, B, L, bi = LAYERS[model]
        m = cls(I, H, num_layers=L, bidirectional=bi)
        x = torch.rand(T, B, I) * 2 - 1
        r = (torch.rand(T, B, (2 if bi else 1) * H) * 2 - 1) * 1e-3
        loss_fn = lambda: (m(x)[0] * r).sum()
        clip = False
    elif model == "classifier":
        m = Classifier()
        b, t = 128, 60
        lengths = torch.tensor([20 + (37 * i) % 41 for i in range(b)], dtype=torch.int64)
        x = torch.rand(b, t, 1) * 2 - 1
        y = torch.tensor([i % 4 for i in range(b)], dtype=torch.int64)
        loss_fn = lambda: F.cross_entropy(m(x, lengths), y)
        clip = True
    elif model == "charlm":
        V = 31
        m = CharLM(V)
        t, _ = tokens(64, lambda i: 20 + (29 * i) % 38, V)
        loss_fn = lambda: F.cross_entropy(m(t[:, :-1])[0].reshape(-1, V), t[:, 1:].reshape(-1), ignore_index=0)
        clip = True
    elif model == "seq2seq":
        m = Seq2Seq(43, 14)
        src, lengths = tokens(128, lambda i: 8 + (7 * i) % 11, 43)
        tgt, _ = tokens(128, lambda i: 11, 14)
        dec_in = torch.cat([torch.full((128, 1), 1, dtype=torch.int64), tgt[:, :-1]], dim=1)
        loss_fn = lambda: F.cross_entropy(m(src, lengths, dec_in).reshape(-1, 14), tgt.reshape(-1), ignore_index=0)
        clip = True
    else:
        raise SystemExit(f"unknown model {model}")
    m.train()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)

    def run(phase):
        if phase == "step":
            opt.zero_grad()
        loss = loss_fn()
        if phase != "forward":
            loss.backward()
        if phase == "step":
            if clip:
                nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
        return loss
    return run


def measure(run, phase, min_time):
    for _ in range(3):
        run(phase)
    means = []
    per_iter = max(min_time / 10, 1e-3)
    for _ in range(10):
        n, t0 = 0, time.perf_counter()
        while True:
            run(phase)
            n += 1
            el = time.perf_counter() - t0
            if el >= per_iter:
                break
        means.append(el / n * 1e3)
    return statistics.median(means)


def child(threads, min_time, models):
    torch.set_num_threads(threads)
    out = {}
    for model in models:
        run = make(model)
        phases = ["step", "forward", "forward+backward"] if model in LAYERS else ["step", "forward+backward"]
        out[model] = {p: measure(run, p, min_time) for p in phases}
        print(f"bench_train: {model} {threads} thread(s): " + ", ".join(f"{p} {v:.2f} ms" for p, v in out[model].items()), file=sys.stderr)
    return out


def report(jmh_files, torch_file, log_file, command):
    """Markdown: ours (JMH median of iteration scores... JMH's score, ms) beside PyTorch's, ratios from this run."""
    ours = {}
    for f in jmh_files:
        with open(f) as fh:
            for r in json.load(fh):
                p = r["params"]
                raw = [x for fork in r["primaryMetric"]["rawData"] for x in fork]
                ours[(p["model"], p["threads"], p["phase"])] = (statistics.median(raw), r["primaryMetric"]["scoreError"])
    with open(torch_file) as fh:
        torch_t = json.load(fh)
    lines = []
    if log_file and os.path.exists(log_file):
        with open(log_file) as fh:
            seen = set()
            for line in fh:
                if line.startswith("# platform:") or line.startswith("# openblas:"):
                    if line not in seen:
                        seen.add(line)
                        lines.append("- " + line[2:].strip())
    out = ["# Training step: panama-rnn against PyTorch " + torch_t["torch_version"], "",
           f"Command: `{command}`. One training step (zero_grad, forward, backward, clip where the demo trains with it, "
           "Adam); `forward` keeps what backward needs; ms per step, ours = median of JMH's iterations, PyTorch = median "
           "of 10 iteration means (scripts/python/bench_train.py); same shapes, inputs by the same formulas, same threads "
           "(ours: OpenBLAS's threads; PyTorch: torch.set_num_threads, OMP_WAIT_POLICY " +
           ", ".join(f"{k} thread(s) {v}" for k, v in torch_t["omp_wait_policy"].items()) + ").", ""] + lines + [""]
    out += ["| model | threads | phase | ours (ms) | PyTorch (ms) | PyTorch ÷ ours |", "|---|---|---|---|---|---|"]
    for model in MODELS:
        for n in sorted(torch_t["timings"]):
            for phase in ["step", "forward", "forward+backward"]:
                o = ours.get((model, n, phase))
                t = torch_t["timings"].get(n, {}).get(model, {}).get(phase)
                if o is None or t is None:
                    continue
                out.append(f"| {model} | {n} | {phase} | {o[0]:.2f} | {t:.2f} | {t / o[0]:.2f} |")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "report":
        rp = argparse.ArgumentParser()
        rp.add_argument("report")
        rp.add_argument("--torch", required=True)
        rp.add_argument("--log")
        rp.add_argument("--command", default="scripts/bench train")
        rp.add_argument("jmh", nargs="+")
        r = rp.parse_args()
        sys.stdout.write(report(r.jmh, r.torch, r.log, r.command))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "models", "torch-train-timings.json"))
    ap.add_argument("--child", type=int)
    a = ap.parse_args()
    models = a.models.split(",")
    if a.child:
        json.dump(child(a.child, a.min_time, models), sys.stdout)
        return
    result = {"torch_version": torch.__version__, "timings": {}, "omp_wait_policy": {}}
    for n in [int(x) for x in a.threads.split(",")]:
        best = None
        for policy in ([None] if n == 1 else [None, "PASSIVE"]):
            env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n))
            env.pop("OMP_WAIT_POLICY", None)
            if policy:
                env["OMP_WAIT_POLICY"] = policy
            cmd = [sys.executable, "-P", os.path.abspath(__file__), "--child", str(n), "--min-time", str(a.min_time), "--models", a.models]
            r = json.loads(subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True).stdout)
            if best is None or sum(v["step"] for v in r.values()) < sum(v["step"] for v in best.values()):
                best, chosen = r, policy or "(default)"
        result["timings"][str(n)] = best
        result["omp_wait_policy"][str(n)] = chosen
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"bench_train: wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
