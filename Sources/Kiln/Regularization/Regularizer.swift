import KilnGraph

/// A penalty on a weight's values, or on a layer's output, added to the loss in training and
/// evaluation (Keras' `keras.regularizers`): `l1 · Σ|x| + l2 · Σx²`.
///
/// ```swift
/// Dense(64, activation: .relu, kernelRegularizer: .l2(1e-4))
/// ```
///
/// A weight's penalty is added as it is; an output's (``Layer/activityRegularizer``) is divided
/// by the batch size, as Keras 3 does. The loss `fit` reports includes them.
public struct Regularizer: Sendable, Hashable {
    /// The factor of the sum of absolute values.
    public let l1: Float
    /// The factor of the sum of squares.
    public let l2: Float

    /// Keras' `L1L2(l1, l2)`: both penalties, each 0 unless given.
    public init(l1: Float = 0, l2: Float = 0) {
        self.l1 = l1
        self.l2 = l2
    }

    /// Keras' `L1(l1)`: `l1 · Σ|x|`.
    public static func l1(_ factor: Float = 0.01) -> Regularizer { Regularizer(l1: factor) }

    /// Keras' `L2(l2)`: `l2 · Σx²` (without a half).
    public static func l2(_ factor: Float = 0.01) -> Regularizer { Regularizer(l2: factor) }

    /// Keras' `l1_l2(l1, l2)`: both, each 0.01 unless given.
    public static func l1l2(l1: Float = 0.01, l2: Float = 0.01) -> Regularizer { Regularizer(l1: l1, l2: l2) }

    /// Throws unless both factors are finite and not negative.
    func check(_ what: String) throws {
        guard l1.isFinite, l2.isFinite, l1 >= 0, l2 >= 0 else {
            throw KilnError(.invalidArgument, "\(what): the factors must be finite and not negative, got l1 \(l1), l2 \(l2)")
        }
    }

    /// The penalty of `x`, a scalar node.
    func penalty(_ x: Node) throws -> Node {
        let graph = x.graph
        var terms: [Node] = []
        if l1 != 0 { terms.append(try graph.constant(l1) * sum(abs(x))) }
        if l2 != 0 { terms.append(try graph.constant(l2) * sum(square(x))) }
        guard var total = terms.first else { return graph.constant(0) }
        for term in terms.dropFirst() { total = try total + term }
        return total
    }

    /// The penalty of a weight's current values.
    func penalty(of values: Tensor) -> Float {
        let scalars = values.scalars
        let absolute = scalars.reduce(Float(0)) { $0 + Swift.abs($1) }, squares = scalars.reduce(Float(0)) { $0 + $1 * $1 }
        return (l1 != 0 ? l1 * absolute : 0) + (l2 != 0 ? l2 * squares : 0)
    }

    /// The configuration Keras saves: `{"class_name": "L2", "config": {"l2": 0.01}}` (`L1`,
    /// `L2` or `L1L2`).
    var config: JSONValue {
        let (name, fields): (String, [String: JSONValue]) =
            l1 == 0 ? ("L2", ["l2": .number(Double(l2))])
            : l2 == 0 ? ("L1", ["l1": .number(Double(l1))])
            : ("L1L2", ["l1": .number(Double(l1)), "l2": .number(Double(l2))])
        return .object(["class_name": .string(name), "config": .object(fields)])
    }

    /// The regularizer a configuration describes (also Keras' names `l1`, `l2`, `l1_l2`
    /// with their defaults), or `nil` for `null`.
    ///
    /// - Throws: ``KilnError`` naming `context` for an unknown or malformed regularizer.
    static func make(config: JSONValue?, context: String) throws -> Regularizer? {
        guard let config, config != .null else { return nil }
        let name = config.string ?? config.object?["class_name"]?.string ?? ""
        let fields = ConfigReader(config.object?["config"]?.object ?? [:], context: context)
        let made: Regularizer
        switch name {
        case "L1", "l1": made = .l1(try fields.optionalFloat("l1") ?? 0.01)
        case "L2", "l2": made = .l2(try fields.optionalFloat("l2") ?? 0.01)
        case "L1L2": made = Regularizer(l1: try fields.optionalFloat("l1") ?? 0, l2: try fields.optionalFloat("l2") ?? 0)
        case "l1_l2": made = .l1l2(l1: try fields.optionalFloat("l1") ?? 0.01, l2: try fields.optionalFloat("l2") ?? 0.01)
        default:
            throw KilnError(.file, "\(context): unknown regularizer \(config); Kiln has L1, L2 and L1L2")
        }
        try made.check(context)
        return made
    }
}
