import KilnGraph

/// A rule a weight is projected back onto after each update of the optimizer (Keras'
/// `keras.constraints`). Norms are taken over `axis` (Keras' default 0: for a `Dense` kernel
/// `[inputs, units]`, each unit's incoming weights), with Keras' epsilon `1e-7`.
///
/// ```swift
/// Dense(64, activation: .relu, kernelConstraint: .maxNorm(3))
/// ```
public enum Constraint: Sendable, Hashable {
    /// Scales the weights of each slice whose norm exceeds `maxValue` down to it (`MaxNorm`).
    case maxNorm(_ maxValue: Float = 2, axis: [Int] = [0])
    /// Sets negative weights to zero (`NonNeg`).
    case nonNeg
    /// Scales each slice to norm 1 (`UnitNorm`).
    case unitNorm(axis: [Int] = [0])
    /// Moves each slice's norm toward `[minValue, maxValue]` by `rate` (`MinMaxNorm`).
    case minMaxNorm(minValue: Float = 0, maxValue: Float = 1, rate: Float = 1, axis: [Int] = [0])

    /// Keras' `backend.epsilon()`.
    static let epsilon: Float = 1e-7

    /// Throws unless the constraint fits a weight of rank `rank`.
    func check(rank: Int, _ what: String) throws {
        let axes: [Int]
        switch self {
        case .nonNeg: return
        case .maxNorm(let maxValue, let axis):
            guard maxValue.isFinite, maxValue >= 0 else { throw KilnError(.invalidArgument, "\(what): maxNorm \(maxValue) must be finite and not negative") }
            axes = axis
        case .unitNorm(let axis): axes = axis
        case .minMaxNorm(let minValue, let maxValue, let rate, let axis):
            guard minValue.isFinite, maxValue.isFinite, rate.isFinite, minValue >= 0, minValue <= maxValue else {
                throw KilnError(.invalidArgument, "\(what): minMaxNorm needs 0 ≤ minValue ≤ maxValue, got \(minValue) and \(maxValue)")
            }
            axes = axis
        }
        for axis in axes where axis < -rank || axis >= rank {
            throw KilnError(.invalidArgument, "\(what): axis \(axis) is out of range for a weight of rank \(rank)")
        }
    }

    /// The constrained value of `w`.
    func apply(_ w: Node) throws -> Node {
        let graph = w.graph
        func norms(_ axis: [Int]) throws -> Node {
            let rank = w.shape.rank
            return try sqrt(sum(square(w), axes: axis.map { $0 < 0 ? $0 + rank : $0 }.sorted(), keepDims: true))
        }
        switch self {
        case .nonNeg:
            return try maximum(w, graph.constant(0))
        case .maxNorm(let maxValue, let axis):
            let n = try norms(axis)
            let desired = try minimum(maximum(n, graph.constant(0)), graph.constant(maxValue))
            return try w * (desired / (graph.constant(Self.epsilon) + n))
        case .unitNorm(let axis):
            return try w / (graph.constant(Self.epsilon) + norms(axis))
        case .minMaxNorm(let minValue, let maxValue, let rate, let axis):
            let n = try norms(axis)
            let clipped = try minimum(maximum(n, graph.constant(minValue)), graph.constant(maxValue))
            let desired = try graph.constant(rate) * clipped + graph.constant(1 - rate) * n
            return try w * (desired / (graph.constant(Self.epsilon) + n))
        }
    }

    /// The configuration Keras saves: `{"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}`.
    var config: JSONValue {
        func axisValue(_ axis: [Int]) -> JSONValue { axis.count == 1 ? .number(Double(axis[0])) : .ints(axis) }
        let (name, fields): (String, [String: JSONValue])
        switch self {
        case .nonNeg: (name, fields) = ("NonNeg", [:])
        case .maxNorm(let maxValue, let axis): (name, fields) = ("MaxNorm", ["max_value": .number(Double(maxValue)), "axis": axisValue(axis)])
        case .unitNorm(let axis): (name, fields) = ("UnitNorm", ["axis": axisValue(axis)])
        case .minMaxNorm(let minValue, let maxValue, let rate, let axis):
            (name, fields) = ("MinMaxNorm", ["min_value": .number(Double(minValue)), "max_value": .number(Double(maxValue)),
                                             "rate": .number(Double(rate)), "axis": axisValue(axis)])
        }
        return .object(["class_name": .string(name), "config": .object(fields)])
    }

    /// The constraint a configuration describes (also Keras' lower-case names with their
    /// defaults), or `nil` for `null`.
    ///
    /// - Throws: ``KilnError`` naming `context` for an unknown or malformed constraint.
    static func make(config: JSONValue?, context: String) throws -> Constraint? {
        guard let config, config != .null else { return nil }
        let name = config.string ?? config.object?["class_name"]?.string ?? ""
        let fields = ConfigReader(config.object?["config"]?.object ?? [:], context: context)
        func axis() throws -> [Int] {
            guard let value = fields.fields["axis"] else { return [0] }
            if let single = ConfigReader.exactInt(value) { return [single] }
            return try fields.ints("axis")
        }
        switch name {
        case "NonNeg", "non_neg": return .nonNeg
        case "MaxNorm", "max_norm": return .maxNorm(try fields.optionalFloat("max_value") ?? 2, axis: try axis())
        case "UnitNorm", "unit_norm": return .unitNorm(axis: try axis())
        case "MinMaxNorm", "min_max_norm":
            return .minMaxNorm(minValue: try fields.optionalFloat("min_value") ?? 0, maxValue: try fields.optionalFloat("max_value") ?? 1,
                               rate: try fields.optionalFloat("rate") ?? 1, axis: try axis())
        default:
            throw KilnError(.file, "\(context): unknown constraint \(config); Kiln has MaxNorm, NonNeg, UnitNorm and MinMaxNorm")
        }
    }
}
