#!/usr/bin/env python3
"""Markdown report of `scripts/bench serve`: one row per (model, connections), each system's throughput and
latency percentiles from the same run, and the ratios against ONNX Runtime and against batching off."""
import argparse
import json


def consistency(x, connections):
    """mean latency × requests ÷ (connections × duration): about 1 in a closed loop."""
    return x["mean_us"] * x["requests"] / (connections * x["duration_us"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--command", default="scripts/bench serve")
    ap.add_argument("--seconds", default="20")
    a = ap.parse_args()
    rows, machine = [], ""
    for line in open(a.jsonl):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if "machine" in r:
            machine = r["machine"]
        else:
            rows.append(r)
    res = {(r["system"], r["model"], r["connections"]): r for r in rows}
    print("# HTTP load test: the inference server on loopback\n")
    print(f"Command: `{a.command}`. wrk (2 threads; 1 at 1 connection) for {a.seconds} s per cell after a 3 s warm-up at the cell's concurrency (the server also warms each of its own models for 2 s at start, as `serve` does), "
          "closed loop: each connection sends its next request when the last answer arrives. All systems behind the same "
          "server (Helidon SE 4.5, JSON). `ours`: continuous batching (requests share each time step, up to "
          + str(next((r["max_batch"] for r in rows if r["system"] == "ours"), "?")) + " computing); `alone`: the same models, each request alone on one of "
          + str(next((r["max_batch"] for r in rows if r["system"] == "alone"), "?")) + " threads; `ort`: the same models' ONNX graphs on ONNX Runtime "
          "(one intra-op thread per run; seq2seq: its encoder and decoder graphs; charlm: prompt and step graphs carrying the "
          "LSTM state, checked to generate the same text as ours before the run), greedy decoding in Java, on as many threads. "
          "The load generator shares the machine's cores.\n")
    if machine:
        print(f"Machine: {machine}\n")
    print("| model | conns | system | req/s | p50 ms | p99 ms | p99.9 ms | non-2xx | socket errors | latency check |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    suspect = []
    for (system, model, c), r in sorted(res.items(), key=lambda k: (k[0][1], k[0][2], k[0][0])):
        x = r["result"]
        rps = x["requests"] / (x["duration_us"] / 1e6)
        errs = x["connect_errors"] + x["read_errors"] + x["write_errors"] + x["timeouts"]
        check = consistency(x, c)
        if check > 1.5:
            suspect.append(f"{system} {model} at {c}")
        print(f"| {model} | {c} | {system} | {rps:.0f} | {x['p50_us'] / 1000:.2f} | {x['p99_us'] / 1000:.2f} | {x['p999_us'] / 1000:.2f} | {x['non2xx']} | {errs} | {check:.2f}{' ✗' if check > 1.5 else ''} |")
    print("\nLatency check: the latencies wrk reports (mean × requests) over the connection time it had (connections × "
          "duration). In a closed loop the measured latencies add up to at most that, a little over 1 at most. wrk corrects its "
          "histogram for coordinated omission before reporting (for each request slower than a connection's mean interval it "
          "adds the samples a steady client would have seen), so a check well above 1 (✗, over 1.5) means the cell had stalls "
          "of many intervals, and its percentiles are dominated by those added samples"
          + (": " + ", ".join(suspect) + "." if suspect else " (no such cell here)."))
    print("\nRatios (same run): throughput and p99 of `ours` against the others.\n")
    print("| model | conns | ours ÷ alone (req/s) | ours ÷ ort (req/s) | p99 ours ÷ alone | p99 ours ÷ ort |")
    print("|---|---|---|---|---|---|")
    for (system, model, c), r in sorted(res.items(), key=lambda k: (k[0][1], k[0][2])):
        if system != "ours":
            continue

        def rps(s):
            o = res.get((s, model, c))
            return None if o is None else o["result"]["requests"] / (o["result"]["duration_us"] / 1e6)

        def p99(s):
            o = res.get((s, model, c))
            return None if o is None else o["result"]["p99_us"]

        def ratio(x, y):
            return "—" if x is None or y is None or y == 0 else f"{x / y:.2f}"

        print(f"| {model} | {c} | {ratio(rps('ours'), rps('alone'))} | {ratio(rps('ours'), rps('ort'))} | "
              f"{ratio(p99('ours'), p99('alone'))} | {ratio(p99('ours'), p99('ort'))} |")


if __name__ == "__main__":
    main()
