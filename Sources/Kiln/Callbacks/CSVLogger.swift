import Foundation

/// Writes each epoch's logs as a CSV row: `epoch` then the names in sorted order (Keras' `CSVLogger`).
public final class CSVLogger: Callback {
    /// The log file.
    public let path: String
    /// Between fields (`,`).
    public let separator: String
    /// Whether to add to an existing file instead of starting it afresh.
    public let append: Bool
    private var keys: [String]?
    private var handle: FileHandle?

    /// A logger writing to `path`.
    public init(path: String, separator: String = ",", append: Bool = false) {
        self.path = path
        self.separator = separator
        self.append = append
    }

    /// Opens the log through `open(2)`: a symbolic link is written through, an existing file
    /// is emptied (or appended to), and the file is never replaced by another.
    public func onTrainBegin(model: Model) throws {
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o666)
        guard descriptor >= 0 else {
            throw KilnError(.file, "CSVLogger cannot open \(path): \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        _ = try? handle.seekToEnd()
        self.handle = handle
        keys = nil
    }

    /// Writes the epoch's row (and the header first, in a new file).
    ///
    /// - Throws: ``KilnError`` if the write fails.
    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {
        guard let handle else { return }
        var text = ""
        if keys == nil {
            let sorted = logs.keys.sorted()
            keys = sorted
            if (try? handle.offset()) == 0 { text += (["epoch"] + sorted).joined(separator: separator) + "\n" }
        }
        text += ([String(epoch)] + (keys ?? []).map { logs[$0].map { "\($0)" } ?? "" }).joined(separator: separator) + "\n"
        do {
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            throw KilnError(.file, "CSVLogger cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Closes the file.
    public func onTrainEnd(model: Model) throws {
        try handle?.close()
        handle = nil
    }
}
