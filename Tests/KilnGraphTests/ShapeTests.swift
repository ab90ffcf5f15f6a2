import Testing
import KilnGraph

@Suite("Shape")
struct ShapeTests {
    @Test func printsBatchAsQuestionMark() {
        #expect(Shape([.batch, 16]).description == "[?,16]")
        #expect(Shape.scalar.description == "[]")
        #expect(TensorType(.int32, [3, .batch]).description == "i32[3,?]")
        #expect(TensorType(.bool, []).description == "bool[]")
    }

    @Test func resolvesTheBatchSize() {
        let shape: Shape = [.batch, 3, .batch]
        #expect(shape.resolved(batch: 5) == [5, 3, 5])
        #expect(shape.staticSizes == nil)
        #expect(shape.staticProduct == 3)
        #expect(shape.batchDimCount == 2)
        #expect(Shape(sizes: [2, 3]).staticSizes == [2, 3])
    }

    @Test func productReportsOverflow() {
        #expect(Shape.product([1 << 40, 1 << 30]) == nil)
        #expect(Shape.product([]) == 1)
        #expect(Shape.product([4, 0, 7]) == 0)
    }

    struct BroadcastCase: Sendable, CustomTestStringConvertible {
        let shapes: [Shape]
        let expected: Shape?
        var testDescription: String {
            shapes.map(\.description).joined(separator: " * ") + " -> " + (expected?.description ?? "error")
        }
    }

    @Test(arguments: [
        BroadcastCase(shapes: [[2, 3], [3]], expected: [2, 3]),
        BroadcastCase(shapes: [[2, 1], [1, 3]], expected: [2, 3]),
        BroadcastCase(shapes: [[], [4]], expected: [4]),
        BroadcastCase(shapes: [[.batch, 3], [3]], expected: [.batch, 3]),
        BroadcastCase(shapes: [[.batch, 1], [1, .batch]], expected: [.batch, .batch]),
        BroadcastCase(shapes: [[.batch, 3], [1, 3]], expected: [.batch, 3]),
        BroadcastCase(shapes: [[0, 3], [3]], expected: [0, 3]),
        BroadcastCase(shapes: [[0], [1]], expected: [0]),
        BroadcastCase(shapes: [[2, 1, 4], [3, 1], [4]], expected: [2, 3, 4]),
        BroadcastCase(shapes: [[2, 3], [4]], expected: nil),
        BroadcastCase(shapes: [[.batch], [3]], expected: nil),
        BroadcastCase(shapes: [[0], [2]], expected: nil),
    ])
    func broadcasting(_ c: BroadcastCase) throws {
        if let expected = c.expected {
            #expect(try Shape.broadcast(c.shapes) == expected)
        } else {
            let error = #expect(throws: KilnError.self) { try Shape.broadcast(c.shapes) }
            #expect(error?.kind == .shapeMismatch)
        }
    }

    @Test func broadcastErrorNamesShapesAndAxis() {
        let error = #expect(throws: KilnError.self) { try Shape.broadcast([[.batch, 3], [4]]) }
        #expect(error?.message == "cannot broadcast shapes [?,3] and [4]: size 3 vs 4 at axis -1")
    }
}
