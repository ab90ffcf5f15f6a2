import Testing
import KilnGraph
import KilnInterpreter

/// An operand of a gradient check.
enum Operand: Sendable {
    /// Uniform in `[low, high)`; a batch dimension resolves to 3.
    case random(Shape, Float, Float)
    /// Uniform in `±[0.3, 1.5)`, away from the kinks of abs, relu and sign.
    case awayFromZero(Shape)
    /// Exactly these values (indices, conditions, or floats with well-separated extremes).
    case values(Tensor)

    static let batch = 3

    func draw(_ generator: inout SeededGenerator) throws -> (Shape, Tensor) {
        switch self {
        case .random(let shape, let low, let high):
            return (shape, try .randomUniform(shape: shape.resolved(batch: Operand.batch), lower: low, upper: high, using: &generator))
        case .awayFromZero(let shape):
            let magnitudes = try Tensor.randomUniform(shape: shape.resolved(batch: Operand.batch), lower: 0.3, upper: 1.5,
                                                      using: &generator)
            let values = magnitudes.scalars.map { generator.nextUniform() < 0.5 ? -$0 : $0 }
            return (shape, try Tensor(shape: magnitudes.shape, scalars: values))
        case .values(let value):
            return (value.type.shape, value)
        }
    }
}

/// A differentiable op checked against central finite differences of `sum(op(x...) * r)`
/// for a random cotangent `r`, with respect to every `f32` operand.
struct GradientCase: Sendable, CustomTestStringConvertible {
    let op: String
    let label: String
    let operands: [Operand]
    let build: @Sendable ([Node]) throws -> Node

    init(_ op: String, _ label: String, _ operands: [Operand], build: @escaping @Sendable ([Node]) throws -> Node) {
        self.op = op
        self.label = label
        self.operands = operands
        self.build = build
    }

    var testDescription: String { "\(op): \(label)" }
}

/// Step and tolerances of the check: the 4-point stencil's truncation error is O(h⁴), its
/// float32 rounding error about 1e-5 of the loss; both stay well inside these bounds.
enum GradientTolerance {
    static let step: Float = 1e-2
    static let atol: Float = 2e-3
    static let rtol: Float = 2e-3
}

func checkGradients(_ c: GradientCase) throws {
    let seed = stableSeed(c.testDescription)
    var generator = SeededGenerator(seed: seed)
    let graph = Graph()
    var feeds: [String: Tensor] = [:]
    var nodes: [Node] = []
    for (index, operand) in c.operands.enumerated() {
        let (shape, value) = try operand.draw(&generator)
        nodes.append(try graph.placeholder("x\(index)", shape: shape, dtype: value.dtype))
        feeds["x\(index)"] = value
    }
    let out = try c.build(nodes)
    let forward = try InterpreterProgram(graph: graph, outputs: ["out": out])
    let outShape = try #require(try forward.run(feeds: feeds)["out"]).shape
    let cotangent = try graph.placeholder("r", shape: out.shape)
    feeds["r"] = try Tensor.randomNormal(shape: outShape, using: &generator)
    let loss = try sum(out * cotangent)
    let differentiable = nodes.indices.filter { nodes[$0].dtype == .float32 }
    let gradients = try graph.gradients(of: loss, wrt: differentiable.map { nodes[$0] })
    var outputs: [String: Node] = [:]
    for (position, gradient) in gradients.enumerated() { outputs["g\(position)"] = gradient }
    let analytic = try InterpreterProgram(graph: graph, outputs: outputs).run(feeds: feeds)
    let lossProgram = try InterpreterProgram(graph: graph, outputs: ["loss": loss])

    for (position, index) in differentiable.enumerated() {
        let name = "x\(index)"
        let x = try #require(feeds[name])
        let gradient = try #require(analytic["g\(position)"])
        #expect(gradient.shape == x.shape, "seed \(seed): gradient shape \(gradient.shape) for operand \(x.shape)")
        func lossAt(_ element: Int, _ delta: Float) throws -> Float {
            var values = x.scalars
            values[element] += delta
            var shifted = feeds
            shifted[name] = try Tensor(shape: x.shape, scalars: values)
            return try #require(try lossProgram.run(feeds: shifted)["loss"]).scalars[0]
        }
        let h = GradientTolerance.step
        let numeric = try (0..<x.scalarCount).map { k in
            (try -lossAt(k, 2 * h) + 8 * lossAt(k, h) - 8 * lossAt(k, -h) + lossAt(k, -2 * h)) / (12 * h)
        }
        expectClose(gradient, try Tensor(shape: x.shape, scalars: numeric), rtol: GradientTolerance.rtol,
                    atol: GradientTolerance.atol, "\(c.testDescription), seed \(seed): d loss / d \(name) by autodiff "
                    + "against finite differences")
    }
}
