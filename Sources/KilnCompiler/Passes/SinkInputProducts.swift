import KilnGraph

/// Moves a scan's input product into its loop: a sequence operand `matmul(x, w)`, computed
/// ahead of the loop for every step at once (`x` time-major `[steps, batch, f]`, `w` `[f, c]`),
/// becomes `x` read as the sequence, `w` a further invariant, and `x_t·w` computed by each
/// step where the body read the product's slice.
///
/// A recurrent layer builds its input product that way, one large product ahead of the loop.
/// At a training batch it is `steps · batch · c` values (6.5 MB for 100 steps of an LSTM(64)
/// at batch 64) written to memory and read back a step at a time, and the `c` columns of a
/// step's slice are wider than the `f` features the loop reads instead. In the loop, the
/// lowering computes the product a chunk of steps at a time (``ScanChunk``), which the steps
/// read while it is still in the core's cache; the FLOPs are the same. On a Zen 4 the LSTM's
/// training step went from a median of 9.3k to 10.4k samples/s (8 and 17 runs, alternated).
/// The operand moves when the scan is the product's only reader, the product is no narrower
/// than its input (`c ≥ f`: the loop then reads fewer bytes a step), and `w` has at most
/// ``kernelLimit`` elements, so that every step reads it from the core's cache.
public enum SinkInputProducts {
    /// The largest `w` moved into a loop, in elements (128 KB, a quarter of a Zen 3 core's L2
    /// cache, as ``SinkSummedProducts/accumulatorLimit``).
    public static let kernelLimit = 32768

    /// The pass.
    public static func run(_ function: Function) -> Function {
        let sinks = candidates(function)
        guard !sinks.isEmpty else { return function }
        var rewriter = GraphRewriter(function)
        for index in function.nodes.indices {
            let id = NodeID(index)
            var node = rewriter.remapped(id)
            if let moved = sinks[id], case .scan(let scan) = node.op, let wider = try? moving(scan, moved, function) {
                for sink in moved { node.inputs[scan.carryCount + sink.sequence] = rewriter.mapped(sink.x) }
                node.inputs += moved.map { rewriter.mapped($0.kernel) }
                node.op = .scan(wider)
            }
            rewriter.map(to: rewriter.append(node))
        }
        return rewriter.finish()
    }

    /// An input product to move: the scan's sequence `sequence` is `matmul(x, kernel)`.
    struct Sink {
        let sequence: Int, x: NodeID, kernel: NodeID
    }

    /// For each scan, the input products that can move into its loop.
    static func candidates(_ function: Function) -> [NodeID: [Sink]] {
        let nodes = function.nodes
        let readers = function.readCounts
        var sinks: [NodeID: [Sink]] = [:]
        for (index, node) in nodes.enumerated() {
            guard case .scan(let scan) = node.op else { continue }
            for sequence in 0..<scan.sequenceCount {
                let product = node.inputs[scan.carryCount + sequence]
                guard readers[product.index] == 1, case .matmul(false, false) = nodes[product.index].op else { continue }
                let x = nodes[product.index].inputs[0], kernel = nodes[product.index].inputs[1]
                let xType = nodes[x.index].type, kernelType = nodes[kernel.index].type
                guard xType.dtype == .float32, kernelType.dtype == .float32, xType.shape.rank == 3,
                      xType.shape.dims[0] == .size(scan.length), xType.shape.dims[1] == .batch, xType.shape.batchDimCount == 1,
                      kernelType.shape.rank == 2, kernelType.shape.batchDimCount == 0,
                      let f = xType.shape.dims[2].staticSize, let c = kernelType.shape.dims[1].staticSize,
                      c >= f, f * c <= kernelLimit else { continue }
                sinks[NodeID(index), default: []].append(Sink(sequence: sequence, x: x, kernel: kernel))
            }
        }
        return sinks
    }

    /// `scan` with each sink's sequence the product's input, read a step at a time, the
    /// product's kernel a further invariant, and the step's product computed in the body where
    /// it read the product's slice.
    private static func moving(_ scan: Scan, _ sinks: [Sink], _ function: Function) throws -> Scan {
        // The new placeholders come first, so that the products replacing the slices' placeholders
        // read nodes defined before them; every other node moves up by their count.
        let added = 2 * sinks.count
        func moved(_ id: NodeID) -> NodeID { NodeID(id.index + added) }
        var body: [NodeDef] = []
        for (position, sink) in sinks.enumerated() {
            let x = function.nodes[sink.x.index].type, kernel = function.nodes[sink.kernel.index].type
            let step = TensorType(.float32, Shape(Array(x.shape.dims.dropFirst())))
            body.append(NodeDef(op: .placeholder(name: "input_features_\(position)", type: step), inputs: [], type: step))
            body.append(NodeDef(op: .placeholder(name: "input_kernel_\(position)", type: kernel), inputs: [], type: kernel))
        }
        let slices = Dictionary(uniqueKeysWithValues: sinks.enumerated().map { position, sink in
            (scan.parameters[scan.carryCount + sink.sequence], position)
        })
        for (index, old) in scan.body.enumerated() {
            if let position = slices[NodeID(index)] {
                body.append(NodeDef(op: .matmul(transposeA: false, transposeB: false),
                                    inputs: [NodeID(2 * position), NodeID(2 * position + 1)], type: old.type))
                continue
            }
            var node = old
            node.inputs = node.inputs.map(moved)
            body.append(node)
        }
        let graph = try Graph(nodes: body, initialValues: [:])
        func handles(_ ids: some Sequence<NodeID>) -> [Node] { ids.map { graph.node($0)! } }
        let k = scan.carryCount, s = scan.sequenceCount
        var steps = handles(scan.parameters[k..<(k + s)].map(moved))
        for (position, sink) in sinks.enumerated() { steps[sink.sequence] = graph.node(NodeID(2 * position))! }
        return try Scan(body: graph, carries: handles(scan.parameters.prefix(k).map(moved)), steps: steps,
                        invariants: handles(scan.parameters.suffix(scan.invariantCount).map(moved))
                            + handles(sinks.indices.map { NodeID(2 * $0 + 1) }),
                        newCarries: handles(scan.results.prefix(k).map(moved)),
                        outputs: handles(scan.results.dropFirst(k).map(moved)), length: scan.length, reverse: scan.reverse)
    }
}
