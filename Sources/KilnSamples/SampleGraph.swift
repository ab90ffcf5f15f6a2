import KilnGraph

/// A ready-made graph with seeded inputs: what `kiln dump-c`, `kiln compare`, `kiln graph`
/// and the benchmarks run, and what tests compare backends on.
public struct SampleGraph {
    /// How a feed is drawn.
    public enum Feed: Sendable {
        /// `f32` uniform in `[lower, upper)`.
        case uniform(Float, Float)
        /// `i32` class labels in `0..<classes`.
        case labels(Int)
        /// `f32` labels 0 or 1.
        case binaryLabels
    }

    /// The sample's name (`mlp-train-sgd`).
    public let name: String
    /// What it computes.
    public let summary: String
    /// The graph.
    public let graph: Graph
    /// The named results; gradients are named `grad:<variable>`.
    public let outputs: [String: Node]
    /// The placeholders and how to draw their feeds.
    public let feeds: [(name: String, kind: Feed)]

    /// Seeded feeds for `batch` samples.
    ///
    /// - Throws: ``KilnError`` if a placeholder is missing (a bug in the sample).
    public func makeFeeds(batch: Int, using generator: inout SeededGenerator) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, kind) in feeds {
            guard let node = graph.placeholder(named: name) else {
                throw KilnError(.unknownName, "sample \(self.name) has no placeholder \(String(reflecting: name))")
            }
            let shape = node.type.shape.resolved(batch: batch)
            let count = Shape.product(shape) ?? 0
            switch kind {
            case .uniform(let lower, let upper):
                result[name] = try Tensor.randomUniform(shape: shape, lower: lower, upper: upper, using: &generator)
            case .labels(let classes):
                result[name] = try Tensor(shape: shape, scalars: (0..<count).map { _ in Int32(generator.nextIndex(below: classes)) })
            case .binaryLabels:
                result[name] = try Tensor(shape: shape, scalars: (0..<count).map { _ in Float(generator.nextIndex(below: 2)) })
            }
        }
        return result
    }
}
