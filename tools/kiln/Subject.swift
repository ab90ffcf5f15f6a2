import ArgumentParser
import Foundation
import Kiln
import KilnSamples

extension ModelStep: ExpressibleByArgument {}

/// The argument every command takes: a model file (and which of its programs) or a sample.
struct SubjectArgument: ParsableArguments {
    @Argument(help: "A model file (.kiln, or Keras 3's .keras) or a built-in sample graph (see `kiln samples`).")
    var subject: String

    @Option(help: "For a model file: the program to use, predict, train or evaluate.")
    var step: ModelStep = .predict

    /// Whether the argument names a model file rather than a sample.
    var isFile: Bool { subject.hasSuffix(".kiln") || subject.hasSuffix(".keras") || FileManager.default.fileExists(atPath: subject) }

    /// The model in the file.
    ///
    /// - Throws: ``KilnError`` naming the file if it is missing, damaged or not a `.kiln` or `.keras` file.
    func loadModel() throws -> Model { try Model.load(from: subject) }

    /// The sample, or the model's program `step` with seeded inputs of its shapes.
    ///
    /// - Throws: ``KilnError`` if the file cannot be loaded, the model has no such step, or
    ///   there is neither a file nor a sample of that name.
    func load() throws -> SampleGraph {
        if isFile { return try SampleGraph(model: try loadModel(), step: step, name: subject) }
        guard SampleGraphs.names.contains(subject) else {
            throw KilnError(.unknownName, "\(subject): no such file, and no sample graph of that name; the samples are "
                            + SampleGraphs.names.joined(separator: ", "))
        }
        return try SampleGraphs.sample(named: subject)
    }
}
