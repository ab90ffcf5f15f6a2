import KilnGraph

extension Graph {
    /// The nodes among `live` whose result is a discontinuous function of `f32` operands — a
    /// comparison, argmax, an extremum's gradient (which compares), sign, floor, or a
    /// conversion of floats to integers or booleans — so that a rounding-level difference in
    /// an operand can change the result entirely
    /// (a ReLU derivative is `greater(x, 0)`).
    func decisions(among live: [NodeID]) -> [NodeID] {
        live.filter { id in
            let node = nodes[id.index]
            let floatOperand = node.inputs.contains { nodes[$0.index].type.dtype == .float32 }
            switch node.op {
            case .compare, .argmax, .extremumGradient: return floatOperand
            case .unary(let op):
                switch op {
                case .sign, .floor: return floatOperand
                case .neg, .abs, .exp, .log, .sqrt, .rsqrt, .square, .tanh, .sigmoid, .relu, .softplus, .erf: return false
                }
            case .cast(let dtype): return floatOperand && dtype != .float32
            case .placeholder, .variable, .constant, .elementCount, .binary, .select, .reduce, .reshape, .transpose,
                 .broadcast, .slice, .pad, .patches, .foldPatches, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax,
                 .randomUniform, .stopGradient, .assign, .scan, .scanResult:
                return false
            }
        }
    }
}
