import KilnGraph
import KilnInterpreter
import KilnTestSupport
import Testing

/// A pooling that drops the last row and column of an odd map reads only the first positions
/// of a convolution: the convolution is built over only those windows (`cropped`), with the
/// same values and gradients as the whole map sliced.
@Suite("Pooling of a convolution's first positions")
struct CroppedPoolingTests {
    /// A convolution, its bias and relu, then a 2×2 pooling; `sliced` slices the maps
    /// explicitly first, as the pooling did before, for reference.
    struct Case: Sendable, CustomStringConvertible {
        var image: [Int]
        var filter: [Int]
        var stride = [1, 1]
        var padding = Padding.valid
        var dilation = [1, 1]
        var average = false
        var description: String { "\(image), filter \(filter), stride \(stride), \(padding), dilation \(dilation)" }
    }

    static let cases: [Case] = [
        // The convnet's conv2: 13×13 → 11×11 maps, pooled from 10×10.
        Case(image: [13, 13, 3], filter: [3, 3, 3, 4]),
        // Same padding with stride 2: 9×9 → 5×5, pooled from 4×4; the image is cut to 8 rows.
        Case(image: [9, 9, 2], filter: [3, 3, 2, 3], stride: [2, 2], padding: .same),
        // Dilation 2: 11×11 → 7×7, pooled from 6×6; average pooling.
        Case(image: [11, 11, 1], filter: [3, 3, 1, 2], dilation: [2, 2], average: true),
        // Fewer rows than columns: 13×14 → 11×13, pooled from 10×12.
        Case(image: [13, 14, 2], filter: [3, 2, 2, 5]),
    ]

    private func build(_ c: Case, sliced: Bool, otherReader: Bool = false)
        throws -> (graph: Graph, y: Node, x: Node, f: Node, b: Node, product: Node) {
        let graph = Graph()
        var generator = SeededGenerator(seed: UInt64(c.image.reduce(0, +) * 31 + c.filter.reduce(0, +)))
        let x = try graph.placeholder("x", shape: Shape([.batch] + c.image.map { .size($0) }))
        let f = try graph.variable("f", initialValue: try Tensor.randomUniform(shape: c.filter, lower: -1, upper: 1, using: &generator))
        let b = try graph.variable("b", initialValue: try Tensor.randomUniform(shape: [c.filter[3]], lower: -0.3, upper: 0.3,
                                                                               using: &generator))
        let z = try relu(try conv2d(x, f, stride: c.stride, padding: c.padding, dilation: c.dilation) + b)
        if otherReader { _ = try mean(z) }
        let (h, w) = (z.shape[1].staticSize ?? 0, z.shape[2].staticSize ?? 0)
        let pooled = sliced ? try slice(z, starts: [0, 0, 0, 0], sizes: [-1, h / 2 * 2, w / 2 * 2, -1]) : z
        let y = c.average ? try avgPool2d(pooled, size: [2, 2], stride: [2, 2]) : try maxPool2d(pooled, size: [2, 2], stride: [2, 2])
        // The product the pooling reads: the matmul behind the maps it pools.
        var product = y
        while !{ if case .matmul = product.op { true } else { false } }() { product = product.inputs[0] }
        return (graph, y, x, f, b, product)
    }

    @Test("the convolution computes only the pooled positions, with the same values and gradients", arguments: cases)
    func sameValuesFewerWindows(_ c: Case) throws {
        let cropped = try build(c, sliced: false), reference = try build(c, sliced: true)
        let rows = reference.y.shape[1].staticSize! * 2, cols = reference.y.shape[2].staticSize! * 2
        #expect(cropped.product.shape[1] == .size(rows * cols), "\(cropped.product.type)")
        #expect(reference.product.shape[1] != .size(rows * cols))
        var generator = SeededGenerator(seed: 7)
        let feeds = ["x": try Tensor.randomUniform(shape: [3] + c.image, lower: -1, upper: 1, using: &generator)]
        var results: [[Tensor]] = []
        for built in [cropped, reference] {
            let loss = try sum(built.y * built.y)
            let grads = try built.graph.gradients(of: loss, wrt: [built.f, built.b, built.x])
            let outputs = ["y": built.y, "df": grads[0], "db": grads[1], "dx": grads[2]]
            let run = try InterpreterProgram(graph: built.graph, outputs: outputs).run(feeds: feeds)
            results.append(try ["y", "df", "db", "dx"].map { try #require(run[$0]) })
        }
        #expect(results[0][0].scalars.map(\.bitPattern) == results[1][0].scalars.map(\.bitPattern), "the pooled values")
        for (index, name) in ["df", "db", "dx"].enumerated() {
            expectClose(results[0][index + 1], results[1][index + 1], rtol: 1e-5, atol: 1e-6, name)
        }
    }

    @Test("a pooling feeding a convolution computes only the tiles the convolution reads, and the convolution before it only their positions")
    func twoConvolutions() throws {
        // 16×16 → conv1 14×14 → pool 7×7 → conv2 (valid 3×3) 5×5 → pool 2×2 of 4×4. conv2's
        // 4×4 windows read 6×6 of the first pooling's 7×7, so conv1 computes 12×12.
        func build(sliced: Bool) throws -> (graph: Graph, y: Node, weights: [Node], products: [Node]) {
            let graph = Graph()
            var generator = SeededGenerator(seed: 11)
            let x = try graph.placeholder("x", shape: [.batch, 16, 16, 1])
            func variable(_ name: String, _ shape: [Int]) throws -> Node {
                try graph.variable(name, initialValue: try Tensor.randomUniform(shape: shape, lower: -1, upper: 1, using: &generator))
            }
            let (f1, b1, f2, b2) = (try variable("f1", [3, 3, 1, 4]), try variable("b1", [4]), try variable("f2", [3, 3, 4, 3]),
                                    try variable("b2", [3]))
            let p1 = try maxPool2d(try relu(try conv2d(x, f1) + b1), size: [2, 2], stride: [2, 2])
            let z2 = try relu(try conv2d(sliced ? try slice(p1, starts: [0, 0, 0, 0], sizes: [-1, 6, 6, -1]) : p1, f2) + b2)
            let pooled = sliced ? try slice(z2, starts: [0, 0, 0, 0], sizes: [-1, 4, 4, -1]) : z2
            let y = try maxPool2d(pooled, size: [2, 2], stride: [2, 2])
            let products = graph.nodes.indices.compactMap { graph.node(NodeID($0)) }.filter {
                if case .matmul = $0.op { true } else { false }
            }
            return (graph, y, [f1, b1, f2, b2, x], products)
        }
        let cropped = try build(sliced: false), reference = try build(sliced: true)
        // The products the output depends on: the last two built.
        #expect(cropped.products.suffix(2).map { $0.shape[1] } == [.size(144), .size(16)], "\(cropped.products.map(\.type))")
        #expect(reference.products.map { $0.shape[1] } == [.size(196), .size(16)])
        var generator = SeededGenerator(seed: 5)
        let feeds = ["x": try Tensor.randomUniform(shape: [2, 16, 16, 1], lower: -1, upper: 1, using: &generator)]
        var results: [[Tensor]] = []
        for built in [cropped, reference] {
            let grads = try built.graph.gradients(of: try sum(built.y * built.y), wrt: built.weights)
            var outputs = ["y": built.y]
            for (index, grad) in grads.enumerated() { outputs["d\(index)"] = grad }
            let run = try InterpreterProgram(graph: built.graph, outputs: outputs).run(feeds: feeds)
            results.append(try (["y"] + grads.indices.map { "d\($0)" }).map { try #require(run[$0]) })
        }
        #expect(results[0][0].scalars.map(\.bitPattern) == results[1][0].scalars.map(\.bitPattern), "the pooled values")
        for index in 1..<results[0].count {
            expectClose(results[0][index], results[1][index], rtol: 1e-5, atol: 1e-6, "gradient \(index - 1)")
        }
    }

    @Test("maps something else reads are sliced, not computed twice")
    func otherReadersKeepTheWholeMap() throws {
        let built = try build(Self.cases[0], sliced: false, otherReader: true)
        #expect(built.product.shape[1] == .size(121), "\(built.product.type)")
    }
}
