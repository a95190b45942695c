#!/usr/bin/env python3
"""A second decoder of the compact datapoint encoding, written from docs/protocol.md ("The compact
encoding") in pure Python, checked against the C++ encoder.

    compact_decoder_test.py COMPACT_CASES

runs COMPACT_CASES (tests/datapoints/compact_cases.cpp) into a temporary directory, decodes every
NAME.bin with decode() below and compares it point for point (doubles bit for bit) with NAME.json,
what the encoder was given. Then every case cut short at each length must raise MalformedBatch.

When the tests are cross-built, CMake sets TWINLINK_TEST_EMULATOR to the emulator (words separated
by spaces) through which COMPACT_CASES, a program of the target, is run.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

MAGIC = 0xD1
MASK = (1 << 64) - 1
MAX_POINTS = 1 << 18


class MalformedBatch(ValueError):
    pass


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def left(self):
        return len(self.data) - self.pos

    def byte(self):
        if self.pos >= len(self.data):
            raise MalformedBatch("ends early")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uvarint(self):
        v = 0
        for shift in range(0, 70, 7):
            b = self.byte()
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                if v > MASK:
                    raise MalformedBatch("varint beyond 64 bits")
                return v
        raise MalformedBatch("varint longer than 10 bytes")

    def svarint(self):
        u = self.uvarint()
        return (u >> 1) ^ -(u & 1)  # a Python int; callers wrap it to 64 bits

    def take(self, n):
        if n > self.left():
            raise MalformedBatch("length beyond the end")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def string(self):
        return self.take(self.uvarint())


def signed(u):
    u &= MASK
    return u - (1 << 64) if u >> 63 else u


def int_stream(r, n):
    """n int64 values (as Python ints) of an int-stream."""
    order = r.byte()
    if order > 2:
        raise MalformedBatch("int-stream order %d" % order)
    tokens = []
    while len(tokens) < n:
        t = r.svarint() & MASK
        tokens.append(t)
        if t == 0:
            zeros = r.uvarint()
            if zeros > n - len(tokens):
                raise MalformedBatch("zero run too long")
            tokens.extend([0] * zeros)
    x = tokens
    if order == 1:
        for i in range(1, n):
            x[i] = (x[i] + x[i - 1]) & MASK
    elif order == 2 and n >= 2:
        delta = x[1]
        x[1] = (x[1] + x[0]) & MASK
        for i in range(2, n):
            delta = (delta + x[i]) & MASK
            x[i] = (x[i - 1] + delta) & MASK
    return [signed(v) for v in x]


def bits_to_double(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def xor_doubles(r, n):
    block = r.string()
    total = len(block) * 8
    pos = 0

    def get(k):
        nonlocal pos
        if pos + k > total:
            raise MalformedBatch("XOR bits end early")
        v = 0
        for _ in range(k):
            v = (v << 1) | ((block[pos >> 3] >> (7 - (pos & 7))) & 1)
            pos += 1
        return v

    prev = get(64)
    out = [prev]
    lead, length = -1, 0
    for _ in range(1, n):
        if get(1) == 0:
            out.append(prev)
            continue
        if get(1) == 0:
            if lead < 0:
                raise MalformedBatch("window reused before one was set")
        else:
            lead = get(6)
            length = get(6) + 1
            if lead + length > 64:
                raise MalformedBatch("window past bit 64")
        prev ^= get(length) << (64 - lead - length)
        out.append(prev)
    if (pos + 7) // 8 != len(block):
        raise MalformedBatch("bytes after the last XOR value")
    values = [("double", b) for b in out]
    for _, b in values:
        if not math.isfinite(bits_to_double(b)):
            raise MalformedBatch("not finite")
    return values


def decimal_doubles(r, n):
    k = r.byte()
    if k > 15:
        raise MalformedBatch("more than 15 decimals")
    out = []
    for m in int_stream(r, n):
        if abs(m) > 1 << 53:
            raise MalformedBatch("scaled value beyond 2^53")
        v = float(m) / float(10 ** k)
        out.append(("double", struct.unpack("<Q", struct.pack("<d", v))[0]))
    return out


def bools(r, n):
    first = r.byte()
    if first > 1:
        raise MalformedBatch("first boolean not 0 or 1")
    value, out = first == 1, []
    while len(out) < n:
        run = r.uvarint()
        if run == 0 or run > n - len(out):
            raise MalformedBatch("bad boolean run")
        out.extend([("bool", value)] * run)
        value = not value
    return out


def utf8(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBatch("not UTF-8")


def texts(r, n, objects):
    out = []
    for _ in range(n):
        s = utf8(r.string())
        if objects:
            try:
                v = json.loads(s)
            except ValueError:
                raise MalformedBatch("object not JSON")
            if not isinstance(v, dict):
                raise MalformedBatch("not an object")
            out.append(("object", v))
        else:
            out.append(("string", s))
    return out


KIND_OF_TYPE = {0: 0, 1: 0, 2: 1, 3: 2, 4: 3, 5: 4}


def block(r, n, kind=None):
    t = r.byte()
    if kind is not None and KIND_OF_TYPE.get(t) != kind:
        raise MalformedBatch("block type %d in a kind %d sub-block" % (t, kind))
    if t == 0:
        return xor_doubles(r, n)
    if t == 1:
        return decimal_doubles(r, n)
    if t == 2:
        return [("int", v) for v in int_stream(r, n)]
    if t == 3:
        return bools(r, n)
    if t in (4, 5):
        return texts(r, n, t == 5)
    if t == 6:
        kinds = r.take(n)
        if any(k > 4 for k in kinds):
            raise MalformedBatch("value kind beyond 4")
        subs = {}
        for k in range(5):
            c = kinds.count(k)
            if c:
                subs[k] = iter(block(r, c, k))
        return [next(subs[k]) for k in kinds]
    raise MalformedBatch("unknown block type %d" % t)


def decode(data):
    """The batch as a dict: version, device, batch, seq, points [[series, ts, kind, value]]."""
    r = Reader(data)
    if r.byte() != MAGIC:
        raise MalformedBatch("not a compact batch")
    version = r.uvarint()
    if version != 1:
        raise MalformedBatch("version %d" % version)
    device = utf8(r.string())
    if not device:
        raise MalformedBatch("empty device")
    h = r.take(16).hex()
    batch = "-".join((h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]))
    seq = r.uvarint()
    t0 = r.svarint()
    nseries = r.uvarint()
    points, names = [], set()
    for _ in range(nseries):
        name = utf8(r.string())
        if not name or len(name.encode()) > 128 or name in names:
            raise MalformedBatch("bad or repeated series name")
        names.add(name)
        n = r.uvarint()
        if n == 0 or n > MAX_POINTS - len(points):
            raise MalformedBatch("bad point count")
        offsets = int_stream(r, n)
        values = block(r, n)
        for off, (kind, value) in zip(offsets, values):
            points.append([name, signed(t0 + off), kind, value])
    if r.left():
        raise MalformedBatch("trailing bytes")
    return {"version": version, "device": device, "batch": batch, "seq": seq, "points": points}


def expected_points(case):
    out = []
    for name, ts, kind, value in case["points"]:
        if kind == "double":
            value = int(value, 16)
        out.append([name, ts, kind, value])
    return out


def main():
    helper = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        emulator = os.environ.get("TWINLINK_TEST_EMULATOR", "").split()
        subprocess.run(emulator + [helper, d], check=True, stdout=subprocess.DEVNULL)
        names = sorted(f[:-4] for f in os.listdir(d) if f.endswith(".bin"))
        if len(names) < 200:
            print("expected at least 200 cases, got %d" % len(names))
            return 1
        points = truncations = 0
        for name in names:
            with open(os.path.join(d, name + ".bin"), "rb") as f:
                data = f.read()
            with open(os.path.join(d, name + ".json"), encoding="utf-8") as f:
                case = json.load(f)
            got = decode(data)
            want = expected_points(case)
            for key in ("device", "batch", "seq"):
                if got[key] != case[key]:
                    print("%s: %s is %r, expected %r" % (name, key, got[key], case[key]))
                    failures += 1
            if got["points"] != want:
                failures += 1
                for i, (g, w) in enumerate(zip(got["points"], want)):
                    if g != w:
                        print("%s: point %d is %r, expected %r" % (name, i, g, w))
                        break
                else:
                    print("%s: %d points, expected %d" % (name, len(got["points"]), len(want)))
            points += len(want)
            # Cut short anywhere, the batch is malformed: never a shorter batch, never a crash.
            step = max(1, len(data) // 64)
            for cut in range(0, len(data), step):
                try:
                    decode(data[:cut])
                except MalformedBatch:
                    truncations += 1
                    continue
                print("%s: cut to %d bytes, it still decoded" % (name, cut))
                failures += 1
        print("%d batches, %d points compared, %d truncations refused, %d failures"
              % (len(names), points, truncations, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
