import Testing
import KilnGraph
import KilnInterpreter

let reductionCases: [ForwardCase] = [
    ForwardCase("sum", "all axes", expected: f32([], [21])) { try sum($0.constant(m23)) },
    ForwardCase("sum", "axis 0", expected: f32([3], [5, 7, 9])) { try sum($0.constant(m23), axes: [0]) },
    ForwardCase("sum", "axis -1 kept", expected: f32([2, 1], [6, 15])) { try sum($0.constant(m23), axes: [-1], keepDims: true) },
    ForwardCase("sum", "no axes is the identity", expected: m23) { try sum($0.constant(m23), axes: []) },
    ForwardCase("sum", "empty axis gives zeros", expected: f32([3], [0, 0, 0])) { try sum($0.constant(f32([0, 3], [])), axes: [0]) },
    ForwardCase("sum", "i32", expected: i32([2], [3, 7])) { try sum($0.constant(i32([2, 2], [1, 2, 3, 4])), axes: [1]) },
    ForwardCase("sum", "over the batch", feeds: ["x": m23], expected: f32([3], [5, 7, 9])) {
        try sum($0.placeholder("x", shape: [.batch, 3]), axes: [0])
    },
    ForwardCase("mean", "axis 1", expected: f32([2], [2, 5])) { try mean($0.constant(m23), axes: [1]) },
    ForwardCase("mean", "all axes", expected: f32([], [3.5])) { try mean($0.constant(m23)) },
    ForwardCase("mean", "empty axis is NaN", expected: f32([3], [.nan, .nan, .nan])) { try mean($0.constant(f32([0, 3], [])), axes: [0]) },
    ForwardCase("mean", "over a batch of 1", feeds: ["x": f32([1, 2], [3, 5])], expected: f32([2], [3, 5])) {
        try mean($0.placeholder("x", shape: [.batch, 2]), axes: [0])
    },
    ForwardCase("max", "axis 0", expected: f32([3], [4, 5, 6])) { try max($0.constant(m23), axes: [0]) },
    ForwardCase("max", "NaN propagates", expected: f32([], [.nan])) { try max($0.constant(Tensor([1, .nan, 3]))) },
    ForwardCase("max", "empty is -inf", expected: f32([2], [-.infinity, -.infinity])) { try max($0.constant(f32([2, 0], [])), axes: [1]) },
    ForwardCase("max", "i32", expected: i32([], [9])) { try max($0.constant(i32([3], [-1, 9, 2]))) },
    ForwardCase("min", "axis 1 kept", expected: f32([2, 1], [1, 4])) { try min($0.constant(m23), axes: [1], keepDims: true) },
    ForwardCase("min", "empty is +inf", expected: f32([], [.infinity])) { try min($0.constant(f32([0], []))) },
    ForwardCase("min", "i32", expected: i32([], [-1])) { try min($0.constant(i32([3], [-1, 9, 2]))) },
    ForwardCase("argmax", "axis 1, ties and NaN", expected: i32([2], [1, 2])) {
        try argmax($0.constant(f32([2, 3], [1, 3, 3, 7, 2, .nan])), axis: 1)
    },
    ForwardCase("argmax", "axis 0 kept", expected: i32([1, 3], [1, 0, 1])) {
        try argmax($0.constant(f32([2, 3], [1, 3, 3, 7, 2, .nan])), axis: 0, keepDims: true)
    },
    ForwardCase("argmax", "i32", expected: i32([], [1])) { try argmax($0.constant(i32([3], [4, 8, 8]))) },
    // Row maxima 3 (twice) and 7 (twice): each tie gets half of its row's gradient.
    ForwardCase("extremum_gradient", "ties share, the rest get 0", expected: f32([2, 3], [0, 0.3, 0.3, 1, 0, 1])) {
        let x = $0.constant(f32([2, 3], [1, 3, 3, 7, 2, 7]))
        return try extremumGradient(x, extremum: max(x, axes: [1], keepDims: true), gradient: $0.constant(f32([2, 1], [0.6, 2])),
                                    axes: [1])
    },
    ForwardCase("extremum_gradient", "a mask drops shares but not ties", expected: f32([2, 3], [0, 0, 0.3, 1, 0, 0])) {
        let x = $0.constant(f32([2, 3], [1, 3, 3, 7, 2, 7]))
        return try extremumGradient(x, extremum: max(x, axes: [1], keepDims: true), gradient: $0.constant(f32([2, 1], [0.6, 2])),
                                    keep: $0.constant(bools([2, 3], [true, false, true, true, true, false])), axes: [-1])
    },
    // A 2×2 window per channel: channel 0's maximum 4 twice, channel 1's minimum -1 once.
    ForwardCase("extremum_gradient", "windows of two channels", expected: f32([2, 2, 2], [0, 0, 0.5, 0, 0.5, 3, 0, 0])) {
        let x = $0.constant(f32([2, 2, 2], [1, 5, 4, 2, 4, -1, 2, 0]))
        let channel0 = try extremumGradient(slice(x, starts: [0, 0, 0], sizes: [2, 2, 1]),
                                            extremum: $0.constant(f32([1, 1, 1], [4])), gradient: $0.constant(f32([1, 1, 1], [1])),
                                            axes: [0, 1])
        let channel1 = try extremumGradient(slice(x, starts: [0, 0, 1], sizes: [2, 2, 1]),
                                            extremum: min(slice(x, starts: [0, 0, 1], sizes: [2, 2, 1]), axes: [0, 1], keepDims: true),
                                            gradient: $0.constant(f32([1, 1, 1], [3])), axes: [0, 1])
        return try concatenate([channel0, channel1], axis: 2)
    },
    ForwardCase("extremum_gradient", "a NaN extremum passes nothing", expected: f32([1, 2], [0, 0])) {
        let x = $0.constant(f32([1, 2], [1, .nan]))
        return try extremumGradient(x, extremum: max(x, axes: [1], keepDims: true), gradient: $0.constant(f32([1, 1], [5])), axes: [1])
    },
]

let layoutCases: [ForwardCase] = [
    ForwardCase("reshape", "[2,3] to [3,2]", expected: f32([3, 2], [1, 2, 3, 4, 5, 6])) { try reshape($0.constant(m23), to: [3, 2]) },
    ForwardCase("reshape", "[?,2,2] to [?,-1]", feeds: ["x": f32([1, 2, 2], [1, 2, 3, 4])], expected: f32([1, 4], [1, 2, 3, 4])) {
        try reshape($0.placeholder("x", shape: [.batch, 2, 2]), to: [.batch, -1])
    },
    ForwardCase("transpose", "matrix", expected: f32([3, 2], [1, 4, 2, 5, 3, 6])) { try transpose($0.constant(m23)) },
    ForwardCase("transpose", "rank 3 [1,2,0]", expected: f32([2, 2, 2], [1, 5, 2, 6, 3, 7, 4, 8])) {
        try transpose($0.constant(f32([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8])), permutation: [1, 2, 0])
    },
    ForwardCase("broadcast", "[3] to [2,3]", expected: f32([2, 3], [1, 2, 3, 1, 2, 3])) {
        try broadcast($0.constant(Tensor([1, 2, 3])), to: [2, 3])
    },
    ForwardCase("broadcast", "[2,1] to [2,3]", expected: f32([2, 3], [1, 1, 1, 2, 2, 2])) {
        try broadcast($0.constant(f32([2, 1], [1, 2])), to: [2, 3])
    },
    ForwardCase("broadcast", "scalar to [?,2]", feeds: ["x": f32([3, 1], [0, 0, 0])], expected: f32([3, 2], [7, 7, 7, 7, 7, 7])) { g in
        let x = try g.placeholder("x", shape: [.batch, 1])
        return try broadcast(g.constant(7), to: [.batch, 2]) + x
    },
    ForwardCase("slice", "inner box", expected: f32([2, 2], [2, 3, 5, 6])) { try slice($0.constant(m23), starts: [0, 1], sizes: [2, 2]) },
    ForwardCase("slice", "rest of the axis and whole batch", feeds: ["x": m23], expected: f32([2, 1], [3, 6])) {
        try slice($0.placeholder("x", shape: [.batch, 3]), starts: [0, 2], sizes: [-1, -1])
    },
    ForwardCase("slice", "empty", expected: f32([2, 0], [])) { try slice($0.constant(m23), starts: [0, 3], sizes: [2, 0]) },
    ForwardCase("pad", "both sides", expected: f32([3, 3], [0, 0, 0, 1, 2, 0, 3, 4, 0])) {
        try pad($0.constant(f32([2, 2], [1, 2, 3, 4])), low: [1, 0], high: [0, 1])
    },
    ForwardCase("pad", "i32", expected: i32([3], [0, 5, 0])) { try pad($0.constant(i32([1], [5])), low: [1], high: [1]) },
    ForwardCase("concatenate", "axis 1, three operands", expected: f32([2, 4], [1, 2, 3, 9, 4, 5, 6, 9])) {
        try concatenate([$0.constant(m23), $0.constant(f32([2, 0], [])), $0.constant(f32([2, 1], [9, 9]))], axis: 1)
    },
    ForwardCase("concatenate", "axis 0", expected: f32([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9])) {
        try concatenate([$0.constant(m23), $0.constant(f32([1, 3], [7, 8, 9]))], axis: 0)
    },
    ForwardCase("concatenate", "bool", expected: bools([3], [true, false, true])) {
        try concatenate([$0.constant(bools([1], [true])), $0.constant(bools([2], [false, true]))], axis: 0)
    },
]

let indexingCases: [ForwardCase] = [
    ForwardCase("gather", "rows, repeated", expected: f32([3, 2], [5, 6, 1, 2, 5, 6])) {
        try gather($0.constant(f32([3, 2], [1, 2, 3, 4, 5, 6])), indices: $0.constant(i32([3], [2, 0, 2])))
    },
    ForwardCase("gather", "axis 1 by [2,1] indices", expected: f32([3, 2, 1], [2, 1, 4, 3, 6, 5])) {
        try gather($0.constant(f32([3, 2], [1, 2, 3, 4, 5, 6])), indices: $0.constant(i32([2, 1], [1, 0])), axis: 1)
    },
    ForwardCase("gather", "embedding lookup for a batch", feeds: ["ids": i32([2, 2], [1, 0, 1, 1])],
                expected: f32([2, 2, 2], [3, 4, 1, 2, 3, 4, 3, 4])) {
        try gather($0.constant(f32([2, 2], [1, 2, 3, 4])), indices: $0.placeholder("ids", shape: [.batch, 2], dtype: .int32))
    },
    ForwardCase("scatter_add", "accumulates repeats", expected: f32([3, 2], [2, 2, 0, 0, 4, 4])) {
        try scatterAdd($0.constant(f32([3, 2], [1, 1, 2, 2, 3, 3])), indices: $0.constant(i32([3], [2, 0, 2])), axis: 0, shape: [3, 2])
    },
    ForwardCase("scatter_add", "axis 1", expected: f32([2, 3], [0, 3, 0, 0, 7, 0])) {
        try scatterAdd($0.constant(f32([2, 2], [1, 2, 3, 4])), indices: $0.constant(i32([2], [1, 1])), axis: 1, shape: [2, 3])
    },
    ForwardCase("one_hot", "labels", expected: f32([3, 3], [0, 0, 1, 1, 0, 0, 0, 1, 0])) {
        try oneHot($0.constant(i32([3], [2, 0, 1])), depth: 3)
    },
    ForwardCase("one_hot", "batch of 0", feeds: ["y": i32([0], [])], expected: f32([0, 4], [])) {
        try oneHot($0.placeholder("y", shape: [.batch], dtype: .int32), depth: 4)
    },
]

let a23 = f32([2, 3], [1, 2, 3, 4, 5, 6]), b32 = f32([3, 2], [7, 8, 9, 10, 11, 12])
let product22 = f32([2, 2], [58, 64, 139, 154])

let linalgCases: [ForwardCase] = [
    ForwardCase("matmul", "a b", expected: product22) { try matmul($0.constant(a23), $0.constant(b32)) },
    ForwardCase("matmul", "aᵀ b", expected: product22) { try matmul($0.constant(f32([3, 2], [1, 4, 2, 5, 3, 6])), $0.constant(b32), transposeA: true) },
    ForwardCase("matmul", "a bᵀ", expected: product22) { try matmul($0.constant(a23), $0.constant(f32([2, 3], [7, 9, 11, 8, 10, 12])), transposeB: true) },
    ForwardCase("matmul", "aᵀ bᵀ", expected: product22) {
        try matmul($0.constant(f32([3, 2], [1, 4, 2, 5, 3, 6])), $0.constant(f32([2, 3], [7, 9, 11, 8, 10, 12])), transposeA: true, transposeB: true)
    },
    ForwardCase("matmul", "batched [2,2,3] x [3,2]", expected: f32([2, 2, 2], [58, 64, 139, 154, 116, 128, 278, 308])) {
        try matmul($0.constant(f32([2, 2, 3], [1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10, 12])), $0.constant(b32))
    },
    ForwardCase("matmul", "batched broadcast [2,1,1,2] x [3,2,1]", expected: f32([2, 3, 1, 1], [3, 5, 7, 3, 5, 7])) {
        try matmul($0.constant(f32([2, 1, 1, 2], [1, 1, 1, 1])), $0.constant(f32([3, 2, 1], [1, 2, 2, 3, 3, 4])))
    },
    ForwardCase("matmul", "batch rows [?,3] x [3,2]", feeds: ["x": a23], expected: product22) {
        try matmul($0.placeholder("x", shape: [.batch, 3]), $0.constant(b32))
    },
    ForwardCase("matmul", "empty inner dimension gives zeros", expected: f32([2, 3], [0, 0, 0, 0, 0, 0])) {
        try matmul($0.constant(f32([2, 0], [])), $0.constant(f32([0, 3], [])))
    },
    ForwardCase("softmax", "rows, one with huge logits", rtol: 1e-6,
                expected: f32([2, 3], [0.090_030_57, 0.244_728_47, 0.665_240_96, 1.0 / 3, 1.0 / 3, 1.0 / 3])) {
        try softmax($0.constant(f32([2, 3], [1, 2, 3, 1e4, 1e4, 1e4])))
    },
    ForwardCase("softmax", "axis 0, ±1e4", expected: f32([2, 1], [1, 0])) { try softmax($0.constant(f32([2, 1], [1e4, -1e4])), axis: 0) },
    ForwardCase("log_softmax", "logits ±1e4 stay finite", expected: f32([3], [0, -2e4, -1e4])) {
        try logSoftmax($0.constant(Tensor([1e4, -1e4, 0])))
    },
    ForwardCase("log_softmax", "values", expected: f32([3], [-2.407_605_6, -1.407_605_6, -0.407_605_6])) {
        try logSoftmax($0.constant(Tensor([1, 2, 3])))
    },
]

let miscellaneousCases: [ForwardCase] = [
    ForwardCase("stop_gradient", "identity", expected: m23) { try stopGradient($0.constant(m23)) },
    ForwardCase("element_count", "resolves the batch", feeds: ["x": f32([5, 1], [0, 0, 0, 0, 0])], expected: f32([], [20])) { g in
        let x = try g.placeholder("x", shape: [.batch, 1])
        return try g.elementCount([.batch, 4]) + sum(x)
    },
    ForwardCase("constant", "value", expected: m23) { $0.constant(m23) },
    ForwardCase("placeholder", "feed", feeds: ["x": m23], expected: m23) { try $0.placeholder("x", shape: [.batch, 3]) },
    ForwardCase("variable", "initial value", expected: m23) { try $0.variable("v", initialValue: m23) },
    ForwardCase("assign", "gives the new value", expected: f32([3], [2, 3, 4])) { g in
        let v = try g.variable("v", initialValue: Tensor([1, 2, 3]))
        return try g.assign(v, v + 1)
    },
]

@Suite("Forward: reductions, layout, indexing, linear algebra")
struct ForwardStructuralTests {
    @Test(arguments: reductionCases + layoutCases + indexingCases + linalgCases + miscellaneousCases)
    func evaluates(_ c: ForwardCase) throws {
        expectClose(try evaluate(c.feeds, c.build), c.expected, rtol: c.rtol, c.testDescription)
    }

    @Test func everyOpHasForwardCases() {
        let all = unaryCases + binaryCases + comparisonCases + reductionCases + layoutCases + indexingCases
            + linalgCases + miscellaneousCases + windowCases + scanCases
        let covered = Set(all.map(\.op))
        #expect(covered == allOpNames, "missing: \(allOpNames.subtracting(covered).sorted())")
    }
}

/// The printer name of every op.
let allOpNames: Set<String> = Set(
    UnaryOp.allCases.map { Printer.name(of: .unary($0)) } + BinaryOp.allCases.map { Printer.name(of: .binary($0)) }
        + ComparisonOp.allCases.map { Printer.name(of: .compare($0)) }
        + ReduceOp.allCases.map { Printer.name(of: .reduce($0, axes: [], keepDims: false)) }
        + ["placeholder", "variable", "constant", "element_count", "select", "cast", "argmax", "reshape", "transpose",
           "broadcast", "slice", "pad", "patches", "fold_patches", "extremum_gradient", "concatenate", "gather", "scatter_add", "one_hot", "matmul", "softmax",
           "log_softmax", "stop_gradient", "assign", "scan", "scan_result"])

@Suite("random_uniform")
struct RandomUniformTests {
    @Test func isAPureFunctionOfSeedAndPosition() throws {
        let g2 = Graph()
        let s2 = try g2.placeholder("seed", shape: [], dtype: .int32)
        let x = try g2.placeholder("x", shape: [.batch, 1000])
        let r2 = try randomUniform(shape: [.batch, 1000], seed: s2) + x * 0
        let p2 = try InterpreterProgram(graph: g2, outputs: ["r": r2])
        let zeros = try Tensor(shape: [4, 1000], repeating: Float(0))
        let first = try #require(p2.run(feeds: ["seed": Tensor(shape: [], scalars: [Int32(1)]), "x": zeros])["r"]).scalars
        let again = try #require(p2.run(feeds: ["seed": Tensor(shape: [], scalars: [Int32(1)]), "x": zeros])["r"]).scalars
        let other = try #require(p2.run(feeds: ["seed": Tensor(shape: [], scalars: [Int32(2)]), "x": zeros])["r"]).scalars
        #expect(first == again)
        #expect(first != other)
        #expect(first.allSatisfy { $0 >= 0 && $0 < 1 })
        // 4000 draws: mean 0.5 within 5 standard errors (0.0046 each), a quarter below 0.25.
        let mean = first.reduce(0, +) / Float(first.count)
        #expect(Swift.abs(mean - 0.5) < 0.023)
        let below = Float(first.filter { $0 < 0.25 }.count) / Float(first.count)
        #expect(Swift.abs(below - 0.25) < 0.035)
        #expect(first[0] == Reference.uniform(seed: 1, index: 0))
        #expect(first[3999] == Reference.uniform(seed: 1, index: 3999))
    }
}
