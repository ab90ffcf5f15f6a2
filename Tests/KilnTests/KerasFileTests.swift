import Foundation
import Kiln
import KilnTestSupport
import Testing

/// The .keras files of tools/make_keras_files.py: Keras 3's models and its predictions on
/// fixed inputs.
enum KerasFiles {
    struct Array: Decodable {
        let shape: [Int]
        let values: [Double]
    }

    struct Case: Decodable {
        let inputs: [Array]
        let output: Array
        /// For Digits: the optimizer's step count, and the weights after one more step.
        let iterations: Int?
        let after_step: [Array]?
    }

    struct Record: Decodable {
        let keras_version: String
        let models: [String: Case]
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/keras")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static let record: Record? = try? JSONDecoder().decode(Record.self, from: Data(contentsOf: url("keras_files.json")))

    static var names: [String] { (record?.models.keys).map { $0.sorted() } ?? [] }

    /// The inputs of case `name` as the model takes them (int32 where its input is).
    static func inputs(_ name: String, for model: Model) throws -> [Tensor] {
        guard let fixture = record?.models[name] else { throw KilnError(.file, "no fixture \(name)") }
        return try zip(fixture.inputs, model.inputs).map { array, input in
            input.dtype == .int32 ? try Tensor(shape: array.shape, scalars: array.values.map { Int32($0) })
                : try Tensor(shape: array.shape, scalars: array.values.map { Float($0) })
        }
    }

    static func expected(_ name: String) throws -> Tensor {
        guard let output = record?.models[name]?.output else { throw KilnError(.file, "no fixture \(name)") }
        return try Tensor(shape: output.shape, scalars: output.values.map { Float($0) })
    }

    static func temporary(_ suffix: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID())\(suffix)")
    }
}

@Suite("Keras 3 .keras files")
struct KerasFileTests {
    @Test("the fixtures were written by Keras 3")
    func fixturesExist() throws {
        let record = try #require(KerasFiles.record)
        #expect(record.keras_version.hasPrefix("3."))
        #expect(KerasFiles.names.count >= 12)
    }

    @Test("each Keras model loads and predicts what Keras predicted", arguments: KerasFiles.names)
    func predictionsMatchKeras(_ name: String) throws {
        let model = try Model.load(keras: KerasFiles.url("\(name).keras"))
        let predicted = try model.predict(try KerasFiles.inputs(name, for: model))
        expectClose(predicted, try KerasFiles.expected(name), rtol: 1e-5, atol: 1e-6, name)
    }

    @Test("Model.load(from:) recognises a .keras file")
    func loadFromRecognisesKeras() throws {
        let model = try Model.load(from: KerasFiles.url("two_inputs.keras").path)
        #expect(model.inputs.map(\.name) == ["a", "b"])
        #expect(model.layers.map(\.name).contains("joined"))
    }

    @Test("saved as .keras and loaded again, every model predicts exactly the same", arguments: KerasFiles.names)
    func roundTrip(_ name: String) throws {
        let model = try Model.load(keras: KerasFiles.url("\(name).keras"))
        let inputs = try KerasFiles.inputs(name, for: model)
        let before = try model.predict(inputs)
        let again = try reloaded(model)
        #expect(try again.predict(inputs) == before)
        #expect(again.getWeights() == model.getWeights())
        #expect(again.layers.map(\.name) == model.layers.map(\.name))
        try writeForKerasCheck(again, name: name, inputs: inputs, predicted: before)
    }

    /// `model` saved as a .keras file and loaded again.
    func reloaded(_ model: Model) throws -> Model {
        let url = KerasFiles.temporary(".keras")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.save(keras: url)
        return try Model.load(keras: url)
    }

    /// With KILN_KERAS_CHECK_DIR set, leaves NAME.keras (or, for weights only, NAME.h5 where
    /// NAME ends in `.weights`) and NAME.json (inputs and Kiln's predictions; with `step`, the
    /// optimizer's step count and Kiln's weights after one more step on that batch) there for
    /// `tools/make_keras_files.py --check`.
    func writeForKerasCheck(_ model: Model, name: String, inputs: [Tensor], predicted: Tensor, weightsOnly: Bool = false,
                            step: (x: Tensor, y: Tensor)? = nil) throws {
        guard let directory = ProcessInfo.processInfo.environment["KILN_KERAS_CHECK_DIR"] else { return }
        let base = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        if weightsOnly {
            try model.saveWeights(to: base.appendingPathComponent("\(name).h5").path)
        } else {
            try model.save(keras: base.appendingPathComponent("\(name).keras"))
        }
        func array(_ tensor: Tensor) -> [String: Any] {
            let values: [Double] = tensor.dtype == .int32 ? tensor.int32Scalars.map(Double.init) : tensor.scalars.map(Double.init)
            return ["shape": tensor.shape, "values": values]
        }
        var json: [String: Any] = ["inputs": inputs.map(array), "output": array(predicted)]
        if let step, let optimizer = model.optimizer {
            // Keras continues from the saved state: one train_on_batch must give Kiln's weights.
            json["iterations"] = optimizer.iterations
            json["step"] = ["x": array(step.x), "y": array(step.y)]
            let copy = try reloaded(model)
            try copy.trainOnBatch(step.x, step.y)
            json["after_step"] = copy.getWeights().map(array)
        }
        try JSONSerialization.data(withJSONObject: json).write(to: base.appendingPathComponent("\(name).json"))
    }

    @Test("the Digits network from Keras predicts as Keras, trains one more epoch, and exports to C")
    func digitsFromKeras() throws {
        let model = try Model.load(keras: KerasFiles.url("digits.keras"))
        let x = try KerasFiles.inputs("digits", for: model)[0]
        expectClose(try model.predict(x), try KerasFiles.expected("digits"), rtol: 1e-5, atol: 1e-6, "digits")
        let table = try CSVTable(contentsOf: KerasFiles.directory.appendingPathComponent("../../../../Examples/Data/digits.csv.gz")
                                    .standardized.path)
        let pixels = try table.tensor(columns: 0..<64)
        let images = try Tensor(shape: pixels.shape, scalars: pixels.scalars.map { $0 / 16 })
        let labels = try table.column(64)
        model.compile(optimizer: Adam(learningRate: 1e-3), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
        let before = try model.evaluate(images, labels, verbose: 0)
        let history = try model.fit(images, labels, batchSize: 32, epochs: 1, verbose: 0)
        #expect(history.history["loss"]?.count == 1)
        let after = try model.evaluate(images, labels, verbose: 0)
        #expect(after["loss"]! < before["loss"]!)
        #expect(after["accuracy"]! > 0.9)
        let directory = KerasFiles.temporary("-c")
        defer { try? FileManager.default.removeItem(at: directory) }
        try model.exportC(to: directory.path, name: "digits")
        let header = try String(contentsOf: directory.appendingPathComponent("digits.h"), encoding: .utf8)
        #expect(header.contains("digits_predict"))
    }

    @Test("Keras' save_weights file loads into the same architecture built in Kiln, and Kiln writes one Keras loads")
    func weightsFiles() throws {
        let model = Sequential([Input(shape: [64]), Dense(64, activation: .relu), Dense(10, activation: .softmax)])
        try model.loadWeights(from: KerasFiles.url("digits.weights.h5").path)
        let x = try KerasFiles.inputs("digits", for: model)[0]
        let expected = try KerasFiles.expected("digits")
        expectClose(try model.predict(x), expected, rtol: 1e-5, atol: 1e-6, "digits.weights.h5")
        // The weights of a .keras file load the same way, as Keras' load_weights reads them.
        let other = Sequential([Input(shape: [64]), Dense(64, activation: .relu), Dense(10, activation: .softmax)])
        try other.loadWeights(from: KerasFiles.url("digits.keras").path)
        #expect(other.getWeights() == model.getWeights())
        // Changed weights, saved as Keras does and read back.
        try model.setWeights(model.getWeights().map { w in try Tensor(shape: w.shape, scalars: w.scalars.map { $0 * 0.9 }) })
        let url = KerasFiles.temporary(".weights.h5")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.saveWeights(to: url.path)
        try other.loadWeights(from: url.path)
        #expect(other.getWeights() == model.getWeights())
        try writeForKerasCheck(other, name: "digits.weights", inputs: [x], predicted: try other.predict(x), weightsOnly: true)
        // A different architecture is an error naming the layer.
        let wider = Sequential([Input(shape: [64]), Dense(32, activation: .relu), Dense(10, activation: .softmax)])
        expectError(url.path, "kernel", "[64, 32]", "[64, 64]") { try wider.loadWeights(from: url.path) }
    }

    @Test("Keras' optimizer state loads: one more Adam step gives Keras' weights")
    func optimizerStateFromKeras() throws {
        let fixture = try #require(KerasFiles.record?.models["digits"])
        let model = try Model.load(keras: KerasFiles.url("digits.keras"))
        #expect(model.optimizer?.iterations == fixture.iterations)
        let table = try CSVTable(contentsOf: KerasFiles.directory.appendingPathComponent("../../../../Examples/Data/digits.csv.gz")
                                    .standardized.path)
        let pixels = try table.tensor(columns: 0..<64)
        let x = try Tensor(shape: [32, 64], scalars: pixels.scalars.prefix(32 * 64).map { $0 / 16 })
        let y = try Tensor(shape: [32], scalars: Swift.Array(try table.column(64).scalars.prefix(32)))
        try model.trainOnBatch(x, y)
        let expected = try #require(fixture.after_step)
        for (weight, keras) in zip(model.getWeights(), expected) {
            expectClose(weight, try Tensor(shape: keras.shape, scalars: keras.values.map { Float($0) }), rtol: 1e-5, atol: 1e-6,
                        "after one step")
        }
        // Saved as .keras and loaded again, the state is the same: the next step agrees exactly.
        let again = try reloaded(model)
        #expect(again.optimizer?.iterations == model.optimizer?.iterations)
        try model.trainOnBatch(x, y)
        try again.trainOnBatch(x, y)
        #expect(again.getWeights() == model.getWeights())
        try writeForKerasCheck(again, name: "kiln_adam_state", inputs: [x], predicted: try again.predict(x), step: (x, y))
    }

    @Test("Keras' compile settings come with the model when Kiln has them")
    func compileSettings() throws {
        let model = try Model.load(keras: KerasFiles.url("two_inputs.keras"))
        let optimizer = try #require(model.optimizer as? Adam)
        #expect(abs(optimizer.learningRate - 0.01) < 1e-7)
        let inputs = try KerasFiles.inputs("two_inputs", for: model)
        let labels = try Tensor(shape: [5], scalars: [Float(0), 1, 1, 0, 1])
        let logs = try model.trainOnBatch(inputs, labels)
        #expect(logs["loss"].map { $0.isFinite && $0 > 0 } == true)
    }

    @Test("Kiln's compile settings go into the .keras file when Keras has them")
    func compileSettingsSaved() throws {
        let model = Sequential([Input(shape: [4]), Dense(3, activation: .softmax)], name: "compiled")
        model.compile(optimizer: SGD(learningRate: 0.05, momentum: 0.5), loss: .sparseCategoricalCrossentropy,
                      metrics: [.accuracy])
        let x = try Tensor(shape: [4, 4], scalars: (0..<16).map { Float($0) / 8 - 1 })
        let y = try Tensor(shape: [4], scalars: [Float(0), 1, 2, 1])
        let again = try reloaded(model)
        let optimizer = try #require(again.optimizer as? SGD)
        #expect(abs(optimizer.learningRate - 0.05) < 1e-7 && optimizer.momentum == 0.5)
        #expect(try again.evaluate(x, y, verbose: 0).keys.sorted() == ["accuracy", "loss"])
        try writeForKerasCheck(again, name: "kiln_compiled", inputs: [x], predicted: try again.predict(x))
        // A custom loss is not Keras': the file then has no compile settings, and loads uncompiled.
        model.compile(optimizer: Adam(), loss: .custom(name: "squares") { yTrue, yPred in try mean(square(yPred - yTrue)) })
        #expect(try reloaded(model).optimizer == nil)
    }

    @Test("models built in Kiln save as .keras and load back the same")
    func kilnModelsRoundTrip() throws {
        Kiln.setRandomSeed(3)
        let tokens = Input(shape: [7], dtype: .int32, name: "tokens")
        let embedded = Embedding(inputDim: 30, outputDim: 4, maskZero: true)(tokens)
        let states = LSTM(5, returnState: true).callAll(embedded)
        let joined = Concatenate()([states[0], states[2]])
        let image = Input(shape: [6, 6, 2], name: "image")
        var y = Conv2D(3, kernelSize: [3, 3], padding: .same, activation: .relu)(Rescaling(scale: [0.5, 2], offset: [0, 1])(image))
        y = GlobalMaxPooling2D()(MaxPooling2D(poolSize: [2, 2])(y))
        let merged = Dense(2, activation: .softmax, name: "label")(Concatenate()([joined, y, Dense(3)(y)]))
        let model = Model(inputs: [tokens, image], outputs: merged, name: "mixed")
        var generator = SeededGenerator(seed: 5)
        let inputs = [try Tensor(shape: [3, 7], scalars: (0..<21).map { _ in Int32(generator.nextIndex(below: 30)) }),
                      try Tensor(shape: [3, 6, 6, 2], scalars: (0..<216).map { _ in Float(generator.nextIndex(below: 100)) / 50 - 1 })]
        let before = try model.predict(inputs)
        let again = try reloaded(model)
        #expect(try again.predict(inputs) == before)
        try writeForKerasCheck(again, name: "kiln_mixed", inputs: inputs, predicted: before)
    }
}
