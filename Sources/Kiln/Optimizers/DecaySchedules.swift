import Foundation
import KilnGraph

/// `values[i]` while the step is at most `boundaries[i]` (and past the previous boundary),
/// `values.last` past the last boundary (Keras' `PiecewiseConstantDecay`).
public struct PiecewiseConstantDecay: SavableSchedule, Equatable {
    /// The steps where the rate changes, increasing.
    public let boundaries: [Int]
    /// The rates: one more than the boundaries.
    public let values: [Float]

    /// A rate of `values[0]` up to step `boundaries[0]`, then `values[1]`, ...
    ///
    /// - Throws: ``KilnError`` unless there is one more value than boundaries and the
    ///   boundaries increase.
    public init(boundaries: [Int], values: [Float]) throws {
        guard values.count == boundaries.count + 1 else {
            throw KilnError(.invalidArgument, "PiecewiseConstantDecay needs one more value than boundaries, got \(values.count) "
                            + "values for \(boundaries.count) boundaries")
        }
        guard zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw KilnError(.invalidArgument, "PiecewiseConstantDecay's boundaries must increase, got \(boundaries)")
        }
        self.boundaries = boundaries
        self.values = values
    }

    public func rate(at step: Node) throws -> Node {
        let graph = step.graph
        var rate = graph.constant(values[values.count - 1])
        for (boundary, value) in zip(boundaries, values).reversed() {
            rate = try select(lessEqual(step, graph.constant(Float(boundary))), graph.constant(value), rate)
        }
        return rate
    }

    public func rate(at step: Int) -> Float {
        values[boundaries.firstIndex { step <= $0 } ?? boundaries.count]
    }

    static let className = "PiecewiseConstantDecay"

    var config: [String: JSONValue] {
        ["boundaries": .ints(boundaries), "values": .array(values.map { .number(Double($0)) }), "name": .string(Self.className)]
    }

    init(config: ConfigReader) throws {
        guard let values = config.fields["values"]?.array?.compactMap(\.number), values.count == config.fields["values"]?.array?.count else {
            throw KilnError(.file, "\(config.context): values must be a list of numbers")
        }
        do {
            try self.init(boundaries: try config.ints("boundaries"), values: values.map { Float($0) })
        } catch let error as KilnError where error.kind == .invalidArgument {
            throw KilnError(.file, "\(config.context): \(error.message)")
        }
    }
}

/// `initialLearningRate / (1 + decayRate · step / decaySteps)`, the quotient floored when
/// `staircase` (Keras' `InverseTimeDecay`).
public struct InverseTimeDecay: SavableSchedule, Equatable {
    /// The rate at step 0.
    public let initialLearningRate: Float
    /// The steps over which the denominator grows by `decayRate`.
    public let decaySteps: Int
    /// How fast the rate falls.
    public let decayRate: Float
    /// Whether the rate drops in steps.
    public let staircase: Bool

    /// A rate starting at `initialLearningRate`; `decaySteps` is at least 1.
    public init(initialLearningRate: Float, decaySteps: Int, decayRate: Float, staircase: Bool = false) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = Swift.max(1, decaySteps)
        self.decayRate = decayRate
        self.staircase = staircase
    }

    public func rate(at step: Node) throws -> Node {
        var fraction = try step / Float(decaySteps)
        if staircase { fraction = try floor(fraction) }
        return try step.graph.constant(initialLearningRate) / (fraction * decayRate + 1)
    }

    public func rate(at step: Int) -> Float {
        var fraction = Float(step) / Float(decaySteps)
        if staircase { fraction.round(.down) }
        return initialLearningRate / (fraction * decayRate + 1)
    }

    static let className = "InverseTimeDecay"

    var config: [String: JSONValue] {
        ["initial_learning_rate": .number(Double(initialLearningRate)), "decay_steps": .number(Double(decaySteps)),
         "decay_rate": .number(Double(decayRate)), "staircase": .bool(staircase), "name": .string(Self.className)]
    }

    init(config: ConfigReader) throws {
        self.init(initialLearningRate: try config.float("initial_learning_rate"), decaySteps: try config.int("decay_steps", atLeast: 1),
                  decayRate: try config.float("decay_rate"), staircase: (try? config.bool("staircase")) ?? false)
    }
}

/// A cosine from `initialLearningRate` down to `alpha · initialLearningRate` over `decaySteps`
/// steps, then constant (Keras' `CosineDecay`); with a `warmupTarget`, the rate first rises
/// linearly from `initialLearningRate` to it over `warmupSteps` steps, and the cosine then
/// starts from the target.
public struct CosineDecay: SavableSchedule, Equatable {
    /// The rate at step 0.
    public let initialLearningRate: Float
    /// The length of the cosine.
    public let decaySteps: Int
    /// The final rate as a fraction of the rate the cosine starts from.
    public let alpha: Float
    /// The rate the warmup reaches, if there is a warmup.
    public let warmupTarget: Float?
    /// The length of the warmup.
    public let warmupSteps: Int

    /// A cosine decay with Keras' defaults (no floor, no warmup); `decaySteps` is at least 1.
    public init(initialLearningRate: Float, decaySteps: Int, alpha: Float = 0, warmupTarget: Float? = nil, warmupSteps: Int = 0) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = Swift.max(1, decaySteps)
        self.alpha = alpha
        self.warmupTarget = warmupTarget
        self.warmupSteps = Swift.max(0, warmupSteps)
    }

    public func rate(at step: Node) throws -> Node {
        let graph = step.graph
        func decayed(_ step: Node, from rate: Float) throws -> Node {
            let fraction = try step / Float(decaySteps)
            let cosine = try (cosPi(fraction) + 1) * 0.5
            return try (cosine * (1 - alpha) + alpha) * rate
        }
        guard let warmupTarget else { return try decayed(minimum(step, graph.constant(Float(decaySteps))), from: initialLearningRate) }
        let clamped = try minimum(step, graph.constant(Float(decaySteps + warmupSteps)))
        let warmup = try (clamped / Float(Swift.max(warmupSteps, 1))) * (warmupTarget - initialLearningRate) + initialLearningRate
        let decay = try decayed(clamped - Float(warmupSteps), from: warmupTarget)
        return try select(less(clamped, graph.constant(Float(warmupSteps))), warmup, decay)
    }

    public func rate(at step: Int) -> Float {
        func decayed(_ step: Float, from rate: Float) -> Float {
            let cosine = (Self.cosPi(step / Float(decaySteps)) + 1) * 0.5
            return (cosine * (1 - alpha) + alpha) * rate
        }
        guard let warmupTarget else { return decayed(Swift.min(Float(step), Float(decaySteps)), from: initialLearningRate) }
        let clamped = Swift.min(Float(step), Float(decaySteps + warmupSteps))
        if clamped < Float(warmupSteps) {
            return clamped / Float(Swift.max(warmupSteps, 1)) * (warmupTarget - initialLearningRate) + initialLearningRate
        }
        return decayed(clamped - Float(warmupSteps), from: warmupTarget)
    }

    /// `cos(π f)` for `f` in `[0, 1]`, from the nearer end of the interval: `c(πf)` up to a
    /// half and `-c(π(1 - f))` after, with `c` the Taylor polynomial of the cosine to degree
    /// 12 (error below 1e-8 on `[0, π/2]`), so the cosine is exactly 1 at 0 and -1 at 1.
    private func cosPi(_ f: Node) throws -> Node {
        let graph = f.graph
        let near = try minimum(f, graph.constant(1) - f)
        let z = try square(near * Float.pi)
        var c = graph.constant(Self.taylor[0])
        for coefficient in Self.taylor.dropFirst() { c = try c * z + coefficient }
        return try select(lessEqual(f, graph.constant(0.5)), c, graph.constant(0) - c)
    }

    static func cosPi(_ f: Float) -> Float {
        let near = Swift.min(f, 1 - f), z = (near * Float.pi) * (near * Float.pi)
        var c = taylor[0]
        for coefficient in taylor.dropFirst() { c = c * z + coefficient }
        return f <= 0.5 ? c : 0 - c
    }

    /// The coefficients of `cos x` in `x²`, highest first: `1/12!, -1/10!, ..., -1/2, 1`.
    private static let taylor: [Float] = {
        // (2e)! for e = 6 ... 0; the term of x^(2e) has the sign (-1)^e.
        let factorials: [Double] = [479_001_600, 3_628_800, 40_320, 720, 24, 2, 1]
        return factorials.enumerated().map { index, factorial in
            Float(((factorials.count - 1 - index) % 2 == 0 ? 1.0 : -1.0) / factorial)
        }
    }()

    static let className = "CosineDecay"

    var config: [String: JSONValue] {
        ["initial_learning_rate": .number(Double(initialLearningRate)), "decay_steps": .number(Double(decaySteps)),
         "alpha": .number(Double(alpha)), "warmup_target": warmupTarget.map { .number(Double($0)) } ?? .null,
         "warmup_steps": .number(Double(warmupSteps)), "name": .string(Self.className)]
    }

    init(config: ConfigReader) throws {
        self.init(initialLearningRate: try config.float("initial_learning_rate"), decaySteps: try config.int("decay_steps", atLeast: 1),
                  alpha: try config.optionalFloat("alpha") ?? 0, warmupTarget: try config.optionalFloat("warmup_target"),
                  warmupSteps: config.fields["warmup_steps"] == nil ? 0 : try config.int("warmup_steps", atLeast: 0))
    }
}
