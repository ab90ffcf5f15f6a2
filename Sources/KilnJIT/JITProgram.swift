import Glibc
import KilnCompiler
import KilnGraph
import KilnKernels
import Synchronization

/// The native backend: the graph optimized, lowered to C and compiled in memory by TinyCC.
///
/// One call runs the whole program: every kernel, then the assigns. Values live in one
/// arena planned at compile time (its size is a polynomial in the batch size, so one program
/// serves every batch size); variables are updated in place in the ``VariableStore``.
///
/// ```swift
/// let program = try JITProgram(graph: g, outputs: ["loss": loss])
/// let result = try program.run(feeds: ["x": x, "y": y])
/// print(program.lowered.unit.source)      // the generated C
/// ```
public final class JITProgram: Program {
    public let signature: ProgramSignature
    public let variables: VariableStore
    /// The optimized graph, its schedule and the generated C.
    public let lowered: LoweredProgram
    /// The compiled code.
    public let unit: CompiledUnit

    private let slotCount: Int
    /// Slot addresses passed to the entry point; feeds are filled in per run.
    private let slotAddresses: UnsafeMutablePointer<UnsafeRawPointer?>
    /// The feed name of each feed slot, by slot index.
    private let feedSlots: [(index: Int, name: String)]
    /// The slot of each of `signature.inputs`, or `nil` where the optimized graph no longer reads it.
    private let inputSlots: [Int?]
    /// The constants' elements, which the program owns.
    private var constantStorage: [UnsafeMutableRawPointer] = []
    /// The buffers of the variables the slots point into, kept alive while the program lives
    /// even if the store lets go of them.
    private var variableBuffers: [VariableBuffer] = []
    private var arena: UnsafeMutableRawPointer?
    private var arenaCapacity = 0
    private let fault = UnsafeMutablePointer<Int64>.allocate(capacity: 8)

    /// Compiles `graph` to compute `outputs`; every assign in the graph runs on each call.
    ///
    /// - Parameters:
    ///   - variables: The store to read and write variables in, shared with other programs;
    ///     a new one when `nil`. The graph's variables missing from it are added.
    ///   - switches: The debug switches (`KILN_DEBUG`, `KILN_DUMP_C`).
    /// - Throws: ``KilnError`` if the graph fails ``Graph/verify()``, the outputs are invalid,
    ///   a variable has another type in the store, or the C does not compile (with TinyCC's
    ///   message and the offending lines), or OpenBLAS or TinyCC's runtime is missing.
    public init(graph: Graph, outputs: [String: Node], variables: VariableStore? = nil,
                switches: DebugSwitches = .current) throws {
        let start = Stopwatch.now
        try graph.verify()
        signature = try ProgramSignature(graph: graph, outputs: outputs)
        self.variables = variables ?? VariableStore()
        try self.variables.register(graph)
        lowered = try Lowering.lower(graph, outputs: outputs, switches: switches)
        if let directory = switches.dumpDirectory { Self.dump(lowered.unit.source, to: directory, switches: switches) }
        unit = try CompiledUnit(source: lowered.unit.source, entry: lowered.unit.entry)

        let slots = lowered.schedule.slots
        slotCount = slots.count
        slotAddresses = .allocate(capacity: max(slots.count, 1))
        slotAddresses.initialize(repeating: nil, count: max(slots.count, 1))
        var feedSlots: [(Int, String)] = []
        for (index, slot) in slots.enumerated() {
            switch slot.kind {
            case .feed(let name):
                feedSlots.append((index, name))
            case .variable(let name):
                let buffer = try self.variables.buffer(name)
                variableBuffers.append(buffer)
                slotAddresses[index] = UnsafeRawPointer(buffer.pointer)
            case .constant(let value):
                let storage = UnsafeMutableRawPointer.allocate(byteCount: max(value.byteCount, 1), alignment: 64)
                value.copyBytes(to: storage)
                constantStorage.append(storage)
                slotAddresses[index] = UnsafeRawPointer(storage)
            }
        }
        self.feedSlots = feedSlots
        inputSlots = signature.inputs.map { input in feedSlots.first { $0.1 == input.name }?.0 }
        let total = Stopwatch.now - start
        switches.log(1, formatted("compile: %.2f ms (passes %.2f, C %.2f, TinyCC %.2f); %d nodes -> %d kernels; %d lines of C",
                                       total * 1e3, lowered.optimizeSeconds * 1e3, lowered.renderSeconds * 1e3,
                                       unit.compileSeconds * 1e3, graph.nodes.count, lowered.unit.kernelCount,
                                       lowered.unit.source.count { $0 == "\n" }))
    }

    deinit {
        slotAddresses.deallocate()
        fault.deallocate()
        for storage in constantStorage { storage.deallocate() }
        arena?.deallocate()
    }

    public func run(feeds: [String: Tensor]) throws -> [String: Tensor] {
        let batch = try signature.batchSize(of: feeds)
        try reserveArena(batch: batch)
        var feedTensors: [Tensor] = []
        feedTensors.reserveCapacity(feedSlots.count)
        for (_, name) in feedSlots {
            guard let feed = feeds[name] else {
                throw KilnError(.missingFeed, "missing feed \(String(reflecting: name))")
            }
            feedTensors.append(feed)
        }
        return try withFeeds(feedTensors[...]) { try call(batch: batch) }
    }

    public func runAssigns(batch: Int, inputs: UnsafeBufferPointer<UnsafeRawPointer>) throws {
        guard inputs.count == inputSlots.count else {
            throw KilnError(.missingFeed, "the program takes \(inputSlots.count) inputs, got \(inputs.count)")
        }
        try reserveArena(batch: batch)
        for (slot, address) in zip(inputSlots, inputs) {
            if let slot { slotAddresses[slot] = address }
        }
        defer { for case let slot? in inputSlots { slotAddresses[slot] = nil } }
        try enter(batch: batch)
    }

    /// Calls the entry point with denormals flushed to zero.
    private func enter(batch: Int) throws {
        fault.initialize(repeating: 0, count: 8)
        let mode = kiln_flush_denormals()
        let status = unit.entry(arena, Int64(batch), UnsafePointer(slotAddresses), fault)
        kiln_restore_float_mode(mode)
        if status != 0 { throw faultError(status: status, batch: batch) }
    }

    private func reserveArena(batch: Int) throws {
        guard let bytes = lowered.function.memory?.arenaBytes.value(n: batch) else {
            throw KilnError(.runtime, "with a batch of \(batch) the program's memory size overflows")
        }
        if bytes > arenaCapacity {
            arena?.deallocate()
            arena = .allocate(byteCount: bytes, alignment: 64)
            arenaCapacity = bytes
        }
    }

    /// Points the feed slots at the feeds' elements while `body` runs.
    private func withFeeds<R>(_ feeds: ArraySlice<Tensor>, _ body: () throws -> R) rethrows -> R {
        guard let first = feeds.first else { return try body() }
        let slot = feedSlots[feedSlots.count - feeds.count].index
        return try first.withUnsafeRawPointer { pointer in
            slotAddresses[slot] = pointer
            defer { slotAddresses[slot] = nil }
            return try withFeeds(feeds.dropFirst(), body)
        }
    }

    private func call(batch: Int) throws -> [String: Tensor] {
        try enter(batch: batch)
        var results: [String: Tensor] = [:]
        for output in lowered.schedule.outputs {
            let shape = output.type.shape.resolved(batch: batch)
            let address: UnsafeRawPointer
            switch output.place {
            case .slot(let index):
                guard let pointer = slotAddresses[index] else {
                    throw KilnError(.runtime, "output \(String(reflecting: output.name)) has no memory")
                }
                address = pointer
            case .arena(let offset):
                guard let arena, let at = offset.value(n: batch) else {
                    throw KilnError(.runtime, "output \(String(reflecting: output.name)) has no memory")
                }
                address = UnsafeRawPointer(arena + at)
            }
            results[output.name] = Tensor(shape: shape, dtype: output.type.dtype, copyingFrom: address)
        }
        return results
    }

    /// The error a kernel reported, naming the node.
    private func faultError(status: Int32, batch: Int) -> KilnError {
        let nodes = lowered.function.nodes
        let index = Int(fault[4])
        guard nodes.indices.contains(index) else { return KilnError(.runtime, "the program failed with status \(status)") }
        let node = nodes[index]
        let line = Printer.line(node, id: NodeID(index))
        switch fault[0] {
        case 1:
            let indicesInput: NodeID
            if case .oneHot = node.op { indicesInput = node.inputs[0] } else { indicesInput = node.inputs[1] }
            let indicesShape = nodes[indicesInput.index].type.shape.resolved(batch: batch)
            let position = Indexing.unravel(Int(fault[2]), in: indicesShape)
            return KilnError(.runtime, "\(line): index \(fault[1]) at position \(position) is out of range 0..<\(fault[3])")
        case 2:
            let shape = nodes[node.inputs[0].index].type.shape.resolved(batch: batch)
            if case .argmax(let axis, _) = node.op {
                return KilnError(.runtime, "\(line): argmax over axis \(axis) of a tensor of shape \(shape), which is empty")
            }
            return KilnError(.runtime, "\(line): an empty reduction")
        default:
            return KilnError(.runtime, "\(line): failed with status \(status)")
        }
    }

    private static let dumpCounter = Mutex(0)

    /// Writes a translation unit to `directory` as `kiln_<pid>_<k>.c`.
    private static func dump(_ source: String, to directory: String, switches: DebugSwitches) {
        let k = dumpCounter.withLock { value in
            value += 1
            return value
        }
        mkdir(directory, 0o755)
        let path = "\(directory)/kiln_\(getpid())_\(k).c"
        guard let file = fopen(path, "w") else {
            switches.log(0, "KILN_DUMP_C: cannot write \(path)")
            return
        }
        fputs(source, file)
        fclose(file)
        switches.log(1, "KILN_DUMP_C: wrote \(path)")
    }
}

/// `String(format:)` without Foundation, for the handful of numbers debug output prints.
func formatted(_ format: String, _ arguments: CVarArg...) -> String {
    withVaList(arguments) { list in
        var buffer = [CChar](repeating: 0, count: 512)
        let length = Int(vsnprintf(&buffer, buffer.count, format, list))
        return String(decoding: buffer.prefix(max(0, min(length, buffer.count - 1))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
