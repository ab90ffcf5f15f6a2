import Testing
import KilnGraph
import KilnInterpreter
import KilnTestSupport

let scanCases: [ForwardCase] = [
    ForwardCase("scan", "running sum, final carry", feeds: ["c0": f32([1, 2], [10, 20]), "xs": f32([3, 1, 2], [1, 2, 3, 4, 5, 6])],
                expected: f32([1, 2], [19, 32])) {
        try runningSum($0, $0.placeholder("c0", shape: [.batch, 2]), $0.placeholder("xs", shape: [3, .batch, 2]), steps: 3).finalCarries[0]
    },
    ForwardCase("scan", "an empty batch", feeds: ["c0": f32([0, 2], []), "xs": f32([3, 0, 2], [])], expected: f32([3, 0, 2], [])) {
        try runningSum($0, $0.placeholder("c0", shape: [.batch, 2]), $0.placeholder("xs", shape: [3, .batch, 2]), steps: 3).outputs[0]
    },
    ForwardCase("scan_result", "per-step outputs, reversed", feeds: ["c0": f32([1, 2], [0, 0]), "xs": f32([2, 1, 2], [1, 2, 3, 4])],
                expected: f32([2, 1, 2], [8, 12, 6, 8])) {
        try runningSum($0, $0.placeholder("c0", shape: [.batch, 2]), $0.placeholder("xs", shape: [2, .batch, 2]), steps: 2,
                       reverse: true).outputs[0]
    },
]

let scanGradientCases: [GradientCase] = [
    GradientCase("scan", "Elman network, per-step outputs", [
        .random([.batch, 3], -1, 1), .random([4, .batch, 2], -1, 1), .random([2, 3], -1, 1), .random([3, 3], -1, 1), .random([3], -0.5, 0.5),
    ]) { try elman($0[0], $0[1], $0[2], $0[3], $0[4]).outputs[0] },
    GradientCase("scan", "Elman network in reverse, final carry", [
        .random([.batch, 3], -1, 1), .random([3, .batch, 2], -1, 1), .random([2, 3], -1, 1), .random([3, 3], -1, 1), .random([3], -0.5, 0.5),
    ]) { try elman($0[0], $0[1], $0[2], $0[3], $0[4], reverse: true).finalCarries[0] },
    GradientCase("scan_result", "final carry and outputs together, through a later op", [
        .random([.batch, 3], -1, 1), .random([3, .batch, 2], -1, 1), .random([2, 3], -1, 1), .random([3, 3], -1, 1), .random([3], -0.5, 0.5),
    ]) {
        let out = try elman($0[0], $0[1], $0[2], $0[3], $0[4])
        return try sum(out.outputs[0], axes: [0]) * out.finalCarries[0]
    },
    GradientCase("scan_result", "the carries each step began with", [
        .random([.batch, 3], -1, 1), .random([3, .batch, 2], -1, 1), .random([2, 3], -1, 1), .random([3, 3], -1, 1), .random([3], -0.5, 0.5),
    ]) { try elman($0[0], $0[1], $0[2], $0[3], $0[4]).stepCarries[0] },
    GradientCase("scan", "stacked: a second network over the first one's outputs", [
        .random([.batch, 3], -1, 1), .random([3, .batch, 2], -1, 1), .random([2, 3], -1, 1), .random([3, 3], -1, 1), .random([3], -0.5, 0.5),
        .random([3, 3], -1, 1),
    ]) {
        let first = try elman($0[0], $0[1], $0[2], $0[3], $0[4])
        return try elman($0[0], first.outputs[0], $0[5], $0[3], $0[4], reverse: true).outputs[0]
    },
]

@Suite("scan: a loop over steps")
struct ScanTests {
    let xs = f32([3, 1, 2], [1, 2, 3, 4, 5, 6])

    @Test(arguments: scanCases)
    func evaluates(_ c: ForwardCase) throws {
        expectClose(try evaluate(c.feeds, c.build), c.expected, rtol: c.rtol, c.testDescription)
    }

    @Test func runsTheBodyOncePerStep() throws {
        let g = Graph()
        let c0 = try g.placeholder("c0", shape: [.batch, 2]), xs = try g.placeholder("xs", shape: [3, .batch, 2])
        let out = try runningSum(g, c0, xs, steps: 3)
        let program = try InterpreterProgram(graph: g, outputs: ["final": out.finalCarries[0], "ys": out.outputs[0],
                                                                 "carries": out.stepCarries[0]])
        let result = try program.run(feeds: ["c0": f32([1, 2], [10, 20]), "xs": self.xs])
        // c: [10,20] -> [11,22] -> [14,26] -> [19,32]
        #expect(result["final"] == f32([1, 2], [19, 32]))
        #expect(result["ys"] == f32([3, 1, 2], [22, 44, 28, 52, 38, 64]))
        #expect(result["carries"] == f32([3, 1, 2], [10, 20, 11, 22, 14, 26]))
    }

    @Test func reverseRunsFromTheLastStepAndKeepsEachOutputAtItsIndex() throws {
        let g = Graph()
        let c0 = try g.placeholder("c0", shape: [.batch, 2]), xs = try g.placeholder("xs", shape: [3, .batch, 2])
        let out = try runningSum(g, c0, xs, steps: 3, reverse: true)
        let program = try InterpreterProgram(graph: g, outputs: ["final": out.finalCarries[0], "ys": out.outputs[0],
                                                                 "carries": out.stepCarries[0]])
        let result = try program.run(feeds: ["c0": f32([1, 2], [0, 0]), "xs": self.xs])
        // Steps 2, 1, 0: c [0,0] -> [5,6] -> [8,10] -> [9,12]
        #expect(result["final"] == f32([1, 2], [9, 12]))
        #expect(result["ys"] == f32([3, 1, 2], [18, 24, 16, 20, 10, 12]))
        #expect(result["carries"] == f32([3, 1, 2], [8, 10, 5, 6, 0, 0]))
    }

    @Test func aBatchOfSeveralRunsEachRowIndependently() throws {
        let g = Graph()
        let c0 = try g.placeholder("c0", shape: [.batch, 2]), xs = try g.placeholder("xs", shape: [2, .batch, 2])
        let out = try runningSum(g, c0, xs, steps: 2)
        let program = try InterpreterProgram(graph: g, outputs: ["final": out.finalCarries[0]])
        let result = try program.run(feeds: ["c0": f32([2, 2], [0, 0, 100, 100]), "xs": f32([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8])])
        #expect(result["final"] == f32([2, 2], [6, 8, 110, 112]))
    }

    @Test func printsItsBody() throws {
        let g = Graph()
        let c0 = try g.placeholder("c0", shape: [.batch, 2]), xs = try g.placeholder("xs", shape: [3, .batch, 2])
        _ = try runningSum(g, c0, xs, steps: 3)
        #expect(g.description == """
            %0 = placeholder "c0" : f32[?,2]
            %1 = placeholder "xs" : f32[3,?,2]
            %2 = scan %0, %1 {carries=1, sequences=1, length=3} : f32[]
              | %0 = placeholder "c" : f32[?,2]
              | %1 = placeholder "x" : f32[?,2]
              | %2 = add %0, %1 : f32[?,2]
              | %3 = constant 2.0 : f32[]
              | %4 = mul %2, %3 : f32[?,2]
              | results %2, %4
            %3 = scan_result %2 {index=0} : f32[?,2]
            %4 = scan_result %2 {index=1} : f32[3,?,2]
            %5 = scan_result %2 {index=2} : f32[3,?,2]
            """)
        try g.verify()
    }

    @Test func operandsThatDoNotFitTheBodyAreErrorsNamingThem() throws {
        let g = Graph()
        let c0 = try g.placeholder("c0", shape: [.batch, 3]), xs = try g.placeholder("xs", shape: [3, .batch, 2])
        expectError("carry 0 is f32[?,3] but the body takes f32[?,2]") { _ = try runningSum(g, c0, xs, steps: 3) }
        let c1 = try g.placeholder("c1", shape: [.batch, 2])
        expectError("sequence 0 is f32[3,?,2] but the body takes f32[4,?,2] (4 steps of f32[?,2])") {
            _ = try runningSum(g, c1, xs, steps: 4)
        }
        expectError("the length must be at least 1, got 0") { _ = try runningSum(g, c1, xs, steps: 0) }
    }

    @Test func badBodiesAreErrors() throws {
        let body = Graph()
        let c = try body.placeholder("c", shape: [2])
        let extra = try body.placeholder("extra", shape: [2])
        expectError("carry 0 is f32[2] but the body's new value is f32[]") {
            _ = try Scan(body: body, carries: [c], steps: [extra], invariants: [], newCarries: [sum(c)], outputs: [], length: 2)
        }
        let v = try body.variable("v", initialValue: Tensor([1, 1]))
        expectError("scan: the body has state") {
            _ = try Scan(body: body, carries: [c], steps: [extra], invariants: [], newCarries: [c + v], outputs: [], length: 2)
        }
        let clean = Graph()
        let d = try clean.placeholder("d", shape: [2])
        let loose = try clean.placeholder("loose", shape: [2])
        expectError("body placeholder %1 = placeholder \"loose\" : f32[2] is not a parameter") {
            _ = try Scan(body: clean, carries: [d], steps: [], invariants: [], newCarries: [d + loose], outputs: [], length: 2)
        }
        expectError("1 carries but 0 new carries") {
            _ = try Scan(body: clean, carries: [d], steps: [], invariants: [loose], newCarries: [], outputs: [], length: 2)
        }
        let g = Graph()
        let x = try g.placeholder("x", shape: [2])
        expectError("the operand is not a scan node") { _ = try g.append(.scanResult(index: 0, type: TensorType(.float32, [2])), [sum(x)]) }
    }

    @Test func gradientsFlowThroughTheCarriesAndTheSequences() throws {
        // d(sum of final carry)/d c0 = 1 and d/d x_t = 1 for every step.
        let g = Graph()
        let c0 = try g.placeholder("c0", shape: [.batch, 2]), xs = try g.placeholder("xs", shape: [3, .batch, 2])
        let out = try runningSum(g, c0, xs, steps: 3)
        let loss = try sum(out.finalCarries[0]) + sum(out.outputs[0])
        let grads = try g.gradients(of: loss, wrt: [c0, xs])
        let result = try InterpreterProgram(graph: g, outputs: ["dc0": grads[0], "dxs": grads[1]])
            .run(feeds: ["c0": f32([1, 2], [0, 0]), "xs": self.xs])
        // Each output 2c_t: c0 reaches the final carry once and all three outputs (2 each).
        #expect(result["dc0"] == f32([1, 2], [7, 7]))
        // x_t reaches the final carry and the outputs of steps t...2.
        #expect(result["dxs"] == f32([3, 1, 2], [7, 7, 5, 5, 3, 3]))
    }

    @Test(arguments: scanGradientCases)
    func matchesFiniteDifferences(_ c: GradientCase) throws {
        try checkGradients(c)
    }
}
