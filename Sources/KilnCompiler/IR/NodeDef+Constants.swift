import KilnGraph

extension [NodeDef] {
    /// Whether node `id` is the constant +0: a float scalar or tensor of +0 (bit for bit), or
    /// a reshape or broadcast of one (a gradient's seed spread over a batch, relu's threshold).
    func isPositiveZero(_ id: NodeID) -> Bool {
        let node = self[id.index]
        if case .constant(let tensor) = node.op {
            return tensor.dtype == .float32 && tensor.scalars.allSatisfy { $0.bitPattern == 0 }
        }
        if case .reshape = node.op { return isPositiveZero(node.inputs[0]) }
        if case .broadcast = node.op { return isPositiveZero(node.inputs[0]) }
        return false
    }
}
