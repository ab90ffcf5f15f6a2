#!/usr/bin/env python3
"""Writes the small IDX files IDXTests reads (Tests/KilnTests/Fixtures/idx): three 2x3
images and their labels gzipped as the MNIST family ships them, and big-endian float and
short tensors. Run from the repository root; needs only the standard library."""
import gzip
import struct
from pathlib import Path

out = Path("Tests/KilnTests/Fixtures/idx")
out.mkdir(parents=True, exist_ok=True)


def gz(name, data):
    with open(out / name, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
            f.write(data)


def header(code, shape):
    return struct.pack(">BBBB", 0, 0, code, len(shape)) + struct.pack(">%dI" % len(shape), *shape)


pixels = bytes([0, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 60, 255, 254, 253, 252, 251, 250])
gz("images-idx3-ubyte.gz", header(0x08, [3, 2, 3]) + pixels)
gz("labels-idx1-ubyte.gz", header(0x08, [3]) + bytes([7, 0, 9]))
(out / "floats-idx2-float").write_bytes(header(0x0D, [2, 2]) + struct.pack(">4f", 1.5, -2.0, 0.25, 3e8))
(out / "shorts-idx1-short").write_bytes(header(0x0B, [3]) + struct.pack(">3h", -300, 0, 12345))
