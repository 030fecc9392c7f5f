#!/usr/bin/env python3
"""The README's table of environment variables lists exactly the rows of lib/support/options.def."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
read = set(re.findall(r'^EJIT_OPTION\(\w+, "(\w+)"', (root / "lib/support/options.def").read_text(), re.M))
readme = (root / "README.md").read_text()
table = readme.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", "\n".join(l.split("|")[1] for l in table.splitlines()
                                                                 if l.startswith("| `"))))
problems = [f"{v} is read (options.def) but not in README.md's table" for v in sorted(read - documented)]
problems += [f"{v} is in README.md's table but never read (add it to options.def or drop it)"
             for v in sorted(documented - read)]
for p in problems:
    print(p)
print(f"options: {len(read)} variables, {'no problems' if not problems else f'{len(problems)} problems'}")
sys.exit(1 if problems else 0)
