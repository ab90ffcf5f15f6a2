import Foundation
import Kiln
import Testing

/// A value handed from a worker thread back to the test.
final class Handoff<Value>: @unchecked Sendable {
    var value: Value?
}

/// Runs `body` on a thread of its own and waits at most `seconds` for it: `nil` means it
/// hung (the thread is left behind, the test fails).
func finishing<Value>(within seconds: Double, _ body: @escaping () -> Value) -> Value? {
    let handoff = Handoff<Value>()
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) let work = body
    Thread.detachNewThread {
        handoff.value = work()
        done.signal()
    }
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    return handoff.value
}

/// What loading a damaged file did.
enum LoadOutcome<Value> {
    case loaded(Value)
    case threw(String)
}

/// Loads with `load` on a thread with a time limit; an error that is not a ``KilnError``
/// naming `path`, or a hang, is recorded as a test failure.
func loadOrThrow<Value>(_ what: String, path: String, _ load: @escaping () throws -> Value,
                        sourceLocation: SourceLocation = #_sourceLocation) -> LoadOutcome<Value>? {
    let outcome = finishing(within: 20) { () -> Result<Value, any Error> in Result { try load() } }
    guard let outcome else {
        Issue.record("\(what): loading hung", sourceLocation: sourceLocation)
        return nil
    }
    switch outcome {
    case .success(let value):
        return .loaded(value)
    case .failure(let error as KilnError):
        if !error.message.contains(path) {
            Issue.record("\(what): the error does not name the file: \(error.message)", sourceLocation: sourceLocation)
        }
        return .threw(error.message)
    case .failure(let error):
        Issue.record("\(what): not a KilnError: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// `count` damaged copies of `good`: flips of 1-3 random bytes, then truncations.
func damaged(_ good: Data, seed: UInt64, flips: Int, truncations: Int) -> [(String, Data)] {
    var generator = SeededGenerator(seed: seed)
    var copies: [(String, Data)] = []
    for k in 0..<flips {
        var copy = good
        var where_: [Int] = []
        for _ in 0...generator.nextIndex(below: 3) {
            let index = generator.nextIndex(below: good.count)
            copy[index] ^= UInt8(1 + generator.nextIndex(below: 255))
            where_.append(index)
        }
        copies.append(("flip \(k) at \(where_) (seed \(seed))", copy))
    }
    for k in 0..<truncations {
        let length = generator.nextIndex(below: good.count)
        copies.append(("truncation \(k) to \(length) bytes (seed \(seed))", good.prefix(length)))
    }
    return copies
}

/// Byte flips and truncations of saved models and data files, from a seeded generator: each
/// damaged file loads exactly as the intact one did, or is a clear error naming the file —
/// never a trap, a hang or changed values.
@Suite("Damaged files load correctly or throw", .serialized)
struct CorruptionTests {
    let x = try! Tensor(shape: [6, 4], scalars: (0..<24).map { Float(($0 * 7) % 11) / 11 - 0.5 })
    let y = try! Tensor(shape: [6], scalars: [Float(0), 1, 2, 0, 1, 2])

    func temporary(_ suffix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID())\(suffix)").path
    }

    /// Everything a load restores, seen through the public API: weights, optimizer settings
    /// and state (through one more training step), and predictions.
    struct Fingerprint: Equatable {
        let weights: [Tensor]
        let optimizer: String
        let iterations: Int
        let predictions: Tensor
        let afterOneStep: [Tensor]
    }

    func fingerprint(_ model: Model) throws -> Fingerprint {
        let weights = model.getWeights()
        let optimizer = "\(model.optimizer.map { type(of: $0) }.map(String.init(describing:)) ?? "none") "
            + "\(model.optimizer?.learningRate ?? -1)"
        let iterations = model.optimizer?.iterations ?? -1
        let predictions = try model.predict(x)
        try model.trainOnBatch(x, y)
        return Fingerprint(weights: weights, optimizer: optimizer, iterations: iterations, predictions: predictions,
                           afterOneStep: model.getWeights())
    }

    /// A trained model with Adam state, saved.
    func savedModel() throws -> (path: String, bytes: Data, reference: Fingerprint) {
        let model = smallClassifier()
        model.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
        try model.fit(x, y, batchSize: 3, epochs: 2, verbose: 0)
        let path = temporary(".kiln")
        try model.save(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        return (path, bytes, try fingerprint(try Model.load(from: path)))
    }

    @Test("a .kiln whose entry checksum is wrong is an error naming the file and entry")
    func checksumMismatchIsAnError() throws {
        let (path, good, _) = try savedModel()
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Rewrite the CRC-32 of model.safetensors in its local header and central directory
        // entry: the data inflates correctly but no longer matches the recorded checksum.
        var bytes = good
        let name = Data("model.safetensors".utf8)
        var search = bytes.startIndex
        var patched = 0
        while let range = bytes.range(of: name, in: search..<bytes.endIndex) {
            for (signature, nameOffset, crcOffset) in [(UInt32(0x0403_4B50), 30, 14), (UInt32(0x0201_4B50), 46, 16)] {
                let start = range.lowerBound - nameOffset
                guard start >= 0 else { continue }
                let found = bytes[start..<start + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
                if found == signature {
                    bytes[start + crcOffset] ^= 0x5A
                    patched += 1
                }
            }
            search = range.upperBound
        }
        #expect(patched == 2)
        try bytes.write(to: URL(fileURLWithPath: path))
        expectError(path, "model.safetensors", "checksum") { _ = try Model.load(from: path) }
    }

    @Test("a central directory offset outside the file is an error, not a trap")
    func centralDirectoryOutsideTheFile() throws {
        let (path, good, _) = try savedModel()
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The end-of-central-directory record is the last 22 bytes; its offset field is at 16.
        for offset: UInt32 in [0xFFFF_FFF0, UInt32(good.count), 7] {
            var bytes = good
            withUnsafeBytes(of: offset.littleEndian) { bytes.replaceSubrange((bytes.count - 6)..<(bytes.count - 2), with: $0) }
            try bytes.write(to: URL(fileURLWithPath: path))
            expectError(path, "central directory") { _ = try Model.load(from: path) }
        }
    }

    @Test("seeded byte flips and truncations of a .kiln: each loads identically or throws")
    func damagedKilnFiles() throws {
        let (path, good, reference) = try savedModel()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let count = Int(ProcessInfo.processInfo.environment["KILN_CORRUPTION_COUNT"] ?? "") ?? 300
        var loaded = 0, threw = 0
        for (what, bytes) in damaged(good, seed: 0xC0_22, flips: count, truncations: count / 5) {
            try bytes.write(to: URL(fileURLWithPath: path))
            switch loadOrThrow(what, path: path, { try Model.load(from: path) }) {
            case .loaded(let model)?:
                loaded += 1
                let print = try fingerprint(model)
                #expect(print == reference, "\(what): loaded without error but differs from the intact file")
            case .threw?: threw += 1
            case nil: break
            }
        }
        #expect(threw > 0 && loaded + threw == count + count / 5)
    }

    @Test("seeded byte flips and truncations of model.safetensors: each loads or throws")
    func damagedSafetensors() throws {
        let model = smallClassifier()
        let path = temporary(".safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveWeights(to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let shapes = model.getWeights().map(\.shape)
        for (what, bytes) in damaged(good, seed: 0x5AFE, flips: 200, truncations: 60) {
            try bytes.write(to: URL(fileURLWithPath: path))
            let target = smallClassifier()
            // safetensors has no checksum: a flip in the numbers loads other numbers. Everything
            // else (header, lengths, offsets, dtypes, shapes) must be caught.
            if case .loaded? = loadOrThrow(what, path: path, { try target.loadWeights(from: path) }) {
                #expect(target.getWeights().map(\.shape) == shapes, "\(what)")
            }
        }
    }

    @Test("seeded byte flips and truncations of a gzip CSV: each reads identically or throws")
    func damagedGzipCSV() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: DataTests.data + "/digits.csv.gz"))
        let reference = try CSVTable(contentsOf: DataTests.data + "/digits.csv.gz").values
        let path = temporary(".csv.gz")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (what, bytes) in damaged(good, seed: 0x621F, flips: 120, truncations: 40) {
            try bytes.write(to: URL(fileURLWithPath: path))
            if case .loaded(let table)? = loadOrThrow(what, path: path, { try CSVTable(contentsOf: path) }) {
                #expect(table.values == reference, "\(what): read without error but differs from the intact file")
            }
        }
    }
}

/// gzip files made by hand: a deflate stream of stored blocks, the CRC-32 and length.
enum HandmadeGzip {
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func littleEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// One member holding `text` in a single stored block; `extra` adds an FEXTRA field.
    static func member(_ text: String, extra: [UInt8]? = nil) -> [UInt8] {
        let body = Array(text.utf8)
        var bytes: [UInt8] = [0x1F, 0x8B, 8, extra == nil ? 0 : 4, 0, 0, 0, 0, 0, 3]
        if let extra { bytes += [UInt8(extra.count & 0xFF), UInt8(extra.count >> 8)] + extra }
        let length = UInt16(body.count)
        bytes += [1, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)] + body
        return bytes + littleEndian(crc32(body)) + littleEndian(UInt32(body.count))
    }
}

@Suite("gzip files are read with zlib: every member, every check")
struct GzipTests {
    func read(_ bytes: [UInt8]) throws -> CSVTable {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID()).csv.gz").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        guard let outcome = loadOrThrow("gzip", path: path, { try CSVTable(contentsOf: path) }) else {
            throw KilnError(.file, "reading hung or failed oddly")
        }
        switch outcome {
        case .loaded(let table): return table
        case .threw(let message): throw KilnError(.file, message)
        }
    }

    @Test func everyMemberOfAMultiMemberFileIsRead() throws {
        let table = try read(HandmadeGzip.member("1,2\n3,4\n") + HandmadeGzip.member("5,6\n"))
        #expect(table.rowCount == 3 && table.values == [1, 2, 3, 4, 5, 6])
    }

    @Test func anExtraFieldLongerThanTheFileIsAnError() {
        var bytes = HandmadeGzip.member("1,2\n", extra: [1, 2, 3, 4])
        bytes[3] |= 0x08  // a file name follows the extra field, which now claims 65,535 bytes
        bytes[10] = 0xFF; bytes[11] = 0xFF
        expectError("not a valid gzip file") { _ = try read(bytes) }
    }

    @Test func anEmptyDeflateStreamIsAnErrorNotAHang() {
        let header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
        expectError("not a valid gzip file") { _ = try read(header + [0, 0, 0, 0, 0, 0, 0, 0]) }
        expectError("not a valid gzip file") { _ = try read(header) }
    }

    @Test func aFileCutShortIsAnError() {
        let whole = HandmadeGzip.member("1,2\n3,4\n5,6\n")
        for length in [11, 14, 16, whole.count - 9, whole.count - 1] {
            expectError("not a valid gzip file") { _ = try read(Array(whole.prefix(length))) }
        }
    }

    @Test func aWrongChecksumOrLengthIsAnError() {
        var bytes = HandmadeGzip.member("1,2\n")
        bytes[bytes.count - 8] ^= 1
        expectError("not a valid gzip file") { _ = try read(bytes) }
        bytes[bytes.count - 8] ^= 1
        bytes[bytes.count - 1] ^= 1
        expectError("not a valid gzip file") { _ = try read(bytes) }
        expectError("not a valid gzip file") { _ = try read(HandmadeGzip.member("1,2\n") + [0, 0, 0]) }
    }
}
