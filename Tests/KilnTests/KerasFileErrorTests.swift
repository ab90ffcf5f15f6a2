import Foundation
import Kiln
import KilnTestSupport
import Testing

/// Keras files that Kiln cannot or must not load: each a clear error naming the file and
/// what is wrong.
@Suite("Bad .keras files", .serialized)
struct KerasFileErrorTests {
    /// The entries of fixture `name`, with `change` applied to its parsed config.json.
    func edited(_ name: String, metadata: String? = nil, dropping: String? = nil, weights: Data? = nil,
                _ change: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let path = KerasFiles.url("\(name).keras").path
        let archive = try ZipReader(try Data(contentsOf: URL(fileURLWithPath: path)), file: path)
        var config = try #require(try JSONSerialization.jsonObject(with: try archive.contents("config.json")) as? [String: Any])
        change(&config)
        var entries: [(String, Data, Bool)] = []
        for entry in archive.names where entry != dropping {
            switch entry {
            case "config.json": entries.append((entry, try JSONSerialization.data(withJSONObject: config), true))
            case "metadata.json" where metadata != nil: entries.append((entry, Data(metadata!.utf8), true))
            case "model.weights.h5" where weights != nil: entries.append((entry, weights!, false))
            default: entries.append((entry, try archive.contents(entry), false))
            }
        }
        let url = KerasFiles.temporary(".keras")
        try Model.zipArchive(entries, path: url.path).write(to: url)
        return url
    }

    /// Changes field `key` of the config of layer `index` of a Sequential model.
    func setLayerField(_ config: inout [String: Any], layer index: Int, _ key: String, _ value: Any) {
        var model = config["config"] as! [String: Any]
        var layers = model["layers"] as! [[String: Any]]
        if key == "class_name" || key == "registered_name" {
            layers[index][key] = value
        } else {
            var fields = layers[index]["config"] as! [String: Any]
            fields[key] = value
            layers[index]["config"] = fields
        }
        model["layers"] = layers
        config["config"] = model
    }

    func expectLoadError(_ url: URL, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try Model.load(keras: url)
            Issue.record("expected an error mentioning \(fragments)", sourceLocation: sourceLocation)
        } catch let error as KilnError {
            for fragment in fragments + [url.path] where !error.message.contains(fragment) {
                Issue.record("\(error.message) does not mention \(fragment)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    // Layers 1-4 of dense_stack: Dense, BatchNormalization, Dropout, Dense.

    @Test("a Lambda layer, a custom object and an unknown argument value name the layer and the field")
    func unsupportedLayers() throws {
        expectLoadError(try edited("dense_stack") { setLayerField(&$0, layer: 3, "class_name", "Lambda") },
                        "Lambda", "Python code", "dropout")
        expectLoadError(try edited("dense_stack") {
            setLayerField(&$0, layer: 3, "class_name", "Scaler")
            setLayerField(&$0, layer: 3, "registered_name", "my_package>Scaler")
        }, "custom object", "my_package>Scaler", "Scaler.register")
        expectLoadError(try edited("dense_stack") { setLayerField(&$0, layer: 1, "lora_rank", 4) }, "dense", "lora_rank", "4")
        expectLoadError(try edited("conv") { setLayerField(&$0, layer: 1, "data_format", "channels_first") },
                        "conv2d", "data_format", "channels_first")
        expectLoadError(try edited("dense_stack") {
            setLayerField(&$0, layer: 1, "kernel_initializer", ["class_name": "TruncatedNormal", "config": [:]])
        }, "kernel_initializer", "TruncatedNormal")
    }

    @Test("compile settings Kiln does not have leave the loaded model uncompiled")
    func unsupportedCompileSettings() throws {
        let url = try edited("digits") { config in
            var compile = config["compile_config"] as! [String: Any]
            var optimizer = compile["optimizer"] as! [String: Any]
            var fields = optimizer["config"] as! [String: Any]
            fields["amsgrad"] = true
            optimizer["config"] = fields
            compile["optimizer"] = optimizer
            config["compile_config"] = compile
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let model = try Model.load(keras: url)
        #expect(model.optimizer == nil)
        #expect(try model.predict(try KerasFiles.inputs("digits", for: model)).shape == [5, 10])
    }

    @Test("bfloat16 layers are an error naming the layer and its dtype")
    func bfloat16() throws {
        expectLoadError(try edited("dense_stack") {
            setLayerField(&$0, layer: 1, "dtype", ["module": "keras", "class_name": "DTypePolicy", "config": ["name": "bfloat16"]])
        }, "layer \"dense\"", "dtype", "bfloat16")
    }

    @Test("weights whose count or shape does not match the layer name the layer, weight and dataset")
    func mismatchedWeights() throws {
        expectLoadError(try edited("dense_stack") { setLayerField(&$0, layer: 2, "center", false) },
                        "batch_normalization", "has 3 weights", "the file has 4", "layers/batch_normalization/vars")
        expectLoadError(try edited("dense_stack") { setLayerField(&$0, layer: 1, "units", 17) },
                        "dense", "kernel", "[8, 17]", "layers/dense/vars/0", "[8, 16]")
    }

    @Test("optimizer state of the wrong shape names the file and the variable; of another optimizer, it is left out")
    func badOptimizerState() throws {
        let path = KerasFiles.url("digits.keras").path
        let archive = try ZipReader(try Data(contentsOf: URL(fileURLWithPath: path)), file: path)
        let original = try HDF5Reader(try archive.contents("model.weights.h5"), file: "digits")
        func rewritten(_ change: (String, inout [Int], inout [Float]) -> Void) throws -> Data {
            var writer = HDF5Writer()
            for group in ["layers/dense/vars", "layers/dense_1/vars", "optimizer/vars"] {
                for member in try #require(try original.members(group)) {
                    let dataset = try #require(try original.dataset("\(group)/\(member)"))
                    var shape = dataset.shape, values = dataset.values
                    change("\(group)/\(member)", &shape, &values)
                    try writer.add("\(group)/\(member)", shape: shape, values: values, integers: dataset.storedType == "int64")
                }
            }
            return writer.encoded()
        }
        expectLoadError(try edited("digits", weights: try rewritten { path, shape, values in
            if path == "optimizer/vars/2" { shape = [values.count]; }
        }), "optimizer state", "kernel/m", "has shape [4096]", "optimizer/vars/2")
        expectLoadError(try edited("digits", weights: try rewritten { path, _, values in
            if path == "optimizer/vars/0" { values = [-3] }
        }), "optimizer state", "iterations", "-3.0")
        // SGD keeps no slots: the file's Adam state does not fit, and the optimizer starts afresh.
        let sgd = try edited("digits") { config in
            var compile = config["compile_config"] as! [String: Any]
            compile["optimizer"] = "sgd"
            config["compile_config"] = compile
        }
        defer { try? FileManager.default.removeItem(at: sgd) }
        let model = try Model.load(keras: sgd)
        #expect(model.optimizer is SGD && model.optimizer?.iterations == 0)
    }

    @Test("a file from another Keras format version says which version it found")
    func newerVersion() throws {
        expectLoadError(try edited("digits", metadata: #"{"keras_version": "4.1.0"}"#), "Keras 4.1.0", "Keras 3")
    }

    @Test("truncated, incomplete and garbage files are clear errors")
    func brokenArchives() throws {
        let good = try Data(contentsOf: KerasFiles.url("digits.keras"))
        let truncated = KerasFiles.temporary(".keras")
        try good.prefix(good.count / 2).write(to: truncated)
        expectLoadError(truncated, "zip archive is damaged")
        expectLoadError(try edited("digits", dropping: "model.weights.h5"), "no model.weights.h5")
        expectLoadError(try edited("digits", dropping: "config.json"), "config.json")
        let garbage = KerasFiles.temporary(".keras")
        try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: garbage)
        expectLoadError(garbage, "not a .keras file")
        let weightsOnly = KerasFiles.url("digits.weights.h5").path
        expectError(weightsOnly, "HDF5 file", "loadWeights(from:)") { _ = try Model.load(from: weightsOnly) }
    }

    @Test("damaged copies of each fixture load as the intact one or are an error naming the file", arguments: ["digits", "recurrent", "two_inputs"])
    func seededCorruption(_ name: String) throws {
        let good = try Data(contentsOf: KerasFiles.url("\(name).keras"))
        let intact = try Model.load(keras: KerasFiles.url("\(name).keras"))
        let inputs = try KerasFiles.inputs(name, for: intact)
        let expected = try intact.predict(inputs)
        let path = KerasFiles.temporary(".keras").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var loaded = 0, failed = 0
        for (what, copy) in damaged(good, seed: stableSeed(name), flips: 40, truncations: 20) {
            try copy.write(to: URL(fileURLWithPath: path))
            switch loadOrThrow("\(name) \(what)", path: path, { try Model.load(keras: URL(fileURLWithPath: path)) }) {
            case .loaded(let model)?:
                loaded += 1
                #expect(try model.predict(inputs) == expected, "\(name) \(what) loaded with different predictions")
            case .threw?: failed += 1
            case nil: break
            }
        }
        #expect(failed > 30, "\(failed) errors, \(loaded) loads")
    }

    @Test("a model Keras cannot hold is an error naming the layer when saved as .keras")
    func unsavable() throws {
        let url = KerasFiles.temporary(".keras")
        let text = TextVectorization(maxTokens: 10, outputSequenceLength: 4, vocabulary: ["a", "b"])
        let model = Sequential([Input(shape: [4]), text, Embedding(inputDim: 10, outputDim: 2)])
        expectError("TextVectorization", "assets", ".kiln") { try model.save(keras: url) }
        let leaky = Sequential([Input(shape: [3]), Dense(2, activation: .leakyRelu(negativeSlope: 0.1))])
        expectError("layer", "activation", "negative_slope") { try leaky.save(keras: url) }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }
}
