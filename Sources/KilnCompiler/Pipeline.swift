import KilnGraph

/// The optimizer: the passes every program goes through, in order.
///
/// merge scans → sink summed products → sink input products → hoist loop invariants → fold constants → simplify → CSE → sink reshapes → mask extremum gradients → DCE → fuse elementwise → fuse matmul epilogues → fuse windows into matmuls → fuse pooling into products → fuse products into folds → fuse pooling gradients into filter gradients → plan memory
public enum Pipeline {
    /// A named pass.
    public struct Pass: Sendable {
        /// The pass's name, as debug output shows it.
        public let name: String
        /// The transformation.
        public let run: @Sendable (Function) -> Function
    }

    /// The passes, in the order they run.
    public static let passes: [Pass] = [
        Pass(name: "merge-scans", run: MergeScans.run),
        Pass(name: "sink-summed-products", run: SinkSummedProducts.run),
        Pass(name: "sink-input-products", run: SinkInputProducts.run),
        Pass(name: "hoist-loop-invariants", run: HoistLoopInvariants.run),
        Pass(name: "fold-constants", run: FoldConstants.run),
        Pass(name: "simplify-algebra", run: SimplifyAlgebra.run),
        Pass(name: "eliminate-common-subexpressions", run: EliminateCommonSubexpressions.run),
        Pass(name: "sink-reshapes", run: SinkReshapes.run),
        Pass(name: "mask-extremum-gradients", run: MaskExtremumGradients.run),
        Pass(name: "eliminate-dead-code", run: EliminateDeadCode.run),
        Pass(name: "fuse-elementwise", run: FuseElementwise.run),
        Pass(name: "fuse-matmul-epilogue", run: FuseMatmulEpilogue.run),
        Pass(name: "fuse-windows-into-matmul", run: FuseWindowsIntoMatmul.run),
        Pass(name: "fuse-pooling-into-product", run: FusePoolingIntoProduct.run),
        Pass(name: "fuse-product-into-fold", run: FuseProductIntoFold.run),
        Pass(name: "fuse-pooling-gradient-into-filter-gradient", run: FusePoolingGradientIntoFilterGradient.run),
        Pass(name: "plan-memory", run: PlanMemory.run),
    ]

    /// Runs every pass over `function`. The verifier checks the graph after each pass in
    /// debug builds (and with `KILN_VALIDATE=1`); `KILN_DEBUG=3` prints the graph after
    /// each pass and `KILN_DEBUG=2` the final one.
    ///
    /// - Parameter upTo: The name of the last pass to run; all of them when `nil`.
    /// - Throws: ``KilnError`` if a pass produced an invalid graph (a compiler bug), naming the pass.
    public static func optimize(_ function: Function, upTo last: String? = nil,
                                switches: DebugSwitches = .current) throws -> Function {
        var current = function
        switches.log(3, "--- input graph\n\(current.text)")
        for pass in passes {
            current = pass.run(current)
            if verifies(switches) {
                do {
                    try current.graph.verify()
                } catch let error as KilnError {
                    throw KilnError(.invalidGraph, "the \(pass.name) pass produced an invalid graph: \(error.message)")
                }
            }
            switches.log(3, "--- after \(pass.name)\n\(current.text)")
            if pass.name == last { break }
        }
        if switches.level == 2 { switches.log(2, "--- optimized graph\n\(current.text)") }
        return current
    }

    private static func verifies(_ switches: DebugSwitches) -> Bool {
        #if DEBUG
        return true
        #else
        return switches.validate
        #endif
    }
}
