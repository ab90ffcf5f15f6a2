import Glibc
import KilnCompiler
import KilnGraph
import Synchronization

extension JITProgram {
    /// One call of the compiled entry point at `batch` on the caller's memory, with its own
    /// arena and slots (``PreparedCall``): the input's slot points at the caller's input, and
    /// the output is copied from where the program leaves it to the caller's output.
    public func prepare(batch: Int, output: String) throws -> any PreparedCall {
        try JITPreparedCall(self, batch: batch, output: output)
    }
}

/// ``PreparedCall`` on the JIT backend: the sizes, the arena and the output's place worked
/// out once; a call sets one slot, calls the entry point and copies the output.
final class JITPreparedCall: PreparedCall, @unchecked Sendable {
    let program: JITProgram
    let types: PreparedCallTypes
    private let batch: Int
    /// The input's slot, or `nil` when the optimized program no longer reads it.
    private let inputSlot: Int?
    /// Where the output is after a call: the address in a slot (an input or variable passed
    /// through), or this byte offset of the arena.
    private let outputSlot: Int?
    private let outputOffset: Int
    private let outputBytes: Int
    private let state: JITCallState
    /// Held by each call: the state is this object's alone.
    private let busy = Mutex(())

    init(_ program: JITProgram, batch: Int, output: String) throws {
        types = try program.signature.preparedCall(batch: batch, output: output)
        guard let scheduled = program.lowered.schedule.outputs.first(where: { $0.name == output }) else {
            throw KilnError(.unknownName, "the program has no output \(String(reflecting: output))")
        }
        self.program = program
        self.batch = batch
        inputSlot = program.inputSlots[0]
        switch scheduled.place {
        case .slot(let index):
            (outputSlot, outputOffset) = (index, 0)
        case .arena(let offset):
            guard let at = offset.value(n: batch) else {
                throw KilnError(.runtime, "with a batch of \(batch) the program's memory size overflows")
            }
            (outputSlot, outputOffset) = (nil, at)
        }
        outputBytes = (Shape.product(types.outputShape) ?? 0) * types.outputType.byteSize
        state = JITCallState(template: program.slotTemplate, count: program.slotCount)
        state.reserveArena(try program.arenaBytes(batch: batch))
    }

    func run(_ input: UnsafeRawPointer, into output: UnsafeMutableRawPointer) throws {
        try busy.withLock { _ in
            if let inputSlot { state.slots[inputSlot] = input }
            defer { if let inputSlot { state.slots[inputSlot] = nil } }
            try program.enter(state, batch: batch)
            let source = outputSlot.map { state.slots[$0] } ?? state.arena.map { UnsafeRawPointer($0 + outputOffset) }
            guard let source else { throw KilnError(.runtime, "the output has no memory") }
            output.copyMemory(from: source, byteCount: outputBytes)
        }
    }
}
