import Glibc
import KilnGraph
import Testing

/// Random graphs of mixed ops and broadcasts; both backends must agree on every one.
@Suite("Differential fuzzing: random graphs on both backends")
struct DifferentialFuzzTests {
    /// How many graphs to try: `KILN_FUZZ_COUNT`, or 240 (a few seconds in a debug build).
    /// Graph `k` is drawn from seed `0x5EED0000 + k`, so any failure can be run again alone.
    static let graphCount = getenv("KILN_FUZZ_COUNT").flatMap { Int(String(cString: $0)) }.map { Swift.max(0, $0) } ?? 240

    @Test("random graph", arguments: 0..<graphCount)
    func randomGraph(_ index: Int) throws {
        let seed = 0x5EED_0000 + UInt64(index)
        var generator = SeededGenerator(seed: seed)
        let graph = Graph()
        let shapes: [Shape] = [[.batch, 4], [4], [.batch, 1], [1, 4], [], [.batch, 4]]
        var pool: [Node] = try shapes.prefix(2 + generator.nextIndex(below: 4)).enumerated().map { i, shape in
            try graph.placeholder("x\(i)", shape: shape)
        }
        let inputs = pool.map { Input.float($0.type.shape, -1, 1) }
        let steps = 4 + generator.nextIndex(below: 12)
        var attempts = 0
        while pool.count < inputs.count + steps && attempts < 200 {
            attempts += 1
            if let node = try? Self.randomOp(pool, &generator) { pool.append(node) }
        }
        let differentiable = generator.nextIndex(below: 3) == 0
        var outputs: [String: Node] = ["last": pool[pool.count - 1], "other": pool[inputs.count + generator.nextIndex(below: pool.count - inputs.count)]]
        if differentiable {
            let loss = try sum(pool[pool.count - 1])
            let grads = try graph.gradients(of: loss, wrt: Array(pool.prefix(inputs.count)), unconnected: .zero)
            for (i, g) in grads.enumerated() { outputs["grad\(i)"] = g }
        }
        try expectParity(graph, outputs: outputs, inputs: inputs, seed: seed, rtol: 2e-4, atol: 2e-5,
                         context: "random graph \(index) (seed \(seed))\n\(graph)")
    }

    /// One random op over nodes of the pool; throws when the picked operands do not fit.
    static func randomOp(_ pool: [Node], _ g: inout SeededGenerator) throws -> Node {
        func pick() -> Node { pool[g.nextIndex(below: pool.count)] }
        let a = pick(), b = pick()
        switch g.nextIndex(below: 18) {
        case 0: return try neg(a)
        case 1: return try tanh(a)
        case 2: return try sigmoid(a) * 2
        case 3: return try relu(a) - 0.25
        case 4: return try a + b
        case 5: return try a * b
        case 6: return try a - b
        case 7: return try a / (abs(b) + 0.5)
        case 8: return try maximum(a, b)
        case 9: return try minimum(a, b)
        case 10: return try select(greater(a, b), a, b * 0.5)
        case 11: return try exp(tanh(a))
        case 12:
            guard a.type.shape.rank == 2 else { return try sum(a) }
            let axis = g.nextIndex(below: 2)
            switch g.nextIndex(below: 4) {
            case 0: return try sum(a, axes: [axis], keepDims: true)
            case 1: return try mean(a, axes: [axis], keepDims: true)
            case 2: return try max(a, axes: [axis], keepDims: true)
            default: return try min(a, axes: [axis], keepDims: true)
            }
        case 13:
            guard a.type.shape.rank == 2, a.type.shape[1] == .size(4) else { return try softplus(a) }
            return try softmax(a)
        case 14:
            guard a.type.shape == [.batch, 4] else { return try square(a) }
            let w = a.graph.constant(try Tensor(shape: [4, 4], scalars: (0..<16).map { Float($0 % 5) * 0.1 - 0.2 }))
            return try matmul(a, w)
        case 15:
            // The four values as a 2×2 image: its 2×2 windows (padded after it), then a max
            // pooling of them or their sum back into the image.
            guard a.type.shape == [.batch, 4] else { return try log(square(a) + 1) }
            let window = PatchWindow(size: [2, 2], stride: [1, 1], padding: .same, imageSize: [2, 2])
            let windows = try patches(reshape(a, to: [.batch, 2, 2, 1]), window: window, padValue: Float(g.nextIndex(below: 3)) - 1)
            if g.nextIndex(below: 2) == 0 { return try reshape(max(windows, axes: [3]), to: [.batch, 4]) }
            return try reshape(foldPatches(windows * 0.5, window: window, imageSize: [2, 2]), to: [.batch, 4])
        case 16:
            // A loop of 1-3 steps: carry a, steps from b scaled per step, an invariant weight;
            // the final carry, the outputs summed over the steps, or the carries each step read.
            guard a.type.shape == [.batch, 4], b.type.shape == [.batch, 4] else { return try tanh(a) * 0.5 }
            let steps = 1 + g.nextIndex(below: 3)
            let scales = a.graph.constant(try Tensor(shape: [steps, 1, 1], scalars: (0..<steps).map { 1 - 0.4 * Float($0) }))
            let sequence = try broadcast(reshape(b, to: [1, .batch, 4]), to: [Dim.size(steps), .batch, 4]) * scales
            let body = Graph()
            let c = try body.placeholder("c", shape: [.batch, 4]), x = try body.placeholder("x", shape: [.batch, 4])
            let w = try body.placeholder("w", shape: [4])
            let next = try tanh(c * w + x)
            let loop = try Scan(body: body, carries: [c], steps: [x], invariants: [w], newCarries: [next], outputs: [next * x],
                                length: steps, reverse: g.nextIndex(below: 2) == 0)
            let weight = pool.first { $0.type.shape == [4] } ?? a.graph.constant(Tensor([0.5, -1, 1.5, 0.25]))
            let out = try a.graph.scan(loop, carries: [a], sequences: [sequence], invariants: [weight])
            switch g.nextIndex(below: 3) {
            case 0: return out.finalCarries[0]
            case 1: return try sum(out.outputs[0], axes: [0])
            default: return try sum(out.stepCarries[0], axes: [0])
            }
        default:
            return try log(square(a) + 1)
        }
    }
}
