import KilnGraph

/// Which assigned values a loop kernel can write straight into their variable's storage,
/// instead of into the arena and then copying them over at the end of the run (an optimizer
/// step would otherwise copy every weight and every moment once more per step).
///
/// `assign v, x` is done in place when writing `x` over `v` cannot change what any read
/// sees, and a failing run still leaves `v` as it was:
/// - `x` is computed by an elementwise member of a loop kernel and has `v`'s shape, which is
///   the kernel's iteration shape, so element `i` of `x` is written where element `i` of `v`
///   was read;
/// - the kernel reads `v` only in members computed no later than `x` in the loop body (not
///   in reductions, which accumulate after the body), and no later kernel reads `v`;
/// - `v` is not a result (its old value would be returned) and `x` is not an output;
/// - no kernel after it can fail, so a fault still leaves every variable unchanged.
enum UpdateInPlace {
    /// The values written in place, each with the variable it overwrites.
    static func pairs(_ function: Function, kernels: [KernelSpec]) -> [NodeID: NodeID] {
        let nodes = function.nodes
        let outputRoots = Set(function.outputs.values.map(function.aliasRoot))
        var kernelOf: [NodeID: Int] = [:]
        for (k, kernel) in kernels.enumerated() { for member in kernel.members { kernelOf[member] = k } }
        let lastFault = kernels.lastIndex { kernel in kernel.members.contains { nodes[$0.index].op.canFault } } ?? -1

        var pairs: [NodeID: NodeID] = [:]
        for node in nodes {
            guard case .assign = node.op else { continue }
            let variable = node.inputs[0], value = function.aliasRoot(node.inputs[1])
            guard value != variable, pairs[value] == nil, !outputRoots.contains(variable), !outputRoots.contains(value),
                  let k = kernelOf[value], kernels[k].group != nil, k > lastFault,
                  nodes[value.index].op.isLoopElementwise,
                  nodes[value.index].type == nodes[variable.index].type,
                  kernels[k].loop?.shape == nodes[value.index].type.shape
            else { continue }
            // Later kernels must not read the old value.
            let readLater = kernels[(k + 1)...].contains { $0.inputs.contains(variable) }
            guard !readLater else { continue }
            // Inside the kernel, only members up to `value` read it, elementwise at the same index.
            let members = kernels[k].members
            guard let position = members.firstIndex(of: value) else { continue }
            let readers = members.enumerated().filter { _, member in
                nodes[member.index].inputs.contains { function.aliasRoot($0) == variable }
            }
            let safe = readers.allSatisfy { offset, member in
                let op = nodes[member.index].op
                if case .matmul = op { return true }  // GEMMs run before the loop
                // A broadcast or same-type cast is no copy in a block loop: later members would
                // read the variable's memory through it.
                if case .broadcast = op { return false }
                if case .cast(let dtype) = op, dtype == nodes[member.index].type.dtype,
                   dtype == nodes[nodes[member.index].inputs[0].index].type.dtype { return false }
                return offset <= position && op.isLoopElementwise
                    && nodes[member.index].type.shape == nodes[value.index].type.shape
            }
            if safe { pairs[value] = variable }
        }
        return pairs
    }
}
