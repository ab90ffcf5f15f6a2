extension DType {
    /// The size of one element in memory: 4 bytes for `f32` and `i32`, 1 for `bool` (0 or 1).
    public var byteSize: Int { self == .bool ? 1 : 4 }
}

extension Tensor {
    /// The number of bytes the elements take in memory.
    public var byteCount: Int { scalarCount * dtype.byteSize }

    /// Calls `body` with the address of the elements, laid out row-major as C expects them
    /// (`float`, `int32_t`, or `uint8_t` 0/1 for `bool`).
    package func withUnsafeRawPointer<R>(_ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        switch storage {
        case .float32(let a): return try a.withUnsafeBytes { try body($0.baseAddress ?? Self.emptyAddress) }
        case .int32(let a): return try a.withUnsafeBytes { try body($0.baseAddress ?? Self.emptyAddress) }
        case .bool(let a): return try a.withUnsafeBytes { try body($0.baseAddress ?? Self.emptyAddress) }
        }
    }

    /// A valid, aligned address for a tensor without elements, which C never reads through.
    private nonisolated(unsafe) static let emptyAddress = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64))

    /// Copies the elements to `destination`, which has room for ``byteCount`` bytes.
    package func copyBytes(to destination: UnsafeMutableRawPointer) {
        let count = byteCount
        withUnsafeRawPointer { destination.copyMemory(from: $0, byteCount: count) }
    }

    /// A tensor of `shape` and `dtype` whose elements are copied from `source`.
    ///
    /// `bool` elements must be 0 or 1, as generated code writes them.
    package init(shape: [Int], dtype: DType, copyingFrom source: UnsafeRawPointer) {
        let count = Shape.product(shape) ?? 0
        let storage: Storage
        switch dtype {
        case .float32:
            storage = .float32(Array(UnsafeBufferPointer(start: source.assumingMemoryBound(to: Float.self), count: count)))
        case .int32:
            storage = .int32(Array(UnsafeBufferPointer(start: source.assumingMemoryBound(to: Int32.self), count: count)))
        case .bool:
            let bytes = UnsafeBufferPointer(start: source.assumingMemoryBound(to: UInt8.self), count: count)
            storage = .bool(bytes.map { $0 != 0 })
        }
        self.init(validShape: shape, storage: storage)
    }
}
