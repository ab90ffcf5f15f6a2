extension Initializer {
    /// The initializer's configuration, as Keras names it (`glorot_uniform`, `random_normal`, …).
    var config: JSONValue {
        switch self {
        case .zeros: .string("zeros")
        case .ones: .string("ones")
        case .constant(let value): .object(["name": .string("constant"), "value": .number(Double(value))])
        case .randomUniform(let low, let high):
            .object(["name": .string("random_uniform"), "minval": .number(Double(low)), "maxval": .number(Double(high))])
        case .randomNormal(let mean, let deviation):
            .object(["name": .string("random_normal"), "mean": .number(Double(mean)), "stddev": .number(Double(deviation))])
        case .glorotUniform: .string("glorot_uniform")
        case .glorotNormal: .string("glorot_normal")
        case .heUniform: .string("he_uniform")
        case .heNormal: .string("he_normal")
        case .orthogonal(let gain): .object(["name": .string("orthogonal"), "gain": .number(Double(gain))])
        }
    }

    init(config: JSONValue, context: String) throws {
        let name = config.string ?? config.object?["name"]?.string ?? ""
        let reader = ConfigReader(config.object ?? [:], context: context)
        switch name {
        case "zeros": self = .zeros
        case "ones": self = .ones
        case "constant": self = .constant(try reader.float("value"))
        case "random_uniform": self = .randomUniform(minValue: try reader.float("minval"), maxValue: try reader.float("maxval"))
        case "random_normal": self = .randomNormal(mean: try reader.float("mean"), standardDeviation: try reader.float("stddev"))
        case "glorot_uniform": self = .glorotUniform
        case "glorot_normal": self = .glorotNormal
        case "he_uniform": self = .heUniform
        case "he_normal": self = .heNormal
        case "orthogonal": self = .orthogonal(gain: try reader.optionalFloat("gain") ?? 1)
        default: throw KilnError(.file, "\(context): unknown initializer \(config)")
        }
    }
}
