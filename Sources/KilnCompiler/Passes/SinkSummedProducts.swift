import KilnGraph

/// Moves a product summed over a scan's steps into the loop: `sum(matmul(xᵀ, y), axes: [0])`,
/// where `y` is a scan's per-step output stacked over the steps (`[steps, batch, c]`) and `x`
/// a sequence of the same steps computed before the loop (`[steps, batch, f]`), becomes a
/// carry of the loop that each step adds `x_tᵀ·y_t` to, `x` joining the loop's sequences.
///
/// The reverse-mode rule of a recurrent layer's input product gives this: the gradient of
/// the kernel `W` in `x·W` (computed ahead of the loop) is the input's per-step gradient,
/// stacked by the backward loop, times the input, summed over the steps. Summed in the loop,
/// the per-step gradient is no longer written out (`steps · batch · c` values, which the
/// next kernel reads back from memory) and the sum stays in the core's cache, an accumulator
/// of the kind the loop already keeps for the recurrent kernel's gradient. The output is
/// moved only when the summed product is its only reader, and when the accumulator
/// (`f · c` values) is at most ``accumulatorLimit`` elements.
public enum SinkSummedProducts {
    /// The largest accumulator moved into a loop, in elements (128 KB, a quarter of a Zen 3
    /// core's L2 cache), so that the loop's accumulators and weights stay in the core's cache.
    public static let accumulatorLimit = 32768

    /// The pass.
    public static func run(_ function: Function) -> Function {
        let sinks = candidates(function)
        guard !sinks.isEmpty else { return function }
        var byScan: [NodeID: [Sink]] = [:]
        for sink in sinks { byScan[sink.scan, default: []].append(sink) }
        guard let rewritten = try? rewrite(function, byScan) else { return function }
        return rewritten
    }

    /// A summed product to move: the sum, the product, the stacked output it reads (index
    /// `output` among the scan's per-step outputs), the scan, and the sequence `x`.
    struct Sink {
        let sum: NodeID, product: NodeID, stacked: NodeID, scan: NodeID, x: NodeID
        let output: Int
    }

    /// The summed products over a scan's stacked outputs that can move into their loop.
    static func candidates(_ function: Function) -> [Sink] {
        let nodes = function.nodes
        let readers = function.readCounts
        var sinks: [Sink] = []
        for (index, node) in nodes.enumerated() {
            guard case .reduce(.sum, let axes, _) = node.op, axes == [0], node.type.dtype == .float32 else { continue }
            let product = node.inputs[0]
            guard readers[product.index] == 1, case .matmul(true, false) = nodes[product.index].op,
                  nodes[product.index].type.shape.rank == 3 else { continue }
            let x = nodes[product.index].inputs[0], stacked = nodes[product.index].inputs[1]
            guard x != stacked, readers[stacked.index] == 1,
                  case .scanResult(let resultIndex, _) = nodes[stacked.index].op else { continue }
            let scanID = nodes[stacked.index].inputs[0]
            guard case .scan(let scan) = nodes[scanID.index].op, x.index < scanID.index,
                  resultIndex >= scan.carryCount, resultIndex < scan.carryCount + scan.outputCount else { continue }
            let xShape = nodes[x.index].type.shape, yShape = nodes[stacked.index].type.shape
            guard nodes[x.index].type.dtype == .float32, xShape.rank == 3, xShape.dims[0] == .size(scan.length),
                  yShape.rank == 3, xShape.dims[1] == .batch, yShape.dims[1] == .batch, xShape.batchDimCount == 1,
                  let f = xShape.dims[2].staticSize, let c = yShape.dims[2].staticSize, f * c <= accumulatorLimit else { continue }
            sinks.append(Sink(sum: NodeID(index), product: product, stacked: stacked, scan: scanID, x: x,
                              output: resultIndex - scan.carryCount))
        }
        return sinks
    }

    /// `function` with every scan of `byScan` given its accumulators.
    private static func rewrite(_ function: Function, _ byScan: [NodeID: [Sink]]) throws -> Function {
        var rewriter = GraphRewriter(function)
        var scans: [NodeID: (old: Scan, sinks: [Sink])] = [:]
        var sunk: [NodeID: (scan: NodeID, position: Int)] = [:]
        var removed = Set<NodeID>()
        for sinks in byScan.values {
            for (position, sink) in sinks.enumerated() {
                sunk[sink.sum] = (sink.scan, position)
                removed.insert(sink.product)
                removed.insert(sink.stacked)
            }
        }
        for index in function.nodes.indices {
            let id = NodeID(index)
            var node = rewriter.remapped(id)
            if case .scan(let scan) = node.op, let sinks = byScan[id] {
                let wider = try accumulating(scan, sinks, function)
                // Each accumulator starts at zero.
                let zero = rewriter.append(NodeDef(op: .constant(try Tensor(shape: [], scalars: [Float(0)])), inputs: [],
                                                   type: TensorType(.float32, Shape([]))))
                let starts = sinks.map { sink in
                    let type = accumulatorType(sink, function)
                    return rewriter.append(NodeDef(op: .broadcast(type.shape), inputs: [zero], type: type))
                }
                let k = scan.carryCount, s = scan.sequenceCount
                node.inputs = Array(node.inputs.prefix(k)) + starts + Array(node.inputs[k..<(k + s)])
                    + sinks.map { rewriter.mapped($0.x) } + Array(node.inputs.suffix(scan.invariantCount))
                node.op = .scan(wider)
                rewriter.map(to: rewriter.append(node))
                scans[id] = (scan, sinks)
                continue
            }
            if removed.contains(id) {
                rewriter.map(to: NodeID(0))  // read by nothing once the sums are moved
                continue
            }
            if let (scanID, position) = sunk[id], let entry = scans[scanID] {
                let type = accumulatorType(entry.sinks[position], function)
                let final = rewriter.append(NodeDef(op: .scanResult(index: entry.old.carryCount + position, type: type),
                                                    inputs: [rewriter.mapped(scanID)], type: type))
                let sum = function.nodes[index].type
                rewriter.map(to: sum.shape == type.shape ? final
                             : rewriter.append(NodeDef(op: .reshape(sum.shape), inputs: [final], type: sum)))
                continue
            }
            if case .scanResult(let resultIndex, let type) = node.op, let entry = scans[function.nodes[index].inputs[0]] {
                node.op = .scanResult(index: movedIndex(resultIndex, entry.old, entry.sinks), type: type)
            }
            rewriter.map(to: rewriter.append(node))
        }
        return rewriter.finish()
    }

    /// The accumulator of `sink`: `[f, c]`.
    private static func accumulatorType(_ sink: Sink, _ function: Function) -> TensorType {
        let x = function.nodes[sink.x.index].type.shape, y = function.nodes[sink.stacked.index].type.shape
        return TensorType(.float32, Shape([x.dims[2], y.dims[2]]))
    }

    /// Where result `index` of `old` is in the scan with `sinks`' accumulators: one more carry
    /// per sink, and without the per-step outputs the sinks read.
    private static func movedIndex(_ index: Int, _ old: Scan, _ sinks: [Sink]) -> Int {
        let k = old.carryCount, added = sinks.count
        let dropped = Set(sinks.map(\.output))
        if index < k { return index }
        if index < k + old.outputCount {
            let output = index - k
            return k + added + output - dropped.filter { $0 < output }.count
        }
        return index + added - dropped.count
    }

    /// `scan` with a carry per sink that each step adds `x_tᵀ·y_t` to, the sinks' `x` as
    /// further sequences, and without the per-step outputs the sinks read.
    private static func accumulating(_ scan: Scan, _ sinks: [Sink], _ function: Function) throws -> Scan {
        let graph = try scan.bodyGraph()
        func handles(_ ids: ArraySlice<NodeID>) -> [Node] { ids.map { graph.node($0)! } }
        let k = scan.carryCount, s = scan.sequenceCount
        var newCarries = handles(scan.results.prefix(k)), outputs: [Node] = []
        var accumulators: [Node] = [], steps: [Node] = [], sums: [Node] = []
        for (position, sink) in sinks.enumerated() {
            let type = accumulatorType(sink, function)
            let accumulator = try graph.placeholder("accumulator_\(position)", shape: type.shape)
            let xType = function.nodes[sink.x.index].type
            let step = try graph.placeholder("summed_\(position)", shape: Shape(Array(xType.shape.dims.dropFirst())))
            let y = graph.node(scan.results[k + sink.output])!
            accumulators.append(accumulator)
            steps.append(step)
            sums.append(try accumulator + matmul(step, y, transposeA: true))
        }
        newCarries += sums
        let dropped = Set(sinks.map(\.output))
        for (output, result) in scan.results.dropFirst(k).enumerated() where !dropped.contains(output) {
            outputs.append(graph.node(result)!)
        }
        return try Scan(body: graph, carries: handles(scan.parameters.prefix(k)) + accumulators,
                        steps: handles(scan.parameters.dropFirst(k).prefix(s)) + steps,
                        invariants: handles(scan.parameters.suffix(scan.invariantCount)),
                        newCarries: newCarries, outputs: outputs, length: scan.length, reverse: scan.reverse)
    }
}
