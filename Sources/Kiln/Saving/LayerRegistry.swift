import KilnGraph

/// Makes the built-in layers again from their saved configurations.
enum LayerRegistry {
    /// The layer of type `typeName` called `name` with configuration `config`.
    ///
    /// - Throws: ``KilnError`` naming `file`, the layer and the field that is missing or
    ///   wrong, or the unknown type.
    static func make(_ typeName: String, name: String, config fields: [String: JSONValue], file: String) throws -> Layer {
        let layer = try makeLayer(typeName, name: name, config: fields, file: file)
        // Regularizers and constraints, under Keras' keys, for any layer.
        let context = "\(file): layer \(String(reflecting: name)) (\(typeName))"
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            if key == "activity_regularizer" {
                layer.activityRegularizer = try Regularizer.make(config: value, context: "\(context): \(key)")
            } else if key.hasSuffix("_regularizer"), let regularizer = try Regularizer.make(config: value, context: "\(context): \(key)") {
                layer.weightRegularizers[weightName(key.dropLast("_regularizer".count))] = regularizer
            } else if key.hasSuffix("_constraint"), let constraint = try Constraint.make(config: value, context: "\(context): \(key)") {
                layer.weightConstraints[weightName(key.dropLast("_constraint".count))] = constraint
            }
        }
        return layer
    }

    /// The weight a Keras argument prefix names (`recurrent` is `recurrent_kernel`).
    private static func weightName(_ prefix: Substring) -> String { prefix == "recurrent" ? "recurrent_kernel" : String(prefix) }

    private static func makeLayer(_ typeName: String, name: String, config fields: [String: JSONValue], file: String) throws -> Layer {
        let config = ConfigReader(fields, context: "\(file): layer \(String(reflecting: name)) (\(typeName))")
        let context = config.context
        switch typeName {
        case "Dense":
            return Dense(try config.int("units", atLeast: 1),
                         activation: try ActivationFunction(config: fields["activation"] ?? .string("linear"), context: context),
                         useBias: try config.bool("use_bias"),
                         kernelInitializer: try Initializer(config: fields["kernel_initializer"] ?? .null, context: context),
                         biasInitializer: try Initializer(config: fields["bias_initializer"] ?? .null, context: context),
                         name: name)
        case "Activation":
            return Activation(try ActivationFunction(config: fields["activation"] ?? .null, context: context), name: name)
        case "Dropout":
            return Dropout(try config.float("rate"), name: name)
        case "Flatten":
            return Flatten(name: name)
        case "Reshape":
            return Reshape(try config.ints("target_shape", atLeast: -1), name: name)
        case "BatchNormalization":
            return BatchNormalization(momentum: try config.float("momentum"), epsilon: try config.float("epsilon"),
                                      center: try config.bool("center"), scale: try config.bool("scale"), name: name)
        case "LayerNormalization":
            return LayerNormalization(epsilon: try config.float("epsilon"), center: try config.bool("center"),
                                      scale: try config.bool("scale"), name: name)
        case "Embedding":
            return Embedding(inputDim: try config.int("input_dim", atLeast: 1), outputDim: try config.int("output_dim", atLeast: 1),
                             embeddingsInitializer: try Initializer(config: fields["embeddings_initializer"] ?? .null,
                                                                    context: context),
                             maskZero: fields["mask_zero"] == .bool(true), name: name)
        case "Add":
            return Add(name: name)
        case "Rescaling":
            // The weights (loaded next) hold the values; the configuration gives their length.
            let features = try config.int("features", atLeast: 0)
            return Rescaling(scale: Array(repeating: 1, count: features), offset: Array(repeating: 0, count: features),
                             name: name)
        case "Concatenate":
            return Concatenate(axis: try config.int("axis"), name: name)
        case "Conv2D":
            return Conv2D(try config.int("filters", atLeast: 1), kernelSize: try config.ints("kernel_size", atLeast: 1),
                          strides: try config.ints("strides", atLeast: 1), padding: try padding(config),
                          dilationRate: try config.ints("dilation_rate", atLeast: 1),
                          activation: try ActivationFunction(config: fields["activation"] ?? .string("linear"), context: context),
                          useBias: try config.bool("use_bias"),
                          kernelInitializer: try Initializer(config: fields["kernel_initializer"] ?? .null, context: context),
                          biasInitializer: try Initializer(config: fields["bias_initializer"] ?? .null, context: context),
                          name: name)
        case "MaxPooling2D":
            return MaxPooling2D(poolSize: try config.ints("pool_size", atLeast: 1), strides: try config.ints("strides", atLeast: 1),
                                padding: try padding(config), name: name)
        case "AveragePooling2D":
            return AveragePooling2D(poolSize: try config.ints("pool_size", atLeast: 1),
                                    strides: try config.ints("strides", atLeast: 1), padding: try padding(config), name: name)
        case "GlobalAveragePooling2D":
            return GlobalAveragePooling2D(keepDims: try config.bool("keepdims"), name: name)
        case "GlobalMaxPooling2D":
            return GlobalMaxPooling2D(keepDims: try config.bool("keepdims"), name: name)
        case "Conv1D":
            return Conv1D(try config.int("filters", atLeast: 1), kernelSize: try single(config, "kernel_size"),
                          strides: try single(config, "strides"), padding: try padding(config),
                          dilationRate: try single(config, "dilation_rate"),
                          activation: try ActivationFunction(config: fields["activation"] ?? .string("linear"), context: context),
                          useBias: try config.bool("use_bias"),
                          kernelInitializer: try Initializer(config: fields["kernel_initializer"] ?? .null, context: context),
                          biasInitializer: try Initializer(config: fields["bias_initializer"] ?? .null, context: context),
                          name: name)
        case "Conv2DTranspose":
            if let extra = fields["output_padding"], extra != .null {
                throw KilnError(.file, "\(context): output_padding \(extra) is not supported; Kiln's Conv2DTranspose takes none")
            }
            return Conv2DTranspose(try config.int("filters", atLeast: 1), kernelSize: try config.ints("kernel_size", atLeast: 1),
                                   strides: try config.ints("strides", atLeast: 1), padding: try padding(config),
                                   dilationRate: try config.ints("dilation_rate", atLeast: 1),
                                   activation: try ActivationFunction(config: fields["activation"] ?? .string("linear"),
                                                                      context: context),
                                   useBias: try config.bool("use_bias"),
                                   kernelInitializer: try Initializer(config: fields["kernel_initializer"] ?? .null, context: context),
                                   biasInitializer: try Initializer(config: fields["bias_initializer"] ?? .null, context: context),
                                   name: name)
        case "MaxPooling1D":
            return MaxPooling1D(poolSize: try single(config, "pool_size"), strides: try single(config, "strides"),
                                padding: try padding(config), name: name)
        case "AveragePooling1D":
            return AveragePooling1D(poolSize: try single(config, "pool_size"), strides: try single(config, "strides"),
                                    padding: try padding(config), name: name)
        case "GlobalAveragePooling1D":
            return GlobalAveragePooling1D(keepDims: try config.bool("keepdims"), name: name)
        case "GlobalMaxPooling1D":
            return GlobalMaxPooling1D(keepDims: try config.bool("keepdims"), name: name)
        case "ZeroPadding2D":
            let rows = try config.array("padding").map { value -> [Int] in
                guard let pair = value.array?.compactMap({ $0.number }).map({ Int($0) }), pair.count == 2 else {
                    throw KilnError(.file, "\(context): padding must be [[top, bottom], [left, right]]")
                }
                return pair
            }
            return ZeroPadding2D(padding: rows, name: name)
        case "UpSampling2D":
            return UpSampling2D(size: try config.ints("size", atLeast: 1), interpolation: try config.string("interpolation"),
                                name: name)
        case "SpatialDropout2D":
            return SpatialDropout2D(try config.float("rate"), name: name)
        case "SimpleRNN", "LSTM", "GRU":
            return try recurrent(typeName, name: name, config: config, fields: fields)
        case "TimeDistributed":
            return TimeDistributed(try wrapped(config, file: file), name: name)
        case "Bidirectional":
            let inner = try wrapped(config, file: file)
            guard let layer = inner as? Recurrent else {
                throw KilnError(.file, "\(context): wraps \(type(of: inner).typeName), not a recurrent layer (SimpleRNN, LSTM or GRU)")
            }
            let text = try config.string("merge_mode")
            guard let mergeMode = Bidirectional.MergeMode(rawValue: text) else {
                throw KilnError(.file, "\(context): merge_mode must be concat, sum, mul or ave, got \(String(reflecting: text))")
            }
            return Bidirectional(layer, mergeMode: mergeMode, name: name)
        case "TextVectorization":
            for (key, expected) in [("split", "whitespace"), ("output_mode", "int")] {
                if let value = fields[key], value != .string(expected) {
                    throw KilnError(.file, "\(context): \(key) \(value) is not supported; Kiln's TextVectorization has \(key) \"\(expected)\"")
                }
            }
            let text = try config.string("standardize")
            guard let standardize = TextVectorization.Standardize(rawValue: text) else {
                throw KilnError(.file, "\(context): standardize \(String(reflecting: text)) is not one Kiln knows")
            }
            guard let entries = fields["vocabulary"]?.array else {
                throw KilnError(.file, "\(context): the vocabulary is missing or not a list")
            }
            let vocabulary = try entries.enumerated().map { index, entry in
                guard let token = entry.string else { throw KilnError(.file, "\(context): vocabulary entry \(index) is not a string") }
                return token
            }
            let maxTokens = fields["max_tokens"]?.number.map { Int($0) }
            return TextVectorization(maxTokens: maxTokens, outputSequenceLength: try config.int("output_sequence_length", atLeast: 1),
                                     standardize: standardize, vocabulary: vocabulary, name: name)
        case ModelLayer.typeName:
            let model = try Model.make(configuration: fields, file: file)
            guard model.name == name else {
                throw KilnError(.file, "\(context): the nested model is called \(String(reflecting: model.name)), not "
                                + "\(String(reflecting: name))")
            }
            return model.asLayer
        default:
            if let make = CustomLayers.registry[typeName] {
                let layer = try make(name, config)
                guard type(of: layer).typeName == typeName, layer.name == name else {
                    throw KilnError(.file, "\(context): the registered maker of \(typeName) made \(layer.description), not a "
                                    + "\(typeName) called \(String(reflecting: name))")
                }
                return layer
            }
            throw KilnError(.file, "\(context): unknown layer type \(String(reflecting: typeName)); a custom layer must be "
                            + "registered before loading, with \(typeName).register { name, config in ... }; Kiln can load Dense, "
                            + "Activation, Dropout, Flatten, Reshape, BatchNormalization, LayerNormalization, Embedding, "
                            + "Add, Concatenate, Rescaling, Conv1D, Conv2D, Conv2DTranspose, MaxPooling1D, MaxPooling2D, "
                            + "AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D, "
                            + "GlobalMaxPooling1D, GlobalMaxPooling2D, ZeroPadding2D, UpSampling2D, SpatialDropout2D, "
                            + "SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed, TextVectorization and nested models (Functional)")
        }
    }

    /// The layer a wrapper's `layer` entry describes (``Layer/wrappedConfig(_:name:)``).
    private static func wrapped(_ config: ConfigReader, file: String) throws -> Layer {
        let inner = ConfigReader(try config.object("layer"), context: config.context + ": layer")
        return try make(try inner.string("class_name"), name: try inner.string("name"), config: try inner.object("config"), file: file)
    }

    /// A recurrent layer: the arguments the three share, and each one's own.
    private static func recurrent(_ typeName: String, name: String, config: ConfigReader,
                                  fields: [String: JSONValue]) throws -> Layer {
        let context = config.context
        let dropout = try config.optionalFloat("dropout") ?? 0
        let recurrentDropout = try config.optionalFloat("recurrent_dropout") ?? 0
        let returnState = fields["return_state"] == nil ? false : try config.bool("return_state")
        func activation(_ key: String, _ fallback: String) throws -> ActivationFunction {
            try ActivationFunction(config: fields[key] ?? .string(fallback), context: context)
        }
        func initializer(_ key: String) throws -> Initializer { try Initializer(config: fields[key] ?? .null, context: context) }
        let units = try config.int("units", atLeast: 1)
        let useBias = try config.bool("use_bias"), returnSequences = try config.bool("return_sequences")
        let goBackwards = try config.bool("go_backwards")
        switch typeName {
        case "LSTM":
            return LSTM(units, activation: try activation("activation", "tanh"),
                        recurrentActivation: try activation("recurrent_activation", "sigmoid"), useBias: useBias,
                        unitForgetBias: try config.bool("unit_forget_bias"), returnSequences: returnSequences,
                        returnState: returnState, goBackwards: goBackwards, kernelInitializer: try initializer("kernel_initializer"),
                        recurrentInitializer: try initializer("recurrent_initializer"),
                        biasInitializer: try initializer("bias_initializer"), dropout: dropout,
                        recurrentDropout: recurrentDropout, name: name)
        case "GRU":
            return GRU(units, activation: try activation("activation", "tanh"),
                       recurrentActivation: try activation("recurrent_activation", "sigmoid"), useBias: useBias,
                       resetAfter: try config.bool("reset_after"), returnSequences: returnSequences, returnState: returnState,
                       goBackwards: goBackwards, kernelInitializer: try initializer("kernel_initializer"),
                       recurrentInitializer: try initializer("recurrent_initializer"),
                       biasInitializer: try initializer("bias_initializer"), dropout: dropout,
                       recurrentDropout: recurrentDropout, name: name)
        default:
            return SimpleRNN(units, activation: try activation("activation", "tanh"), useBias: useBias,
                             returnSequences: returnSequences, returnState: returnState, goBackwards: goBackwards,
                             kernelInitializer: try initializer("kernel_initializer"),
                             recurrentInitializer: try initializer("recurrent_initializer"),
                             biasInitializer: try initializer("bias_initializer"), dropout: dropout,
                             recurrentDropout: recurrentDropout, name: name)
        }
    }

    /// The single integer of a one-element list field (`kernel_size: [3]`), as Keras saves
    /// the arguments of 1-D layers.
    private static func single(_ config: ConfigReader, _ key: String) throws -> Int {
        let values = try config.ints(key, atLeast: 1)
        guard values.count == 1 else {
            throw KilnError(.file, "\(config.context): field \(String(reflecting: key)) must hold one integer, got \(values)")
        }
        return values[0]
    }

    /// The `padding` field: `valid`, `same` or `causal`.
    private static func padding(_ config: ConfigReader) throws -> Padding {
        let text = try config.string("padding")
        guard let padding = Padding(rawValue: text.lowercased()) else {
            throw KilnError(.file, "\(config.context): padding must be \"valid\", \"same\" or \"causal\", got \(String(reflecting: text))")
        }
        return padding
    }
}
