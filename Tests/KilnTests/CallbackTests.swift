import Foundation
import Kiln
import Synchronization
import Testing

@Suite("Callbacks and compile shortcuts as Keras users write them")
struct CallbackTests {
    @Test("compile takes Keras' names for optimizers, losses and metrics; an unknown name lists the known ones")
    func stringShortcuts() throws {
        let model = Sequential([Input(shape: [2]), Dense(3, activation: .softmax)])
        try model.compile(optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"])
        #expect(model.optimizer is Adam && model.optimizer?.learningRate == 0.001)
        #expect(model.loss?.name == "sparse_categorical_crossentropy")
        let history = try model.fit(try Tensor(shape: [4, 2], scalars: [1, 0, 0, 1, 1, 1, 0, 0]), try Tensor(shape: [4], scalars: [0, 1, 2, 0]),
                                    epochs: 1, verbose: 0)
        #expect(history.history["accuracy"] != nil)
        try model.compile(optimizer: "sgd", loss: "mse")
        #expect(model.optimizer is SGD && model.optimizer?.learningRate == 0.01)
        #expect(throws: KilnError.self) { try model.compile(optimizer: "adamax", loss: "mse") }
        #expect(throws: KilnError.self) { try model.compile(optimizer: "adam", loss: "mean_squared_logarithmic_error") }
        do {
            try model.compile(loss: "mse", metrics: ["auc"])
            Issue.record("an unknown metric compiled")
        } catch let error as KilnError {
            #expect(error.message.contains("unknown metric \"auc\"") && error.message.contains("accuracy"))
        }
    }

    @Test("batch callbacks get begin and end with the epoch's running loss and metrics")
    func batchLogs() throws {
        final class Recorder: Callback {
            var begun: [Int] = [], ended: [(Int, [String: Float])] = [], epochLogs: [[String: Float]] = []
            func onBatchBegin(_ batch: Int, model: Model) throws { begun.append(batch) }
            func onBatchEnd(_ batch: Int, logs: [String: Float], model: Model) throws { ended.append((batch, logs)) }
            func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws { epochLogs.append(logs) }
        }
        let model = Sequential([Input(shape: [1]), Dense(1, activation: .sigmoid)])
        try model.compile(optimizer: "sgd", loss: "binary_crossentropy", metrics: ["accuracy"])
        let recorder = Recorder()
        let x = try Tensor(shape: [10, 1], scalars: (0..<10).map { Float($0) - 4.5 })
        let y = try Tensor(shape: [10], scalars: (0..<10).map { $0 < 5 ? 0 : 1 })
        try model.fit(x, y, batchSize: 4, epochs: 2, shuffle: false, verbose: 0, callbacks: [recorder])
        #expect(recorder.begun == [0, 1, 2, 0, 1, 2])
        #expect(recorder.ended.map(\.0) == [0, 1, 2, 0, 1, 2])
        #expect(recorder.ended.allSatisfy { $0.1["loss"] != nil && $0.1["accuracy"] != nil })
        // The last batch's logs are the epoch's.
        #expect(recorder.ended[2].1 == recorder.epochLogs[0])
        #expect(recorder.ended[5].1 == recorder.epochLogs[1])
    }

    @Test("a monitored value missing from the logs is a warning and the epoch is skipped, not an error")
    func missingMonitorWarns() throws {
        let warnings = Mutex<[String]>([])
        Kiln.onWarning { message in warnings.withLock { $0.append(message) } }
        defer { Kiln.onWarning(nil) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-monitor-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = Sequential([Input(shape: [1]), Dense(1)])
        try model.compile(optimizer: "sgd", loss: "mse")
        let stopper = EarlyStopping(monitor: "val_nope", patience: 0)
        let checkpoint = ModelCheckpoint(path: directory + "/m.kiln", monitor: "val_nope", saveBestOnly: true)
        let reducer = ReduceLROnPlateau(monitor: "val_nope", patience: 0)
        let history = try model.fit(try Tensor(shape: [4, 1], scalars: [1, 2, 3, 4]), try Tensor(shape: [4, 1], scalars: [2, 4, 6, 8]),
                                    epochs: 3, verbose: 0, callbacks: [stopper, checkpoint, reducer])
        #expect(history.history["loss"]?.count == 3)
        #expect(stopper.stoppedEpoch == nil)
        #expect(!FileManager.default.fileExists(atPath: directory + "/m.kiln"))
        #expect(model.optimizer?.learningRate == 0.01)
        let seen = warnings.withLock { $0 }
        #expect(seen.count == 9)
        #expect(seen.allSatisfy { $0.contains("\"val_nope\", which is not in the logs") && $0.contains("they have: loss") }, "\(seen)")
    }
}
