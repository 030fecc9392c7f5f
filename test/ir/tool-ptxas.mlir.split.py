"""Splits an `ejit dump --stage=ptx` listing into one file per GPU module (ptxas takes one)."""
import sys

text = open(sys.argv[1]).read()
parts = text.split("// ---- gpu module")[1:]
for i, part in enumerate(parts):
    with open(f"{sys.argv[2]}.{i}", "w") as f:
        f.write("// gpu module" + part)
print(len(parts))
