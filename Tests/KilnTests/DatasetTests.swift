import Dispatch
import Foundation
import Kiln
import KilnTestSupport
import Testing

@Suite("Datasets: batches from memory, a closure, CSV and IDX files, prepared on a second thread", .serialized)
struct DatasetTests {
    static func data(_ count: Int, width: Int = 4) throws -> (x: Tensor, y: Tensor) {
        let x = try Tensor(shape: [count, width], scalars: (0..<(count * width)).map { Float(($0 * 7) % 13) / 6 - 1 })
        let y = try Tensor(shape: [count, 1], scalars: (0..<count).map { Float(($0 * 3) % 5) / 4 })
        return (x, y)
    }

    static func model() -> Model {
        let model = Sequential([Input(shape: [4]), Dense(6, activation: .relu), Dense(1)])
        model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.meanAbsoluteError])
        return model
    }

    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID().uuidString)-\(name)").path
    }

    @Test("an ArrayDataset trains exactly as fit on the same arrays in the same order", arguments: Backend.allCases)
    func arraysMatchFit(_ backend: Backend) throws {
        let (x, y) = try Self.data(40)
        let a = Self.model(), b = Self.model()
        a.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.meanAbsoluteError], backend: backend)
        b.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.meanAbsoluteError], backend: backend)
        try b.setWeights(a.getWeights())
        let history = try a.fit(x, y, batchSize: 8, epochs: 3, shuffle: false, verbose: 0)
        let streamed = try b.fit(ArrayDataset(x: x, y: y, batchSize: 8, shuffle: false), epochs: 3,
                                 validationData: ArrayDataset(x: x, y: y, batchSize: 16), verbose: 0)
        #expect(a.getWeights() == b.getWeights())
        #expect(history.history["loss"] == streamed.history["loss"])
        #expect(streamed.history["val_mean_absolute_error"]?.count == 3)
        #expect(try a.evaluate(x, y, batchSize: 8, verbose: 0) == (try b.evaluate(ArrayDataset(x: x, y: y, batchSize: 8, shuffle: false), verbose: 0)))
        #expect(try a.predict(x) == (try b.predict(ArrayDataset(x: x, batchSize: 7, shuffle: false))))
    }

    @Test("the next batch is made on another thread while the current step runs")
    func prefetches() throws {
        let (x, y) = try Self.data(48)
        let model = Self.model()
        let started = DispatchSemaphore(value: 0)
        let caller = pthread_self()
        nonisolated(unsafe) var threads: [Bool] = []
        nonisolated(unsafe) var epochEnds = 0
        let dataset = GeneratorDataset(count: 6, onEpochEnd: { epochEnds += 1 }) { index in
            threads.append(pthread_equal(pthread_self(), caller) != 0)
            if index > 0 { started.signal() }
            let rows = (index * 8)..<(index * 8 + 8)
            return Batch(x: try x.rows(rows), y: try y.rows(rows))
        }
        /// Each step waits until the next batch has started: only a second thread can start it.
        final class WaitForNext: Callback {
            let started: DispatchSemaphore
            var overlapped = 0
            init(_ started: DispatchSemaphore) { self.started = started }
            func onBatchEnd(_ batch: Int, logs: [String: Float], model: Model) throws {
                if batch < 5, started.wait(timeout: .now() + 10) == .success { overlapped += 1 }
            }
        }
        let waiter = WaitForNext(started)
        try model.fit(dataset, epochs: 2, verbose: 0, callbacks: [waiter])
        #expect(waiter.overlapped == 10)
        #expect(threads.count == 12 && !threads.contains(true))
        #expect(epochEnds == 2)
    }

    @Test("a batch that does not fit the model, or a dataset that throws, is an error naming the batch")
    func badBatches() throws {
        let (x, y) = try Self.data(32)
        let model = Self.model()
        let changing = GeneratorDataset(count: 4) { index in
            let width = index == 2 ? 5 : 4
            return Batch(x: try Tensor(shape: [8, width], repeating: Float(0)), y: try y.rows(0..<8))
        }
        expectError("batch 2 of the dataset", "expects samples of shape (None, 4), got x of shape [8, 5]") {
            try model.fit(changing, verbose: 0)
        }
        let unlabelled = GeneratorDataset(count: 2) { _ in Batch(x: try x.rows(0..<8)) }
        expectError("batch 0 of the dataset: it has no targets") { try model.fit(unlabelled, verbose: 0) }
        let failing = GeneratorDataset(count: 3) { index in
            if index == 1 { throw KilnError(.file, "sensor offline") }
            return Batch(x: try x.rows(0..<8), y: try y.rows(0..<8))
        }
        expectError("batch 1 of the dataset: sensor offline") { _ = try model.evaluate(failing, verbose: 0) }
    }

    @Test("CSVDataset reads batches of a file as CSVTable reads it whole; bad cells name the line and column")
    func csv() throws {
        let path = Self.temporary("rows.csv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var text = "a,b,target,c,d\n"
        for row in 0..<50 {
            let cells = (0..<4).map { Float((row * 4 + $0) % 9) / 4 - 1 }
            text += "\(cells[0]),\(cells[1]),\(Float(row % 5) / 4),\"\(cells[2])\",\(cells[3])\r\n"
            if row == 20 { text += "\n" }
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let dataset = try CSVDataset(path: path, targetColumns: ["target"], batchSize: 16)
        #expect(dataset.count == 4 && dataset.rows == 50 && dataset.featureColumns == [0, 1, 3, 4])
        let table = try CSVTable(contentsOf: path, hasHeader: true)
        let x = try table.tensor(columns: [0, 1, 3, 4]), y = try table.tensor(columns: [2])
        let model = Self.model()
        let reference = Self.model()
        try reference.setWeights(model.getWeights())
        #expect(try model.evaluate(dataset, verbose: 0) == (try reference.evaluate(x, y, batchSize: 16, verbose: 0)))
        try model.fit(dataset, epochs: 2, verbose: 0)
        try reference.fit(x, y, batchSize: 16, epochs: 2, shuffle: false, verbose: 0)
        #expect(model.getWeights() == reference.getWeights())
        // A bad cell in the third batch: the error names the file, the line and the column.
        try (text.replacingOccurrences(of: "\n0.0,0.25,0.25", with: "\n0.0,zero,0.25")).write(toFile: path, atomically: true,
                                                                                                 encoding: .utf8)
        let broken = try CSVDataset(path: path, targetColumns: ["target"], batchSize: 16)
        expectError("\(path): line", "column 2: \"zero\" is not a number") { try model.fit(broken, verbose: 0) }
        expectError("has no column \"label\"") { _ = try CSVDataset(path: path, targetColumns: ["label"]) }
    }

    @Test("IDXDataset reads images and labels in batches; gzipped files are an error saying what to do")
    func idx() throws {
        let images = Self.temporary("images.idx"), labels = Self.temporary("labels.idx")
        defer { for path in [images, labels] { try? FileManager.default.removeItem(atPath: path) } }
        let pixels = (0..<(30 * 16)).map { UInt8(($0 * 37) % 256) }
        try IDX.encode(unsignedBytes: pixels, shape: [30, 4, 4]).write(to: URL(fileURLWithPath: images))
        try IDX.encode(unsignedBytes: (0..<30).map { UInt8($0 % 3) }, shape: [30]).write(to: URL(fileURLWithPath: labels))
        let dataset = try IDXDataset(images: images, labels: labels, batchSize: 8, scale: 1.0 / 255, addChannelAxis: true)
        #expect(dataset.count == 4)
        let input = Input(shape: [4, 4, 1])
        let model = Model(inputs: input, outputs: Dense(3, activation: .softmax)(Flatten()(input)))
        model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
        let whole = try Tensor(shape: [30, 4, 4, 1], scalars: IDX.read(contentsOf: images).scalars.map { $0 * Float(1.0 / 255) })
        expectClose(try model.predict(dataset), try model.predict(whole), rtol: 1e-6, atol: 1e-6, "predict from the file")
        #expect(try model.evaluate(dataset, verbose: 0) == (try model.evaluate(whole, IDX.read(contentsOf: labels), batchSize: 8,
                                                                              verbose: 0)))
        let gzipped = Self.temporary("images.idx.gz")
        defer { try? FileManager.default.removeItem(atPath: gzipped) }
        try Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0]).write(to: URL(fileURLWithPath: gzipped))
        expectError("is gzipped", "gunzip -k") { _ = try IDXDataset(images: gzipped) }
        let short = Self.temporary("short.idx")
        defer { try? FileManager.default.removeItem(atPath: short) }
        try IDX.encode(unsignedBytes: (0..<10).map { UInt8($0) }, shape: [10]).write(to: URL(fileURLWithPath: short))
        expectError("holds 30 samples but", "holds 10") { _ = try IDXDataset(images: images, labels: short) }
    }

    /// The process's resident memory in bytes.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    @Test("training on a 31 MB IDX file (125 MB as floats) keeps resident memory flat")
    func flatMemory() throws {
        let images = Self.temporary("large-images.idx"), labels = Self.temporary("large-labels.idx")
        defer { for path in [images, labels] { try? FileManager.default.removeItem(atPath: path) } }
        // KILN_STREAM_SAMPLES makes the file larger, to run the test under a memory limit by hand.
        let samples = Int(ProcessInfo.processInfo.environment["KILN_STREAM_SAMPLES"] ?? "") ?? 40_000, side = 28
        // Written in pieces, so the test itself never holds the file.
        #expect(FileManager.default.createFile(atPath: images, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: images))
        let header = try IDX.encode(unsignedBytes: [], shape: [0, side, side])
        var headerBytes = [UInt8](header)
        headerBytes.replaceSubrange(4..<8, with: withUnsafeBytes(of: UInt32(samples).bigEndian, Array.init))
        try handle.write(contentsOf: headerBytes)
        let chunk = (0..<(1_000 * side * side)).map { UInt8(($0 * 31) % 256) }
        for _ in 0..<(samples / 1_000) { try handle.write(contentsOf: chunk) }
        try handle.write(contentsOf: chunk.prefix((samples % 1_000) * side * side))
        try handle.close()
        try IDX.encode(unsignedBytes: (0..<samples).map { UInt8($0 % 10) }, shape: [samples]).write(to: URL(fileURLWithPath: labels))
        let dataset = try IDXDataset(images: images, labels: labels, batchSize: 500, scale: 1.0 / 255)
        let input = Input(shape: [side, side])
        let model = Model(inputs: input, outputs: Dense(10, activation: .softmax)(Flatten()(input)))
        model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy)
        /// Samples resident memory after every batch.
        final class Peak: Callback {
            var peak = 0
            func onBatchEnd(_ batch: Int, logs: [String: Float], model: Model) throws {
                peak = max(peak, DatasetTests.residentBytes())
            }
        }
        // A first step on two batches, so that the programs exist before memory is measured.
        try model.fit(GeneratorDataset(count: 2) { try dataset.batch(at: $0) }, epochs: 1, verbose: 0)
        let before = Self.residentBytes()
        let peak = Peak()
        try model.fit(dataset, epochs: 1, verbose: 0, callbacks: [peak])
        let growth = peak.peak - before
        // The whole file as floats would be 125 MB; two batches are 3 MB.
        #expect(growth < 24 << 20, "resident memory grew by \(growth >> 20) MB while training on the file")
        print("DatasetTests.flatMemory: \(samples) samples, a file of \((samples * side * side) >> 20) MB; resident memory "
              + "\(before >> 20) MB before, grew by \(growth >> 10) KB over \(dataset.count) batches")
    }
}
