import KilnGraph

/// A planned function laid out for execution: the kernels in order, the pointers a program
/// passes in (feeds, variables, constants), and where every value lives.
public struct Schedule {
    /// A pointer the caller passes to the entry point, by position.
    public struct Slot: Sendable {
        /// What the pointer addresses.
        public enum Kind: Sendable {
            /// The feed of placeholder `name`.
            case feed(String)
            /// The storage of variable `name` (read, and written by assigns).
            case variable(String)
            /// A constant's elements, which the program keeps.
            case constant(Tensor)
        }
        /// What the pointer addresses.
        public let kind: Kind
        /// The leaf node.
        public let node: NodeID
        /// Its type.
        public let type: TensorType
    }

    /// Where a value is after a run.
    public enum Place: Sendable, Equatable {
        /// At the address passed in slot `index`.
        case slot(Int)
        /// At this byte offset of the arena.
        case arena(BatchPolynomial)
    }

    /// A named result.
    public struct Output: Sendable {
        /// The result's name.
        public let name: String
        /// Where its value is after the run.
        public let place: Place
        /// Its type.
        public let type: TensorType
    }

    /// The optimized, planned function.
    public let function: Function
    /// The memory plan (kernels in order, arena offsets).
    public let memory: MemoryPlan
    /// The pointers passed in, in order.
    public let slots: [Slot]
    /// The results, sorted by name.
    public let outputs: [Output]
    /// The slot of each leaf that has one.
    let slotOf: [NodeID: Int]

    /// The schedule of a function the pipeline has planned.
    ///
    /// - Throws: ``KilnError`` if `function` has no memory plan.
    public init(_ function: Function) throws {
        guard let memory = function.memory else {
            throw KilnError(.invalidArgument, "the function has no memory plan; run it through Pipeline.optimize first")
        }
        self.function = function
        self.memory = memory
        let nodes = function.nodes
        for (index, node) in nodes.enumerated() where node.type.shape.staticProduct == nil {
            throw KilnError(.shapeMismatch, "\(Printer.line(node, id: NodeID(index))): the shape has too many "
                            + "elements to address")
        }
        var needed = Set<NodeID>()
        for kernel in memory.kernels { needed.formUnion(kernel.inputs) }
        for result in function.results { needed.insert(function.aliasRoot(result)) }
        var feeds: [Slot] = [], variables: [Slot] = [], constants: [Slot] = []
        for (index, node) in nodes.enumerated() where needed.contains(NodeID(index)) {
            switch node.op {
            case .placeholder(let name, let type): feeds.append(Slot(kind: .feed(name), node: NodeID(index), type: type))
            case .variable(let name, let type): variables.append(Slot(kind: .variable(name), node: NodeID(index), type: type))
            case .constant(let value): constants.append(Slot(kind: .constant(value), node: NodeID(index), type: node.type))
            case .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape, .transpose,
                 .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax,
                 .randomUniform, .stopGradient, .assign, .scan, .scanResult:
                break  // computed into the arena, not passed in a slot
            }
        }
        // Assigned variables are written even when nothing reads them.
        for node in nodes {
            guard case .assign = node.op, !needed.contains(node.inputs[0]),
                  case .variable(let name, let type) = nodes[node.inputs[0].index].op else { continue }
            variables.append(Slot(kind: .variable(name), node: node.inputs[0], type: type))
        }
        slots = feeds + variables.sorted { $0.node < $1.node } + constants
        var slotOf: [NodeID: Int] = [:]
        for (index, slot) in slots.enumerated() { slotOf[slot.node] = index }
        self.slotOf = slotOf
        var outputs: [Output] = []
        for (name, id) in function.outputs.sorted(by: { $0.key < $1.key }) {
            let root = function.aliasRoot(id)
            let place: Place
            if let snapshot = memory.snapshots[root] {
                place = .arena(snapshot)
            } else if let offset = memory.offsets[root] {
                place = .arena(offset)
            } else if let slot = slotOf[root] {
                place = .slot(slot)
            } else {
                throw KilnError(.invalidGraph, "result \(String(reflecting: name)) has no memory: "
                                + Printer.line(nodes[root.index], id: root))
            }
            outputs.append(Output(name: name, place: place, type: nodes[id.index].type))
        }
        self.outputs = outputs
    }

    /// The C name of the pointer to a value's memory: `p5` for node `%5`.
    func pointer(_ id: NodeID) -> String { "p\(id.index)" }
}
