#!/usr/bin/env python3
"""Fails unless every row of the op table (ops.def) of the given families is used as
`ejit.<name>` in the given .mlir file, so a new row cannot go without a round-trip test.
Usage: op_table_coverage.py OPS_DEF MLIR [FAMILY,...]   (families: UNARY, BINARY, REDUCE;
default UNARY,BINARY: elementwise.mlir; ops.mlir covers REDUCE)."""
import re
import sys

ops_def, mlir = sys.argv[1], sys.argv[2]
families = sys.argv[3].split(",") if len(sys.argv) > 3 else ["UNARY", "BINARY"]
rows = re.findall(r"^EJIT_(?:%s)_OP\(\s*\w+\s*,\s*(\w+)\s*," % "|".join(families), open(ops_def).read(), re.M)
text = open(mlir).read()
missing = [name for name in rows if not re.search(r"=\s*ejit\.%s\s" % name, text)]
if not rows or missing:
    sys.exit("%s: no round-trip test for op table rows: %s" % (mlir, ", ".join(missing) or "(no rows found)"))
print("%d op table rows (%s), all tested" % (len(rows), ",".join(families)))
