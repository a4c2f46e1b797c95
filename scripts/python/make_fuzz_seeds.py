#!/usr/bin/python3
"""Writes the seed corpora of the Jazzer fuzz tests (hostile model files).

    python3 scripts/python/make_fuzz_seeds.py

Three directories under core/src/test/resources/, where Jazzer's JUnit integration looks for inputs
(<package>/<TestClass>Inputs/<method>/); every file there runs as a regression input in `mvn test`:

    dev/panamarnn/io/SafeTensorsFuzzTestInputs/parse/   whole safetensors files: valid ones of every
        dtype and layout, then the hostile cases: truncated files, absurd header lengths, malformed
        JSON, offsets past the end or overlapping, wrong dtypes, shapes that disagree with offsets or
        with each other, enormous declared shapes, negative dimensions, leftover bytes
    dev/panamarnn/app/ModelConfigFuzzTestInputs/parse/  model.json files: the three real ones under
        models/ and variants with missing keys, wrong types, bad numbers and broken JSON
    dev/panamarnn/app/WeightsFuzzTestInputs/load/       recipes of state dicts (see WeightsRecipe.java):
        valid layers of every kind, the three application layouts, and wrong shapes, missing and stray
        tensors, odd layer numbers, non-float dtypes

This script owns the files named seed-*; it rewrites them and deletes stale ones. Files named crash-*
are findings that Jazzer wrote there (kept as regression inputs once fixed); it leaves them alone.
Standard library only; deterministic output.
"""
import json
import os
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RES = ROOT / "core" / "src" / "test" / "resources" / "dev" / "panamarnn"


def u64(n):
    return struct.pack("<Q", n & 0xFFFFFFFFFFFFFFFF)


def st_file(header, data=b"", pad_to=None):
    """Length prefix + header (a dict, or raw str/bytes used as is) + data."""
    if isinstance(header, dict):
        h = json.dumps(header, separators=(",", ":")).encode()
    elif isinstance(header, str):
        h = header.encode()
    else:
        h = header
    if pad_to:
        h += b" " * (-len(h) % pad_to)
    return u64(len(h)) + h + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def pattern(n, salt=0):
    return bytes((i * 37 + 11 + salt) & 0xFF for i in range(n))


def safetensors_seeds():
    s = {}
    # --- valid files
    all_dtypes = {
        "__metadata__": {"format": "pt", "k": "\u00e9"},
        "f32": entry("F32", [2, 2], 0, 16), "f16": entry("F16", [3], 16, 22), "bf16": entry("BF16", [1, 2], 22, 26),
        "f64": entry("F64", [1], 26, 34), "i64": entry("I64", [1], 34, 42), "i32": entry("I32", [2], 42, 50),
        "i16": entry("I16", [1], 50, 52), "i8": entry("I8", [2], 52, 54), "u8": entry("U8", [1], 54, 55),
        "b": entry("BOOL", [1], 55, 56), "z": entry("F32", [0, 3], 56, 56),
    }
    s["valid-all-dtypes"] = st_file(all_dtypes, pattern(56))
    s["valid-all-dtypes-padded8"] = st_file(all_dtypes, pattern(56), pad_to=8)
    s["valid-empty"] = st_file("{}")
    s["valid-metadata-only"] = st_file({"__metadata__": {"format": "pt", "": ""}})
    s["valid-scalar"] = st_file({"s": entry("F32", [], 0, 4)}, struct.pack("<f", 1.5))
    s["valid-rank8"] = st_file({"r": entry("F16", [1, 2, 1, 1, 1, 1, 1, 2], 0, 8)}, pattern(8))
    s["valid-zero-size-only"] = st_file({"a": entry("F32", [0], 0, 0), "b": entry("I8", [3, 0], 0, 0),
                                        "c": entry("BF16", [0, 2147483647], 0, 0)})
    s["valid-unordered-header"] = st_file({"second": entry("F32", [1], 4, 8), "first": entry("F32", [1], 0, 4)}, pattern(8))
    s["valid-escaped-names"] = st_file({"a\"b\\c\u0000\u2028": entry("U8", [2], 0, 2), "\U0001F600": entry("I8", [1], 2, 3)}, pattern(3))
    for name in ["cell_gru_i1h1b1", "cell_lstm_i1h1b1", "cell_rnn_tanh_i1h1b1"]:
        s["valid-fixture-" + name] = (ROOT / "core/src/test/resources/fixtures/layers" / (name + ".safetensors")).read_bytes()
    base = all_dtypes_bytes = s["valid-all-dtypes"]

    # --- truncated files
    s["trunc-empty"] = b""
    s["trunc-5-bytes"] = b"\x08\x00\x00\x00\x00"
    s["trunc-length-only"] = u64(2)
    s["trunc-inside-header"] = base[:40]
    s["trunc-inside-data"] = base[:-3]
    s["trunc-last-byte"] = base[:-1]

    # --- header lengths
    h2 = b"{}"
    s["hlen-u64-max"] = u64(0xFFFFFFFFFFFFFFFF) + h2
    s["hlen-i64-max"] = u64(0x7FFFFFFFFFFFFFFF) + h2
    s["hlen-i64-min"] = u64(0x8000000000000000) + h2
    s["hlen-zero"] = u64(0) + h2
    s["hlen-one"] = u64(1) + h2
    s["hlen-past-file"] = u64(3) + h2
    s["hlen-100mib-plus-1"] = u64((100 << 20) + 1) + h2
    s["hlen-4gib"] = u64(1 << 32) + h2
    hdr_len = struct.unpack("<Q", base[:8])[0]
    s["hlen-covers-data"] = u64(hdr_len + 56) + base[8:]
    s["hlen-short-by-one"] = u64(hdr_len - 1) + base[8:]

    # --- malformed JSON
    bad_json = {
        "json-not-object": "hello",
        "json-array-top": "[{}]",
        "json-unterminated": "{\"a\":{\"dtype\":\"F32\"",
        "json-trailing-comma": "{\"__metadata__\":{\"a\":\"b\",},}",
        "json-missing-value": "{\"a\": }",
        "json-two-objects": "{}{}",
        "json-garbage-after": "{} x",
        "json-newline-pad": "{}\n",
        "json-tab-pad": "{}\t",
        "json-nul-pad": "{}\u0000",
        "json-comment": "{/* c */}",
        "json-single-quotes": "{'a':1}",
        "json-nan": "{\"a\":{\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,0]}}",
        "json-deep-nesting": "{\"__metadata__\":" + "[" * 200 + "]" * 200 + "}",
        "json-deep-objects": "{\"a\":" + "{\"b\":" * 40 + "1" + "}" * 40 + "}",
        "json-duplicate-tensor": "{\"a\":" + json.dumps(entry("U8", [1], 0, 1)) + ",\"a\":" + json.dumps(entry("U8", [1], 1, 2)) + "}",
        "json-duplicate-field": "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
        "json-duplicate-metadata": "{\"__metadata__\":{},\"__metadata__\":{}}",
        "json-long-number": "{\"a\":{\"dtype\":\"U8\",\"shape\":[" + "9" * 40 + "],\"data_offsets\":[0,1]}}",
        "json-float-shape": "{\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}",
        "json-exp-shape": "{\"a\":{\"dtype\":\"U8\",\"shape\":[1e2],\"data_offsets\":[0,100]}}",
        "json-negzero-shape": "{\"a\":{\"dtype\":\"U8\",\"shape\":[-0],\"data_offsets\":[0,0]}}",
        "json-string-shape": "{\"a\":{\"dtype\":\"U8\",\"shape\":\"[1]\",\"data_offsets\":[0,1]}}",
        "json-null-entry": "{\"a\":null}",
        "json-metadata-number": "{\"__metadata__\":{\"k\":1}}",
        "json-metadata-array": "{\"__metadata__\":[\"k\"]}",
        "json-metadata-nested": "{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}",
        "json-unknown-field": "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":true}}",
        "json-missing-dtype": "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}",
        "json-missing-offsets": "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}",
        "json-escaped-key": "{\"\\u005f_metadata__\":{\"k\":\"v\"}}",
        "json-bad-escape": "{\"a\\q\":1}",
        "json-lone-surrogate": "{\"\\ud800\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
    }
    for k, v in bad_json.items():
        s[k] = st_file(v, b"\x00" if "data_offsets\":[0,1]" in v else b"")
    s["json-invalid-utf8"] = st_file(b"{\"__metadata__\":{\"k\":\"v\xc3\"}}")
    s["json-overlong-utf8"] = st_file(b"{\"__metadata__\":{\"k\":\"\xc0\xaf\"}}")
    s["json-utf8-bom"] = st_file(b"\xef\xbb\xbf{}")
    s["json-utf16"] = st_file("{}".encode("utf-16-le"))

    # --- offsets
    s["off-past-end"] = st_file({"a": entry("F32", [2], 0, 8)}, pattern(5))
    s["off-far-past-end"] = st_file({"a": entry("U8", [1], 1 << 40, (1 << 40) + 1)}, pattern(1))
    s["off-overlap"] = st_file({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, pattern(12))
    s["off-alias"] = st_file({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 0, 8)}, pattern(8))
    s["off-gap"] = st_file({"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 8, 12)}, pattern(12))
    s["off-start-gap"] = st_file({"a": entry("F32", [1], 4, 8)}, pattern(8))
    s["off-begin-after-end"] = st_file({"a": entry("U8", [0], 8, 4)}, pattern(8))
    s["off-one-value"] = st_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", b"\x00")
    s["off-three-values"] = st_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", b"\x00")
    s["off-negative"] = st_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", b"\x00")
    s["off-i64-max"] = st_file({"a": entry("U8", [1], 0x7FFFFFFFFFFFFFFE, 0x7FFFFFFFFFFFFFFF)}, b"\x00")
    s["off-u64-max"] = st_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,18446744073709551615]}}", b"\x00")
    s["off-strings"] = st_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\"0\",\"1\"]}}", b"\x00")

    # --- dtypes
    for name, d in [("f8", "\"F8_E4M3\""), ("lowercase", "\"f32\""), ("u16", "\"U16\""), ("c64", "\"C64\""), ("empty", "\"\""),
                    ("number", "4"), ("null", "null"), ("array", "[\"F32\"]")]:
        s["dtype-" + name] = st_file("{\"a\":{\"dtype\":" + d + ",\"shape\":[2],\"data_offsets\":[0,8]}}", pattern(8))
    s["dtype-size-mismatch"] = st_file({"a": entry("F64", [2], 0, 8)}, pattern(8))

    # --- shapes
    s["shape-vs-offsets"] = st_file({"a": entry("F32", [3], 0, 8)}, pattern(8))
    s["shape-vs-other"] = st_file({"w": entry("F32", [2, 3], 0, 24), "b": entry("F32", [4], 24, 40)}, pattern(40))
    s["shape-rank9"] = st_file({"a": entry("U8", [1] * 9, 0, 1)}, b"\x01")
    s["shape-int-max"] = st_file({"a": entry("U8", [2147483647], 0, 2147483647)}, b"\x01")
    s["shape-int-max-f32"] = st_file({"a": entry("F32", [2147483647], 0, 8589934588)}, pattern(4))
    s["shape-2-pow-31"] = st_file({"a": entry("U8", [2147483648], 0, 2147483648)}, b"\x01")
    s["shape-2-pow-32"] = st_file({"a": entry("U8", [4294967296], 0, 4294967296)}, b"\x01")
    s["shape-product-overflow"] = st_file({"a": entry("F32", [65536, 65536, 65536], 0, 4)}, pattern(4))
    s["shape-huge-then-zero"] = st_file({"a": entry("F32", [2147483647, 2147483647, 0], 0, 0)})
    s["shape-i64-max"] = st_file({"a": entry("U8", [9223372036854775807], 0, 1)}, b"\x01")
    s["shape-negative"] = st_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", pattern(4))
    s["shape-negative-pair"] = st_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2,-2],\"data_offsets\":[0,16]}}", pattern(16))
    s["shape-negative-second"] = st_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", pattern(8))
    s["shape-null"] = st_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,4]}}", pattern(4))
    s["shape-nested"] = st_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[[1]],\"data_offsets\":[0,4]}}", pattern(4))

    # --- leftover bytes
    s["left-trailing-data"] = base + b"\x00\x01\x02"
    s["left-empty-header-with-data"] = st_file("{}", pattern(16))
    s["left-metadata-only-with-data"] = st_file({"__metadata__": {}}, b"\x00")
    return s


def config_seeds():
    s = {}
    real = {m: (ROOT / "models" / m / "model.json").read_bytes() for m in ["charlm", "classifier", "seq2seq"]}
    for m, b in real.items():
        s["valid-" + m] = b
    cls = json.loads(real["classifier"])
    lm = json.loads(real["charlm"])
    s2s = json.loads(real["seq2seq"])
    for c in (cls, lm, s2s):
        c.pop("pytorch", None)  # keep the mutants small
    s["valid-classifier-compact"] = json.dumps(cls, separators=(",", ":")).encode()
    s["valid-lm-compact"] = json.dumps(lm, separators=(",", ":")).encode()
    s["valid-seq2seq-compact"] = json.dumps(s2s, separators=(",", ":")).encode()
    s["valid-classifier-embedding"] = json.dumps(dict(cls, embedding="embed.", vocab=["a", "b", "<pad>"])).encode()

    def variant(seed, base, **changes):
        c = json.loads(json.dumps(base))
        for k, v in changes.items():
            path = k.split("__")
            node = c
            for p in path[:-1]:
                node = node[p]
            if v is DELETE:
                node.pop(path[-1], None)
            else:
                node[path[-1]] = v
        s[seed] = json.dumps(c, separators=(",", ":")).encode()

    variant("miss-structure", cls, structure=DELETE)
    variant("miss-name", lm, name=DELETE)
    variant("miss-rnn", cls, rnn=DELETE)
    variant("miss-labels", cls, labels=DELETE)
    variant("miss-head", cls, head=DELETE)
    variant("miss-vocab", lm, vocab=DELETE)
    variant("miss-encoder", s2s, encoder=DELETE)
    variant("miss-decoder-head", s2s, decoder__head=DELETE)
    variant("miss-max-output", s2s, max_output_length=DELETE)
    variant("miss-prefix", lm, rnn__prefix=DELETE)
    variant("miss-hidden", lm, rnn__hidden_size=DELETE)
    variant("type-structure-number", cls, structure=1)
    variant("type-structure-unknown", cls, structure="n_vs_n")
    variant("type-labels-string", cls, labels="sine")
    variant("type-labels-numbers", cls, labels=[1, 2])
    variant("type-vocab-object", lm, vocab={"a": 1})
    variant("type-vocab-nested", lm, vocab=[["a"]])
    variant("type-mode-unknown", lm, rnn__mode="transformer")
    variant("type-mode-number", lm, rnn__mode=4)
    variant("type-bidirectional-string", cls, rnn__bidirectional="yes")
    variant("type-bidirectional-number", cls, rnn__bidirectional=1)
    variant("type-description-object", cls, description={"x": 1})
    variant("type-head-number", cls, head=3)
    variant("type-embedding-false", lm, embedding=False)
    variant("type-rnn-array", lm, rnn=[1])
    variant("num-hidden-float", lm, rnn__hidden_size=1.5)
    variant("num-hidden-negative", lm, rnn__hidden_size=-128)
    variant("num-hidden-zero", lm, rnn__hidden_size=0)
    variant("num-hidden-huge", lm, rnn__hidden_size=2 ** 31)
    variant("num-hidden-string", lm, rnn__hidden_size="128")
    variant("num-layers-huge", lm, rnn__num_layers=2 ** 31 - 1)
    variant("num-input-size-zero", cls, input_size=0)
    variant("num-input-size-negative", cls, input_size=-1)
    variant("num-bos-out-of-range", lm, bos=31)
    variant("num-eos-negative", lm, eos=-1)
    variant("num-pad-huge", lm, pad=10 ** 30)
    variant("num-max-output-zero", s2s, max_output_length=0)
    variant("num-max-output-huge", s2s, max_output_length=2 ** 31 - 1)
    variant("num-max-generate-negative", lm, max_generate=-5)
    variant("vocab-empty", lm, vocab=[])
    variant("vocab-duplicate", lm, vocab=["<pad>", "<bos>", "<eos>", "a", "a"])
    variant("vocab-duplicate-output", s2s, output_vocab=["<pad>", "<bos>", "<eos>", "x", "x"])
    variant("vocab-duplicate-input", s2s, input_vocab=["a", "b", "a"])
    variant("vocab-empty-token", lm, vocab=["<pad>", "<bos>", "<eos>", ""])
    variant("vocab-surrogates", lm, vocab=["<pad>", "<bos>", "<eos>", "\U0001F600", "\U0001F600"])
    variant("labels-empty", cls, labels=[])
    variant("structure-lm-on-classifier", cls, structure="lm")
    variant("structure-seq2seq-on-lm", lm, structure="seq2seq")
    variant("structure-classifier-on-seq2seq", s2s, structure="n_vs_1")
    variant("output-vocab-empty", s2s, output_vocab=[])
    s["json-empty"] = b""
    s["json-spaces"] = b"   "
    s["json-null"] = b"null"
    s["json-array"] = b"[]"
    s["json-string"] = b"\"lm\""
    s["json-empty-object"] = b"{}"
    s["json-trailing"] = s["valid-lm-compact"] + b" {}"
    s["json-trailing-garbage"] = s["valid-lm-compact"] + b"x"
    s["json-truncated"] = s["valid-seq2seq-compact"][:200]
    s["json-duplicate-key"] = b"{\"structure\":\"lm\",\"structure\":\"n_vs_1\"}"
    s["json-deep"] = b"{\"pytorch\":" + b"[" * 70 + b"]" * 70 + b"}"
    s["json-deep-ok"] = s["valid-lm-compact"][:-1] + b",\"pytorch\":" + b"[" * 60 + b"]" * 60 + b"}"
    s["json-invalid-utf8"] = b"{\"structure\":\"l\xc3\"}"
    s["json-utf16"] = s["valid-classifier-compact"].decode().encode("utf-16")
    s["json-bom"] = b"\xef\xbb\xbf" + s["valid-classifier-compact"]
    s["json-comment"] = b"{/*x*/\"structure\":\"lm\"}"
    s["json-nan"] = b"{\"structure\":\"lm\",\"bos\":NaN}"
    s["json-big-exponent"] = s["valid-lm-compact"].replace(b"\"bos\":1", b"\"bos\":1e400")
    s["json-long-number"] = s["valid-lm-compact"].replace(b"\"bos\":1", b"\"bos\":" + b"1" * 2000)
    s["json-long-string"] = b"{\"structure\":\"" + b"a" * 3000 + b"\"}"
    return s


DELETE = object()


def recipe_seeds():
    s = {}

    def layer(mode, i, h, layers=1, bi=False, bias=True, proj=0, prefix=""):
        g = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}[mode]
        p = proj or h
        lines = []
        for l in range(layers):
            for d in ([0, 1] if bi else [0]):
                sfx = "_l%d%s" % (l, "_reverse" if d else "")
                lin = i if l == 0 else (2 if bi else 1) * p
                lines.append("%sweight_ih%s F32 %d,%d" % (prefix, sfx, g * h, lin))
                lines.append("%sweight_hh%s F32 %d,%d" % (prefix, sfx, g * h, p))
                if bias:
                    lines.append("%sbias_ih%s F32 %d" % (prefix, sfx, g * h))
                    lines.append("%sbias_hh%s F32 %d" % (prefix, sfx, g * h))
                if proj:
                    lines.append("%sweight_hr%s F32 %d,%d" % (prefix, sfx, proj, h))
        return lines

    def put(name, *parts):
        lines = []
        for p in parts:
            lines.extend(p if isinstance(p, list) else [p])
        s[name] = ("\n".join(lines) + "\n").encode()

    put("valid-lstm", "mode lstm", layer("lstm", 3, 2))
    put("valid-lstm-nohint", layer("lstm", 3, 2))
    put("valid-gru-2layers-bi", layer("gru", 2, 3, layers=2, bi=True))
    put("valid-rnn-tanh", "mode rnn_tanh", layer("rnn_tanh", 1, 1))
    put("valid-rnn-relu-nobias", "mode rnn_relu", "batch_first", layer("rnn_relu", 4, 5, bias=False))
    put("valid-lstm-proj", layer("lstm", 3, 4, proj=2))
    put("valid-lstm-proj-bi-2layers", layer("lstm", 2, 3, layers=2, bi=True, proj=1))
    put("valid-gru-64-split", "mode gru", layer("gru", 2, 64))
    put("valid-f16", [l.replace(" F32 ", " F16 ") for l in layer("gru", 2, 2)])
    put("valid-mixed-dtypes", [l.replace(" F32 ", [" F64 ", " BF16 ", " F32 ", " F16 "][k % 4]) for k, l in enumerate(layer("lstm", 2, 2))])
    put("valid-prefixed-embed-fc", "prefix rnn.", layer("gru", 2, 3, prefix="rnn."), "embed.weight F32 5,2", "fc.weight F32 4,3",
        "fc.bias F32 4")
    # The application models of WeightsFuzzTest.CONFIGS, exactly.
    put("valid-model-classifier", "model classifier", "prefix rnn.", layer("gru", 2, 3, bi=True, prefix="rnn."),
        "fc.weight F32 3,6", "fc.bias F32 3")
    put("valid-model-lm", "model lm", "prefix rnn.", "embed.weight F32 4,2", layer("lstm", 2, 3, prefix="rnn."),
        "fc.weight F32 4,3", "fc.bias F32 4")
    put("valid-model-seq2seq", "model seq2seq", "prefix encoder.rnn.", "encoder.embed.weight F32 3,2",
        layer("gru", 2, 3, prefix="encoder.rnn."), "decoder.embed.weight F32 3,2", layer("gru", 2, 3, prefix="decoder.rnn."),
        "decoder.out.weight F32 3,3", "decoder.out.bias F32 3")
    # The real models' layouts (their sizes disagree with the small configs: a clear refusal each).
    for m in ["charlm", "classifier"]:
        b = (ROOT / "models" / m / "weights.safetensors").read_bytes()
        n = struct.unpack("<Q", b[:8])[0]
        h = json.loads(b[8:8 + n])
        lines = ["model " + {"charlm": "lm", "classifier": "classifier"}[m], "prefix rnn."]
        for k, v in h.items():
            if k != "__metadata__":
                lines.append("%s %s %s" % (k, v["dtype"], ",".join(map(str, v["shape"])) or "-"))
        put("real-" + m, lines)

    # Hostile but well-formed.
    put("bad-empty", "# no tensors")
    put("bad-missing-hh", "weight_ih_l0 F32 8,2")
    put("bad-missing-bias-hh", [l for l in layer("lstm", 2, 2) if not l.startswith("bias_hh")])
    put("bad-gates-5", "weight_ih_l0 F32 10,2", "weight_hh_l0 F32 10,2")
    put("bad-rows-not-multiple", "weight_ih_l0 F32 7,2", "weight_hh_l0 F32 7,2")
    put("bad-ih-wrong-rows", "weight_ih_l0 F32 12,2", "weight_hh_l0 F32 8,2")
    put("bad-ih-vector", "weight_ih_l0 F32 8", "weight_hh_l0 F32 8,2")
    put("bad-ih-rank3", "weight_ih_l0 F32 8,2,1", "weight_hh_l0 F32 8,2")
    put("bad-scalar", "weight_ih_l0 F32 -", "weight_hh_l0 F32 -")
    put("bad-zero-input", "weight_ih_l0 F32 8,0", "weight_hh_l0 F32 8,2")
    put("bad-zero-hidden", "weight_ih_l0 F32 0,2", "weight_hh_l0 F32 0,0")
    put("bad-zero-rows", "weight_ih_l0 F32 0,2", "weight_hh_l0 F32 0,2")
    put("bad-bias-wrong-size", layer("gru", 2, 2)[:2], "bias_ih_l0 F32 5", "bias_hh_l0 F32 6")
    put("bad-bias-ih-only", layer("gru", 2, 2)[:2], "bias_ih_l0 F32 6")
    put("bad-bias-hh-only", layer("gru", 2, 2)[:2], "bias_hh_l0 F32 6")
    put("bad-bias-matrix", layer("gru", 2, 2)[:2], "bias_ih_l0 F32 6,1", "bias_hh_l0 F32 6,1")
    put("bad-stray-layer", layer("lstm", 2, 2), "weight_ih_l5 F32 8,2")
    put("bad-layer-gap", layer("lstm", 2, 2), "weight_ih_l2 F32 8,2", "weight_hh_l2 F32 8,2")
    put("bad-layer-index-huge", layer("lstm", 2, 2), "weight_ih_l99999999999 F32 8,2")
    put("bad-layer-index-int-max", layer("lstm", 2, 2), "weight_hh_l2147483647 F32 8,2")
    put("bad-layer-index-leading-zeros", layer("lstm", 2, 2), "weight_ih_l00 F32 8,2")
    put("bad-stray-reverse", layer("lstm", 2, 2), "weight_hh_l0_reverse F32 8,2")
    put("bad-reverse-only-ih", layer("lstm", 2, 2), "weight_ih_l0_reverse F32 8,2")
    put("bad-reverse-wrong-shape", layer("gru", 2, 2), "weight_ih_l0_reverse F32 6,3", "weight_hh_l0_reverse F32 6,2",
        "bias_ih_l0_reverse F32 6", "bias_hh_l0_reverse F32 6")
    put("bad-layer1-wrong-input", layer("gru", 2, 2), "weight_ih_l1 F32 6,3", "weight_hh_l1 F32 6,2", "bias_ih_l1 F32 6", "bias_hh_l1 F32 6")
    put("bad-proj-not-smaller", "weight_ih_l0 F32 8,2", "weight_hh_l0 F32 8,2", "weight_hr_l0 F32 2,2")
    put("bad-proj-gru", "weight_ih_l0 F32 6,2", "weight_hh_l0 F32 6,1", "weight_hr_l0 F32 1,2")
    put("bad-proj-zero", "weight_ih_l0 F32 8,2", "weight_hh_l0 F32 8,0", "weight_hr_l0 F32 0,2")
    put("bad-proj-vector", "weight_ih_l0 F32 8,2", "weight_hh_l0 F32 8,1", "weight_hr_l0 F32 2")
    put("bad-proj-stray-l1", layer("lstm", 3, 4, proj=2), "weight_hr_l1 F32 2,4")
    put("bad-mode-mismatch", "mode gru", layer("lstm", 2, 2))
    put("bad-rnn-no-mode", layer("rnn_tanh", 2, 2))
    put("bad-rnn-mode-lstm", "mode lstm", layer("rnn_tanh", 2, 2))
    put("bad-int-dtype", [l.replace(" F32 ", " I32 ") for l in layer("gru", 2, 2)])
    put("bad-int-dtype-hh", [l.replace(" F32 ", " I64 ") if "weight_hh" in l else l for l in layer("gru", 2, 2)])
    put("bad-bool-bias", [l.replace(" F32 ", " BOOL ") if "bias" in l else l for l in layer("gru", 2, 2)])
    put("bad-prefix-partial", "prefix rnn", layer("gru", 2, 2, prefix="rnn."))
    put("bad-prefix-regex", "prefix .*", layer("gru", 2, 2, prefix=".*"))
    put("bad-names-odd", "weight_ih_l0\u00e9 F32 8,2", "weight_ih_l-1 F32 8,2", "weight_ih_l0_reverse_reverse F32 1",
        "weight_ih_l\u0661 F32 8,2", layer("lstm", 2, 2))
    put("bad-embed-vector", "embed.weight F32 5", "fc.weight F32 4")
    put("bad-embed-empty", "embed.weight F32 0,3", "fc.weight F32 0,3", "fc.bias F32 0")
    put("bad-fc-bias-mismatch", "fc.weight F32 4,3", "fc.bias F32 3")
    put("bad-fc-bias-scalar", "fc.weight F32 4,3", "fc.bias F32 -")
    put("bad-fc-int", "fc.weight I8 4,3")
    put("bad-model-classifier-head", "model classifier", "prefix rnn.", layer("gru", 2, 3, bi=True, prefix="rnn."),
        "fc.weight F32 3,3", "fc.bias F32 3")
    put("bad-model-classifier-labels", "model classifier", "prefix rnn.", layer("gru", 2, 3, bi=True, prefix="rnn."),
        "fc.weight F32 4,6", "fc.bias F32 4")
    put("bad-model-classifier-unidirectional", "model classifier", "prefix rnn.", layer("gru", 2, 3, prefix="rnn."),
        "fc.weight F32 3,3")
    put("bad-model-lm-embed-dim", "model lm", "prefix rnn.", "embed.weight F32 4,3", layer("lstm", 2, 3, prefix="rnn."),
        "fc.weight F32 4,3")
    put("bad-model-lm-vocab", "model lm", "prefix rnn.", "embed.weight F32 5,2", layer("lstm", 2, 3, prefix="rnn."),
        "fc.weight F32 5,3")
    put("bad-model-lm-no-embed", "model lm", "prefix rnn.", layer("lstm", 2, 3, prefix="rnn."), "fc.weight F32 4,3")
    put("bad-model-lm-bi", "model lm", "prefix rnn.", "embed.weight F32 4,2", layer("lstm", 2, 3, bi=True, prefix="rnn."),
        "fc.weight F32 4,6")
    put("bad-model-seq2seq-decoder-hidden", "model seq2seq", "encoder.embed.weight F32 3,2", layer("gru", 2, 3, prefix="encoder.rnn."),
        "decoder.embed.weight F32 3,2", layer("gru", 2, 4, prefix="decoder.rnn."), "decoder.out.weight F32 3,4")
    put("bad-model-seq2seq-lstm", "model seq2seq", "encoder.embed.weight F32 3,2", layer("lstm", 2, 3, prefix="encoder.rnn."),
        "decoder.embed.weight F32 3,2", layer("lstm", 2, 3, prefix="decoder.rnn."), "decoder.out.weight F32 3,3")
    put("bad-model-seq2seq-no-decoder", "model seq2seq", "encoder.embed.weight F32 3,2", layer("gru", 2, 3, prefix="encoder.rnn."))
    put("bad-model-seq2seq-bi-encoder", "model seq2seq", "encoder.embed.weight F32 3,2", layer("gru", 2, 3, bi=True, prefix="encoder.rnn."),
        "decoder.embed.weight F32 3,2", layer("gru", 2, 3, prefix="decoder.rnn."), "decoder.out.weight F32 3,3")
    return s


def write(dirname, seeds):
    d = RES / dirname
    d.mkdir(parents=True, exist_ok=True)
    keep = {"seed-" + k for k in seeds}
    for f in d.iterdir():
        if f.name.startswith("seed-") and f.name not in keep:
            f.unlink()
    for k, v in seeds.items():
        assert len(v) <= 8192, (k, len(v))
        (d / ("seed-" + k)).write_bytes(v)
    print("%-45s %3d seeds, %6d bytes" % (dirname, len(seeds), sum(map(len, seeds.values()))))


if __name__ == "__main__":
    write("io/SafeTensorsFuzzTestInputs/parse", safetensors_seeds())
    write("app/ModelConfigFuzzTestInputs/parse", config_seeds())
    write("app/WeightsFuzzTestInputs/load", recipe_seeds())
