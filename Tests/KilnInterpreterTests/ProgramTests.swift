import Testing
import KilnGraph
import KilnInterpreter

@Suite("Program: feeds, outputs, variables")
struct ProgramTests {
    /// `y = x @ w + b` with `x: f32[?,2]`, and an unrelated `ids: i32[?]`.
    func affine() throws -> (Graph, InterpreterProgram) {
        let g = Graph()
        let x = try g.placeholder("x", shape: [.batch, 2])
        _ = try g.placeholder("ids", shape: [.batch], dtype: .int32)
        let w = try g.variable("w", initialValue: Tensor([[1], [2]]))
        let b = try g.variable("b", initialValue: Tensor([0.5]))
        let y = try matmul(x, w) + b
        return (g, try InterpreterProgram(graph: g, outputs: ["y": y]))
    }

    @Test func runsWithNamedOutputs() throws {
        let (_, program) = try affine()
        let result = try program.run(feeds: ["x": Tensor([[1, 1], [2, 0], [0, 0]])])
        #expect(Array(result.keys) == ["y"])
        expectClose(try #require(result["y"]), f32([3, 1], [3.5, 2.5, 0.5]))
        #expect(program.signature.inputs.map(\.name) == ["x"])
        #expect(program.signature.optionalInputs.map(\.name) == ["ids"])
        #expect(program.signature.outputs.map(\.name) == ["y"])
    }

    @Test func oneProgramServesEveryBatchSize() throws {
        let (_, program) = try affine()
        for n in [1, 7, 0, 32] {
            let y = try #require(try program.run(feeds: ["x": Tensor.zeros(shape: [n, 2])])["y"])
            #expect(y.shape == [n, 1])
        }
    }

    @Test func unknownFeedNamesTheInputs() throws {
        let (_, program) = try affine()
        let error = #expect(throws: KilnError.self) { try program.run(feeds: ["x": .zeros(shape: [1, 2]), "z": Tensor(1)]) }
        #expect(error?.kind == .unknownName)
        #expect(error?.message == "unknown feed \"z\"; the inputs are: x: f32[?,2], ids: i32[?]")
    }

    @Test func missingFeedNamesTheType() throws {
        let (_, program) = try affine()
        let error = #expect(throws: KilnError.self) { try program.run(feeds: [:]) }
        #expect(error?.kind == .missingFeed)
        #expect(error?.message == "missing feed \"x\" of type f32[?,2]\n  %0 = placeholder \"x\" : f32[?,2]")
    }

    @Test func feedOfTheWrongShapeOrType() throws {
        let (_, program) = try affine()
        let shape = #expect(throws: KilnError.self) { try program.run(feeds: ["x": .zeros(shape: [4, 3])]) }
        #expect(shape?.message == "feed \"x\" is f32[4,3] but the placeholder is f32[?,2]\n  %0 = placeholder \"x\" : f32[?,2]")
        let rank = #expect(throws: KilnError.self) { try program.run(feeds: ["x": .zeros(shape: [2])]) }
        #expect(rank?.kind == .feedMismatch)
        let dtype = #expect(throws: KilnError.self) {
            try program.run(feeds: ["x": Tensor(shape: [1, 2], scalars: [Int32(1), 2])])
        }
        #expect(dtype?.message.hasPrefix("feed \"x\" is i32[1,2] but the placeholder is f32[?,2]") == true)
        let optional = #expect(throws: KilnError.self) {
            try program.run(feeds: ["x": .zeros(shape: [1, 2]), "ids": .zeros(shape: [1])])
        }
        #expect(optional?.message == "feed \"ids\" is f32[1] but the placeholder is i32[?]\n  %1 = placeholder \"ids\" : i32[?]")
    }

    @Test func feedsMustAgreeOnTheBatchSize() throws {
        let (_, program) = try affine()
        let error = #expect(throws: KilnError.self) {
            try program.run(feeds: ["x": .zeros(shape: [3, 2]), "ids": Tensor(shape: [4], scalars: [Int32](repeating: 0, count: 4))])
        }
        #expect(error?.message == "feeds disagree on the batch size: \"x\" has 3, \"ids\" has 4")
    }

    @Test func aProgramNeedingOnlyTheBatchSizeAsksForAFeed() throws {
        let g = Graph()
        _ = try g.placeholder("x", shape: [.batch, 2])
        let count = try g.elementCount([.batch, 2])
        let program = try InterpreterProgram(graph: g, outputs: ["count": count])
        let error = #expect(throws: KilnError.self) { try program.run(feeds: [:]) }
        #expect(error?.message == "the program's results depend on the batch size, but no feed gives it; feed one of: \"x\"")
        #expect(try program.run(feeds: ["x": .zeros(shape: [5, 2])])["count"] == Tensor(10))
    }

    @Test func variablesPersistAndAssignsApplyAtTheEndOfTheRun() throws {
        let g = Graph()
        let counter = try g.variable("counter", initialValue: Tensor(0))
        let step = try g.placeholder("step", shape: [])
        let seenBefore = try counter * 1
        _ = try g.assign(counter, counter + step)
        let program = try InterpreterProgram(graph: g, outputs: ["before": seenBefore])
        for expected: Float in [0, 2, 4] {
            #expect(try program.run(feeds: ["step": Tensor(2)])["before"] == Tensor(expected))
        }
        #expect(try program.variable("counter") == Tensor(6))
        try program.setVariable("counter", to: Tensor(-1))
        #expect(try program.run(feeds: ["step": Tensor(1)])["before"] == Tensor(-1))
        #expect(program.signature.variables == ["counter": TensorType(.float32, [])])
    }

    @Test func swappedAssignsReadTheOldValues() throws {
        let g = Graph()
        let a = try g.variable("a", initialValue: Tensor(1))
        let b = try g.variable("b", initialValue: Tensor(2))
        _ = try g.assign(a, b)
        _ = try g.assign(b, a)
        let program = try InterpreterProgram(graph: g, outputs: [:])
        _ = try program.run(feeds: [:])
        #expect(try program.variable("a") == Tensor(2))
        #expect(try program.variable("b") == Tensor(1))
    }

    @Test func variableErrorsNameTheVariable() throws {
        let (_, program) = try affine()
        let unknown = #expect(throws: KilnError.self) { try program.variable("kernel") }
        #expect(unknown?.message == "no variable \"kernel\"; the variables are: \"b\", \"w\"")
        let wrong = #expect(throws: KilnError.self) { try program.setVariable("w", to: .zeros(shape: [2, 2])) }
        #expect(wrong?.message == "variable \"w\" is f32[2,1], the new value is f32[2,2]")
        #expect(try program.variable("w") == Tensor([[1], [2]]))
    }

    @Test func programsSharingAStoreSeeEachOthersUpdates() throws {
        let store = VariableStore()
        let training = Graph()
        let w = try training.variable("w", initialValue: Tensor([1, 2]))
        _ = try training.assign(w, w * 2)
        let train = try InterpreterProgram(graph: training, outputs: [:], variables: store)

        let inference = Graph()
        let x = try inference.placeholder("x", shape: [.batch, 2])
        let v = try inference.variable("w", initialValue: Tensor([0, 0]))
        let predict = try InterpreterProgram(graph: inference, outputs: ["y": x * v], variables: store)

        let ones = try Tensor([[1, 1]])
        #expect(try predict.run(feeds: ["x": ones])["y"] == Tensor([[1, 2]]))
        _ = try train.run(feeds: [:])
        #expect(try predict.run(feeds: ["x": ones])["y"] == Tensor([[2, 4]]))
        try predict.setVariable("w", to: Tensor([5, 5]))
        #expect(try train.variable("w") == Tensor([5, 5]))
        #expect(store.names == ["w"])
    }

    @Test func aStoreRejectsAVariableOfAnotherType() throws {
        let store = VariableStore()
        let first = Graph()
        _ = try first.variable("w", initialValue: .zeros(shape: [2, 3]))
        _ = try InterpreterProgram(graph: first, outputs: [:], variables: store)
        let second = Graph()
        _ = try second.variable("w", initialValue: .zeros(shape: [3, 2]))
        let error = #expect(throws: KilnError.self) { try InterpreterProgram(graph: second, outputs: [:], variables: store) }
        #expect(error?.message == "variable \"w\" is f32[2,3] in the store but f32[3,2] in the graph")
    }

    @Test func programsAreSnapshotsOfTheGraph() throws {
        let (g, program) = try affine()
        _ = try g.variable("late", initialValue: Tensor(1))
        #expect(program.signature.variables["late"] == nil)
        #expect(throws: KilnError.self) { try program.variable("late") }
    }

    @Test func outOfRangeIndicesAreErrorsNamingTheNode() throws {
        let g = Graph()
        let table = try g.variable("table", initialValue: .zeros(shape: [4, 2]))
        let ids = try g.placeholder("ids", shape: [.batch], dtype: .int32)
        let program = try InterpreterProgram(graph: g, outputs: ["rows": gather(table, indices: ids)])
        let error = #expect(throws: KilnError.self) {
            try program.run(feeds: ["ids": Tensor(shape: [3], scalars: [Int32(0), 4, 1])])
        }
        #expect(error?.kind == .runtime)
        #expect(error?.message == "%2 = gather %0, %1 {axis=0} : f32[?,2]: index 4 at position [1] is out of range 0..<4")
        let labels = try oneHot(ids, depth: 3)
        let encode = try InterpreterProgram(graph: g, outputs: ["y": labels])
        let negative = #expect(throws: KilnError.self) {
            try encode.run(feeds: ["ids": Tensor(shape: [2], scalars: [Int32(2), -1])])
        }
        #expect(negative?.message.hasSuffix("index -1 at position [1] is out of range 0..<3") == true)
    }

    @Test func argmaxOverAnEmptyBatchIsAnError() throws {
        let g = Graph()
        let x = try g.placeholder("x", shape: [.batch, 2])
        let program = try InterpreterProgram(graph: g, outputs: ["i": argmax(x, axis: 0)])
        let error = #expect(throws: KilnError.self) { try program.run(feeds: ["x": .zeros(shape: [0, 2])]) }
        #expect(error?.kind == .runtime)
    }

    @Test func resultsTooLargeToCountAreErrors() throws {
        let g = Graph()
        let x = try g.placeholder("x", shape: [.batch, 1, 1])
        let huge = try broadcast(x, to: [.batch, .size(1 << 40), .size(1 << 22)])
        let program = try InterpreterProgram(graph: g, outputs: ["y": huge])
        let error = #expect(throws: KilnError.self) { try program.run(feeds: ["x": .zeros(shape: [4, 1, 1])]) }
        #expect(error?.kind == .runtime)
        #expect(error?.message.contains("too many elements to count") == true)
    }

    @Test func outputsMustBelongToTheGraph() throws {
        let g = Graph(), other = Graph()
        let node = other.constant(1)
        let error = #expect(throws: KilnError.self) { try InterpreterProgram(graph: g, outputs: ["y": node]) }
        #expect(error?.message == "output \"y\" is a node of another graph")
    }
}
