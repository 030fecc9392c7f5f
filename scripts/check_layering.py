#!/usr/bin/env python3
"""Check the include layering of the source tree (which folder may include which).

Usage: check_layering.py [ROOT]      check the tree at ROOT (default: this repo)
       check_layering.py --self-test check the checker on small made-up trees
"""
import os
import re
import sys
import tempfile

SCANNED_DIRS = ["lib", "tools", "bench", "examples"]
EXTENSIONS = (".h", ".cpp", ".def", ".inc")
PUBLIC = "include/ejit"  # public headers: anyone may include them
# Where a quoted include is looked for after the including file's own folder.
# lib/ is there because tools/ejit builds with -I lib ("jit/Segments.h").
SEARCH_DIRS = ["include", "lib", "lib/dialect", "lib/conversion", "lib/pipeline", "dialects/ejit"]

# Layer (folder) -> folders its files may include from (besides include/ejit).
SUPPORT = {"lib/support"}
CUDA = SUPPORT | {"lib/cuda"}
CORE = CUDA | {"lib/core"}
INTERP = CORE | {"lib/interp"}
TRACE = INTERP | {"lib/trace"}
# Running compiled code without a compiler: packed kernels and step programs (in libejit).
RUNTIME = TRACE | {"lib/runtime"}
AUTODIFF = RUNTIME | {"lib/autodiff"}
DIALECT = {"lib/dialect", "dialects/ejit", "lib/support"}
CONVERSION = DIALECT | {"lib/conversion"}
PIPELINE = CONVERSION | RUNTIME | {"lib/pipeline"}  # never lib/backend or lib/jit
BACKEND = PIPELINE | {"lib/backend/common"}
LAYERS = {
    "lib/support": SUPPORT, "lib/cuda": CUDA, "lib/core": CORE, "lib/interp": INTERP,
    "lib/trace": TRACE, "lib/runtime": RUNTIME, "lib/autodiff": AUTODIFF,
    "lib/io": AUTODIFF | {"lib/io", "lib/nn"}, "lib/nn": AUTODIFF | {"lib/io", "lib/nn"},
    # TensorBoard summaries: a library of its own (ejit::summary) above lib/nn.
    "lib/summary": AUTODIFF | {"lib/io", "lib/nn", "lib/summary"},
    # Distributed training: a library of its own (ejit::distributed) above lib/nn.
    "lib/distributed": AUTODIFF | {"lib/io", "lib/nn", "lib/distributed"},
    "lib/dialect": DIALECT, "lib/conversion": CONVERSION, "lib/pipeline": PIPELINE,
    "lib/backend/common": BACKEND,
    "lib/backend/cpu": BACKEND | {"lib/backend/cpu"},  # never lib/backend/gpu
    "lib/backend/gpu": BACKEND | {"lib/backend/gpu"},  # never lib/backend/cpu
    "lib/jit": {"lib", "dialects/ejit"},
    "tools/ejit-opt": DIALECT | {"tools/ejit-opt", "lib/conversion", "lib/pipeline"},
    # The tool, benchmarks and examples: the public API and their own folder only.
    "tools/ejit": {"tools/ejit"}, "bench": {"bench"}, "examples": {"examples"},
}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def under(path, folder):
    return path == folder or path.startswith(folder + "/")


def layer_of(path):
    """(layer, True) for the longest known layer holding path, else (the folder that should be one, False)."""
    known = [l for l in list(LAYERS) + [PUBLIC, "dialects/ejit"] if under(path, l)]
    if known:
        return max(known, key=len), True
    parts = path.split("/")[:-1]
    depth = 3 if parts[:2] == ["lib", "backend"] else 2
    return "/".join(parts[:depth]), False


def resolve(root, including, name):
    """The repo-relative path a quoted include names, or None (generated, system, outside)."""
    for folder in [os.path.dirname(including)] + SEARCH_DIRS:
        path = os.path.normpath(os.path.join(folder, name)).replace(os.sep, "/")
        if path.startswith("../") or path == "..":
            continue  # outside the repo
        if os.path.isfile(os.path.join(root, path)):
            return path
    return None


def source_files(root):
    for top in SCANNED_DIRS:
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(EXTENSIONS):
                    yield os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")


def check(root):
    """Returns (problems, files scanned, includes checked)."""
    problems, unknown, n_files, n_includes = [], set(), 0, 0
    for path in source_files(root):
        n_files += 1
        layer, known = layer_of(path)
        if not known:
            if layer not in unknown:
                unknown.add(layer)
                problems.append(f"{path}: {layer} is not a known layer; add it to scripts/check_layering.py")
            continue
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            for line_no, line in enumerate(f, 1):
                match = INCLUDE_RE.match(line)
                target = match and resolve(root, path, match.group(1))
                if not target:
                    continue
                n_includes += 1
                allowed = LAYERS[layer] | {PUBLIC}
                if not any(under(target, folder) for folder in allowed):
                    problems.append(f'{path}:{line_no}: includes "{match.group(1)}" (resolves to {target}): '
                                    f"layer {layer} may not include layer {layer_of(target)[0]}")
    return problems, n_files, n_includes


def run(root):
    problems, n_files, n_includes = check(root)
    for problem in problems:
        print(problem)
    summary = f"layering: {n_files} files, {n_includes} includes checked"
    print(f"{summary}, {len(problems)} violations" if problems else f"{summary}, no violations")
    return 1 if problems else 0


CLEAN_TREE = {
    "include/ejit/tensor.h": "",
    "lib/support/check.h": "#include <cstdio>\n",
    "lib/core/tensor.cpp": '#include "../support/check.h"\n#include "ejit/tensor.h"\n',
    "lib/dialect/EjitDialect.h": '#include "mlir/IR/Dialect.h"\n#include "ejit/EjitDialect.h.inc"\n',
    "lib/backend/common/Lowering.h": '#include "EjitDialect.h"\n',
    "lib/backend/cpu/Cpu.cpp": '#include "../common/Lowering.h"\n#include "../../core/tensor.cpp"\n',
    "lib/jit/jit.cpp": '#include "../backend/cpu/Cpu.cpp"\n',
    "tools/ejit/main.cpp": '#include "ejit/tensor.h"\n#include "args.h"\n#include <vector>\n',
    "tools/ejit/args.h": "",
    "bench/jit_bench.cpp": '#include "hand_fused.h"\n',
    "bench/hand_fused.h": "",
}
# Each bad tree: the clean tree plus one file; the text its single problem must contain.
BAD_TREES = [
    ({"lib/backend/gpu/Gpu.h": "", "lib/backend/cpu/Bad.cpp": '#include "../gpu/Gpu.h"\n'},
     "layer lib/backend/cpu may not include layer lib/backend/gpu"),
    ({"tools/ejit/run.cpp": '#include "jit/jit.cpp"\n'}, "layer tools/ejit may not include layer lib/jit"),
    ({"lib/pipeline/Pipeline.cpp": '#include "../jit/jit.cpp"\n'},
     "layer lib/pipeline may not include layer lib/jit"),
    ({"lib/foo/foo.cpp": ""}, "lib/foo is not a known layer"),
    ({"lib/backend/tpu/tpu.cpp": ""}, "lib/backend/tpu is not a known layer"),
]


def self_test():
    failures = []
    for extra, expected in [({}, None)] + BAD_TREES:
        with tempfile.TemporaryDirectory() as root:
            for path, text in {**CLEAN_TREE, **extra}.items():
                os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
                with open(os.path.join(root, path), "w") as f:
                    f.write(text)
            problems = check(root)[0]
        ok = not problems if expected is None else len(problems) == 1 and expected in problems[0]
        if not ok:
            failures.append(f"tree {sorted(extra)}: expected {expected or 'no problems'}, got {problems}")
    for failure in failures:
        print("FAIL:", failure)
    print(f"layering self-test: {1 + len(BAD_TREES) - len(failures)}/{1 + len(BAD_TREES)} trees as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--self-test"]:
        sys.exit(self_test())
    if len(args) > 1 or (args and args[0].startswith("-")):
        sys.exit(__doc__)
    sys.exit(run(args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
