import KilnGraph

extension Optimizer {
    /// Throws if the optimizer cannot be described in a saved file (its schedule is not one
    /// Kiln saves).
    func requireSavable() throws {
        guard let schedule, LearningRateSchedules.config(schedule) == nil else { return }
        throw KilnError(.invalidArgument, "optimizer \(name): its learning-rate schedule \(type(of: schedule)) has no saved "
                        + "config (Kiln saves ExponentialDecay), so the model cannot be saved with its compile settings; "
                        + "save the weights with saveWeights(to:), or compile with a fixed rate or ExponentialDecay")
    }

    /// The optimizer a saved configuration describes.
    ///
    /// - Throws: ``KilnError`` naming `context` and the field that is missing or wrong.
    static func make(config: [String: JSONValue], context: String) throws -> Optimizer {
        let reader = ConfigReader(config, context: "\(context): optimizer")
        let decay = try reader.optionalFloat("weight_decay")
        let schedule = try config["learning_rate"]?.object.map { try LearningRateSchedules.make($0, context: reader.context) }
        let rate = schedule == nil ? try reader.float("learning_rate") : 0
        switch try reader.string("name") {
        case "sgd":
            let momentum = try reader.float("momentum"), nesterov = try reader.bool("nesterov")
            if let schedule { return SGD(schedule: schedule, momentum: momentum, nesterov: nesterov, weightDecay: decay) }
            return SGD(learningRate: rate, momentum: momentum, nesterov: nesterov, weightDecay: decay)
        case "adam":
            let b1 = try reader.float("beta_1"), b2 = try reader.float("beta_2"), eps = try reader.float("epsilon")
            if let schedule { return Adam(schedule: schedule, beta1: b1, beta2: b2, epsilon: eps, weightDecay: decay) }
            return Adam(learningRate: rate, beta1: b1, beta2: b2, epsilon: eps, weightDecay: decay)
        case "adamw":
            let b1 = try reader.float("beta_1"), b2 = try reader.float("beta_2"), eps = try reader.float("epsilon")
            if let schedule { return AdamW(schedule: schedule, weightDecay: decay ?? 0.004, beta1: b1, beta2: b2, epsilon: eps) }
            return AdamW(learningRate: rate, weightDecay: decay ?? 0.004, beta1: b1, beta2: b2, epsilon: eps)
        case "rmsprop":
            let rho = try reader.float("rho"), momentum = try reader.float("momentum")
            let eps = try reader.float("epsilon"), centered = try reader.bool("centered")
            if let schedule {
                return RMSprop(schedule: schedule, rho: rho, momentum: momentum, epsilon: eps, centered: centered,
                               weightDecay: decay)
            }
            return RMSprop(learningRate: rate, rho: rho, momentum: momentum, epsilon: eps, centered: centered,
                           weightDecay: decay)
        case "adagrad":
            let initial = try reader.float("initial_accumulator_value"), eps = try reader.float("epsilon")
            if let schedule {
                return Adagrad(schedule: schedule, initialAccumulatorValue: initial, epsilon: eps, weightDecay: decay)
            }
            return Adagrad(learningRate: rate, initialAccumulatorValue: initial, epsilon: eps, weightDecay: decay)
        case let other:
            throw KilnError(.file, "\(reader.context): unknown optimizer \(String(reflecting: other)); Kiln reads sgd, adam, "
                            + "adamw, rmsprop and adagrad")
        }
    }
}
