import Foundation

/// Saves the model (or its weights) after epochs, every epoch or only when a monitored
/// quantity improves (Keras' `ModelCheckpoint`). `{epoch}` or `{epoch:02d}` in the path
/// become the 1-based epoch number. Each save is atomic.
public final class ModelCheckpoint: Callback {
    public let path: String
    public let monitor: String
    public let saveBestOnly: Bool
    public let saveWeightsOnly: Bool
    public let mode: MonitorMode
    /// The best monitored value saved so far.
    public private(set) var best: Float?

    public init(path: String, monitor: String = "val_loss", saveBestOnly: Bool = false, saveWeightsOnly: Bool = false,
                mode: MonitorMode = .auto) {
        self.path = path
        self.monitor = monitor
        self.saveBestOnly = saveBestOnly
        self.saveWeightsOnly = saveWeightsOnly
        self.mode = mode
    }

    public func onTrainBegin(model: Model) throws { best = nil }

    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {
        if saveBestOnly {
            let value = try monitored(monitor, in: logs, by: "ModelCheckpoint")
            guard mode.improves(value, on: best, delta: 0, monitor: monitor) else { return }
            best = value
        }
        let file = Self.substitute(path, epoch: epoch + 1)
        if saveWeightsOnly { try model.saveWeights(to: file) } else { try model.save(to: file) }
    }

    static func substitute(_ path: String, epoch: Int) -> String {
        var result = path.replacing("{epoch}", with: String(epoch))
        while let range = result.firstRange(of: "{epoch:0"), let close = result[range.upperBound...].firstIndex(of: "}") {
            let width = Int(result[range.upperBound..<close].filter(\.isNumber)) ?? 0
            let digits = String(epoch)
            result.replaceSubrange(range.lowerBound...close,
                                   with: String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits)
        }
        return result
    }
}

/// Writes each epoch's logs as a CSV row: `epoch` then the names in sorted order (Keras' `CSVLogger`).
public final class CSVLogger: Callback {
    public let path: String
    public let separator: String
    public let append: Bool
    private var keys: [String]?
    private var handle: FileHandle?

    public init(path: String, separator: String = ",", append: Bool = false) {
        self.path = path
        self.separator = separator
        self.append = append
    }

    public func onTrainBegin(model: Model) throws {
        let exists = FileManager.default.fileExists(atPath: path)
        if !append || !exists {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw KilnError(.file, "CSVLogger cannot create \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw KilnError(.file, "CSVLogger cannot open \(path)") }
        handle.seekToEndOfFile()
        self.handle = handle
        keys = nil
    }

    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {
        guard let handle else { return }
        var text = ""
        if keys == nil {
            let sorted = logs.keys.sorted()
            keys = sorted
            if handle.offsetInFile == 0 { text += (["epoch"] + sorted).joined(separator: separator) + "\n" }
        }
        text += ([String(epoch)] + (keys ?? []).map { logs[$0].map { "\($0)" } ?? "" }).joined(separator: separator) + "\n"
        handle.write(Data(text.utf8))
    }

    public func onTrainEnd(model: Model) throws {
        try handle?.close()
        handle = nil
    }
}
