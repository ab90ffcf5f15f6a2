import Dispatch

/// Prepares the next batch of a ``Dataset`` on a second thread while the current one runs:
/// ``take(_:)`` returns batch `index` (waiting for it if it is still being made) and starts
/// making batch `index + 1` when there is one.
final class Prefetcher<Value>: @unchecked Sendable {
    private let queue = DispatchQueue(label: "kiln.prefetch")
    private let count: Int
    private let make: (Int) throws -> Value
    /// The batch being made: its index, the group to wait on and the slot its result lands in.
    private var pending: (index: Int, group: DispatchGroup, slot: Slot)?

    private final class Slot: @unchecked Sendable {
        var result: Result<Value, any Error>?
    }

    /// A prefetcher of `count` values, value `i` being `make(i)` (run on the second thread).
    init(count: Int, make: @escaping (Int) throws -> Value) {
        self.count = count
        self.make = make
    }

    /// Value `index`; the next one starts on the second thread before this returns.
    func take(_ index: Int) throws -> Value {
        if pending?.index != index { wait(); start(index) }
        guard let (_, group, slot) = pending else { throw KilnError(.invalidArgument, "no value \(index) is being made") }
        group.wait()
        pending = nil
        if index + 1 < count { start(index + 1) }
        guard let result = slot.result else { throw KilnError(.invalidArgument, "value \(index) was not made") }
        return try result.get()
    }

    /// Waits for the value being made, if any, and drops it (the end of an epoch cut short).
    func wait() {
        pending?.group.wait()
        pending = nil
    }

    private func start(_ index: Int) {
        let group = DispatchGroup(), slot = Slot()
        let work = UncheckedSendable { slot.result = Result { try self.make(index) } }
        queue.async(group: group) { work.value() }
        pending = (index, group, slot)
    }

    deinit { pending?.group.wait() }
}

/// A value handed to another thread that the code around it keeps from being used at once.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
