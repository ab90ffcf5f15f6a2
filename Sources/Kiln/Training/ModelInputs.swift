import KilnGraph

/// What `fit`, `evaluate`, `predict` and the batch methods take as a model's inputs, as
/// Keras takes `x`: one array (for a model with one input), arrays in the order of the
/// model's inputs, or arrays by input name.
///
/// ```swift
/// try model.fit([titles, bodies], y)
/// try model.fit(["title": titles, "body": bodies], y)
/// ```
public protocol ModelInputs {
    /// One array per input of `inputs`, in their order.
    ///
    /// - Throws: ``KilnError`` naming the model's inputs if the arrays do not match them.
    func arrays(for inputs: [Input], model: String) throws -> [Tensor]
}

extension Tensor: ModelInputs {
    /// This array, for a model's one input.
    public func arrays(for inputs: [Input], model: String) throws -> [Tensor] { [self] }
}

extension Array: ModelInputs where Element == Tensor {
    /// The arrays, in the order of the model's inputs.
    public func arrays(for inputs: [Input], model: String) throws -> [Tensor] {
        guard inputs.isEmpty || count == inputs.count else {
            throw KilnError(.invalidData, "model \(String(reflecting: model)) has \(inputs.count) inputs "
                            + "(\(inputs.map(\.name).joined(separator: ", "))), got \(count) arrays")
        }
        return self
    }
}

extension Dictionary: ModelInputs where Key == String, Value == Tensor {
    /// The arrays of the model's inputs, by name; a missing or unknown name is an error.
    public func arrays(for inputs: [Input], model: String) throws -> [Tensor] {
        let names = inputs.map(\.name)
        guard !names.isEmpty else {
            throw KilnError(.notReady, "model \(String(reflecting: model)) has no named inputs yet: give it Inputs to feed it by name")
        }
        if let missing = names.first(where: { self[$0] == nil }) {
            throw KilnError(.invalidData, "model \(String(reflecting: model)): no array for input \(String(reflecting: missing)); "
                            + "its inputs are: \(names.joined(separator: ", "))")
        }
        if let unknown = keys.sorted().first(where: { !names.contains($0) }) {
            throw KilnError(.invalidData, "model \(String(reflecting: model)) has no input \(String(reflecting: unknown)); "
                            + "its inputs are: \(names.joined(separator: ", "))")
        }
        return names.map { self[$0]! }
    }
}
