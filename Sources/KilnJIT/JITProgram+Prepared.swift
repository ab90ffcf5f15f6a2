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

/// ``PreparedCall`` on the JIT backend: the sizes, the arena and the output worked out once;
/// a call sets one slot, calls the entry point and copies the output from where the program
/// left it (``JITProgram/address(of:_:batch:)``, as `run` reads it).
final class JITPreparedCall: PreparedCall, @unchecked Sendable {
    let program: JITProgram
    let types: PreparedCallTypes
    private let batch: Int
    /// The input's slot, or `nil` when the optimized program no longer reads it.
    private let inputSlot: Int?
    private let output: Schedule.Output
    private let outputBytes: Int
    private let state: JITCallState
    /// Held by each call: the state is this object's alone.
    private let busy = Mutex(())

    init(_ program: JITProgram, batch: Int, output: String) throws {
        types = try program.signature.preparedCall(batch: batch, output: output)
        self.output = try program.scheduledOutput(output)
        self.program = program
        self.batch = batch
        inputSlot = program.inputSlots[0]
        outputBytes = (Shape.product(types.outputShape) ?? 0) * types.outputType.byteSize
        state = JITCallState(template: program.slotTemplate, count: program.slotCount)
        state.reserveArena(try program.arenaBytes(batch: batch))
    }

    func run(_ input: UnsafeRawPointer, into output: UnsafeMutableRawPointer) throws {
        try busy.withLock { _ in
            if let inputSlot { state.slots[inputSlot] = input }
            defer { if let inputSlot { state.slots[inputSlot] = nil } }
            try program.enter(state, batch: batch)
            output.copyMemory(from: try program.address(of: self.output, state, batch: batch), byteCount: outputBytes)
        }
    }
}
