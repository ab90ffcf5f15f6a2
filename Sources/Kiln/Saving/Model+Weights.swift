import Foundation
import KilnGraph

extension Model {
    /// The metadata key listing the layer weights in model order (a JSON array of paths).
    static let weightOrderKey = "kiln_weight_order"

    /// Whether `data` starts like a zip archive (a local file header).
    static func looksLikeZip(_ data: Data) -> Bool { data.starts(with: [0x50, 0x4B, 0x03, 0x04]) }

    /// A weights file's metadata: the format and the weights' order in the model.
    var weightsMetadata: [String: String] {
        let order = JSONValue.array(variables.map { .string($0.path) }).description
        return ["format": "kiln", Self.weightOrderKey: order]
    }

    /// Saves every layer weight as `layer/weight` in a safetensors file, atomically, with the
    /// weights' order in the model, by which ``loadWeights(from:byName:)`` matches them. A
    /// path ending in `.weights.h5` is written as Keras 3's `save_weights` writes it (HDF5),
    /// for Keras' `load_weights` on the same architecture.
    ///
    /// - Throws: ``KilnError`` if the model is not built or the file cannot be written.
    public func saveWeights(to path: String) throws {
        try requireBuilt()
        if path.hasSuffix(".weights.h5") {
            try writeAtomically(try kerasWeights(), to: path)
            return
        }
        try writeAtomically(try Safetensors.encode(variables.map { ($0.path, $0.value) }, metadata: weightsMetadata),
                            to: path)
    }

    /// Loads every layer weight from a safetensors file written by ``saveWeights(to:)``, or
    /// from a `.kiln` file (as Keras' `load_weights` reads `.keras` files), or from Keras 3's
    /// weights: a `.weights.h5` file of `save_weights` or a `.keras` file, matched by the
    /// layers' places in the model as Keras matches them.
    ///
    /// As in Keras, weights are matched by the model's structure: the file's first weight goes
    /// to the model's first, in layer order and then each layer's weight order, so the same
    /// architecture built again (with new unique layer names) loads them.
    ///
    /// - Parameter byName: Match each weight to the file's tensor of the same `layer/weight`
    ///   name instead; files that do not record an order (not written by Kiln) need it.
    /// - Throws: ``KilnError`` naming the file and the weight whose count, shape or name
    ///   does not match; no weight changes then.
    public func loadWeights(from path: String, byName: Bool = false) throws {
        try requireBuilt()
        var data = try readFile(path)
        if Self.looksLikeZip(data) {
            let archive = try ZipReader(data, file: path)
            if Self.isKerasArchive(archive) {
                try loadKerasWeights(try archive.contents(Self.kerasWeightsEntry), file: "\(path) (\(Self.kerasWeightsEntry))")
                return
            }
            data = try archive.contents(Self.weightsEntry)
        }
        if data.starts(with: HDF5Reader.signature) {
            try loadKerasWeights(data, file: path)
            return
        }
        let (tensors, metadata) = try Safetensors.decode(data, file: path)
        if byName {
            try assignWeights(tensors, file: path)
        } else {
            try assignWeights(tensors, order: try weightOrder(metadata, file: path), file: path)
        }
    }

    /// The file's weight paths in the order of the model that saved them.
    private func weightOrder(_ metadata: [String: String], file: String) throws -> [String] {
        guard let text = metadata[Self.weightOrderKey] else {
            throw KilnError(.file, "\(file) does not record the order of its weights (it was not written by Kiln's "
                            + "saveWeights or save); to match them to layers by name, call loadWeights(from:byName: true)")
        }
        guard let order = (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) else {
            throw KilnError(.file, "\(file): the weight order in its metadata is not a list of names")
        }
        return order
    }

    /// Sets the model's weights, in order, from the file's tensors named by `order`, after
    /// checking them all.
    func assignWeights(_ tensors: [String: Tensor], order: [String], file: String) throws {
        let all = variables
        guard order.count == all.count else {
            throw KilnError(.file, "\(file) has \(order.count) weights but model \(String(reflecting: name)) has \(all.count) "
                            + "(\(all.map(\.path).joined(separator: ", "))); load by name with loadWeights(from:byName: true) "
                            + "to take the weights whose names match")
        }
        var values: [Tensor] = []
        for (index, (variable, stored)) in zip(all, order).enumerated() {
            guard let tensor = tensors[stored] else {
                throw KilnError(.file, "\(file): weight \(index) is listed as \(String(reflecting: stored)), which the file lacks")
            }
            guard tensor.dtype == .float32, tensor.shape == variable.shape else {
                throw KilnError(.file, "\(file): weight \(index) of the model, \(variable.path), is f32 \(variable.shape), but the "
                                + "file's weight \(index), \(stored), is \(tensor.dtype) \(tensor.shape)")
            }
            values.append(tensor)
        }
        for (variable, value) in zip(all, values) { try variable.buffer.setValue(value) }
    }

    /// Sets every layer weight from the tensor of the same name, after checking them all.
    func assignWeights(_ tensors: [String: Tensor], file: String) throws {
        var values: [Tensor] = []
        for variable in variables {
            guard let tensor = tensors[variable.path] else {
                throw KilnError(.file, "\(file): no tensor \(String(reflecting: variable.path)) for layer weight "
                                + "\(variable.path) (\(variable.shape)); the file has: \(tensors.keys.sorted().joined(separator: ", "))")
            }
            guard tensor.dtype == .float32, tensor.shape == variable.shape else {
                throw KilnError(.file, "\(file): tensor \(String(reflecting: variable.path)) is \(tensor.dtype) \(tensor.shape), "
                                + "but the model's weight is f32 \(variable.shape)")
            }
            values.append(tensor)
        }
        for (variable, value) in zip(variables, values) { try variable.buffer.setValue(value) }
    }
}
