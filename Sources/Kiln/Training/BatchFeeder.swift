import KilnGraph
import KilnKernels

/// Runs a compiled step over batches of a data set: it copies each batch's rows into
/// buffers allocated once, on every core for a large batch (or points straight at them when
/// rows are in order), and makes
/// one ``Program/runAssigns(batch:inputs:)`` call, so a training step allocates nothing.
final class BatchFeeder {
    private let program: any Program
    private let sources: [Column]
    private let staging: [UnsafeMutableRawPointer]
    private let addresses: UnsafeMutableBufferPointer<UnsafeRawPointer>
    let batchSize: Int

    /// A feeder for `program`'s inputs from `columns` (by feed name) of `count` samples, in
    /// batches of at most `batchSize` (and never more than the data holds: the staging
    /// buffers are sized by it).
    init(program: any Program, columns: [String: Column], count: Int, batchSize: Int) throws {
        self.program = program
        let batchSize = Swift.min(batchSize, Swift.max(count, 1))
        self.batchSize = batchSize
        let sources = try program.signature.inputs.map { input in
            guard let column = columns[input.name] else {
                throw KilnError(.missingFeed, "no data for the program's input \(String(reflecting: input.name))")
            }
            return column
        }
        self.sources = sources
        staging = sources.map { .allocate(byteCount: Swift.max($0.rowBytes * batchSize, 4), alignment: 64) }
        addresses = .allocate(capacity: Swift.max(sources.count, 1))
        for (index, buffer) in staging.enumerated() { addresses[index] = UnsafeRawPointer(buffer) }
    }

    deinit {
        for buffer in staging { buffer.deallocate() }
        addresses.deallocate()
    }

    /// Runs the step on rows `start..<start + count` of `order` (a permutation of the
    /// samples), or of the samples in order when `order` is `nil`.
    func run(order: UnsafeBufferPointer<Int>?, start: Int, count: Int) throws {
        for (index, source) in sources.enumerated() {
            let rowBytes = source.rowBytes
            if let order {
                let target = staging[index]
                let rows = UnsafeRawPointer(order.baseAddress! + start).assumingMemoryBound(to: Int64.self)
                kiln_gather_rows(Int64(count), Int64(rowBytes), rows, source.base, target)
                addresses[index] = UnsafeRawPointer(target)
            } else {
                addresses[index] = UnsafeRawPointer(source.base + start * rowBytes)
            }
        }
        try program.runAssigns(batch: count, inputs: UnsafeBufferPointer(addresses))
    }
}
