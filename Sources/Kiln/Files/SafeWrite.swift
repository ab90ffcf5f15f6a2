import Foundation

/// Writes `data` to `path` so that the file is either its old contents or all of the new:
/// the bytes go to a temporary file in the same directory, are flushed to disk, and the
/// temporary file is renamed over the destination.
///
/// - A symbolic link is written through: its final target is replaced and the link kept.
/// - A destination that exists and is not a regular file (a directory, a device such as
///   `/dev/null`, a FIFO, a socket) is refused.
/// - A replaced file keeps its permissions; a new file gets the usual ones (0666 less the umask).
/// - Temporary files are named `.NAME.PID.RANDOM.tmp`, created exclusively (threads saving
///   to one path do not collide) and removed when the save fails. Those left by saves that
///   were killed (their process is gone) are removed by the next save to the same file.
///
/// - Throws: ``KilnError`` naming `path` and the reason.
func writeAtomically(_ data: Data, to path: String) throws {
    try PendingWrite(data, to: path).commit()
}

/// Writes several files so that each is its old contents or all of the new, and none is
/// replaced unless every new one was written in full: all go to temporary files first (as
/// ``writeAtomically(_:to:)`` writes one), then all are renamed into place.
///
/// - Throws: ``KilnError`` naming the file and the reason; no file is replaced if any
///   cannot be written.
func writeAllAtomically(_ files: [(path: String, data: Data)]) throws {
    let pending = try files.map { try PendingWrite($0.data, to: $0.path) }
    for write in pending { try write.commit() }
}

/// A file written to a temporary next to its destination, flushed to disk, waiting to be
/// renamed over it (``commit()``); dropped without committing, the temporary is removed.
final class PendingWrite {
    private let path: String
    private let target: String
    private let directory: String
    private let temporary: String
    private var renamed = false

    init(_ data: Data, to path: String) throws {
        self.path = path
        let target = try saveDestination(path)
        let slash = target.lastIndex(of: "/")
        let directory = slash.map { String(target[..<$0]) } ?? "."
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        removeStaleTemporaries(of: name, in: directory)
        let temporary = "\(directory)/.\(name).\(getpid()).\(String(UInt64.random(in: 0...UInt64.max), radix: 36)).tmp"
        (self.target, self.directory, self.temporary) = (target, directory, temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw Self.failure("write", path) }
        defer { close(descriptor) }
        do {
            try data.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count, let base = bytes.baseAddress {
                    let written = write(descriptor, base + offset, bytes.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { throw Self.failure("write", path) }
                    offset += written
                }
            }
            var existing = stat()
            if stat(target, &existing) == 0 { fchmod(descriptor, existing.st_mode & 0o7777) }
            guard fsync(descriptor) == 0 else { throw Self.failure("write", path) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    deinit { if !renamed { unlink(temporary) } }

    /// Renames the temporary file over the destination and flushes the directory.
    func commit() throws {
        guard rename(temporary, target) == 0 else { throw Self.failure("replace", path) }
        renamed = true
        let folder = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    private static func failure(_ what: String, _ path: String) -> KilnError {
        KilnError(.file, "cannot \(what) \(path): \(String(cString: strerror(errno)))")
    }
}

/// The file a save to `path` replaces: `path`, or the final target of the symbolic links
/// it names (which need not exist yet).
///
/// - Throws: ``KilnError`` if the destination exists and is not a regular file, or the
///   links loop.
private func saveDestination(_ path: String) throws -> String {
    var current = path
    for _ in 0..<40 {
        var info = stat()
        guard lstat(current, &info) == 0 else {
            guard errno == ENOENT else { throw KilnError(.file, "cannot write \(path): \(String(cString: strerror(errno)))") }
            return current
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            return current
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(current, &buffer, buffer.count - 1)
            guard length >= 0 else { throw KilnError(.file, "cannot follow the link \(current): \(String(cString: strerror(errno)))") }
            let link = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let base = current.lastIndex(of: "/").map { String(current[...$0]) } ?? ""
            current = link.hasPrefix("/") ? link : base + link
        default:
            let kind: String
            switch info.st_mode & S_IFMT {
            case S_IFDIR: kind = "a directory"
            case S_IFCHR, S_IFBLK: kind = "a device"
            case S_IFIFO: kind = "a FIFO"
            case S_IFSOCK: kind = "a socket"
            default: kind = "a special file"
            }
            let via = current == path ? "" : " (through the link to \(current))"
            throw KilnError(.file, "cannot save to \(path)\(via): it is \(kind), not a regular file; Kiln saves only to "
                            + "regular files")
        }
    }
    throw KilnError(.file, "cannot save to \(path): too many levels of symbolic links")
}

/// Removes `.NAME.PID[.RANDOM].tmp` files in `directory` whose process no longer exists:
/// what saves that were killed left behind.
private func removeStaleTemporaries(of name: String, in directory: String) {
    let prefix = ".\(name)."
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
    for entry in entries where entry.hasPrefix(prefix) && entry.hasSuffix(".tmp") {
        let middle = entry.dropFirst(prefix.count).dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(middle.count), let pid = Int32(middle[0]), pid > 0 else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { unlink("\(directory)/\(entry)") }
    }
}

/// The bytes of the file at `path`.
///
/// - Throws: ``KilnError`` naming `path` if it does not exist or cannot be read.
func readFile(_ path: String) throws -> Data {
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw KilnError(.file, "cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "unreadable" : "no such file")")
    }
}
