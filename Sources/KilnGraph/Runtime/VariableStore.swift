import Synchronization

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
///
/// The store's table of names is safe to use from several threads at once; the elements of
/// a buffer are not locked (a value read while a program updates it mixes old and new).
public final class VariableStore: @unchecked Sendable {
    private let table = Mutex<[String: VariableBuffer]>([:])

    /// An empty store.
    public init() {}

    /// The variable names, sorted.
    public var names: [String] { table.withLock { $0.keys.sorted() } }

    /// Adds the variables of `graph` that the store lacks, with their initial values; the
    /// others keep their current values.
    ///
    /// - Throws: ``KilnError`` if a variable already in the store has another type in `graph`.
    public func register(_ graph: Graph) throws {
        try table.withLock { slots in
            for (name, initial) in graph.initialValues.sorted(by: { $0.key < $1.key }) {
                if let current = slots[name] {
                    guard current.type == initial.type else {
                        throw KilnError(.feedMismatch, "variable \(String(reflecting: name)) is \(current.type) in the "
                                        + "store but \(initial.type) in the graph")
                    }
                } else {
                    slots[name] = VariableBuffer(initial)
                }
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

    /// The buffer holding variable `name`.
    ///
    /// - Throws: ``KilnError`` if the store has no such variable.
    public func buffer(_ name: String) throws -> VariableBuffer { try slot(name) }

    /// Makes `buffer` the store's variable `name`, so that several stores (the models sharing
    /// a layer) read and write the same elements.
    ///
    /// - Throws: ``KilnError`` if the store already has another buffer called `name`.
    public func insert(_ buffer: VariableBuffer, as name: String) throws {
        try table.withLock { slots in
            if let current = slots[name] {
                guard current === buffer else {
                    throw KilnError(.invalidArgument, "the store already has another variable \(String(reflecting: name))")
                }
                return
            }
            slots[name] = buffer
        }
    }

    /// Removes variable `name` if the store has it. Programs compiled before keep the buffer
    /// they were given; the interpreter's no longer find it.
    public func remove(_ name: String) { table.withLock { $0[name] = nil } }

    private func slot(_ name: String) throws -> VariableBuffer {
        guard let slot = table.withLock({ $0[name] }) else {
            let known = names.map { String(reflecting: $0) }.joined(separator: ", ")
            throw KilnError(.unknownName, "no variable \(String(reflecting: name)); the variables are: \(known)")
        }
        return slot
    }
}

/// One variable's elements in a buffer allocated once and never moved, so compiled programs
/// read and update it in place. A buffer can belong to several ``VariableStore``s.
public final class VariableBuffer: @unchecked Sendable {
    /// The element type and static shape.
    public let type: TensorType
    /// The concrete shape.
    public let shape: [Int]
    package let pointer: UnsafeMutableRawPointer

    /// A buffer holding a copy of `value`.
    public init(_ value: Tensor) {
        type = value.type
        shape = value.shape
        pointer = .allocate(byteCount: max(value.byteCount, 1), alignment: 64)
        value.copyBytes(to: pointer)
    }

    deinit { pointer.deallocate() }

    /// A copy of the current elements.
    public var value: Tensor { Tensor(shape: shape, dtype: type.dtype, copyingFrom: pointer) }

    /// Replaces the elements.
    ///
    /// - Throws: ``KilnError`` if `value` has another element type or shape.
    public func setValue(_ value: Tensor) throws {
        guard value.type == type else {
            throw KilnError(.shapeMismatch, "the new value is \(value.type), the variable is \(type)")
        }
        value.copyBytes(to: pointer)
    }

    /// The elements, read in place (`float32` buffers only; empty otherwise).
    public func withFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let count = type.dtype == .float32 ? shape.reduce(1, *) : 0
        return try body(UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: Float.self), count: count))
    }
}
