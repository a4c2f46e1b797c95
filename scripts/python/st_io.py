"""The safetensors reader and writer shared by the Python generators (fixtures, trained models,
benchmark models). Written by hand so that no safetensors package is needed, only numpy and torch.

Files are written like the reference implementation: an 8-byte little-endian header length, the JSON
header ("__metadata__" first, then the tensors in the order given, compact separators, padded with
spaces to a multiple of 8), then the tensors' bytes contiguously in that order. Writes are atomic
(a temporary file renamed into place). The reader checks what the Java loader checks: sizes agree
with shapes, no holes or overlaps, no trailing bytes.
"""
import json
import os
import struct

import numpy as np
import torch

NP_DTYPE = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
TORCH_DTYPE = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
               "I64": torch.int64, "I32": torch.int32}
SIZE = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}


def tensor_bytes(t, dtype):
    t = t.detach().contiguous()
    if t.dtype != TORCH_DTYPE[dtype]:
        raise ValueError(f"tensor dtype {t.dtype} does not match {dtype}")
    if dtype == "BF16":
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(NP_DTYPE[dtype]).tobytes()


def write_safetensors(path, tensors, metadata):
    """tensors: (name, torch tensor) for F32 or (name, torch tensor, dtype string), in file order."""
    header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for entry in tensors:
        name, t = entry[0], entry[1]
        dtype = entry[2] if len(entry) > 2 else "F32"
        b = tensor_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_raw(path):
    """Returns (metadata, {name: (dtype, shape tuple, bytes)}), checking the layout strictly."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0, f"{path}: header length {n} not a multiple of 8"
    header = json.loads(data[8:8 + n].decode("utf-8"))
    buf = data[8 + n:]
    meta = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    out, spans = {}, []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        count = 1
        for d in info["shape"]:
            count *= d
        assert end - begin == count * SIZE[info["dtype"]], f"{path}:{name}: size mismatch"
        spans.append((begin, end))
        out[name] = (info["dtype"], tuple(info["shape"]), buf[begin:end])
    spans.sort()
    pos = 0
    for b, e in spans:
        assert b == pos, f"{path}: hole or overlap at {b}"
        pos = e
    assert pos == len(buf), f"{path}: trailing bytes"
    return meta, out


def decode(dtype, shape, raw):
    if dtype == "BF16":
        t = torch.from_numpy(np.frombuffer(raw, dtype="<i2").astype(np.int16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(np.frombuffer(raw, dtype=NP_DTYPE[dtype]).copy())
    return t.reshape(shape)


def read_safetensors(path):
    """Returns (metadata, {name: torch tensor}) in file order."""
    meta, raw = read_raw(path)
    return meta, {name: decode(*v) for name, v in raw.items()}
