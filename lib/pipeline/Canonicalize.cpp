// ejit-canonicalize: upstream's `canonicalize` (the same patterns and driver options), except
// that in the JIT's context its pattern set is built once per set of loaded dialects instead
// of at every run of a pass manager.
//
// Why: MLIR 19's PassManager::run re-initializes every pass on every run (it compares a
// pipeline key that it never stores), and the canonicalizer's initialization collects and
// freezes the canonicalization patterns of every registered op. With 12 canonicalizers per
// CPU compile that was a tenth of a cold compile's instructions (8M for the W1 chain).
#include "Canonicalize.h"

#include <map>
#include <memory>
#include <mutex>

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ejit::detail {
namespace {

using PatternSet = std::shared_ptr<const mlir::FrozenRewritePatternSet>;

/// The JIT's contexts (kept for the process's life) and their pattern sets, built once
/// per context (patterns name its ops) and registry hash (a dialect loaded later brings its
/// patterns into a new set).
struct Persistent {
  std::mutex mu;
  std::map<mlir::MLIRContext*, std::map<size_t, PatternSet>> sets;
};
Persistent& persistent() {
  static Persistent& p = *new Persistent;  // leaked, as every static the compiler reads
  return p;
}
bool is_persistent(mlir::MLIRContext* context) {
  Persistent& p = persistent();
  std::lock_guard lock(p.mu);
  return p.sets.count(context) != 0;
}

/// Every loaded dialect's and registered op's canonicalization patterns, as upstream's
/// canonicalizer collects them.
PatternSet collect_patterns(mlir::MLIRContext* context) {
  mlir::RewritePatternSet patterns(context);
  for (mlir::Dialect* dialect : context->getLoadedDialects()) dialect->getCanonicalizationPatterns(patterns);
  for (mlir::RegisteredOperationName op : context->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, context);
  return std::make_shared<const mlir::FrozenRewritePatternSet>(std::move(patterns));
}

/// A persistent context's pattern set for its dialects of now.
PatternSet kept_patterns(mlir::MLIRContext* context) {
  Persistent& p = persistent();
  std::lock_guard lock(p.mu);
  PatternSet& set = p.sets[context][static_cast<size_t>(context->getRegistryHash())];
  if (!set) set = collect_patterns(context);
  return set;
}

class CachedCanonicalizer : public mlir::PassWrapper<CachedCanonicalizer, mlir::OperationPass<>> {
 public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CachedCanonicalizer)
  llvm::StringRef getArgument() const override { return "ejit-canonicalize"; }
  llvm::StringRef getDescription() const override {
    return "canonicalize, with the JIT context's pattern set built once";
  }
  mlir::LogicalResult initialize(mlir::MLIRContext* context) override {
    patterns_ = is_persistent(context) ? nullptr : collect_patterns(context);
    return mlir::success();
  }
  void runOnOperation() override {
    mlir::GreedyRewriteConfig config;  // upstream canonicalize's defaults
    config.useTopDownTraversal = true;
    config.enableRegionSimplification = mlir::GreedySimplifyRegionLevel::Normal;
    config.maxIterations = 10;
    const PatternSet patterns = patterns_ ? patterns_ : kept_patterns(&getContext());
    (void)mlir::applyPatternsAndFoldGreedily(getOperation(), *patterns, config);
  }

 private:
  PatternSet patterns_;  // null in the persistent context
};

}  // namespace

void register_canonicalize_pass() {
  static const bool done = [] {
    mlir::PassRegistration<CachedCanonicalizer>();
    return true;
  }();
  (void)done;
}

void keep_canonicalization_patterns(mlir::MLIRContext* context) {
  Persistent& p = persistent();
  std::lock_guard lock(p.mu);
  p.sets.try_emplace(context);
}

}  // namespace ejit::detail
