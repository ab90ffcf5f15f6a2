import KilnGraph

/// What a kernel spends its time on; profiles group kernels by it.
public enum KernelCategory: String, Sendable, CaseIterable {
    /// Matrix products through the runtime.
    case gemm = "GEMM"
    /// A loop that computes new values of variables (an optimizer's update).
    case update = "optimizer update"
    /// A fused loop of elementwise ops.
    case elementwise = "fused elementwise"
    /// A loop with a sum or mean (and the elementwise ops fused into it).
    case reduction = "reduction"
    /// Softmax or log-softmax.
    case softmax = "softmax"
    /// Transpose, slice, pad, concatenation.
    case movement = "data movement"
    /// Gather, scatter-add, one-hot, argmax.
    case indexing = "indexing"
    /// A loop over steps (a scan), with every kernel of its body.
    case loop = "loop over steps"
}

extension Function {
    /// The category of what each of `kernels`, this function's kernels, computes besides its
    /// matrix products: the first that applies of update, softmax, indexing, data movement,
    /// reduction, elementwise; ``KernelCategory/gemm`` for a kernel of matrix products only.
    public func categories(of kernels: [KernelSpec]) -> [KernelCategory] {
        let assigned = Set(nodes.compactMap { node -> NodeID? in
            guard case .assign = node.op else { return nil }
            return aliasRoot(node.inputs[1])
        })
        return kernels.map { category(of: $0, assigned: assigned) }
    }

    private func category(of kernel: KernelSpec, assigned: Set<NodeID>) -> KernelCategory {
        var found: Set<KernelCategory> = []
        var products = 0
        for member in kernel.members {
            switch nodes[member.index].op {
            case .matmul:
                products += 1
            case .softmax, .logSoftmax:
                found.insert(.softmax)
            case .gather, .scatterAdd, .oneHot, .argmax:
                found.insert(.indexing)
            case .transpose, .slice, .pad, .patches, .foldPatches, .concatenate:
                found.insert(.movement)
            case .scan:
                found.insert(.loop)
            case .reduce, .extremumGradient:
                found.insert(.reduction)
            case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reshape,
                 .broadcast, .randomUniform, .stopGradient, .assign, .scanResult:
                break
            }
            if assigned.contains(member) { found.insert(.update) }
        }
        // A product folded into images as it is made is a GEMM's work.
        if products == kernel.members.count || kernel.members.count == 2 && foldedProducts.contains(kernel.members[0]) {
            return .gemm
        }
        let order: [KernelCategory] = [.loop, .update, .softmax, .indexing, .movement, .reduction]
        return order.first(where: found.contains) ?? .elementwise
    }
}
