import Foundation
import KilnGraph

/// A learning rate that depends on the step number.
///
/// Kiln can save an optimizer with an ``ExponentialDecay``, ``PiecewiseConstantDecay``,
/// ``InverseTimeDecay`` or ``CosineDecay`` schedule in a `.kiln` file; a model compiled with
/// a schedule of its own can be trained but not saved with its compile settings (save its
/// weights with ``Model/saveWeights(to:)``).
public protocol LearningRateSchedule: Sendable {
    /// The rate at step `step` (0 for the first), computed in the training graph from the
    /// optimizer's `f32` iteration count.
    func rate(at step: Node) throws -> Node
    /// The same rate, computed in Swift.
    func rate(at step: Int) -> Float
}

/// A schedule that a saved file can describe, as Keras serialises it:
/// `{"class_name": "ExponentialDecay", "config": {...}}`.
protocol SavableSchedule: LearningRateSchedule {
    /// The configuration's class name.
    static var className: String { get }
    /// The schedule's arguments, with Keras' names.
    var config: [String: JSONValue] { get }
}

/// `initialLearningRate * decayRate ^ (step / decaySteps)`, the exponent floored when
/// `staircase` (Keras' `ExponentialDecay`).
public struct ExponentialDecay: SavableSchedule, Equatable {
    /// The rate at step 0.
    public let initialLearningRate: Float
    /// The number of steps over which the rate is multiplied by `decayRate` once.
    public let decaySteps: Int
    /// The factor per `decaySteps` steps.
    public let decayRate: Float
    /// Whether the rate drops in steps (an integer exponent) rather than smoothly.
    public let staircase: Bool

    /// A rate starting at `initialLearningRate`, multiplied by `decayRate` every
    /// `decaySteps` steps (at least 1).
    public init(initialLearningRate: Float, decaySteps: Int, decayRate: Float, staircase: Bool = false) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = Swift.max(1, decaySteps)
        self.decayRate = decayRate
        self.staircase = staircase
    }

    /// The rate in the training graph.
    public func rate(at step: Node) throws -> Node {
        var exponent = try step / Float(decaySteps)
        if staircase { exponent = try floor(exponent) }
        return try pow(step.graph.constant(decayRate), exponent) * initialLearningRate
    }

    /// The rate in Swift.
    public func rate(at step: Int) -> Float {
        var exponent = Float(step) / Float(decaySteps)
        if staircase { exponent.round(.down) }
        return initialLearningRate * Math.pow(decayRate, exponent)
    }

    static let className = "ExponentialDecay"

    var config: [String: JSONValue] {
        ["initial_learning_rate": .number(Double(initialLearningRate)), "decay_steps": .number(Double(decaySteps)),
         "decay_rate": .number(Double(decayRate)), "staircase": .bool(staircase), "name": .string(Self.className)]
    }

    /// The schedule a saved configuration describes.
    init(config: ConfigReader) throws {
        let steps = try config.int("decay_steps")
        guard steps > 0 else { throw KilnError(.file, "\(config.context): decay_steps must be positive, got \(steps)") }
        self.init(initialLearningRate: try config.float("initial_learning_rate"), decaySteps: steps,
                  decayRate: try config.float("decay_rate"), staircase: try config.bool("staircase"))
    }
}

enum LearningRateSchedules {
    /// Keras' serialised form of `schedule`, or `nil` if Kiln cannot save it.
    static func config(_ schedule: any LearningRateSchedule) -> JSONValue? {
        guard let savable = schedule as? any SavableSchedule else { return nil }
        return .object(["class_name": .string(type(of: savable).className), "config": .object(savable.config)])
    }

    /// The schedule a saved `learning_rate` object describes.
    static func make(_ fields: [String: JSONValue], context: String) throws -> any LearningRateSchedule {
        let reader = ConfigReader(fields, context: "\(context): learning_rate")
        switch try reader.string("class_name") {
        case ExponentialDecay.className:
            return try ExponentialDecay(config: ConfigReader(try reader.object("config"), context: reader.context))
        case PiecewiseConstantDecay.className:
            return try PiecewiseConstantDecay(config: ConfigReader(try reader.object("config"), context: reader.context))
        case InverseTimeDecay.className:
            return try InverseTimeDecay(config: ConfigReader(try reader.object("config"), context: reader.context))
        case CosineDecay.className:
            return try CosineDecay(config: ConfigReader(try reader.object("config"), context: reader.context))
        case let other:
            throw KilnError(.file, "\(reader.context): unknown learning-rate schedule \(String(reflecting: other)); "
                            + "Kiln reads ExponentialDecay, PiecewiseConstantDecay, InverseTimeDecay and CosineDecay")
        }
    }
}
