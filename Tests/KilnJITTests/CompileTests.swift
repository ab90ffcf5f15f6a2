import Glibc
import KilnCompiler
import KilnGraph
import KilnJIT
import Testing

@Suite("JIT compilation: errors, threads, memory, fusion")
struct CompileTests {
    @Test func aCompileErrorCarriesTinyCCsMessageAndTheLine() throws {
        let source = "#include \"kiln_prelude.h\"\nint kiln_run(uint8_t *arena, int64_t n, void *const *slots, int64_t *fault) {\n"
            + "    return undefined_name + 1;\n}\n"
        do {
            _ = try CompiledUnit(source: source, entry: "kiln_run")
            Issue.record("expected a compile error")
        } catch let error as KilnError {
            #expect(error.message.contains("does not compile"))
            #expect(error.message.contains("kiln_unit.c:3: error"))
            #expect(error.message.contains("undefined_name"))
            #expect(error.message.contains("3 |     return undefined_name + 1;"))
        }
    }

    @Test func aMissingEntryPointIsAnError() throws {
        #expect(throws: KilnError.self) {
            _ = try CompiledUnit(source: "#include \"kiln_prelude.h\"\nint other(void) { return 0; }\n", entry: "kiln_run")
        }
    }

    @Test func compilesFromSeveralThreadsAtOnce() async throws {
        let results = await withTaskGroup(of: Float?.self) { group in
            for task in 0..<8 {
                group.addTask {
                    do {
                        let sample = try SampleGraphs.mlpForward(sizes: [3, 4 + task, 2])
                        let program = try JITProgram(graph: sample.graph, outputs: sample.outputs)
                        let y = try program.run(feeds: ["x": Tensor(shape: [2, 3], repeating: Float(0.5))])["y"]
                        return y?.scalars.reduce(0, +)
                    } catch {
                        return nil
                    }
                }
            }
            var sums: [Float?] = []
            for await sum in group { sums.append(sum) }
            return sums
        }
        #expect(results.count == 8)
        // Softmax rows sum to one: 2 rows.
        for sum in results { #expect(sum.map { Swift.abs($0 - 2) < 1e-5 } == true) }
    }

    @Test func compileReleaseCyclesDoNotGrowMemory() throws {
        let source = "#include \"kiln_prelude.h\"\nint kiln_run(uint8_t *a, int64_t n, void *const *s, int64_t *f) { return (int)n; }\n"
        for _ in 0..<200 { _ = try CompiledUnit(source: source, entry: "kiln_run") }
        // 10,000 cycles in 4 rounds; a leak of even one page per cycle would grow every round by 10 MB.
        let grown = try minimumGrowth(rounds: 4) {
            for _ in 0..<2_500 {
                let unit = try CompiledUnit(source: source, entry: "kiln_run")
                #expect(unit.entry(nil, 3, nil, nil) == 3)
            }
        }
        #expect(grown < 1 << 20, "resident memory grew by \(grown) bytes in each round of 2,500 compile/release cycles")
    }

    @Test func programsAreFreedWithTheirCode() throws {
        let sample = try SampleGraphs.mlpTrainingStep(sizes: [4, 8, 2], optimizer: .sgd)
        for _ in 0..<20 { _ = try JITProgram(graph: sample.graph, outputs: sample.outputs) }
        // 300 compiles in 3 rounds.
        let grown = try minimumGrowth(rounds: 3) {
            for _ in 0..<100 { _ = try JITProgram(graph: sample.graph, outputs: sample.outputs) }
        }
        #expect(grown * 3 < 8 << 20, "resident memory grew by \(grown) bytes in each round of 100 program compiles")
    }

    /// The smallest growth of resident memory over `rounds` runs of `body`. Other tests run in
    /// the same process at the same time, so one round can grow by their allocations; a leak
    /// grows every round.
    private func minimumGrowth(rounds: Int, _ body: () throws -> Void) rethrows -> Int {
        var smallest = Int.max
        for _ in 0..<rounds {
            let before = residentBytes()
            try body()
            smallest = Swift.min(smallest, residentBytes() - before)
        }
        return smallest
    }

    @Test func anMLPTrainingStepCompilesIntoFarFewerKernelsThanNodes() throws {
        let sample = try SampleGraphs.mlpTrainingStep(sizes: [784, 256, 128, 10], optimizer: .adam)
        let program = try JITProgram(graph: sample.graph, outputs: sample.outputs)
        let computing = sample.graph.nodes.filter { node in
            switch node.op {
            case .placeholder, .variable, .constant: false
            default: true
            }
        }.count
        let kernels = program.lowered.unit.kernelCount
        #expect(kernels * 3 < computing, "\(computing) computing nodes became \(kernels) kernels")
        let memory = try #require(program.lowered.function.memory)
        let arena = try #require(memory.arenaBytes.value(n: 128)), unplanned = try #require(memory.unplannedBytes.value(n: 128))
        #expect(arena < unplanned, "arena \(arena) bytes, unplanned \(unplanned)")
    }

    @Test func anIndexOutOfRangeNamesTheNodeAndTheIndex() throws {
        let graph = Graph()
        let table = try graph.placeholder("table", shape: [3, 2])
        let ids = try graph.placeholder("ids", shape: [.batch], dtype: .int32)
        let rows = try gather(table, indices: ids)
        let program = try JITProgram(graph: graph, outputs: ["rows": rows])
        let feeds = ["table": try Tensor(shape: [3, 2], repeating: Float(1)), "ids": try Tensor(shape: [3], scalars: [Int32(0), 2, 7])]
        #expect(throws: KilnError.self) { try program.run(feeds: feeds) }
        do {
            _ = try program.run(feeds: feeds)
        } catch let error as KilnError {
            #expect(error.message.contains("gather"))
            #expect(error.message.contains("index 7 at position [2] is out of range 0..<3"))
        }
    }

    private func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0, resident = 0
        _ = withUnsafeMutablePointer(to: &size) { s in
            withUnsafeMutablePointer(to: &resident) { r in
                withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) }
            }
        }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
