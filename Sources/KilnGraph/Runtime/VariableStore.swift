/// Variable values shared by programs. Programs compiled with the same store read and
/// write the same variables, matched by name, even when they come from different graphs:
/// a training step updates the weights a prediction program then uses.
///
/// ```swift
/// let weights = VariableStore()
/// let train = try InterpreterProgram(graph: trainingGraph, outputs: ["loss": loss], variables: weights)
/// let predict = try InterpreterProgram(graph: inferenceGraph, outputs: ["p": p], variables: weights)
/// ```
///
/// Each variable lives in one buffer allocated when it is registered and never moved, so
/// compiled programs read and update it in place.
public final class VariableStore {
    /// One variable's fixed-size buffer.
    private final class Slot {
        let type: TensorType
        let shape: [Int]
        let pointer: UnsafeMutableRawPointer

        init(_ value: Tensor) {
            type = value.type
            shape = value.shape
            pointer = .allocate(byteCount: max(value.byteCount, 1), alignment: 64)
            value.copyBytes(to: pointer)
        }

        deinit { pointer.deallocate() }

        var value: Tensor { Tensor(shape: shape, dtype: type.dtype, copyingFrom: pointer) }
    }

    private var slots: [String: Slot] = [:]

    /// An empty store.
    public init() {}

    /// The variable names, sorted.
    public var names: [String] { slots.keys.sorted() }

    /// Adds the variables of `graph` that the store lacks, with their initial values; the
    /// others keep their current values.
    ///
    /// - Throws: ``KilnError`` if a variable already in the store has another type in `graph`.
    public func register(_ graph: Graph) throws {
        for (name, initial) in graph.initialValues.sorted(by: { $0.key < $1.key }) {
            if let current = slots[name] {
                guard current.type == initial.type else {
                    throw KilnError(.feedMismatch, "variable \(String(reflecting: name)) is \(current.type) in the store "
                                    + "but \(initial.type) in the graph")
                }
            } else {
                slots[name] = Slot(initial)
            }
        }
    }

    /// The current value of variable `name`.
    ///
    /// - Throws: ``KilnError`` if the store has no such variable.
    public func value(_ name: String) throws -> Tensor { try slot(name).value }

    /// Replaces the value of variable `name`.
    ///
    /// - Throws: ``KilnError`` if there is no such variable or `value` has another type.
    public func setValue(_ value: Tensor, for name: String) throws {
        let slot = try slot(name)
        guard slot.type == value.type else {
            throw KilnError(.feedMismatch, "variable \(String(reflecting: name)) is \(slot.type), the new value is \(value.type)")
        }
        value.copyBytes(to: slot.pointer)
    }

    /// The address of variable `name`'s elements, valid as long as the store lives; compiled
    /// programs read and write the variable there.
    ///
    /// - Throws: ``KilnError`` if the store has no such variable.
    package func address(of name: String) throws -> UnsafeMutableRawPointer { try slot(name).pointer }

    private func slot(_ name: String) throws -> Slot {
        guard let slot = slots[name] else {
            let known = names.map { String(reflecting: $0) }.joined(separator: ", ")
            throw KilnError(.unknownName, "no variable \(String(reflecting: name)); the variables are: \(known)")
        }
        return slot
    }
}
