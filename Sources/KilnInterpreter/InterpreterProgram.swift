import KilnGraph
import Synchronization

/// The reference backend: runs a graph op by op in plain Swift.
///
/// Slow and obviously correct, it is the executable specification every other backend is
/// checked against.
///
/// A program may be run from several threads at once; calls of a program that assigns
/// variables take turns.
///
/// ```swift
/// let program = try InterpreterProgram(graph: g, outputs: ["loss": loss])
/// let result = try program.run(feeds: ["x": x, "y": y])
/// print(result["loss"]!)
/// ```
public final class InterpreterProgram: Program, @unchecked Sendable {
    /// The inputs, outputs and variables.
    public let signature: ProgramSignature
    private let nodes: [NodeDef]
    /// The variables, shared with every program compiled with the same store.
    public let variables: VariableStore
    /// For each node, the last live node that reads it (values are released after it).
    private let lastUse: [Int: NodeID]
    private let outputNodes: Set<NodeID>
    /// Held by each call of a program that assigns variables (``ProgramSignature/assigns``).
    private let turn = Mutex(())

    /// Compiles `graph` to compute `outputs`; every assign in the graph runs on each call.
    ///
    /// The graph is copied: nodes added to it afterwards do not affect the program.
    ///
    /// - Parameters:
    ///   - variables: The store to read and write variables in, shared with other programs;
    ///     a new one when `nil`. The graph's variables missing from it are added with their
    ///     initial values.
    /// - Throws: ``KilnError`` if the graph fails ``Graph/verify()``, the outputs are invalid,
    ///   or a variable has another type in the store.
    public init(graph: Graph, outputs: [String: Node], variables: VariableStore? = nil) throws {
        try graph.verify()
        signature = try ProgramSignature(graph: graph, outputs: outputs)
        nodes = graph.nodes
        self.variables = variables ?? VariableStore()
        try self.variables.register(graph)
        var lastUse: [Int: NodeID] = [:]
        for id in signature.liveNodes {
            for input in nodes[id.index].inputs { lastUse[input.index] = id }
        }
        self.lastUse = lastUse
        outputNodes = Set(signature.outputs.map(\.node))
    }

    /// Runs the program once (see ``Program/run(feeds:)``).
    public func run(feeds: [String: Tensor]) throws -> [String: Tensor] {
        try run(feeds: feeds, taking: [:])
    }

    /// Runs the program with the values of the nodes in `given` taken as they are instead of
    /// computed: `KILN_VALIDATE` gives the interpreter the decisions the checked program made
    /// (comparisons, argmax, ...), so that a rounding-level difference in their operands cannot
    /// send the two backends down different branches.
    ///
    /// - Throws: ``KilnError`` as ``run(feeds:)`` does, or if a given value has the wrong type.
    package func run(feeds: [String: Tensor], taking given: [NodeID: Tensor]) throws -> [String: Tensor] {
        signature.assigns ? try turn.takingTurn { try evaluateAll(feeds: feeds, given: given) } : try evaluateAll(feeds: feeds, given: given)
    }

    /// Evaluates the live nodes in order, then applies the assigns.
    private func evaluateAll(feeds: [String: Tensor], given: [NodeID: Tensor]) throws -> [String: Tensor] {
        let batch = try signature.batchSize(of: feeds)
        var values = [Tensor?](repeating: nil, count: nodes.count)
        var updates: [(String, Tensor)] = []
        var scanResults: [NodeID: [Tensor]] = [:]
        for id in signature.liveNodes {
            let node = nodes[id.index]
            let operands = try node.inputs.map { input in
                guard let value = values[input.index] else {
                    throw KilnError(.invalidGraph, "\(line(id)): operand \(input) has no value")
                }
                return value
            }
            let result: Tensor
            do {
                switch node.op {
                case .scan(let scan):
                    scanResults[id] = try Reference.scan(scan, operands: operands, batch: batch)
                    result = Tensor(0)
                case .scanResult(let index, _):
                    guard let results = scanResults[node.inputs[0]] else {
                        throw KilnError(.invalidGraph, "operand \(node.inputs[0]) has no results")
                    }
                    result = given[id] ?? results[index]
                case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce,
                     .argmax, .reshape, .transpose, .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather,
                     .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax, .randomUniform, .stopGradient, .assign:
                    result = try given[id] ?? evaluate(node, operands: operands, feeds: feeds, batch: batch)
                }
            } catch let error as KilnError {
                throw KilnError(error.kind, "\(line(id)): \(error.message)")
            }
            let expected = node.type.shape.resolved(batch: batch)
            guard result.shape == expected, result.dtype == node.type.dtype else {
                throw KilnError(.invalidGraph, "\(line(id)): computed \(result.type), expected \(node.type)")
            }
            values[id.index] = result
            if case .assign = node.op, case .variable(let name, _) = nodes[node.inputs[0].index].op {
                updates.append((name, result))
            }
            for input in node.inputs where lastUse[input.index] == id && !outputNodes.contains(input) {
                values[input.index] = nil
                scanResults[input] = nil
            }
        }
        for (name, value) in updates { try variables.setValue(value, for: name) }
        var results: [String: Tensor] = [:]
        for output in signature.outputs { results[output.name] = values[output.node.index] }
        return results
    }

    private func line(_ id: NodeID) -> String { Printer.line(nodes[id.index], id: id) }

    private func evaluate(_ node: NodeDef, operands x: [Tensor], feeds: [String: Tensor], batch: Int) throws -> Tensor {
        switch node.op {
        case .placeholder(let name, _):
            guard let value = feeds[name] else { throw KilnError(.missingFeed, "missing feed \(name)") }
            return value
        case .variable(let name, _):
            return try variables.value(name)
        case .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape, .transpose,
             .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax,
             .randomUniform, .stopGradient, .assign, .scan, .scanResult:
            return try Reference.evaluate(node, operands: x, batch: batch)
        }
    }
}
