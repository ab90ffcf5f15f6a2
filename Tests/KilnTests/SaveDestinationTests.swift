import Dispatch
import Foundation
import Kiln
import Synchronization
import Testing

/// Where a save may write: through symbolic links to their target, never over a device,
/// a FIFO or a directory, with temporary files that are unique and never left behind.
@Suite("Save destinations and temporary files", .serialized)
struct SaveDestinationTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-dest-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }

    /// The directory's entries that look like Kiln's temporary files.
    func temporaries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".") && $0.hasSuffix(".tmp") }
    }

    func fileType(_ path: String) -> FileAttributeType? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
    }

    @Test("saving to a symbolic link writes its target and keeps the link")
    func symlinksAreWrittenThrough() throws {
        defer { cleanUp() }
        let model = smallClassifier()
        let target = directory + "/real.kiln", link = directory + "/link.kiln", chain = directory + "/chain.kiln"
        try model.save(to: target)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real.kiln")
        try FileManager.default.createSymbolicLink(atPath: chain, withDestinationPath: link)
        let other = smallClassifier()
        try other.save(to: chain)
        #expect(fileType(link) == .typeSymbolicLink && fileType(chain) == .typeSymbolicLink)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "real.kiln")
        #expect(try Model.load(from: target).getWeights() == other.getWeights())
        // A link to a file that does not exist yet: the file is made where the link points.
        let dangling = directory + "/later.safetensors"
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "made-later.safetensors")
        try model.saveWeights(to: dangling)
        #expect(fileType(dangling) == .typeSymbolicLink && fileType(directory + "/made-later.safetensors") == .typeRegular)
        #expect(try temporaries() == [])
    }

    @Test("a FIFO, a directory or a device is refused and left as it was")
    func nonRegularDestinationsAreRefused() throws {
        defer { cleanUp() }
        let model = smallClassifier()
        let fifo = directory + "/pipe.kiln"
        #expect(mkfifo(fifo, 0o644) == 0)
        expectError(fifo, "not a regular file") { try model.save(to: fifo) }
        #expect(isFIFO(fifo))
        let folder = directory + "/folder.kiln"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        expectError(folder, "not a regular file") { try model.saveWeights(to: folder) }
        #expect(fileType(folder) == .typeDirectory)
        let linkToFifo = directory + "/to-pipe.kiln"
        try FileManager.default.createSymbolicLink(atPath: linkToFifo, withDestinationPath: fifo)
        expectError(linkToFifo, "not a regular file") { try model.save(to: linkToFifo) }
        if getuid() == 0 {
            // A character device like /dev/null, made here rather than touching the real /dev.
            let null = directory + "/null.kiln"
            #expect(mknod(null, S_IFCHR | 0o666, device(1, 3)) == 0)
            expectError(null, "not a regular file") { try model.save(to: null) }
            #expect(fileType(null) == .typeCharacterSpecial)
        }
        #expect(try temporaries() == [])
    }

    /// glibc's `makedev` for small major and minor numbers (a macro Swift cannot call).
    func device(_ major: UInt64, _ minor: UInt64) -> dev_t { dev_t(major << 8 | minor) }

    func isFIFO(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO
    }

    @Test("a save that fails removes its temporary file and keeps the old file")
    func failedSaveLeavesNothingBehind() throws {
        defer { cleanUp() }
        let path = directory + "/m.kiln"
        try smallClassifier().save(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        // Writes beyond 1 KiB fail (EFBIG) while the limit is lowered.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        let previous = signal(SIGXFSZ, SIG_IGN)
        var small = limit
        small.rlim_cur = 1024
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small)
        let big = Sequential([Input(shape: [64]), Dense(64)])
        let failure = Result { try big.save(to: path) }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        signal(SIGXFSZ, previous)
        #expect(throws: KilnError.self) { try failure.get() }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try temporaries() == [])
    }

    @Test("temporary files of saves that were killed are removed by the next save")
    func staleTemporariesAreRemoved() throws {
        defer { cleanUp() }
        let path = directory + "/m.kiln"
        var dead: Int32 = 4_000_000
        while kill(dead, 0) == 0 || errno != ESRCH { dead += 1 }
        let stale = [".m.kiln.\(dead).tmp", ".m.kiln.\(dead).5F3A.tmp"]
        let alive = ".m.kiln.\(getppid()).77.tmp", unrelated = ".other.kiln.\(dead).tmp"
        for name in stale + [alive, unrelated] {
            #expect(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data("partial".utf8)))
        }
        try smallClassifier().save(to: path)
        #expect(try temporaries().sorted() == [alive, unrelated].sorted())
    }

    @Test("threads saving to one path at once: every save completes, the file is one of them, no temporaries remain")
    func concurrentSavesToOnePath() throws {
        defer { cleanUp() }
        let path = directory + "/shared.kiln"
        let models = (0..<6).map { _ in smallClassifier() }
        let shared = models
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: shared.count) { k in
            for _ in 0..<15 {
                do { try shared[k].save(to: path) } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let saved = try Model.load(from: path).getWeights()
        #expect(models.contains { $0.getWeights() == saved })
        #expect(try temporaries() == [])
    }

    @Test("a new file gets the usual permissions; a replaced file keeps its own")
    func permissions() throws {
        defer { cleanUp() }
        let path = directory + "/m.safetensors"
        let model = smallClassifier()
        try model.saveWeights(to: path)
        let mask = umask(0)
        umask(mask)
        #expect(try posixPermissions(path) == 0o666 & ~Int(mask))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        try model.saveWeights(to: path)
        #expect(try posixPermissions(path) == 0o600)
    }

    @Test("CSVLogger writes through a symbolic link, and a write that fails is an error, not a crash")
    func csvLoggerFiles() throws {
        defer { cleanUp() }
        let x = try Tensor(shape: [6, 4], scalars: (0..<24).map { Float($0) / 24 })
        let y = try Tensor(shape: [6], scalars: [Float(0), 1, 2, 0, 1, 2])
        let log = directory + "/log.csv", link = directory + "/log-link.csv"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "log.csv")
        try smallClassifier().fit(x, y, epochs: 2, verbose: 0, callbacks: [CSVLogger(path: link)])
        #expect(fileType(link) == .typeSymbolicLink)
        #expect(try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count == 3)
        // Appending adds rows under the existing header, not a second header.
        try smallClassifier().fit(x, y, epochs: 1, verbose: 0, callbacks: [CSVLogger(path: link, append: true)])
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4 && lines.filter { $0.hasPrefix("epoch") }.count == 1, "\(lines)")
        if getuid() == 0 {
            // A device like /dev/full (every write fails with ENOSPC), made here, not the real one.
            let full = directory + "/full.csv"
            #expect(mknod(full, S_IFCHR | 0o666, device(1, 7)) == 0)
            expectError(full) { try smallClassifier().fit(x, y, epochs: 1, verbose: 0, callbacks: [CSVLogger(path: full)]) }
            #expect(fileType(full) == .typeCharacterSpecial)
        }
    }

    func posixPermissions(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}
