import KilnGraph

/// One call of a layer in a functional model: the layer and the tensors it was called on.
/// Its outputs (one, or several for a layer such as a recurrent one with `returnState`) are
/// the ``SymbolicTensor``s that name it as their producer.
final class LayerCall {
    let layer: Layer
    let inputs: [SymbolicTensor]
    /// The outputs' shapes (without the batch dimension); empty if the call failed.
    let outputShapes: [[Int]]

    init(layer: Layer, inputs: [SymbolicTensor], outputShapes: [[Int]]) {
        self.layer = layer
        self.inputs = inputs
        self.outputShapes = outputShapes
    }
}

/// The symbolic output of a layer in a functional model (Keras' `KerasTensor`): its shape
/// and the layer call that produces it. No values are computed until the model runs.
///
/// Shape errors found while connecting layers are kept and thrown by the model's first
/// throwing method (`fit`, `predict`, …), naming the layer.
public class SymbolicTensor {
    /// The shape of one sample (without the batch dimension); ``Input/none`` (-1) marks a
    /// dimension known only when data arrives (Keras' `None`, a sequence's length).
    public let shape: [Int]
    /// The element type.
    public let dtype: DType
    /// The layer call producing this tensor; `nil` for an ``Input``.
    let producer: LayerCall?
    /// Which of the call's outputs this is (0 but for a layer with several outputs).
    let outputIndex: Int
    /// Why this tensor could not be made, if it could not.
    public let failure: KilnError?

    init(shape: [Int], dtype: DType, producer: LayerCall?, outputIndex: Int = 0, failure: KilnError? = nil) {
        self.shape = shape
        self.dtype = dtype
        self.producer = producer
        self.outputIndex = outputIndex
        self.failure = failure
    }

    /// What identifies the tensor's value while a model's graph is built: its call and
    /// output index, or the tensor itself for an ``Input``.
    struct Key: Hashable {
        let source: ObjectIdentifier
        let index: Int
    }

    var key: Key {
        producer.map { Key(source: ObjectIdentifier($0), index: outputIndex) } ?? Key(source: ObjectIdentifier(self), index: 0)
    }
}

/// A model's input: the shape of one sample, without the batch dimension.
///
/// ```swift
/// let inp = Input(shape: [4])
/// let out = Dense(3, activation: .softmax)(inp)
/// let model = Model(inputs: inp, outputs: out)
/// ```
public final class Input: SymbolicTensor, SequentialElement {
    /// The input's name, which is also its feed name in the model's graphs.
    public let name: String

    /// The size of a dimension given by the data (Keras' `None`): `Input(shape: [Input.none, 8])`.
    public static let none = -1

    /// An input of samples of `shape` (Keras' `keras.Input(shape=...)`); a size may be
    /// ``none`` (`nil` in the other initializer) where the layers after it allow any size
    /// (a sequence's length before a recurrent layer, an Embedding, a Dense on the last
    /// axis). The model then compiles a program for each size the data brings.
    public init(shape: [Int], dtype: DType = .float32, name: String? = nil) {
        self.name = name ?? LayerNames.unique("input_layer")
        var failure: KilnError?
        if shape.contains(where: { $0 <= 0 && $0 != Input.none }) {
            failure = KilnError(.invalidArgument, "Input \(String(reflecting: self.name)): sizes must be positive (or None), "
                                + "got \(shape)")
        } else if dtype == .bool {
            failure = KilnError(.dtypeMismatch, "Input \(String(reflecting: self.name)): inputs are f32 or i32, not bool")
        } else {
            do {
                _ = try Tensor.checkedCount(shape.map { $0 == Input.none ? 1 : $0 }, dtype: dtype,
                                            what: "Input \(String(reflecting: self.name)): one sample")
            } catch {
                failure = error as? KilnError
            }
        }
        super.init(shape: shape, dtype: dtype, producer: nil, failure: failure)
    }

    /// An input whose `nil` sizes are given by the data (Keras' `shape=(None, 8)`).
    public convenience init(shape: [Int?], dtype: DType = .float32, name: String? = nil) {
        self.init(shape: shape.map { $0 ?? Input.none }, dtype: dtype, name: name)
    }

    /// Whether a sample shape of data fits `pattern`, a shape with ``none`` sizes.
    static func fits(_ shape: [Int], _ pattern: [Int]) -> Bool {
        shape.count == pattern.count && zip(shape, pattern).allSatisfy { $1 == Input.none || $0 == $1 }
    }
}

extension Layer {
    /// Calls the layer on one symbolic tensor, building it on first use.
    public func callAsFunction(_ input: SymbolicTensor) -> SymbolicTensor { callAsFunction([input]) }

    /// Calls the layer on several symbolic tensors (``Add``, ``Concatenate``, or a recurrent
    /// layer's sequence and initial states). For a layer with several outputs, this is the
    /// first; ``callAll(_:)-([SymbolicTensor])`` gives them all.
    public func callAsFunction(_ inputs: [SymbolicTensor]) -> SymbolicTensor { callAll(inputs)[0] }

    /// Calls the layer on one symbolic tensor and returns all its outputs (see
    /// ``callAll(_:)-([SymbolicTensor])``).
    public func callAll(_ input: SymbolicTensor) -> [SymbolicTensor] { callAll([input]) }

    /// Calls the layer on symbolic tensors and returns all its outputs, ``outputCount`` of
    /// them, as Keras returns a list: a recurrent layer with `returnState` gives its output
    /// and then its final states.
    ///
    /// ```swift
    /// let encoded = LSTM(64, returnState: true).callAll(source)   // [output, h, c]
    /// let decoded = LSTM(64)([target, encoded[1], encoded[2]])    // starts from h and c
    /// ```
    public func callAll(_ inputs: [SymbolicTensor]) -> [SymbolicTensor] {
        func failed(_ error: KilnError) -> [SymbolicTensor] {
            let call = LayerCall(layer: self, inputs: inputs, outputShapes: [])
            return (0..<max(outputCount, 1)).map {
                SymbolicTensor(shape: [], dtype: .float32, producer: call, outputIndex: $0, failure: error)
            }
        }
        if let failure = inputs.lazy.compactMap(\.failure).first { return failed(failure) }
        do {
            let shapes = inputs.map(\.shape)
            let outputShapes = try shapes.contains(where: { $0.contains(Input.none) }) ? outputShapes(unknown: shapes)
                : { try prepare(inputShapes: shapes); return try self.outputShapes(inputShapes: shapes) }()
            guard outputShapes.count == outputCount, outputCount >= 1 else {
                throw KilnError(.invalidGraph, "gives \(outputShapes.count) output shapes but has \(outputCount) outputs")
            }
            let call = LayerCall(layer: self, inputs: inputs, outputShapes: outputShapes)
            let dtype = outputDType(inputDTypes: inputs.map(\.dtype))
            let outputs = outputShapes.enumerated().map { SymbolicTensor(shape: $1, dtype: dtype, producer: call, outputIndex: $0) }
            recordCall(outputs)
            return outputs
        } catch {
            return failed(failure(error))
        }
    }

    /// The output shapes for input shapes with ``Input/none`` sizes: the layer is built and
    /// its shapes computed for three sizes in their place, and an output size that differs
    /// between them is `none` too. A layer whose weights depend on the size cannot take it.
    ///
    /// - Throws: ``KilnError`` naming the shapes if the layer cannot take every size.
    private func outputShapes(unknown shapes: [[Int]]) throws -> [[Int]] {
        var results: [[[Int]]] = []
        for size in [60, 61, 120] {
            let concrete = shapes.map { $0.map { $0 == Input.none ? size : $0 } }
            do {
                try prepare(inputShapes: concrete)
                results.append(try outputShapes(inputShapes: concrete))
            } catch let error as KilnError {
                throw KilnError(error.kind, "cannot take inputs \(Self.shapesText(shapes)) whose None sizes vary: for size \(size), "
                                + error.message)
            }
        }
        guard results.allSatisfy({ $0.map(\.count) == results[0].map(\.count) }) else {
            throw KilnError(.shapeMismatch, "gives outputs of different ranks for inputs \(Self.shapesText(shapes))")
        }
        return results[0].indices.map { output in
            results[0][output].indices.map { axis in
                results.allSatisfy { $0[output][axis] == results[0][output][axis] } ? results[0][output][axis] : Input.none
            }
        }
    }

    /// An error from this layer, prefixed with its name and type.
    func failure(_ error: any Error) -> KilnError {
        let kiln = error as? KilnError ?? KilnError(.invalidArgument, "\(error)")
        let prefix = "layer \(String(reflecting: name)) (\(Self.typeName))"
        return kiln.message.hasPrefix(prefix) ? kiln : KilnError(kiln.kind, "\(prefix): \(kiln.message)")
    }
}

/// A layer's record of one of its calls: its outputs, held weakly so that a call nothing uses
/// any more (a ``Sequential`` model rebuilt by `add`) is forgotten.
final class CallRecord {
    private let tensors: [Weak]

    private struct Weak {
        weak var tensor: SymbolicTensor?
    }

    init(_ outputs: [SymbolicTensor]) { tensors = outputs.map { Weak(tensor: $0) } }

    /// The outputs, if they are all still in use.
    var outputs: [SymbolicTensor]? {
        let alive = tensors.compactMap(\.tensor)
        return alive.count == tensors.count && !alive.isEmpty ? alive : nil
    }
}

extension Layer {
    /// The outputs of the layer's call in a model (Keras' `layer.output`, for a model of
    /// intermediate features: `Model(inputs: model.inputs, outputs: model.layers[2].output)`):
    /// the first of them.
    ///
    /// - Throws: ``KilnError`` if the layer has not been called on symbolic tensors, or has
    ///   been called several times (a shared layer: use the tensors its calls returned).
    public var output: SymbolicTensor {
        get throws { try onlyCall("output")[0] }
    }

    /// All outputs of the layer's call (more than one for a layer such as a recurrent layer
    /// with `returnState`).
    public var outputs: [SymbolicTensor] {
        get throws { try onlyCall("outputs") }
    }

    /// The tensors the layer was called on (Keras' `layer.input`): the first of them.
    public var input: SymbolicTensor {
        get throws {
            guard let first = try onlyCall("input")[0].producer?.inputs.first else {
                throw KilnError(.notReady, "layer \(String(reflecting: name)) was called on no tensor")
            }
            return first
        }
    }

    private func onlyCall(_ what: String) throws -> [SymbolicTensor] {
        let live = liveCalls
        guard live.count == 1 else {
            throw KilnError(.notReady, live.isEmpty
                            ? "layer \(String(reflecting: name)) has no \(what): it has not been called on symbolic tensors (an Input)"
                            : "layer \(String(reflecting: name)) has been called \(live.count) times, so it has no single \(what); "
                              + "use the tensors each call returned")
        }
        return live[0]
    }
}
