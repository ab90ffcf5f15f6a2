import KilnGraph

/// How a loop kernel runs: the GEMMs it starts with, the members its loop computes element
/// by element, the reductions it accumulates, the shape it iterates over, and whether the
/// loop is flat (one index over the whole shape).
///
/// Worked out once, when ``Function/kernels()`` forms the kernels, and read by every stage
/// that depends on it: ``UpdateInPlace`` (which values may overwrite their variable) and
/// the C renderer (which loops to write).
public struct LoopPlan: Sendable, Hashable {
    /// Matrix products computed before the loop (an epilogue reads them).
    public private(set) var matmuls: [NodeID] = []
    /// Members computed in the loop body, in graph order.
    public private(set) var elementwise: [NodeID] = []
    /// Reductions accumulated in the loop body after the elementwise members.
    public private(set) var reductions: [NodeID] = []
    /// Poolings of a member the loop writes, read through a reshape into windows
    /// (``FusePoolingIntoProduct``): computed after the loop, or after each chunk of rows of
    /// the loop's product, from the rows just written.
    public private(set) var pools: [NodeID] = []
    /// Members no loop computes. Fusion never puts any in a loop kernel; rendering one that
    /// has them is an internal error naming them.
    public private(set) var strays: [NodeID] = []
    /// The iteration shape: the first reduction's operand's shape, or else the first
    /// elementwise member's.
    public let shape: Shape
    /// Whether every value the loop reads covers the whole iteration shape or is a single
    /// element, so one flat index serves every read (never with reductions).
    public let flat: Bool

    /// The plan of a kernel of `members`, or `nil` if no member is computed in a loop (a
    /// kernel that calls a runtime function instead).
    init?(members: [NodeID], in function: Function) {
        let nodes = function.nodes, memberSet = Set(members)
        for member in members {
            switch nodes[member.index].op {
            case .matmul:
                matmuls.append(member)
            case .reduce:
                let operand = nodes[member.index].inputs[0]
                if !memberSet.contains(operand) && memberSet.contains(function.aliasRoot(operand)) {
                    pools.append(member)
                } else {
                    reductions.append(member)
                }
            case .unary, .binary, .compare, .select, .cast, .broadcast, .randomUniform, .elementCount:
                elementwise.append(member)
            case .placeholder, .variable, .constant, .argmax, .reshape, .transpose, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather,
                 .scatterAdd, .oneHot, .softmax, .logSoftmax, .stopGradient, .assign, .scan, .scanResult:
                strays.append(member)
            }
        }
        if let reduction = reductions.first {
            shape = nodes[nodes[reduction.index].inputs[0].index].type.shape
        } else if let first = elementwise.first {
            shape = nodes[first.index].type.shape
        } else {
            return nil
        }
        // The shapes the loop reads from memory: operands from outside the kernel, and GEMM results.
        let inside = memberSet, gemms = Set(matmuls), pooled = Set(pools)
        var accessed: [Shape] = []
        for member in members where !gemms.contains(member) && !pooled.contains(member) {
            for input in nodes[member.index].inputs where !inside.contains(input) || gemms.contains(input) {
                if !nodes[function.aliasRoot(input).index].op.isInline { accessed.append(nodes[input.index].type.shape) }
            }
        }
        let iteration = shape
        flat = reductions.isEmpty && accessed.allSatisfy { $0 == iteration || $0.staticProduct == 1 && !$0.hasBatch }
    }

    /// The plan without its pools: the loop that writes what they read.
    public var withoutPools: LoopPlan {
        var plan = self
        plan.pools = []
        return plan
    }
}
