import KilnGraph

/// A source of batches for `fit`, `evaluate` and `predict` when the data does not fit in
/// one tensor, or is made as it goes (Keras' `PyDataset`): the number of batches in an
/// epoch, each batch by index, and a hook at the end of each epoch.
///
/// ```swift
/// final class Squares: Dataset {
///     var count: Int { 100 }
///     func batch(at index: Int) throws -> Batch {
///         let x = (0..<32).map { Float(index * 32 + $0) / 3200 }
///         return Batch(x: try Tensor(shape: [32, 1], scalars: x), y: try Tensor(shape: [32, 1], scalars: x.map { $0 * $0 }))
///     }
/// }
/// try model.fit(Squares(), epochs: 5)
/// ```
///
/// While the model trains on one batch, the next is read and checked on a second thread:
/// ``batch(at:)`` is called from that thread, one call at a time, with indices in order
/// within an epoch, and ``onEpochEnd()`` when no call is running. Batches may differ in size;
/// their samples must keep the model's shapes.
public protocol Dataset: AnyObject {
    /// The number of batches in an epoch.
    var count: Int { get }

    /// Batch `index`, in `0..<count`.
    ///
    /// - Throws: Any error; `fit`, `evaluate` and `predict` report it with the batch's index.
    func batch(at index: Int) throws -> Batch

    /// Called after each epoch of `fit` and after `evaluate` and `predict` (to shuffle, or
    /// to rewind a stream); nothing by default.
    func onEpochEnd() throws
}

extension Dataset {
    public func onEpochEnd() throws {}
}

/// One batch of a ``Dataset``: the inputs, and for training and evaluation the targets and
/// optional per-sample weights, in any form `fit` takes them (one array, arrays in the
/// model's order, or arrays by name).
public struct Batch {
    public var x: any ModelInputs
    public var y: (any ModelTargets)?
    public var sampleWeight: (any ModelTargets)?

    public init(x: any ModelInputs, y: (any ModelTargets)? = nil, sampleWeight: (any ModelTargets)? = nil) {
        self.x = x
        self.y = y
        self.sampleWeight = sampleWeight
    }
}

/// Batches of arrays held in memory, drawn in a new seeded order each epoch when
/// shuffling: what `fit` does with tensors, as a ``Dataset``.
public final class ArrayDataset: Dataset {
    private let x: NamedArrays
    private let y: NamedArrays?
    private let sampleWeight: NamedArrays?
    private let samples: Int
    /// The samples in each batch (the last may have fewer).
    public let batchSize: Int
    /// Whether each epoch draws the samples in a new order.
    public let shuffle: Bool
    private var order: [Int]

    /// Batches of `batchSize` rows of `x` (and `y`, `sampleWeight`), each an array or arrays
    /// in order or by name.
    ///
    /// - Throws: ``KilnError`` if the arrays have different numbers of rows or `batchSize`
    ///   is not positive.
    public init(x: some ModelInputs, y: (any ModelTargets)? = nil, sampleWeight: (any ModelTargets)? = nil,
                batchSize: Int = 32, shuffle: Bool = true) throws {
        guard batchSize > 0 else { throw KilnError(.invalidArgument, "batchSize must be positive, got \(batchSize)") }
        self.x = try NamedArrays(x, "x")
        self.y = try y.map { try NamedArrays($0, "y") }
        self.sampleWeight = try sampleWeight.map { try NamedArrays($0, "sampleWeight") }
        let counts = [self.x, self.y, self.sampleWeight].compactMap { $0 }.flatMap(\.rowCounts)
        let samples = counts.first ?? 0
        self.samples = samples
        guard counts.allSatisfy({ $0 == samples }) else {
            throw KilnError(.invalidData, "the arrays of an ArrayDataset have different numbers of rows: \(counts)")
        }
        self.batchSize = batchSize
        self.shuffle = shuffle
        var order = Array(0..<samples)
        if shuffle { try Kiln.withRandomGenerator { order.shuffle(using: &$0) } }
        self.order = order
    }

    public var count: Int { samples == 0 ? 0 : (samples - 1) / batchSize + 1 }

    public func batch(at index: Int) throws -> Batch {
        guard index >= 0, index < count else {
            throw KilnError(.invalidArgument, "batch \(index) of an ArrayDataset of \(count) batches")
        }
        let rows = Array(order[(index * batchSize)..<Swift.min(samples, (index + 1) * batchSize)])
        return Batch(x: try x.rows(rows), y: try y?.rows(rows), sampleWeight: try sampleWeight?.rows(rows))
    }

    public func onEpochEnd() throws {
        if shuffle { try Kiln.withRandomGenerator { order.shuffle(using: &$0) } }
    }
}

/// Batches a closure makes from their index, for data computed as it goes.
public final class GeneratorDataset: Dataset {
    public let count: Int
    private let make: (Int) throws -> Batch
    private let epochEnd: () throws -> Void

    /// `count` batches per epoch, batch `i` being `make(i)`; `onEpochEnd` runs after each epoch.
    public init(count: Int, onEpochEnd: @escaping () throws -> Void = {}, _ make: @escaping (Int) throws -> Batch) {
        self.count = count
        self.make = make
        epochEnd = onEpochEnd
    }

    public func batch(at index: Int) throws -> Batch { try make(index) }

    public func onEpochEnd() throws { try epochEnd() }
}

/// Arrays given as `fit` takes them, kept in that form so batches of rows keep it too.
enum NamedArrays {
    case single(Tensor)
    case list([Tensor])
    case named([String: Tensor])

    init(_ arrays: any ModelInputs, _ what: String) throws {
        switch arrays {
        case let tensor as Tensor: self = .single(tensor)
        case let list as [Tensor]: self = .list(list)
        case let named as [String: Tensor]: self = .named(named)
        default: throw KilnError(.invalidArgument, "\(what) should be a Tensor, [Tensor] or [String: Tensor], got \(type(of: arrays))")
        }
    }

    var rowCounts: [Int] {
        switch self {
        case .single(let tensor): [tensor.shape.first ?? 0]
        case .list(let tensors): tensors.map { $0.shape.first ?? 0 }
        case .named(let tensors): tensors.values.map { $0.shape.first ?? 0 }
        }
    }

    func rows(_ indices: [Int]) throws -> any ModelInputs {
        switch self {
        case .single(let tensor): try tensor.rows(at: indices)
        case .list(let tensors): try tensors.map { try $0.rows(at: indices) }
        case .named(let tensors): try tensors.mapValues { try $0.rows(at: indices) }
        }
    }
}
