import Foundation
import Kiln
@_exported import KilnTestSupport
import Testing

func smallClassifier(classes: Int = 3, backend: Backend = .jit) -> Sequential {
    let model = Sequential([Input(shape: [4], name: "features"), Dense(8, activation: .relu, name: "hidden"),
                            Dense(classes, activation: .softmax, name: "scores")])
    model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy], backend: backend)
    return model
}

@Suite("Bad input gets a clear error")
struct BadInputTests {
    let x = try! Tensor(shape: [6, 4], scalars: (0..<24).map { Float($0) / 24 })
    let labels = try! Tensor(shape: [6], scalars: [Float(0), 1, 2, 0, 1, 2])

    @Test func wrongInputWidth() throws {
        expectError("features", "(None, 4)", "[6, 5]") {
            try smallClassifier().fit(Tensor(shape: [6, 5], repeating: Float(0)), labels, verbose: 0)
        }
        expectError("features", "[2, 3]") { _ = try smallClassifier().predict(Tensor(shape: [2, 3], repeating: Float(0))) }
    }

    @Test("labels out of range are caught before any kernel runs", arguments: Backend.allCases)
    func labelsOutOfRange(_ backend: Backend) throws {
        let model = smallClassifier(backend: backend)
        let before = model.getWeights()
        expectError("row 4", "7.0", "0..<3") {
            try model.fit(x, Tensor(shape: [6], scalars: [Float(0), 1, 2, 0, 7, 2]), verbose: 0)
        }
        expectError("row 1", "-1.0") { try model.trainOnBatch(x, Tensor(shape: [6], scalars: [Float(0), -1, 2, 0, 1, 2])) }
        expectError("row 2", "1.5") { try model.fit(x, Tensor(shape: [6], scalars: [Float(0), 1, 1.5, 0, 1, 2]), verbose: 0) }
        #expect(model.getWeights().map(\.scalars) == before.map(\.scalars))
    }

    @Test func nanAndInfinity() throws {
        var values = x.scalars
        values[9] = .nan
        expectError("x", "nan", "row 2", "column 1", "checksFiniteInputs") {
            try smallClassifier().fit(Tensor(shape: [6, 4], scalars: values), labels, verbose: 0)
        }
        values[9] = .infinity
        expectError("row 2", "column 1") { _ = try smallClassifier().predict(Tensor(shape: [6, 4], scalars: values)) }
        values[9] = 1
        values[23] = -.infinity
        expectError("row 5", "column 3") { _ = try smallClassifier().predict(Tensor(shape: [6, 4], scalars: values)) }
        values[23] = .greatestFiniteMagnitude
        values[0] = -.leastNonzeroMagnitude
        _ = try smallClassifier().predict(Tensor(shape: [6, 4], scalars: values))
        values[9] = .infinity
        let model = smallClassifier()
        model.checksFiniteInputs = false
        let p = try model.predict(Tensor(shape: [6, 4], scalars: values))
        #expect(p.scalars[8..<12].contains { !$0.isFinite })
    }

    @Test func mismatchedLengthsAndEmptyData() throws {
        expectError("6 samples", "y has 5") { try smallClassifier().fit(x, Tensor(shape: [5], repeating: Float(0)), verbose: 0) }
        expectError("empty") { try smallClassifier().fit(Tensor(shape: [0, 4], repeating: Float(0)), Tensor(shape: [0], repeating: Float(0)), verbose: 0) }
    }

    @Test func fitBeforeCompile() throws {
        let model = Sequential([Input(shape: [4]), Dense(2)])
        expectError("compile") { try model.fit(x, labels, verbose: 0) }
        expectError("compile") { _ = try model.evaluate(x, labels, verbose: 0) }
    }

    @Test func shapeErrorsNameTheLayer() throws {
        let inp = Input(shape: [4])
        let a = Dense(3, name: "left")(inp)
        let b = Dense(5, name: "right")(inp)
        let model = Model(inputs: inp, outputs: Add(name: "join")([a, b]))
        expectError("join", "(None, 3), (None, 5)") { _ = try model.predict(x) }
        #expect(model.summaryText().contains("not built"))
    }

    @Test func loadingIntoAModelOfAnotherShape() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try smallClassifier().saveWeights(to: path)
        let other = Sequential([Input(shape: [4]), Dense(9, name: "hidden"), Dense(3, name: "scores")])
        expectError("hidden/kernel", "[4, 8]", "[4, 9]") { try other.loadWeights(from: path) }
        let renamed = Sequential([Input(shape: [4]), Dense(8, name: "h2"), Dense(3, name: "scores")])
        expectError("no tensor", "h2/kernel") { try renamed.loadWeights(from: path, byName: true) }
        expectError("has 2 weights", "got 1") { try other.layers[0].setWeights([Tensor(shape: [4, 9], repeating: Float(0))]) }
    }
}

@Suite("Saving and loading")
struct SaveLoadTests {
    func temporary(_ suffix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID())\(suffix)").path
    }

    @Test func corruptedAndTruncatedFilesAreReportedAndTheOldFileSurvives() throws {
        let path = temporary(".kiln")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = smallClassifier()
        try model.save(to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))

        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: path))
        expectError(path) { _ = try Model.load(from: path) }
        var flipped = good
        for index in stride(from: 40, to: good.count - 40, by: 97) { flipped[index] ^= 0xFF }
        try flipped.write(to: URL(fileURLWithPath: path))
        expectError(path) { _ = try Model.load(from: path) }
        try Data("not a zip".utf8).write(to: URL(fileURLWithPath: path))
        expectError("not a .kiln or .keras file") { _ = try Model.load(from: path) }
        expectError("no such file") { _ = try Model.load(from: path + ".missing") }

        // A save that cannot complete leaves the existing file as it was.
        try good.write(to: URL(fileURLWithPath: path))
        let directory = temporary("-dir")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: directory)
        if getuid() != 0 { expectError("cannot") { try model.save(to: directory + "/m.kiln") } }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == good)
        #expect(try Model.load(from: path).layers.map(\.name) == ["hidden", "scores"])
    }

    @Test func safetensorsHeaderErrorsNameTheTensor() throws {
        let path = temporary(".safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let header = #"{"hidden/kernel":{"dtype":"F32","shape":[4,8],"data_offsets":[0,64]}}"#
        try Handmade.safetensors(header: header, body: Data(count: 64)).write(to: URL(fileURLWithPath: path))
        expectError("hidden/kernel", "needs 128 bytes") { try smallClassifier().loadWeights(from: path) }
    }

    @Test func optimizerStateAndCompileSettingsRoundTrip() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        Kiln.setRandomSeed(5)
        let model = smallClassifier()
        model.compile(optimizer: Adam(learningRate: 0.02), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
        let x = try Tensor(shape: [6, 4], scalars: (0..<24).map { Float($0 % 5) / 5 })
        let y = try Tensor(shape: [6], scalars: [Float(0), 1, 2, 0, 1, 2])
        try model.fit(x, y, batchSize: 3, epochs: 2, shuffle: false, verbose: 0)
        let path = temporary(".kiln")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let again = try Model.load(from: path)
        #expect(again.optimizer?.iterations == 4)
        #expect(again.optimizer?.learningRate == 0.02)
        // The next step continues Adam from the saved moments: both models agree.
        let a = try model.trainOnBatch(x, y)["loss"]!, b = try again.trainOnBatch(x, y)["loss"]!
        #expect(Swift.abs(a - b) <= 1e-6)
        for (u, v) in zip(model.getWeights(), again.getWeights()) {
            #expect(zip(u.scalars, v.scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-6 })
        }
    }
}
