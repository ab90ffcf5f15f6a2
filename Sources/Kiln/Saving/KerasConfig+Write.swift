import Foundation
import KilnGraph

extension KerasConfig {
    /// The Keras layer classes Kiln has and writes.
    static let kerasClasses: Set<String> = [
        "Dense", "Activation", "Dropout", "Flatten", "Reshape", "BatchNormalization", "LayerNormalization", "Embedding",
        "Add", "Concatenate", "Rescaling", "Conv1D", "Conv2D", "Conv2DTranspose", "MaxPooling1D", "MaxPooling2D",
        "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
        "GlobalMaxPooling2D", "ZeroPadding2D", "UpSampling2D", "SpatialDropout2D", "SimpleRNN", "LSTM", "GRU",
        "Bidirectional", "TimeDistributed",
    ]

    /// Layers whose Keras constructor takes no `trainable` argument.
    static let withoutTrainable: Set<String> = ["SpatialDropout2D"]

    /// Keras' float32 dtype policy object.
    static let float32Policy: JSONValue = .object(["module": .string("keras"), "class_name": .string("DTypePolicy"),
                                                   "config": .object(["name": .string("float32")]), "registered_name": .null])

    /// Keras' description of `model` (the whole `config.json`, or a nested model's entry).
    ///
    /// - Throws: ``KilnError`` naming the layer and field that Keras cannot express.
    static func entry(of model: Model) throws -> [String: JSONValue] {
        try model.requireBuilt()
        var config: [String: JSONValue] = ["name": .string(model.name), "trainable": .bool(true)]
        if model is Sequential {
            let input = model.inputs[0]
            config["dtype"] = float32Policy
            config["layers"] = .array([.object(inputEntry(input))] + (try model.layers.map { try layerEntry($0, calls: [], in: model) }))
            config["build_input_shape"] = batchShape(input.shape)
        } else {
            var names: [SymbolicTensor.Key: [JSONValue]] = [:]
            for input in model.inputs { names[input.key] = [.string(input.name), .number(0), .number(0)] }
            // Each call's outputs are [layer, k, index] for the layer's k-th call.
            var callsByLayer: [ObjectIdentifier: [LayerCall]] = [:]
            for call in model.calls {
                let id = ObjectIdentifier(call.layer)
                let k = callsByLayer[id, default: []].count
                callsByLayer[id, default: []].append(call)
                for index in call.outputShapes.indices {
                    names[SymbolicTensor.Key(source: ObjectIdentifier(call), index: index)] =
                        [.string(call.layer.name), .number(Double(k)), .number(Double(index))]
                }
            }
            func reference(_ tensor: SymbolicTensor) -> JSONValue {
                .object(["class_name": .string("__keras_tensor__"),
                         "config": .object(["shape": batchShape(tensor.shape), "dtype": .string(dtypeName(tensor.dtype)),
                                            "keras_history": .array(names[tensor.key] ?? [])])])
            }
            var layers: [JSONValue] = []
            for (_, layer, input) in layerOrder(of: model) {
                if let input {
                    var entry = inputEntry(input)
                    entry["name"] = .string(input.name)
                    entry["inbound_nodes"] = .array([])
                    layers.append(.object(entry))
                    continue
                }
                guard let layer else { continue }
                let calls = callsByLayer[ObjectIdentifier(layer)] ?? []
                var entry = try layerEntry(layer, calls: calls, in: model).object ?? [:]
                entry["name"] = .string(layer.name)
                entry["inbound_nodes"] = .array(calls.map { call in
                    .object(arguments(of: call, layer: layer, reference: reference))
                })
                layers.append(.object(entry))
            }
            config["layers"] = .array(layers)
            func references(_ tensors: [SymbolicTensor]) -> JSONValue {
                let list = tensors.map { JSONValue.array(names[$0.key] ?? []) }
                return list.count == 1 ? list[0] : .array(list)
            }
            config["input_layers"] = references(model.inputs)
            config["output_layers"] = references(model.outputs)
        }
        var entry: [String: JSONValue] = ["module": .string(model is Sequential ? "keras" : "keras.src.models.functional"),
                                          "class_name": .string(model.typeName), "config": .object(config),
                                          "registered_name": .null]
        if model.inputs.count == 1 { entry["build_config"] = .object(["input_shape": batchShape(model.inputs[0].shape)]) }
        if let compile = compileConfig(of: model) { entry["compile_config"] = compile }
        return entry
    }

    /// A call's `args` and `kwargs`: merging layers and models of several inputs take one
    /// list, a recurrent layer takes its initial states as `initial_state`.
    private static func arguments(of call: LayerCall, layer: Layer,
                                  reference: (SymbolicTensor) -> JSONValue) -> [String: JSONValue] {
        let tensors = call.inputs.map(reference)
        if takesStatesAsKeywords(layer), tensors.count > 1 {
            return ["args": .array([tensors[0]]), "kwargs": .object(["initial_state": .array(Array(tensors.dropFirst()))])]
        }
        if tensors.count == 1 { return ["args": .array(tensors), "kwargs": .object([:])] }
        return ["args": .array([.array(tensors)]), "kwargs": .object([:])]
    }

    /// Keras' layer list of a model, in Keras' order: a Sequential's layers; for a functional
    /// model, the inputs and layers ordered as Keras orders them when it connects the graph
    /// (by depth from the outputs, deepest first, then by first visit of a depth-first walk
    /// from the outputs), which places each layer's weights in the file.
    static func layerOrder(of model: Model) -> [(className: String, layer: Layer?, input: Input?)] {
        if model is Sequential { return model.layers.map { (className(of: $0), $0, nil) } }
        enum Operation: Hashable {
            case input(ObjectIdentifier)
            case layer(ObjectIdentifier)
        }
        struct GraphNode {
            let id: ObjectIdentifier
            let operation: Operation
            let call: LayerCall?
            let input: Input?
        }
        func graphNode(of tensor: SymbolicTensor) -> GraphNode? {
            if let call = tensor.producer {
                return GraphNode(id: ObjectIdentifier(call), operation: .layer(ObjectIdentifier(call.layer)), call: call, input: nil)
            }
            guard let input = tensor as? Input else { return nil }
            return GraphNode(id: ObjectIdentifier(input), operation: .input(ObjectIdentifier(input)), call: nil, input: input)
        }
        var finished: Set<ObjectIdentifier> = []
        var nodes: [GraphNode] = []
        var indices: [Operation: Int] = [:]
        func visit(_ tensor: SymbolicTensor) {
            guard let node = graphNode(of: tensor), !finished.contains(node.id) else { return }
            if indices[node.operation] == nil { indices[node.operation] = indices.count }
            for input in node.call?.inputs ?? [] { visit(input) }
            finished.insert(node.id)
            nodes.append(node)
        }
        for output in model.outputs { visit(output) }
        var nodeDepths: [ObjectIdentifier: Int] = [:]
        var operationDepths: [Operation: Int] = [:]
        var operations: [(Operation, GraphNode)] = []
        for node in nodes.reversed() {
            var depth = nodeDepths[node.id] ?? 0
            depth = max(depth, operationDepths[node.operation] ?? 0)
            if operationDepths[node.operation] == nil { operations.append((node.operation, node)) }
            operationDepths[node.operation] = depth
            nodeDepths[node.id] = depth
            for input in node.call?.inputs ?? [] {
                guard let parent = graphNode(of: input) else { continue }
                nodeDepths[parent.id] = max(depth + 1, nodeDepths[parent.id] ?? 0)
            }
        }
        for input in model.inputs where operationDepths[.input(ObjectIdentifier(input))] == nil {
            let operation = Operation.input(ObjectIdentifier(input))
            operationDepths[operation] = 0
            indices[operation] = -1
            operations.append((operation, GraphNode(id: ObjectIdentifier(input), operation: operation, call: nil, input: input)))
        }
        let ordered = operations.enumerated().sorted { a, b in
            let (depthA, depthB) = (operationDepths[a.element.0]!, operationDepths[b.element.0]!)
            if depthA != depthB { return depthA > depthB }
            let (indexA, indexB) = (indices[a.element.0]!, indices[b.element.0]!)
            return indexA != indexB ? indexA < indexB : a.offset < b.offset
        }
        return ordered.map { _, item in
            let node = item.1
            if let input = node.input { return ("InputLayer", nil, input) }
            return (className(of: node.call!.layer), node.call!.layer, nil)
        }
    }

    /// Keras' layer list of a model with each layer's Keras class name (``layerOrder(of:)``
    /// without the inputs' tensors): what places the weights in the file.
    static func layerList(of model: Model) -> [(className: String, layer: Layer?)] {
        layerOrder(of: model).map { ($0.className, $0.layer) }
    }

    /// Whether the layer takes its inputs after the first as Keras' `initial_state` keyword
    /// argument (a recurrent layer and a Bidirectional), so it is built for the first alone.
    private static func takesStatesAsKeywords(_ layer: Layer) -> Bool { layer is Recurrent || layer is Bidirectional }

    /// Keras' class name of a layer (a nested model's own type).
    static func className(of layer: Layer) -> String {
        (layer as? ModelLayer)?.model.typeName ?? type(of: layer).typeName
    }

    private static func inputEntry(_ input: Input) -> [String: JSONValue] {
        ["module": .string("keras.layers"), "class_name": .string("InputLayer"), "registered_name": .null,
         "config": .object(["batch_shape": batchShape(input.shape), "dtype": .string(dtypeName(input.dtype)),
                            "sparse": .bool(false), "ragged": .bool(false), "name": .string(input.name)])]
    }

    private static func batchShape(_ shape: [Int]) -> JSONValue {
        .array([.null] + shape.map { $0 == Input.none ? .null : .number(Double($0)) })
    }

    private static func dtypeName(_ dtype: DType) -> String { dtype == .int32 ? "int32" : "float32" }

    /// Keras' entry for one layer.
    private static func layerEntry(_ layer: Layer, calls: [LayerCall], in model: Model) throws -> JSONValue {
        if let nested = layer as? ModelLayer { return .object(try entry(of: nested.model)) }
        var entry = try layerObject(layer, name: layer.name, context: "layer \(layer.description)")
        if let call = calls.first ?? model.calls.first(where: { $0.layer === layer }) {
            let shapes = (takesStatesAsKeywords(layer) ? Array(call.inputs.prefix(1)) : call.inputs).map { batchShape($0.shape) }
            entry["build_config"] = .object(["input_shape": shapes.count == 1 ? shapes[0] : .array(shapes)])
        }
        return .object(entry)
    }

    /// Keras' configuration of a layer from Kiln's.
    private static func kerasFields(_ saved: [String: JSONValue], className: String, layer: Layer?,
                                    context: String) throws -> [String: JSONValue] {
        if layer is TextVectorization {
            throw KilnError(.invalidArgument, "\(context): a TextVectorization layer keeps its vocabulary in assets, which "
                            + "Kiln does not write to .keras files; save the model as .kiln")
        }
        guard kerasClasses.contains(className) else {
            throw KilnError(.invalidArgument, "\(context): \(className) is not a Keras layer; Keras could not load it without "
                            + "Python code for it (save the model as .kiln)")
        }
        var fields = saved
        for (key, value) in saved {
            if key.hasSuffix("_initializer") {
                fields[key] = try kerasInitializer(value, context: "\(context): field \(String(reflecting: key))")
            } else if key.hasSuffix("_regularizer") || key.hasSuffix("_constraint"), var object = value.object {
                object["module"] = .string(key.hasSuffix("_regularizer") ? "keras.regularizers" : "keras.constraints")
                object["registered_name"] = .null
                fields[key] = .object(object)
            } else if key == "activation" || key == "recurrent_activation", value.string == nil {
                throw KilnError(.invalidArgument, "\(context): field \(String(reflecting: key)) is \(value), which a Keras "
                                + "activation argument cannot hold (use a separate activation layer)")
            }
        }
        switch layer {
        case let rescaling as Rescaling:
            fields["features"] = nil
            let weights = rescaling.weights
            func values(_ tensor: Tensor) -> JSONValue {
                let scalars = tensor.scalars
                return scalars.count == 1 ? .number(Double(scalars[0])) : .array(scalars.map { .number(Double($0)) })
            }
            fields["scale"] = values(weights[0])
            fields["offset"] = values(weights[1])
        case let wrapper as TimeDistributed:
            fields["layer"] = .object(try layerObject(wrapper.layer, name: wrapper.layer.name, context: "\(context): layer"))
        case let bidirectional as Bidirectional:
            let forward = bidirectional.forwardLayer
            var name = String(forward.name.split(separator: "/").last ?? "layer")
            if name.hasPrefix("forward_") { name.removeFirst("forward_".count) }
            fields["layer"] = .object(try layerObject(forward, name: name, context: "\(context): layer"))
        default: break
        }
        return fields
    }

    /// Keras' object for `layer` called `name`: its class and its configuration with the
    /// arguments every Keras layer takes (a model's layer, or the one a wrapper holds).
    private static func layerObject(_ layer: Layer, name: String, context: String) throws -> [String: JSONValue] {
        let className = type(of: layer).typeName
        var config = try kerasFields(layer.savedConfig, className: className, layer: layer, context: context)
        config["name"] = .string(name)
        if !withoutTrainable.contains(className) { config["trainable"] = .bool(layer.trainable) }
        config["dtype"] = float32Policy
        return ["module": .string("keras.layers"), "class_name": .string(className), "config": .object(config),
                "registered_name": .null]
    }

    /// Keras' form of a Kiln initializer configuration (`"glorot_uniform"`,
    /// `{"name": "constant", "value": 0.5}`).
    private static func kerasInitializer(_ value: JSONValue, context: String) throws -> JSONValue {
        let name = value.string ?? value.object?["name"]?.string
        guard let name, let className = initializerNames.first(where: { $0.value == name })?.key else {
            throw KilnError(.invalidArgument, "\(context): initializer \(value) has no Keras counterpart")
        }
        var config = value.object ?? [:]
        config["name"] = nil
        return .object(["module": .string("keras.initializers"), "class_name": .string(className), "config": .object(config),
                        "registered_name": .null])
    }
}
