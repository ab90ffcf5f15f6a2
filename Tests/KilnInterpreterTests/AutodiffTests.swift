import Testing
import KilnGraph
import KilnInterpreter

@Suite("Autodiff: values")
struct AutodiffTests {
    func gradients(_ feeds: [String: Tensor], _ build: (Graph) throws -> (loss: Node, wrt: [Node])) throws -> [Tensor] {
        let g = Graph()
        let (loss, wrt) = try build(g)
        let grads = try g.gradients(of: loss, wrt: wrt)
        var outputs: [String: Node] = [:]
        for (index, grad) in grads.enumerated() { outputs["g\(index)"] = grad }
        let result = try InterpreterProgram(graph: g, outputs: outputs).run(feeds: feeds)
        return try grads.indices.map { try #require(result["g\($0)"]) }
    }

    @Test func accumulatesFanOut() throws {
        // d/dx sum(x * x + x) = 2x + 1
        let g = try gradients(["x": Tensor([3, -1])]) { g in
            let x = try g.placeholder("x", shape: [2])
            return (try sum(x * x + x), [x])
        }
        expectClose(g[0], Tensor([7, -1]))
    }

    @Test func sumsBroadcastDimensions() throws {
        // loss = sum(x + b) over a batch of 4: d/db = 4 per element; d/dx = 1.
        let g = try gradients(["x": .zeros(shape: [4, 3])]) { g in
            let x = try g.placeholder("x", shape: [.batch, 3])
            let b = try g.variable("b", initialValue: .zeros(shape: [3]))
            let s = try g.variable("s", initialValue: Tensor(2))
            return (try sum(x + b) * s, [b, x, s])
        }
        expectClose(g[0], Tensor([8, 8, 8]))
        expectClose(g[1], try Tensor(shape: [4, 3], repeating: Float(2)))
        expectClose(g[2], Tensor(0))
    }

    @Test func meanOverTheBatchDividesByTheRuntimeBatchSize() throws {
        for n in [1, 4, 10] {
            let g = try gradients(["x": .zeros(shape: [n, 2])]) { g in
                let x = try g.placeholder("x", shape: [.batch, 2])
                return (try mean(x), [x])
            }
            expectClose(g[0], try Tensor(shape: [n, 2], repeating: 1 / Float(2 * n)), "batch \(n)")
        }
    }

    @Test("a maximum's gradient is one extremum_gradient, with the bits of the select of each tie's share")
    func maximumGradientIsOneOp() throws {
        let g = Graph()
        let x = try g.placeholder("x", shape: [.batch, 3, 4])
        let r = try g.placeholder("r", shape: [.batch, 4])
        let y = try max(x, axes: [1])
        let dx = try g.gradients(of: sum(y * r), wrt: [x])[0]
        #expect(g.nodes.contains { if case .extremumGradient = $0.op { true } else { false } })
        // The same gradient spelt out: equality, a count of ties, a division and a select.
        let chosen = try equal(x, reshape(y, to: [.batch, 1, 4]))
        let ties = try sum(cast(chosen, to: .float32), axes: [1], keepDims: true)
        let spelt = try select(chosen, reshape(r, to: [.batch, 1, 4]) / ties, g.constant(0))
        var generator = SeededGenerator(seed: 5)
        // Thirds of small integers: ties in most columns, and shares that round.
        let values = try Tensor.randomUniform(shape: [6, 3, 4], lower: 0, upper: 3, using: &generator).scalars.map { $0.rounded(.down) }
        let feeds = ["x": try Tensor(shape: [6, 3, 4], scalars: values),
                     "r": try Tensor.randomUniform(shape: [6, 4], lower: -1, upper: 1, using: &generator)]
        let result = try InterpreterProgram(graph: g, outputs: ["op": dx, "spelt": spelt]).run(feeds: feeds)
        let op = try #require(result["op"]), expected = try #require(result["spelt"])
        #expect(op.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern))
        // More elements get a share than there are groups (24): some groups have ties.
        #expect(op.scalars.filter { $0 != 0 }.count > 24)
    }

    @Test func secondDerivatives() throws {
        // d²/dx² sum(x³) = 6x
        let g = Graph()
        let x = try g.placeholder("x", shape: [3])
        let first = try g.gradients(of: sum(x * x * x), wrt: [x])[0]
        let second = try g.gradients(of: sum(first), wrt: [x])[0]
        let result = try InterpreterProgram(graph: g, outputs: ["d1": first, "d2": second]).run(feeds: ["x": Tensor([1, -2, 0.5])])
        expectClose(try #require(result["d1"]), Tensor([3, 12, 0.75]))
        expectClose(try #require(result["d2"]), Tensor([6, -12, 3]))
    }

    @Test func stopGradientBlocksOnePath() throws {
        // loss = sum(stop(x) * x): d/dx = stop(x) = x, not 2x.
        let g = try gradients(["x": Tensor([2, -3])]) { g in
            let x = try g.placeholder("x", shape: [2])
            return (try sum(stopGradient(x) * x), [x])
        }
        expectClose(g[0], Tensor([2, -3]))
    }

    @Test func zeroGradientOpsGiveZeros() throws {
        let g = try gradients(["x": Tensor([0.5, -1.5])]) { g in
            let x = try g.placeholder("x", shape: [2])
            return (try sum(floor(x) + sign(x) + stopGradient(x)), [x])
        }
        expectClose(g[0], Tensor([0, 0]))
    }

    @Test func gradientWithRespectToAnIntermediateValue() throws {
        // loss = sum(h²) with h = 3x: d/dh = 2h, d/dx = 18x.
        let g = try gradients(["x": Tensor([1, 2])]) { g in
            let x = try g.placeholder("x", shape: [2])
            let h = try x * 3
            return (try sum(square(h)), [h, x])
        }
        expectClose(g[0], Tensor([6, 12]))
        expectClose(g[1], Tensor([18, 36]))
    }

    @Test func reluPassesNoGradientAtOrBelowZero() throws {
        let g = try gradients(["x": Tensor([-1, 0, 2])]) { g in
            let x = try g.placeholder("x", shape: [3])
            return (try sum(relu(x)), [x])
        }
        expectClose(g[0], Tensor([0, 0, 1]))
    }

    @Test func maximumGivesTiesToTheFirstOperandAndReductionsShareThem() throws {
        let g = try gradients(["a": Tensor([1, 2]), "b": Tensor([1, 3])]) { g in
            let a = try g.placeholder("a", shape: [2])
            let b = try g.placeholder("b", shape: [2])
            return (try sum(maximum(a, b)) + max(concatenate([a, b], axis: 0)), [a, b])
        }
        // maximum: ties to a; max over [1, 2, 1, 3] picks b[1] alone.
        expectClose(g[0], Tensor([1, 0]))
        expectClose(g[1], Tensor([0, 2]))
        let ties = try gradients(["x": Tensor([4, 1, 4])]) { g in
            let x = try g.placeholder("x", shape: [3])
            return (try max(x), [x])
        }
        expectClose(ties[0], Tensor([0.5, 0, 0.5]))
    }

    @Test func logSoftmaxGradientStaysFiniteForHugeLogits() throws {
        let g = try gradients(["z": try Tensor([[1e4, -1e4, 0]])]) { g in
            let z = try g.placeholder("z", shape: [.batch, 3])
            let target = g.constant(try Tensor([[1, 0, 0]]))
            return (try -sum(target * logSoftmax(z)), [z])
        }
        #expect(g[0].scalars.allSatisfy { $0.isFinite })
        expectClose(g[0], try Tensor([[0, 0, 0]]), atol: 1e-6)
    }
}
