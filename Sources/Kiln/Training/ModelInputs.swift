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
    /// One array per name of `names` (a model's inputs, or its outputs), in their order;
    /// `kind` says which, for messages.
    ///
    /// - Throws: ``KilnError`` naming the model's inputs or outputs if the arrays do not match them.
    func arrays(for names: [String], of kind: String, model: String) throws -> [Tensor]
}

/// What `fit`, `evaluate` and the batch methods take as a model's targets and sample
/// weights: one array for a model with one output, arrays in the order of the model's
/// outputs, or arrays by output name (``Model/outputNames``), as Keras takes `y`.
///
/// ```swift
/// try model.fit(x, ["priority": priorities, "department": departments])
/// ```
public typealias ModelTargets = ModelInputs

extension ModelInputs {
    /// `model "m" has 2 inputs (a, b)`, for messages.
    static func counted(_ names: [String], _ kind: String, model: String) -> String {
        "model \(String(reflecting: model)) has \(names.count) \(kind)\(names.count == 1 ? "" : "s") "
            + "(\(names.joined(separator: ", ")))"
    }
}

extension Tensor: ModelInputs {
    /// This array, for a model's one input or output.
    public func arrays(for names: [String], of kind: String, model: String) throws -> [Tensor] {
        guard names.count <= 1 else {
            throw KilnError(.invalidData, "\(Self.counted(names, kind, model: model)), got one array; give \(names.count) "
                            + "in that order or a dictionary by name")
        }
        return [self]
    }
}

extension Array: ModelInputs where Element == Tensor {
    /// The arrays, in the order of the model's inputs or outputs.
    public func arrays(for names: [String], of kind: String, model: String) throws -> [Tensor] {
        guard names.isEmpty || count == names.count else {
            throw KilnError(.invalidData, "\(Self.counted(names, kind, model: model)), got \(count) arrays")
        }
        return self
    }
}

extension Dictionary: ModelInputs where Key == String, Value == Tensor {
    /// The arrays of the model's inputs or outputs, by name; a missing or unknown name is an error.
    public func arrays(for names: [String], of kind: String, model: String) throws -> [Tensor] {
        guard !names.isEmpty else {
            throw KilnError(.notReady, "model \(String(reflecting: model)) has no named \(kind)s yet: give it Inputs to feed "
                            + "it by name")
        }
        let known = names.joined(separator: ", ")
        if let missing = names.first(where: { self[$0] == nil }) {
            throw KilnError(.invalidData, "model \(String(reflecting: model)): no array for \(kind) \(String(reflecting: missing)); "
                            + "its \(kind)s are: \(known)")
        }
        if let unknown = keys.sorted().first(where: { !names.contains($0) }) {
            throw KilnError(.invalidData, "model \(String(reflecting: model)) has no \(kind) \(String(reflecting: unknown)); "
                            + "its \(kind)s are: \(known)")
        }
        return names.map { self[$0]! }
    }
}
