import KilnGraph

extension Function {
    /// The printer text of the live nodes, each followed by its kernel group once fusion has
    /// run (`  # k2`; windows a product gathers itself, `  # windows gathered by %7`), then
    /// the results and, once planned, the arena size:
    ///
    /// ```
    /// %4 = add %2, %3 : f32[?,16]  # k1
    /// %5 = relu %4 : f32[?,16]  # k1
    /// results: y = %5
    /// ```
    public var text: String {
        let live = liveness
        var lines: [String] = []
        let kernelOf = kernelNumbers()
        let consumers = windowed.isEmpty ? [] : self.consumers, resultIDs = windowed.isEmpty ? [] : self.results
        for (index, node) in nodes.enumerated() {
            let id = NodeID(index)
            switch node.op {
            case .placeholder, .variable:
                break  // the program's inputs and state are printed even when unused
            case .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape,
                 .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
                 .logSoftmax, .randomUniform, .stopGradient, .assign, .scan, .scanResult:
                guard live[index] else { continue }
            }
            var line = Printer.line(node, id: id)
            if let k = kernelOf[id] { line += "  # k\(k)" }
            if windowed.contains(id),
               let reader = FuseWindowsIntoMatmul.onlyReader(of: id, consumers: consumers, results: resultIDs, in: self) {
                line += "  # windows gathered by \(reader)"
            }
            if let windows = imageWindows(readBy: id) {
                line += "  # reads the windows of \(windows) in place"
            }
            if let product = foldedProduct(readBy: id) {
                line += "  # folds the tiles of \(product) as they are made"
            }
            lines.append(line)
        }
        let results = outputs.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }
        lines.append("results: " + (results.isEmpty ? "(none)" : results.joined(separator: ", ")))
        if let memory {
            lines.append("arena: \(memory.arenaBytes) bytes (unplanned \(memory.unplannedBytes))")
        }
        return lines.joined(separator: "\n")
    }

    /// The kernel number of each node a kernel computes, once fusion has run.
    func kernelNumbers() -> [NodeID: Int] {
        guard !groups.isEmpty else { return [:] }
        var result: [NodeID: Int] = [:]
        for (k, kernel) in (memory?.kernels ?? kernels()).enumerated() {
            for member in kernel.members { result[member] = k }
        }
        return result
    }
}
