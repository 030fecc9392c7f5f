"""Splits an `ejit dump --stage=ptx` listing into one file per PTX module (ptxas takes one)."""
import sys

text = open(sys.argv[1]).read()
parts = text.split("// ---- PTX module")[1:]
for i, part in enumerate(parts):
    with open(f"{sys.argv[2]}.{i}", "w") as f:
        f.write("// PTX module" + part)
print(len(parts))
