import KilnGraph

/// Makes the built-in layers again from their saved configurations.
enum LayerRegistry {
    /// The layer of type `typeName` called `name` with configuration `config`.
    ///
    /// - Throws: ``KilnError`` naming `file`, the layer and the field that is missing or
    ///   wrong, or the unknown type.
    static func make(_ typeName: String, name: String, config fields: [String: JSONValue], file: String) throws -> Layer {
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
                             name: name)
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
        default:
            throw KilnError(.file, "\(context): unknown layer type \(String(reflecting: typeName)); Kiln can load Dense, "
                            + "Activation, Dropout, Flatten, Reshape, BatchNormalization, LayerNormalization, Embedding, "
                            + "Add, Concatenate, Rescaling, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D "
                            + "and GlobalMaxPooling2D")
        }
    }

    /// The `padding` field: `valid` or `same`.
    private static func padding(_ config: ConfigReader) throws -> Padding {
        let text = try config.string("padding")
        guard let padding = Padding(rawValue: text.lowercased()) else {
            throw KilnError(.file, "\(config.context): padding must be \"valid\" or \"same\", got \(String(reflecting: text))")
        }
        return padding
    }
}
