#include "OutlineMath.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace ejit::detail {

namespace {

/// An op that ejit-math-polynomials (or AccurateTrig) expands into many: f32 in, f32 out.
bool expanded_math(mlir::Operation* op) {
  if (!llvm::isa<mlir::math::ExpOp, mlir::math::ExpM1Op, mlir::math::LogOp, mlir::math::Log1pOp, mlir::math::TanhOp,
                 mlir::math::ErfOp, mlir::math::SinOp, mlir::math::CosOp>(op))
    return false;
  auto f32 = [](mlir::Type t) { return t.isF32(); };
  return op->getNumResults() == 1 && f32(op->getResult(0).getType()) && llvm::all_of(op->getOperandTypes(), f32);
}

/// libm's function for an op whose expansion is accurate only for |x| <= kLibmAbove, else "".
const char* libm_fallback(mlir::OperationName name) {
  if (name.getStringRef() == mlir::math::SinOp::getOperationName()) return "sinf";
  if (name.getStringRef() == mlir::math::CosOp::getOperationName()) return "cosf";
  return "";
}

/// One op name and attributes, and where a function applies it.
struct Uses {
  mlir::OperationName name;
  mlir::DictionaryAttr attributes;
  std::vector<mlir::Operation*> ops;
};

/// A private function `name` of one `like` op on arguments and result of type `type`,
/// added to `symbols` (which renames it if the name is taken).
mlir::func::FuncOp make_function(mlir::SymbolTable& symbols, mlir::Operation* like, const std::string& name, mlir::Type type) {
  mlir::OpBuilder b(like->getContext());
  const llvm::SmallVector<mlir::Type> inputs(like->getNumOperands(), type);
  auto fn = mlir::func::FuncOp::create(like->getLoc(), name, b.getFunctionType(inputs, {type}));
  fn.setPrivate();
  mlir::Block* body = fn.addEntryBlock();
  b.setInsertionPointToStart(body);
  mlir::OperationState state(like->getLoc(), like->getName());
  state.addOperands(body->getArguments());
  state.addTypes(type);
  state.addAttributes(like->getAttrs());
  mlir::Operation* op = b.create(state);
  b.create<mlir::func::ReturnOp>(like->getLoc(), op->getResults());
  symbols.insert(fn);
  return fn;
}

}  // namespace

int outline_math(mlir::ModuleOp module) {
  mlir::MLIRContext* context = module.getContext();
  mlir::SymbolTable symbols(module);
  std::vector<mlir::func::FuncOp> functions;
  for (auto f : module.getOps<mlir::func::FuncOp>())
    if (!f.isExternal() && !f->hasAttr(kMathFunctionAttr)) functions.push_back(f);
  int outlined = 0;
  for (mlir::func::FuncOp f : functions) {
    std::vector<Uses> found;  // in order of first use: names made in a stable order
    f.walk([&](mlir::Operation* op) {
      if (!expanded_math(op)) return;
      auto same = [&](const Uses& u) { return u.name == op->getName() && u.attributes == op->getAttrDictionary(); };
      auto it = std::find_if(found.begin(), found.end(), same);
      if (it == found.end()) it = found.insert(found.end(), Uses{op->getName(), op->getAttrDictionary(), {}});
      it->ops.push_back(op);
    });
    for (const Uses& u : found) {
      const char* libm = libm_fallback(u.name);
      if (u.ops.size() < kMinMathUses && !*libm) continue;
      mlir::Operation* like = u.ops.front();
      const std::string name = fmt::format("{}_{}_f32", f.getName().str(), u.name.stripDialect().str());
      mlir::Type f32 = like->getResult(0).getType();
      llvm::SmallVector<mlir::Attribute> variants;
      for (unsigned width : kMathVectorWidths) {
        mlir::func::FuncOp vector = make_function(symbols, like, fmt::format("{}_v{}", name, width), mlir::VectorType::get({width}, f32));
        vector->setAttr(kMathFunctionAttr, mlir::UnitAttr::get(context));
        if (*libm) vector->setAttr(kMathLibmAttr, mlir::StringAttr::get(context, libm));
        variants.push_back(mlir::StringAttr::get(context, vector.getName()));
      }
      mlir::func::FuncOp scalar = make_function(symbols, like, name, f32);
      scalar->setAttr(kMathFunctionAttr, mlir::ArrayAttr::get(context, variants));
      if (*libm) scalar->setAttr(kMathLibmAttr, mlir::StringAttr::get(context, libm));
      for (mlir::Operation* op : u.ops) {
        mlir::OpBuilder b(op);
        auto call = b.create<mlir::func::CallOp>(op->getLoc(), scalar, op->getOperands());
        op->replaceAllUsesWith(call);
        op->erase();
        ++outlined;
      }
    }
  }
  return outlined;
}

void mark_math_functions(mlir::ModuleOp module) {
  mlir::MLIRContext* context = module.getContext();
  mlir::OpBuilder b(context);
  auto pair = [&](const std::string& key, const std::string& value) { return b.getArrayAttr({b.getStringAttr(key), b.getStringAttr(value)}); };
  for (auto f : module.getOps<mlir::LLVM::LLVMFuncOp>()) {
    const mlir::Attribute mark = f->getAttr(kMathFunctionAttr);
    if (!mark) continue;
    f->removeAttr(kMathFunctionAttr);
    f.setLinkage(mlir::LLVM::Linkage::Internal);
    const auto none = mlir::LLVM::ModRefInfo::NoModRef;
    f.setMemoryAttr(mlir::LLVM::MemoryEffectsAttr::get(context, {none, none, none}));
    f.setNoUnwind(true);
    f.setWillReturn(true);
    llvm::SmallVector<mlir::Attribute> passthrough;
    if (auto libm = f->getAttrOfType<mlir::StringAttr>(kMathLibmAttr)) {
      passthrough.push_back(pair(kLLVMMathLibmAttr, libm.str()));
      f->removeAttr(kMathLibmAttr);
    }
    auto variants = llvm::dyn_cast<mlir::ArrayAttr>(mark);
    if (!variants) {
      passthrough.push_back(pair(kLLVMMathAttr, "vector"));
      f.setPassthroughAttr(b.getArrayAttr(passthrough));
      continue;
    }
    // The vector function ABI's name for "this function on N lanes, no mask, every argument
    // a vector" (llvm/IR/VFABIDemangler.h), one per variant.
    std::string mappings;
    for (size_t i = 0; i < variants.size(); ++i)
      mappings += fmt::format("{}_ZGV_LLVM_N{}{}_{}({})", i ? "," : "", kMathVectorWidths[i], std::string(f.getNumArguments(), 'v'),
                              f.getName().str(), llvm::cast<mlir::StringAttr>(variants[i]).str());
    passthrough.push_back(pair(kLLVMMathAttr, "scalar"));
    passthrough.push_back(pair("vector-function-abi-variant", mappings));
    f.setPassthroughAttr(b.getArrayAttr(passthrough));
  }
}

}  // namespace ejit::detail
