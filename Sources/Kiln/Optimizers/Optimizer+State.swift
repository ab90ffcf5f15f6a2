import KilnGraph

extension Optimizer {
    /// Whether variable `variable` is part of this optimizer's state: `name/iterations`,
    /// `name/learning_rate`, or a weight's slot `name/layer/weight/slot`. (A layer's own
    /// weights, `layer/weight`, never are.)
    func ownsVariable(_ variable: String) -> Bool {
        guard variable.hasPrefix(statePrefix + "/") else { return false }
        let rest = variable.dropFirst(statePrefix.count + 1)
        if rest == "iterations" || rest == "learning_rate" { return true }
        return rest.split(separator: "/", omittingEmptySubsequences: false).count >= 3
    }

    /// Moves the optimizer's state variables from the store it has now into `target`, which
    /// becomes its store. Variables of the same names already in `target` are dropped first:
    /// they belonged to no optimizer still in use there.
    func moveState(to target: VariableStore) {
        let source = store
        store = target
        guard source !== target else { return }
        for name in target.names where ownsVariable(name) { target.remove(name) }
        guard let source else { return }
        for name in source.names where ownsVariable(name) {
            guard let buffer = try? source.buffer(name) else { continue }
            source.remove(name)
            try? target.insert(buffer, as: name)
        }
    }
}

extension Optimizer {
    /// The largest iteration count a saved file may hold: counts are `f32`, exact up to 2^24.
    static let iterationLimit: Float = 16_777_216

    /// Checks one of this optimizer's state tensors read from a file: a whole, non-negative
    /// iteration count, a finite learning rate, slots shaped like their weights and finite.
    ///
    /// - Parameter weights: The model's weight shapes, by path (`dense/kernel`).
    /// - Throws: ``KilnError`` naming `file` and the tensor.
    func checkState(_ variable: String, _ tensor: Tensor, weights: [String: [Int]], file: String) throws {
        func fail(_ why: String) -> KilnError { KilnError(.file, "\(file): optimizer state \(String(reflecting: variable)) \(why)") }
        guard tensor.dtype == .float32 else { throw fail("is \(tensor.dtype), not f32") }
        let rest = String(variable.dropFirst(statePrefix.count + 1))
        switch rest {
        case "iterations", "learning_rate":
            guard tensor.shape == [] else { throw fail("has shape \(tensor.shape), not a scalar") }
            let value = tensor.scalars[0]
            guard value.isFinite else { throw fail("is \(value)") }
            if rest == "iterations" {
                guard value >= 0, value == value.rounded(), value <= Self.iterationLimit else {
                    throw fail("is \(value), not a step count in 0...\(Int(Self.iterationLimit))")
                }
            }
        default:
            let weight = String(rest[..<(rest.lastIndex(of: "/") ?? rest.endIndex)])
            guard let shape = weights[weight] else { throw fail("belongs to no weight of the model (\(weight))") }
            guard tensor.shape == shape else { throw fail("has shape \(tensor.shape), but weight \(weight) is \(shape)") }
            if let bad = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
                throw fail("holds \(tensor.scalars[bad]) at element \(bad)")
            }
        }
    }
}
