import Foundation
import Kiln
import KilnTestSupport
import Testing

/// `x · alpha + shift` per feature: a custom layer with a weight built from the input shape,
/// a call from graph ops, a training flag (the shift is only added in training) and a config.
final class FeatureScale: Layer {
    let initial: Float
    let shift: Float

    init(initial: Float = 1, shift: Float = 0, name: String? = nil) {
        self.initial = initial
        self.shift = shift
        super.init(name: name)
    }

    override var config: [String: JSONValue] { ["initial": .number(Double(initial)), "shift": .number(Double(shift))] }

    override func build(inputShapes: [[Int]]) throws {
        try addWeight("alpha", shape: [inputShapes[0].last ?? 1], initializer: .constant(initial))
    }

    override func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        let scaled = try inputs[0] * context.variable(variables[0])
        return context.training ? try scaled + context.graph.constant(shift) : scaled
    }
}

/// A custom layer nobody registers.
final class Unregistered: Layer {
    override func call(_ inputs: [Node], context: LayerContext) throws -> Node { inputs[0] }
}

@Suite("Custom layers that survive saving")
struct CustomLayerTests {
    @Test("a registered custom layer trains, saves and loads with its weights and configuration, on both backends")
    func registeredLayer() throws {
        FeatureScale.register { name, config in
            FeatureScale(initial: try config.float("initial"), shift: try config.float("shift"), name: name)
        }
        let x = try Tensor(shape: [4, 2], scalars: [1, 2, 3, 4, -1, 0, 2, 1]), y = try Tensor(shape: [4, 1], scalars: [1, 2, 0, 1])
        for backend in Backend.allCases {
            let scale = FeatureScale(initial: 0.5, shift: 0.25)
            let model = Sequential([Input(shape: [2]), scale, Dense(1)])
            try model.compile(optimizer: "adam", loss: "mse", backend: backend)
            #expect(scale.weights[0].scalars == [0.5, 0.5])
            try model.fit(x, y, epochs: 3, verbose: 0)
            #expect(scale.weights[0].scalars != [0.5, 0.5])
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-custom-\(UUID()).kiln").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            let again = try Model.load(from: path)
            let loaded = try #require(again.layers.first as? FeatureScale)
            #expect(loaded.shift == 0.25 && loaded.initial == 0.5 && loaded.name == scale.name)
            #expect(loaded.weights[0].scalars == scale.weights[0].scalars)
            #expect(zip(try again.predict(x).scalars, try model.predict(x).scalars).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
        }
    }

    @Test("a custom layer whose config holds a number JSON cannot write is an error naming the layer and field; the file stays")
    func unencodableConfig() throws {
        let model = Sequential([Input(shape: [2]), FeatureScale(initial: 1, shift: .nan, name: "nan_shift"), Dense(1)])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-nan-\(UUID()).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("previous".utf8).write(to: URL(fileURLWithPath: path))
        expectError("layer nan_shift (FeatureScale): its config cannot be saved: \"shift\" is nan") { try model.save(to: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "previous")
    }

    @Test("loading an unregistered custom layer is an error naming it and how to register it")
    func unregisteredLayer() throws {
        let model = Sequential([Input(shape: [2]), Unregistered(), Dense(1)])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-unregistered-\(UUID()).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        do {
            _ = try Model.load(from: path)
            Issue.record("an unregistered layer loaded")
        } catch let error as KilnError {
            #expect(error.message.contains("unknown layer type \"Unregistered\"") && error.message.contains("Unregistered.register"),
                    "\(error.message)")
        }
    }
}

@Suite("Custom losses that survive saving")
struct CustomLossTests {
    @Test("a registered loss is saved with the compile settings, loads compiled, and compile finds it by name")
    func registeredLoss() throws {
        let doubled = try Loss.register(name: "doubled_squared_error") { yTrue, yPred in try square(yPred - yTrue) * 2 }
        let x = try Tensor(shape: [4, 2], scalars: [1, 2, 3, 4, -1, 0, 2, 1]), y = try Tensor(shape: [4, 1], scalars: [1, 2, 0, 1])
        let model = Sequential([Input(shape: [2]), Dense(1)])
        model.compile(optimizer: SGD(learningRate: 0.01), loss: doubled)
        let loss = try #require(try model.evaluate(x, y, verbose: 0)["loss"])
        let mse = zip(try model.predict(x).scalars, y.scalars).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 4
        #expect(Swift.abs(loss - 2 * mse) < 1e-5)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-loss-\(UUID()).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let again = try Model.load(from: path)
        #expect(again.loss?.name == "doubled_squared_error")
        #expect(try again.evaluate(x, y, verbose: 0)["loss"].map { Swift.abs($0 - loss) < 1e-6 } == true)
        try again.compile(optimizer: "sgd", loss: "doubled_squared_error")
        #expect(again.loss?.name == "doubled_squared_error")
        #expect(throws: KilnError.self) { try Loss.register(name: "mse") { yTrue, _ in yTrue } }
        do {
            _ = try Loss(named: "never_registered")
            Issue.record("an unknown loss was found")
        } catch let error as KilnError {
            #expect(error.message.contains("doubled_squared_error") && error.message.contains("Loss.register(name:)"), "\(error.message)")
        }
    }
}

@Suite("Custom metrics with state")
struct CustomMetricTests {
    @Test("a registered metric accumulates its states over the epoch in the step, on both backends, and survives saving")
    func registeredMetric() throws {
        // The largest absolute error of the epoch and the weighted mean error, from three states.
        try Metric.register(name: "error_summary", states: 3,
                            update: { yTrue, yPred, weight in
                                let error = try reshape(abs(yPred - yTrue), to: [.batch])
                                return [try sum(error * weight), try sum(weight), try max(error)]
                            },
                            result: { $0[1] == 0 ? 0 : $0[0] / $0[1] + 1000 * $0[2] })
        let x = try Tensor(shape: [6, 1], scalars: [1, 2, 3, 4, 5, 6]), y = try Tensor(shape: [6, 1], scalars: [1, 1, 1, 1, 1, 1])
        for backend in Backend.allCases {
            let dense = Dense(1, kernelInitializer: .ones, biasInitializer: .zeros)
            let model = Sequential([Input(shape: [1]), dense])
            try model.compile(optimizer: "sgd", loss: "mse", metrics: ["error_summary"], backend: backend)
            // Errors 0, 1, 2, 3, 4, 5: mean 2.5; the states add over batches of 2.
            let logs = try model.evaluate(x, y, batchSize: 2, verbose: 0)
            // max over batches is a sum of per-batch maxima here: 1 + 3 + 5.
            #expect(logs["error_summary"] == 2.5 + 1000 * 9, "\(logs) on \(backend)")
            let history = try model.fit(x, y, batchSize: 3, epochs: 1, shuffle: false, verbose: 0)
            #expect(history.history["error_summary"]?.count == 1)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-metric-\(UUID()).kiln").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            let again = try Model.load(from: path)
            #expect(try again.evaluate(x, y, batchSize: 2, verbose: 0)["error_summary"] == model.evaluate(x, y, batchSize: 2, verbose: 0)["error_summary"])
        }
        #expect(throws: KilnError.self) { try Metric.register(name: "accuracy", states: 1, update: { _, _, w in [try sum(w)] }, result: { $0[0] }) }
        #expect(throws: KilnError.self) { try Metric.register(name: "nothing", states: 0, update: { _, _, _ in [] }, result: { _ in 0 }) }
    }
}
