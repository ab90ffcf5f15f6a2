import Testing
import KilnGraph

/// One forward evaluation with a hand-computed expected value.
struct ForwardCase: Sendable, CustomTestStringConvertible {
    /// The printer name of the op under test.
    let op: String
    let label: String
    var feeds: [String: Tensor] = [:]
    var rtol: Float = 1e-6
    let expected: Tensor
    let build: @Sendable (Graph) throws -> Node

    init(_ op: String, _ label: String, feeds: [String: Tensor] = [:], rtol: Float = 1e-6, expected: Tensor,
         build: @escaping @Sendable (Graph) throws -> Node) {
        self.op = op
        self.label = label
        self.feeds = feeds
        self.rtol = rtol
        self.expected = expected
        self.build = build
    }

    var testDescription: String { "\(op): \(label)" }
}

/// `[[1, 2, 3], [4, 5, 6]]`.
let m23 = f32([2, 3], [1, 2, 3, 4, 5, 6])
