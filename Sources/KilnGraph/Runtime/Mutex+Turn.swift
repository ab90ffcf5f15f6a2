import Synchronization

extension Mutex where Value == Void {
    /// Runs `body` while holding the lock and returns its result, which need not be
    /// `Sendable`: the calls of a program that must take turns.
    package func takingTurn<Result>(_ body: () throws -> Result) throws -> Result {
        try withLock { _ in Turn(result: try body()) }.result
    }
}

/// A result handed out of a lock by the thread that made it.
private struct Turn<Result>: @unchecked Sendable {
    let result: Result
}
