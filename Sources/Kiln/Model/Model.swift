import KilnGraph
import Synchronization

/// A network of layers from inputs to an output, trained with ``compile(optimizer:loss:metrics:backend:)``
/// and ``fit(_:_:batchSize:epochs:validationSplit:validationData:shuffle:classWeight:sampleWeight:initialEpoch:verbose:callbacks:)``.
///
/// ```swift
/// let inp = Input(shape: [4])
/// let h = Dense(8, activation: .relu)(inp)
/// let out = Dense(3, activation: .softmax)(h)
/// let model = Model(inputs: inp, outputs: out)
/// ```
///
/// The model becomes three static graphs when first used: inference, evaluation, and a
/// training step (forward, loss, backward, optimizer update and metric accumulators in one
/// graph, one native call per batch on the JIT backend).
///
/// `layers` lists the layers in call order, without the inputs (in Keras, a functional
/// model's `layers` also lists its `InputLayer`s).
///
/// Thread safety: `predict` may be called from several threads at once, also while the same
/// model trains in another thread (a prediction then mixes weights from before and after a
/// step). `compile`, `fit`, `evaluate`, `trainOnBatch`, `testOnBatch`, `setWeights`, `save`
/// and the loading methods change the model's state and must not run at the same time as
/// each other on one model. Different models are independent.
open class Model: @unchecked Sendable {
    /// The model's name.
    public let name: String
    /// The inputs, in the order data is given.
    public internal(set) var inputs: [Input] = []
    /// The outputs, in the order targets are given and ``predictAll(_:batchSize:)`` returns them.
    public internal(set) var outputs: [SymbolicTensor] = []
    /// The outputs' names, by which targets, losses and metrics are given and logs are keyed
    /// (`OUTPUT_loss`): the name of the layer computing each (or of the input it is), with
    /// `_1`, `_2`, … added to repeats.
    public internal(set) var outputNames: [String] = []
    /// The first output (the only one of most models).
    public var output: SymbolicTensor? { outputs.first }
    /// The layers in call order.
    public internal(set) var layers: [Layer] = []
    /// The layer calls from inputs to output, in order.
    var calls: [LayerCall] = []
    /// Why the model cannot run, if a shape did not fit while it was built.
    var failure: KilnError?
    /// The layer standing for the model inside other models, while one uses it.
    weak var nestedLayer: ModelLayer?

    /// Set by a callback to end ``fit`` after the current epoch.
    public var stopTraining = false
    /// Whether `fit`, `evaluate` and `predict` reject NaN and infinite inputs (naming the
    /// row and column). Turn off for data known to be finite, or to let NaN through.
    public var checksFiniteInputs = true
    /// The variables of every program of the model: layer weights (shared with other models
    /// containing the same layers), optimizer state, metric accumulators.
    let store = VariableStore()
    /// The compiled state, made at the first `fit`, `evaluate` or `predict`.
    var compiled: CompiledModel?
    var compileOptions: CompileOptions?
    /// Held while programs are made or the model is built from data, so that threads calling
    /// `predict` at once make one program.
    let building = Mutex(())

    /// A functional model from one input to `outputs`.
    public convenience init(inputs: Input, outputs: SymbolicTensor, name: String? = nil) {
        self.init(inputs: [inputs], outputs: outputs, name: name)
    }

    /// A functional model from several inputs to `outputs`.
    public convenience init(inputs: [Input], outputs: SymbolicTensor, name: String? = nil) {
        self.init(inputs: inputs, outputs: [outputs], name: name)
    }

    /// A functional model from one input to several outputs.
    public convenience init(inputs: Input, outputs: [SymbolicTensor], name: String? = nil) {
        self.init(inputs: [inputs], outputs: outputs, name: name)
    }

    /// A functional model from several inputs to several outputs. Targets, losses, loss
    /// weights and metrics are then given per output, in this order or by ``outputNames``.
    public init(inputs: [Input], outputs: [SymbolicTensor], name: String? = nil) {
        self.name = name ?? LayerNames.unique("functional")
        connect(inputs: inputs, outputs: outputs)
    }

    init(name: String) { self.name = name }

    /// The model's type in saved files and summaries.
    open var typeName: String { "Functional" }

    /// Works out the layer calls from `inputs` to `outputs`.
    func connect(inputs: [Input], outputs: [SymbolicTensor]) {
        self.inputs = inputs
        self.outputs = outputs
        outputNames = Self.uniqueNames(outputs.map { $0.producer?.layer.name ?? ($0 as? Input)?.name ?? "output" })
        calls = []
        layers = []
        failure = outputs.lazy.compactMap(\.failure).first ?? inputs.lazy.compactMap(\.failure).first
        if failure == nil, outputs.isEmpty {
            failure = KilnError(.invalidArgument, "model \(String(reflecting: name)) has no outputs")
        }
        guard failure == nil else { return }
        var visited = Set<ObjectIdentifier>()
        var seenLayers = Set<ObjectIdentifier>()
        let known = Set(inputs.map(ObjectIdentifier.init))
        func visit(_ tensor: SymbolicTensor) throws {
            guard let producer = tensor.producer else {
                guard known.contains(ObjectIdentifier(tensor)) else {
                    let name = (tensor as? Input)?.name ?? "?"
                    throw KilnError(.invalidArgument, "model \(String(reflecting: self.name)): the output depends on input "
                                    + "\(String(reflecting: name)), which is not among the model's inputs")
                }
                return
            }
            guard visited.insert(ObjectIdentifier(producer)).inserted else { return }
            for input in producer.inputs { try visit(input) }
            calls.append(producer)
            if seenLayers.insert(ObjectIdentifier(producer.layer)).inserted { layers.append(producer.layer) }
        }
        do {
            for output in outputs { try visit(output) }
        } catch {
            failure = error as? KilnError
        }
        failure = failure ?? duplicateNames()
    }

    /// `names` with `_1`, `_2`, … added to the second and later of each repeated name.
    static func uniqueNames(_ names: [String]) -> [String] {
        var seen: [String: Int] = [:]
        return names.map { name in
            let count = seen[name, default: 0]
            seen[name] = count + 1
            return count == 0 ? name : "\(name)_\(count)"
        }
    }

    /// The error for two layers (or two inputs) of the model with the same name, as Keras
    /// reports it when the model is made (layers of nested models count too, as their weights
    /// are saved by layer name); one layer called several times is sharing, not a clash.
    func duplicateNames() -> KilnError? {
        var counts: [String: Int] = [:]
        for name in inputs.map(\.name) + nestedLayerNames { counts[name, default: 0] += 1 }
        guard let (name, count) = counts.filter({ $0.value > 1 }).min(by: { $0.key < $1.key }) else { return nil }
        return KilnError(.invalidArgument, "model \(String(reflecting: self.name)): the name \(String(reflecting: name)) is "
                         + "used \(count) times in the model; all layer and input names must be unique")
    }

    /// Builds a model that has no inputs yet from the data's sample shapes (a ``Sequential``
    /// without an ``Input``); functional models have theirs.
    func build(sampleShapes: [[Int]], dtypes: [DType]) {}

    /// Builds the model from the data's sample shapes if it has no inputs yet.
    func buildIfNeeded(from data: [Tensor]) {
        building.withLock { _ in
            if inputs.isEmpty { build(sampleShapes: data.map { Array($0.shape.dropFirst()) }, dtypes: data.map(\.dtype)) }
        }
    }

    /// Throws the error that stopped the model being built, if any.
    func requireBuilt() throws {
        if let failure { throw failure }
        guard output != nil, !inputs.isEmpty else {
            throw KilnError(.notReady, "model \(String(reflecting: name)) has no input shape yet: give it an Input, "
                            + "or call fit or predict, which build it from the data")
        }
    }

    /// Adds the model's nodes to `context.graph`, from input nodes to the output nodes.
    func forward(_ inputNodes: [Node], context: LayerContext) throws -> [Node] {
        var values: [SymbolicTensor.Key: Node] = [:], masks: [SymbolicTensor.Key: Node] = [:]
        for (input, node) in zip(inputs, inputNodes) { values[input.key] = node }
        for call in calls {
            let operands = try call.inputs.map { input in
                guard let node = values[input.key] else {
                    throw KilnError(.invalidGraph, "model \(String(reflecting: name)): layer \(call.layer.name) is called on a "
                                    + "value computed after it")
                }
                return node
            }
            let operandMasks = call.inputs.map { masks[$0.key] }
            do {
                let results = try call.layer.callAll(operands, masks: operandMasks, context: context)
                let resultMasks = try call.layer.computeMasks(operands, masks: operandMasks)
                guard results.count == call.outputShapes.count, resultMasks.count == results.count else {
                    throw KilnError(.invalidGraph, "gave \(results.count) outputs and \(resultMasks.count) masks, "
                                    + "expected \(call.outputShapes.count)")
                }
                if let activity = call.layer.activityRegularizer {
                    // Each output's penalty per sample, as Keras 3 divides it by the batch size.
                    for result in results where result.dtype == .float32 {
                        let penalty = try activity.penalty(result)
                        try context.addLoss(result.shape.rank == 0 ? penalty : try penalty / result.graph.elementCount([.batch]))
                    }
                }
                let source = ObjectIdentifier(call)
                for (index, (result, mask)) in zip(results, resultMasks).enumerated() {
                    let key = SymbolicTensor.Key(source: source, index: index)
                    values[key] = result
                    masks[key] = mask
                }
            } catch {
                throw call.layer.failure(error)
            }
        }
        return try outputs.map { output in
            guard let node = values[output.key] else {
                throw KilnError(.invalidGraph, "model \(String(reflecting: name)) has no output")
            }
            return node
        }
    }

    /// Every weight of every layer, in layer order.
    public var variables: [LayerVariable] { layers.flatMap(\.variables) }

    /// The penalties of the regularized trainable weights at their current values, in weight
    /// order (Keras' `model.losses`). The training and evaluation losses include them, and
    /// the activity regularizers' penalties, which depend on a batch.
    public var losses: [Float] {
        layers.flatMap(\.trainableVariables).compactMap { variable in variable.regularizer.map { $0.penalty(of: variable.value) } }
    }

    /// The weights' values, in layer order (Keras' `get_weights`).
    public func getWeights() -> [Tensor] { variables.map(\.value) }

    /// Replaces every weight's value, given in ``getWeights()`` order.
    ///
    /// - Throws: ``KilnError`` naming the layer and weight if the count or a shape differs.
    public func setWeights(_ values: [Tensor]) throws {
        let all = variables
        guard values.count == all.count else {
            throw KilnError(.shapeMismatch, "model \(String(reflecting: name)) has \(all.count) weights, got \(values.count)")
        }
        var offset = 0
        for layer in layers {
            try layer.setWeights(Array(values[offset..<(offset + layer.variables.count)]))
            offset += layer.variables.count
        }
    }

    /// The layer called `name`.
    ///
    /// - Throws: ``KilnError`` listing the layers if there is none called `name`.
    public func layer(named name: String) throws -> Layer {
        guard let layer = layers.first(where: { $0.name == name }) else {
            throw KilnError(.unknownName, "model \(String(reflecting: self.name)) has no layer \(String(reflecting: name)); "
                            + "its layers are: \(layers.map(\.name).joined(separator: ", "))")
        }
        return layer
    }
}
