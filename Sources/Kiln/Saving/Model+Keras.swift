import Foundation
import KilnGraph
import ZIPFoundation

extension Model {
    static let kerasMetadataEntry = "metadata.json", kerasWeightsEntry = "model.weights.h5"

    /// The Keras version whose `.keras` format ``save(keras:)`` writes.
    static let kerasFormatVersion = "3.15.1"

    /// A model saved by Keras 3 (`model.save("model.keras")`): a zip of `metadata.json`,
    /// `config.json` (the architecture) and `model.weights.h5` (the weights, HDF5).
    ///
    /// Sequential and functional models load, with nested models, for every layer Kiln has
    /// (Dense, Conv, pooling, normalization, Embedding, recurrent, Bidirectional,
    /// TimeDistributed, ...), with Keras' weights. The model is compiled with the file's
    /// compile settings when Kiln has them all (one loss, metrics by name, SGD, Adam, AdamW,
    /// RMSprop or Adagrad with a fixed learning rate), with the optimizer's state from the file
    /// when it is there for that optimizer; otherwise it is not compiled: call
    /// ``compile(optimizer:loss:metrics:backend:)`` to train it on.
    ///
    /// ```swift
    /// let model = try Model.load(keras: URL(fileURLWithPath: "digits.keras"))
    /// let probabilities = try model.predict(images)
    /// ```
    ///
    /// - Throws: ``KilnError`` naming the file and what is wrong: not a zip, an entry missing,
    ///   a format version other than Keras 3's, a layer or argument Kiln does not have (a
    ///   Lambda layer, a custom object, bfloat16 weights), or a weight whose count or shape
    ///   does not match the layer.
    public static func load(keras url: URL) throws -> Model {
        try load(keras: try modelArchive(try readFile(url.path), file: url.path, kind: ".keras"), file: url.path)
    }

    /// Whether the archive is a `.keras` file rather than a `.kiln` one.
    static func isKerasArchive(_ archive: ZipReader) -> Bool {
        !archive.names.contains(weightsEntry)
            && (archive.names.contains(kerasWeightsEntry) || archive.names.contains(kerasMetadataEntry))
    }

    static func load(keras archive: ZipReader, file: String) throws -> Model {
        if archive.names.contains(kerasMetadataEntry) {
            let metadata = try? JSONDecoder().decode(JSONValue.self, from: try archive.contents(kerasMetadataEntry))
            let version = metadata?.object?["keras_version"]?.string
            guard let version else { throw KilnError(.file, "\(file): \(kerasMetadataEntry) does not give a keras_version") }
            guard version.split(separator: ".").first == "3" else {
                throw KilnError(.file, "\(file) was written by Keras \(version); Kiln reads the .keras format of Keras 3")
            }
        }
        let config = try jsonObject(configEntry, in: archive, file: file)
        let (model, order) = try KerasConfig.model(config, file: file)
        guard archive.names.contains(kerasWeightsEntry) else {
            let npz = archive.names.contains("model.weights.npz")
            throw KilnError(.file, "\(file): the archive has no \(kerasWeightsEntry)"
                            + (npz ? " (its weights are in model.weights.npz, which Kiln does not read)" : ""))
        }
        let weightsFile = "\(file) (\(kerasWeightsEntry))"
        let weights = try HDF5Reader(try archive.contents(kerasWeightsEntry), file: weightsFile)
        try model.assignKerasWeights(weights, order: order, file: weightsFile)
        KerasConfig.compile(model, with: config["compile_config"])
        try KerasOptimizerState.read(weights, into: model, order: order, file: weightsFile)
        return model
    }

    /// Saves the model as a Keras 3 `.keras` file that `keras.saving.load_model` loads and
    /// predicts with as Kiln does: `metadata.json`, `config.json` with Keras' layer
    /// configurations and `model.weights.h5` with the weights where Keras keeps them. The
    /// compile settings go with it when Keras has them all (one loss, metrics by name, a
    /// built-in optimizer with a fixed learning rate), so Keras loads the model compiled, with
    /// the optimizer's state once it has taken a step. The file is replaced atomically.
    ///
    /// - Throws: ``KilnError`` if the model is not built, or has a layer or argument Keras
    ///   cannot hold (a custom layer, a TextVectorization layer, a parametrized activation
    ///   argument), naming the layer and field, or if the file cannot be written.
    public func save(keras url: URL) throws {
        let config = try KerasConfig.entry(of: self)
        let weights = try kerasWeights(withOptimizer: true)
        let metadata: JSONValue = .object(["keras_version": .string(Self.kerasFormatVersion), "saved_by": .string("Kiln")])
        let entries: [(String, Data, Bool)]
        do {
            entries = [(Self.kerasMetadataEntry, try JSONEncoder.sorted.encode(metadata), true),
                       (Self.configEntry, try JSONEncoder.sorted.encode(JSONValue.object(config)), true),
                       (Self.kerasWeightsEntry, weights, false)]
        } catch {
            throw KilnError(.invalidArgument, "model \(String(reflecting: name)): its configuration cannot be encoded: \(error)")
        }
        try writeAtomically(try Self.zipArchive(entries, path: url.path), to: url.path)
    }

    /// A zip archive of `entries` (name, contents, and whether to deflate them), in memory.
    package static func zipArchive(_ entries: [(String, Data, Bool)], path: String) throws -> Data {
        do {
            let archive = try Archive(accessMode: .create)
            for (name, data, deflated) in entries {
                try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count),
                                     compressionMethod: deflated ? .deflate : .none) {
                    position, size in data.subdata(in: Int(position)..<(Int(position) + size))
                }
            }
            guard let data = archive.data else { throw KilnError(.file, "cannot build the archive for \(path)") }
            return data
        } catch let error as KilnError {
            throw error
        } catch {
            throw KilnError(.file, "cannot build the archive for \(path): \(error)")
        }
    }
}
