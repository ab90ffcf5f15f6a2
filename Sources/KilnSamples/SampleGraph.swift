import Kiln

/// A ready-made graph with seeded inputs: what `kiln dump-c`, `kiln compare`, `kiln graph`
/// and the benchmarks run, and what tests compare backends on. A step of a saved model is
/// one too (``init(model:step:name:)``).
public struct SampleGraph {
    /// How a feed is drawn.
    public enum Feed: Sendable {
        /// `f32` uniform in `[lower, upper)`.
        case uniform(Float, Float)
        /// Class indices in `0..<classes`, in the placeholder's element type (`i32` ids or
        /// `f32` labels).
        case labels(Int)
        /// Every element 1.
        case ones
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

    /// A sample of `graph` computing `outputs`, fed as `feeds` says.
    public init(name: String, summary: String, graph: Graph, outputs: [String: Node], feeds: [(name: String, kind: Feed)]) {
        self.name = name
        self.summary = summary
        self.graph = graph
        self.outputs = outputs
        self.feeds = feeds
    }

    /// Seeded feeds for `batch` samples.
    ///
    /// - Throws: ``KilnError`` if a placeholder is missing (a bug in the sample) or a feed
    ///   would exceed ``Tensor/byteLimit``.
    public func makeFeeds(batch: Int, using generator: inout SeededGenerator) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, kind) in feeds {
            guard let node = graph.placeholder(named: name) else {
                throw KilnError(.unknownName, "sample \(self.name) has no placeholder \(String(reflecting: name))")
            }
            let shape = node.type.shape.resolved(batch: batch)
            let count = try Tensor.checkedCount(shape, dtype: node.type.dtype, what: "feed \(name)")
            switch kind {
            case .uniform(let lower, let upper):
                result[name] = try Tensor.randomUniform(shape: shape, lower: lower, upper: upper, using: &generator)
            case .labels(let classes):
                let labels = (0..<count).map { _ in generator.nextIndex(below: classes) }
                result[name] = node.type.dtype == .int32
                    ? try Tensor(shape: shape, scalars: labels.map(Int32.init)) : try Tensor(shape: shape, scalars: labels.map(Float.init))
            case .ones:
                result[name] = try Tensor(shape: shape, repeating: Float(1))
            }
        }
        return result
    }
}

extension SampleGraph {
    /// The program `step` of `model`, with seeded inputs of its shapes: `f32` inputs uniform
    /// in `[-1, 1)`, `i32` inputs ids below the smallest ``Embedding`` input dimension (2
    /// without one), targets class indices for a sparse loss and uniform in `[0, 1)`
    /// otherwise, and unit sample weights.
    ///
    /// - Throws: ``KilnError`` if the model has no such step (see ``Model/graph(for:)``).
    public init(model: Model, step: ModelStep, name: String) throws {
        let (graph, outputs) = try model.graph(for: step)
        let vocabulary = model.layers.compactMap { ($0 as? Embedding)?.inputDim }.min() ?? 2
        let targets = step == .predict ? [] : try model.targetFeeds()
        var feeds: [(name: String, kind: Feed)] = []
        for node in graph.nodes {
            guard case .placeholder(let feed, let type) = node.op else { continue }
            if targets.contains(where: { $0.sampleWeight == feed }) {
                feeds.append((feed, .ones))
            } else if let target = targets.first(where: { $0.target == feed }) {
                feeds.append((feed, target.classes.map { .labels($0) } ?? .uniform(0, 1)))
            } else {
                feeds.append((feed, type.dtype == .int32 ? .labels(vocabulary) : .uniform(-1, 1)))
            }
        }
        let layers = model.layers.map { type(of: $0).typeName }.joined(separator: ", ")
        self.init(name: name, summary: "\(model.typeName) model \(String(reflecting: model.name)), \(model.layers.count) "
                      + "layers (\(layers)), \(step) step",
                  graph: graph, outputs: outputs, feeds: feeds)
    }
}
