import Foundation
import KilnGraph

extension Model {
    /// The model's weights as Keras 3 keeps them in HDF5 (`model.weights.h5` inside a `.keras`
    /// file, or a `.weights.h5` file of `save_weights`), and `withOptimizer` the optimizer's
    /// state when Keras has it.
    func kerasWeights(withOptimizer: Bool = false) throws -> Data {
        try requireBuilt()
        var weights = HDF5Writer()
        let order = KerasConfig.layerList(of: self)
        if withOptimizer { try KerasOptimizerState.write(self, order: order, into: &weights) }
        for group in KerasWeights.groups(of: order) {
            for (index, variable) in group.variables.enumerated() {
                let value = variable.value
                try weights.add("\(group.path)/\(index)", shape: value.shape, values: value.scalars)
            }
        }
        return weights.encoded()
    }

    /// Sets the weights of the layers listed as Keras lists them (`order`) from Keras' HDF5
    /// weights, after checking every count and shape.
    ///
    /// - Throws: ``KilnError`` naming `file`, the layer, the weight and the dataset whose
    ///   count, shape or type does not match; no weight changes then.
    func assignKerasWeights(_ weights: HDF5Reader, order: [(className: String, layer: Layer?)], file: String) throws {
        var values: [(LayerVariable, Tensor)] = []
        for group in KerasWeights.groups(of: order) {
            let layer = "layer \(group.layer.description)"
            let members = try weights.members(group.path) ?? []
            guard members.count == group.variables.count else {
                throw KilnError(.file, "\(file): \(layer) has \(group.variables.count) weights "
                                + "(\(group.variables.map(\.name).joined(separator: ", "))) but the file has \(members.count) "
                                + "at \(group.path)")
            }
            for (index, variable) in group.variables.enumerated() {
                let path = "\(group.path)/\(index)"
                let found: HDF5Reader.Dataset?
                do {
                    found = try weights.dataset(path)
                } catch let error as KilnError {
                    throw KilnError(.file, "\(error.message) (weight \(variable.name) of \(layer))")
                }
                guard let dataset = found else {
                    throw KilnError(.file, "\(file): \(layer): weight \(variable.name) is missing (no dataset \(path))")
                }
                guard dataset.storedType == "float32", dataset.shape == variable.shape else {
                    throw KilnError(.file, "\(file): \(layer): weight \(variable.name) is float32 \(variable.shape), but "
                                    + "dataset \(path) is \(dataset.storedType) \(dataset.shape)")
                }
                values.append((variable, try Tensor(shape: dataset.shape, scalars: dataset.values)))
            }
        }
        for (variable, value) in values { try variable.buffer.setValue(value) }
    }

    /// Loads Keras 3's HDF5 weights (a `.weights.h5` file, or the weights of a `.keras` file)
    /// into this model, which must have the architecture that saved them: as in Keras, each
    /// layer's weights are found by its place in the model.
    func loadKerasWeights(_ data: Data, file: String) throws {
        try requireBuilt()
        try assignKerasWeights(try HDF5Reader(data, file: file),
                               order: KerasConfig.layerList(of: self), file: file)
    }
}
