/// Variable values shared by programs. Programs compiled with the same store read and
/// write the same variables, matched by name, even when they come from different graphs:
/// a training step updates the weights a prediction program then uses.
///
/// ```swift
/// let weights = VariableStore()
/// let train = try InterpreterProgram(graph: trainingGraph, outputs: ["loss": loss], variables: weights)
/// let predict = try InterpreterProgram(graph: inferenceGraph, outputs: ["p": p], variables: weights)
/// ```
public final class VariableStore {
    private var values: [String: Tensor] = [:]

    /// An empty store.
    public init() {}

    /// The variable names, sorted.
    public var names: [String] { values.keys.sorted() }

    /// Adds the variables of `graph` that the store lacks, with their initial values; the
    /// others keep their current values.
    ///
    /// - Throws: ``KilnError`` if a variable already in the store has another type in `graph`.
    public func register(_ graph: Graph) throws {
        for (name, initial) in graph.initialValues.sorted(by: { $0.key < $1.key }) {
            if let current = values[name] {
                guard current.type == initial.type else {
                    throw KilnError(.feedMismatch, "variable \(String(reflecting: name)) is \(current.type) in the store "
                                    + "but \(initial.type) in the graph")
                }
            } else {
                values[name] = initial
            }
        }
    }

    /// The current value of variable `name`.
    ///
    /// - Throws: ``KilnError`` if the store has no such variable.
    public func value(_ name: String) throws -> Tensor {
        guard let value = values[name] else {
            let known = names.map { String(reflecting: $0) }.joined(separator: ", ")
            throw KilnError(.unknownName, "no variable \(String(reflecting: name)); the variables are: \(known)")
        }
        return value
    }

    /// Replaces the value of variable `name`.
    ///
    /// - Throws: ``KilnError`` if there is no such variable or `value` has another type.
    public func setValue(_ value: Tensor, for name: String) throws {
        let current = try self.value(name)
        guard current.type == value.type else {
            throw KilnError(.feedMismatch, "variable \(String(reflecting: name)) is \(current.type), the new value is \(value.type)")
        }
        values[name] = value
    }
}
