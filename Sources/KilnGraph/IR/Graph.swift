/// A static computation graph: SSA nodes in topological order.
///
/// Leaves are placeholders (fed at run time), variables (persistent, updated by `assign`)
/// and constants; every other node is an op over earlier nodes. Each append infers the
/// result type and throws a ``KilnError`` naming the node and the shapes if the operands
/// do not fit, so a graph that was built is always well typed.
///
/// ```swift
/// let g = Graph()
/// let x = try g.placeholder("x", shape: [.batch, 2])
/// let w = try g.variable("w", initialValue: Tensor([[1], [2]]))
/// let y = try matmul(x, w)            // %2 = matmul %0, %1 : f32[?,1]
/// ```
public final class Graph {
    /// The nodes in topological order; a node's ``NodeID`` is its index here.
    public private(set) var nodes: [NodeDef] = []
    /// The initial value of each variable, by name.
    public private(set) var initialValues: [String: Tensor] = [:]

    private var placeholderIDs: [String: NodeID] = [:]
    private var variableIDs: [String: NodeID] = [:]
    private var assignedVariables: [NodeID: NodeID] = [:]

    /// An empty graph.
    public init() {}

    /// A graph from node definitions, for code that transforms graphs.
    ///
    /// - Throws: ``KilnError`` from ``verify()`` if the nodes do not form a valid graph
    ///   (cycles, forward references, wrong recorded types, missing initial values, ...).
    public convenience init(nodes: [NodeDef], initialValues: [String: Tensor]) throws {
        self.init(unverifiedNodes: nodes, initialValues: initialValues)
        try verify()
    }

    /// A graph from node definitions that a compiler pass derived from a verified graph;
    /// the pipeline verifies it in debug builds.
    package init(unverifiedNodes nodes: [NodeDef], initialValues: [String: Tensor]) {
        self.nodes = nodes
        self.initialValues = initialValues
        for (index, node) in nodes.enumerated() {
            let id = NodeID(index)
            switch node.op {
            case .placeholder(let name, _): placeholderIDs[name] = id
            case .variable(let name, _): variableIDs[name] = id
            case .assign: assignedVariables[node.inputs[0]] = id
            case .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape,
                 .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
                 .logSoftmax, .randomUniform, .stopGradient, .scan, .scanResult:
                break  // nothing to index by name
            }
        }
    }

    /// The handle of node `id`, or `nil` if the graph has no such node.
    public func node(_ id: NodeID) -> Node? { nodes.indices.contains(id.index) ? handle(id) : nil }

    /// The handle of a node known to exist.
    func handle(_ id: NodeID) -> Node { Node(graph: self, id: id) }

    /// The placeholder named `name`, if there is one.
    public func placeholder(named name: String) -> Node? { placeholderIDs[name].map(handle) }

    /// The variable named `name`, if there is one.
    public func variable(named name: String) -> Node? { variableIDs[name].map(handle) }

    // MARK: Leaves

    /// A value fed at run time under `name`.
    ///
    /// - Parameters:
    ///   - name: The feed name, unique among the graph's placeholders.
    ///   - shape: The shape; `.batch` marks the dimension whose size is given at run time.
    ///   - dtype: The element type.
    /// - Throws: ``KilnError`` if the name is taken or a size is negative.
    public func placeholder(_ name: String, shape: Shape, dtype: DType = .float32) throws -> Node {
        if let existing = placeholderIDs[name] {
            throw KilnError(.invalidArgument,
                            "placeholder \(String(reflecting: name)) already exists: \(handle(existing))")
        }
        let id = try appendChecked(.placeholder(name: name, type: TensorType(dtype, shape)), [])
        placeholderIDs[name] = id.id
        return id
    }

    /// A persistent value that programs keep across runs and update with ``assign(_:_:)``.
    ///
    /// - Parameters:
    ///   - name: The variable name, unique in the graph.
    ///   - initialValue: The value the variable holds when a program is compiled.
    /// - Throws: ``KilnError`` if the name is taken.
    public func variable(_ name: String, initialValue: Tensor) throws -> Node {
        if let existing = variableIDs[name] {
            throw KilnError(.invalidArgument,
                            "variable \(String(reflecting: name)) already exists: \(handle(existing))")
        }
        let id = try appendChecked(.variable(name: name, type: initialValue.type), [])
        variableIDs[name] = id.id
        initialValues[name] = initialValue
        return id
    }

    /// A value fixed when the graph is built.
    public func constant(_ value: Tensor) -> Node {
        insert(NodeDef(op: .constant(value), inputs: [], type: value.type))
    }

    /// An `f32` scalar constant.
    public func constant(_ value: Float) -> Node { constant(Tensor(value)) }

    /// Writes `value` into `variable` when the run ends; every read of the variable in the
    /// same run sees the value it had when the run began.
    ///
    /// - Returns: A node holding the written value.
    /// - Throws: ``KilnError`` if `variable` is not a variable node, the types differ, or the
    ///   variable is already assigned in this graph.
    public func assign(_ variable: Node, _ value: Node) throws -> Node {
        try append(.assign, [variable, value])
    }

    // MARK: Appending ops

    /// Appends `op` applied to `inputs` after checking the inputs and inferring the result type.
    ///
    /// Placeholders and variables are created with ``placeholder(_:shape:dtype:)`` and
    /// ``variable(_:initialValue:)``, which keep their names unique and record initial values.
    ///
    /// - Throws: ``KilnError`` naming the node and its operands' types if they do not fit `op`.
    @discardableResult
    public func append(_ op: Op, _ inputs: [Node]) throws -> Node {
        switch op {
        case .placeholder, .variable:
            throw KilnError(.invalidArgument,
                            "\(Printer.opText(op, inputs: [])): create placeholders and variables with "
                            + "graph.placeholder(_:shape:dtype:) and graph.variable(_:initialValue:)")
        case .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape, .transpose,
             .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax,
             .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            return try appendChecked(op, inputs)
        }
    }

    private func appendChecked(_ op: Op, _ inputs: [Node]) throws -> Node {
        let opText = Printer.opText(op, inputs: inputs.map(\.id))
        if let foreign = inputs.first(where: { $0.graph !== self }) {
            throw KilnError(.invalidArgument, "\(opText): operand \(foreign.id) belongs to another graph")
        }
        if case .assign = op, inputs.count == 2 {
            try checkAssignTarget(inputs[0], opText: opText)
        }
        let type: TensorType
        do {
            type = try op.resultType(of: inputs.map(\.type))
        } catch let error as KilnError {
            throw KilnError(error.kind, Printer.failure(opText, error.message, operands: inputs))
        }
        if case .scanResult(let index, let type) = op {
            try Graph.checkScanResult(index: index, type: type, of: inputs[0].definition, opText: opText)
        }
        let node = insert(NodeDef(op: op, inputs: inputs.map(\.id), type: type))
        if case .assign = op { assignedVariables[inputs[0].id] = node.id }
        return node
    }

    /// Throws unless `scan` is a scan node whose result `index` has `type`.
    static func checkScanResult(index: Int, type: TensorType, of scan: NodeDef, opText: String) throws {
        guard case .scan(let loop) = scan.op else {
            throw KilnError(.invalidGraph, "\(opText): the operand is not a scan node")
        }
        let types = loop.resultTypes
        guard types.indices.contains(index) else {
            throw KilnError(.invalidGraph, "\(opText): the scan has \(types.count) results, not \(index + 1)")
        }
        guard types[index] == type else {
            throw KilnError(.invalidGraph, "\(opText): result \(index) of the scan is \(types[index]), not \(type)")
        }
    }

    private func checkAssignTarget(_ target: Node, opText: String) throws {
        guard case .variable = target.op else {
            throw KilnError(.invalidArgument, "\(opText): \(target.id) is not a variable\n  \(target)")
        }
        if let previous = assignedVariables[target.id] {
            throw KilnError(.invalidArgument,
                            "\(opText): \(target.id) is already assigned by \(previous)\n  \(handle(previous))")
        }
    }

    private func insert(_ definition: NodeDef) -> Node {
        nodes.append(definition)
        return Node(graph: self, id: NodeID(nodes.count - 1))
    }
}
