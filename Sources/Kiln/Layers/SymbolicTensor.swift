import KilnGraph

/// The symbolic output of a layer in a functional model (Keras' `KerasTensor`): its shape
/// and the layer call that produces it. No values are computed until the model runs.
///
/// Shape errors found while connecting layers are kept and thrown by the model's first
/// throwing method (`fit`, `predict`, …), naming the layer.
public class SymbolicTensor {
    /// The shape of one sample (without the batch dimension).
    public let shape: [Int]
    /// The element type.
    public let dtype: DType
    /// The layer call producing this tensor; `nil` for an ``Input``.
    let producer: (layer: Layer, inputs: [SymbolicTensor])?
    /// Why this tensor could not be made, if it could not.
    public let failure: KilnError?

    init(shape: [Int], dtype: DType, producer: (layer: Layer, inputs: [SymbolicTensor])?, failure: KilnError? = nil) {
        self.shape = shape
        self.dtype = dtype
        self.producer = producer
        self.failure = failure
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

    /// An input of samples of `shape` (Keras' `keras.Input(shape=...)`).
    public init(shape: [Int], dtype: DType = .float32, name: String? = nil) {
        self.name = name ?? LayerNames.unique("input_layer")
        var failure: KilnError?
        if shape.contains(where: { $0 <= 0 }) {
            failure = KilnError(.invalidArgument, "Input \(String(reflecting: self.name)): sizes must be positive, got \(shape)")
        } else if dtype == .bool {
            failure = KilnError(.dtypeMismatch, "Input \(String(reflecting: self.name)): inputs are f32 or i32, not bool")
        } else {
            do {
                _ = try Tensor.checkedCount(shape, dtype: dtype, what: "Input \(String(reflecting: self.name)): one sample")
            } catch {
                failure = error as? KilnError
            }
        }
        super.init(shape: shape, dtype: dtype, producer: nil, failure: failure)
    }
}

extension Layer {
    /// Calls the layer on one symbolic tensor, building it on first use.
    public func callAsFunction(_ input: SymbolicTensor) -> SymbolicTensor { callAsFunction([input]) }

    /// Calls the layer on several symbolic tensors (``Add``, ``Concatenate``).
    public func callAsFunction(_ inputs: [SymbolicTensor]) -> SymbolicTensor {
        if let failure = inputs.lazy.compactMap(\.failure).first {
            return SymbolicTensor(shape: [], dtype: .float32, producer: (self, inputs), failure: failure)
        }
        do {
            let shapes = inputs.map(\.shape)
            try prepare(inputShapes: shapes)
            let shape = try outputShape(inputShapes: shapes)
            return SymbolicTensor(shape: shape, dtype: outputDType(inputDTypes: inputs.map(\.dtype)),
                                  producer: (self, inputs))
        } catch {
            return SymbolicTensor(shape: [], dtype: .float32, producer: (self, inputs), failure: failure(error))
        }
    }

    /// An error from this layer, prefixed with its name and type.
    func failure(_ error: any Error) -> KilnError {
        let kiln = error as? KilnError ?? KilnError(.invalidArgument, "\(error)")
        let prefix = "layer \(String(reflecting: name)) (\(Self.typeName))"
        return kiln.message.hasPrefix(prefix) ? kiln : KilnError(kiln.kind, "\(prefix): \(kiln.message)")
    }
}
