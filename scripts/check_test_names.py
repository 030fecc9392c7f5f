#!/usr/bin/env python3
"""Catch2 test names that ctest cannot run as they are.

catch_discover_tests makes a ctest test of each Catch2 test case, passing its name back as
a filter. A ';' splits a CMake list: the test became two ctest tests whose filters matched
no test case, and Catch2 ran nothing and passed (five tests never ran so, until
2026-12-07). Exit 1, naming each, when a TEST_CASE name has one."""
import pathlib
import re
import sys

BAD = ";"


def bad_names(root):
    found = []
    for path in sorted(pathlib.Path(root, "test").rglob("*.cpp")):
        text = path.read_text(errors="replace")
        for m in re.finditer(r'TEST_CASE\(\s*"((?:[^"\\]|\\.)*)"', text):
            if BAD in m.group(1):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path}:{line}: {m.group(1)}")
    return found


def main():
    if sys.argv[1:] == ["--self-test"]:
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            (pathlib.Path(d) / "test").mkdir()
            (pathlib.Path(d) / "test" / "a.cpp").write_text('TEST_CASE("fine, this one", "[x]") {}\nTEST_CASE("not; this", "[x]") {}\n')
            got = bad_names(d)
            assert len(got) == 1 and got[0].endswith("not; this"), got
        print("self-test passed")
        return 0
    bad = bad_names(sys.argv[1])
    for b in bad:
        print(f"a test name with '{BAD}' (ctest would never run it): {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
