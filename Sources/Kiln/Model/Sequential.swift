import KilnGraph

/// A plain stack of layers, each feeding the next (Keras' `Sequential`).
///
/// ```swift
/// let model = Sequential([
///     Input(shape: [2]),
///     Dense(16, activation: .relu),
///     Dense(1, activation: .sigmoid),
/// ])
/// ```
///
/// Without an ``Input``, the model is built from the shape of the first data it sees.
public final class Sequential: Model, @unchecked Sendable {
    private var input: Input?
    private var stack: [Layer] = []
    private var elementFailure: KilnError?

    /// A model from an optional leading ``Input`` and layers.
    public init(_ elements: [any SequentialElement] = [], name: String? = nil) {
        super.init(name: name ?? LayerNames.unique("sequential"))
        for element in elements { add(element) }
    }

    override public var typeName: String { "Sequential" }

    /// Appends a layer (or, first of all, an ``Input``).
    public func add(_ element: any SequentialElement) {
        switch element {
        case let input as Input:
            if self.input != nil || !stack.isEmpty {
                elementFailure = elementFailure ?? KilnError(.invalidArgument, "model \(String(reflecting: name)): an Input "
                                                             + "can only be the first element of a Sequential model")
            } else {
                self.input = input
            }
        case let model as Model:
            add(model.asLayer)
            return
        case let layer as Layer:
            if layer.outputCount != 1 {
                elementFailure = elementFailure ?? KilnError(.invalidArgument, "model \(String(reflecting: name)): layer "
                    + "\(layer.description) has \(layer.outputCount) outputs; every layer of a Sequential model must have one "
                    + "(use a functional Model for layers with several outputs, such as a recurrent layer with returnState)")
            }
            stack.append(layer)
        default:
            elementFailure = KilnError(.invalidArgument, "model \(String(reflecting: name)): \(element) is neither a layer nor an Input")
        }
        compiled = nil
        rebuild()
    }

    /// Removes the last layer (Keras' `pop`), and returns it.
    ///
    /// - Throws: ``KilnError`` if the model has no layers.
    @discardableResult
    public func pop() throws -> Layer {
        guard let last = stack.popLast() else {
            throw KilnError(.invalidArgument, "model \(String(reflecting: name)) has no layers to pop")
        }
        compiled = nil
        rebuild()
        return last
    }

    /// Chains the layers from the input, if there is one.
    private func rebuild() {
        guard let input else {
            layers = stack
            failure = elementFailure ?? duplicateNames()
            return
        }
        var tensor: SymbolicTensor = input
        for layer in stack { tensor = layer(tensor) }
        connect(inputs: [input], outputs: [tensor])
        layers = stack
        failure = elementFailure ?? failure
    }

    /// Builds the model for samples of `shape` if it has no ``Input`` yet.
    override func build(sampleShapes shapes: [[Int]], dtypes: [DType]) {
        guard input == nil, shapes.count == 1 else { return }
        input = Input(shape: shapes[0], dtype: dtypes[0])
        rebuild()
    }
}
