import KilnCompiler
import KilnGraph
import KilnInterpreter
import KilnJIT
import Testing

/// Scans on both backends: forward results here, their gradients in GradientParityTests.
let scanParityCases: [ParityCase] = [
    ParityCase("scan", "Elman network, per-step outputs", [
        .float([.batch, 3], -1, 1), .float([5, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1), .float([3], -0.5, 0.5),
    ]) { try elman($0[0], $0[1], $0[2], $0[3], $0[4]).outputs[0] },
    ParityCase("scan", "Elman network in reverse, final carry", [
        .float([.batch, 3], -1, 1), .float([4, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1), .float([3], -0.5, 0.5),
    ]) { try elman($0[0], $0[1], $0[2], $0[3], $0[4], reverse: true).finalCarries[0] },
    ParityCase("scan_result", "the carries each step began with", [
        .float([.batch, 3], -1, 1), .float([4, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1), .float([3], -0.5, 0.5),
    ]) { try elman($0[0], $0[1], $0[2], $0[3], $0[4]).stepCarries[0] },
    ParityCase("scan", "stacked networks, one step", [
        .float([.batch, 3], -1, 1), .float([1, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1), .float([3], -0.5, 0.5),
        .float([3, 3], -1, 1),
    ]) {
        let first = try elman($0[0], $0[1], $0[2], $0[3], $0[4])
        return try elman(first.finalCarries[0], first.outputs[0], $0[5], $0[3], $0[4], reverse: true).outputs[0]
    },
    // The compiler moves the input product into the loop (sink-input-products); the kernel's
    // gradient is a product summed over the backward loop's per-step outputs, which it moves
    // into that loop (sink-summed-products).
    ParityCase("scan", "a product of the input computed ahead of the loop, per-step outputs", [
        .float([.batch, 3], -1, 1), .float([5, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1), .float([3], -0.5, 0.5),
    ]) { try inputProductNetwork($0[0], $0[1], $0[2], $0[3], $0[4]).outputs[0] },
    ParityCase("scan", "a product of the input computed ahead of the loop, in reverse, final carry", [
        .float([.batch, 3], -1, 1), .float([4, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1), .float([3], -0.5, 0.5),
    ]) { try inputProductNetwork($0[0], $0[1], $0[2], $0[3], $0[4], reverse: true).finalCarries[0] },
    ParityCase("scan", "a body that reads a constant vector", [.float([.batch, 2], -1, 1), .float([3, .batch, 2], -1, 1)]) {
        let out = try runningSum($0[0].graph, $0[0], $0[1], steps: 3)
        return try out.outputs[0] * $0[0].graph.constant(Tensor([0.5, -2]))
    },
]

@Suite("JIT parity: scans")
struct ScanParityTests {
    @Test(arguments: scanParityCases)
    func forward(_ c: ParityCase) throws {
        let (graph, _, out) = try makeGraph(c.inputs, c.build)
        try expectParity(graph, outputs: ["out": out], inputs: c.inputs, seed: stableSeed(c.testDescription), rtol: c.rtol,
                         atol: c.atol, context: c.testDescription)
    }

    @Test("a loop whose rows are independent runs on two halves of the batch; one that mixes rows does not")
    func splitsTheBatchWhenRowsAreIndependent() throws {
        let split = try elmanTrainingStepC(steps: 4, features: 2, units: 3)
        // The forward loop and the backward loop (whose weight gradients are accumulators) both split.
        #expect(split.components(separatedBy: "const int64_t parts = n >= 16 ? 2 : 1;").count == 3, "\(split)")

        // A step that normalizes over the batch mixes the rows: the loop runs whole.
        let mixed = Graph()
        let c0 = try mixed.placeholder("x0", shape: [.batch, 2]), ys = try mixed.placeholder("x1", shape: [3, .batch, 2])
        let body = Graph()
        let c = try body.placeholder("c", shape: [.batch, 2]), y = try body.placeholder("y", shape: [.batch, 2])
        let next = try c + y - mean(y, axes: [0], keepDims: true)
        let loop = try Scan(body: body, carries: [c], steps: [y], invariants: [], newCarries: [next], outputs: [], length: 3)
        let whole = try mixed.scan(loop, carries: [c0], sequences: [ys], invariants: [])
        let source = try Lowering.lower(mixed, outputs: ["c": whole.finalCarries[0]]).unit.source
        #expect(!source.contains("parts = n"), "\(source)")
        try expectParity(mixed, outputs: ["c": whole.finalCarries[0]], inputs: [.float([.batch, 2], -1, 1), .float([3, .batch, 2], -1, 1)],
                         seed: 3, rtol: 1e-5, atol: 1e-5, context: "a loop over mixed rows")
    }

    @Test("a backward loop adds to its weight gradients in place; its state carries keep two buffers")
    func accumulatorsAreUpdatedInPlace() throws {
        let (graph, outputs) = try elmanTrainingStep(steps: 5, features: 2, units: 3)
        let source = try JITProgram(graph: graph, outputs: outputs).lowered.unit.source
        // Each carry's two buffers, as the loops declare them: "carryK = (float *)(ws + (A)), *nextK = (float *)(ws + (B))".
        let declarations = source.matches(of: /\*carry(\d+) = \(float \*\)\(ws \+ \(([^;]*)\)\), \*next\d+ = \(float \*\)\(ws \+ \(([^;]*)\)\);/)
        let inPlace = declarations.filter { $0.output.2 == $0.output.3 }.map { String($0.output.1) }
        // The backward loop's accumulators of the three weights' gradients (carries 1-3); its
        // state's gradient (carry 0) and the forward loop's state are not, and only they swap.
        #expect(inPlace.sorted() == ["1", "2", "3"], "\(source)")
        #expect(declarations.count - inPlace.count == 2, "\(source)")
        #expect(source.components(separatedBy: "carry0 = next0;").count == 3 && !source.contains("carry1 = next1;"), "\(source)")
        // The products making the two weights' gradients are added a chunk of steps at a time,
        // both with the chunk's gradients of the state (the bias's gradient, a sum, a step at a time).
        #expect(source.contains("kiln_gemm_add(1, 0, 2, 3, countA0*rows, xs, grads0, carry1, carry1);"), "\(source)")
        #expect(source.contains("kiln_gemm_add(1, 0, 3, 3, countA0*rows, xs, grads0, carry2, carry2);"), "\(source)")
        // The halves' sums of the three gradients are added by the block primitive.
        #expect(source.components(separatedBy: "sum0 + i, 1, sum1 + i, 1, ").count == 4, "\(source)")
        // Batches of 1 to 37 rows: the loops run whole and on two halves.
        try expectParity(graph, outputs: outputs, inputs: [.float([.batch, 3], -1, 1), .float([5, .batch, 2], -1, 1)],
                         seed: 11, rtol: 1e-5, atol: 1e-5, context: "an Elman network's gradients summed in place")
    }

    @Test("a loop computes its input product a chunk of steps at a time, the last chunk shorter, in both directions")
    func computesTheInputProductInChunksOfSteps() throws {
        for reverse in [false, true] {
            let graph = Graph()
            let h0 = try graph.placeholder("x0", shape: [.batch, 3]), xs = try graph.placeholder("x1", shape: [5, .batch, 2])
            let w = try graph.placeholder("x2", shape: [2, 640]), v = try graph.placeholder("x3", shape: [640, 3])
            let u = try graph.placeholder("x4", shape: [3, 3])
            let body = Graph()
            let h = try body.placeholder("h", shape: [.batch, 3]), p = try body.placeholder("p", shape: [.batch, 640])
            let vb = try body.placeholder("v", shape: [640, 3]), ub = try body.placeholder("u", shape: [3, 3])
            let next = try tanh(matmul(p, vb) + matmul(h, ub))
            let loop = try Scan(body: body, carries: [h], steps: [p], invariants: [vb, ub], newCarries: [next], outputs: [next],
                                length: 5, reverse: reverse)
            let out = try graph.scan(loop, carries: [h0], sequences: [matmul(xs, w)], invariants: [v, u])
            let source = try Lowering.lower(graph, outputs: ["y": out.outputs[0]]).unit.source
            // The product is moved into the loop, which makes it a chunk at a time: at 18 or 19
            // rows a part (a batch of 37), 640 columns make two steps a chunk, so 5 steps make
            // chunks of 2, 2 and 1; at 7 rows, one chunk of every step.
            #expect(source.contains("kiln_gemm(0, 0, count*rows, 640, 2, steps, "), "\(source)")
            try expectParity(graph, outputs: ["y": out.outputs[0]], inputs: [
                .float([.batch, 3], -1, 1), .float([5, .batch, 2], -1, 1), .float([2, 640], -0.1, 0.1), .float([640, 3], -0.1, 0.1),
                .float([3, 3], -1, 1),
            ], seed: 21, rtol: 1e-4, atol: 1e-5, context: "an input product in chunks of steps, reverse: \(reverse)")
        }
    }

    @Test("a product summed over the steps is added a chunk of steps at a time, the last chunk shorter, in both directions")
    func addsSummedProductsInChunksOfSteps() throws {
        for (reverse, stacked, emitted) in [(false, false, false), (true, false, false), (false, true, false), (true, false, true)] {
            let graph = Graph()
            let h0 = try graph.placeholder("x0", shape: [.batch, 3]), xs = try graph.placeholder("x1", shape: [5, .batch, 2])
            let a0 = try graph.placeholder("x2", shape: [2, 640]), v = try graph.placeholder("x3", shape: [3, 640])
            let u = try graph.placeholder("x4", shape: [640, 3])
            let body = Graph()
            let h = try body.placeholder("h", shape: [.batch, 3]), a = try body.placeholder("a", shape: [2, 640])
            let x = try body.placeholder("x", shape: [.batch, 2])
            let vb = try body.placeholder("v", shape: [3, 640]), ub = try body.placeholder("u", shape: [640, 3])
            // g (640 columns) is read by the next state too, as a gate's gradient is by the
            // state's gradient in a backward loop.
            let g = try tanh(matmul(h, vb))
            let loop = try Scan(body: body, carries: [h, a], steps: [x], invariants: [vb, ub],
                                newCarries: [tanh(matmul(g, ub) + h), a + matmul(x, g, transposeA: true)], outputs: emitted ? [g] : [],
                                length: 5, reverse: reverse)
            let out = try graph.scan(loop, carries: [h0, a0], sequences: [xs], invariants: [v, u])
            var outputs = ["h": out.finalCarries[0], "a": out.finalCarries[1]]
            if stacked { outputs["every a"] = out.stepCarries[1] }
            // g stacked as a per-step output: the body writes it there, and the loop copies its
            // rows into the chunk.
            if emitted { outputs["g"] = out.outputs[0] }
            let source = try Lowering.lower(graph, outputs: outputs).unit.source
            #expect(source.contains("memcpy((grads0 + (t - lowA0)*rows*640), ") == emitted, "\(source)")
            // At 18 or 19 rows a part (a batch of 37), 640 columns make two steps a chunk, so 5
            // steps make chunks of 2, 2 and 1; at 7 rows and at 1, one chunk of every step. A
            // carry whose every step's value is read is summed a step at a time.
            #expect(source.contains("kiln_gemm_add(1, 0, 2, 640, countA0*rows, xs, grads0, carry1, carry1);") == !stacked, "\(source)")
            try expectParity(graph, outputs: outputs, inputs: [
                .float([.batch, 3], -1, 1), .float([5, .batch, 2], -1, 1), .float([2, 640], -1, 1), .float([3, 640], -0.5, 0.5),
                .float([640, 3], -0.1, 0.1),
            ], seed: 29, rtol: 1e-4, atol: 1e-5,
               context: "a product summed in chunks of steps, reverse: \(reverse), stacked: \(stacked), g emitted: \(emitted)")
        }
    }

    @Test("a carry stacked at every step lives in its stack: each step writes the next one there, in both directions")
    func stackedCarriesLiveInTheirStacks() throws {
        for reverse in [false, true] {
            let graph = Graph()
            let h0 = try graph.placeholder("x0", shape: [.batch, 3]), xs = try graph.placeholder("x1", shape: [4, .batch, 2])
            let w = try graph.placeholder("x2", shape: [2, 3]), u = try graph.placeholder("x3", shape: [3, 3])
            let b = try graph.placeholder("x4", shape: [3])
            let out = try elman(h0, xs, w, u, b, reverse: reverse)
            let outputs = ["began": out.stepCarries[0], "final": out.finalCarries[0], "y": out.outputs[0]]
            let source = try Lowering.lower(graph, outputs: outputs).unit.source
            // Only the first step's carry is copied into the stack; the next step's slice is the
            // body's new carry (t + 1 forward, t - 1 in reverse), and the last step's goes to the
            // carry's second buffer, the final carry.
            #expect(source.contains("if (step == 0) memcpy("), "\(source)")
            #expect(source.contains(reverse ? "((t - 1)*n + r0)*3" : "((t + 1)*n + r0)*3"), "\(source)")
            #expect(!source.contains("carry0 = next0; next0 = swap;") && source.contains("    carry0 = next0;\n"), "\(source)")
            try expectParity(graph, outputs: outputs, inputs: [
                .float([.batch, 3], -1, 1), .float([4, .batch, 2], -1, 1), .float([2, 3], -1, 1), .float([3, 3], -1, 1),
                .float([3], -0.5, 0.5),
            ], seed: 23, rtol: 1e-5, atol: 1e-6, context: "carries in their stack, reverse: \(reverse)")
        }
    }

    @Test("each step asks the cache for the slices of the sequences the body reads two steps later")
    func prefetchesTheSequencesTwoStepsAhead() throws {
        // The backward loop of a training step reads two sequences a step, counting down: the
        // states each step ended with, and the loss's gradient of each step's output (the
        // inputs and the states each step began with are read a chunk at a time, by the weight
        // gradients' products). The forward loop computes its input product in chunks, and
        // reads no sequence a step.
        let split = try elmanTrainingStepC(steps: 6, features: 2, units: 3)
        let prefetches = split.split(separator: "\n").filter { $0.contains("kiln_prefetch(") }
        #expect(prefetches.count == 2, "\(split)")
        #expect(prefetches.allSatisfy { $0.contains("if (step + 2 < 6) kiln_prefetch(") && $0.hasSuffix("((t - 2)*n + r0)*3, rows*12);") },
                "\(split)")

        // A loop over the whole batch, forward: the step after next's whole slice.
        let graph = Graph()
        let c0 = try graph.placeholder("x0", shape: [.batch, 2]), ys = try graph.placeholder("x1", shape: [3, .batch, 2])
        let body = Graph()
        let c = try body.placeholder("c", shape: [.batch, 2]), y = try body.placeholder("y", shape: [.batch, 2])
        let loop = try Scan(body: body, carries: [c], steps: [y], invariants: [], newCarries: [c + y - mean(y, axes: [0], keepDims: true)],
                            outputs: [], length: 3)
        let whole = try graph.scan(loop, carries: [c0], sequences: [ys], invariants: [])
        let source = try Lowering.lower(graph, outputs: ["c": whole.finalCarries[0]]).unit.source
        #expect(source.contains("if (step + 2 < 3) kiln_prefetch(") && source.contains(" + (t + 2)*(2*n), 8*n);"), "\(source)")
    }

    @Test func theGeneratedCDoesNotGrowWithTheNumberOfSteps() throws {
        let short = try elmanTrainingStepC(steps: 10, features: 4, units: 8)
        let long = try elmanTrainingStepC(steps: 1000, features: 4, units: 8)
        #expect(short.count > 0)
        // The same C apart from numbers (the step count, and arena offsets that hold all steps).
        func shape(_ text: String) -> String { text.replacing(/[0-9]+/, with: "#") }
        #expect(shape(short) == shape(long))
        #expect(Swift.abs(short.count - long.count) < 200, "\(short.count) vs \(long.count) characters")
    }
}

/// The C of an Elman network's loss and its gradients with respect to its three weights.
private func elmanTrainingStepC(steps: Int, features: Int, units: Int) throws -> String {
    let (graph, outputs) = try elmanTrainingStep(steps: steps, features: features, units: units)
    return try Lowering.lower(graph, outputs: outputs).unit.source
}

/// An Elman network's loss and its gradients with respect to its three weights, from feeds
/// `x0` (the first state) and `x1` (the sequence).
private func elmanTrainingStep(steps: Int, features: Int, units: Int) throws -> (Graph, [String: Node]) {
    let graph = Graph()
    let h0 = try graph.placeholder("x0", shape: [.batch, Dim.size(units)])
    let xs = try graph.placeholder("x1", shape: [Dim.size(steps), .batch, Dim.size(features)])
    let w = try graph.variable("w", initialValue: Tensor(shape: [features, units], repeating: Float(0.1)))
    let u = try graph.variable("u", initialValue: Tensor(shape: [units, units], repeating: Float(0.1)))
    let b = try graph.variable("b", initialValue: Tensor(shape: [units], repeating: Float(0)))
    let loss = try sum(elman(h0, xs, w, u, b).outputs[0])
    let grads = try graph.gradients(of: loss, wrt: [w, u, b])
    return (graph, ["loss": loss, "dw": grads[0], "du": grads[1], "db": grads[2]])
}
