#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets whose seeds are binary or many (batch_json,
batch_cbor, batch_compact, spool_segment, shadow_document, broker_uri, topic, receipt) into corpus/<target>/.
Run it from anywhere; it overwrites only the files it writes. The seeds are committed, so this
is only needed to change them."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data, kind="corpus"):
    d = os.path.join(HERE, kind, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- CBOR, the subset the batch format uses -------------------------------------------------
def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | ai]) + struct.pack(fmt, n)
    raise ValueError(n)


def cbor(v):
    if v is None:
        return b"\xf6"
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if isinstance(v, int):
        return cbor_head(0, v) if v >= 0 else cbor_head(1, -1 - v)
    if isinstance(v, float):
        f32 = struct.pack(">f", v)
        if struct.unpack(">f", f32)[0] == v:
            return b"\xfa" + f32
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return cbor_head(3, len(b)) + b
    if isinstance(v, bytes):
        return cbor_head(2, len(v)) + v
    if isinstance(v, list):
        return cbor_head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return cbor_head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(v)


UUID = "01936f1e-8a4b-7c3d-9e2f-0123456789ab"


def batch(**over):
    b = {"v": 1, "device": "sensor-42", "batch": UUID, "seq": 17, "t0": 1732460000000,
         "series": {"temp": {"t": [0, 12, 24], "v": [21.5, 21.6, 21.75]},
                    "door": {"t": [5], "v": [True]}}}
    b.update(over)
    return {k: v for k, v in b.items() if v is not None}


BATCHES = {
    "valid": batch(),
    "empty_series": batch(t0=0, series={}),
    "types": batch(series={"i": {"t": [0, 1], "v": [-3, 9007199254740993]},
                           "s": {"t": [0], "v": ["h\u00e9llo"]},
                           "o": {"t": [2], "v": [{"a": [1, {"b": None}], "c": "d"}]},
                           "f": {"t": [3, 4], "v": [1.0, -0.0]}}),
    "unknown_members": batch(extra=[1, 2], series={"x": {"t": [0], "v": [1], "u": "?"}}),
    "length_mismatch": batch(series={"x": {"t": [0, 1], "v": [1]}}),
    "negative_offset": batch(series={"x": {"t": [-1], "v": [1]}}),
    "offset_overflow": batch(t0=9223372036854775000, series={"x": {"t": [1000], "v": [1]}}),
    "bad_version": batch(v=2),
    "bad_uuid": batch(batch="not-a-uuid"),
    "bad_series_name": batch(series={"a/b": {"t": [0], "v": [1]}}),
    "no_device": batch(device=None),
    "empty_device": batch(device=""),
    "deep_value": batch(series={"x": {"t": [0], "v": [json.loads("{\"a\":" * 33 + "1" + "}" * 33)]}}),
    "max_seq": batch(seq=18446744073709551615),
}

for name, b in BATCHES.items():
    put("batch_json", name + ".json", json.dumps(b, separators=(",", ":")))
    put("batch_cbor", name + ".cbor", cbor(b))
put("batch_json", "truncated.json", json.dumps(BATCHES["valid"])[:60])
put("batch_json", "trailing.json", json.dumps(BATCHES["valid"]) + " x")
put("batch_json", "nan.json", json.dumps(BATCHES["valid"]).replace("21.6", "NaN"))
put("batch_json", "bad_utf8.json", json.dumps(BATCHES["valid"]).encode().replace(b"sensor", b"sens\xc3("))
put("batch_cbor", "truncated.cbor", cbor(BATCHES["valid"])[:40])
put("batch_cbor", "trailing.cbor", cbor(BATCHES["valid"]) + b"\x00")
put("batch_cbor", "indefinite.cbor", b"\xbf" + cbor("v") + cbor(1) + b"\xff")
put("batch_cbor", "half_float.cbor",
    cbor(batch(series={"x": {"t": [0], "v": [1]}})).replace(b"\x81\x01", b"\x81\xf9\x3c\x00"))
put("batch_cbor", "nan_double.cbor",
    cbor(batch(series={"x": {"t": [0], "v": [0.1]}})).replace(struct.pack(">d", 0.1), struct.pack(">d", float("nan"))))
put("batch_cbor", "tagged.cbor", b"\xc1" + cbor(BATCHES["valid"]))
put("batch_cbor", "huge_array_header.cbor",
    cbor(batch(series={"x": {"t": [0], "v": [1]}})).replace(b"\x81\x00", b"\x9b\xff\xff\xff\xff\xff\xff\xff\xff\x00"))


# --- Compact batches (docs/protocol.md, "The compact encoding") ------------------------------
def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def svarint(n):
    return uvarint(((n << 1) ^ (n >> 63)) & (1 << 64) - 1)


def ctext(b):
    b = b.encode() if isinstance(b, str) else b
    return uvarint(len(b)) + b


def cseries(name, ts, block):
    """A series with timestamps as an order-1 int-stream (zeros written with a run of 0)."""
    out = ctext(name) + uvarint(len(ts)) + b"\x01"
    prev = 0
    for t in ts:
        out += svarint(t - prev) + (b"\x00" if t == prev else b"")
        prev = t
    return out + block


def compact(series, version=1, device="sensor-42", t0=1732460000000, seq=17):
    return (b"\xd1" + uvarint(version) + ctext(device) + bytes.fromhex(UUID.replace("-", "")) +
            uvarint(seq) + svarint(t0) + uvarint(len(series)) + b"".join(series))


def ints(values):  # order 0
    return b"\x02\x00" + b"".join(svarint(v) + (b"\x00" if v == 0 else b"") for v in values)


COMPACT_TEMP = cseries("temp", [0, 1000, 2001], b"\x01\x02" + ints([2150, 2160, 2175])[1:])
COMPACT_DOOR = cseries("door", [5, 900], b"\x03\x01\x01\x01")
COMPACT_LABEL = cseries("label", [9], b"\x04" + ctext("ok"))
COMPACT_CFG = cseries("cfg", [9], b"\x05" + ctext('{"a":1}'))
COMPACT_VIB = cseries("vib", [0, 1], b"\x00" + ctext(struct.pack(">d", 0.5) + b"\x00"))
COMPACT_MIXED = cseries("m", [0, 1, 2], b"\x06\x00\x01\x02" + b"\x01\x01" + ints([15])[1:] +
                        ints([7]) + b"\x03\x00\x01")
COMPACT = compact([COMPACT_TEMP, COMPACT_DOOR, COMPACT_LABEL, COMPACT_CFG, COMPACT_VIB, COMPACT_MIXED])
put("batch_compact", "valid.bin", COMPACT)
put("batch_compact", "empty.bin", compact([], t0=0))
put("batch_compact", "one_int.bin", compact([cseries("n", [0], ints([-1]))]))
put("batch_compact", "truncated.bin", COMPACT[:len(COMPACT) // 2])
put("batch_compact", "trailing.bin", COMPACT + b"\x00")
put("batch_compact", "bad_version.bin", compact([COMPACT_TEMP], version=2))
put("batch_compact", "huge_count.bin", compact([ctext("x") + uvarint(1 << 40) + b"\x00\x00\x00\x03\x01"]))
put("batch_compact", "huge_string.bin", compact([cseries("s", [0], b"\x04" + uvarint(1 << 33) + b"ab")]))
put("batch_compact", "long_zero_run.bin", compact([ctext("z") + uvarint(3) + b"\x00\x00\x09" + ints([1, 2, 3])]))
put("batch_compact", "nan_xor.bin", compact([cseries("v", [0], b"\x00" + ctext(b"\x7f\xf8" + b"\x00" * 6))]))
put("batch_compact", "deep_object.bin", compact([cseries("o", [0], b"\x05" + ctext("[" * 40 + "]" * 40))]))
put("batch_compact", "bad_utf8.bin", compact([cseries("s", [0], b"\x04" + ctext(b"\xc3("))]))
put("batch_compact", "repeated_series.bin", compact([COMPACT_DOOR, COMPACT_DOOR]))
put("batch_compact", "bad_mixed_kind.bin", compact([cseries("m", [0], b"\x06\x09")]))

# --- Spool segments -------------------------------------------------------------------------
def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def record(seq, topic, payload, magic=0xA95B1ED7):
    body = struct.pack("<H", len(topic)) + topic + payload
    head = struct.pack("<QI", seq, len(body))
    return struct.pack("<I", magic) + head + struct.pack("<I", crc32c(body, crc32c(head))) + body


def ack(seq):
    e = struct.pack("<Q", seq)
    return e + struct.pack("<I", crc32c(e))


R1 = record(1, b"dp/sensor-42/batch", b'{"v":1}')
R2 = record(2, b"dp/sensor-42/batch", b'{"v":1,"seq":2}')
R3 = record(3, b"t", b"")
# The first byte is the layout (see spool_segment.cpp): low 4 bits = ack entries at the end,
# bit 4 = a torn ack tail of 5 bytes, bit 5 = two segment files.
put("spool_segment", "empty", b"\x00")
put("spool_segment", "three_records", b"\x00" + R1 + R2 + R3)
put("spool_segment", "acked_first", b"\x01" + R1 + R2 + R3 + ack(1))
put("spool_segment", "all_acked", b"\x03" + R1 + R2 + R3 + ack(1) + ack(2) + ack(3))
put("spool_segment", "torn_ack", b"\x11" + R1 + R2 + ack(2) + b"\x01\x02\x03\x04\x05")
put("spool_segment", "torn_tail", b"\x00" + R1 + R2 + R3[:10])
put("spool_segment", "zero_tail", b"\x00" + R1 + R2 + b"\x00" * 64)
put("spool_segment", "bad_crc_middle", b"\x00" + R1 + R2[:-1] + b"X" + R3)
put("spool_segment", "bad_magic_middle", b"\x00" + R1 + b"\x00" + R2[1:] + R3)
put("spool_segment", "duplicate_seq", b"\x00" + R1 + R1 + R2)
put("spool_segment", "two_segments", b"\x20" + R1 + R2 + R3)
put("spool_segment", "two_segments_acked", b"\x22" + R1 + R2 + R3 + record(4, b"x", b"y") + ack(1) + ack(2))
put("spool_segment", "high_seq", b"\x00" + record(0xFFFFFFFFFFFFFFFE, b"t", b"p"))
# Wrapped next_seq() to 0 before seqs above Spool::kMaxSeq counted as damage.
put("spool_segment", "max_seq_wrapped_next_seq", b"\x00" + record(0xFFFFFFFFFFFFFFFF, b"t", b"p"), "regressions")
put("spool_segment", "ack_of_unknown", b"\x01" + R1 + ack(1000))
put("spool_segment", "seq_zero", b"\x00" + record(0, b"t", b"p") + R2)
put("spool_segment", "long_length", b"\x00" + R1 + struct.pack("<IQI", 0xA95B1ED7, 5, 0xFFFFFFFF) + b"\x00" * 8 + R3)

# --- Shadow documents and device messages ---------------------------------------------------
DOCS = {
    "stored": {"state": {"desired": {"color": "red", "lights": {"on": True}},
                         "reported": {"color": "blue"}, "delta": {"color": "red"}},
               "metadata": {"desired": {"color": {"timestamp": 1600000000},
                                        "lights": {"on": {"timestamp": 1600000000}}},
                            "reported": {"color": {"timestamp": 1600000001}}},
               "version": 7, "timestamp": 1600000001},
    "not_existing": {"version": 3, "timestamp": 1600000000},
    "update_accepted": {"state": {"reported": {"temp": 22, "lights": None}},
                        "metadata": {"reported": {"temp": {"timestamp": 1}}},
                        "version": 8, "timestamp": 1700000000, "clientToken": "abc"},
    "delta": {"state": {"color": "green", "lights": {"level": 5}}, "version": 9,
              "timestamp": 1700000000},
    "documents": {"previous": {"state": {"desired": {}, "reported": {}}, "version": 1},
                  "current": {"state": {"desired": {"a": 1}, "reported": {"a": 2}}, "version": 2},
                  "timestamp": 1700000000},
    "get_accepted": {"state": {"desired": {"list": [1, [2, {"x": None}]]}, "reported": {},
                               "delta": {"list": [1]}},
                     "version": 4, "timestamp": 1700000000},
    "section_not_object": {"state": {"desired": 5, "reported": [1]}, "version": 2},
    "state_null": {"state": None, "version": 2},
    "sections_null": {"state": {"desired": None, "reported": None}, "version": 2},
    "bad_metadata": {"state": {"desired": {"a": 1}}, "metadata": {"desired": {"a": 5}}, "version": 1},
    "bad_version": {"state": {"desired": {}}, "version": -1, "timestamp": "x"},
    "rejected": {"code": 409, "message": "Version conflict", "clientToken": "t"},
}
for name, d in DOCS.items():
    put("shadow_document", name + ".json", json.dumps(d))
put("shadow_document", "deep.json", '{"state":{"desired":' + '{"a":' * 40 + "1" + "}" * 40 + "}}")
put("shadow_document", "not_object.json", "[1,2]")
put("shadow_document", "truncated.json", json.dumps(DOCS["stored"])[:50])

# --- Broker URIs ----------------------------------------------------------------------------
for i, uri in enumerate([
        "mqtt://127.0.0.1:1883", "mqtts://broker.example.com", "tcp://localhost:1",
        "ssl://h:65535", "ws://h:8080/mqtt", "wss://h/", "mqtt://[::1]:1883", "mqtt://[fe80::1%25eth0]",
        "MQTT://Host", "mqtt://h:0", "mqtt://h:65536", "mqtt://h:", "mqtt://user:pw@h",
        "mqtt://h/path", "mqtt://", "http://h", "mqtt://[::1", "mqtt://[::1]x", "mqtt://h h",
        "mqtt://a:b:1883", "noscheme"]):
    put("broker_uri", "uri_%02d" % i, uri)

# --- Topics: a name or filter, or "filter\ntopic" -------------------------------------------
for i, t in enumerate([
        "a/b/c", "a/+/c", "a/#", "#", "+", "/", "//", "a//b", "$SYS/broker", "+/x\n$SYS/x",
        "#\n$SYS", "a/#\na", "a/+\na/b/c", "a/b#", "a/#/b", "a+/b", "h\u00e9/\u00fc", "sport/+/player1\nsport/x/player1",
        "a/b\na/b", "+/+\n/", "a/\x00b"]):
    put("topic", "topic_%02d" % i, t)
put("topic", "bad_utf8", b"a/\xff/b")

# --- Receipts -------------------------------------------------------------------------------
for i, r in enumerate([
        '{"device":"sensor-42","stored":[[1041,1057],[1060,1060]]}',
        '{"device":"d","stored":[]}',
        '{"device":"d","stored":[[5,3]]}',
        '{"device":"d","stored":[[1,2],[3,4]]}',
        '{"device":"d","stored":[[0,18446744073709551615]]}',
        '{"device":"d","stored":[[-1,2]]}',
        '{"device":"d","stored":[[1.5,2]]}',
        '{"device":"d","stored":[[1,2,3]]}',
        '{"device":1,"stored":[]}',
        '{"stored":[[1,1]]}',
        '{"device":"d"}',
        '[1]',
        '{"device":"d","stored":[[1,1]],"device":"e"}',
        '{"device":"d","stored":[[1,1]]} trailing']):
    put("receipt", "receipt_%02d.json" % i, r)
# Came back unsorted and overlapping before decode_receipt() sorted and merged the ranges.
put("receipt", "overlapping_ranges.json", '{"device":"d","stored":[[1,2],[2,3]]}', "regressions")
put("receipt", "unordered_ranges.json", '{"device":"d","stored":[[10,12],[1,2]]}', "regressions")
