@_exported import KilnSamples
import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnKernels
@_exported import KilnTestSupport
import Testing

/// How a test input is drawn.
enum Input: Sendable {
    /// `f32` uniform in `[lower, upper)`.
    case float(Shape, Float, Float)
    /// `i32` uniform in `0..<bound`.
    case index(Shape, Int)
    /// `bool`, half true.
    case bool(Shape)
    /// Exactly this value (no batch dimension).
    case value(Tensor)

    var shape: Shape {
        switch self {
        case .float(let s, _, _), .index(let s, _), .bool(let s): s
        case .value(let t): Shape(sizes: t.shape)
        }
    }

    var dtype: DType {
        switch self {
        case .float: .float32
        case .index: .int32
        case .bool: .bool
        case .value(let t): t.dtype
        }
    }

    func draw(batch: Int, _ generator: inout SeededGenerator) throws -> Tensor {
        let sizes = shape.resolved(batch: batch)
        let count = sizes.reduce(1, *)
        switch self {
        case .float(_, let lower, let upper):
            return try Tensor(shape: sizes, scalars: (0..<count).map { _ in lower + (upper - lower) * generator.nextUniform() })
        case .index(_, let bound):
            return try Tensor(shape: sizes, scalars: (0..<count).map { _ in Int32(generator.nextIndex(below: bound)) })
        case .bool:
            return try Tensor(shape: sizes, scalars: (0..<count).map { _ in generator.nextUniform() < 0.5 })
        case .value(let value):
            return value
        }
    }
}

/// An op (or small graph) that both backends must compute alike.
struct ParityCase: Sendable, CustomTestStringConvertible {
    let op: String
    let label: String
    let inputs: [Input]
    var rtol: Float = 1e-5
    var atol: Float = 1e-5
    let build: @Sendable ([Node]) throws -> Node

    init(_ op: String, _ label: String, _ inputs: [Input], rtol: Float = 1e-5, atol: Float = 1e-5,
         build: @escaping @Sendable ([Node]) throws -> Node) {
        self.op = op
        self.label = label
        self.inputs = inputs
        self.rtol = rtol
        self.atol = atol
        self.build = build
    }

    var testDescription: String { "\(op): \(label)" }
}

/// The batch sizes every case runs at: one, one that is not a multiple of any unroll
/// factor, and a larger one.
let parityBatches = [1, 7, 37]

/// Builds a graph of placeholders `x0, x1, ...`, applies `build` and returns it with its feeds.
func makeGraph(_ inputs: [Input], _ build: ([Node]) throws -> Node) throws -> (Graph, [Node], Node) {
    let graph = Graph()
    let nodes = try inputs.enumerated().map { index, input in
        try graph.placeholder("x\(index)", shape: input.shape, dtype: input.dtype)
    }
    return (graph, nodes, try build(nodes))
}

/// Runs `outputs` of `graph` on both backends with seeded feeds at each batch size and
/// records an issue for every value (and, at the end, every variable) that differs beyond
/// `atol + rtol * |expected|`.
func expectParity(_ graph: Graph, outputs: [String: Node], inputs: [Input], seed: UInt64,
                  rtol: Float, atol: Float, context: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try expectParity(graph, outputs: outputs, batched: inputs.contains { $0.shape.hasBatch }, seed: seed, rtol: rtol,
                     atol: atol, context: context, sourceLocation: sourceLocation) { batch, generator in
        var feeds: [String: Tensor] = [:]
        for (index, input) in inputs.enumerated() { feeds["x\(index)"] = try input.draw(batch: batch, &generator) }
        return feeds
    }
}

/// Runs a sample graph on both backends (several steps, so updates compound) and compares.
func expectParity(_ sample: SampleGraph, seed: UInt64, rtol: Float, atol: Float,
                  sourceLocation: SourceLocation = #_sourceLocation) throws {
    try expectParity(sample.graph, outputs: sample.outputs, batched: true, seed: seed, rtol: rtol, atol: atol,
                     context: sample.name, sourceLocation: sourceLocation) { batch, generator in
        try sample.makeFeeds(batch: batch, using: &generator)
    }
}

func expectParity(_ graph: Graph, outputs: [String: Node], batched: Bool, seed: UInt64, rtol: Float, atol: Float,
                  context: String, sourceLocation: SourceLocation,
                  feeds makeFeeds: (Int, inout SeededGenerator) throws -> [String: Tensor]) throws {
    let jit = try JITProgram(graph: graph, outputs: outputs)
    let reference = try InterpreterProgram(graph: graph, outputs: outputs)
    var generator = SeededGenerator(seed: seed)
    for batch in batched ? parityBatches : [1] {
        let feeds = try makeFeeds(batch, &generator)
        let expected = try reference.run(feeds: feeds)
        let actual = try jit.run(feeds: feeds)
        for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
            guard let got = actual[name] else {
                Issue.record("\(context): no output \(name) (seed \(seed))", sourceLocation: sourceLocation)
                continue
            }
            expectClose(got, value, rtol: rtol, atol: atol, "\(context) output \(name) batch \(batch) seed \(seed)",
                        sourceLocation: sourceLocation)
        }
    }
    for name in reference.variables.names {
        expectClose(try jit.variable(name), try reference.variable(name), rtol: rtol, atol: atol,
                    "\(context) variable \(name) seed \(seed)", sourceLocation: sourceLocation)
    }
}

/// The runtime function generated code links by `name` (`kiln_runtime_symbols`), as `type`
/// (a `@convention(c)` function type).
func runtimeFunction<Function>(_ name: String, as type: Function.Type) throws -> Function {
    var count = 0
    let symbols = try #require(kiln_runtime_symbols(&count))
    let symbol = try #require(UnsafeBufferPointer(start: symbols, count: count).first { String(cString: $0.name) == name },
                              "no runtime symbol \(name)")
    return unsafeBitCast(symbol.address, to: type)
}
