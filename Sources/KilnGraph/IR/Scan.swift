/// A loop over steps: a body graph applied `length` times, carrying values from one step to
/// the next and producing a value at every step. A recurrent layer is a scan over time.
///
/// A scan node's operands, in order:
/// - the carries' initial values (`carryCount` of them);
/// - the sequences (`sequenceCount`), each `[length, ...]`: step `t` reads slice `t` of the
///   leading axis (sequences are time-major, so a step's slice is contiguous);
/// - the invariants: values every step reads whole (weights).
///
/// The body is a graph of its own. Its placeholders ``parameters`` stand for the carries, one
/// slice of each sequence and the invariants, in that order; its ``results`` are the new
/// carries (of the carries' types), then the per-step outputs. It has no variables or assigns.
///
/// The scan's results (each read by a ``Op/scanResult(index:type:)`` node; the scan node's own
/// value is an empty `f32[]`), in order:
/// - the final carries;
/// - each per-step output stacked into `[length, ...]`: step `t`'s output at index `t`, also
///   when the scan runs in ``reverse``;
/// - the carries each step began with, stacked into `[length, ...]` (index `t` holds the carry
///   step `t` read): the values the reverse-mode rule reads instead of recomputing them.
public struct Scan: Hashable, Sendable {
    /// The body's nodes: a graph whose placeholders are ``parameters``.
    public let body: [NodeDef]
    /// The body's placeholders: the carries, then one step of each sequence, then the invariants.
    public let parameters: [NodeID]
    /// The body's nodes giving the new carries, then the per-step outputs.
    public private(set) var results: [NodeID]
    /// How many operands (and body results) are carries.
    public let carryCount: Int
    /// How many operands are sequences.
    public let sequenceCount: Int
    /// The number of steps; every sequence's leading axis has this length.
    public let length: Int
    /// Whether the steps run from `length - 1` down to 0 (outputs still stored at their step's index).
    public let reverse: Bool

    /// A scan of `body`, whose placeholders `carries`, `steps` and `invariants` stand for the
    /// operands of those kinds, and whose nodes `newCarries` and `outputs` are a step's results.
    ///
    /// - Throws: ``KilnError`` if a parameter is not one of the body's placeholders (or appears
    ///   twice), the body has variables or assigns, a new carry's type differs from its carry's,
    ///   `length` is below 1, or a node belongs to another graph.
    public init(body: Graph, carries: [Node], steps: [Node], invariants: [Node], newCarries: [Node], outputs: [Node],
                length: Int, reverse: Bool = false) throws {
        let all = carries + steps + invariants + newCarries + outputs
        guard all.allSatisfy({ $0.graph === body }) else {
            throw KilnError(.invalidArgument, "scan: the parameters and results must be nodes of the body graph")
        }
        self.body = body.nodes
        parameters = (carries + steps + invariants).map(\.id)
        results = (newCarries + outputs).map(\.id)
        carryCount = carries.count
        sequenceCount = steps.count
        self.length = length
        self.reverse = reverse
        guard newCarries.count == carries.count else {
            throw KilnError(.invalidArgument, "scan: \(carries.count) carries but \(newCarries.count) new carries")
        }
        try check()
    }

    /// This scan with the body's nodes `outputs` added after its per-step outputs: the same loop,
    /// also stacking those values. Its results keep their indices, except the stacked carries,
    /// which move up by `outputs.count`.
    package func addingOutputs(_ outputs: [NodeID]) -> Scan {
        var wider = self
        wider.results += outputs
        return wider
    }

    /// The body as a graph, after checking it.
    public func bodyGraph() throws -> Graph { try Graph(nodes: body, initialValues: [:]) }

    /// How many operands are invariants.
    public var invariantCount: Int { parameters.count - carryCount - sequenceCount }

    /// How many per-step outputs the body has.
    public var outputCount: Int { results.count - carryCount }

    /// The type of each parameter.
    public var parameterTypes: [TensorType] { parameters.map { body[$0.index].type } }

    /// The types of the scan's results (see ``Scan``): final carries, stacked outputs, stacked carries.
    public var resultTypes: [TensorType] {
        let carries = parameters.prefix(carryCount).map { body[$0.index].type }
        let outputs = results.dropFirst(carryCount).map { body[$0.index].type }
        return carries + (outputs + carries).map(stacked)
    }

    /// One step's slice of stacked result `index` (an output or a carry stacked over the
    /// steps): its type without the leading axis.
    public func stepType(ofResult index: Int) -> TensorType {
        let stacked = resultTypes[index]
        return TensorType(stacked.dtype, Shape(Array(stacked.shape.dims.dropFirst())))
    }

    /// `type` with a leading axis of ``length`` steps.
    public func stacked(_ type: TensorType) -> TensorType {
        TensorType(type.dtype, Shape([.size(length)] + type.shape.dims))
    }

    /// Checks the operands' types against the parameters' (the sequences stacked).
    func checkOperands(_ inputs: [TensorType]) throws {
        guard inputs.count == parameters.count else {
            throw KilnError(.invalidGraph, "the body has \(parameters.count) parameters (\(carryCount) carries, "
                            + "\(sequenceCount) sequences, \(invariantCount) invariants) but the scan has \(inputs.count) operands")
        }
        for (position, (operand, parameter)) in zip(inputs, parameterTypes).enumerated() {
            let isSequence = position >= carryCount && position < carryCount + sequenceCount
            let expected = isSequence ? stacked(parameter) : parameter
            guard operand == expected else {
                let role = position < carryCount ? "carry \(position)"
                    : isSequence ? "sequence \(position - carryCount)" : "invariant \(position - carryCount - sequenceCount)"
                throw KilnError(.shapeMismatch, "\(role) is \(operand) but the body takes \(expected)"
                                + (isSequence ? " (\(length) steps of \(parameter))" : ""))
            }
        }
    }

    /// The invariants of a well-formed scan (see ``init(body:carries:steps:invariants:newCarries:outputs:length:reverse:)``).
    func check() throws {
        guard length >= 1 else { throw KilnError(.invalidArgument, "scan: the length must be at least 1, got \(length)") }
        var seen = Set<NodeID>()
        for parameter in parameters {
            guard body.indices.contains(parameter.index), case .placeholder = body[parameter.index].op else {
                throw KilnError(.invalidArgument, "scan: parameter \(parameter) is not a placeholder of the body")
            }
            guard seen.insert(parameter).inserted else {
                throw KilnError(.invalidArgument, "scan: parameter \(parameter) is listed twice")
            }
        }
        for (index, node) in body.enumerated() {
            switch node.op {
            case .variable, .assign:
                throw KilnError(.invalidArgument, "scan: the body has state (\(Printer.line(node, id: NodeID(index)))); "
                                + "pass values in as invariants and out as carries")
            case .placeholder:
                guard seen.contains(NodeID(index)) else {
                    throw KilnError(.invalidArgument, "scan: body placeholder \(Printer.line(node, id: NodeID(index))) is not a parameter")
                }
            case .constant, .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape, .transpose,
                 .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax,
                 .logSoftmax, .randomUniform, .stopGradient, .scan, .scanResult:
                continue
            }
        }
        let graph = try bodyGraph()
        for result in results where !graph.nodes.indices.contains(result.index) {
            throw KilnError(.invalidArgument, "scan: result \(result) is not a node of the body")
        }
        for position in 0..<carryCount {
            let carry = body[parameters[position].index].type, next = body[results[position].index].type
            guard carry == next else {
                throw KilnError(.shapeMismatch, "scan: carry \(position) is \(carry) but the body's new value is \(next)")
            }
        }
    }
}
