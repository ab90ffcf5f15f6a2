import KilnGraph

/// An activation function, with Keras' definitions and defaults.
public enum ActivationFunction: Hashable, Sendable {
    /// `x`.
    case linear
    /// `max(x, 0)`.
    case relu
    /// `1 / (1 + exp(-x))`.
    case sigmoid
    /// `tanh(x)`.
    case tanh
    /// `exp(x) / sum(exp(x))` over the last axis.
    case softmax
    /// `x` for positive inputs, `negativeSlope * x` otherwise (Keras' default slope is 0.2).
    case leakyRelu(negativeSlope: Float)
    /// `x` for positive inputs, `alpha * (exp(x) - 1)` otherwise.
    case elu(alpha: Float)
    /// `scale * elu(x, alpha)` with Keras' self-normalising constants.
    case selu
    /// `x * P(X <= x)` for a standard normal X (exact, with `erf`, as Keras' default).
    case gelu
    /// `x * sigmoid(x)`, also called SiLU.
    case swish
    /// `log(1 + exp(x))`.
    case softplus

    /// Leaky ReLU with Keras' default slope of 0.2.
    public static let leakyRelu = ActivationFunction.leakyRelu(negativeSlope: 0.2)
    /// ELU with Keras' default alpha of 1.
    public static let elu = ActivationFunction.elu(alpha: 1)

    /// Keras' name for the function (`leaky_relu`).
    public var name: String {
        switch self {
        case .linear: "linear"
        case .relu: "relu"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .softmax: "softmax"
        case .leakyRelu: "leaky_relu"
        case .elu: "elu"
        case .selu: "selu"
        case .gelu: "gelu"
        case .swish: "swish"
        case .softplus: "softplus"
        }
    }

    /// The function named `name` as Keras spells it (`relu`, `leaky_relu`, `silu`, …), with
    /// Keras' defaults.
    ///
    /// - Throws: ``KilnError`` listing the names if `name` is none of them.
    public init(named name: String) throws {
        switch name {
        case "linear", "None": self = .linear
        case "relu": self = .relu
        case "sigmoid": self = .sigmoid
        case "tanh": self = .tanh
        case "softmax": self = .softmax
        case "leaky_relu": self = .leakyRelu
        case "elu": self = .elu
        case "selu": self = .selu
        case "gelu": self = .gelu
        case "swish", "silu": self = .swish
        case "softplus": self = .softplus
        default:
            throw KilnError(.invalidArgument, "unknown activation \(String(reflecting: name)); the activations are: linear, "
                            + "relu, sigmoid, tanh, softmax, leaky_relu, elu, selu, gelu, swish, softplus")
        }
    }

    /// The activation's configuration: its name, and its parameter where it has one.
    var config: JSONValue {
        switch self {
        case .leakyRelu(let slope) where slope != 0.2:
            .object(["name": .string(name), "negative_slope": .number(Double(slope))])
        case .elu(let alpha) where alpha != 1:
            .object(["name": .string(name), "alpha": .number(Double(alpha))])
        default: .string(name)
        }
    }

    init(config: JSONValue, context: String) throws {
        if let name = config.string {
            self = try ActivationFunction(named: name)
            return
        }
        let reader = ConfigReader(config.object ?? [:], context: context)
        switch try reader.string("name") {
        case "leaky_relu": self = .leakyRelu(negativeSlope: try reader.float("negative_slope"))
        case "elu": self = .elu(alpha: try reader.float("alpha"))
        case let name: self = try ActivationFunction(named: name)
        }
    }

    /// Adds the nodes applying the function to `x`.
    public func apply(_ x: Node) throws -> Node {
        switch self {
        case .linear: return x
        case .relu: return try KilnGraph.relu(x)
        case .sigmoid: return try KilnGraph.sigmoid(x)
        case .tanh: return try KilnGraph.tanh(x)
        case .softmax: return try KilnGraph.softmax(x)
        case .leakyRelu(let slope):
            return try select(greater(x, x.graph.constant(0)), x, x * slope)
        case .elu(let alpha):
            return try Self.elu(x, alpha: alpha)
        case .selu:
            return try Self.elu(x, alpha: 1.673_263_2) * 1.050_701
        case .gelu:
            return try x * (erf(x * 0.707_106_77) + 1) * 0.5
        case .swish:
            return try x * KilnGraph.sigmoid(x)
        case .softplus:
            return try KilnGraph.softplus(x)
        }
    }

    /// `exp` of the non-positive part only, so large inputs give no infinite gradient.
    private static func elu(_ x: Node, alpha: Float) throws -> Node {
        let zero = x.graph.constant(0)
        return try select(greater(x, zero), x, (exp(minimum(x, zero)) - 1) * alpha)
    }
}
