import Foundation
import KilnGraph

/// A per-feature affine transform learned from training data: `x * multiplier + offset`,
/// column by column. ``StandardScaler`` and ``MinMaxScaler`` are the two kinds.
///
/// Fit a scaler on the training set only and apply it to the test set and to new samples.
/// Save it on its own (``save(to:)``, JSON) or with the model, as its first layer
/// (``layer(name:)``).
public protocol FeatureScaler: Codable, Sendable {
    /// The multiplier of each feature, once fitted.
    var multiplier: [Float] { get }
    /// The offset of each feature, once fitted.
    var offset: [Float] { get }
    /// Learns the transform from `x` (`[samples, features]`).
    mutating func fit(_ x: Tensor) throws
}

extension FeatureScaler {
    /// `x` transformed column by column.
    ///
    /// - Throws: ``KilnError`` if the scaler is not fitted or `x` has another number of features.
    public func transform(_ x: Tensor) throws -> Tensor {
        try apply(to: x) { value, multiplier, offset in value * multiplier + offset }
    }

    /// Fits on `x` and returns `x` transformed.
    public mutating func fitTransform(_ x: Tensor) throws -> Tensor {
        try fit(x)
        return try transform(x)
    }

    /// Undoes ``transform(_:)``: back to the original units.
    public func inverseTransform(_ x: Tensor) throws -> Tensor {
        try apply(to: x) { value, multiplier, offset in (value - offset) / multiplier }
    }

    /// A layer computing the same transform inside a model, so that it is saved with the
    /// model and new samples can be given in their original units.
    public func layer(name: String? = nil) throws -> Rescaling {
        guard !multiplier.isEmpty else { throw KilnError(.notReady, "\(Self.self) must be fitted before layer()") }
        return Rescaling(scale: multiplier, offset: offset, name: name)
    }

    /// Writes the fitted scaler as JSON, atomically.
    public func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(self), to: path)
    }

    /// Reads a scaler written by ``save(to:)``.
    ///
    /// - Throws: ``KilnError`` naming the file if it is missing or not such a scaler.
    public static func load(from path: String) throws -> Self {
        let data = try readFile(path)
        do {
            return try JSONDecoder().decode(Self.self, from: data)
        } catch {
            throw KilnError(.file, "\(path): not a saved \(Self.self): \(error)")
        }
    }

    /// `x` with `function(value, multiplier, offset)` applied to each element, the
    /// coefficients (computed properties) evaluated once rather than per element.
    private func apply(to x: Tensor, _ function: (Float, Float, Float) -> Float) throws -> Tensor {
        let multiplier = self.multiplier, offset = self.offset
        guard !multiplier.isEmpty else { throw KilnError(.notReady, "\(Self.self) must be fitted before use") }
        guard x.shape.count == 2, x.shape[1] == multiplier.count else {
            throw KilnError(.shapeMismatch, "\(Self.self) was fitted on \(multiplier.count) features, got x of shape \(x.shape)")
        }
        var values = x.scalars
        for index in values.indices {
            let f = index % multiplier.count
            values[index] = function(values[index], multiplier[f], offset[f])
        }
        return try Tensor(shape: x.shape, scalars: values)
    }
}

/// The columns of a `[samples, features]` tensor, checked to be non-empty.
func featureColumns(_ x: Tensor, for scaler: String) throws -> [[Float]] {
    guard x.shape.count == 2, x.shape[0] > 0, x.shape[1] > 0 else {
        throw KilnError(.invalidData, "\(scaler) fits [samples, features] data with at least one sample, got shape \(x.shape)")
    }
    let values = x.scalars, features = x.shape[1]
    return (0..<features).map { f in stride(from: f, to: values.count, by: features).map { values[$0] } }
}

/// Standardises each feature to zero mean and unit variance (scikit-learn's `StandardScaler`):
/// `(x - mean) / std`, with the population standard deviation; a constant feature is only centred.
public struct StandardScaler: FeatureScaler {
    /// The training mean of each feature.
    public private(set) var mean: [Float] = []
    /// The training standard deviation of each feature (1 where it was 0).
    public private(set) var scale: [Float] = []

    /// An unfitted scaler.
    public init() {}

    /// `1 / scale` per feature.
    public var multiplier: [Float] { scale.map { 1 / $0 } }
    /// `-mean / scale` per feature.
    public var offset: [Float] { zip(mean, scale).map { -$0 / $1 } }

    /// Learns each feature's mean and population standard deviation from `x` (`[samples, features]`).
    ///
    /// - Throws: ``KilnError`` if `x` is not a non-empty `[samples, features]` array.
    public mutating func fit(_ x: Tensor) throws {
        let columns = try featureColumns(x, for: "StandardScaler")
        mean = columns.map { column in Float(column.reduce(0.0) { $0 + Double($1) } / Double(column.count)) }
        scale = zip(columns, mean).map { column, m in
            let variance = column.reduce(0.0) { $0 + Double(($1 - m) * ($1 - m)) } / Double(column.count)
            return variance > 0 ? Float(variance.squareRoot()) : 1
        }
    }
}

/// Scales each feature linearly to `range` (scikit-learn's `MinMaxScaler`), from its training
/// minimum and maximum; a constant feature maps to the range's lower end.
public struct MinMaxScaler: FeatureScaler {
    /// The target range.
    public let lower: Float, upper: Float
    /// The training minimum of each feature.
    public private(set) var minimum: [Float] = []
    /// The training maximum of each feature.
    public private(set) var maximum: [Float] = []

    /// An unfitted scaler to `range` (`0...1` by default).
    public init(range: ClosedRange<Float> = 0...1) {
        lower = range.lowerBound
        upper = range.upperBound
    }

    /// `(upper - lower) / (max - min)` per feature (1 for a constant feature).
    public var multiplier: [Float] { zip(minimum, maximum).map { $1 > $0 ? (upper - lower) / ($1 - $0) : 1 } }
    /// `lower - min * multiplier` per feature.
    public var offset: [Float] { zip(minimum, multiplier).map { lower - $0 * $1 } }

    /// Learns each feature's minimum and maximum from `x` (`[samples, features]`).
    ///
    /// - Throws: ``KilnError`` if `x` is not a non-empty `[samples, features]` array.
    public mutating func fit(_ x: Tensor) throws {
        let columns = try featureColumns(x, for: "MinMaxScaler")
        minimum = columns.map { $0.min() ?? 0 }
        maximum = columns.map { $0.max() ?? 0 }
    }
}
