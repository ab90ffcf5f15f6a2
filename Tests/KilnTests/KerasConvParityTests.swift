import Foundation
import Kiln
import Testing

/// One convolutional fixture made by tools/make_keras_fixtures.py from Keras itself: a small
/// network given layer by layer (Keras' class name and arguments), its data, its initial
/// weights, and Keras' per-step losses and final weights.
struct KerasConvCase: Decodable, CustomTestStringConvertible, Sendable {
    struct Weight: Decodable, Sendable {
        let shape: [Int]
        let values: [Float]
    }

    struct LayerSpec: Decodable, Sendable {
        let type: String
        let args: [String: Argument]
    }

    /// A layer argument: a number, a string, or a list of numbers or of lists.
    enum Argument: Decodable, Sendable {
        case number(Double), text(String), list([Argument])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let n = try? container.decode(Double.self) {
                self = .number(n)
            } else if let s = try? container.decode(String.self) {
                self = .text(s)
            } else {
                self = .list(try container.decode([Argument].self))
            }
        }

        var int: Int? { if case .number(let n) = self { Int(n) } else { nil } }
        var ints: [Int]? { if case .list(let a) = self { a.compactMap(\.int) } else { int.map { [$0] } } }
        var text: String? { if case .text(let s) = self { s } else { nil } }
        var pairs: [[Int]]? { if case .list(let a) = self { a.compactMap(\.ints) } else { nil } }
    }

    let name: String
    let layers: [LayerSpec]
    let optimizer: String
    let loss: String
    let batch_size: Int
    let epochs: Int
    let x: [Float]
    let x_shape: [Int]
    let y: [Float]
    let y_shape: [Int]
    let initial_weights: [Weight]
    let step_losses: [Float]
    let final_weights: [Weight]

    var testDescription: String { "\(name) (\(optimizer), \(loss))" }

    static let all: [KerasConvCase] = {
        struct File: Decodable { let cases: [KerasConvCase] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/keras_conv_parity.json")
        do {
            return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
        } catch {
            Issue.record("cannot read \(url.path): \(error)")
            return []
        }
    }()

    /// The Kiln layer for a Keras class name and arguments.
    static func layer(_ spec: LayerSpec) throws -> Layer {
        let a = spec.args
        let activation = try ActivationFunction(named: a["activation"]?.text ?? "linear")
        let padding = Padding(rawValue: a["padding"]?.text ?? "valid") ?? .valid
        switch spec.type {
        case "Conv2D":
            return Conv2D(a["filters"]?.int ?? 0, kernelSize: a["kernel_size"]?.ints ?? [], strides: a["strides"]?.ints ?? [1, 1],
                          padding: padding, dilationRate: a["dilation_rate"]?.ints ?? [1, 1], activation: activation)
        case "Conv1D":
            return Conv1D(a["filters"]?.int ?? 0, kernelSize: a["kernel_size"]?.int ?? 0, strides: a["strides"]?.int ?? 1,
                          padding: padding, activation: activation)
        case "Conv2DTranspose":
            return Conv2DTranspose(a["filters"]?.int ?? 0, kernelSize: a["kernel_size"]?.ints ?? [],
                                   strides: a["strides"]?.ints ?? [1, 1], padding: padding, activation: activation)
        case "MaxPooling2D": return MaxPooling2D(poolSize: a["pool_size"]?.ints ?? [2, 2], strides: a["strides"]?.ints, padding: padding)
        case "AveragePooling2D":
            return AveragePooling2D(poolSize: a["pool_size"]?.ints ?? [2, 2], strides: a["strides"]?.ints, padding: padding)
        case "AveragePooling1D": return AveragePooling1D(poolSize: a["pool_size"]?.int ?? 2, strides: a["strides"]?.int, padding: padding)
        case "GlobalAveragePooling2D": return GlobalAveragePooling2D()
        case "GlobalMaxPooling2D": return GlobalMaxPooling2D()
        case "GlobalMaxPooling1D": return GlobalMaxPooling1D()
        case "ZeroPadding2D": return ZeroPadding2D(padding: a["padding"]?.pairs ?? [])
        case "UpSampling2D": return UpSampling2D(size: a["size"]?.ints ?? [2, 2])
        case "Flatten": return Flatten()
        case "Dense": return Dense(a["units"]?.int ?? 0, activation: activation)
        default: throw KilnError(.invalidArgument, "the fixture names layer \(spec.type), which this test does not build")
        }
    }
}

@Suite("Keras parity: convolutional networks, per-step losses and final weights match Keras 3 (JAX)")
struct KerasConvParityTests {
    /// Relative tolerance 1e-5, with an absolute floor of 1e-6 for values near zero.
    static let rtol: Float = 1e-5, atol: Float = 1e-6

    @Test("train_on_batch over fixed batches", arguments: KerasConvCase.all, Backend.allCases)
    func matchesKeras(_ c: KerasConvCase, _ backend: Backend) throws {
        let model = Sequential([Input(shape: Array(c.x_shape.dropFirst()))] + (try c.layers.map(KerasConvCase.layer)))
        try model.setWeights(c.initial_weights.map { try Tensor(shape: $0.shape, scalars: $0.values) })
        let optimizer: Optimizer
        switch c.optimizer {
        case "sgd": optimizer = SGD(learningRate: 0.1)
        case "sgd_momentum": optimizer = SGD(learningRate: 0.05, momentum: 0.9)
        default: optimizer = Adam(learningRate: 0.01)
        }
        let loss: Loss
        switch c.loss {
        case "mean_squared_error": loss = .meanSquaredError
        case "binary_crossentropy": loss = .binaryCrossentropy
        default: loss = .sparseCategoricalCrossentropy
        }
        model.compile(optimizer: optimizer, loss: loss, backend: backend)
        let x = try Tensor(shape: c.x_shape, scalars: c.x), y = try Tensor(shape: c.y_shape, scalars: c.y)
        var losses: [Float] = []
        for _ in 0..<c.epochs {
            for start in stride(from: 0, to: c.x_shape[0], by: c.batch_size) {
                let rows = start..<Swift.min(start + c.batch_size, c.x_shape[0])
                losses.append(try #require(model.trainOnBatch(x.rows(rows), y.rows(rows))["loss"]))
            }
        }
        let stepLosses = Tensor(losses).compared(to: Tensor(c.step_losses), rtol: Self.rtol, atol: Self.atol)
        #expect(stepLosses.passes, "per-step losses against Keras': \(stepLosses)")
        var worst: Float = 0
        for (index, (ours, keras)) in zip(model.getWeights(), c.final_weights).enumerated() {
            let expected = try Tensor(shape: keras.shape, scalars: keras.values)
            expectClose(ours, expected, rtol: Self.rtol, atol: Self.atol, "weight \(index) against Keras'")
            worst = Swift.max(worst, ours.compared(to: expected, rtol: Self.rtol, atol: Self.atol).maxRelativeError)
        }
        print("keras conv parity \(c.testDescription) on \(backend): worst relative error, losses \(stepLosses.maxRelativeError), weights \(worst)")
    }
}
