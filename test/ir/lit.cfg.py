# lit configuration for the ejit dialect's IR tests (test/ir/*.mlir).
import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "EJIT_IR"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "op_table_coverage.py", "tool-ptxas.mlir.split.py"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ejit_obj_root, "test", "ir")

llvm_config.with_system_environment(["HOME", "TMP", "TEMP"])
# No disk cache (never ~/.cache/ejit, and none shared by tests running at the same time);
# a test that is about the cache names its own folder (%t).
config.environment["EJIT_CACHE_DIR"] = "off"
llvm_config.use_default_substitutions()  # FileCheck, not, count from llvm_tools_dir

llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["ejit-opt"], [config.ejit_tools_dir])
# %ejit: the command-line tool (tools/ejit); "ejit" alone would also match inside ejit-opt.
config.substitutions.append(("%ejit\\b(?!_)", os.path.join(config.ejit_tools_dir, "ejit")))
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%ejit_src", config.ejit_src_root))

# ptxas (CUDA toolkit) checks the ptx stage's output when it is installed.
ptxas = os.environ.get("EJIT_PTXAS", "/usr/local/cuda/bin/ptxas")
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
