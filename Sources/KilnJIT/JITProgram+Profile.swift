import KilnCompiler
import KilnGraph

/// Where the calls of a profiled program spent their time (programs compiled with
/// `KILN_PROFILE=1`, or with ``DebugSwitches/profile`` set).
public struct KernelProfile: Sendable {
    /// One kernel's share.
    public struct Kernel: Sendable {
        /// The kernel's C function (`k3_matmul_add_relu`).
        public let name: String
        /// What it computes besides its matrix products (``KernelCategory/gemm`` if nothing).
        public let category: KernelCategory
        /// The nodes it computes, as the printer shows them.
        public let lines: [String]
        /// Seconds in this kernel over all calls.
        public let seconds: Double
        /// Seconds in its matrix products over all calls (all of ``seconds`` for a GEMM kernel).
        public let gemmSeconds: Double
    }

    /// The kernels in the order the entry point calls them.
    public let kernels: [Kernel]
    /// Seconds copying assigned values over their variables, over all calls.
    public let assignSeconds: Double
    /// The number of calls timed.
    public let calls: Int

    /// Seconds in the entry point over all calls.
    public var seconds: Double { kernels.reduce(assignSeconds) { $0 + $1.seconds } }

    /// Seconds computing `category` over all calls: the matrix products of every kernel for
    /// ``KernelCategory/gemm``, otherwise the rest of the kernels of that category.
    public func seconds(in category: KernelCategory) -> Double {
        if category == .gemm { return kernels.reduce(0) { $0 + $1.gemmSeconds } }
        return kernels.filter { $0.category == category }.reduce(0) { $0 + $1.seconds - $1.gemmSeconds }
    }
}

extension JITProgram {
    /// The time each kernel took over the calls since the program was compiled or
    /// ``resetKernelProfile()`` was called; `nil` unless the program was compiled with profiling.
    public func kernelProfile() -> KernelProfile? {
        guard let counters = profileCounters else { return nil }
        let names = lowered.unit.kernelNames
        let function = lowered.function
        let specs = lowered.schedule.memory.kernels
        let count = names.count
        func counter(_ kind: CRenderer.ProfileCounter, _ k: Int = 0) -> Int64 {
            counters[CRenderer.profileIndex(kind, k, kernels: count)]
        }
        let categories = function.categories(of: specs)
        let kernels = specs.indices.map { k in
            let seconds = Double(counter(.kernel, k)) * 1e-9
            // A kernel whose parts run its GEMMs times them on every core: its share of the
            // kernel is the share of the parts' time.
            let parts = Double(counter(.parts, k)), gemm = Double(counter(.gemm, k))
            return KernelProfile.Kernel(
                name: names[k], category: categories[k],
                lines: specs[k].members.map { Printer.line(function.nodes[$0.index], id: $0) },
                seconds: seconds,
                gemmSeconds: categories[k] == .gemm ? seconds : parts > 0 ? seconds * Swift.min(gemm / parts, 1) : gemm * 1e-9)
        }
        return KernelProfile(kernels: kernels, assignSeconds: Double(counter(.assigns)) * 1e-9, calls: Int(counter(.calls)))
    }

    /// Sets the profile's times and call count to zero.
    public func resetKernelProfile() {
        profileCounters?.update(repeating: 0, count: CRenderer.profileCount(kernels: lowered.unit.kernelCount))
    }

    /// The unit's profile counters, if it is profiled.
    private var profileCounters: UnsafeMutablePointer<Int64>? {
        guard lowered.unit.profiled, let address = unit.symbol(named: CRenderer.profileSymbol) else { return nil }
        return address.assumingMemoryBound(to: Int64.self)
    }
}
