import KilnGraph
import Synchronization

/// Something a ``Sequential`` model is made of: a ``Layer``, or an ``Input`` giving the
/// shape of its samples.
public protocol SequentialElement: AnyObject {}

/// A building block of a model: it owns weights and adds the nodes computing its output
/// to a graph.
///
/// Layers are called on symbolic tensors to build a functional model, or listed in a
/// ``Sequential``. A layer creates its weights the first time it is called, when it learns
/// its input shape. Names are unique in the process and follow Keras (`dense`, `dense_1`, …).
///
/// Subclass it for a custom layer: override ``build(inputShapes:)`` (create weights with
/// ``addWeight(_:shape:initializer:trainable:)``), ``outputShape(inputShapes:)`` and
/// ``call(_:context:)`` (`context.training` tells the training step apart), and ``config``;
/// call ``register(_:)`` so that saved models containing it load.
open class Layer: SequentialElement, CustomStringConvertible {
    /// The layer's unique name; its weights are saved as `name/weight`.
    public let name: String
    /// Whether training updates the layer's weights; set it to `false` to freeze them
    /// (transfer learning). Takes effect at the next `fit` or `trainOnBatch`.
    public var trainable = true
    /// The layer's weights in creation order (Keras' order: `kernel`, then `bias`).
    public private(set) var variables: [LayerVariable] = []
    /// The input shapes (without the batch dimension) the layer was built for, once built.
    public private(set) var builtInputShapes: [[Int]]?
    /// Penalties on the layer's weights, by weight name (`kernel`, `bias`, `recurrent_kernel`,
    /// `embeddings`), added to the loss in training and evaluation while the layer is
    /// trainable: what Keras' `kernel_regularizer`, `bias_regularizer`, ... set. Set them
    /// before the layer is built.
    public var weightRegularizers: [String: Regularizer] = [:]
    /// Constraints on the layer's weights, by weight name, applied after each update (Keras'
    /// `kernel_constraint`, ...). Set them before the layer is built.
    public var weightConstraints: [String: Constraint] = [:]
    /// A penalty on the layer's outputs, divided by the batch size and added to the loss in
    /// training and evaluation (Keras' `activity_regularizer`).
    public var activityRegularizer: Regularizer?
    /// The layer's calls on symbolic tensors (``output``), made while models are built.
    private var callRecords: [CallRecord] = []

    /// Remembers a call's outputs (forgetting the calls nothing uses any more).
    func recordCall(_ outputs: [SymbolicTensor]) {
        callRecords.removeAll { $0.outputs == nil }
        callRecords.append(CallRecord(outputs))
    }

    /// The outputs of the calls still in use, oldest first.
    var liveCalls: [[SymbolicTensor]] { callRecords.compactMap(\.outputs) }

    /// A layer called `name`, or a fresh Keras-style name from its type (`dense_2`).
    public init(name: String? = nil) {
        self.name = name ?? LayerNames.unique(LayerNames.snakeCase(Self.typeName))
    }

    /// The type's name in saved configurations and summaries (`Dense`).
    open class var typeName: String { String(describing: self) }

    /// The layer's configuration, enough to make it again with ``LayerRegistry``.
    open var config: [String: JSONValue] { [:] }

    /// Creates the weights for inputs of these shapes (without the batch dimension).
    open func build(inputShapes: [[Int]]) throws {}

    /// The output shape (without the batch dimension) for these input shapes.
    open func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        try requireSingleInput(inputShapes)
        return inputShapes[0]
    }

    /// The output's element type for inputs of these types (`float32` unless overridden);
    /// all outputs of a layer with several have it.
    open func outputDType(inputDTypes: [DType]) -> DType { .float32 }

    /// How many outputs a call gives: one, or more for a layer that returns several tensors
    /// (a recurrent layer with `returnState`: its output, then its final states).
    open var outputCount: Int { 1 }

    /// The shapes (without the batch dimension) of all ``outputCount`` outputs; by default
    /// the one of ``outputShape(inputShapes:)``.
    open func outputShapes(inputShapes: [[Int]]) throws -> [[Int]] { [try outputShape(inputShapes: inputShapes)] }

    /// Adds the nodes computing the output from `inputs` (each with a leading batch dimension).
    open func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        throw KilnError(.invalidArgument, "\(Self.typeName) does not override call(_:context:)")
    }

    /// The output from `inputs` and their masks (`[batch, steps]` booleans, true where a step
    /// holds data; `nil` for an input without one), as Keras passes `mask` to `call`. Layers
    /// that use masks (recurrent layers) override it; the others compute as without one.
    open func call(_ inputs: [Node], masks: [Node?], context: LayerContext) throws -> Node {
        try call(inputs, context: context)
    }

    /// The mask of the output (Keras' `compute_mask`): `nil` by default, so a mask stops at a
    /// layer that does not pass it on. ``Embedding`` with `maskZero` makes one; layers that
    /// keep the steps (``Dropout``, ``Dense``, ``Activation``, recurrent layers returning
    /// sequences) pass it on.
    open func computeMask(_ inputs: [Node], masks: [Node?]) throws -> Node? { nil }

    /// All ``outputCount`` outputs from `inputs` and their masks; by default the one of
    /// ``call(_:masks:context:)``. Layers with several outputs override it.
    open func callAll(_ inputs: [Node], masks: [Node?], context: LayerContext) throws -> [Node] {
        [try call(inputs, masks: masks, context: context)]
    }

    /// The masks of all ``outputCount`` outputs: ``computeMask(_:masks:)``'s for the first,
    /// none for the others unless overridden.
    open func computeMasks(_ inputs: [Node], masks: [Node?]) throws -> [Node?] {
        [try computeMask(inputs, masks: masks)] + Array(repeating: nil, count: max(outputCount - 1, 0))
    }

    /// Creates a weight during ``build(inputShapes:)``, drawn from `initializer` with the
    /// library's seeded generator.
    ///
    /// - Parameter trainable: `false` for state training does not differentiate (batch
    ///   normalisation's moving statistics).
    @discardableResult
    public func addWeight(_ name: String, shape: [Int], initializer: Initializer,
                          trainable: Bool = true) throws -> LayerVariable {
        _ = try Tensor.checkedCount(shape, what: "weight \(name)")
        return addWeight(name, value: try initializer.tensor(shape: shape), trainable: trainable)
    }

    /// Creates a weight during ``build(inputShapes:)`` with a first value made by the layer
    /// (an LSTM's bias: zeros with the forget gate's block at one).
    @discardableResult
    public func addWeight(_ name: String, value: Tensor, trainable: Bool = true) -> LayerVariable {
        let variable = LayerVariable(name: name, layerName: self.name, value: value, isTrainable: trainable,
                                     regularizer: weightRegularizers[name], constraint: weightConstraints[name])
        variables.append(variable)
        return variable
    }

    /// The `layer` entry of a wrapper's configuration (``Bidirectional``, ``TimeDistributed``):
    /// the wrapped layer's type, configuration and `name` (``LayerRegistry`` reads it back).
    static func wrappedConfig(_ layer: Layer, name: String) -> JSONValue {
        .object(["class_name": .string(type(of: layer).typeName), "config": .object(layer.savedConfig), "name": .string(name)])
    }

    /// Makes another layer's weights also this layer's (a wrapper such as ``Bidirectional``
    /// owns the weights of the layers it wraps).
    func adoptWeights(of layer: Layer) {
        variables += layer.variables
    }

    /// The weight called `name` (`kernel`).
    ///
    /// - Throws: ``KilnError`` naming the layer and its weights if it has none called `name`.
    public func weight(named name: String) throws -> LayerVariable {
        guard let variable = variables.first(where: { $0.name == name }) else {
            throw KilnError(.unknownName, "layer \(String(reflecting: self.name)) has no weight \(String(reflecting: name)); "
                            + "its weights are: \(variables.map(\.name).joined(separator: ", "))")
        }
        return variable
    }

    /// The weights' current values, in ``variables`` order.
    public var weights: [Tensor] { variables.map(\.value) }

    /// The weights training updates: none when the layer is frozen.
    open var trainableVariables: [LayerVariable] { trainable ? variables.filter(\.isTrainable) : [] }

    /// The number of weight elements.
    public var parameterCount: Int { variables.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// Replaces the weights' values, given in ``weights`` order.
    ///
    /// - Throws: ``KilnError`` naming the layer and weight if the count or a shape differs.
    public func setWeights(_ values: [Tensor]) throws {
        guard values.count == variables.count else {
            throw KilnError(.shapeMismatch, "layer \(String(reflecting: name)) has \(variables.count) weights "
                            + "(\(variables.map(\.name).joined(separator: ", "))), got \(values.count)")
        }
        for (variable, value) in zip(variables, values) {
            guard variable.shape == value.shape, value.dtype == .float32 else {
                throw KilnError(.shapeMismatch, "layer \(String(reflecting: name)): weight \(variable.name) is "
                                + "f32 \(variable.shape), got \(value.dtype) \(value.shape)")
            }
        }
        for (variable, value) in zip(variables, values) { try variable.buffer.setValue(value) }
    }

    /// `dense_1 (Dense)`: the name and the type.
    open var description: String { "\(name) (\(Self.typeName))" }

    /// Whether the layer, built for inputs of `built` shapes, can also be called on inputs of
    /// `shapes` with the same weights, as Keras calls a built layer on any input its weights
    /// fit (an Embedding on sequences of 100 and of 10 ids, a Dense on the last axis of any
    /// shape). By default a layer without weights takes any shapes its ``outputShape(inputShapes:)``
    /// accepts, and one with weights only the shapes it was built for; layers whose weights
    /// depend on some axes only override it.
    open func accepts(inputShapes shapes: [[Int]], builtFor built: [[Int]]) -> Bool {
        shapes == built || variables.isEmpty
    }

    /// Whether both lists have the same number of shapes with equal last axes (the axis a
    /// Dense, a normalization or a convolution's channels has weights for), and, with
    /// `sameRank`, of the same ranks (a convolution's spatial axes).
    static func sameLastAxes(_ shapes: [[Int]], _ built: [[Int]], sameRank: Bool) -> Bool {
        shapes.count == built.count
            && zip(shapes, built).allSatisfy { !$0.isEmpty && $0.last == $1.last && (!sameRank || $0.count == $1.count) }
    }

    /// Builds the layer the first time, and checks later calls use input shapes it accepts.
    func prepare(inputShapes: [[Int]]) throws {
        if let built = builtInputShapes {
            guard accepts(inputShapes: inputShapes, builtFor: built) else {
                throw KilnError(.shapeMismatch, "was built for inputs \(Self.shapesText(built)), "
                                + "called on \(Self.shapesText(inputShapes))")
            }
            return
        }
        try build(inputShapes: inputShapes)
        for variable in variables {
            try variable.regularizer?.check("the regularizer of weight \(variable.name)")
            try variable.constraint?.check(rank: variable.shape.count, "the constraint of weight \(variable.name)")
        }
        // A bias's regularizer or constraint on a layer without a bias does nothing, as in Keras.
        for name in Set(weightRegularizers.keys).union(weightConstraints.keys)
        where name != "bias" && !variables.contains(where: { $0.name == name }) {
            throw KilnError(.invalidArgument, "has a regularizer or constraint for weight \(String(reflecting: name)), but no such "
                            + "weight; its weights are: \(variables.map(\.name).joined(separator: ", "))")
        }
        try activityRegularizer?.check("the activity regularizer")
        builtInputShapes = inputShapes
    }

    /// Sets the regularizer and constraint of weight `name` (the layers' `kernelRegularizer:`,
    /// `kernelConstraint:`, ... arguments).
    func regularize(_ name: String, _ regularizer: Regularizer?, _ constraint: Constraint?) {
        if let regularizer { weightRegularizers[name] = regularizer }
        if let constraint { weightConstraints[name] = constraint }
    }

    /// Sets the kernel's, the bias's (and a recurrent kernel's) regularizer and constraint,
    /// and the activity regularizer: the arguments of Dense, the convolutions and the
    /// recurrent layers.
    func regularize(kernel: (Regularizer?, Constraint?), recurrent: (Regularizer?, Constraint?) = (nil, nil),
                    bias: (Regularizer?, Constraint?), activity: Regularizer?) {
        regularize("kernel", kernel.0, kernel.1)
        regularize("recurrent_kernel", recurrent.0, recurrent.1)
        regularize("bias", bias.0, bias.1)
        activityRegularizer = activity
    }

    /// The configuration saved for the layer: ``config`` with its regularizers and constraints
    /// under Keras' keys (`kernel_regularizer`, `recurrent_constraint`, `activity_regularizer`, ...).
    var savedConfig: [String: JSONValue] {
        var saved = config
        for (name, regularizer) in weightRegularizers { saved["\(Self.configPrefix(name))_regularizer"] = regularizer.config }
        for (name, constraint) in weightConstraints { saved["\(Self.configPrefix(name))_constraint"] = constraint.config }
        if let activityRegularizer { saved["activity_regularizer"] = activityRegularizer.config }
        return saved
    }

    /// Keras' name for a weight in its regularizer and constraint arguments (`recurrent` for
    /// `recurrent_kernel`).
    static func configPrefix(_ weight: String) -> String { weight == "recurrent_kernel" ? "recurrent" : weight }

    /// Throws unless there is exactly one input.
    public func requireSingleInput(_ inputShapes: [[Int]]) throws {
        guard inputShapes.count == 1 else {
            throw KilnError(.invalidArgument, "takes one input, got \(inputShapes.count)")
        }
    }

    /// Shapes as Keras prints them: `(None, 16)`.
    static func shapesText(_ shapes: [[Int]]) -> String {
        shapes.map { "(None, " + $0.map { $0 == Input.none ? "None" : String($0) }.joined(separator: ", ") + ")" }
            .joined(separator: ", ")
            .replacingNone()
    }
}

extension Layer {
    /// The per-sample shapes of graph inputs (without their leading batch dimension).
    func inputShapes(_ inputs: [Node]) -> [[Int]] {
        inputs.map { $0.shape.dims.dropFirst().map { $0.staticSize ?? 0 } }
    }
}

extension String {
    fileprivate func replacingNone() -> String { replacing("(None, )", with: "(None,)") }
}

/// One weight of a layer: its values live in a ``VariableBuffer`` that every model
/// containing the layer shares.
public final class LayerVariable {
    /// The weight's name within its layer (`kernel`).
    public let name: String
    /// `layer/weight`, the variable's name in graphs and saved files.
    public let path: String
    /// `false` for state that training does not differentiate.
    public let isTrainable: Bool
    /// The elements.
    public let buffer: VariableBuffer
    /// The penalty on the weight added to the loss, if any.
    public let regularizer: Regularizer?
    /// The constraint applied after each update, if any.
    public let constraint: Constraint?

    init(name: String, layerName: String, value: Tensor, isTrainable: Bool, regularizer: Regularizer? = nil,
         constraint: Constraint? = nil) {
        self.name = name
        self.path = "\(layerName)/\(name)"
        self.isTrainable = isTrainable
        self.regularizer = regularizer
        self.constraint = constraint
        buffer = VariableBuffer(value)
    }

    /// The shape.
    public var shape: [Int] { buffer.shape }
    /// A copy of the current value.
    public var value: Tensor { buffer.value }
}

/// Keras-style unique names: the first `dense`, then `dense_1`, `dense_2`, …
enum LayerNames {
    private static let counters = Mutex<[String: Int]>([:])

    static func unique(_ prefix: String) -> String {
        counters.withLock { counters in
            let count = counters[prefix, default: 0]
            counters[prefix] = count + 1
            return count == 0 ? prefix : "\(prefix)_\(count)"
        }
    }

    /// `BatchNormalization` → `batch_normalization`, `Conv2D` → `conv2d`, `MaxPooling2D` →
    /// `max_pooling2d`: Keras' rule, an underscore before each capital that starts a
    /// lower-case word and between a lower-case letter and a capital.
    static func snakeCase(_ name: String) -> String {
        let characters = Array(name)
        var result = ""
        for (index, character) in characters.enumerated() {
            if index > 0 && character.isUppercase {
                let startsWord = index + 1 < characters.count && characters[index + 1].isLowercase
                if startsWord || characters[index - 1].isLowercase { result += "_" }
            }
            result += character.lowercased()
        }
        return result
    }
}
