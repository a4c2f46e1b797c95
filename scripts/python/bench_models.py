#!/usr/bin/python3
"""Models, inputs, expected outputs and PyTorch timings for the standard benchmark study.

Run by `scripts/bench layers` (which makes sure PyTorch is installed); by hand:

    /usr/bin/python3 scripts/python/bench_models.py generate [--configs L1,G1] [--out DIR] [--force]
    /usr/bin/python3 scripts/python/bench_models.py time [--configs L1] [--threads 1,2] [--min-time 2]

`generate` writes, per configuration C of docs/performance.md (L1, L2, L3, G1, R1, and the
S1 model), into bench/models/:
    C.safetensors     the module's state_dict under PyTorch's names (weight_ih_l0, ..., _reverse),
                      with the configuration in __metadata__
    C-io.safetensors  `input` (T, B, I) and the module's `output`, `h_n` (and `c_n`) for it
    C.onnx            torch.onnx.export, opset 14, inputs "input", outputs "output", "h_n" (, "c_n");
                      checked to hold the native LSTM / GRU / RNN operator
A configuration whose three files are newer than this script is skipped unless --force.

`time` measures PyTorch itself on those files: for each thread count n it re-runs this script in a
child process with OMP_NUM_THREADS=n OPENBLAS_NUM_THREADS=n MKL_NUM_THREADS=n, which calls
torch.set_num_threads(n) and times forward() under torch.inference_mode(); above one thread it does
so with OMP_WAIT_POLICY unset and =PASSIVE and keeps the faster (recorded as omp_wait_policy). Like JMH's AverageTime
mode: warm-up, then 10 iterations of >= min-time/10 seconds each; the figure is the median of the
iteration means (the per-call median is recorded too). Results: bench/models/torch-timings.json.

Everything is seeded (torch.manual_seed per configuration), float32, modules in eval() mode. The
safetensors writer and reader and the ONNX operator check are written here by hand: no package
beyond python3-torch (Debian) is needed.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import read_safetensors, write_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "bench", "models")

# name: (mode, input, hidden, steps T, batch B, layers, bidirectional, seed). docs/performance.md's table.
# S1 is the server scenario's model; its input here (T=100, B=1) only serves the correctness check.
CONFIGS = {
    "L1": ("LSTM", 256, 256, 64, 1, 1, False, 101),
    "L2": ("LSTM", 512, 512, 100, 64, 1, False, 102),
    "L3": ("LSTM", 1024, 1024, 32, 256, 1, False, 103),
    "G1": ("GRU", 128, 256, 128, 32, 2, True, 104),
    "R1": ("RNN_TANH", 256, 512, 128, 32, 1, False, 105),
    "S1": ("LSTM", 512, 512, 100, 1, 1, False, 106),
}
DYNAMIC = {"S1"}  # exported with dynamic seq_len and batch (requests of varying length)
NATIVE_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN"}
GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1}


def build(name):
    mode, i, h, t, b, layers, bidir, seed = CONFIGS[name]
    torch.manual_seed(seed)
    if mode == "LSTM":
        m = nn.LSTM(i, h, num_layers=layers, bidirectional=bidir)
    elif mode == "GRU":
        m = nn.GRU(i, h, num_layers=layers, bidirectional=bidir)
    else:
        m = nn.RNN(i, h, num_layers=layers, bidirectional=bidir, nonlinearity="tanh")
    m.eval()
    x = torch.randn(t, b, i, dtype=torch.float32)
    return m, x


def flops(name):
    mode, i, h, t, b, layers, bidir, _ = CONFIGS[name]
    d = 2 if bidir else 1
    return sum(2.0 * t * b * ((i if l == 0 else d * h) + h) * GATES[mode] * h * d for l in range(layers))


# ----------------------------------------------------------------------------- ONNX check

def _fields(buf):
    """Yields (field number, wire type, value) of one protobuf message; value is bytes for wire type 2."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 2:
            ln, i = _varint(buf, i)
            v, i = buf[i:i + ln], i + ln
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, v


def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def onnx_op_types(path):
    """The op_type of every node of the model's main graph (ModelProto.graph = 7, GraphProto.node = 1,
    NodeProto.op_type = 4)."""
    with open(path, "rb") as f:
        model = f.read()
    ops = []
    for field, wire, graph in _fields(model):
        if field == 7 and wire == 2:
            for gf, gw, node in _fields(graph):
                if gf == 1 and gw == 2:
                    ops += [v.decode() for nf, nw, v in _fields(node) if nf == 4 and nw == 2]
    return ops


# ----------------------------------------------------------------------------- generate

def outputs_of(result):
    out, state = result
    return (out,) + (tuple(state) if isinstance(state, tuple) else (state,))


def up_to_date(out_dir, name):
    script = os.path.getmtime(os.path.abspath(__file__))
    files = [os.path.join(out_dir, name + s) for s in (".safetensors", "-io.safetensors", ".onnx")]
    return all(os.path.exists(f) and os.path.getmtime(f) > script for f in files)


def generate(name, out_dir):
    mode, i, h, t, b, layers, bidir, seed = CONFIGS[name]
    m, x = build(name)
    torch.set_num_threads(1)
    with torch.inference_mode():
        outs = outputs_of(m(x))
    names = ["output", "h_n"] + (["c_n"] if mode == "LSTM" else [])
    meta = {"config": name, "mode": mode, "input_size": i, "hidden_size": h, "seq_len": t, "batch": b,
            "num_layers": layers, "bidirectional": str(bidir).lower(), "seed": seed, "torch": torch.__version__}
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), list(m.state_dict().items()), meta)
    write_safetensors(os.path.join(out_dir, name + "-io.safetensors"), [("input", x)] + list(zip(names, outs)), meta)

    onnx_path = os.path.join(out_dir, name + ".onnx")
    dynamic = None
    if name in DYNAMIC:
        dynamic = {"input": {0: "seq_len", 1: "batch"}, "output": {0: "seq_len", 1: "batch"}}
        dynamic.update({n: {1: "batch"} for n in names[1:]})
    with torch.no_grad(), warnings.catch_warnings():
        # The exporter warns about batch sizes other than 1 without h0 inputs (we export fixed shapes, or
        # dynamic ones for S1, whose zero initial state is built from the input's shape) and about
        # prim::Constant shape inference; the operator check below is what matters.
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(m, (x,), onnx_path + ".tmp", opset_version=14, input_names=["input"], output_names=names,
                          dynamic_axes=dynamic, do_constant_folding=True)
    os.replace(onnx_path + ".tmp", onnx_path)
    ops = onnx_op_types(onnx_path)
    want = NATIVE_OP[mode]
    if ops.count(want) != layers or any(op in ("Loop", "Scan", "If") for op in ops):
        raise SystemExit(f"{name}: the ONNX export has ops {ops}; expected {layers} native {want} op(s) and no loops")
    print(f"bench_models: {name} {mode} I={i} H={h} T={t} B={b} layers={layers} bidir={bidir} seed={seed} "
          f"-> {out_dir}/{name}.{{safetensors,onnx}} (ONNX ops: {' '.join(sorted(set(ops)))})", file=sys.stderr)


# ----------------------------------------------------------------------------- time

def time_worker(configs, threads, min_time, models):
    """Runs in a child whose OMP/OpenBLAS thread variables are already set; prints JSON."""
    torch.set_num_threads(threads)
    results = {}
    for name in configs:
        mode = CONFIGS[name][0]
        m, _ = build(name)
        _, weights = read_safetensors(os.path.join(models, name + ".safetensors"))
        m.load_state_dict(weights)
        _, io = read_safetensors(os.path.join(models, name + "-io.safetensors"))
        x = io["input"]
        with torch.inference_mode():
            diff = (m(x)[0] - io["output"]).abs().max().item()
            per_iter = min_time / 10
            t_end = time.perf_counter() + max(0.5, per_iter * 2)  # warm-up
            while time.perf_counter() < t_end:
                m(x)
            iters, calls = [], []
            for _ in range(10):
                n, start = 0, time.perf_counter()
                while True:
                    c0 = time.perf_counter()
                    m(x)
                    c1 = time.perf_counter()
                    calls.append(c1 - c0)
                    n += 1
                    if c1 - start >= per_iter:
                        break
                iters.append((c1 - start) / n)
        results[name] = {"median_ms": statistics.median(iters) * 1e3, "call_median_ms": statistics.median(calls) * 1e3,
                         "min_ms": min(calls) * 1e3, "calls": len(calls), "max_abs_diff": diff,
                         "gflops": flops(name) / statistics.median(iters) / 1e9, "mode": mode}
        print(f"bench_models: torch {name} threads={threads}: {results[name]['median_ms']:.4g} ms "
              f"(per-call median {results[name]['call_median_ms']:.4g} ms, {len(calls)} calls, max|diff| {diff:.2g})",
              file=sys.stderr)
    print(json.dumps(results))


def time_all(configs, thread_counts, min_time, models):
    out = {"torch": torch.__version__, "python": platform.python_version(),
           "settings": "torch.set_num_threads(n), OMP_NUM_THREADS=n OPENBLAS_NUM_THREADS=n MKL_NUM_THREADS=n, "
                       "torch.inference_mode(), eval(); above 1 thread the faster of OMP_WAIT_POLICY default/PASSIVE",
           "method": f"warm-up, then 10 iterations of >= {min_time / 10:g} s; median of iteration means",
           "parallel_info": torch.__config__.parallel_info().strip().splitlines(), "results": []}
    for n in thread_counts:
        best = {}
        # Above one thread, ATen's OpenMP workers spin between parallel regions while OpenBLAS's own
        # threads want the same cores; on 2 cores OMP_WAIT_POLICY=PASSIVE was up to 3x faster (R1).
        # Both are measured and the faster kept, so the peer is not handicapped by its defaults.
        for policy in ([None] if n == 1 else [None, "PASSIVE"]):
            env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n))
            env.pop("OMP_WAIT_POLICY", None)
            if policy:
                env["OMP_WAIT_POLICY"] = policy
            cmd = [sys.executable, os.path.abspath(__file__), "_worker", "--configs", ",".join(configs),
                   "--threads", str(n), "--min-time", str(min_time), "--out", models]
            print(f"bench_models: timing PyTorch, {n} thread(s), OMP_WAIT_POLICY={policy or '(default)'}", file=sys.stderr)
            proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True)
            for name, r in json.loads(proc.stdout).items():
                r["omp_wait_policy"] = policy or "default"
                if name not in best or r["median_ms"] < best[name]["median_ms"]:
                    best[name] = r
        for name in configs:
            out["results"].append(dict(config=name, threads=n, **best[name]))
    path = os.path.join(models, "torch-timings.json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
    os.replace(path + ".tmp", path)
    print(f"bench_models: wrote {path}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["generate", "time", "_worker"])
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--out", default=DEFAULT_OUT, help="models folder (default bench/models)")
    ap.add_argument("--force", action="store_true", help="generate even when up to date")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds measured per config and thread count")
    a = ap.parse_args()
    configs = [c.strip().upper() for c in a.configs.split(",") if c.strip()]
    for c in configs:
        if c not in CONFIGS:
            ap.error(f"unknown config {c}; known: {', '.join(CONFIGS)}")
    os.makedirs(a.out, exist_ok=True)
    if a.command == "generate":
        for c in configs:
            if a.force or not up_to_date(a.out, c):
                generate(c, a.out)
    elif a.command == "time":
        time_all([c for c in configs if c != "S1"], [int(n) for n in a.threads.split(",")], a.min_time, a.out)
    else:
        time_worker(configs, int(a.threads), a.min_time, a.out)


if __name__ == "__main__":
    main()
