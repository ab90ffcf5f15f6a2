/// What a program reads and writes, worked out once from a graph and its named outputs:
/// the nodes it must evaluate, the placeholders among them, and the graph's variables.
/// Every backend checks feeds and variable values through it, so all report the same errors.
public struct ProgramSignature: Sendable {
    /// A placeholder the program needs.
    public struct Input: Sendable, Hashable {
        /// The feed name.
        public let name: String
        /// The placeholder node.
        public let node: NodeID
        /// The type a feed must have (any size along batch dimensions).
        public let type: TensorType

        /// The placeholder's printer line.
        public var line: String {
            Printer.line(NodeDef(op: .placeholder(name: name, type: type), inputs: [], type: type), id: node)
        }
    }

    /// A named result.
    public struct Output: Sendable, Hashable {
        /// The result name.
        public let name: String
        /// The node computing it.
        public let node: NodeID
        /// Its type.
        public let type: TensorType
    }

    /// The placeholders the outputs and assigns depend on, in graph order: each must be fed.
    public let inputs: [Input]
    /// The graph's other placeholders: they may be fed (their type is checked and their batch
    /// dimension counts), so one set of feeds serves every program of a graph.
    public let optionalInputs: [Input]
    /// The outputs, sorted by name.
    public let outputs: [Output]
    /// Every variable of the graph, by name.
    public let variables: [String: TensorType]
    /// The nodes to evaluate, in topological order: the outputs, every assign, and their operands.
    public let liveNodes: [NodeID]
    /// Whether a live node's shape involves the batch size, which the feeds must then give.
    public let usesBatch: Bool
    /// Whether the program assigns variables (a training step), so that calls of one program
    /// from several threads must take turns.
    public let assigns: Bool

    /// The signature of `graph` computing `outputs`.
    ///
    /// - Throws: ``KilnError`` if an output node belongs to another graph.
    public init(graph: Graph, outputs: [String: Node]) throws {
        self.outputs = try outputs.keys.sorted().map { name in
            guard let node = outputs[name], node.graph === graph else {
                throw KilnError(.invalidArgument, "output \(String(reflecting: name)) is a node of another graph")
            }
            return Output(name: name, node: node.id, type: node.type)
        }
        let assignIDs = graph.nodes.indices.filter { if case .assign = graph.nodes[$0].op { return true } else { return false } }
        assigns = !assignIDs.isEmpty
        let live = graph.nodes.reached(from: self.outputs.map(\.node) + assignIDs.map(NodeID.init))
        liveNodes = live.indices.filter { live[$0] }.map(NodeID.init)
        usesBatch = liveNodes.contains { graph.nodes[$0.index].usesBatch }

        var inputs: [Input] = [], optional: [Input] = [], variables: [String: TensorType] = [:]
        for (index, node) in graph.nodes.enumerated() {
            switch node.op {
            case .placeholder(let name, let type):
                let input = Input(name: name, node: NodeID(index), type: type)
                if live[index] { inputs.append(input) } else { optional.append(input) }
            case .variable(let name, let type):
                variables[name] = type
            case .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape,
                 .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
                 .logSoftmax, .randomUniform, .stopGradient, .assign, .scan, .scanResult:
                break  // computed, not part of the signature
            }
        }
        self.inputs = inputs
        self.optionalInputs = optional
        self.variables = variables
    }

    /// Checks `feeds` against the placeholders and returns the batch size they agree on (0
    /// when the program does not depend on it).
    ///
    /// - Throws: ``KilnError`` naming the feed for an unknown name, a missing input, a wrong
    ///   element type or shape, batch sizes that disagree, or no feed giving a batch size the
    ///   program needs.
    public func batchSize(of feeds: [String: Tensor]) throws -> Int {
        let placeholders = inputs + optionalInputs
        if feeds.keys.contains(where: { name in !placeholders.contains { $0.name == name } }) {
            // The first unknown name in order, so the message does not depend on hashing.
            for name in feeds.keys.sorted() where !placeholders.contains(where: { $0.name == name }) {
                throw KilnError(.unknownName, "unknown feed \(String(reflecting: name)); the inputs are: \(inputList)")
            }
        }
        for input in inputs where feeds[input.name] == nil {
            throw KilnError(.missingFeed, "missing feed \(String(reflecting: input.name)) of type \(input.type)\n  \(input.line)")
        }
        var batch: (size: Int, feed: String)? = nil
        for input in placeholders {
            guard let value = feeds[input.name] else { continue }
            try check(value, as: input, batch: &batch)
        }
        return try resolved(batch, placeholders)
    }

    /// The batch size of `value` fed as the program's one input (``batchSize(of:)`` without
    /// a dictionary: the single-sample predict path).
    ///
    /// - Throws: ``KilnError`` as ``batchSize(of:)`` does, or if the program has other inputs.
    public func batchSize(ofOnlyInput value: Tensor) throws -> Int {
        guard inputs.count == 1, optionalInputs.isEmpty else {
            throw KilnError(.missingFeed, "the program takes \(inputs.count + optionalInputs.count) inputs, not one: \(inputList)")
        }
        var batch: (size: Int, feed: String)? = nil
        try check(value, as: inputs[0], batch: &batch)
        return try resolved(batch, inputs)
    }

    /// Checks a feed's element type and shape against its placeholder, and its batch size
    /// against the one other feeds gave.
    private func check(_ value: Tensor, as input: Input, batch: inout (size: Int, feed: String)?) throws {
        func mismatch() -> KilnError {
            KilnError(.feedMismatch, "feed \(String(reflecting: input.name)) is \(value.type) but "
                      + "the placeholder is \(input.type)\n  \(input.line)")
        }
        guard value.dtype == input.type.dtype, value.shape.count == input.type.shape.rank else { throw mismatch() }
        for (dim, size) in zip(input.type.shape.dims, value.shape) {
            switch dim {
            case .size(let expected):
                guard size == expected else { throw mismatch() }
            case .batch:
                if let batch, batch.size != size {
                    throw KilnError(.feedMismatch, "feeds disagree on the batch size: "
                                    + "\(String(reflecting: batch.feed)) has \(batch.size), "
                                    + "\(String(reflecting: input.name)) has \(size)")
                }
                batch = (size, input.name)
            }
        }
    }

    /// The batch size the feeds gave, or 0; an error if the program needs one and none gave it.
    private func resolved(_ batch: (size: Int, feed: String)?, _ placeholders: [Input]) throws -> Int {
        if usesBatch && batch == nil {
            let candidates = placeholders.filter { $0.type.shape.hasBatch }.map { String(reflecting: $0.name) }
            throw KilnError(.missingFeed, "the program's results depend on the batch size, but no feed gives it; "
                            + "feed one of: \(candidates.joined(separator: ", "))")
        }
        return batch?.size ?? 0
    }

    private var inputList: String {
        let all = inputs + optionalInputs
        return all.isEmpty ? "(none)" : all.map { "\($0.name): \($0.type)" }.joined(separator: ", ")
    }
}
