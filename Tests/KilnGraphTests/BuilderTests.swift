import Testing
import KilnGraph

@Suite("Builder and shape inference")
struct BuilderTests {
    let g = Graph()

    @Test func infersTypesThroughAnMLP() throws {
        let x = try g.placeholder("x", shape: [.batch, 4])
        let w = try g.variable("w", initialValue: .zeros(shape: [4, 8]))
        let b = try g.variable("b", initialValue: .zeros(shape: [8]))
        let h = try relu(matmul(x, w) + b)
        #expect(h.type == TensorType(.float32, [.batch, 8]))
        #expect(try sum(h, axes: [1], keepDims: true).shape == [.batch, 1])
        #expect(try mean(h).shape == [])
        #expect(try argmax(h).type == TensorType(.int32, [.batch]))
        #expect(try softmax(h, axis: 1).shape == [.batch, 8])
        #expect(try greater(h, g.constant(0)).type == TensorType(.bool, [.batch, 8]))
        #expect(try transpose(h).shape == [8, .batch])
        #expect(try matmul(h, h, transposeA: true).shape == [8, 8])
    }

    @Test func infersLayoutAndIndexingShapes() throws {
        let x = try g.placeholder("x", shape: [.batch, 2, 6])
        #expect(try reshape(x, to: [.batch, -1]).shape == [.batch, 12])
        #expect(try reshape(x, to: [.batch, 3, 4]).shape == [.batch, 3, 4])
        #expect(try slice(x, starts: [0, 1, 2], sizes: [-1, 1, -1]).shape == [.batch, 1, 4])
        #expect(try pad(x, low: [0, 1, 0], high: [0, 2, 3]).shape == [.batch, 5, 9])
        #expect(try concatenate([x, x], axis: -1).shape == [.batch, 2, 12])
        #expect(try broadcast(g.constant(Tensor([1, 2, 3, 4, 5, 6])), to: [.batch, 2, 6]).shape == [.batch, 2, 6])
        let table = try g.variable("table", initialValue: .zeros(shape: [10, 3]))
        let ids = try g.placeholder("ids", shape: [.batch, 5], dtype: .int32)
        #expect(try gather(table, indices: ids).shape == [.batch, 5, 3])
        #expect(try oneHot(ids, depth: 4).type == TensorType(.float32, [.batch, 5, 4]))
        let rows = try g.placeholder("rows", shape: [.batch, 5, 3])
        #expect(try scatterAdd(rows, indices: ids, axis: 0, shape: [10, 3]).shape == [10, 3])
        #expect(try matmul(x, g.constant(.zeros(shape: [6, 7]))).shape == [.batch, 2, 7])
        #expect(try cast(ids, to: .float32).type == TensorType(.float32, [.batch, 5]))
        #expect(try g.elementCount([.batch, 4]).type == TensorType(.float32, []))
    }

    @Test func scalarOperandsTakeTheNodeElementType() throws {
        let i = try g.placeholder("i", shape: [3], dtype: .int32)
        #expect(try (i + 1).dtype == .int32)
        #expect(try (2 * i).dtype == .int32)
        let f = try g.placeholder("f", shape: [3])
        #expect(try (f / 2).dtype == .float32)
        #expect(throws: KilnError.self) { try i + 0.5 }
    }

    @Test func broadcastMismatchNamesNodeAndShapes() throws {
        let x = try g.placeholder("x", shape: [.batch, 3])
        let b = try g.variable("b", initialValue: .zeros(shape: [4]))
        let error = #expect(throws: KilnError.self) { try x + b }
        #expect(error?.kind == .shapeMismatch)
        #expect(error?.message == """
            add %0, %1: cannot broadcast shapes [?,3] and [4]: size 3 vs 4 at axis -1
              %0 = placeholder "x" : f32[?,3]
              %1 = variable "b" : f32[4]
            """)
    }

    @Test func matmulMismatchNamesInnerDimensions() throws {
        let a = try g.placeholder("a", shape: [.batch, 3])
        let w = try g.variable("w", initialValue: .zeros(shape: [4, 2]))
        let error = #expect(throws: KilnError.self) { try matmul(a, w) }
        #expect(error?.message.hasPrefix("matmul %0, %1: matmul of f32[?,3] and f32[4,2]: inner dimensions 3 and 4 differ") == true)
        let vector = #expect(throws: KilnError.self) { try matmul(a, g.constant(Tensor([1, 2, 3]))) }
        #expect(vector?.message.contains("reshape vectors to matrices") == true)
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        let label: String
        let kind: KilnError.Kind
        let fragment: String
        let build: @Sendable (Graph) throws -> Node
        var testDescription: String { label }
    }

    @Test(arguments: [
        ErrorCase(label: "dtype mismatch", kind: .dtypeMismatch, fragment: "f32[2] and i32[2] differ") { g in
            try g.constant(Tensor([1, 2])) + g.constant(Tensor(shape: [2], scalars: [Int32(1), 2]))
        },
        ErrorCase(label: "integer division", kind: .dtypeMismatch, fragment: "div does not accept i32") { g in
            let i = g.constant(try Tensor(shape: [2], scalars: [Int32(1), 2]))
            return try i / i
        },
        ErrorCase(label: "exp of ints", kind: .dtypeMismatch, fragment: "exp does not accept i32") { g in
            try exp(g.constant(Tensor(shape: [1], scalars: [Int32(1)])))
        },
        ErrorCase(label: "reshape count", kind: .shapeMismatch, fragment: "cannot reshape [2,3] to [4,2]") { g in
            try reshape(g.constant(.zeros(shape: [2, 3])), to: [4, 2])
        },
        ErrorCase(label: "reshape loses batch", kind: .shapeMismatch, fragment: "same number of batch dimensions") { g in
            try reshape(g.placeholder("x", shape: [.batch, 3]), to: [3])
        },
        ErrorCase(label: "axis out of range", kind: .invalidArgument, fragment: "axis 2 is out of range for rank 2") { g in
            try sum(g.constant(.zeros(shape: [2, 3])), axes: [2])
        },
        ErrorCase(label: "duplicate axes", kind: .invalidArgument, fragment: "must be sorted and unique") { g in
            try sum(g.constant(.zeros(shape: [2, 3])), axes: [1, -1])
        },
        ErrorCase(label: "bad permutation", kind: .invalidArgument, fragment: "[0, 0] is not a permutation") { g in
            try transpose(g.constant(.zeros(shape: [2, 3])), permutation: [0, 0])
        },
        ErrorCase(label: "slice out of bounds", kind: .shapeMismatch, fragment: "start 2 and size 2 do not fit in 3") { g in
            try slice(g.constant(.zeros(shape: [2, 3])), starts: [0, 2], sizes: [2, 2])
        },
        ErrorCase(label: "slice of the batch", kind: .shapeMismatch, fragment: "batch dimension can only be taken whole") { g in
            try slice(g.placeholder("x", shape: [.batch, 3]), starts: [1, 0], sizes: [-1, 3])
        },
        ErrorCase(label: "pad the batch", kind: .shapeMismatch, fragment: "cannot be padded") { g in
            try pad(g.placeholder("x", shape: [.batch, 3]), low: [1, 0], high: [0, 0])
        },
        ErrorCase(label: "concatenate along batch", kind: .shapeMismatch, fragment: "along axis 0, the batch dimension") { g in
            let x = try g.placeholder("x", shape: [.batch, 3])
            return try concatenate([x, x], axis: 0)
        },
        ErrorCase(label: "concatenate mismatch", kind: .shapeMismatch, fragment: "axis 0 differs") { g in
            try concatenate([g.constant(.zeros(shape: [2, 3])), g.constant(.zeros(shape: [3, 3]))], axis: 1)
        },
        ErrorCase(label: "float indices", kind: .dtypeMismatch, fragment: "indices must be i32") { g in
            try gather(g.constant(.zeros(shape: [4, 2])), indices: g.constant(Tensor([1])))
        },
        ErrorCase(label: "one_hot depth", kind: .invalidArgument, fragment: "depth must be positive") { g in
            try oneHot(g.constant(Tensor(shape: [1], scalars: [Int32(0)])), depth: 0)
        },
        ErrorCase(label: "argmax of empty axis", kind: .shapeMismatch, fragment: "which is empty") { g in
            try argmax(g.constant(.zeros(shape: [3, 0])))
        },
        ErrorCase(label: "select condition", kind: .dtypeMismatch, fragment: "condition must be bool") { g in
            let x = g.constant(Tensor([1, 2]))
            return try select(x, x, x)
        },
        ErrorCase(label: "broadcast target", kind: .shapeMismatch, fragment: "cannot broadcast [2] to [3]") { g in
            try broadcast(g.constant(Tensor([1, 2])), to: [3])
        },
        ErrorCase(label: "batch against size", kind: .shapeMismatch, fragment: "size ? vs 3") { g in
            try g.placeholder("x", shape: [.batch]) + g.constant(.zeros(shape: [3]))
        },
        ErrorCase(label: "overflowing shape", kind: .shapeMismatch, fragment: "more elements than an Int can count") { g in
            try broadcast(g.constant(Tensor(1)), to: Shape(sizes: [1 << 40, 1 << 40]))
        },
        ErrorCase(label: "assign to non-variable", kind: .invalidArgument, fragment: "%0 is not a variable") { g in
            let x = try g.placeholder("x", shape: [2])
            return try g.assign(x, x)
        },
        ErrorCase(label: "assign of another type", kind: .shapeMismatch, fragment: "does not match the variable's type f32[2]") { g in
            let v = try g.variable("v", initialValue: .zeros(shape: [2]))
            return try g.assign(v, g.constant(.zeros(shape: [3])))
        },
        ErrorCase(label: "assign twice", kind: .invalidArgument, fragment: "%0 is already assigned by %1") { g in
            let v = try g.variable("v", initialValue: .zeros(shape: [2]))
            _ = try g.assign(v, v)
            return try g.assign(v, v)
        },
        ErrorCase(label: "duplicate placeholder", kind: .invalidArgument, fragment: "placeholder \"x\" already exists") { g in
            _ = try g.placeholder("x", shape: [1])
            return try g.placeholder("x", shape: [2])
        },
        ErrorCase(label: "placeholder through append", kind: .invalidArgument, fragment: "create placeholders and variables with") { g in
            try g.append(.placeholder(name: "p", type: TensorType(.float32, [1])), [])
        },
        ErrorCase(label: "wrong arity", kind: .invalidGraph, fragment: "takes 2 operand(s), got 1") { g in
            try g.append(.binary(.add), [g.constant(1)])
        },
    ])
    func rejectsBadInput(_ c: ErrorCase) {
        let g = Graph()
        let error = #expect(throws: KilnError.self) { try c.build(g) }
        #expect(error?.kind == c.kind)
        #expect(error?.message.contains(c.fragment) == true, "message: \(error?.message ?? "")")
    }

    @Test func rejectsNodesOfAnotherGraph() throws {
        let other = Graph()
        let x = try g.placeholder("x", shape: [2])
        let y = try other.placeholder("y", shape: [2])
        let error = #expect(throws: KilnError.self) { try x + y }
        #expect(error?.message == "add %0, %0: operand %0 belongs to another graph")
    }
}
