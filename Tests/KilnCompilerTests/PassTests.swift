import KilnCompiler
import KilnGraph
import KilnTestSupport
import Testing

/// Runs one pass over the graph `build` makes and returns the function's text before and after.
private func apply(_ pass: (Function) -> Function, _ build: (Graph) throws -> [String: Node]) throws -> (String, String) {
    let graph = Graph()
    let function = try Function(graph: graph, outputs: try build(graph))
    let result = pass(function)
    try result.graph.verify()
    return (function.text, result.text)
}

@Suite("Passes, as before/after text")
struct PassTests {
    @Test func foldConstantsEvaluatesConstantSubgraphs() throws {
        let (_, after) = try apply(FoldConstants.run) { g in
            let x = try g.placeholder("x", shape: [.batch, 2])
            let c = try exp(g.constant(0)) + g.constant(Tensor([1, 2]))
            return ["y": try x * c]
        }
        #expect(after == """
        %0 = placeholder "x" : f32[?,2]
        %4 = constant [2.0, 3.0] : f32[2]
        %5 = mul %0, %4 : f32[?,2]
        results: y = %5
        """)
    }

    @Test func simplifyAlgebraRemovesIdentities() throws {
        let (_, after) = try apply(SimplifyAlgebra.run) { g in
            let x = try g.placeholder("x", shape: [.batch, 2])
            let t = try transpose(transpose(x * 1 + 0))
            let r = try reshape(reshape(stopGradient(-(-t)), to: [.batch, 2, 1]), to: [.batch, 1, 2])
            return ["y": r]
        }
        #expect(after == """
        %0 = placeholder "x" : f32[?,2]
        %6 = reshape %0 : f32[?,1,2]
        results: y = %6
        """)
    }

    @Test("the gradient of slices side by side is one concatenation, not padded copies and additions")
    func simplifyJoinsPadsSideBySide() throws {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, 6])
        let parts = try (0..<3).map { try slice(x, starts: [0, 2 * $0], sizes: [-1, 2]) }
        let loss = try sum(tanh(parts[0]) * sigmoid(parts[1]) + square(parts[2]))
        let gradient = try graph.gradients(of: loss, wrt: [x])[0]
        let function = try Function(graph: graph, outputs: ["dx": gradient])
        let after = EliminateDeadCode.run(SimplifyAlgebra.run(function))
        try after.graph.verify()
        #expect(!after.text.contains(" pad "), "\(after.text)")
        #expect(after.text.contains("concatenate"), "\(after.text)")
        // Partial sums keep their padding; a sum with a gap between its parts is left alone.
        let (_, partial) = try apply(SimplifyAlgebra.run) { g in
            let a = try g.placeholder("a", shape: [2, 2]), b = try g.placeholder("b", shape: [2, 1])
            let joined = try pad(a, low: [0, 1], high: [0, 1]) + pad(b, low: [0, 3], high: [0, 0])
            let gap = try pad(a, low: [0, 0], high: [0, 2]) + pad(b, low: [0, 3], high: [0, 0])
            return ["joined": joined, "gap": gap]
        }
        #expect(partial.contains("concatenate %0, %1 {axis=1} : f32[2,3]") && partial.contains("pad %") , "\(partial)")
        #expect(partial.contains("add %"), "\(partial)")
    }

    @Test("the wider copy of a scan its gradient stacks values with runs as one loop with the scan")
    func mergeScansRunsTheForwardLoopOnce() throws {
        let graph = Graph()
        let xs = try graph.placeholder("xs", shape: [5, .batch, 3]), h0 = try graph.placeholder("h0", shape: [.batch, 4])
        let w = try graph.variable("w", initialValue: Tensor(shape: [3, 4], repeating: Float(0.1)))
        let u = try graph.variable("u", initialValue: Tensor(shape: [4, 4], repeating: Float(0.2)))
        let body = Graph()
        let h = try body.placeholder("h", shape: [.batch, 4]), x = try body.placeholder("x", shape: [.batch, 3])
        let wb = try body.placeholder("w", shape: [3, 4]), ub = try body.placeholder("u", shape: [4, 4])
        // No per-step output: the tanh the derivative reads must be stacked by a wider scan.
        let next = try tanh(matmul(x, wb) + matmul(h, ub))
        let loop = try Scan(body: body, carries: [h], steps: [x], invariants: [wb, ub], newCarries: [next], outputs: [],
                            length: 5)
        let out = try graph.scan(loop, carries: [h0], sequences: [xs], invariants: [w, u])
        let loss = try sum(out.finalCarries[0])
        let gradients = try graph.gradients(of: loss, wrt: [w, u, h0])
        let function = try Function(graph: graph, outputs: ["loss": loss, "dw": gradients[0], "du": gradients[1], "dh0": gradients[2]])
        func scans(_ function: Function) -> [Scan] {
            function.nodes.compactMap { node in if case .scan(let scan) = node.op { return scan } else { return nil } }
        }
        #expect(scans(function).count == 3)
        let merged = EliminateDeadCode.run(EliminateCommonSubexpressions.run(MergeScans.run(function)))
        try merged.graph.verify()
        let loops = scans(merged)
        #expect(loops.count == 2)
        #expect(loops.first { !$0.reverse }?.outputCount == 1)
        // The backward body reads the saved tanh instead of computing it (and the matmuls before it) again.
        let backward = try #require(loops.first { $0.reverse })
        #expect(!backward.body.contains { if case .unary(.tanh) = $0.op { return true } else { return false } })
        #expect(backward.body.contains { if case .placeholder(let name, _) = $0.op { return name == "saved_0" } else { return false } })
        // Forward: final carry, saved tanh, stacked carries; backward: dh0, dw, du.
        #expect(merged.text.components(separatedBy: "scan_result").count - 1 == 6, "\(merged.text)")
    }

    @Test func simplifyKeepsBroadcastingIdentities() throws {
        let (_, after) = try apply(SimplifyAlgebra.run) { g in
            let x = try g.placeholder("x", shape: [2])
            return ["y": try x + g.constant(Tensor(shape: [3, 2], repeating: Float(0)))]
        }
        #expect(after.contains("add %0, %1 : f32[3,2]"))
        // A one spread over the batch (a gradient's seed) multiplies nothing away.
        let (_, spread) = try apply(SimplifyAlgebra.run) { g in
            let x = try g.placeholder("x", shape: [.batch, 2])
            let ones = try broadcast(reshape(g.constant(1), to: [1, 1]), to: [.batch, 2])
            return ["y": try tanh(ones * x)]
        }
        #expect(!spread.contains("mul"), "\(spread)")
    }

    @Test func cseMergesEqualNodesAndConstants() throws {
        let (_, after) = try apply(EliminateCommonSubexpressions.run) { g in
            let x = try g.placeholder("x", shape: [.batch, 2])
            let a = try exp(x) * 2, b = try exp(x) * 2
            return ["y": try a + b]
        }
        #expect(after == """
        %0 = placeholder "x" : f32[?,2]
        %1 = exp %0 : f32[?,2]
        %2 = constant 2.0 : f32[]
        %3 = mul %1, %2 : f32[?,2]
        %4 = add %3, %3 : f32[?,2]
        results: y = %4
        """)
    }

    @Test func dceRemovesWhatNoResultOrAssignNeeds() throws {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [2])
        _ = try exp(x)
        let v = try graph.variable("v", initialValue: Tensor([0, 0]))
        _ = try graph.assign(v, v + x)
        let result = EliminateDeadCode.run(try Function(graph: graph, outputs: ["y": try x * 2]))
        #expect(Printer.text(result.graph) == """
        %0 = placeholder "x" : f32[2]
        %1 = variable "v" : f32[2]
        %2 = add %1, %0 : f32[2]
        %3 = assign %1, %2 : f32[2]
        %4 = constant 2.0 : f32[]
        %5 = mul %0, %4 : f32[2]
        """)
    }

    @Test func elementwiseFusionGroupsAChainAndItsReduction() throws {
        let (_, after) = try apply(FuseElementwise.run) { g in
            let x = try g.placeholder("x", shape: [.batch, 4])
            let b = try g.placeholder("b", shape: [4])
            let h = try tanh(x + b)
            return ["s": try sum(h * h, axes: [1]), "t": try transpose(h)]
        }
        #expect(after == """
        %0 = placeholder "x" : f32[?,4]
        %1 = placeholder "b" : f32[4]
        %2 = add %0, %1 : f32[?,4]  # k0
        %3 = tanh %2 : f32[?,4]  # k0
        %4 = mul %3, %3 : f32[?,4]  # k0
        %5 = sum %4 {axes=[1]} : f32[?]  # k0
        %6 = transpose %3 {permutation=[1,0]} : f32[4,?]  # k1
        results: s = %5, t = %6
        """)
    }

    @Test func fusionNeverMakesKernelsWaitForEachOther() throws {
        // a -> softmax -> c would join a's group and make the group wait for the softmax.
        let (_, after) = try apply(FuseElementwise.run) { g in
            let x = try g.placeholder("x", shape: [.batch, 4])
            let a = try exp(x)
            let s = try softmax(a)
            return ["c": try a * s]
        }
        #expect(after.contains("%2 = softmax %1 {axis=1} : f32[?,4]  # k1"))
        #expect(after.contains("%3 = mul %1, %2 : f32[?,4]  # k2"))
    }

    @Test func matmulEpilogueJoinsTheBiasAndActivation() throws {
        let (_, after) = try apply({ FuseMatmulEpilogue.run(FuseElementwise.run($0)) }) { g in
            let x = try g.placeholder("x", shape: [.batch, 3])
            let w = try g.placeholder("w", shape: [3, 5])
            let b = try g.placeholder("b", shape: [5])
            return ["y": try relu(matmul(x, w) + b)]
        }
        #expect(after.contains("%3 = matmul %0, %1 : f32[?,5]  # k0"))
        #expect(after.contains("%5 = relu %4 : f32[?,5]  # k0"))
    }

    @Test("of two products added together, the later joins the addition and the earlier is a kernel of its own")
    func matmulEpilogueTakesOneProductAGroup() throws {
        let (_, after) = try apply({ FuseMatmulEpilogue.run(FuseElementwise.run($0)) }) { g in
            let x = try g.placeholder("x", shape: [.batch, 3]), h = try g.placeholder("h", shape: [.batch, 2])
            let w = try g.placeholder("w", shape: [3, 5]), u = try g.placeholder("u", shape: [2, 5])
            let b = try g.placeholder("b", shape: [5])
            return ["z": try matmul(x, w) + b + matmul(h, u)]
        }
        #expect(after.contains("%5 = matmul %0, %2 : f32[?,5]  # k0"), "\(after)")
        #expect(after.contains("%7 = matmul %1, %3 : f32[?,5]  # k1"), "\(after)")
        #expect(after.contains("%8 = add %6, %7 : f32[?,5]  # k1"), "\(after)")
    }

    @Test func memoryPlanningReusesDeadBuffers() throws {
        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, 8])
        var h = x
        for _ in 0..<6 { h = try softmax(h) }
        var function = try Function(graph: graph, outputs: ["y": h])
        function = PlanMemory.run(FuseElementwise.run(function))
        let memory = try #require(function.memory)
        #expect(memory.unplannedBytes.description == "192*n")
        #expect(memory.arenaBytes.description == "64*n")
        #expect(function.text.hasSuffix("arena: 64*n bytes (unplanned 192*n)"))
    }

    @Test func updatesAreWrittenInPlaceOnlyWhenNoLaterReadSeesThem() throws {
        // w is updated from its gradient and read by nothing after; v is also returned, so its
        // old value must survive the run; u's old value is read by a later kernel.
        let graph = Graph()
        let g = try graph.placeholder("g", shape: [64])
        let w = try graph.variable("w", initialValue: Tensor(shape: [64], repeating: Float(1)))
        let v = try graph.variable("v", initialValue: Tensor(shape: [64], repeating: Float(1)))
        let u = try graph.variable("u", initialValue: Tensor(shape: [64], repeating: Float(1)))
        _ = try graph.assign(w, w - g * 0.1)
        _ = try graph.assign(v, v - g * 0.2)
        _ = try graph.assign(u, u + g)
        let later = try sum(exp(u))
        var function = try Function(graph: graph, outputs: ["v": v, "later": later])
        function = PlanMemory.run(FuseMatmulEpilogue.run(FuseElementwise.run(function)))
        let memory = try #require(function.memory)
        let variables = Set(memory.inPlace.values.map { function.nodes[$0.index].op })
        #expect(variables == [function.nodes[w.id.index].op])
    }

    @Test("a loop's products with a transposed invariant and slices of invariants move out of the loop")
    func hoistLoopInvariants() throws {
        let graph = Graph()
        let xs = try graph.placeholder("xs", shape: [3, .batch, 4]), h0 = try graph.placeholder("h0", shape: [.batch, 2])
        let u = try graph.placeholder("u", shape: [2, 4]), mask = try graph.placeholder("mask", shape: [.batch, 4])
        let body = Graph()
        let h = try body.placeholder("h", shape: [.batch, 2]), x = try body.placeholder("x", shape: [.batch, 4])
        let ub = try body.placeholder("u", shape: [2, 4]), maskb = try body.placeholder("mask", shape: [.batch, 4])
        // x·uᵀ with u invariant, times a slice of the invariant mask; a constant's broadcast stays.
        let product = try matmul(x * maskb, ub, transposeB: true)
        let next = try tanh(product * slice(maskb, starts: [0, 0], sizes: [-1, 2]) + broadcast(body.constant(0.5), to: [.batch, 2]) + h)
        let loop = try Scan(body: body, carries: [h], steps: [x], invariants: [ub, maskb], newCarries: [next], outputs: [], length: 3)
        let out = try graph.scan(loop, carries: [h0], sequences: [xs], invariants: [u, mask])
        let function = try Function(graph: graph, outputs: ["h": out.finalCarries[0]])
        let hoisted = HoistLoopInvariants.run(function)
        try hoisted.graph.verify()
        let scans = hoisted.nodes.compactMap { node -> Scan? in if case .scan(let scan) = node.op { return scan } else { return nil } }
        let after = try #require(scans.first)
        #expect(after.invariantCount == 4)
        #expect(!after.body.contains { if case .slice = $0.op { return true } else { return false } })
        #expect(!after.body.contains { if case .transpose = $0.op { return true } else { return false } })
        #expect(after.body.contains { if case .matmul(false, false) = $0.op { return true } else { return false } })
        #expect(after.body.contains { if case .broadcast = $0.op { return true } else { return false } })
        // Before the loop: u transposed once, the mask's slice taken once.
        #expect(hoisted.text.contains("transpose %2 {permutation=[1,0]} : f32[4,2]"), "\(hoisted.text)")
        #expect(hoisted.text.contains("slice %3 {starts=[0,0]} : f32[?,2]"), "\(hoisted.text)")
        // A loop with nothing invariant to move is left as it was.
        #expect(HoistLoopInvariants.run(hoisted).text == hoisted.text)
    }

    @Test("a product summed over a loop's per-step outputs becomes an accumulator of the loop, unless the outputs have other readers")
    func sinkSummedProducts() throws {
        func scans(_ function: Function) -> [Scan] {
            function.nodes.compactMap { node -> Scan? in if case .scan(let scan) = node.op { return scan } else { return nil } }
        }
        func stepFunction(differentiateInput: Bool) throws -> Function {
            let graph = Graph()
            let h0 = try graph.placeholder("h0", shape: [.batch, 3]), xs = try graph.placeholder("xs", shape: [4, .batch, 2])
            let w = try graph.placeholder("w", shape: [2, 3]), u = try graph.placeholder("u", shape: [3, 3])
            let b = try graph.placeholder("b", shape: [3])
            let loss = try sum(inputProductNetwork(h0, xs, w, u, b, differentiableInput: differentiateInput).outputs[0])
            // The input's gradient also reads the loop's per-step gradient of the product.
            let grads = try graph.gradients(of: loss, wrt: differentiateInput ? [w, xs] : [w])
            let outputs = Dictionary(uniqueKeysWithValues: zip(["dw", "dxs"], grads).map { ($0, $1) })
            return try MergeScans.run(Function(graph: graph, outputs: outputs))
        }
        let function = try stepFunction(differentiateInput: false)
        let before = try #require(scans(function).last)
        #expect(function.text.contains("matmul %") && function.text.contains("{transpose_a=true} : f32[4,2,3]"), "\(function.text)")
        let sunk = SinkSummedProducts.run(function)
        try sunk.graph.verify()
        let after = try #require(scans(sunk).last)
        // One more carry (the accumulator, [2, 3]) and one more sequence (xs); the per-step
        // gradient is no longer stacked, and no product summed over the steps is left.
        #expect(after.carryCount == before.carryCount + 1)
        #expect(after.sequenceCount == before.sequenceCount + 1)
        #expect(after.outputCount == before.outputCount - 1)
        #expect(after.body.contains { if case .matmul(true, false) = $0.op { $0.type.shape == [2, 3] } else { false } })
        #expect(!sunk.text.contains("{transpose_a=true} : f32[4,2,3]"), "\(sunk.text)")
        #expect(SinkSummedProducts.run(sunk).text == sunk.text)

        // With a second reader of the per-step gradient, the loop stays as it was.
        let shared = try stepFunction(differentiateInput: true)
        #expect(SinkSummedProducts.run(shared).text == shared.text)
    }

    @Test("an input product computed ahead of a loop moves into it, when the input is the narrower and the kernel small")
    func sinkInputProducts() throws {
        /// A loop over 4 steps of `matmul(xs, w)` (`xs` `[4, batch, features]`), and the scan's node.
        func network(features: Int, units: Int, productIsAnOutput: Bool = false) throws -> (Function, NodeID) {
            let graph = Graph()
            let h0 = try graph.placeholder("h0", shape: [.batch, Dim.size(units)])
            let xs = try graph.placeholder("xs", shape: [4, .batch, Dim.size(features)])
            let w = try graph.placeholder("w", shape: [Dim.size(features), Dim.size(units)])
            let u = try graph.placeholder("u", shape: [Dim.size(units), Dim.size(units)])
            let products = try matmul(xs, w)
            let body = Graph()
            let h = try body.placeholder("h", shape: h0.shape), ub = try body.placeholder("u", shape: u.shape)
            let p = try body.placeholder("p", shape: [.batch, Dim.size(units)])
            let next = try tanh(p + matmul(h, ub))
            let loop = try Scan(body: body, carries: [h], steps: [p], invariants: [ub], newCarries: [next], outputs: [next], length: 4)
            let out = try graph.scan(loop, carries: [h0], sequences: [products], invariants: [u])
            var outputs = ["y": out.outputs[0]]
            if productIsAnOutput { outputs["p"] = products }
            let function = try Function(graph: graph, outputs: outputs)
            let scan = try #require(function.nodes.indices.first { if case .scan = function.nodes[$0].op { true } else { false } })
            return (function, NodeID(scan))
        }
        let (function, scanID) = try network(features: 2, units: 3)
        let sunk = EliminateDeadCode.run(SinkInputProducts.run(function))
        try sunk.graph.verify()
        let node = try #require(sunk.nodes.first { if case .scan = $0.op { true } else { false } })
        guard case .scan(let after) = node.op, case .scan(let before) = function.nodes[scanID.index].op else { return }
        // The sequence is the input itself, the kernel one more invariant, and the step's
        // product is computed in the body; no product over every step is left outside.
        #expect(after.sequenceCount == 1 && after.invariantCount == before.invariantCount + 1)
        guard case .placeholder(let sequence, _) = sunk.nodes[node.inputs[1].index].op,
              case .placeholder(let kernel, _) = sunk.nodes[node.inputs[3].index].op else {
            Issue.record("the scan's operands: \(sunk.text)")
            return
        }
        #expect(sequence == "xs" && kernel == "w")
        #expect(after.body.filter { if case .matmul(false, false) = $0.op { $0.type.shape == [.batch, 3] } else { false } }.count == 2)
        #expect(!sunk.nodes.contains { if case .matmul = $0.op { true } else { false } }, "\(sunk.text)")
        #expect(SinkInputProducts.run(sunk).text == sunk.text)

        // Left ahead of the loop: a product something else reads, one narrower than its input
        // (the loop would read more bytes a step), and one whose kernel is over the limit.
        for (features, units, shared) in [(2, 3, true), (4, 3, false), (8, SinkInputProducts.kernelLimit / 8 + 1, false)] {
            let (other, _) = try network(features: features, units: units, productIsAnOutput: shared)
            #expect(SinkInputProducts.run(other).text == other.text, "\(features) features, \(units) units")
        }
    }

    @Test func thePipelineRunsEveryPassInOrder() throws {
        #expect(Pipeline.passes.map(\.name) == [
            "merge-scans", "sink-summed-products", "sink-input-products", "hoist-loop-invariants", "fold-constants", "simplify-algebra",
            "eliminate-common-subexpressions",
            "sink-reshapes", "mask-extremum-gradients", "eliminate-dead-code",
            "fuse-elementwise", "fuse-matmul-epilogue", "fuse-windows-into-matmul", "fuse-pooling-into-product", "fuse-product-into-fold",
            "fuse-pooling-gradient-into-filter-gradient", "plan-memory",
        ])
    }
}
