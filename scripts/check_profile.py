#!/usr/bin/env python3
"""Check a profile written by ejit (EJIT_PROFILE=FILE.json or ejit::Profile) as an independent
reader of the Chrome trace-event format would: Python's json module, then the fields that
Perfetto and chrome://tracing need.

Usage: check_profile.py FILE.json [--expect CAT,CAT,...]   categories that must have events
       check_profile.py --self-test                         the checker on made-up profiles
"""
import json
import sys
import tempfile


def check(doc, expect=()):
    """The problems of a parsed profile, and a one-line description of it."""
    problems = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["no traceEvents list at the top level"], ""
    if doc.get("displayTimeUnit") not in ("ms", "ns"):
        problems.append(f"displayTimeUnit is {doc.get('displayTimeUnit')!r}, not ms or ns")
    events = doc["traceEvents"]
    named_threads, spans, counts = set(), {}, {}
    for i, e in enumerate(events):
        where = f"event {i} ({e.get('name')!r})" if isinstance(e, dict) else f"event {i}"
        if not isinstance(e, dict):
            problems.append(f"{where} is not an object")
            continue
        ph = e.get("ph")
        for key in ("name", "ph", "pid", "tid"):
            if key not in e:
                problems.append(f"{where} has no {key}")
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            problems.append(f"{where}: pid and tid must be integers")
        if ph == "M":
            if e.get("name") == "thread_name":
                named_threads.add((e.get("pid"), e.get("tid")))
            continue
        if ph not in ("X", "C"):
            problems.append(f"{where}: phase {ph!r} is not X, C or M")
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            problems.append(f"{where}: ts {ts!r} is not a number >= 0")
            continue
        if not isinstance(e.get("cat"), str) or not e["cat"]:
            problems.append(f"{where} has no category")
        if not isinstance(e.get("args", {}), dict):
            problems.append(f"{where}: args is not an object")
        counts[e.get("cat")] = counts.get(e.get("cat"), 0) + 1
        if ph == "C":
            if not all(isinstance(v, (int, float)) for v in e.get("args", {}).values()) or not e.get("args"):
                problems.append(f"{where}: a counter needs numeric args")
            continue
        dur = e.get("dur")
        if not isinstance(dur, (int, float)) or dur < 0:
            problems.append(f"{where}: dur {dur!r} is not a number >= 0")
            continue
        spans.setdefault((e["pid"], e["tid"]), []).append((ts, ts + dur, e.get("name")))
    for thread, list_ in spans.items():
        if thread not in named_threads:
            problems.append(f"thread {thread[1]} has events but no thread_name")
        # One thread's spans nest (a stack): a span starting inside another ends inside it.
        list_.sort(key=lambda s: (s[0], -s[1]))
        stack, eps = [], 1e-4  # times are microseconds with 3 decimals: exact ns, read as floats
        for begin, end, name in list_:
            while stack and stack[-1][1] <= begin + eps and not (abs(begin - end) < eps and abs(begin - stack[-1][1]) < eps):
                stack.pop()
            if stack and end > stack[-1][1] + eps:
                problems.append(f"thread {thread[1]}: {name!r} [{begin}, {end}] overlaps {stack[-1][2]!r} "
                                f"[{stack[-1][0]}, {stack[-1][1]}] without nesting in it")
                break
            if end > begin:
                stack.append((begin, end, name))
    for cat in expect:
        if not counts.get(cat):
            problems.append(f"no {cat!r} events")
    summary = ", ".join(f"{c} {n}" for c, n in sorted(counts.items()))
    return problems, f"{len(events)} events on {len(spans)} threads: {summary}"


def check_file(path, expect):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{path} does not parse as JSON: {e}"], ""
    return check(doc, expect)


def self_test():
    meta = [{"name": "thread_name", "ph": "M", "pid": 1, "tid": 2, "args": {"name": "main"}}]
    x = lambda name, ts, dur, **kw: {"name": name, "cat": "op", "ph": "X", "ts": ts, "dur": dur, "pid": 1, "tid": 2,
                                     "args": {}, **kw}
    cases = [
        ({"traceEvents": meta + [x("a", 0, 10), x("b", 1, 2), x("c", 10, 1)], "displayTimeUnit": "ms"}, None),
        ({"traceEvents": meta + [x("a", 0, 10), x("b", 5, 10)], "displayTimeUnit": "ms"}, "without nesting"),
        ({"traceEvents": meta + [x("a", 0, -1)], "displayTimeUnit": "ms"}, "dur"),
        ({"traceEvents": [x("a", 0, 1)], "displayTimeUnit": "ms"}, "no thread_name"),
        ({"events": []}, "no traceEvents"),
        ({"traceEvents": meta + [x("a", 0, 1)], "displayTimeUnit": "ms"}, "no 'kernel' events"),
    ]
    failures = 0
    for doc, expected in cases:
        problems, _ = check(doc, ["kernel"] if expected == "no 'kernel' events" else [])
        ok = not problems if expected is None else any(expected in p for p in problems)
        if not ok:
            failures += 1
            print(f"FAIL: expected {expected or 'no problems'}, got {problems}")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write("{not json")
        f.flush()
        if not any("does not parse" in p for p in check_file(f.name, [])[0]):
            failures += 1
            print("FAIL: a file that is not JSON passed")
    print(f"check_profile self-test: {len(cases) + 1 - failures}/{len(cases) + 1} cases as expected")
    return 1 if failures else 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    expect = []
    if len(argv) == 3 and argv[1] == "--expect":
        expect = [c for c in argv[2].split(",") if c]
    elif len(argv) != 1:
        sys.exit(__doc__)
    problems, summary = check_file(argv[0], expect)
    for p in problems[:20]:
        print(p)
    if len(problems) > 20:
        print(f"... and {len(problems) - 20} more")
    print(f"{argv[0]}: {summary}; {'OK' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
