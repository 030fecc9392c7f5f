#!/usr/bin/env python3
"""Fails unless every row of the op table (ops.def) is used as `ejit.<name>` in the given
.mlir file, so a new row cannot go without a round-trip test (used by elementwise.mlir)."""
import re
import sys

ops_def, mlir = sys.argv[1], sys.argv[2]
rows = re.findall(r"^EJIT_(?:UNARY|BINARY)_OP\(\s*\w+\s*,\s*(\w+)\s*,", open(ops_def).read(), re.M)
text = open(mlir).read()
missing = [name for name in rows if not re.search(r"=\s*ejit\.%s\s" % name, text)]
if not rows or missing:
    sys.exit("%s: no round-trip test for op table rows: %s" % (mlir, ", ".join(missing) or "(no rows found)"))
print("%d op table rows, all tested" % len(rows))
