import Testing
import KilnGraph

@Suite("Gradient requests")
struct GradientRequestTests {
    let g = Graph()

    @Test func lossMustBeAScalar() throws {
        let x = try g.placeholder("x", shape: [.batch, 2])
        let error = #expect(throws: KilnError.self) { try g.gradients(of: square(x), wrt: [x]) }
        #expect(error?.kind == .gradient)
        #expect(error?.message == """
            gradients of %1: the loss must be an f32 scalar (f32[]) but is f32[?,2]; reduce it with sum or mean first
              %1 = square %0 : f32[?,2]
            """)
    }

    @Test func onlyFloatsHaveGradients() throws {
        let ids = try g.placeholder("ids", shape: [3], dtype: .int32)
        let loss = try sum(cast(ids, to: .float32))
        let error = #expect(throws: KilnError.self) { try g.gradients(of: loss, wrt: [ids]) }
        #expect(error?.message.contains("only f32 values have gradients, it is i32[3]") == true)
    }

    @Test func pathsThroughArgmaxHaveNoGradient() throws {
        let x = try g.placeholder("x", shape: [.batch, 3])
        let loss = try sum(cast(argmax(x), to: .float32))
        let error = #expect(throws: KilnError.self) { try g.gradients(of: loss, wrt: [x]) }
        #expect(error?.message == """
            gradients of %3 with respect to %0: every path passes through an op without a gradient
              %1 = argmax %0 {axis=1} : i32[?]
            """)
    }

    @Test func pathsThroughComparisonsAndIntegerCastsHaveNoGradient() throws {
        let x = try g.placeholder("x", shape: [3])
        let compared = try sum(cast(greater(x, g.constant(0)), to: .float32))
        #expect(throws: KilnError.self) { try g.gradients(of: compared, wrt: [x]) }
        let truncated = try sum(cast(cast(x, to: .int32), to: .float32))
        let error = #expect(throws: KilnError.self) { try g.gradients(of: truncated, wrt: [x]) }
        #expect(error?.message.contains("cast %0 : i32[3]") == true)
    }

    @Test func aDifferentiablePathBesideABlockedOneIsEnough() throws {
        let x = try g.placeholder("x", shape: [3])
        let mask = try cast(greater(x, g.constant(0)), to: .float32)
        let loss = try sum(x * mask)
        #expect(try g.gradients(of: loss, wrt: [x]).count == 1)
    }

    @Test func unconnectedNodesAreAnErrorOrZero() throws {
        let x = try g.placeholder("x", shape: [.batch, 2])
        let unused = try g.variable("unused", initialValue: .zeros(shape: [2]))
        let loss = try sum(x)
        let error = #expect(throws: KilnError.self) { try g.gradients(of: loss, wrt: [unused]) }
        #expect(error?.message.hasPrefix("gradients of %2 with respect to %1: the loss does not depend on it") == true)
        let zero = try g.gradients(of: loss, wrt: [unused, x], unconnected: .zero)
        #expect(zero[0].type == TensorType(.float32, [2]))
        #expect(zero[0].op == .broadcast([2]))
        #expect(zero[0].inputs[0].op == .constant(Tensor(0)))
        #expect(zero[1].type == x.type)
    }

    @Test func gradientsAppendWithoutChangingTheForwardGraph() throws {
        let x = try g.placeholder("x", shape: [.batch, 2])
        let loss = try mean(tanh(x))
        let before = g.nodes
        _ = try g.gradients(of: loss, wrt: [x])
        #expect(Array(g.nodes.prefix(before.count)) == before)
        #expect(g.nodes.count > before.count)
        try g.verify()
    }
}
