/// How a weight tensor gets its first value, with Keras' formulas and defaults.
///
/// `fanIn` and `fanOut` follow Keras' `compute_fans`: for a `[in, out]` kernel they are `in`
/// and `out`; a vector uses its length for both; higher ranks multiply the leading axes
/// (the receptive field) into both.
public enum Initializer: Sendable, Hashable {
    /// All zeros (Keras' bias default).
    case zeros
    /// All ones.
    case ones
    /// Every element `value`.
    case constant(Float)
    /// Uniform in `[minValue, maxValue)`; Keras' default is `[-0.05, 0.05)`.
    case randomUniform(minValue: Float = -0.05, maxValue: Float = 0.05)
    /// Normal with `mean` and `standardDeviation`; Keras' default is `0, 0.05`.
    case randomNormal(mean: Float = 0, standardDeviation: Float = 0.05)
    /// Uniform in `±sqrt(6 / (fanIn + fanOut))` (Keras' Dense kernel default).
    case glorotUniform
    /// Truncated normal with standard deviation `sqrt(2 / (fanIn + fanOut))`.
    case glorotNormal
    /// Uniform in `±sqrt(6 / fanIn)`.
    case heUniform
    /// Truncated normal with standard deviation `sqrt(2 / fanIn)`.
    case heNormal
    /// A random orthogonal matrix times `gain` (Keras' recurrent kernel default): the weight
    /// seen as `[rows, columns]` (the last axis is the columns) has orthonormal rows or columns,
    /// whichever are fewer.
    case orthogonal(gain: Float = 1)

    /// A tensor of `shape` drawn from the library's seeded generator (see ``Kiln/setRandomSeed(_:)``).
    ///
    /// - Throws: ``KilnError`` if a size is negative or the element count overflows.
    public func tensor(shape: [Int]) throws -> Tensor {
        try Kiln.withRandomGenerator { try tensor(shape: shape, using: &$0) }
    }

    /// A tensor of `shape` drawn from `generator`.
    ///
    /// - Throws: ``KilnError`` if a size is negative or the element count overflows.
    public func tensor(shape: [Int], using generator: inout SeededGenerator) throws -> Tensor {
        _ = try Tensor.checkedCount(shape, what: "an initial value")
        let (fanIn, fanOut) = Initializer.fans(of: shape)
        switch self {
        case .zeros:
            return try Tensor(shape: shape, repeating: Float(0))
        case .ones:
            return try Tensor(shape: shape, repeating: Float(1))
        case .constant(let value):
            return try Tensor(shape: shape, repeating: value)
        case .randomUniform(let low, let high):
            return try .randomUniform(shape: shape, lower: low, upper: high, using: &generator)
        case .randomNormal(let mean, let deviation):
            return try .randomNormal(shape: shape, mean: mean, standardDeviation: deviation, using: &generator)
        case .glorotUniform:
            return try Initializer.varianceScalingUniform(shape, scale: 1, count: (fanIn + fanOut) / 2, &generator)
        case .glorotNormal:
            return try Initializer.varianceScalingNormal(shape, scale: 1, count: (fanIn + fanOut) / 2, &generator)
        case .heUniform:
            return try Initializer.varianceScalingUniform(shape, scale: 2, count: fanIn, &generator)
        case .heNormal:
            return try Initializer.varianceScalingNormal(shape, scale: 2, count: fanIn, &generator)
        case .orthogonal(let gain):
            return try Initializer.orthogonal(shape, gain: gain, &generator)
        }
    }

    /// Keras' `Orthogonal`: a normal `[max(r, c), min(r, c)]` matrix made orthonormal column by
    /// column (Gram–Schmidt, twice for accuracy, which gives the QR factor whose `R` has a
    /// positive diagonal), transposed when there are fewer rows than columns.
    private static func orthogonal(_ shape: [Int], gain: Float, _ generator: inout SeededGenerator) throws -> Tensor {
        guard let columns = shape.last else { return try Tensor(shape: shape, repeating: gain) }
        let rows = shape.dropLast().reduce(1, *)
        let long = Swift.max(rows, columns), short = Swift.min(rows, columns)
        guard short > 0 else { return try Tensor(shape: shape, repeating: Float(0)) }
        let a = try Tensor.randomNormal(shape: [long, short], mean: 0, standardDeviation: 1, using: &generator).scalars
        // q[j] is column j, in Double for the orthogonalisation.
        var q = (0..<short).map { j in (0..<long).map { Double(a[$0 * short + j]) } }
        for j in 0..<short {
            for _ in 0..<2 {
                for previous in 0..<j {
                    let dot = zip(q[j], q[previous]).reduce(0) { $0 + $1.0 * $1.1 }
                    for i in 0..<long { q[j][i] -= dot * q[previous][i] }
                }
            }
            let norm = q[j].reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in 0..<long { q[j][i] = norm > 0 ? q[j][i] / norm : 0 }
        }
        var values = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns {
                // [long, short] is [rows, columns] itself, or its transpose.
                values[r * columns + c] = gain * Float(rows >= columns ? q[c][r] : q[r][c])
            }
        }
        return try Tensor(shape: shape, scalars: values)
    }

    /// Keras' `compute_fans`.
    public static func fans(of shape: [Int]) -> (fanIn: Float, fanOut: Float) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (Float(shape[0]), Float(shape[0]))
        case 2: return (Float(shape[0]), Float(shape[1]))
        default:
            let receptive = shape.dropLast(2).reduce(Float(1)) { $0 * Float($1) }
            return (Float(shape[shape.count - 2]) * receptive, Float(shape[shape.count - 1]) * receptive)
        }
    }

    private static func varianceScalingUniform(_ shape: [Int], scale: Float, count: Float,
                                               _ generator: inout SeededGenerator) throws -> Tensor {
        let limit = (3 * scale / Swift.max(1, count)).squareRoot()
        return try .randomUniform(shape: shape, lower: -limit, upper: limit, using: &generator)
    }

    /// A normal truncated at two standard deviations (redrawn beyond), scaled so that the
    /// truncated distribution has standard deviation `sqrt(scale / count)`.
    private static func varianceScalingNormal(_ shape: [Int], scale: Float, count: Float,
                                              _ generator: inout SeededGenerator) throws -> Tensor {
        let deviation = (scale / Swift.max(1, count)).squareRoot() / 0.879_625_661_034_239_78
        let standard = try Tensor.randomNormal(shape: shape, using: &generator)
        let values = standard.scalars.map { first -> Float in
            var z = first
            while Swift.abs(z) > 2 { z = generator.nextNormal() }
            return z * deviation
        }
        return try Tensor(shape: shape, scalars: values)
    }
}
