import Testing
import KilnGraph
import KilnInterpreter

func f32(_ shape: [Int], _ values: [Float]) -> Tensor { try! Tensor(shape: shape, scalars: values) }
func i32(_ shape: [Int], _ values: [Int32]) -> Tensor { try! Tensor(shape: shape, scalars: values) }
func bools(_ shape: [Int], _ values: [Bool]) -> Tensor { try! Tensor(shape: shape, scalars: values) }

/// Builds a graph with `build`, runs it once on the interpreter and returns the built node's value.
func evaluate(_ feeds: [String: Tensor] = [:], _ build: (Graph) throws -> Node) throws -> Tensor {
    let graph = Graph()
    let node = try build(graph)
    let program = try InterpreterProgram(graph: graph, outputs: ["out": node])
    return try #require(try program.run(feeds: feeds)["out"])
}

/// Whether `actual` has `expected`'s type and its values within `atol + rtol * |expected|`
/// (NaN matching NaN, infinities matching exactly); records an issue naming the first difference.
@discardableResult
func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-6, atol: Float = 1e-6,
                 _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    guard actual.type == expected.type else {
        Issue.record("\(context) type \(actual.type), expected \(expected.type)", sourceLocation: sourceLocation)
        return false
    }
    for (index, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
        let close = (a.isNaN && e.isNaN) || a == e || (e.isFinite && Swift.abs(a - e) <= atol + rtol * Swift.abs(e))
        if !close {
            Issue.record("\(context) element \(index): \(a), expected \(e) (rtol \(rtol), atol \(atol))\n\(actual)",
                         sourceLocation: sourceLocation)
            return false
        }
    }
    return true
}

/// A stable 64-bit FNV-1a hash, for seeds derived from test names.
func stableSeed(_ text: String) -> UInt64 {
    text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
}
