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
/// A program may be run from several threads at once: each call has its own arena and slot
/// addresses (from a pool, so a thread calling again allocates nothing). Calls of a program
/// that assigns variables (a training step) take turns, so every call sees whole updates; a
/// program that only reads variables (predict) runs calls in parallel, and reading them while
/// another program of the same store updates them gives a mix of old and new values.
///
/// ```swift
/// let program = try JITProgram(graph: g, outputs: ["loss": loss])
/// let result = try program.run(feeds: ["x": x, "y": y])
/// print(program.lowered.unit.source)      // the generated C
/// ```
public final class JITProgram: Program, @unchecked Sendable {
    /// The inputs, outputs and variables.
    public let signature: ProgramSignature
    /// The variables, shared with every program compiled with the same store.
    public let variables: VariableStore
    /// The optimized graph, its schedule and the generated C.
    public let lowered: LoweredProgram
    /// The compiled code.
    public let unit: CompiledUnit

    let slotCount: Int
    /// Slot addresses of the variables and constants; each call's state copies them and adds its feeds.
    let slotTemplate: UnsafeMutablePointer<UnsafeRawPointer?>
    /// The feed name of each feed slot, by slot index.
    private let feedSlots: [(index: Int, name: String)]
    /// The slot of each of `signature.inputs`, or `nil` where the optimized graph no longer reads it.
    let inputSlots: [Int?]
    /// The constants' elements, which the program owns.
    private var constantStorage: [UnsafeMutableRawPointer] = []
    /// The buffers of the variables the slots point into, kept alive while the program lives
    /// even if the store lets go of them.
    private var variableBuffers: [VariableBuffer] = []
    /// Call states not in use.
    private let idleStates = Mutex<[JITCallState]>([])
    /// Held by each call of a program that assigns variables (``ProgramSignature/assigns``).
    private let turn = Mutex(())

    /// Compiles `graph` to compute `outputs`; every assign in the graph runs on each call.
    ///
    /// - Parameters:
    ///   - variables: The store to read and write variables in, shared with other programs;
    ///     a new one when `nil`. The graph's variables missing from it are added.
    ///   - switches: The debug switches (`KILN_DEBUG`, `KILN_DUMP_C`).
    /// - Throws: ``KilnError`` if the graph fails ``Graph/verify()``, the outputs are invalid,
    ///   a variable has another type in the store, or the C does not compile (with TinyCC's
    ///   message and the offending lines), or no GEMM library loads (see `KILN_GEMM`) or TinyCC's runtime is missing.
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
        slotCount = max(slots.count, 1)
        slotTemplate = .allocate(capacity: slotCount)
        slotTemplate.initialize(repeating: nil, count: slotCount)
        var feedSlots: [(Int, String)] = []
        for (index, slot) in slots.enumerated() {
            switch slot.kind {
            case .feed(let name):
                feedSlots.append((index, name))
            case .variable(let name):
                let buffer = try self.variables.buffer(name)
                variableBuffers.append(buffer)
                slotTemplate[index] = UnsafeRawPointer(buffer.pointer)
            case .constant(let value):
                let storage = UnsafeMutableRawPointer.allocate(byteCount: max(value.byteCount, 1), alignment: 64)
                value.copyBytes(to: storage)
                constantStorage.append(storage)
                slotTemplate[index] = UnsafeRawPointer(storage)
            }
        }
        self.feedSlots = feedSlots
        inputSlots = signature.inputs.map { input in feedSlots.first { $0.1 == input.name }?.0 }
        let total = Stopwatch.now - start
        switches.log(1, cFormat("compile: %.2f ms (passes %.2f, C %.2f, TinyCC %.2f); %d nodes -> %d kernels; %d lines of C",
                                       total * 1e3, lowered.optimizeSeconds * 1e3, lowered.renderSeconds * 1e3,
                                       unit.compileSeconds * 1e3, graph.nodes.count, lowered.unit.kernelCount,
                                       lowered.unit.source.count { $0 == "\n" }))
    }

    deinit {
        slotTemplate.deallocate()
        for storage in constantStorage { storage.deallocate() }
    }

    /// Runs the program once (see ``Program/run(feeds:)``): one call of the compiled entry point.
    public func run(feeds: [String: Tensor]) throws -> [String: Tensor] {
        let batch = try signature.batchSize(of: feeds)
        let bytes = try arenaBytes(batch: batch)
        var feedTensors: [Tensor] = []
        feedTensors.reserveCapacity(feedSlots.count)
        for (_, name) in feedSlots {
            guard let feed = feeds[name] else {
                throw KilnError(.missingFeed, "missing feed \(String(reflecting: name))")
            }
            feedTensors.append(feed)
        }
        return try withCallState { state in
            state.reserveArena(bytes)
            return try withFeeds(feedTensors[...], state) {
                try enter(state, batch: batch)
                return try results(state, batch: batch)
            }
        }
    }

    /// Runs a program of one input (see ``Program/run(_:output:)``): one call of the entry
    /// point with the input's own memory, and one copy of the output.
    public func run(_ input: Tensor, output: String) throws -> Tensor {
        let batch = try signature.batchSize(ofOnlyInput: input)
        let result = try scheduledOutput(output)
        let bytes = try arenaBytes(batch: batch)
        return try withCallState { state in
            state.reserveArena(bytes)
            let slot = inputSlots[0]
            return try input.withUnsafeRawPointer { pointer in
                if let slot { state.slots[slot] = pointer }
                defer { if let slot { state.slots[slot] = nil } }
                try enter(state, batch: batch)
                return try value(of: result, state, batch: batch)
            }
        }
    }

    /// Runs the program for its assigns with the inputs' own memory (see
    /// ``Program/runAssigns(batch:inputs:)``); allocates nothing once a call state exists.
    public func runAssigns(batch: Int, inputs: UnsafeBufferPointer<UnsafeRawPointer>) throws {
        guard inputs.count == inputSlots.count else {
            throw KilnError(.missingFeed, "the program takes \(inputSlots.count) inputs, got \(inputs.count)")
        }
        guard batch >= 0 else { throw KilnError(.invalidArgument, "the batch size must not be negative, got \(batch)") }
        let bytes = try arenaBytes(batch: batch)
        try withCallState { state in
            state.reserveArena(bytes)
            for (slot, address) in zip(inputSlots, inputs) {
                if let slot { state.slots[slot] = address }
            }
            defer { for case let slot? in inputSlots { state.slots[slot] = nil } }
            try enter(state, batch: batch)
        }
    }

    /// Runs `body` with a call state of its own, from the pool or new, returned after. Calls
    /// of a program that assigns variables take turns, so each sees whole updates.
    private func withCallState<R>(_ body: (JITCallState) throws -> R) throws -> R {
        let state = idleStates.withLock { $0.popLast() } ?? JITCallState(template: slotTemplate, count: slotCount)
        defer { idleStates.withLock { $0.append(state) } }
        return signature.assigns ? try turn.takingTurn { try body(state) } : try body(state)
    }

    /// Calls the entry point with denormals flushed to zero.
    func enter(_ state: JITCallState, batch: Int) throws {
        state.fault.update(repeating: 0, count: 8)
        let mode = kiln_flush_denormals()
        let status = unit.entry(state.arena, Int64(batch), UnsafePointer(state.slots), state.fault)
        kiln_restore_float_mode(mode)
        if status != 0 { throw faultError(status: status, fault: state.fault, batch: batch) }
    }

    /// The arena size for `batch`, within ``Tensor/byteLimit``.
    func arenaBytes(batch: Int) throws -> Int {
        guard let bytes = lowered.function.memory?.arenaBytes.value(n: batch) else {
            throw KilnError(.runtime, "with a batch of \(batch) the program's memory size overflows")
        }
        try Tensor.checkBytes(bytes, dtype: .bool, what: "with a batch of \(batch), the program's intermediate values")
        return bytes
    }

    /// Points the feed slots at the feeds' elements while `body` runs.
    private func withFeeds<R>(_ feeds: ArraySlice<Tensor>, _ state: JITCallState, _ body: () throws -> R) rethrows -> R {
        guard let first = feeds.first else { return try body() }
        let slot = feedSlots[feedSlots.count - feeds.count].index
        return try first.withUnsafeRawPointer { pointer in
            state.slots[slot] = pointer
            defer { state.slots[slot] = nil }
            return try withFeeds(feeds.dropFirst(), state, body)
        }
    }

    /// Copies the outputs out of the slots and the arena.
    private func results(_ state: JITCallState, batch: Int) throws -> [String: Tensor] {
        var results: [String: Tensor] = [:]
        for output in lowered.schedule.outputs { results[output.name] = try value(of: output, state, batch: batch) }
        return results
    }

    /// The scheduled output named `name`.
    ///
    /// - Throws: ``KilnError`` if the program has no output `name`.
    func scheduledOutput(_ name: String) throws -> Schedule.Output {
        guard let output = lowered.schedule.outputs.first(where: { $0.name == name }) else {
            throw KilnError(.unknownName, "the program has no output \(String(reflecting: name))")
        }
        return output
    }

    /// Copies one output out of its slot or the arena.
    private func value(of output: Schedule.Output, _ state: JITCallState, batch: Int) throws -> Tensor {
        Tensor(shape: output.type.shape.resolved(batch: batch), dtype: output.type.dtype,
               copyingFrom: try address(of: output, state, batch: batch))
    }

    /// Where one output is after a call: in its slot or the arena.
    func address(of output: Schedule.Output, _ state: JITCallState, batch: Int) throws -> UnsafeRawPointer {
        switch output.place {
        case .slot(let index):
            guard let pointer = state.slots[index] else {
                throw KilnError(.runtime, "output \(String(reflecting: output.name)) has no memory")
            }
            return pointer
        case .arena(let offset):
            guard let arena = state.arena, let at = offset.value(n: batch) else {
                throw KilnError(.runtime, "output \(String(reflecting: output.name)) has no memory")
            }
            return UnsafeRawPointer(arena + at)
        }
    }

    /// The error a kernel reported, naming the node.
    private func faultError(status: Int32, fault: UnsafeMutablePointer<Int64>, batch: Int) -> KilnError {
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
