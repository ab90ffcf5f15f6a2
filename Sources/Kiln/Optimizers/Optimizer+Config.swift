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
    /// The optimizer Keras names `name`, with Keras' defaults: `sgd`, `adam`, `adamw`,
    /// `rmsprop`, `adagrad`.
    ///
    /// - Throws: ``KilnError`` naming an unknown optimizer and listing the known ones.
    public static func named(_ name: String) throws -> Optimizer {
        switch name.lowercased() {
        case "sgd": return SGD()
        case "adam": return Adam()
        case "adamw": return AdamW()
        case "rmsprop": return RMSprop()
        case "adagrad": return Adagrad()
        default:
            throw KilnError(.invalidArgument, "unknown optimizer \(String(reflecting: name)); the optimizers are: sgd, adam, "
                            + "adamw, rmsprop, adagrad")
        }
    }

    static func make(config: [String: JSONValue], context: String) throws -> Optimizer {
        let reader = ConfigReader(config, context: "\(context): optimizer")
        let decay = try reader.optionalFloat("weight_decay")
        let rate: Rate = try config["learning_rate"]?.object
            .map { .scheduled(try LearningRateSchedules.make($0, context: reader.context)) }
            ?? .fixed(try reader.float("learning_rate"))
        switch try reader.string("name") {
        case "sgd":
            return SGD(rate: rate, momentum: try reader.float("momentum"), nesterov: try reader.bool("nesterov"),
                       weightDecay: decay)
        case "adam":
            return Adam(name: "adam", rate: rate, weightDecay: decay, beta1: try reader.float("beta_1"),
                        beta2: try reader.float("beta_2"), epsilon: try reader.float("epsilon"))
        case "adamw":
            return AdamW(rate: rate, weightDecay: decay ?? 0.004, beta1: try reader.float("beta_1"),
                         beta2: try reader.float("beta_2"), epsilon: try reader.float("epsilon"))
        case "rmsprop":
            return RMSprop(rate: rate, rho: try reader.float("rho"), momentum: try reader.float("momentum"),
                           epsilon: try reader.float("epsilon"), centered: try reader.bool("centered"), weightDecay: decay)
        case "adagrad":
            return Adagrad(rate: rate, initialAccumulatorValue: try reader.float("initial_accumulator_value"),
                           epsilon: try reader.float("epsilon"), weightDecay: decay)
        case let other:
            throw KilnError(.file, "\(reader.context): unknown optimizer \(String(reflecting: other)); Kiln reads sgd, adam, "
                            + "adamw, rmsprop and adagrad")
        }
    }
}
