import KilnGraph

extension Optimizer {
    /// Whether variable `variable` is part of this optimizer's state: `name/iterations`,
    /// `name/learning_rate`, or a weight's slot `name/layer/weight/slot`. (A layer's own
    /// weights, `layer/weight`, never are.)
    func ownsVariable(_ variable: String) -> Bool {
        guard variable.hasPrefix(name + "/") else { return false }
        let rest = variable.dropFirst(name.count + 1)
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
