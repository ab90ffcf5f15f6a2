/// What one call of a compiled program writes while it runs: the arena of intermediate
/// values, the slot addresses with this call's feeds, and the fault record. A program keeps
/// these in a pool, so calls from several threads at once each have their own, and a thread
/// calling again reuses one without allocating.
final class JITCallState: @unchecked Sendable {
    /// The arena, at least as large as the last batch needed; never `nil` once reserved.
    private(set) var arena: UnsafeMutableRawPointer?
    private var capacity = 0
    /// The slot addresses: the program's variables and constants, and this call's feeds.
    let slots: UnsafeMutablePointer<UnsafeRawPointer?>
    /// The 8 `int64_t`s a failing kernel fills.
    let fault = UnsafeMutablePointer<Int64>.allocate(capacity: 8)

    /// A state whose slots start as a copy of `template` (`count` addresses).
    init(template: UnsafePointer<UnsafeRawPointer?>, count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(from: template, count: count)
        fault.initialize(repeating: 0, count: 8)
    }

    deinit {
        slots.deallocate()
        fault.deallocate()
        arena?.deallocate()
    }

    /// Makes the arena hold at least `bytes` (64-byte aligned, and at least 64 bytes, so an
    /// empty batch still has an address to point at).
    func reserveArena(_ bytes: Int) {
        guard bytes > capacity || arena == nil else { return }
        arena?.deallocate()
        let size = Swift.max(bytes, 64)
        arena = .allocate(byteCount: size, alignment: 64)
        capacity = size
    }
}
