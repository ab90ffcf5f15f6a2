import ArgumentParser
import Foundation
import Kiln
import KilnSamples

/// What a command works on: a built-in sample graph, or one step of a model saved in a
/// `.kiln` file, with seeded inputs of the right shapes.
struct Subject {
    /// The sample's name or the model file's path.
    let name: String
    /// What it computes.
    let summary: String
    /// The graph.
    let graph: Graph
    /// The named results (none for a model's training and evaluation steps, whose effects
    /// are all assigns).
    let outputs: [String: Node]
    /// The model, for a model file.
    let model: Model?
    /// Seeded feeds for a batch of the given size.
    let makeFeeds: (Int, inout SeededGenerator) throws -> [String: Tensor]

    /// A built-in sample.
    init(sample: SampleGraph) {
        name = sample.name
        summary = sample.summary
        graph = sample.graph
        outputs = sample.outputs
        model = nil
        makeFeeds = { batch, generator in try sample.makeFeeds(batch: batch, using: &generator) }
    }

    /// The program `step` of `model`, loaded from `path`.
    init(model: Model, path: String, step: ModelStep) throws {
        (graph, outputs) = try model.graph(for: step)
        name = path
        let layers = model.layers.map { type(of: $0).typeName }
        summary = "\(model.typeName) model \(String(reflecting: model.name)), \(model.layers.count) layers "
            + "(\(layers.joined(separator: ", "))), \(step) step"
        self.model = model
        let vocabulary = model.layers.compactMap { ($0 as? Embedding)?.inputDim }.min() ?? 2
        let classes = model.output?.shape.last ?? 1
        let sparse = model.loss?.sparseTargets ?? false
        let graph = self.graph
        makeFeeds = { batch, generator in
            var feeds: [String: Tensor] = [:]
            for input in graph.nodes.compactMap({ node -> (String, TensorType)? in
                if case .placeholder(let name, let type) = node.op { return (name, type) }
                return nil
            }) {
                let (name, type) = input
                let shape = type.shape.resolved(batch: batch)
                let count = try Tensor.checkedCount(shape, dtype: type.dtype, what: "feed \(name)")
                switch (name, type.dtype) {
                case ("sample_weight", _):
                    feeds[name] = try Tensor(shape: shape, repeating: Float(1))
                case ("target", _) where sparse:
                    feeds[name] = try Tensor(shape: shape, scalars: (0..<count).map { _ in Float(generator.nextIndex(below: classes)) })
                case ("target", _):
                    feeds[name] = try Tensor.randomUniform(shape: shape, lower: 0, upper: 1, using: &generator)
                case (_, .int32):
                    feeds[name] = try Tensor(shape: shape, scalars: (0..<count).map { _ in Int32(generator.nextIndex(below: vocabulary)) })
                case (_, .float32), (_, .bool):
                    feeds[name] = try Tensor.randomUniform(shape: shape, lower: -1, upper: 1, using: &generator)
                }
            }
            return feeds
        }
    }
}

extension ModelStep: ExpressibleByArgument {}

/// The subject argument every command takes, and which program of a model.
struct SubjectArgument: ParsableArguments {
    @Argument(help: "A model file (.kiln) or a built-in sample graph (see `kiln samples`).")
    var subject: String

    @Option(help: "For a model file: the program to use, predict, train or evaluate.")
    var step: ModelStep = .predict

    /// Whether the argument names a model file rather than a sample.
    var isFile: Bool { subject.hasSuffix(".kiln") || FileManager.default.fileExists(atPath: subject) }

    /// The model in the file.
    ///
    /// - Throws: ``KilnError`` naming the file if it is missing, damaged or not a `.kiln` file.
    func loadModel() throws -> Model { try Model.load(from: subject) }

    /// The sample or the model's program.
    ///
    /// - Throws: ``KilnError`` if the file cannot be loaded, the model has no such step, or
    ///   there is neither a file nor a sample of that name.
    func load() throws -> Subject {
        if isFile { return try Subject(model: try loadModel(), path: subject, step: step) }
        guard SampleGraphs.names.contains(subject) else {
            throw KilnError(.unknownName, "\(subject): no such file, and no sample graph of that name; the samples are "
                            + SampleGraphs.names.joined(separator: ", "))
        }
        return Subject(sample: try SampleGraphs.sample(named: subject))
    }
}
