import KilnGraph

/// Where the values of a fused function live while a program runs.
public struct MemoryPlan: Sendable {
    /// The kernels in execution order.
    public var kernels: [KernelSpec]
    /// The byte offset in the arena of each value a kernel writes.
    public var offsets: [NodeID: BatchPolynomial]
    /// Arena room for variables that are results and also assigned: their values from the
    /// start of the run are copied there before the assigns write the new ones.
    public var snapshots: [NodeID: BatchPolynomial]
    /// Assigned values a kernel writes straight into their variable (value → variable); they
    /// take no arena room and need no copy at the end of the run.
    public var inPlace: [NodeID: NodeID] = [:]
    /// The arena's size in bytes.
    public var arenaBytes: BatchPolynomial
    /// The bytes the same buffers would take without reuse.
    public var unplannedBytes: BatchPolynomial
}

/// Memory planning: every value a kernel writes gets a place in one arena, reusing the room
/// of values no kernel reads any more (first fit, by liveness over the kernel order).
///
/// Sizes depend on the batch size `n`, so buffers are planned in regions by their degree in
/// `n` (static, `c*n`, `c*n²`, ...), each packed on its own; an offset is then a polynomial
/// in `n` and one plan serves every batch size.
public enum PlanMemory {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        var result = function
        result.memory = plan(function)
        return result
    }

    /// Static buffers start at multiples of 64 bytes (a cache line); buffers that scale with
    /// the batch take multiples of 16 bytes per unit of `n`, so narrow ones waste little.
    static let alignment = 64, batchAlignment = 16

    private struct Buffer {
        let node: NodeID
        let degree: Int
        let bytes: Int
        let start: Int
        var end: Int
    }

    private static func plan(_ function: Function) -> MemoryPlan {
        let kernels = function.kernels()
        let inPlace = UpdateInPlace.pairs(function, kernels: kernels)
        let end = kernels.count
        var buffers: [Buffer] = []
        var bufferOf: [NodeID: Int] = [:]
        func add(_ node: NodeID, start: Int, end: Int) {
            let type = function.nodes[node.index].type
            let degree = type.shape.batchDimCount
            let bytes = roundUp(max((type.shape.staticProduct ?? 0) * type.dtype.byteSize, 1), degree: degree)
            bufferOf[node] = buffers.count
            buffers.append(Buffer(node: node, degree: degree, bytes: bytes, start: start, end: end))
        }
        for (k, kernel) in kernels.enumerated() {
            for input in kernel.inputs {
                if let b = bufferOf[input] { buffers[b].end = max(buffers[b].end, k) }
            }
            for node in kernel.outputs + kernel.scratch where inPlace[node] == nil { add(node, start: k, end: k) }
        }
        var snapshotNodes: [NodeID] = []
        let assigned = Set(function.nodes.compactMap { node -> NodeID? in
            if case .assign = node.op { return node.inputs[0] } else { return nil }
        })
        for result in function.results.sorted() {
            let root = function.aliasRoot(result)
            if let b = bufferOf[root] {
                buffers[b].end = end + 1
            } else if assigned.contains(root), !snapshotNodes.contains(root) {
                snapshotNodes.append(root)
                add(root, start: end, end: end + 1)
            }
        }

        let degrees = (buffers.map(\.degree).max() ?? -1) + 1
        var regionSizes = [Int](repeating: 0, count: degrees)
        var regionOffsets: [Int: Int] = [:]
        for degree in 0..<degrees {
            var allocator = FirstFit()
            let inRegion = buffers.indices.filter { buffers[$0].degree == degree }
            for k in 0...(end + 1) {
                for b in inRegion where buffers[b].start == k { regionOffsets[b] = allocator.allocate(buffers[b].bytes) }
                for b in inRegion where buffers[b].end == k { allocator.free(regionOffsets[b] ?? 0, buffers[b].bytes) }
            }
            regionSizes[degree] = allocator.high
        }
        var bases: [BatchPolynomial] = []
        var arena = BatchPolynomial()
        for degree in 0..<degrees {
            bases.append(arena)
            arena = arena + .monomial(regionSizes[degree], degree: degree)
        }
        var offsets: [NodeID: BatchPolynomial] = [:]
        var snapshots: [NodeID: BatchPolynomial] = [:]
        var unplanned = BatchPolynomial()
        for (b, buffer) in buffers.enumerated() {
            let offset = bases[buffer.degree] + .monomial(regionOffsets[b] ?? 0, degree: buffer.degree)
            if snapshotNodes.contains(buffer.node) { snapshots[buffer.node] = offset } else { offsets[buffer.node] = offset }
            unplanned = unplanned + .monomial(buffer.bytes, degree: buffer.degree)
        }
        return MemoryPlan(kernels: kernels, offsets: offsets, snapshots: snapshots, inPlace: inPlace,
                          arenaBytes: arena, unplannedBytes: unplanned)
    }

    private static func roundUp(_ bytes: Int, degree: Int) -> Int {
        let unit = degree == 0 ? alignment : batchAlignment
        return (bytes + unit - 1) / unit * unit
    }

    /// First-fit allocation in one region, with freed blocks merged with their neighbours.
    private struct FirstFit {
        var free: [(offset: Int, size: Int)] = []
        var high = 0

        mutating func allocate(_ size: Int) -> Int {
            if let i = free.firstIndex(where: { $0.size >= size }) {
                let block = free[i]
                if block.size == size { free.remove(at: i) } else { free[i] = (block.offset + size, block.size - size) }
                return block.offset
            }
            // Grow the region, using a free block at its end if there is one.
            if let last = free.last, last.offset + last.size == high {
                free.removeLast()
                high = last.offset + size
                return last.offset
            }
            high += size
            return high - size
        }

        mutating func free(_ offset: Int, _ size: Int) {
            let i = free.firstIndex { $0.offset > offset } ?? free.count
            free.insert((offset, size), at: i)
            if i + 1 < free.count, free[i].offset + free[i].size == free[i + 1].offset {
                free[i].size += free[i + 1].size
                free.remove(at: i + 1)
            }
            if i > 0, free[i - 1].offset + free[i - 1].size == free[i].offset {
                free[i - 1].size += free[i].size
                free.remove(at: i)
            }
        }
    }
}
