import KilnGraph

/// Moves what a scan's body computes from its invariants alone out of the loop: it is
/// computed once before the loop and read by every step as a further invariant. A product
/// with a transposed invariant (the backward step's `dz·Uᵀ`) first becomes a product with
/// the transposed invariant, so the transpose is done once and the step's product runs
/// untransposed, which the GEMM libraries do faster on a loop step's small shapes; a slice of
/// an invariant (a gate's block of a kernel, of recurrent dropout's masks) is taken once.
///
/// Only values without a batch axis or with the batch first move out, so a loop that runs on
/// parts of the batch still does. Values computed from constants alone stay (they fold or fuse
/// where they are).
public enum HoistLoopInvariants {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        guard function.nodes.contains(where: { if case .scan = $0.op { return true } else { return false } }) else { return function }
        var rewriter = GraphRewriter(function)
        var changed = false
        for index in function.nodes.indices {
            let id = NodeID(index)
            var node = rewriter.remapped(id)
            if case .scan(let scan) = node.op, let hoisted = try? hoist(scan) {
                // The moved values, computed before the loop from the scan's invariant operands.
                let invariantOperands = Array(node.inputs.suffix(scan.invariantCount))
                var outside: [NodeID] = []
                for definition in hoisted.outside {
                    var copy = definition.node
                    copy.inputs = definition.inputs.map { source in
                        switch source {
                        case .invariant(let position): return invariantOperands[position]
                        case .computed(let position): return outside[position]
                        }
                    }
                    outside.append(rewriter.append(copy))
                }
                node.op = .scan(hoisted.scan)
                node.inputs += hoisted.operands.map { outside[$0] }
                rewriter.map(to: rewriter.append(node))
                changed = true
                continue
            }
            rewriter.map(to: rewriter.append(node))
        }
        return changed ? rewriter.finish() : function
    }

    /// Where a node computed before the loop reads an operand: an invariant operand of the
    /// scan, or an earlier node computed before the loop.
    private enum Source {
        case invariant(Int)
        case computed(Int)
    }

    /// The scan with the invariant values moved out, the nodes computing them before the loop
    /// (in order), and which of those nodes are the scan's new invariant operands.
    private struct Hoisted {
        let scan: Scan
        let outside: [(node: NodeDef, inputs: [Source])]
        let operands: [Int]
    }

    /// Whether a value may be an invariant of a loop that runs on parts of the batch.
    private static func movable(_ type: TensorType) -> Bool { !type.shape.hasBatch || ScanRows.batchFirst(type.shape) }

    /// For each node of `nodes`, whether it changes from step to step (it reads a carry or a
    /// step's slice, or is a nested loop) and whether it is computed from an invariant
    /// (not from constants alone).
    private static func dependence(of nodes: [NodeDef], varying: [NodeID], invariants: [NodeID])
        -> (varies: [Bool], readsInvariant: [Bool]) {
        var varies = [Bool](repeating: false, count: nodes.count), readsInvariant = varies
        for parameter in varying { varies[parameter.index] = true }
        for parameter in invariants { readsInvariant[parameter.index] = true }
        for (index, node) in nodes.enumerated() {
            readsInvariant[index] = readsInvariant[index] || node.inputs.contains { readsInvariant[$0.index] }
            guard !varies[index] else { continue }
            varies[index] = node.inputs.contains { varies[$0.index] }
            if case .scan = node.op { varies[index] = true }
            if case .scanResult = node.op { varies[index] = true }
        }
        return (varies, readsInvariant)
    }

    /// `scan` with its body's invariant computations moved out, or `nil` if it has none.
    private static func hoist(_ scan: Scan) throws -> Hoisted? {
        let body = try untransposed(scan)
        let nodes = body.graph.nodes
        let invariantPosition = Dictionary(uniqueKeysWithValues: body.invariants.enumerated().map { ($1.id, $0) })
        let (varies, readsInvariant) = dependence(of: nodes, varying: (body.carries + body.steps).map(\.id),
                                                  invariants: body.invariants.map(\.id))
        // The invariant values a step reads: operands of its varying nodes, and results.
        let results = body.newCarries + body.outputs
        var moved: [NodeID] = [], seen = Set<NodeID>()
        func consider(_ id: NodeID) {
            guard !varies[id.index], readsInvariant[id.index], invariantPosition[id] == nil, movable(nodes[id.index].type),
                  seen.insert(id).inserted else { return }
            moved.append(id)
        }
        for (index, node) in nodes.enumerated() where varies[index] {
            for input in node.inputs { consider(input) }
        }
        for result in results { consider(result.id) }
        guard !moved.isEmpty else { return nil }
        moved.sort()

        // The nodes before the loop: everything the moved values are computed from.
        let needed = nodes.reached(from: moved) { invariantPosition[$0] != nil }
        var outside: [(node: NodeDef, inputs: [Source])] = [], computed: [NodeID: Int] = [:]
        for (index, node) in nodes.enumerated() where needed[index] && invariantPosition[NodeID(index)] == nil {
            let inputs = node.inputs.map { input in
                invariantPosition[input].map(Source.invariant) ?? .computed(computed[input]!)
            }
            computed[NodeID(index)] = outside.count
            outside.append((node, inputs))
        }

        // The new body: the moved values are placeholders after the invariants.
        let graph = Graph()
        var copies: [NodeID: Node] = [:]
        func parameter(_ node: Node) throws -> Node {
            guard case .placeholder(let name, let type) = nodes[node.id.index].op else {
                throw KilnError(.invalidGraph, "scan parameter \(node.id) is not a placeholder")
            }
            let copy = try graph.placeholder(name, shape: type.shape, dtype: type.dtype)
            copies[node.id] = copy
            return copy
        }
        let carries = try body.carries.map(parameter), steps = try body.steps.map(parameter)
        let invariants = try body.invariants.map(parameter)
        let extra = try moved.enumerated().map { position, id -> Node in
            let type = nodes[id.index].type
            let copy = try graph.placeholder("hoisted_\(position)", shape: type.shape, dtype: type.dtype)
            copies[id] = copy
            return copy
        }
        let live = nodes.reached(from: results.map(\.id)) { copies[$0] != nil }
        for (index, node) in nodes.enumerated() where live[index] && copies[NodeID(index)] == nil {
            copies[NodeID(index)] = try graph.append(node.op, node.inputs.map { copies[$0]! })
        }
        let loop = try Scan(body: graph, carries: carries, steps: steps, invariants: invariants + extra,
                            newCarries: body.newCarries.map { copies[$0.id]! }, outputs: body.outputs.map { copies[$0.id]! },
                            length: scan.length, reverse: scan.reverse)
        return Hoisted(scan: loop, outside: outside, operands: moved.map { computed[$0]! })
    }

    /// A scan's body as a graph, its parameters and results, after rewriting each product
    /// with a transposed invariant operand (and a varying other one) as a product with that
    /// operand transposed first.
    private struct Body {
        let graph: Graph
        let carries: [Node], steps: [Node], invariants: [Node], newCarries: [Node], outputs: [Node]
    }

    private static func untransposed(_ scan: Scan) throws -> Body {
        let source = scan.body
        let varying = Array(scan.parameters.prefix(scan.carryCount + scan.sequenceCount))
        let (varies, readsInvariant) = dependence(of: source, varying: varying, invariants: Array(scan.parameters.suffix(scan.invariantCount)))
        let graph = Graph()
        var copies: [NodeID: Node] = [:]
        for (index, node) in source.enumerated() {
            let id = NodeID(index)
            if case .placeholder(let name, let type) = node.op {
                copies[id] = try graph.placeholder(name, shape: type.shape, dtype: type.dtype)
                continue
            }
            let inputs = node.inputs.map { copies[$0]! }
            if case .matmul(let transposeA, let transposeB) = node.op, inputs[0].shape.rank == 2, inputs[1].shape.rank == 2 {
                let a = node.inputs[0], b = node.inputs[1]
                if transposeB, !varies[b.index], varies[a.index], readsInvariant[b.index],
                   movable(TensorType(inputs[1].dtype, Shape([inputs[1].shape[1], inputs[1].shape[0]]))) {
                    let flipped = try transpose(inputs[1], permutation: [1, 0])
                    copies[id] = try matmul(inputs[0], flipped, transposeA: transposeA)
                    continue
                }
                if transposeA, !varies[a.index], varies[b.index], readsInvariant[a.index],
                   movable(TensorType(inputs[0].dtype, Shape([inputs[0].shape[1], inputs[0].shape[0]]))) {
                    let flipped = try transpose(inputs[0], permutation: [1, 0])
                    copies[id] = try matmul(flipped, inputs[1], transposeB: transposeB)
                    continue
                }
            }
            copies[id] = try graph.append(node.op, inputs)
        }
        func handles(_ ids: ArraySlice<NodeID>) -> [Node] { ids.map { copies[$0]! } }
        let k = scan.carryCount, s = scan.sequenceCount
        return Body(graph: graph, carries: handles(scan.parameters.prefix(k)), steps: handles(scan.parameters.dropFirst(k).prefix(s)),
                    invariants: handles(scan.parameters.suffix(scan.invariantCount)),
                    newCarries: handles(scan.results.prefix(k)), outputs: handles(scan.results.dropFirst(k)))
    }
}
