import KilnGraph

extension KerasConfig {
    /// Compiles `model` with Keras' `compile_config` when Kiln has everything it names: one
    /// loss (by name or as a loss object with Kiln's arguments), metrics by name, and an
    /// optimizer Kiln has with a fixed learning rate and no gradient clipping, averaging or
    /// AMSGrad. Returns why the model was left uncompiled otherwise (then compile it anew).
    @discardableResult
    static func compile(_ model: Model, with value: JSONValue?) -> String? {
        guard let config = value?.object else { return "the file has no compile settings" }
        do {
            guard config["loss_weights"] ?? .null == .null, config["weighted_metrics"] ?? .null == .null else {
                return "loss weights and weighted metrics are not read"
            }
            let loss = try kerasLoss(config["loss"] ?? .null)
            let metrics: [Metric] = try (config["metrics"]?.array ?? []).map { value in
                guard let name = value.string else { throw KilnError(.file, "metric \(value) is not a name") }
                return try Metric(named: name)
            }
            model.compile(optimizer: try kerasOptimizer(config["optimizer"] ?? .null), loss: loss, metrics: metrics)
            return nil
        } catch let error as KilnError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    private static func kerasLoss(_ value: JSONValue) throws -> Loss {
        if let name = value.string { return try Loss(named: name) }
        guard let object = value.object?["config"]?.object, let name = object["name"]?.string else {
            throw KilnError(.file, "loss \(value) is not one loss")
        }
        for (key, accepted) in [("reduction", JSONValue.string("sum_over_batch_size")), ("ignore_class", .null), ("axis", .number(-1))] {
            if let found = object[key], found != accepted { throw KilnError(.file, "loss \(name): \(key) \(found) is not supported") }
        }
        return try Loss(config: .object(object))
    }

    private static func kerasOptimizer(_ value: JSONValue) throws -> Optimizer {
        if let name = value.string { return try Optimizer.named(name) }
        guard let object = value.object, let className = object["class_name"]?.string, var fields = object["config"]?.object else {
            throw KilnError(.file, "optimizer \(value) is not an optimizer")
        }
        for (key, accepted) in [("amsgrad", JSONValue.bool(false)), ("use_ema", .bool(false)), ("clipnorm", .null),
                                ("clipvalue", .null), ("global_clipnorm", .null), ("loss_scale_factor", .null),
                                ("gradient_accumulation_steps", .null)] {
            if let found = fields[key], found != accepted { throw KilnError(.file, "optimizer \(className): \(key) \(found) is not supported") }
        }
        guard fields["learning_rate"]?.number != nil else { throw KilnError(.file, "optimizer \(className): a learning-rate schedule is not read") }
        fields["name"] = .string(className.lowercased())
        return try Optimizer.make(config: fields, context: "compile_config")
    }
}

extension KerasConfig {
    /// Keras' class of each optimizer Kiln has, by Kiln's name.
    private static let optimizerClasses = ["sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"]
    /// Keras' loss class of each loss Kiln has, by name.
    private static let lossClasses = [
        "mean_squared_error": "MeanSquaredError", "mean_absolute_error": "MeanAbsoluteError", "huber": "Huber",
        "binary_crossentropy": "BinaryCrossentropy", "categorical_crossentropy": "CategoricalCrossentropy",
        "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy", "kl_divergence": "KLDivergence",
    ]
    /// The metric names Keras resolves as Kiln does.
    private static let metricNames: Set<String> = [
        "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "mean_absolute_error",
        "mean_squared_error",
    ]

    /// Keras' `compile_config` for the model's compile settings, when Keras has them all: one
    /// loss for the model, metrics by name, a built-in optimizer with a fixed learning rate;
    /// `nil` otherwise (the file then loads uncompiled in Keras).
    static func compileConfig(of model: Model) -> JSONValue? {
        guard let options = model.compileOptions, case .all(let loss) = options.loss, options.lossWeights == nil,
              case .all(let metrics) = options.metrics, model.outputs.count == 1,
              let optimizerClass = optimizerClasses[options.optimizer.name], options.optimizer.schedule == nil,
              metrics.allSatisfy({ metricNames.contains($0.name) }) else { return nil }
        let kerasLoss: JSONValue
        switch loss.config {
        case .string(let name)?:
            kerasLoss = .string(name)
        case .object(let fields)? where fields["registered"] == nil:
            guard let name = fields["name"]?.string, let lossClass = lossClasses[name] else { return nil }
            kerasLoss = .object(["module": .string("keras.losses"), "class_name": .string(lossClass),
                                 "config": .object(fields), "registered_name": .null])
        default:
            return nil
        }
        let optimizer: JSONValue = .object(["module": .string("keras.optimizers"), "class_name": .string(optimizerClass),
                                            "config": .object(options.optimizer.config), "registered_name": .null])
        return .object(["optimizer": optimizer, "loss": kerasLoss, "loss_weights": .null,
                        "metrics": metrics.isEmpty ? .null : .array(metrics.map { .string($0.name) }),
                        "weighted_metrics": .null])
    }
}
