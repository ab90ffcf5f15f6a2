import KilnCompiler
import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnKernels
import KilnTestSupport
import Testing

/// A convolution's bias and activation run as the epilogue of its product (SinkReshapes puts
/// them in the product's shape, `[n, oh·ow, out]`), chunk by chunk of rows: each part of the
/// loop computes a chunk's product, then the epilogue over its rows, while the chunk is in
/// the cache (`rowProduct` in CRenderer+Loop.swift).
@Suite("Products with their epilogue by chunks of rows")
struct ProductEpilogueTests {
    /// Images `[?, 10, 10, 3]` through a 3×3 convolution to 32 channels, its bias and relu, and
    /// the mask of its positive sums (what relu's gradient reads), with the filter's gradient,
    /// as a training step computes them (the product reads the windows in place from the image,
    /// `kiln_gemm_window_rows`, as the filter's gradient does, `WindowedProductTests`).
    private func convolution(_ graph: Graph) throws -> (product: Node, outputs: [String: Node]) {
        var generator = SeededGenerator(seed: 17)
        let x = try graph.placeholder("x0", shape: [.batch, 10, 10, 3])
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: [3, 3, 3, 32], lower: -0.5, upper: 0.5,
                                                                                using: &generator))
        let b = try graph.variable("b", initialValue: try Tensor.randomUniform(shape: [32], lower: -0.5, upper: 0.5, using: &generator))
        let product = try conv2d(x, w)
        let sums = try product + b
        let y = try relu(sums)
        let dw = try graph.gradients(of: try sum(square(y)), wrt: [w])[0]
        return (product, ["y": y, "positive": try greater(sums, graph.constant(0)), "dw": dw])
    }

    @Test("the bias and relu of a convolution run on each chunk of its product, which is never written")
    func epilogueRunsOnChunks() throws {
        let graph = Graph()
        let (_, outputs) = try convolution(graph)
        let program = try JITProgram(graph: graph, outputs: outputs)
        let source = program.lowered.unit.source
        // One kernel: the chunk's product on the stack, then the loop over its rows.
        #expect(source.contains("_matmul_add_relu_"), "\(source)")
        #expect(source.contains("float kq[7680];"), "\(source)")
        #expect(source.contains("kiln_gemm_window_rows(n, 10, 10, 3, 3, 3, 1, 1, 1, 1, 0, 0, 8, 8, 0.0f, p"), "\(source)")
        // 1 and 7 images run in one part, 37 (2,368 rows of 32) in parts of several chunks.
        try expectParity(graph, outputs: outputs, inputs: [.float([.batch, 10, 10, 3], -1, 1)], seed: stableSeed("chunks"),
                         rtol: 1e-5, atol: 1e-5, context: "convolution with its epilogue")
    }

    @Test("a product wider than Kiln's own narrow kernel takes, run by a library, is computed whole", arguments: [64, 65])
    func wideProductsRunWhole(units: Int) throws {
        let graph = Graph()
        let x = try graph.placeholder("x0", shape: [.batch, 20])
        let w = try graph.variable("w", initialValue: try Tensor.zeros(shape: [20, units]))
        let b = try graph.variable("b", initialValue: try Tensor.zeros(shape: [units]))
        let program = try JITProgram(graph: graph, outputs: ["y": try relu(matmul(x, w) + b)])
        // A library packs its operands at every call: chunks would pay for it again and again.
        #expect(program.lowered.unit.source.contains("float kq[") == (units <= 64), "\(program.lowered.unit.source)")
    }

    @Test("a product that is also a result is computed whole before its epilogue")
    func productThatIsAResultRunsWhole() throws {
        let graph = Graph()
        var (product, outputs) = try convolution(graph)
        outputs["product"] = product
        let program = try JITProgram(graph: graph, outputs: outputs)
        let source = program.lowered.unit.source
        #expect(!source.contains("float kq["), "\(source)")
        #expect(source.contains("kiln_gemm_windows(n, 10, 10, 3, 3, 3, 1, 1, 1, 1, 0, 0, 8, 8, 0.0f, p"), "\(source)")
        try expectParity(graph, outputs: outputs, inputs: [.float([.batch, 10, 10, 3], -1, 1)], seed: stableSeed("written"),
                         rtol: 1e-5, atol: 1e-5, context: "convolution with its product as an output")
    }

    @Test("a bias and relu alone after the product, with or without the mask of positive sums, are one call per chunk",
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func biasAndReluAreOneCallPerChunk(dense: Bool, mask: Bool) throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: 23)
        let x = try graph.placeholder("x0", shape: dense ? [.batch, 20] : [.batch, 10, 10, 3])
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: dense ? [20, 24] : [3, 3, 3, 32], lower: -0.5,
                                                                                upper: 0.5, using: &generator))
        let b = try graph.variable("b", initialValue: try Tensor.randomUniform(shape: [dense ? 24 : 32], lower: -0.5, upper: 0.5,
                                                                                using: &generator))
        let sums = try (dense ? matmul(x, w) : conv2d(x, w)) + b
        var outputs = ["y": try relu(sums)]
        if mask { outputs["positive"] = try greater(sums, graph.constant(0)) }
        let program = try JITProgram(graph: graph, outputs: outputs)
        let source = program.lowered.unit.source
        #expect(source.contains("kiln_bias_relu_rows(qe - q, \(dense ? 24 : 32), kq, p"), "\(source)")
        #expect(source.contains(", (uint8_t *)0);") != mask, "\(source)")
        #expect(!source.contains("kiln_vec_relu(") && !source.contains("kiln_vec_greater("), "\(source)")
        try expectParity(graph, outputs: outputs, inputs: [.float(dense ? [.batch, 20] : [.batch, 10, 10, 3], -1, 1)],
                         seed: stableSeed("bias relu \(dense) \(mask)"), rtol: 1e-5, atol: 1e-5, context: "bias and relu by chunks")
    }

    @Test("kiln_bias_relu_rows gives the bits of kiln_vec_add then kiln_vec_relu and kiln_vec_greater, NaN, infinities and zeros included, with every instruction set's variant")
    func biasReluRowsHasTheBitsOfAddThenRelu() throws {
        typealias Add = @convention(c) (Int64, UnsafePointer<Float>?, Int64, UnsafePointer<Float>?, Int64, UnsafeMutablePointer<Float>?) -> Void
        typealias Greater = @convention(c) (Int64, UnsafePointer<Float>?, Int64, UnsafePointer<Float>?, Int64, UnsafeMutablePointer<UInt8>?) -> Void
        typealias Unary = @convention(c) (Int64, UnsafePointer<Float>?, Int64, UnsafeMutablePointer<Float>?) -> Void
        let add = try runtimeFunction("kiln_vec_add", as: Add.self), relu = try runtimeFunction("kiln_vec_relu", as: Unary.self)
        let greater = try runtimeFunction("kiln_vec_greater", as: Greater.self)
        let specials: [Float] = [0, -0.0, 1.5, -1.5, .nan, -.nan, .infinity, -.infinity, .leastNonzeroMagnitude,
                                 -.leastNonzeroMagnitude, .greatestFiniteMagnitude, 3e-39]
        var generator = SeededGenerator(seed: 5)
        // Rows of fewer lanes than a vector, of whole vectors (a convolution's 32 and 64
        // channels), and of whole vectors and a few lanes more.
        for length in [1, 7, 8, 10, 16, 32, 33, 64, 70] {
            let rows = 5
            let x = (0..<(rows * length)).map { i in i % 3 == 0 ? specials[i % specials.count] : Float.random(in: -2...2, using: &generator) }
            let bias = (0..<length).map { j in j % 2 == 0 ? specials[(j * 5) % specials.count] : Float.random(in: -1...1, using: &generator) }
            var outputs: [(String, [Float])] = [], masks: [(String, [UInt8])] = []
            for level in 0...kiln_cpu_simd_level() {
                // One more element than the call writes on each side: a lane beyond the row
                // written under a wrong mask shows as a changed 7.
                var fused = [Float](repeating: 7, count: rows * length + 2), alone = fused
                var mask = [UInt8](repeating: 7, count: rows * length + 2)
                fused.withUnsafeMutableBufferPointer { out in
                    mask.withUnsafeMutableBufferPointer { flags in
                        kiln_bias_relu_rows_at(Int32(level), Int64(rows), Int64(length), x, bias, out.baseAddress! + 1, flags.baseAddress! + 1)
                    }
                }
                alone.withUnsafeMutableBufferPointer { out in
                    kiln_bias_relu_rows_at(Int32(level), Int64(rows), Int64(length), x, bias, out.baseAddress! + 1, nil)
                }
                #expect(fused.first == 7 && fused.last == 7 && alone.first == 7 && alone.last == 7 && mask.first == 7 && mask.last == 7,
                        "level \(level) wrote outside rows of \(length)")
                outputs += [("level \(level) with the mask", Array(fused.dropFirst().dropLast())),
                            ("level \(level) alone", Array(alone.dropFirst().dropLast()))]
                masks.append(("level \(level)", Array(mask.dropFirst().dropLast())))
            }
            var expected = [Float](repeating: 7, count: rows * length), sums = [Float](repeating: 0, count: length)
            var expectedMask = [UInt8](repeating: 7, count: rows * length)
            var zero: Float = 0
            for row in 0..<rows {
                x.withUnsafeBufferPointer { xs in
                    add(Int64(length), xs.baseAddress! + row * length, 1, bias, 1, &sums)
                }
                expected.withUnsafeMutableBufferPointer { out in relu(Int64(length), sums, 1, out.baseAddress! + row * length) }
                expectedMask.withUnsafeMutableBufferPointer { out in greater(Int64(length), sums, 1, &zero, 0, out.baseAddress! + row * length) }
            }
            for (name, got) in outputs {
                let differing = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(name): \(differing) of \(rows * length) elements differ for rows of \(length)")
            }
            for (name, mask) in masks { #expect(mask == expectedMask, "the mask of \(name) for rows of \(length)") }
        }
    }
}
