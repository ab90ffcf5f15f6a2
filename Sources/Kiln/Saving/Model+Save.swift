import Foundation
import KilnGraph

extension Model {
    static let configEntry = "config.json", weightsEntry = "model.safetensors"

    /// Saves the architecture, the weights, and the compile settings with the optimizer's
    /// state to a `.kiln` file: a zip of `config.json` and `model.safetensors`. The file is
    /// replaced atomically, so an interrupted save leaves the previous one intact.
    ///
    /// - Throws: ``KilnError`` if the model is not built or the file cannot be written.
    public func save(to path: String) throws {
        try requireBuilt()
        let config = try configuration()
        for layer in layers {
            if let (field, value) = JSONValue.object(layer.savedConfig).nonFinite() {
                throw KilnError(.invalidArgument, "layer \(layer.description): its config cannot be saved: \(String(reflecting: field)) "
                                + "is \(value), which JSON cannot hold; give the layer's config finite numbers")
            }
        }
        let configData: Data
        do {
            configData = try JSONEncoder.sorted.encode(JSONValue.object(config))
        } catch {
            throw KilnError(.invalidArgument, "model \(String(reflecting: name)): its configuration cannot be encoded: \(error)")
        }
        var tensors = variables.map { ($0.path, $0.value) }
        let layerPaths = Set(tensors.map(\.0))
        // The optimizer's state goes with the compile settings; it is not saved without them.
        let optimizer = config["compile"] == nil ? nil : compileOptions?.optimizer
        for name in store.names where !layerPaths.contains(name)
            && (name == LayerContext.seedVariable || optimizer?.ownsVariable(name) == true) {
            tensors.append((name, try store.value(name)))
        }
        let weights = try Safetensors.encode(tensors, metadata: weightsMetadata)
        let data = try Self.zipArchive([(Self.configEntry, configData, true), (Self.weightsEntry, weights, true)],
                                       path: path)
        try writeAtomically(data, to: path)
    }

    /// The model saved in a `.kiln` file (or a Keras 3 `.keras` file, ``load(keras:)``), compiled again if it was compiled when saved (with
    /// a custom loss only if it was registered, ``Loss/register(name:_:)``; an unregistered one
    /// must be given to `compile` again). Custom layers must be registered (``Layer/register(_:)``).
    ///
    /// - Throws: ``KilnError`` naming the file and the field or tensor that is missing,
    ///   malformed or of the wrong shape, or saying the file is not a `.kiln` archive.
    public static func load(from path: String) throws -> Model {
        let archive = try modelArchive(try readFile(path), file: path, kind: ".kiln or .keras")
        if isKerasArchive(archive) { return try load(keras: archive, file: path) }
        let config = try jsonObject(configEntry, in: archive, file: path)
        let model = try make(configuration: config, file: path)
        let (tensors, _) = try Safetensors.decode(try archive.contents(weightsEntry), file: "\(path) (\(weightsEntry))")
        try model.assignWeights(tensors, file: path)
        if config["compile"] != nil {
            let compile = try ConfigReader(config, context: "\(path): \(configEntry)").object("compile")
            let reader = ConfigReader(compile, context: "\(path): compile")
            let context = "\(path): compile"
            let metrics = try PerOutput.read(compile["metrics"] ?? .null, perOutput: compile["metrics"]?.object != nil,
                                             context: context) { list -> [Metric] in
                guard let names = list.array else { throw KilnError(.file, "\(context): metrics should be a list, found \(list)") }
                return try names.map { value -> Metric in
                    guard let name = value.string else { throw KilnError(.file, "\(path): a metric name is not a string") }
                    do {
                        return try Metric(named: name)
                    } catch let error as KilnError {
                        throw KilnError(.file, "\(path): \(error.message)")
                    }
                }
            }
            let perOutput = (try? reader.bool("per_output")) ?? false
            let loss: PerOutput<Loss>
            do {
                loss = try PerOutput.read(compile["loss"] ?? .null, perOutput: perOutput, context: context) { try Loss(config: $0) }
            } catch let error as KilnError {
                throw KilnError(error.kind, error.message.hasPrefix(path) ? error.message : "\(path): \(error.message)")
            }
            let lossWeights = try compile["loss_weights"].map { weights in
                try PerOutput.read(weights, perOutput: true, context: context) { value -> Float in
                    guard let number = value.number else { throw KilnError(.file, "\(context): a loss weight is not a number") }
                    return Float(number)
                }
            }
            model.setCompileOptions(CompileOptions(
                optimizer: try Optimizer.make(config: try reader.object("optimizer"), context: reader.context),
                loss: loss, lossWeights: lossWeights, metrics: metrics, backend: .default))
        }
        // The optimizer's state and the dropout generator's, after compile gave the optimizer the store.
        let weights = Dictionary(model.variables.map { ($0.path, $0.shape) }, uniquingKeysWith: { a, _ in a })
        for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) where weights[name] == nil {
            if name == LayerContext.seedVariable {
                guard tensor.dtype == .int32, tensor.shape == [] else {
                    throw KilnError(.file, "\(path): \(name) is \(tensor.dtype) \(tensor.shape), not an i32 scalar")
                }
            } else if let optimizer = model.optimizer, optimizer.ownsVariable(name) {
                try optimizer.checkState(name, tensor, weights: weights, file: path)
            } else {
                throw KilnError(.file, "\(path): tensor \(String(reflecting: name)) is neither a layer weight nor state of "
                                + (model.optimizer.map { "the optimizer \($0.name)" } ?? "an optimizer (the model is not compiled)"))
            }
            try model.store.insert(VariableBuffer(tensor), as: name)
        }
        return model
    }

    /// The zip archive of a saved model in `data`.
    ///
    /// - Throws: ``KilnError`` naming `file` if it is not a zip archive (saying it is not a
    ///   `kind` file, or that an HDF5 file of Keras' weights holds no model), or a damaged one.
    static func modelArchive(_ data: Data, file: String, kind: String) throws -> ZipReader {
        do {
            return try ZipReader(data, file: file)
        } catch where !looksLikeZip(data) {
            if data.starts(with: HDF5Reader.signature) {
                throw KilnError(.file, "\(file) is an HDF5 file, not a model: Keras' weights (save_weights) hold no "
                                + "architecture; build the model and call loadWeights(from:)")
            }
            throw KilnError(.file, "\(file) is not a \(kind) file (a zip archive)")
        }
    }

    /// The JSON object in the archive's entry `name`.
    ///
    /// - Throws: ``KilnError`` naming `file` and the entry if it is missing, damaged or not a JSON object.
    static func jsonObject(_ name: String, in archive: ZipReader, file: String) throws -> [String: JSONValue] {
        let data = try archive.contents(name)
        guard let object = (try? JSONDecoder().decode(JSONValue.self, from: data))?.object else {
            throw KilnError(.file, "\(file): \(name) is not a JSON object")
        }
        return object
    }

    /// The model's `config.json`: its ``architecture()`` and the compile settings.
    func configuration() throws -> [String: JSONValue] {
        var config = architecture()
        if let options = compileOptions, let loss = options.loss.json(\.config) {
            try options.optimizer.requireSavable()
            var compile: [String: JSONValue] = ["optimizer": .object(options.optimizer.config), "loss": loss,
                                                "metrics": options.metrics.json { .array($0.map { .string($0.name) }) } ?? .null]
            if case .all = options.loss {} else { compile["per_output"] = .bool(true) }
            if let weights = options.lossWeights?.json({ .number(Double($0)) }) { compile["loss_weights"] = weights }
            config["compile"] = .object(compile)
        }
        return config
    }

    /// The model's inputs, layers with their configurations, the calls connecting them and
    /// the outputs (a nested model's configuration, ``ModelLayer``).
    func architecture() -> [String: JSONValue] {
        var names: [SymbolicTensor.Key: String] = [:]
        for input in inputs { names[input.key] = input.name }
        var callCounts: [ObjectIdentifier: Int] = [:]
        var calls: [JSONValue] = []
        for call in self.calls {
            let k = callCounts[ObjectIdentifier(call.layer), default: 0]
            callCounts[ObjectIdentifier(call.layer)] = k + 1
            // The first output is `lstm#0`; the others of a layer with several, `lstm#0:1`, ….
            let outputNames = call.outputShapes.indices.map { $0 == 0 ? "\(call.layer.name)#\(k)" : "\(call.layer.name)#\(k):\($0)" }
            for (index, outputName) in outputNames.enumerated() {
                names[SymbolicTensor.Key(source: ObjectIdentifier(call), index: index)] = outputName
            }
            var entry: [String: JSONValue] = ["layer": .string(call.layer.name),
                                              "inputs": .array(call.inputs.map { .string(names[$0.key] ?? "?") }),
                                              "output": .string(outputNames[0])]
            if outputNames.count > 1 { entry["outputs"] = .array(outputNames.map { .string($0) }) }
            calls.append(.object(entry))
        }
        var config: [String: JSONValue] = [
            "format": .string("kiln"), "version": .number(1), "class_name": .string(typeName), "name": .string(name),
            "inputs": .array(inputs.map { .object(["name": .string($0.name), "shape": .ints($0.shape),
                                                    "dtype": .string($0.dtype.description)]) }),
            "layers": .array(layers.map { .object(["class_name": .string(type(of: $0).typeName), "name": .string($0.name),
                                                   "trainable": .bool($0.trainable), "config": .object($0.savedConfig)]) }),
            "calls": .array(calls),
        ]
        let outputNames = outputs.map { names[$0.key] ?? "" }
        config[outputNames.count == 1 ? "output" : "outputs"] = outputNames.count == 1 ? .string(outputNames[0])
            : .array(outputNames.map { .string($0) })
        return config
    }

    /// A model from its `config.json`.
    static func make(configuration config: [String: JSONValue], file: String) throws -> Model {
        let reader = ConfigReader(config, context: "\(file): \(configEntry)")
        guard try reader.string("format") == "kiln" else { throw KilnError(.file, "\(file): not a Kiln model configuration") }
        var tensors: [String: SymbolicTensor] = [:]
        var inputs: [Input] = []
        for (index, value) in try reader.array("inputs").enumerated() {
            let input = ConfigReader(value.object ?? [:], context: "\(file): input \(index)")
            let dtype: DType
            switch try input.string("dtype") {
            case DType.float32.description: dtype = .float32
            case DType.int32.description: dtype = .int32
            case let other:
                throw KilnError(.file, "\(input.context): field \"dtype\" should be \(DType.float32) or \(DType.int32), "
                                + "found \(String(reflecting: other))")
            }
            // A None size is saved as -1 (Input.none).
            let made = Input(shape: try input.ints("shape", atLeast: Input.none), dtype: dtype, name: try input.string("name"))
            if let failure = made.failure { throw KilnError(.file, "\(file): \(failure.message)") }
            tensors[made.name] = made
            inputs.append(made)
        }
        var layers: [String: Layer] = [:]
        var order: [Layer] = []
        for (index, value) in try reader.array("layers").enumerated() {
            let entry = ConfigReader(value.object ?? [:], context: "\(file): layer \(index)")
            let layer = try LayerRegistry.make(try entry.string("class_name"), name: try entry.string("name"),
                                               config: try entry.object("config"), file: file)
            // Set only when it differs: a nested model's layer passes the flag on to its layers,
            // whose own flags its configuration holds.
            let trainable = (try? entry.bool("trainable")) ?? true
            if layer.trainable != trainable { layer.trainable = trainable }
            layers[layer.name] = layer
            order.append(layer)
        }
        for (index, value) in try reader.array("calls").enumerated() {
            let call = ConfigReader(value.object ?? [:], context: "\(file): call \(index)")
            let layerName = try call.string("layer")
            guard let layer = layers[layerName] else { throw KilnError(.file, "\(call.context): no layer \(String(reflecting: layerName))") }
            let operands = try call.array("inputs").map { name -> SymbolicTensor in
                guard let tensor = name.string.flatMap({ tensors[$0] }) else {
                    throw KilnError(.file, "\(call.context): unknown input \(name)")
                }
                return tensor
            }
            let outputs = layer.callAll(operands)
            if let failure = outputs[0].failure { throw KilnError(.file, "\(file): \(failure.message)") }
            let outputNames = call.fields["outputs"] == nil ? [try call.string("output")] : try call.array("outputs").map { name in
                guard let text = name.string else { throw KilnError(.file, "\(call.context): an output name is not a string") }
                return text
            }
            guard outputNames.count == outputs.count else {
                throw KilnError(.file, "\(call.context): layer \(String(reflecting: layerName)) gives \(outputs.count) outputs, "
                                + "the file names \(outputNames.count)")
            }
            for (name, output) in zip(outputNames, outputs) { tensors[name] = output }
        }
        let outputNames = config["outputs"] == nil ? [try reader.string("output")] : try reader.array("outputs").map { name in
            guard let text = name.string else { throw KilnError(.file, "\(file): an output name is not a string") }
            return text
        }
        let outputs = try outputNames.map { outputName in
            guard let output = tensors[outputName] else {
                throw KilnError(.file, "\(file): unknown output \(String(reflecting: outputName))")
            }
            return output
        }
        let name = try reader.string("name")
        if try reader.string("class_name") == "Sequential", inputs.count == 1, outputs.count == 1 {
            return Sequential([inputs[0]] + order, name: name)
        }
        return Model(inputs: inputs, outputs: outputs, name: name)
    }
}

extension JSONEncoder {
    /// An encoder writing keys in sorted order, indented.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }
}
