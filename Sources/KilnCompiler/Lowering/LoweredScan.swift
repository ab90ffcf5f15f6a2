import KilnGraph

/// A scan's body compiled on its own, once, whatever the number of steps: the body's
/// optimized function and schedule (rendered as static functions in the same translation
/// unit), and the workspace the loop uses past the end of the program's arena.
///
/// The workspace holds two sets of carries (the ones a step reads, and the ones it writes,
/// swapped after each step) and the body's own arena. A carry that only its own next value
/// reads, as an operand of the addition that makes it (a weight's gradient summed over the
/// steps of a backward loop), has one buffer, updated in place: an accumulator of an LSTM's
/// recurrent kernel is not written to a second 64 KB buffer and read back from it every step.
public struct LoweredScan {
    /// The loop.
    public let scan: Scan
    /// The body's schedule; its results are named `r0`, `r1`, ... in the scan's result order.
    public let schedule: Schedule
    /// The body's own loops.
    public let nested: [NodeID: LoweredScan]
    /// Where the body's loops' workspace starts in the body's arena.
    public let nestedWorkspace: BatchPolynomial
    /// The byte offsets in the workspace of each carry's two buffers (the same offset twice for
    /// a carry updated in place, ``inPlaceCarries(_:function:)``).
    public let carryOffsets: [(BatchPolynomial, BatchPolynomial)]
    /// The byte offset in the workspace of the body's arena.
    public let bodyArenaOffset: BatchPolynomial
    /// The size in bytes of the workspace of the loop over the whole batch, or of one part.
    public let workspaceBytes: BatchPolynomial
    /// Whether the body keeps the batch's rows apart, and its accumulators (``ScanRows``).
    let rows: ScanRows
    /// The products of a step's slice of a sequence and an invariant the loop computes a chunk
    /// of steps at a time (``ScanChunk``).
    let chunks: [ScanChunk]
    /// The products summed over the steps that the loop adds up a chunk of steps at a time
    /// (``ScanAccumulation``); their carries keep one buffer, and the body leaves them alone.
    let accumulations: [ScanAccumulation]
    /// Whether the loop may run on two parts of the batch: its kernel then needs twice
    /// ``workspaceBytes``.
    public var splits: Bool { rows.separable }

    /// The body's result named for result `index`.
    static func resultName(_ index: Int) -> String { "r\(index)" }

    /// Lowers `scan`'s body through the pipeline; `stacked` are the carries whose every step's
    /// value the program reads.
    ///
    /// - Throws: ``KilnError`` if the body does not verify or a pass fails.
    init(_ scan: Scan, stacked: Set<Int> = [], switches: DebugSwitches) throws {
        self.scan = scan
        let (body, chunked) = try ScanChunk.chunking(scan)
        var accumulations = ScanAccumulation.accumulations(scan, stacked: stacked)
        let accumulated = ScanAccumulation.carries(accumulations)
        var outputs: [String: Node] = [:]
        for (index, result) in scan.results.enumerated() {
            // An accumulator's next value is the loop's to make: the body returns it unchanged.
            let node = accumulated.contains(index) ? body.node(scan.parameters[index]) : body.node(result)
            guard let node else {
                throw KilnError(.invalidGraph, "scan: result \(result) is not a node of the body")
            }
            outputs[Self.resultName(index)] = node
        }
        for accumulation in accumulations {
            guard let node = body.node(accumulation.gradient) else {
                throw KilnError(.invalidGraph, "scan: \(accumulation.gradient) is not a node of the body")
            }
            outputs[accumulation.name] = node
        }
        var function = try Pipeline.optimize(try Function(graph: body, outputs: outputs), switches: switches)
        (nested, nestedWorkspace) = try Lowering.lowerScans(&function, switches: switches)
        schedule = try Schedule(function)

        var end = BatchPolynomial()
        func reserve(_ type: TensorType) -> BatchPolynomial {
            let start = end
            let bytes = (type.shape.staticProduct ?? 0) * type.dtype.byteSize
            end = end + .monomial((Swift.max(bytes, 1) + 63) / 64 * 64, degree: type.shape.batchDimCount)
            return start
        }
        let carryTypes = scan.parameterTypes.prefix(scan.carryCount)
        let inPlace = Self.inPlaceCarries(scan, function: function).union(accumulated)
        carryOffsets = carryTypes.enumerated().map { position, type in
            let first = reserve(type)
            return (first, inPlace.contains(position) ? first : reserve(type))
        }
        var chunks = chunked
        for index in chunks.indices { end = chunks[index].reserve(from: end) }
        self.chunks = chunks
        for index in accumulations.indices { end = accumulations[index].reserve(from: end) }
        self.accumulations = accumulations
        bodyArenaOffset = end
        workspaceBytes = end + (function.memory?.arenaBytes ?? BatchPolynomial())
        rows = ScanRows(scan)
    }
}

extension LoweredScan {
    /// The carries (by position) whose next value can be written over them: the body's only
    /// reader of the carry is the addition that makes its next value (the carry as an operand
    /// of the same type), and no result is the carry itself. Every kernel that computes an
    /// addition reads each element of its operands before it writes that element of its
    /// result (a loop, or a product's epilogue), and nothing reads the carry after it.
    static func inPlaceCarries(_ scan: Scan, function: Function) -> Set<Int> {
        let nodes = function.nodes
        var readers = [Set<NodeID>](repeating: [], count: nodes.count)
        for (index, node) in nodes.enumerated() {
            for input in node.inputs { readers[input.index].insert(NodeID(index)) }
        }
        let results = Set(function.outputs.values)
        var feeds: [String: NodeID] = [:]
        for (index, node) in nodes.enumerated() {
            if case .placeholder(let name, _) = node.op { feeds[name] = NodeID(index) }
        }
        var inPlace = Set<Int>()
        for position in 0..<scan.carryCount {
            guard case .placeholder(let name, _) = scan.body[scan.parameters[position].index].op,
                  let carry = feeds[name], !results.contains(carry),
                  let next = function.outputs[resultName(position)] else { continue }
            let root = function.aliasRoot(next)
            guard readers[carry.index] == [root], case .binary(.add) = nodes[root.index].op,
                  nodes[root.index].type == nodes[carry.index].type else { continue }
            inPlace.insert(position)
        }
        return inPlace
    }
}

extension Lowering {
    /// Lowers the body of every scan kernel of `function` and makes room for the loops'
    /// workspace at the end of its arena (they run one at a time, so they share it).
    ///
    /// - Returns: The lowered scans by node, and the workspace's byte offset in the arena.
    /// - Throws: ``KilnError`` if a body fails to lower.
    static func lowerScans(_ function: inout Function, switches: DebugSwitches) throws
        -> (scans: [NodeID: LoweredScan], workspace: BatchPolynomial) {
        guard var memory = function.memory else { return ([:], BatchPolynomial()) }
        var scans: [NodeID: LoweredScan] = [:]
        var workspace = BatchPolynomial()
        for kernel in memory.kernels {
            let id = kernel.members[0]
            guard case .scan(let scan) = function.nodes[id.index].op else { continue }
            // The carries whose every step's value the kernel writes out (results from k + m on).
            let firstStacked = scan.carryCount + scan.outputCount
            let stacked = Set(ScanLoop.written(kernel, function.nodes).keys.filter { $0 >= firstStacked }.map { $0 - firstStacked })
            let lowered = try LoweredScan(scan, stacked: stacked, switches: switches)
            scans[id] = lowered
            workspace = .maximum(workspace, lowered.splits ? lowered.workspaceBytes + lowered.workspaceBytes : lowered.workspaceBytes)
        }
        let offset = memory.arenaBytes
        if !scans.isEmpty {
            memory.arenaBytes = offset + workspace
            function.memory = memory
        }
        return (scans, offset)
    }
}
