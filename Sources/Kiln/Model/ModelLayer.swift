import KilnGraph

/// A model used as a layer of another model, as Keras nests models: made by calling the
/// model on symbolic tensors or listing it in a ``Sequential``. Its weights are the model's
/// own, so the model and every model containing it share them.
///
/// ```swift
/// let encoder = Sequential([Input(shape: [784]), Dense(32, activation: .relu)], name: "encoder")
/// let x = Input(shape: [784])
/// let classifier = Model(inputs: x, outputs: Dense(10, activation: .softmax)(encoder(x)))
/// encoder.trainable = false   // freezes it inside classifier too
/// ```
///
/// In the containing model it is one layer, named after the model, with the model's output
/// shapes and parameter count; `layer(named:)` finds it and ``model`` gives the model back.
public final class ModelLayer: Layer {
    /// The nested model.
    public let model: Model

    init(_ model: Model) {
        self.model = model
        super.init(name: model.name)
    }

    /// Setting it sets every layer's of the model too, as Keras sets `trainable` on a layer
    /// and all the layers inside it.
    override public var trainable: Bool {
        didSet { for layer in model.layers { layer.trainable = trainable } }
    }

    override public class var typeName: String { "Functional" }

    /// `encoder (Sequential)`, with the model's own type, as Keras' summary shows it.
    override public var description: String { "\(name) (\(model.typeName))" }

    /// The model's architecture (its inputs, layers and calls), which loading makes again.
    override public var config: [String: JSONValue] { model.architecture() }

    override public var outputCount: Int { max(model.outputs.count, 1) }

    /// The weights training updates: those of the model's trainable layers, none when frozen.
    override public var trainableVariables: [LayerVariable] { trainable ? model.layers.flatMap(\.trainableVariables) : [] }

    /// Builds a ``Sequential`` model without an ``Input`` for these shapes, checks them against
    /// the model's inputs, and takes the model's weights as the layer's.
    override public func build(inputShapes: [[Int]]) throws {
        if model.inputs.isEmpty { model.build(sampleShapes: inputShapes, dtypes: inputShapes.map { _ in .float32 }) }
        try model.requireBuilt()
        let expected = model.inputs.map(\.shape)
        guard inputShapes.count == expected.count, zip(inputShapes, expected).allSatisfy({ Input.fits($0, $1) }) else {
            throw KilnError(.shapeMismatch, "model \(String(reflecting: model.name)) takes inputs \(Self.shapesText(expected)), "
                            + "called on \(Self.shapesText(inputShapes))")
        }
        for layer in model.layers { adoptWeights(of: layer) }
    }

    override public func outputShapes(inputShapes: [[Int]]) throws -> [[Int]] { model.outputs.map(\.shape) }

    override public func outputDType(inputDTypes: [DType]) -> DType { model.outputs.first?.dtype ?? .float32 }

    /// The model's nodes in the containing model's graph, with its training flag, random
    /// state and added losses.
    override public func callAll(_ inputs: [Node], masks: [Node?], context: LayerContext) throws -> [Node] {
        try model.forward(inputs, context: context)
    }
}

extension Model: SequentialElement {}

extension Model {
    /// The model as a layer of other models: one per model while any model uses it, so that
    /// every call shares it and its weights.
    var asLayer: ModelLayer {
        if let layer = nestedLayer { return layer }
        let layer = ModelLayer(self)
        nestedLayer = layer
        return layer
    }

    /// Calls the model on a symbolic tensor, as a layer of the model being built (Keras'
    /// `model(x)`): its first output.
    public func callAsFunction(_ input: SymbolicTensor) -> SymbolicTensor { asLayer(input) }

    /// Calls the model on symbolic tensors, one per input: its first output.
    public func callAsFunction(_ inputs: [SymbolicTensor]) -> SymbolicTensor { asLayer(inputs) }

    /// Calls the model on symbolic tensors, one per input: all its outputs.
    public func callAll(_ inputs: [SymbolicTensor]) -> [SymbolicTensor] { asLayer.callAll(inputs) }

    /// Whether training updates the model's weights, as a model of its own and inside other
    /// models (Keras' `model.trainable`): setting it sets every layer's flag, so `false`
    /// freezes the whole model (transfer learning) and `true` unfreezes it.
    public var trainable: Bool {
        get { (nestedLayer?.trainable ?? true) && layers.allSatisfy(\.trainable) }
        set {
            // The nested layer passes it on to the layers, and a nested model's layer to its own.
            if let nestedLayer {
                nestedLayer.trainable = newValue
            } else {
                for layer in layers { layer.trainable = newValue }
            }
        }
    }

    /// The names of the model's layers and of the layers of the models it contains, whose
    /// weights are saved by layer name and so must all differ.
    var nestedLayerNames: [String] {
        layers.flatMap { layer in [layer.name] + ((layer as? ModelLayer)?.model.nestedLayerNames ?? []) }
    }
}
