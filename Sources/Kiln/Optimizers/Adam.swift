import KilnGraph

/// Adam (Keras' defaults: learning rate 0.001, β1 0.9, β2 0.999, ε 1e-7).
public class Adam: Optimizer {
    /// The decay of the first moment's moving average.
    public let beta1: Float
    /// The decay of the second moment's moving average.
    public let beta2: Float
    /// Added to the denominator for stability.
    public let epsilon: Float

    /// Adam with a fixed learning rate.
    public convenience init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7,
                            weightDecay: Float? = nil) {
        self.init(name: "adam", rate: .fixed(learningRate), weightDecay: weightDecay, beta1: beta1, beta2: beta2,
                  epsilon: epsilon)
    }

    /// Adam whose learning rate follows `schedule`.
    public convenience init(schedule: any LearningRateSchedule, beta1: Float = 0.9, beta2: Float = 0.999,
                            epsilon: Float = 1e-7, weightDecay: Float? = nil) {
        self.init(name: "adam", rate: .scheduled(schedule), weightDecay: weightDecay, beta1: beta1, beta2: beta2,
                  epsilon: epsilon)
    }

    /// Adam, or AdamW under the name `adamw`.
    init(name: String, rate: Rate, weightDecay: Float?, beta1: Float, beta2: Float, epsilon: Float) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        super.init(name: name, rate: rate, weightDecay: weightDecay)
    }

    override public var config: [String: JSONValue] {
        super.config.merging(["beta_1": .number(Double(beta1)), "beta_2": .number(Double(beta2)),
                              "epsilon": .number(Double(epsilon))]) { $1 }
    }

    // The JIT runs these twelve elementwise ops as one `kiln_adam` pass when it finds them
    // exactly (KilnCompiler's CRenderer+Update.swift); `FusedUpdateTests` fails if a change
    // here stops it from finding them.
    override public func update(_ weight: Node, gradient: Node, learningRate: Node, step: Node, slots: Slots) throws -> Node {
        let graph = weight.graph
        let alpha = try learningRate * sqrt(1 - pow(graph.constant(beta2), step)) / (1 - pow(graph.constant(beta1), step))
        let m = try slots.variable("m"), v = try slots.variable("v")
        let mNext = try m + (gradient - m) * (1 - beta1)
        let vNext = try v + (square(gradient) - v) * (1 - beta2)
        _ = try graph.assign(m, mNext)
        _ = try graph.assign(v, vNext)
        return try weight - (mNext * alpha) / (sqrt(vNext) + epsilon)
    }
}

/// Adam with decoupled weight decay (Keras' `AdamW`, weight decay 0.004).
public final class AdamW: Adam {
    /// AdamW with a fixed learning rate.
    public convenience init(learningRate: Float = 0.001, weightDecay: Float = 0.004, beta1: Float = 0.9,
                            beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.init(rate: .fixed(learningRate), weightDecay: weightDecay, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    /// AdamW whose learning rate follows `schedule`.
    public convenience init(schedule: any LearningRateSchedule, weightDecay: Float = 0.004, beta1: Float = 0.9,
                            beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.init(rate: .scheduled(schedule), weightDecay: weightDecay, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    init(rate: Rate, weightDecay: Float, beta1: Float, beta2: Float, epsilon: Float) {
        super.init(name: "adamw", rate: rate, weightDecay: weightDecay, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }
}
