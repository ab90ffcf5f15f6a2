import KilnGraph

/// One kernel of a fused function: the nodes it computes, the values it reads and the
/// values it writes to memory.
public struct KernelSpec: Sendable {
    /// The nodes computed, in graph order.
    public var members: [NodeID]
    /// The fusion group, for a loop kernel.
    public var group: Int?
    /// The values read that other kernels (or feeds, variables, constants) provide.
    public var inputs: [NodeID]
    /// The members whose values are written to memory (read elsewhere, or results).
    public var outputs: [NodeID]
    /// Members written to memory but used only inside the kernel (a GEMM result an epilogue reads).
    public var scratch: [NodeID]
    /// How the kernel loops, if it is a loop kernel; `nil` for a kernel that calls a runtime function.
    public var loop: LoopPlan? = nil
}

extension Function {
    /// The kernels in execution order: one per fusion group, one per other computing node
    /// (aliases, leaves and assigns have none, and neither do values loops compute inline).
    public func kernels() -> [KernelSpec] {
        let live = liveness
        let consumers = self.consumers
        let results = self.results
        var specs: [KernelSpec] = []
        var groupKernel: [Int: Int] = [:]
        var kernelOf = [Int?](repeating: nil, count: nodes.count)

        for (index, node) in nodes.enumerated() where live[index] {
            let id = NodeID(index)
            if windowed.contains(id) { continue }  // its reader gathers the windows
            if let product = foldedProduct(readBy: id), live[product.index], let k = kernelOf[product.index] {
                // The fold computes the product that opened its kernel.
                specs[k].members.append(id)
                kernelOf[index] = k
                continue
            }
            if let pooled = pooledGradients[id], let group = group(of: pooled.product) {
                // The extremum gradient opens the kernel of the filter gradient that makes it.
                groupKernel[group] = specs.count
                kernelOf[index] = specs.count
                specs.append(KernelSpec(members: [id], group: group, inputs: [], outputs: [], scratch: []))
                continue
            }
            if let gradient = pooledGradient(summedBy: id), let k = kernelOf[gradient.index] {
                specs[k].members.append(id)  // the bias's gradient, summed by the same kernel
                kernelOf[index] = k
                continue
            }
            if let group = group(of: id) {
                if let k = groupKernel[group] {
                    specs[k].members.append(id)
                    kernelOf[index] = k
                } else {
                    groupKernel[group] = specs.count
                    kernelOf[index] = specs.count
                    specs.append(KernelSpec(members: [id], group: group, inputs: [], outputs: [], scratch: []))
                }
                continue
            }
            switch node.op {
            case .placeholder, .variable, .constant, .assign:
                continue
            case .scanResult:
                // Written by its scan's kernel, which runs the whole loop.
                if let k = kernelOf[node.inputs[0].index] {
                    specs[k].members.append(id)
                    kernelOf[index] = k
                }
                continue
            case .reshape, .stopGradient:
                continue  // aliases: the operand's memory seen again
            case .elementCount:
                // Loops compute counts inline; anything else reads one written by its own kernel.
                guard needsMemory(id, consumers: consumers, results: results) else { continue }
            case .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient,
                 .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax, .randomUniform, .scan:
                break
            }
            kernelOf[index] = specs.count
            specs.append(KernelSpec(members: [id], group: nil, inputs: [], outputs: [], scratch: []))
        }

        // Inputs and outputs of each kernel.
        for k in specs.indices {
            let memberSet = Set(specs[k].members)
            var inputs: [NodeID] = [], seen = Set<NodeID>()
            for member in specs[k].members {
                for input in nodes[member.index].inputs where !memberSet.contains(input) {
                    let root = memoryRoot(input)
                    // A pooling's reshape of a member reads what the kernel itself writes.
                    if memberSet.contains(root) { continue }
                    let inline = specs[k].group != nil && nodes[root.index].op.isInline
                    if !inline && seen.insert(root).inserted { inputs.append(root) }
                }
                // A product reading windows in place reads their image (written windows or not).
                if let windows = imageWindows(readBy: member) {
                    let image = memoryRoot(nodes[windows.index].inputs[0])
                    if seen.insert(image).inserted { inputs.append(image) }
                }
            }
            specs[k].inputs = inputs
            let pooled = pooledGradients[specs[k].members[0]] != nil
            specs[k].loop = pooled ? nil : LoopPlan(members: specs[k].members, in: self)
            for member in specs[k].members {
                if case .scan = nodes[member.index].op { continue }  // its value is empty; its results are the outputs
                if pooledGradients[member] != nil { continue }  // made and summed in registers, never written
                let readOutside = consumers[member.index].contains { !memberSet.contains($0) }
                if foldedProducts.contains(member) && specs[k].members.count == 2 {
                    specs[k].scratch.append(member)  // read only by the fold, through reshapes
                } else if readOutside || results.contains(member) {
                    specs[k].outputs.append(member)
                } else if case .matmul = nodes[member.index].op {
                    specs[k].scratch.append(member)
                } else if case .reduce = nodes[member.index].op {
                    specs[k].outputs.append(member)
                } else if specs[k].group == nil {
                    specs[k].outputs.append(member)
                }
            }
        }
        return ordered(specs, kernelOf: kernelOf)
    }

    /// The extremum gradient whose bias sum `id` is, if the kernel of the filter gradient
    /// that makes it sums it too (``pooledGradients``).
    public func pooledGradient(summedBy id: NodeID) -> NodeID? {
        guard !pooledGradients.isEmpty, case .reduce = nodes[id.index].op else { return nil }
        return pooledGradients.first { $0.value.bias == id }?.key
    }

    /// The node whose memory an alias chain (reshape, stop_gradient, assign) ends at.
    public func aliasRoot(_ id: NodeID) -> NodeID {
        var current = id
        while let operand = nodes[current.index].op.aliasedOperand { current = nodes[current.index].inputs[operand] }
        return current
    }

    /// Whether a value is a result or read outside a loop, directly or through aliases.
    private func needsMemory(_ id: NodeID, consumers: [[NodeID]], results: Set<NodeID>) -> Bool {
        results.contains(id) || consumers[id.index].contains { reader in
            nodes[reader.index].op.isAlias
                ? needsMemory(reader, consumers: consumers, results: results)
                : group(of: reader) == nil
        }
    }

    /// A topological order of the kernels, earliest first node first among those ready.
    private func ordered(_ specs: [KernelSpec], kernelOf: [Int?]) -> [KernelSpec] {
        var dependents = [[Int]](repeating: [], count: specs.count)
        var pending = [Int](repeating: 0, count: specs.count)
        for (k, spec) in specs.enumerated() {
            let producers = Set(spec.members.flatMap { nodes[$0.index].inputs }.compactMap { producer(of: $0, kernelOf) })
            for p in producers where p != k {
                dependents[p].append(k)
                pending[k] += 1
            }
        }
        var ready = specs.indices.filter { pending[$0] == 0 }
        var order: [Int] = []
        while let pick = ready.indices.min(by: { specs[ready[$0]].members[0] < specs[ready[$1]].members[0] }) {
            let k = ready.remove(at: pick)
            order.append(k)
            for d in dependents[k] {
                pending[d] -= 1
                if pending[d] == 0 { ready.append(d) }
            }
        }
        precondition(order.count == specs.count, "fusion produced a cycle between kernels")
        return order.map { specs[$0] }
    }

    private func producer(of id: NodeID, _ kernelOf: [Int?]) -> Int? {
        kernelOf[memoryRoot(id).index]
    }
}
