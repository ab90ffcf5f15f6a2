import Foundation
import KilnGraph

/// Keras 3's `config.json`: models and layers as `{"module", "class_name", "config",
/// "registered_name"}` objects, translated to and from Kiln's layers.
enum KerasConfig {
    /// Arguments Kiln has no counterpart for, with the only value it accepts (Keras' default).
    static let fixedArguments: [(key: String, value: JSONValue)] = [
        ("stateful", .bool(false)), ("groups", .number(1)), ("data_format", .string("channels_last")),
        ("lora_rank", .null), ("quantization_config", .null), ("renorm", .bool(false)), ("synchronized", .bool(false)),
        ("rms_scaling", .bool(false)), ("noise_shape", .null), ("sparse", .bool(false)), ("ragged", .bool(false)),
        ("time_major", .bool(false)), ("output_padding", .null),
    ]

    /// Initializer classes Kiln has, by Keras' class name.
    static let initializerNames: [String: String] = [
        "Zeros": "zeros", "Ones": "ones", "Constant": "constant", "RandomUniform": "random_uniform",
        "RandomNormal": "random_normal", "GlorotUniform": "glorot_uniform", "GlorotNormal": "glorot_normal",
        "HeUniform": "he_uniform", "HeNormal": "he_normal", "Orthogonal": "orthogonal",
    ]

    // MARK: Models

    /// A model read from Keras' description of it (the whole `config.json`, or a nested
    /// model's entry), with its layers paired with Keras' layer list in order (`nil` for
    /// an `InputLayer`), which places their weights.
    static func model(_ entry: [String: JSONValue], file: String) throws -> (Model, [(className: String, layer: Layer?)]) {
        let outer = ConfigReader(entry, context: "\(file): config.json")
        let className = try outer.string("class_name")
        let config = ConfigReader(try outer.object("config"), context: "\(file): model")
        let name = (try? config.string("name")) ?? "model"
        let context = "\(file): model \(String(reflecting: name))"
        switch className {
        case "Sequential":
            return try sequential(config, name: name, build: entry["build_config"], context: context, file: file)
        case "Functional", "Model":
            return try functional(config, name: name, context: context, file: file)
        default:
            throw KilnError(.file, "\(context): a \(className) model cannot be read; Kiln reads Sequential and Functional "
                            + "models (a subclassed model holds Python code)")
        }
    }

    private static func sequential(_ config: ConfigReader, name: String, build: JSONValue?, context: String,
                                   file: String) throws -> (Model, [(className: String, layer: Layer?)]) {
        var entries = try config.array("layers").map { value -> [String: JSONValue] in
            guard let object = value.object else { throw KilnError(.file, "\(context): a layer entry is not an object") }
            return object
        }
        var input: Input
        if let first = entries.first, first["class_name"] == .string("InputLayer") {
            input = try self.input(first, context: context)
            entries.removeFirst()
        } else {
            let shape = config.fields["build_input_shape"] ?? build?.object?["input_shape"]
            guard let shape, shape != .null else {
                throw KilnError(.file, "\(context): the Sequential model was saved before it was built (no InputLayer and no "
                                + "build_input_shape), so its weights have no shapes")
            }
            input = Input(shape: try self.shape(shape, context: "\(context): build_input_shape"), name: "\(name)_input")
            if let failure = input.failure { throw KilnError(.file, "\(context): \(failure.message)") }
        }
        let layers = try entries.map { try layer($0, context: context, file: file) }
        let model = Sequential([input] + layers.map(\.element), name: name)
        if let failure = model.failure { throw KilnError(.file, "\(context): \(failure.message)") }
        return (model, layers.map { ($0.className, $0.layer) })
    }

    private static func functional(_ config: ConfigReader, name: String, context: String,
                                   file: String) throws -> (Model, [(className: String, layer: Layer?)]) {
        var tensors: [String: [Int: [SymbolicTensor]]] = [:]
        var order: [(className: String, layer: Layer?)] = []
        var pending: [(name: String, layer: Layer, nodes: [JSONValue], context: String)] = []
        for value in try config.array("layers") {
            guard let entry = value.object else { throw KilnError(.file, "\(context): a layer entry is not an object") }
            if entry["class_name"] == .string("InputLayer") {
                let input = try self.input(entry, context: context)
                tensors[input.name] = [0: [input]]
                order.append(("InputLayer", nil))
                continue
            }
            // The mask of an Embedding with mask_zero, which Keras saves as an op for the layers
            // after it (`mask` arguments, which Kiln passes on by itself); not a layer.
            if entry["class_name"] == .string("NotEqual") { continue }
            let made = try layer(entry, context: context, file: file)
            let layerName = made.layer.name
            order.append((made.className, made.layer))
            let nodes = entry["inbound_nodes"]?.array ?? []
            pending.append((layerName, made.layer, nodes, "\(context): layer \(String(reflecting: layerName))"))
        }
        /// The tensor a `[layer, node, tensor]` reference names, once it exists.
        func tensor(_ reference: JSONValue?, _ where_: String) throws -> SymbolicTensor? {
            guard let parts = reference?.array, parts.count == 3, let layerName = parts[0].string,
                  let node = ConfigReader.exactInt(parts[1]), let index = ConfigReader.exactInt(parts[2]) else {
                throw KilnError(.file, "\(where_): a tensor reference is not [layer, node, index]: \(reference ?? .null)")
            }
            guard let outputs = tensors[layerName]?[node] else { return nil }
            guard outputs.indices.contains(index) else {
                throw KilnError(.file, "\(where_): layer \(String(reflecting: layerName)) has no output \(index)")
            }
            return outputs[index]
        }
        /// The tensors of one call's arguments, or `nil` while one is not made yet.
        func operands(_ node: JSONValue, _ where_: String) throws -> [SymbolicTensor]? {
            guard let object = node.object, let args = object["args"]?.array else {
                throw KilnError(.file, "\(where_): an inbound node has no args")
            }
            var found: [SymbolicTensor] = []
            func collect(_ value: JSONValue) throws -> Bool {
                if let list = value.array {
                    for item in list where try !collect(item) { return false }
                    return true
                }
                guard let object = value.object, object["class_name"] == .string("__keras_tensor__") else {
                    throw KilnError(.file, "\(where_): an argument \(value) is not a tensor; Kiln calls layers on tensors only")
                }
                guard let made = try tensor(object["config"]?.object?["keras_history"], where_) else { return false }
                found.append(made)
                return true
            }
            for arg in args where try !collect(arg) { return nil }
            for (key, value) in (object["kwargs"]?.object ?? [:]).sorted(by: { $0.key < $1.key }) {
                switch key {
                case "training", "mask": continue
                case "initial_state":
                    if try !collect(value) { return nil }
                default:
                    throw KilnError(.file, "\(where_): the call argument \(String(reflecting: key)) is not supported")
                }
            }
            return found
        }
        // Calls in order, each once its operands exist (a shared layer's later call may
        // need a layer listed after it).
        var made = Array(repeating: 0, count: pending.count)
        var progress = true
        while progress {
            progress = false
            for (k, item) in pending.enumerated() where made[k] < item.nodes.count {
                guard let inputs = try operands(item.nodes[made[k]], item.context) else { continue }
                let outputs = item.layer.callAll(inputs)
                if let failure = outputs.first?.failure { throw KilnError(.file, "\(item.context): \(failure.message)") }
                tensors[item.name, default: [:]][made[k]] = outputs
                made[k] += 1
                progress = true
            }
        }
        if let stuck = pending.indices.first(where: { made[$0] < pending[$0].nodes.count }) {
            throw KilnError(.file, "\(pending[stuck].context): call \(made[stuck]) takes a tensor no layer makes")
        }
        func references(_ key: String) throws -> [JSONValue] {
            let value = config.fields[key] ?? .null
            guard let list = value.array else {
                throw KilnError(.file, "\(context): \(key) should be a list of [layer, node, index], found \(value)")
            }
            // One tensor is saved as a bare [layer, node, index].
            return list.first?.string != nil ? [value] : list
        }
        let inputs = try references("input_layers").map { reference -> Input in
            guard let input = try tensor(reference, context) as? Input else {
                throw KilnError(.file, "\(context): input \(reference) is not an InputLayer")
            }
            return input
        }
        let outputs = try references("output_layers").map { reference -> SymbolicTensor in
            guard let output = try tensor(reference, context) else {
                throw KilnError(.file, "\(context): output \(reference) is not made by any layer")
            }
            return output
        }
        let model = Model(inputs: inputs, outputs: outputs, name: name)
        if let failure = model.failure { throw KilnError(.file, "\(context): \(failure.message)") }
        return (model, order)
    }

    /// An `InputLayer` entry's input.
    private static func input(_ entry: [String: JSONValue], context: String) throws -> Input {
        let config = ConfigReader(entry["config"]?.object ?? [:], context: "\(context): InputLayer")
        let name = try config.string("name")
        let where_ = "\(context): input \(String(reflecting: name))"
        try checkFixed(config.fields, context: where_)
        let dtype: DType
        switch config.fields["dtype"]?.string ?? "float32" {
        case "float32": dtype = .float32
        case "int32", "int64": dtype = .int32
        case let other:
            throw KilnError(.file, "\(where_): field \"dtype\" is \(String(reflecting: other)); Kiln's inputs are float32 or int32")
        }
        let shape = config.fields["batch_shape"] ?? config.fields["batch_input_shape"] ?? .null
        let input = Input(shape: try self.shape(shape, context: "\(where_): batch_shape"), dtype: dtype, name: name)
        if let failure = input.failure { throw KilnError(.file, "\(where_): \(failure.message)") }
        return input
    }

    /// The sample shape of a batch shape `[null, 28, 28, 1]` (`null` sizes as ``Input/none``).
    private static func shape(_ value: JSONValue, context: String) throws -> [Int] {
        guard let sizes = value.array, !sizes.isEmpty else {
            throw KilnError(.file, "\(context) should be a list starting with the batch size, found \(value)")
        }
        return try sizes.dropFirst().map { size in
            if size == .null { return Input.none }
            guard let n = ConfigReader.exactInt(size), n >= 1 else { throw KilnError(.file, "\(context): size \(size) is not valid") }
            return n
        }
    }

    // MARK: Layers

    /// The Kiln layer for one Keras layer entry, with the Keras class name and what a model
    /// lists in its place (the model itself for a nested model).
    private static func layer(_ entry: [String: JSONValue], context: String,
                              file: String) throws -> (className: String, layer: Layer, element: any SequentialElement) {
        guard let className = entry["class_name"]?.string else {
            throw KilnError(.file, "\(context): a layer entry has no class_name")
        }
        let config = entry["config"]?.object ?? [:]
        let name = config["name"]?.string ?? entry["name"]?.string ?? "?"
        let where_ = "\(context): layer \(String(reflecting: name)) (\(className))"
        if className == "Sequential" || className == "Functional" {
            let (model, _) = try model(entry, file: file)
            return (className, model.asLayer, model)
        }
        let layer = try kilnLayer(className, entry: entry, name: name, context: where_, file: file)
        if let trainable = config["trainable"], trainable == .bool(false) { layer.trainable = false }
        return (className, layer, layer)
    }

    /// A layer from its Keras entry, through Kiln's configuration of it.
    private static func kilnLayer(_ className: String, entry: [String: JSONValue], name: String, context: String,
                                  file: String) throws -> Layer {
        if let registered = entry["registered_name"], registered != .null, registered != .string(className),
           CustomLayers.registry[className] == nil {
            throw KilnError(.file, "\(context): it is the custom object \(registered), which holds Python code; register a "
                            + "Kiln layer for \(className) with \(className).register { ... } to load it")
        }
        switch className {
        case "Lambda":
            throw KilnError(.file, "\(context): a Lambda layer holds Python code, which Kiln cannot run")
        case "TextVectorization":
            throw KilnError(.file, "\(context): its vocabulary is kept in the file's assets, which Kiln does not read from "
                            + ".keras files; save the model as .kiln")
        default: break
        }
        let fields = try kilnFields(entry["config"]?.object ?? [:], className: className, context: context, file: file)
        if className == "Rescaling" {
            func values(_ key: String) throws -> [Float] {
                let value = fields[key] ?? .number(key == "scale" ? 1 : 0)
                if let n = value.number, Float(n).isFinite { return [Float(n)] }
                guard let list = value.array?.compactMap({ $0.number.map(Float.init) }), list.count == value.array?.count,
                      !list.isEmpty, list.allSatisfy(\.isFinite) else {
                    throw KilnError(.file, "\(context): field \(String(reflecting: key)) should be a number or a list of numbers, found \(value)")
                }
                return list
            }
            var scale = try values("scale"), offset = try values("offset")
            if scale.count == 1, offset.count > 1 { scale = Array(repeating: scale[0], count: offset.count) }
            if offset.count == 1, scale.count > 1 { offset = Array(repeating: offset[0], count: scale.count) }
            return Rescaling(scale: scale, offset: offset, name: name)
        }
        do {
            return try LayerRegistry.make(className, name: name, config: fields, file: file)
        } catch let error as KilnError {
            // The registry names Kiln's own fields; say which Keras layer it was.
            throw KilnError(.file, error.message.contains(file) ? error.message : "\(context): \(error.message)")
        }
    }

    /// Kiln's configuration of a layer from Keras': arguments checked against what Kiln
    /// supports, initializers by Kiln's names, wrapped layers in Kiln's form.
    private static func kilnFields(_ config: [String: JSONValue], className: String, context: String,
                                   file: String) throws -> [String: JSONValue] {
        try checkFixed(config, context: context)
        try checkDType(config["dtype"], context: context)
        var fields = config
        for (key, value) in config {
            if key.hasSuffix("_initializer") {
                fields[key] = try initializer(value, context: "\(context): field \(String(reflecting: key))")
            } else if key == "activation" || key == "recurrent_activation", let object = value.object {
                throw KilnError(.file, "\(context): field \(String(reflecting: key)) is the custom activation "
                                + "\(object["registered_name"] ?? object["class_name"] ?? value), which Kiln does not have")
            }
        }
        switch className {
        case "BatchNormalization", "LayerNormalization":
            let axis = config["axis"] ?? .number(-1)
            guard axis == .number(-1) || axis == .array([.number(-1)]) else {
                throw KilnError(.file, "\(context): field \"axis\" is \(axis); Kiln normalizes over the last axis (-1)")
            }
        case "TimeDistributed", "Bidirectional":
            guard let inner = config["layer"]?.object else { throw KilnError(.file, "\(context): it wraps no layer") }
            let innerClass = inner["class_name"]?.string ?? "?"
            var innerConfig = try kilnFields(inner["config"]?.object ?? [:], className: innerClass,
                                             context: "\(context): layer", file: file)
            var innerName = innerConfig["name"]?.string ?? "layer"
            if className == "Bidirectional" {
                // Keras names the copies forward_NAME and backward_NAME; Kiln names them after NAME.
                if innerName.hasPrefix("forward_") { innerName.removeFirst("forward_".count) }
                if let backward = config["backward_layer"]?.object?["config"]?.object {
                    for key in ["units", "activation", "recurrent_activation", "use_bias", "return_sequences", "return_state"]
                    where backward[key] != innerConfig[key] {
                        throw KilnError(.file, "\(context): its backward layer differs from the forward one in "
                                        + "\(String(reflecting: key)); Kiln's Bidirectional runs one configuration both ways")
                    }
                }
            }
            innerConfig["name"] = nil
            fields["layer"] = .object(["class_name": .string(innerClass), "name": .string(innerName), "config": .object(innerConfig)])
        default: break
        }
        return fields
    }

    /// Fails unless every argument Kiln has no counterpart for has its default.
    private static func checkFixed(_ config: [String: JSONValue], context: String) throws {
        for (key, value) in fixedArguments {
            if let found = config[key], found != value, !(key == "groups" && found == .null) {
                throw KilnError(.file, "\(context): field \(String(reflecting: key)) is \(found); Kiln supports only \(value)")
            }
        }
    }

    /// Fails unless a layer's dtype policy is float32.
    private static func checkDType(_ value: JSONValue?, context: String) throws {
        guard let value, value != .null else { return }
        let name = value.string ?? value.object?["config"]?.object?["name"]?.string
        guard name == "float32" else {
            throw KilnError(.file, "\(context): field \"dtype\" is \(String(reflecting: name ?? "\(value)")); Kiln's layers "
                            + "compute in float32")
        }
    }

    /// Kiln's form of a Keras initializer (`{"class_name": "GlorotUniform", ...}`).
    private static func initializer(_ value: JSONValue, context: String) throws -> JSONValue {
        if value == .null || value.string != nil { return value }
        guard let object = value.object, let className = object["class_name"]?.string else {
            throw KilnError(.file, "\(context) is not an initializer: \(value)")
        }
        guard let name = initializerNames[className] else {
            throw KilnError(.file, "\(context) is the initializer \(className), which Kiln does not have; Kiln has "
                            + initializerNames.keys.sorted().joined(separator: ", "))
        }
        var fields = object["config"]?.object ?? [:]
        fields["name"] = .string(name)
        return .object(fields)
    }
}
