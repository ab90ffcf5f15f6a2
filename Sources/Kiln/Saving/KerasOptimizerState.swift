import KilnGraph

/// The optimizer's state in Keras' `model.weights.h5`: `optimizer/vars/0` the iteration count
/// (int64), `vars/1` the learning rate, then the slots of each trainable weight in the
/// model's order, each group of slots made together interleaved weight by weight (Adam's
/// momentum and velocity; RMSprop's velocities, then its momentums, then its average
/// gradients).
enum KerasOptimizerState {
    static let path = "optimizer/vars"

    /// Keras' groups of slots for `optimizer`, each slot with Kiln's name for it; `nil` for
    /// an optimizer Keras does not have.
    static func slotGroups(_ optimizer: Optimizer) -> [[(keras: String, kiln: String)]]? {
        switch optimizer {
        case is Adam: return [[("momentum", "m"), ("velocity", "v")]]
        case let sgd as SGD: return sgd.momentum != 0 ? [[("momentum", "momentum")]] : []
        case let rms as RMSprop:
            return [[("velocity", "velocity")]] + (rms.momentum > 0 ? [[("momentum", "momentum")]] : [])
                + (rms.centered ? [[("average_gradient", "average_gradient")]] : [])
        case is Adagrad: return [[("accumulator", "accumulator")]]
        default: return nil
        }
    }

    /// The names of the optimizer's variables in Kiln's store, in Keras' order.
    static func variableNames(_ optimizer: Optimizer, model: Model, order: [(className: String, layer: Layer?)]) -> [String]? {
        guard let groups = slotGroups(optimizer) else { return nil }
        let trainable = Set(model.layers.flatMap(\.trainableVariables).map(ObjectIdentifier.init))
        let weights = KerasWeights.groups(of: order).flatMap(\.variables).filter { trainable.contains(ObjectIdentifier($0)) }
        var names = [optimizer.iterationsVariable, optimizer.learningRateVariable]
        for group in groups {
            for weight in weights {
                names += group.map { "\(optimizer.statePrefix)/\(weight.path)/\($0.kiln)" }
            }
        }
        return names
    }

    /// Adds the optimizer's state to `weights` when it has taken a step and Keras has it.
    static func write(_ model: Model, order: [(className: String, layer: Layer?)], into weights: inout HDF5Writer) throws {
        guard let optimizer = model.optimizer, KerasConfig.compileConfig(of: model) != nil,
              let names = variableNames(optimizer, model: model, order: order),
              Set(names).isSubset(of: model.store.names) else { return }
        for (index, name) in names.enumerated() {
            let value = try model.store.value(name)
            try weights.add("\(path)/\(index)", shape: value.shape, values: value.scalars, integers: index == 0)
        }
    }

    /// Reads the optimizer's state into the model's store when the file has it for the
    /// optimizer the model was compiled with; otherwise the optimizer starts afresh, as Keras
    /// does when the counts differ.
    ///
    /// - Throws: ``KilnError`` naming `file` and the variable whose shape or value is wrong.
    static func read(_ weights: HDF5Reader, into model: Model, order: [(className: String, layer: Layer?)], file: String) throws {
        guard let optimizer = model.optimizer, let names = variableNames(optimizer, model: model, order: order),
              let members = try weights.members(path), members.count == names.count else { return }
        let shapes = Dictionary(model.variables.map { ($0.path, $0.shape) }, uniquingKeysWith: { a, _ in a })
        var values: [(String, Tensor)] = []
        for (index, name) in names.enumerated() {
            guard let dataset = try weights.dataset("\(path)/\(index)") else {
                throw KilnError(.file, "\(file): optimizer variable \(path)/\(index) is missing")
            }
            let tensor = try Tensor(shape: dataset.shape, scalars: dataset.values)
            do {
                try optimizer.checkState(name, tensor, weights: shapes, file: file)
            } catch let error as KilnError {
                throw KilnError(.file, "\(error.message) (Keras' \(path)/\(index))")
            }
            values.append((name, tensor))
        }
        for (name, tensor) in values { try model.store.insert(VariableBuffer(tensor), as: name) }
    }
}
