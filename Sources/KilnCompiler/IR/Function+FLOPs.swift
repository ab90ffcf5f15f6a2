import KilnGraph

extension Function {
    /// The floating-point operations of the matrix products a program of this function runs
    /// at batch size `batch`: 2 m n k for each product, times the steps of the loops it runs in.
    ///
    /// A scan's body counts once per step, nested scans multiplying their lengths. The
    /// elementwise work is not counted, nor are products no result or assign needs (the
    /// compiler drops them), in the function or in a scan's body. The function is counted as it
    /// stands: to count what a compiled program runs, count the function the optimizer's
    /// rewriting passes make (`Pipeline.optimize(_:upTo: "eliminate-dead-code")`), which, for
    /// one, merge a training step's two copies of a forward loop into one.
    public func matmulFLOPs(batch: Int) -> Double {
        Self.matmulFLOPs(nodes, live: liveness, batch: batch)
    }

    private static func matmulFLOPs(_ nodes: [NodeDef], live: [Bool], batch: Int) -> Double {
        var total = 0.0
        for (node, isLive) in zip(nodes, live) where isLive {
            switch node.op {
            case .matmul(let transposeA, _):
                let left = nodes[node.inputs[0].index].type.shape.resolved(batch: batch)
                let result = node.type.shape.resolved(batch: batch)
                guard result.count >= 2, left.count >= 2 else { continue }
                let k = transposeA ? left[left.count - 2] : left[left.count - 1]
                total += 2 * Double(result.reduce(1, *)) * Double(k)
            case .scan(let scan):
                let body = matmulFLOPs(scan.body, live: scan.body.reached(from: scan.results), batch: batch)
                total += Double(scan.length) * body
            default:
                continue
            }
        }
        return total
    }
}
