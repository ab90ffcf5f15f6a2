import Foundation

/// Saves the model (or its weights) after epochs, every epoch or only when a monitored
/// quantity improves (Keras' `ModelCheckpoint`). `{epoch}` or `{epoch:02d}` in the path
/// become the 1-based epoch number. Each save is atomic.
public final class ModelCheckpoint: Callback {
    /// Where to save; `{epoch}` and `{epoch:02d}` become the epoch number.
    public let path: String
    /// The quantity compared when ``saveBestOnly`` is set (`val_loss`).
    public let monitor: String
    /// Whether to save only when `monitor` improves.
    public let saveBestOnly: Bool
    /// Whether to save the weights (``Model/saveWeights(to:)``) rather than the whole model.
    public let saveWeightsOnly: Bool
    /// Whether improving means going down or up (``MonitorMode/auto`` decides from the name).
    public let mode: MonitorMode
    /// The best monitored value saved so far.
    public private(set) var best: Float?
    /// Whether to print each save (and each epoch that did not improve).
    public let verbose: Int

    /// A callback saving to `path`, with Keras' defaults.
    public init(path: String, monitor: String = "val_loss", saveBestOnly: Bool = false, saveWeightsOnly: Bool = false,
                mode: MonitorMode = .auto, verbose: Int = 0) {
        self.verbose = verbose
        self.path = path
        self.monitor = monitor
        self.saveBestOnly = saveBestOnly
        self.saveWeightsOnly = saveWeightsOnly
        self.mode = mode
    }

    /// Forgets the best value of any previous training.
    public func onTrainBegin(model: Model) throws { best = nil }

    /// Saves, unless ``saveBestOnly`` is set and `monitor` did not improve.
    ///
    /// - Throws: ``KilnError`` if the logs have no `monitor` or the file cannot be written.
    public func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws {
        let file = Self.substitute(path, epoch: epoch + 1)
        if saveBestOnly {
            guard let value = monitored(monitor, in: logs, by: "ModelCheckpoint", skipping: "does not save this epoch") else { return }
            guard mode.improves(value, on: best, delta: 0, monitor: monitor) else {
                if verbose > 0, let best { print("\nEpoch \(epoch + 1): \(monitor) did not improve from \(best)") }
                return
            }
            if verbose > 0 {
                print("\nEpoch \(epoch + 1): \(monitor) improved from \(best.map { "\($0)" } ?? "inf") to \(value), saving model to \(file)")
            }
            best = value
        } else if verbose > 0 {
            print("\nEpoch \(epoch + 1): saving model to \(file)")
        }
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
