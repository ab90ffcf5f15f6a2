import Foundation
import Kiln
import Testing

/// One convolutional fixture made by tools/make_keras_fixtures.py from Keras itself: a small
/// network given layer by layer (Keras' class name and arguments), its data, its initial
/// weights, and Keras' per-step losses and final weights.
struct KerasConvCase: Decodable, CustomTestStringConvertible, Sendable {
    typealias Weight = KerasFixture.Weight

    struct LayerSpec: Decodable, Sendable {
        let type: String
        let args: [String: Argument]
    }

    /// A layer argument: a flag, a number, a string, a list of numbers or of lists, or the
    /// arguments of a wrapped layer.
    indirect enum Argument: Decodable, Sendable {
        case flag(Bool), number(Double), text(String), list([Argument]), object([String: Argument])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let o = try? container.decode([String: Argument].self) {
                self = .object(o)
            } else if let b = try? container.decode(Bool.self) {
                self = .flag(b)
            } else if let n = try? container.decode(Double.self) {
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
        var flag: Bool? { if case .flag(let b) = self { b } else { nil } }
        var object: [String: Argument]? { if case .object(let o) = self { o } else { nil } }
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

    static let all = KerasFixture.cases("keras_conv_parity.json", as: KerasConvCase.self)
    static let recurrent = KerasFixture.cases("keras_recurrent_parity.json", as: KerasConvCase.self)

    /// The Kiln layer for a Keras class name and arguments, with its regularizers and constraints.
    static func layer(_ spec: LayerSpec) throws -> Layer {
        let layer = try unregularizedLayer(spec)
        for (key, value) in spec.args {
            let kind = value.object?["class_name"]?.text ?? ""
            let config = value.object?["config"]?.object ?? [:]
            func number(_ name: String) -> Float { if case .number(let n)? = config[name] { Float(n) } else { 0 } }
            let axis = config["axis"]?.ints ?? [0]
            let weight = key.hasPrefix("recurrent_") ? "recurrent_kernel" : String(key.prefix { $0 != "_" })
            if key.hasSuffix("_regularizer") {
                let regularizer = Regularizer(l1: number("l1"), l2: number("l2"))
                if key == "activity_regularizer" { layer.activityRegularizer = regularizer } else { layer.weightRegularizers[weight] = regularizer }
            } else if key.hasSuffix("_constraint") {
                switch kind {
                case "MaxNorm": layer.weightConstraints[weight] = .maxNorm(number("max_value"), axis: axis)
                case "UnitNorm": layer.weightConstraints[weight] = .unitNorm(axis: axis)
                case "NonNeg": layer.weightConstraints[weight] = .nonNeg
                default: throw KilnError(.invalidArgument, "the fixture names constraint \(kind), which this test does not build")
                }
            }
        }
        return layer
    }

    private static func unregularizedLayer(_ spec: LayerSpec) throws -> Layer {
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
        case "Reshape": return Reshape(a["target_shape"]?.ints ?? [])
        case "Dense": return Dense(a["units"]?.int ?? 0, activation: activation)
        case "GlobalAveragePooling1D": return GlobalAveragePooling1D()
        case "Bidirectional":
            guard let inner = try unregularizedLayer(LayerSpec(type: a["layer"]?.text ?? "", args: a["args"]?.object ?? [:])) as? Recurrent,
                  let mode = Bidirectional.MergeMode(rawValue: a["merge_mode"]?.text ?? "concat") else {
                throw KilnError(.invalidArgument, "the fixture's Bidirectional wraps no recurrent layer")
            }
            return Bidirectional(inner, mergeMode: mode)
        case "SimpleRNN":
            return SimpleRNN(a["units"]?.int ?? 0, returnSequences: a["return_sequences"]?.flag ?? false,
                             goBackwards: a["go_backwards"]?.flag ?? false)
        case "LSTM":
            return LSTM(a["units"]?.int ?? 0, returnSequences: a["return_sequences"]?.flag ?? false,
                        goBackwards: a["go_backwards"]?.flag ?? false)
        case "GRU":
            return GRU(a["units"]?.int ?? 0, resetAfter: a["reset_after"]?.flag ?? true,
                       returnSequences: a["return_sequences"]?.flag ?? false, goBackwards: a["go_backwards"]?.flag ?? false)
        default: throw KilnError(.invalidArgument, "the fixture names layer \(spec.type), which this test does not build")
        }
    }
}

extension KerasConvCase {
    /// Builds the case's network, trains it on `backend` as Keras did, and expects Keras'
    /// per-step losses and final weights; prints the worst relative errors under `label`.
    func expectKerasMatch(on backend: Backend, label: String) throws {
        let model = layers.isEmpty ? try functionalNetwork()
            : Sequential([Input(shape: Array(x_shape.dropFirst()))] + (try layers.map(KerasConvCase.layer)))
        model.compile(optimizer: KerasFixture.optimizer(optimizer), loss: KerasFixture.loss(loss), backend: backend)
        let worst = try KerasFixture.expectMatch(model, initial: initial_weights, x: try Tensor(shape: x_shape, scalars: x),
                                                 y: try Tensor(shape: y_shape, scalars: y), batchSize: batch_size,
                                                 epochs: epochs, stepLosses: step_losses, finalWeights: final_weights)
        print("keras \(label) parity \(testDescription) on \(backend): worst relative error, losses \(worst.losses), weights \(worst.weights)")
    }
}

extension KerasConvCase {
    static let regularized = KerasFixture.cases("keras_regularization_parity.json", as: KerasConvCase.self)
    static let states = KerasFixture.cases("keras_state_parity.json", as: KerasConvCase.self)

    /// The functional network the fixture names, as tools/make_keras_fixtures.py builds it.
    func functionalNetwork() throws -> Model {
        let x = Input(shape: Array(x_shape.dropFirst()))
        let y: SymbolicTensor
        switch name {
        case "lstm encoder states start an lstm decoder":
            let encoded = LSTM(3, returnState: true).callAll(x)
            let decoded = LSTM(3, returnSequences: true)([x, encoded[1], encoded[2]])
            y = Dense(1, activation: .sigmoid)(GlobalAveragePooling1D()(decoded))
        case "bidirectional gru states (sum), concatenated":
            let parts = Bidirectional(GRU(2, returnState: true), mergeMode: .sum).callAll(x)
            y = Dense(2)(Concatenate()(parts))
        case "simple rnn states start a bidirectional simple rnn":
            let parts = SimpleRNN(2, returnSequences: true, returnState: true).callAll(x)
            y = Dense(3, activation: .softmax)(Bidirectional(SimpleRNN(2))([parts[0], parts[1], parts[1]]))
        default:
            throw KilnError(.invalidArgument, "the fixture names network \(name), which this test does not build")
        }
        return Model(inputs: x, outputs: y)
    }
}

@Suite("Keras parity: convolutional networks, per-step losses and final weights match Keras 3 (JAX)")
struct KerasConvParityTests {
    @Test("train_on_batch over fixed batches", arguments: KerasConvCase.all, Backend.allCases)
    func matchesKeras(_ c: KerasConvCase, _ backend: Backend) throws {
        try c.expectKerasMatch(on: backend, label: "conv")
    }
}

@Suite("Keras parity: recurrent networks, per-step losses and final weights match Keras 3 (JAX)")
struct KerasRecurrentParityTests {
    @Test("train_on_batch over fixed batches", arguments: KerasConvCase.recurrent, Backend.allCases)
    func matchesKeras(_ c: KerasConvCase, _ backend: Backend) throws {
        try c.expectKerasMatch(on: backend, label: "recurrent")
    }
}

@Suite("Keras parity: recurrent layers returning and taking states, per-step losses and final weights match Keras 3 (JAX)")
struct KerasStateParityTests {
    @Test("train_on_batch over fixed batches", arguments: KerasConvCase.states, Backend.allCases)
    func matchesKeras(_ c: KerasConvCase, _ backend: Backend) throws {
        try c.expectKerasMatch(on: backend, label: "state")
    }
}

@Suite("Keras parity: weight and activity regularizers and constraints, per-step losses and final weights match Keras 3 (JAX)")
struct KerasRegularizationParityTests {
    @Test("train_on_batch over fixed batches", arguments: KerasConvCase.regularized, Backend.allCases)
    func matchesKeras(_ c: KerasConvCase, _ backend: Backend) throws {
        try c.expectKerasMatch(on: backend, label: "regularization")
    }
}
