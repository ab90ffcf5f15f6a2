import KilnGraph

/// The pools of a loop kernel (``FusePoolingIntoProduct``): a product's epilogue pooled
/// chunk by chunk of rows in the loop's parts, or else after the whole loop.
extension CRenderer {
    /// A loop kernel with pools: a convolution's max pooling, when nothing else reads its
    /// activations, as one call pooling its windows' products (``renderWindowPool(_:_:)``);
    /// else the product and its epilogue in parts, each chunk's rows pooled right after the
    /// loop writes them; or, when the loop does not run so, the loop, then each pooling over
    /// the whole value it reads.
    ///
    /// - Throws: ``KilnError`` if the loop cannot be rendered (a fusion bug).
    func renderPooledLoopKernel(_ k: Int, _ kernel: KernelSpec, _ plan: LoopPlan) throws -> KernelCode {
        if let call = renderWindowPool(kernel, plan) { return call }
        let loop = plan.withoutPools
        if let product = rowProduct(loop), let chunks = poolChunks(plan),
           let rows = try renderRowBlockLoop(k, kernel, loop, product: product, pools: chunks) {
            return rows
        }
        let code = try renderLoopKernel(k, kernel, loop)
        return KernelCode(ahead: code.ahead, body: code.body + plan.pools.map(wholePool).joined())
    }

    /// Pools computed chunk by chunk of a row-blocked loop's rows.
    struct PoolChunks {
        /// Rows of the loop one row of windows covers: chunks and parts are whole multiples.
        var unit: Int
        /// The calls pooling rows `[q, qe)` of the loop, each line at `indent`.
        var code: (_ q: String, _ qe: String, _ indent: String) -> String
    }

    /// The chunk calls of a plan's pools, or `nil` if one of them does not read the loop's
    /// own rows in whole rows of windows.
    func poolChunks(_ plan: LoopPlan) -> PoolChunks? {
        let shape = plan.shape, function = schedule.function
        guard let length = shape[shape.rank - 1].staticSize else { return nil }
        var unit: Int? = nil
        var calls: [(String, String, String) -> String] = []
        for pool in plan.pools {
            let node = nodes[pool.index], windows = nodes[node.inputs[0].index].type.shape
            guard case .reduce(_, let axes, _) = node.op,
                  nodes[function.aliasRoot(node.inputs[0]).index].type.shape == shape,
                  windows[windows.rank - 1] == .size(length),
                  let rows = FusePoolingIntoProduct.unitRows(windows: windows, axes: axes), unit == nil || unit == rows,
                  let first = axes.min()
            else { return nil }
            unit = rows
            // A chunk's windows: its rows of windows, then the window shape's axes from the first reduced one.
            let inner = Array(windows.dims[first..<(windows.rank - 1)])
            let chunkAxes = axes.map { $0 - first + 1 }
            let kept = inner.enumerated().filter { !axes.contains($0.offset + first) }.compactMap(\.element.staticSize)
            let outputs = kept.reduce(1, *) * length
            let x = schedule.pointer(function.aliasRoot(node.inputs[0])), y = schedule.pointer(pool)
            calls.append { q, qe, indent in
                "\(indent){\n" + reduceCall(pool, dims: ["(\(qe) - \(q)) / \(rows)"] + inner.map(CSyntax.dim) + ["\(length)"],
                                            axes: chunkAxes, from: "\(x) + (\(q))*\(length)",
                                            to: "\(y) + (\(q)) / \(rows) * \(outputs)", indent: indent + "    ")
                    + meanDivision(pool, over: windows, from: "(\(q)) / \(rows) * \(outputs)", to: "(\(qe)) / \(rows) * \(outputs)",
                                   indent: indent + "    ")
                    + "\(indent)}\n"
            }
        }
        guard let unit else { return nil }
        return PoolChunks(unit: unit) { q, qe, indent in calls.map { $0(q, qe, indent) }.joined() }
    }

    /// Pooling `id` over the whole value it reads, after the loop that wrote it.
    private func wholePool(_ id: NodeID) -> String {
        let node = nodes[id.index], windows = nodes[node.inputs[0].index].type.shape
        guard case .reduce(_, let axes, _) = node.op else { return "" }
        let x = schedule.pointer(schedule.function.aliasRoot(node.inputs[0]))
        return "    {\n" + reduceCall(id, dims: windows.dims.map(CSyntax.dim), axes: axes, from: x, to: schedule.pointer(id),
                                      indent: "        ")
            + "    }\n" + closeLoops(0, reductions: [id], shape: windows)
    }
}
