import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnKernels
import Testing

/// Rows longer than a block (256), so every run has a full block and a tail.
private let rows: Shape = [.batch, 300]
private let row: Shape = [300]

/// A parity case that must take the block path: the generated C calls `kiln_vec_<primitive>`.
/// Ops that IEEE 754 defines exactly must match the interpreter bit for bit (`exact`).
struct BlockCase: Sendable, CustomTestStringConvertible {
    let primitive: String
    let label: String
    let inputs: [Input]
    let exact: Bool
    let build: @Sendable ([Node]) throws -> Node

    init(_ primitive: String, _ label: String, _ inputs: [Input], exact: Bool = true,
         build: @escaping @Sendable ([Node]) throws -> Node) {
        self.primitive = primitive
        self.label = label
        self.inputs = inputs
        self.exact = exact
        self.build = build
    }

    var testDescription: String { "\(primitive): \(label)" }
}

/// 640 values with NaN, infinities, signed zeros and both signs, as a [2, 320] constant-shaped input.
private let special: Tensor = {
    let pattern: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 1, -1, 2.5, -3.25, 1e-30, -7, 0.5]
    return t([2, 320], (0..<640).map { pattern[$0 % pattern.count] * ($0 % 24 < 12 ? 1 : -1) })
}()

private let unaryCases: [BlockCase] = [
    BlockCase("neg", "[?,300]", [.float(rows, -2, 2)]) { try neg($0[0]) },
    BlockCase("abs", "special values", [.value(special)]) { try abs($0[0]) },
    BlockCase("sign", "special values", [.value(special)]) { try sign($0[0]) },
    BlockCase("exp", "[?,300]", [.float(rows, -5, 5)]) { try exp($0[0]) },
    BlockCase("exp", "special values", [.value(special)]) { try exp($0[0]) },
    BlockCase("log", "[?,300]", [.float(rows, 0.01, 5)]) { try log($0[0]) },
    BlockCase("log", "special values", [.value(special)]) { try log($0[0]) },
    BlockCase("sqrt", "special values", [.value(special)]) { try sqrt($0[0]) },
    BlockCase("rsqrt", "[?,300]", [.float(rows, 0.1, 5)]) { try rsqrt($0[0]) },
    BlockCase("square", "[?,300]", [.float(rows, -3, 3)]) { try square($0[0]) },
    BlockCase("tanh", "[?,300]", [.float(rows, -4, 4)]) { try tanh($0[0]) },
    BlockCase("tanh", "special values", [.value(special)]) { try tanh($0[0]) },
    BlockCase("erf", "[?,300]", [.float(rows, -5, 5)]) { try erf($0[0]) },
    BlockCase("erf", "special values", [.value(special)]) { try erf($0[0]) },
    BlockCase("sigmoid", "[?,300] both signs", [.float(rows, -30, 30)]) { try sigmoid($0[0]) },
    BlockCase("relu", "special values", [.value(special)]) { try relu($0[0]) },
    BlockCase("softplus", "[?,300]", [.float(rows, -30, 30)]) { try softplus($0[0]) },
    BlockCase("floor", "special values", [.value(special)]) { try floor($0[0]) },
]

private let binaryCases: [BlockCase] = [
    BlockCase("add", "[?,300] + [300], rows", [.float(rows, -1, 1), .float(row, -1, 1)]) { try $0[0] + $0[1] },
    BlockCase("sub", "[?,1] - [?,300], a broadcast column", [.float([.batch, 1], -1, 1), .float(rows, -1, 1)]) {
        try $0[0] - $0[1]
    },
    BlockCase("mul", "[?,300] * scalar constant", [.float(rows, -2, 2)]) { try $0[0] * 2.5 },
    BlockCase("div", "scalar / [?,300]", [.float(rows, 0.5, 2)]) { try $0[0].graph.constant(3) / $0[0] },
    BlockCase("div", "special values by special values", [.value(special), .value(special)]) { try $0[0] / $0[1] },
    BlockCase("pow", "[?,300] ^ [300]", [.float(rows, 0.1, 3), .float(row, -2, 2)], exact: false) { try pow($0[0], $0[1]) },
    BlockCase("maximum", "special values against 0.5", [.value(special)]) { try maximum($0[0], $0[0].graph.constant(0.5)) },
    BlockCase("minimum", "[?,300] vs [?,1]", [.float(rows, -1, 1), .float([.batch, 1], -1, 1)]) {
        try minimum($0[0], $0[1])
    },
    BlockCase("equal", "special values", [.value(special), .value(special)]) { try equal($0[0], $0[1]) },
    BlockCase("not_equal", "special values", [.value(special), .value(special)]) { try notEqual($0[0], $0[1]) },
    BlockCase("less", "[?,300] vs [300]", [.float(rows, -1, 1), .float(row, -1, 1)]) { try less($0[0], $0[1]) },
    BlockCase("less_equal", "[?,300] vs scalar", [.float(rows, -1, 1)]) { try lessEqual($0[0], $0[0].graph.constant(0)) },
    BlockCase("greater", "special values vs 0", [.value(special)]) { try greater($0[0], $0[0].graph.constant(0)) },
    BlockCase("greater_equal", "[?,300] vs [?,300]", [.float(rows, -1, 1), .float(rows, -1, 1)]) {
        try greaterEqual($0[0], $0[1])
    },
]

/// `[2, 4, 40]` with a NaN in the first and last rows of a column, and ties of ±0.
private let poolInput: Tensor = {
    var values = (0..<320).map { Float(($0 * 37) % 23) - 11 }
    values[5] = .nan
    values[125] = .nan
    values[200] = -0.0
    values[240] = 0.0
    return try! Tensor(shape: [2, 4, 40], scalars: values)
}()

private let otherCases: [BlockCase] = [
    BlockCase("select", "[?,300] condition, [300] branch", [.bool(rows), .float(rows, -1, 1), .float(row, -1, 1)]) {
        try select($0[0], $0[1], $0[2])
    },
    BlockCase("select", "[?,1] condition", [.bool([.batch, 1]), .float(rows, -1, 1), .float(rows, -1, 1)]) {
        try select($0[0], $0[1], $0[2])
    },
    BlockCase("bool_to_f32", "a mask times x", [.float(rows, -1, 1)]) {
        try cast(greater($0[0], $0[0].graph.constant(0)), to: .float32) * $0[0]
    },
    BlockCase("f32_to_bool", "special values", [.value(special)]) { try cast($0[0], to: .bool) },
    BlockCase("sum_rows", "sum over the batch of exp", [.float(rows, -1, 1)], exact: false) { try sum(exp($0[0]), axes: [0]) },
    BlockCase("sum_rows", "mean over axes 0 and 1 of [?,2,300]", [.float([.batch, 2, 300], -1, 1)]) {
        try mean($0[0] * 2, axes: [0, 1])
    },
    BlockCase("random_uniform", "a dropout mask over [?,300]", [.float(rows, -1, 1), .value(t([], [Int32(-7)]))]) {
        try select(less(randomUniform(shape: [.batch, 300], seed: $0[1]), $0[0].graph.constant(0.3)), $0[0] / 0.7, $0[0].graph.constant(0))
    },
    BlockCase("random_uniform", "[400,300] in parts on every core", [.value(t([], [Int32(123_456)]))]) {
        try randomUniform(shape: [400, 300], seed: $0[0]) * 2
    },
    BlockCase("max_rows", "max over axis 1 of [?,4,40] with NaN and ties, after an add", [.value(poolInput)]) {
        try max($0[0] + 0.5, axes: [1])
    },
    BlockCase("min_rows", "min over axes 0 and 2 of [?,3,2,24], kept", [.float([.batch, 3, 2, 24], -1, 1)]) {
        try min($0[0] * 2, axes: [0, 2], keepDims: true)
    },
    BlockCase("sqrt", "an Adam-like chain over 1000 elements", [.float([1000], 0, 1), .float([1000], 0, 1)]) {
        let m = try $0[0] * 0.9 + $0[1] * 0.1
        return try $0[0] - m * 0.001 / (sqrt(square($0[1])) + 1e-7)
    },
]

@Suite("JIT block lowering: vectorised primitives against the interpreter")
struct BlockLoweringTests {
    @Test("unary", arguments: unaryCases)
    func unary(_ c: BlockCase) throws { try run(c) }

    @Test("binary and comparisons", arguments: binaryCases)
    func binary(_ c: BlockCase) throws { try run(c) }

    @Test("select, casts, row sums, chains", arguments: otherCases)
    func others(_ c: BlockCase) throws { try run(c) }

    @Test func smallLoopsStayScalar() throws {
        let (graph, _, out) = try makeGraph([.float([.batch, 3], -1, 1)]) { try relu($0[0]) * 2 }
        let program = try JITProgram(graph: graph, outputs: ["out": out])
        let lowered = program.lowered.unit.source.contains("kiln_vec_")
        #expect(!lowered)
    }

    /// A constant broadcast over many floats (a recurrent layer's zero initial state) is one
    /// kiln_fill_f32; a short one stays TinyCC's loop.
    @Test func largeConstantBroadcastsAreOneFill() throws {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, 64])
        let zeros = try broadcast(graph.constant(0), to: [.batch, 64])
        let filled = try broadcast(graph.constant(-1.5), to: [64, 256])
        let few = try broadcast(graph.constant(2), to: [3, 5])
        let outputs = ["zeros": zeros, "filled": filled, "few": few, "x": try relu(x)]
        let program = try JITProgram(graph: graph, outputs: outputs)
        let source = program.lowered.unit.source
        #expect(source.contains("kiln_fill_f32(64*n, 0.0f, ") && source.contains("kiln_fill_f32(16384, (-1.5f), "), "\(source)")
        #expect(source.components(separatedBy: "kiln_fill_f32(").count == 3, "\(source)")
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        for batch in [0, 1, 5] {
            let feeds = ["x": try Tensor(shape: [batch, 64], repeating: Float(1))]
            let expected = try reference.run(feeds: feeds), actual = try program.run(feeds: feeds)
            for name in outputs.keys.sorted() {
                expectClose(try #require(actual[name]), try #require(expected[name]), rtol: 0, atol: 0, "\(name) at batch \(batch)")
            }
        }
    }

    /// Loops over short rows (a loss over 10 classes) run as blocks of whole rows, with
    /// per-row values repeated, per-column ones tiled and the sums along the rows added in
    /// the scalar loop's order: the interpreter's bits, at every batch size.
    @Test("short rows: per-row and per-column operands, sums and means along the rows",
          arguments: ["sum", "mean", "elementwise"])
    func shortRowsRunAsRowBlocks(kind: String) throws {
        let inputs: [Input] = [.float([.batch, 10], -3, 3), .float([10], 0.5, 2), .float([.batch, 1], 0.5, 2)]
        let (graph, _, out) = try makeGraph(inputs) { x in
            let body = try log(abs(x[0]) + 1) * x[1] / x[2] - tanh(x[0]) * x[2]
            switch kind {
            case "sum": return try sum(body, axes: [1])
            case "mean": return try mean(body, axes: [1], keepDims: true)
            default: return try exp(body * 0.1)
            }
        }
        let program = try JITProgram(graph: graph, outputs: ["out": out])
        let source = program.lowered.unit.source
        #expect(source.contains("kiln_vec_repeat_rows(") && source.contains("kiln_vec_tile("), "\(kind): not row-blocked")
        #expect(kind == "elementwise" || source.contains("kiln_vec_sum_groups("), "\(kind): no row sums")
        try expectParity(graph, outputs: ["out": out], inputs: inputs, seed: stableSeed("rows \(kind)"), rtol: 0, atol: 0,
                         context: "short rows, \(kind)")
    }

    /// Channels-last images with a bias per channel, a ReLU and its mask: rows of 32 channels
    /// over the leading axes, split between the cores when there are many, with the
    /// interpreter's bits at every batch size (37 × 40 × 60 rows run in parts, 1 and 7 do not).
    @Test func imageRowsRunInParts() throws {
        let inputs: [Input] = [.float([.batch, 40, 60, 32], -1, 1), .float([32], -0.5, 0.5)]
        let (graph, _, out) = try makeGraph(inputs) { x in
            let y = try x[0] + x[1]
            return try relu(y) + cast(greater(y, y.graph.constant(0)), to: .float32)
        }
        let program = try JITProgram(graph: graph, outputs: ["out": out])
        let source = program.lowered.unit.source
        #expect(source.contains("kiln_parallel_for_grain(2400*n, n, 8, k0_part, args)") && source.contains("kiln_vec_tile("),
                "\(source)")
        try expectParity(graph, outputs: ["out": out], inputs: inputs, seed: stableSeed("image rows"), rtol: 0, atol: 0,
                         context: "image rows in parts")
    }

    /// A max pooling's gradient read by a ReLU's mask and a bias gradient (a sum over every
    /// row), all in the pooling's window view: row blocks, with the per-window values copied
    /// to each of the window's rows, and the interpreter's bits at every batch size.
    @Test func perWindowValuesAreGatheredIntoRowBlocks() throws {
        let inputs: [Input] = [.float([.batch, 3, 2, 4, 2, 32], -1, 1), .float([.batch, 3, 1, 4, 1, 32], -1, 1)]
        let (graph, _, out) = try makeGraph(inputs) { x in
            let zero = x[0].graph.constant(0)
            let gradient = try select(greater(x[0], zero), select(less(x[0], x[0] * 0.5 + 0.25), x[1], zero), zero)
            return try gradient + sum(gradient, axes: [0, 1, 2, 3, 4], keepDims: true)
        }
        let program = try JITProgram(graph: graph, outputs: ["out": out])
        let source = program.lowered.unit.source
        #expect(source.contains("kiln_vec_gather_rows(g, 32, 5, ") && source.contains("kiln_sum_columns(48*n, 32, "), "\(source)")
        #expect(source.contains("= {12, 4, 0, 1, 0};"), "each window's rows read one row of the operand")
        try expectParity(graph, outputs: ["out": out], inputs: inputs, seed: stableSeed("gathered rows"), rtol: 0, atol: 0,
                         context: "per-window values in row blocks")
    }

    /// A flat loop over a batch (a dropout of a flattened feature map: random numbers drawn by
    /// position, a comparison, a division and a selection) runs in parts on every core when
    /// the batch makes it long enough, tested as it runs: the interpreter's bits at every
    /// batch size (37 × 1,800 elements run in parts, 1 and 7 × 1,800 do not).
    @Test func flatLoopsOverABatchRunInParts() throws {
        let inputs: [Input] = [.float([.batch, 1800], -1, 1), .value(t([], [Int32(11)]))]
        let (graph, _, out) = try makeGraph(inputs) { x in
            let keep = try less(randomUniform(shape: [.batch, 1800], seed: x[1]), x[0].graph.constant(0.5))
            return try select(keep, x[0] / 0.5, x[0].graph.constant(0))
        }
        let program = try JITProgram(graph: graph, outputs: ["out": out])
        let source = program.lowered.unit.source
        #expect(source.contains("if (1800*n >= 65536) kiln_parallel_for(1800*n, n, k0_part, args);"), "\(source)")
        try expectParity(graph, outputs: ["out": out], inputs: inputs, seed: stableSeed("flat batch parts"), rtol: 0, atol: 0,
                         context: "flat loop over a batch in parts")
    }

    /// A bias gradient of channels-last images (a ReLU's mask applied to the gradient, written
    /// out for the filter's gradient, then summed over every row): the masked gradient is
    /// written in parts on every core, and the sum follows, split by columns between the
    /// cores, each column added up row after row by one core: the interpreter's bits at every
    /// batch size, for 32 channels (two parts of 16), 40 (a part with a tail of 8) and 64.
    /// One image (600 rows) is too few to split, and keeps the sum in the loop.
    @Test("sums over every row of a value in memory are split by columns", arguments: [32, 40, 64])
    func sumsOverRowsFollowTheLoopSplitByColumns(channels: Int) throws {
        let inputs: [Input] = [.float([.batch, 20, 30, .size(channels)], -1, 1), .float([.batch, 20, 30, .size(channels)], -1, 1)]
        let graph = Graph()
        let x = try inputs.enumerated().map { try graph.placeholder("x\($0.offset)", shape: $0.element.shape, dtype: .float32) }
        let masked = try select(greater(x[0], graph.constant(0)), x[1] * 0.5, graph.constant(0))
        let bias = try sum(masked, axes: [0, 1, 2], keepDims: true)
        let program = try JITProgram(graph: graph, outputs: ["masked": masked, "bias": bias])
        let source = program.lowered.unit.source
        #expect(source.contains("if (\(600 * channels)*n >= 65536) {") && source.contains("run in parts on every core")
                && source.contains("kiln_sum_columns(600*n, \(channels), ") && source.contains("kiln_vec_sum_columns("), "\(source)")
        try expectParity(graph, outputs: ["masked": masked, "bias": bias], inputs: inputs,
                         seed: stableSeed("column sums \(channels)"), rtol: 0, atol: 0,
                         context: "sums over rows split by columns, \(channels) channels")
    }

    /// Sums over a pooling's window axes (a max pooling's count of ties per window, an
    /// average): row blocks adding each row into its window's row of the result, split
    /// between the cores by whole images, with the interpreter's bits at every batch size.
    @Test("sums over some leading axes run as row blocks", arguments: [true, false])
    func windowSumsRunAsRowBlocks(keepDims: Bool) throws {
        let inputs: [Input] = [.float([.batch, 3, 2, 4, 2, 32], -1, 1), .float([.batch, 3, 1, 4, 1, 32], -1, 1)]
        let (graph, _, out) = try makeGraph(inputs) { x in
            let ties = try cast(greater(x[0], x[1]), to: .float32)
            let count = try sum(ties, axes: [2, 4], keepDims: keepDims)
            let average = try mean(x[0] * x[1], axes: [2, 4], keepDims: keepDims)
            return try count + average
        }
        let program = try JITProgram(graph: graph, outputs: ["out": out])
        let source = program.lowered.unit.source
        #expect(source.contains("kiln_vec_add_rows(g, 32, 5, lead_dims, os"), "\(source)")
        #expect(source.contains("= {\(keepDims ? "12, 4, 0, 1, 0" : "12, 4, 0, 1, 0")};"), "\(source)")
        #expect(source.contains("kiln_parallel_for_grain(48*n, n, 48, k0_part, args)"), "\(source)")
        try expectParity(graph, outputs: ["out": out], inputs: inputs, seed: stableSeed("window sums \(keepDims)"),
                         rtol: 0, atol: 0, context: "window sums, keepDims \(keepDims)")
    }

    /// Max pooling of channels-last images that the windows tile, and its gradient: the
    /// maximum is one reduction call, and the gradient (the count of ties in each window and
    /// the shares spread over it) one `kiln_extremum_gradient` call, which splits the windows
    /// between the cores, with the interpreter's bits.
    @Test func poolingNestsRunInPartsAlongTheBatch() throws {
        let inputs: [Input] = [.float([.batch, 12, 10, 24], -1, 1)]
        let (graph, x, out) = try makeGraph(inputs) { x in try maxPool2d(x[0], size: [2, 2], stride: [2, 2]) }
        let loss = try sum(square(out))
        let gradient = try graph.gradients(of: loss, wrt: [x[0]])[0]
        let program = try JITProgram(graph: graph, outputs: ["out": out, "dx": gradient])
        let source = program.lowered.unit.source
        #expect(source.contains("kiln_reduce_f32(") && source.contains("kiln_extremum_gradient(")
                && !source.contains("kiln_vec_add_rows(") && !source.contains("kiln_vec_equal("), "\(source)")
        try expectParity(graph, outputs: ["out": out, "dx": gradient], inputs: inputs, seed: stableSeed("pool parts"),
                         rtol: 0, atol: 0, context: "pooling in parts")
    }

    /// An Adam-like update of a [300, 256] weight (76,800 elements) is one flat loop long
    /// enough to run in parts on every core: the result has the interpreter's bits, for a
    /// gradient with denormal and zero elements too (each part flushes denormals, as the
    /// calling thread does), step after step.
    @Test func aLargeUpdateRunsInPartsWithTheInterpretersBits() throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: 11)
        let initial = try Tensor.randomUniform(shape: [300, 256], lower: -1, upper: 1, using: &generator)
        let w = try graph.variable("w", initialValue: initial)
        let v = try graph.variable("v", initialValue: Tensor(shape: [300, 256], repeating: Float(0)))
        let g = try graph.placeholder("g", shape: [300, 256])
        let newV = try v * 0.999 + square(g) * 0.001
        _ = try graph.assign(v, newV)
        _ = try graph.assign(w, w - (g * 0.01) / (sqrt(newV) + 1e-7) - tanh(w) * 1e-4)
        let jit = try JITProgram(graph: graph, outputs: [:])
        let reference = try InterpreterProgram(graph: graph, outputs: [:])
        #expect(jit.lowered.unit.source.contains("kiln_parallel_for(76800, n, "), "not run in parts")
        for step in 0..<3 {
            var gradient = try Tensor.randomUniform(shape: [300, 256], lower: -1e-3, upper: 1e-3, using: &generator).scalars
            for i in stride(from: step, to: gradient.count, by: 97) { gradient[i] = i % 2 == 0 ? Float.leastNormalMagnitude / 10 : 0 }
            let feeds = ["g": try Tensor(shape: [300, 256], scalars: gradient)]
            _ = try jit.run(feeds: feeds)
            _ = try reference.run(feeds: feeds)
            for name in ["w", "v"] {
                expectClose(try jit.variable(name), try reference.variable(name), rtol: 0, atol: 1e-30, "\(name) after step \(step)")
            }
        }
    }

    /// A compiled program flushes denormals to zero (Kernels/float_mode.c); a loop run in
    /// parts does so in every part, whichever thread runs it.
    @Test func everyPartFlushesDenormals() throws {
        // Worker threads inherit the floating-point mode of the thread that starts them: start
        // this thread's workers outside a program, where denormals are not flushed.
        typealias Part = @convention(c) (Int64, Int64, Int64, UnsafePointer<UnsafeMutableRawPointer?>?) -> Void
        typealias ParallelFor = @convention(c) (Int64, Int64, Part, UnsafePointer<UnsafeMutableRawPointer?>?) -> Void
        try runtimeFunction("kiln_parallel_for", as: ParallelFor.self)(76_800, 0, { _, _, _, _ in }, nil)

        let graph = Graph()
        let g = try graph.placeholder("g", shape: [300, 256])
        let jit = try JITProgram(graph: graph, outputs: ["y": try g * 0.5 + 0])
        #expect(jit.lowered.unit.source.contains("kiln_parallel_for("), "not run in parts")
        let denormal = Float.leastNormalMagnitude / 4
        let values = (0..<76_800).map { i -> Float in i % 7 == 0 ? denormal : Float(i % 13) }
        let y = try #require(try jit.run(feeds: ["g": try Tensor(shape: [300, 256], scalars: values)])["y"]).scalars
        let kept = zip(values, y).filter { $0.0 == denormal && $0.1 != 0 }.count
        #expect(kept == 0, "\(kept) denormal results were not flushed")
        #expect(zip(values, y).allSatisfy { $0.0 == denormal || $0.1 == $0.0 * 0.5 })
    }

    private func run(_ c: BlockCase) throws {
        let (graph, _, out) = try makeGraph(c.inputs, c.build)
        let program = try JITProgram(graph: graph, outputs: ["out": out])
        let call = "kiln_vec_" + c.primitive + "("
        let lowered = program.lowered.unit.source.contains(call)
        #expect(lowered, "\(c.testDescription): the kernel was not block-lowered")
        let tolerance: Float = c.exact ? 0 : 1e-6
        try expectParity(graph, outputs: ["out": out], inputs: c.inputs, seed: stableSeed(c.testDescription),
                         rtol: tolerance, atol: tolerance, context: c.testDescription)
    }
}
