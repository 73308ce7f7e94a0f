# SPDX-License-Identifier: MIT
"""Reads libsae model files with an independent reader (Python's json and
numpy, following the safetensors specification, not libsae's code) and
checks that they are well-formed safetensors files with the libsae
metadata described in docs/file-format.md.

    check_safetensors.py MAKE_GOLDEN GOLDEN_FILE

MAKE_GOLDEN is tests/make_golden: it writes a fresh file and dumps its
parameters as text, which must equal what numpy reads from that file.
GOLDEN_FILE is the committed golden file, checked the same way (its values
against the constants test_io.c also checks).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

EXPECTED_SHAPES = {
    "encoder.weight": [4, 6],
    "encoder.bias": [4],
    "decoder.weight": [4, 6],
    "decoder.bias": [6],
}


def fail(msg):
    print("check_safetensors: " + msg, file=sys.stderr)
    sys.exit(1)


def read(path):
    """Parses path per the safetensors specification; returns (metadata,
    {name: float32 array})."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        fail(f"{path}: header length {n} past the end")
    if n % 8 != 0:
        fail(f"{path}: header length {n} not a multiple of 8")
    text = raw[8 : 8 + n]
    if text[:1] != b"{":
        fail(f"{path}: header does not start with '{{'")
    header = json.loads(text.decode("utf-8"))
    data = raw[8 + n :]

    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        fail(f"{path}: __metadata__ is not a string->string map")

    tensors = {}
    spans = []
    for name, info in header.items():
        if info["dtype"] != "F32":
            fail(f"{path}: {name} dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        shape = info["shape"]
        if end - begin != 4 * int(np.prod(shape, dtype=np.int64)):
            fail(f"{path}: {name} span does not match shape {shape}")
        spans.append((begin, end))
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(shape)
    spans.sort()
    pos = 0
    for begin, end in spans:
        if begin != pos:
            fail(f"{path}: data has a hole or an overlap at byte {begin}")
        pos = end
    if pos != len(data):
        fail(f"{path}: tensors cover {pos} of {len(data)} data bytes")
    return meta, tensors, data


def check_libsae(path):
    meta, tensors, data = read(path)
    if meta.get("format") != "libsae" or meta.get("format_version") != "1":
        fail(f"{path}: format/format_version {meta.get('format')}/{meta.get('format_version')}")
    crc = "crc32:%08x" % (zlib.crc32(data) & 0xFFFFFFFF)
    if meta.get("checksum") != crc:
        fail(f"{path}: checksum {meta.get('checksum')} but the data gives {crc}")
    config = json.loads(meta["config"])
    if config.get("arch.input_dim") != "6" or config.get("arch.hidden_dim") != "4":
        fail(f"{path}: config dimensions {config.get('arch.input_dim')}x{config.get('arch.hidden_dim')}")
    if not all(isinstance(v, str) for v in config.values()):
        fail(f"{path}: config values must be strings")
    if "library_version" not in meta:
        fail(f"{path}: no library_version")
    for name, shape in EXPECTED_SHAPES.items():
        if name not in tensors or list(tensors[name].shape) != shape:
            fail(f"{path}: {name} missing or not of shape {shape}")
        if not np.all(np.isfinite(tensors[name])):
            fail(f"{path}: {name} not finite")
    if set(tensors) != set(EXPECTED_SHAPES):
        fail(f"{path}: tensors {sorted(tensors)}")
    return tensors


def main():
    if len(sys.argv) != 3:
        fail("usage: check_safetensors.py MAKE_GOLDEN GOLDEN_FILE")
    make_golden, golden = sys.argv[1], sys.argv[2]

    with tempfile.TemporaryDirectory() as tmp:
        fresh = os.path.join(tmp, "fresh.safetensors")
        dump = subprocess.run([make_golden, fresh, "--dump"], check=True,
                              capture_output=True, text=True).stdout
        tensors = check_libsae(fresh)
        count = 0
        for line in dump.splitlines():
            name, index, value = line.split()
            got = tensors[name].reshape(-1)[int(index)]
            if got != np.float32(float.fromhex(value)):
                fail(f"fresh file: {name}[{index}] is {got!r}, the library holds {value}")
            count += 1
        if count != sum(t.size for t in tensors.values()):
            fail("fresh file: dump and file hold different numbers of values")

    tensors = check_libsae(golden)
    expect = {("encoder.weight", 0, 0): "0x1.3e3072p-2",
              ("encoder.weight", 3, 5): "-0x1.5b4b68p-2",
              ("decoder.weight", 1, 3): "0x1.803c7cp-1"}
    for (name, r, c), value in expect.items():
        if tensors[name][r, c] != np.float32(float.fromhex(value)):
            fail(f"golden: {name}[{r},{c}] is {tensors[name][r, c]!r}, expected {value}")
    print("check_safetensors: ok")


if __name__ == "__main__":
    main()
