#!/usr/bin/env python3
"""Reads TensorBoard events files back: an independent check of ejit's SummaryWriter.

The TFRecord framing (u64 length, masked CRC-32C of the length, data, masked CRC-32C of the
data; little-endian) and CRC-32C are done here in pure Python, sharing nothing with the C++
code; Event protocol buffers are decoded by Python's protobuf (Debian: python3-protobuf) with
the modules protoc generated from lib/summary/proto at build time (--proto-py).

Usage: read_events.py --proto-py DIR --expect roundtrip LOGDIR   what write_events writes
       read_events.py --proto-py DIR --expect digits --epochs N LOGDIR   examples/digits --logdir
       read_events.py --self-test   this reader's CRC-32C and framing on known vectors
"""
import argparse
import math
import os
import struct
import sys
import time


class Bad(Exception):
    """A check failed: the message says which and where."""


# ---- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit into a table ----

def _make_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        table.append(c)
    return table


_TABLE = _make_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ _TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


def masked_crc32c(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(data, name):
    """The payloads of a TFRecord byte string; Bad on a wrong CRC or a truncated record."""
    records, at = [], 0
    while at < len(data):
        if len(data) - at < 12:
            raise Bad(f"{name}: truncated record header at offset {at}")
        length_bytes = data[at:at + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (length_crc,) = struct.unpack("<I", data[at + 8:at + 12])
        if masked_crc32c(length_bytes) != length_crc:
            raise Bad(f"{name}: record {len(records)} at offset {at}: length CRC mismatch "
                      f"(stored {length_crc:#010x}, computed {masked_crc32c(length_bytes):#010x})")
        if at + 16 + length > len(data):
            raise Bad(f"{name}: record {len(records)} at offset {at}: truncated ({length} bytes announced)")
        payload = data[at + 12:at + 12 + length]
        (data_crc,) = struct.unpack("<I", data[at + 12 + length:at + 16 + length])
        if masked_crc32c(payload) != data_crc:
            raise Bad(f"{name}: record {len(records)} at offset {at}: data CRC mismatch "
                      f"(stored {data_crc:#010x}, computed {masked_crc32c(payload):#010x})")
        records.append(payload)
        at += 16 + length
    return records


def expect_error(fn, text):
    try:
        fn()
    except Bad as e:
        if text not in str(e):
            raise Bad(f"expected an error containing '{text}', got '{e}'")
        return
    raise Bad(f"expected an error containing '{text}', got none")


def self_test():
    """The CRC on published values; the framing on a record TensorFlow wrote, and damaged copies."""
    checks = [
        (crc32c(b"123456789"), 0xE3069283),
        (crc32c(bytes(32)), 0x8A9136AA),  # RFC 3720 B.4
        (crc32c(b"\xff" * 32), 0x62A8AB43),
        (crc32c(bytes(range(32))), 0x46DD794E),
        (masked_crc32c(b"\x1a\x11CRC test, one two"), 0x5794D08A),  # from a real TFRecord
    ]
    for i, (got, want) in enumerate(checks):
        if got != want:
            raise Bad(f"crc self-test {i}: got {got:#010x}, want {want:#010x}")
    # tf.summary's file_version record, byte for byte (TensorBoard's tf_record.rs tests).
    payload = b"\x09\x00\x00\x80\x38\x99\xd6\xd7\x41\x1a\x0dbrain.Event:2"
    record = b"\x18" + bytes(7) + b"\xa3\x7f\x4b\x22" + payload + b"\x12\x4b\x36\xab"
    if read_records(record, "tf record") != [payload]:
        raise Bad("self-test: the TensorFlow record did not read back")
    flip = lambda data, i: data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]
    expect_error(lambda: read_records(flip(record, 0), "x"), "length CRC mismatch")
    expect_error(lambda: read_records(flip(record, 20), "x"), "data CRC mismatch")
    expect_error(lambda: read_records(record[:-1], "x"), "truncated (24 bytes announced)")
    expect_error(lambda: read_records(record + b"\x00", "x"), "truncated record header")


# ---- events ----

def load_events(path, pb):
    """(events, size in bytes) of one events file, with the checks every file must pass."""
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path)
    events = []
    for i, payload in enumerate(read_records(data, name)):
        event = pb.Event()
        event.ParseFromString(payload)
        if not (1.5e9 < event.wall_time < time.time() + 86400):
            raise Bad(f"{name}: event {i}: implausible wall_time {event.wall_time}")
        events.append(event)
    if not events or events[0].WhichOneof("what") != "file_version" or events[0].file_version != "brain.Event:2":
        raise Bad(f"{name}: the first record is not file_version 'brain.Event:2'")
    if any(e.WhichOneof("what") == "file_version" for e in events[1:]):
        raise Bad(f"{name}: a second file_version record")
    return events, len(data)


def only_file(folder):
    files = [f for f in os.listdir(folder) if f.startswith("events.out.tfevents.")]
    if len(files) != 1:
        raise Bad(f"{folder}: {len(files)} events files, expected 1")
    return os.path.join(folder, files[0])


def values_by_tag(events):
    """tag -> [(step, Summary.Value)] in file order."""
    out = {}
    for e in events:
        if e.WhichOneof("what") == "summary":
            for v in e.summary.value:
                out.setdefault(v.tag, []).append((e.step, v))
    return out


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def check(cond, what):
    if not cond:
        raise Bad(what)


def check_scalars(tags, tag, want):
    """want: [(step, value)]; values compared as float32, exactly."""
    got = [(s, v.simple_value) for s, v in tags.get(tag, []) if v.WhichOneof("value") == "simple_value"]
    check(got == [(s, f32(x)) for s, x in want], f"scalar '{tag}': got {got}, want {want}")


def check_histogram(tags, tag, step, stats, limits, counts):
    entries = [(s, v) for s, v in tags.get(tag, []) if v.WhichOneof("value") == "histo"]
    check(len(entries) == 1 and entries[0][0] == step, f"histogram '{tag}': {len(entries)} entries, expected 1 at step {step}")
    h = entries[0][1].histo
    for field, want in stats.items():
        check(getattr(h, field) == want, f"histogram '{tag}': {field} {getattr(h, field)}, want {want}")
    check(len(h.bucket_limit) == len(limits) and all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(h.bucket_limit, limits)),
          f"histogram '{tag}': limits {list(h.bucket_limit)}, want {limits}")
    check(list(h.bucket) == counts, f"histogram '{tag}': counts {list(h.bucket)}, want {counts}")


def check_text(tags, tag, step, text, pb):
    entries = tags.get(tag, [])
    check(len(entries) == 1 and entries[0][0] == step, f"text '{tag}': {len(entries)} entries, expected 1 at step {step}")
    v = entries[0][1]
    check(v.metadata.plugin_data.plugin_name == "text", f"text '{tag}': plugin '{v.metadata.plugin_data.plugin_name}'")
    t = v.tensor
    check(t.dtype == pb.DT_STRING and len(t.tensor_shape.dim) == 0 and list(t.string_val) == [text.encode()],
          f"text '{tag}': tensor {t}")


def graphs_of(events, pb):
    out = []
    for e in events:
        if e.WhichOneof("what") == "graph_def":
            g = pb.GraphDef()
            g.ParseFromString(e.graph_def)
            out.append(g)
    return out


def describe(path, size, events):
    kinds = {}
    for e in events:
        kind = e.WhichOneof("what")
        if kind == "summary":
            kind = e.summary.value[0].WhichOneof("value")
        kinds[kind] = kinds.get(kind, 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"{path}: {size} bytes, {len(events)} records, every CRC matches ({parts})")


def expect_roundtrip(logdir, pb):
    path = only_file(logdir)
    events, size = load_events(path, pb)
    describe(path, size, events)
    check(len(events) == 12, f"{len(events)} records, expected 12")
    tags = values_by_tag(events)
    check_scalars(tags, "loss", [(s, 1.0 / (s + 1)) for s in range(5)])
    check_scalars(tags, "train/accuracy", [(5, 7.0)])
    check_scalars(tags, "train/flag", [(6, 1.0)])
    check_histogram(tags, "weights", 1, dict(min=0, max=99, num=100, sum=4950, sum_squares=328350),
                    [9.9 * (i + 1) for i in range(9)] + [99.0], [10.0] * 10)
    check_histogram(tags, "constant", 2, dict(min=2.5, max=2.5, num=3, sum=7.5, sum_squares=18.75), [2.5], [3.0])
    check_text(tags, "config", 0, "lr = 3e-3, **bold**, caf\u00e9", pb)
    graphs = graphs_of(events, pb)
    check(len(graphs) == 1, f"{len(graphs)} graphs, expected 1")
    nodes = {n.name: n for n in graphs[0].node}
    ops = [n.op for n in graphs[0].node]
    check(ops == ["Input", "Input", "mul", "exp", "sum", "Output"], f"graph ops {ops}")
    mul, exp, total = graphs[0].node[2:5]
    check(list(mul.input) == ["input_0", "input_1"] and list(exp.input) == [mul.name] and list(total.input) == [exp.name]
          and list(nodes["output_0"].input) == [total.name], "graph wiring: " + str(graphs[0]))
    for n in graphs[0].node:
        check(n.attr["dtype"].type == pb.DT_FLOAT, f"graph node {n.name}: dtype {n.attr['dtype']}")
        dims = [d.size for d in n.attr["_output_shapes"].list.shape[0].dim]
        check(dims == ([] if n.name in (total.name, "output_0") else [3]), f"graph node {n.name}: shape {dims}")
    check(list(total.attr["ints"].list.i) == [0], f"graph: sum's axes {total.attr['ints']}")

    # This reader notices damage: a flipped bit in a length or in the data, a cut file.
    with open(path, "rb") as f:
        data = f.read()
    flip = lambda i: data[:i] + bytes([data[i] ^ 0x10]) + data[i + 1:]
    expect_error(lambda: read_records(flip(len(data) - 30), "damaged"), "data CRC mismatch")
    expect_error(lambda: read_records(flip(3), "damaged"), "length CRC mismatch")
    expect_error(lambda: read_records(data[:-2], "damaged"), "truncated")


def expect_digits(logdir, epochs, pb):
    steps = list(range(1, epochs + 1))
    for run in ("eager", "jitted"):
        path = only_file(os.path.join(logdir, run))
        events, size = load_events(path, pb)
        describe(path, size, events)
        tags = values_by_tag(events)
        for tag in ("loss", "accuracy/train", "accuracy/test", "ms_per_step"):
            got = [(s, v.simple_value) for s, v in tags.get(tag, [])]
            check([s for s, _ in got] == steps, f"{run}: scalar '{tag}' at steps {[s for s, _ in got]}, want {steps}")
            check(all(math.isfinite(x) and x >= 0 for _, x in got), f"{run}: scalar '{tag}': {got}")
            if tag.startswith("accuracy"):
                check(all(x <= 1 for _, x in got), f"{run}: scalar '{tag}' above 1: {got}")
        loss = [v.simple_value for _, v in tags["loss"]]
        check(loss[-1] < loss[0], f"{run}: the loss did not fall: {loss}")
        sizes = {"dense/kernel": 64 * 128, "dense/bias": 128, "dense_1/kernel": 128 * 64, "dense_1/bias": 64,
                 "dense_2/kernel": 64 * 10, "dense_2/bias": 10}
        for name, n in sizes.items():
            entries = [(s, v.histo) for s, v in tags.get("weights/" + name, [])]
            check([s for s, _ in entries] == steps and all(h.num == n and sum(h.bucket) == n for _, h in entries),
                  f"{run}: histogram 'weights/{name}': steps {[s for s, _ in entries]}, want {steps} of {n} values")
        check(len(tags.get("config", [])) == 1 and "epochs" in tags["config"][0][1].tensor.string_val[0].decode(),
              f"{run}: no 'config' text")
        graphs = graphs_of(events, pb)
        if run == "jitted":
            check(len(graphs) == 1 and any(n.op == "matmul" for n in graphs[0].node),
                  f"{run}: {len(graphs)} graphs, expected one with matmuls")
            print(f"  graph of the loss: {len(graphs[0].node)} nodes")
        else:
            check(not graphs, f"{run}: unexpected graph")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proto-py", help="folder of the generated *_pb2.py modules")
    parser.add_argument("--expect", choices=["roundtrip", "digits"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("logdir", nargs="?")
    args = parser.parse_args()
    try:
        self_test()
        if args.self_test:
            print("read_events self-test: CRC-32C and framing as expected")
            return 0
        if not (args.proto_py and args.expect and args.logdir):
            parser.error("--proto-py, --expect and LOGDIR are needed")
        sys.path.insert(0, args.proto_py)
        import event_pb2
        import graph_pb2
        import types_pb2

        class pb:  # the messages and enum values the checks use
            Event = event_pb2.Event
            GraphDef = graph_pb2.GraphDef
            DT_STRING = types_pb2.DT_STRING
            DT_FLOAT = types_pb2.DT_FLOAT

        if args.expect == "roundtrip":
            expect_roundtrip(args.logdir, pb)
        else:
            expect_digits(args.logdir, args.epochs, pb)
    except Bad as e:
        print(f"FAILED: {e}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
