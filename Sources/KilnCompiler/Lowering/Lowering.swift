import Glibc
import KilnGraph

/// A graph lowered to C: the optimized function, its schedule and its translation unit.
public struct LoweredProgram {
    /// The function after every pass.
    public let function: Function
    /// Kernels, slots and places.
    public let schedule: Schedule
    /// The generated C.
    public let unit: CUnit
    /// Seconds spent optimizing and rendering.
    public let optimizeSeconds: Double, renderSeconds: Double
}

/// Graph → passes → schedule → C.
public enum Lowering {
    /// Lowers `graph` computing `outputs` (and running every assign) to one C translation unit.
    ///
    /// - Throws: ``KilnError`` if the outputs are not nodes of `graph` or a pass fails.
    public static func lower(_ graph: Graph, outputs: [String: Node],
                             switches: DebugSwitches = .current) throws -> LoweredProgram {
        let start = Stopwatch.now
        var function = try Pipeline.optimize(try Function(graph: graph, outputs: outputs), switches: switches)
        let (scans, workspace) = try lowerScans(&function, switches: switches)
        let optimized = Stopwatch.now
        let schedule = try Schedule(function)
        let unit = try CRenderer(schedule, profile: switches.profile, scans: scans, workspace: workspace).render()
        let rendered = Stopwatch.now
        switches.log(4, "--- generated C\n\(unit.source)")
        return LoweredProgram(function: function, schedule: schedule, unit: unit,
                              optimizeSeconds: optimized - start, renderSeconds: rendered - optimized)
    }
}

/// Monotonic time in seconds.
package enum Stopwatch {
    package static var now: Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }
}
