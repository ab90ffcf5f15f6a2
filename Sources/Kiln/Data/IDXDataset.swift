import Foundation
import KilnGraph

/// Batches read from IDX files as they are needed (the format of MNIST: images and labels):
/// only the batch being trained on and the next are in memory, whatever the files' size.
///
/// ```swift
/// let train = try IDXDataset(images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte",
///                            batchSize: 128, scale: 1.0 / 255, addChannelAxis: true)
/// try model.fit(train, epochs: 5)
/// ```
///
/// Files must be uncompressed (a gzipped file cannot be read from the middle): `gunzip -k`
/// them, or load them whole with ``IDX/read(contentsOf:)``.
public final class IDXDataset: Dataset {
    private let images: IDXReader
    private let labels: IDXReader?
    /// The samples in each batch (the last may have fewer).
    public let batchSize: Int
    /// Whether each epoch visits the batches in a new order (each batch keeps its samples).
    public let shuffle: Bool
    private let scale: Float
    private let sampleShape: [Int]
    private var order: [Int]

    /// Batches of `batchSize` samples of the IDX file `images` (each sample its shape after
    /// the first axis, times `scale`, with a trailing axis of 1 when `addChannelAxis`), with
    /// the class indices of `labels` as targets.
    ///
    /// - Throws: ``KilnError`` naming the file if it cannot be read, is gzipped, is not a
    ///   valid IDX file, or the two files hold different numbers of samples.
    public init(images: String, labels: String? = nil, batchSize: Int = 32, shuffle: Bool = false, scale: Float = 1,
                addChannelAxis: Bool = false) throws {
        guard batchSize > 0 else { throw KilnError(.invalidArgument, "batchSize must be positive, got \(batchSize)") }
        self.images = try IDXReader(path: images)
        self.labels = try labels.map(IDXReader.init(path:))
        if let labelReader = self.labels, labelReader.samples != self.images.samples {
            throw KilnError(.invalidData, "\(images) holds \(self.images.samples) samples but \(labelReader.path) holds "
                            + "\(labelReader.samples)")
        }
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.scale = scale
        sampleShape = Array(self.images.header.shape.dropFirst()) + (addChannelAxis ? [1] : [])
        let batches = self.images.samples == 0 ? 0 : (self.images.samples - 1) / batchSize + 1
        var order = Array(0..<batches)
        if shuffle { try Kiln.withRandomGenerator { order.shuffle(using: &$0) } }
        self.order = order
    }

    public var count: Int { order.count }

    public func batch(at index: Int) throws -> Batch {
        guard index >= 0, index < count else { throw KilnError(.invalidArgument, "batch \(index) of an IDXDataset of \(count)") }
        let start = order[index] * batchSize
        let rows = start..<Swift.min(images.samples, start + batchSize)
        var pixels = try images.floats(rows)
        if scale != 1 { for k in pixels.indices { pixels[k] *= scale } }
        let x = try Tensor(shape: [rows.count] + sampleShape, scalars: pixels)
        return Batch(x: x, y: try labels.map { try Tensor(shape: [rows.count], scalars: $0.floats(rows)) })
    }

    public func onEpochEnd() throws {
        if shuffle { try Kiln.withRandomGenerator { order.shuffle(using: &$0) } }
    }
}

/// An uncompressed IDX file read a range of samples at a time.
final class IDXReader {
    let path: String
    let header: IDX.Header
    private let file: FileHandle
    private let sampleElements: Int

    var samples: Int { header.shape[0] }

    init(path: String) throws {
        self.path = path
        guard let file = FileHandle(forReadingAtPath: path) else { throw KilnError(.file, "cannot open \(path)") }
        self.file = file
        let size: Int
        let start: [UInt8]
        do {
            size = Int(try file.seekToEnd())
            try file.seek(toOffset: 0)
            start = [UInt8](try file.read(upToCount: 4 + 4 * 255) ?? Data())
        } catch {
            throw KilnError(.file, "cannot read \(path): \((error as NSError).localizedDescription)")
        }
        if Gzip.isCompressed(Data(start.prefix(2))) {
            throw KilnError(.file, "\(path) is gzipped; an IDXDataset reads uncompressed files (gunzip -k it), or load it "
                            + "whole with IDX.read(contentsOf:)")
        }
        header = try IDX.Header(start, fileSize: size, source: path)
        sampleElements = header.shape.dropFirst().reduce(1, *)
    }

    deinit { try? file.close() }

    /// The elements of samples `rows`, as floats.
    func floats(_ rows: Range<Int>) throws -> [Float] {
        let type = header.type
        let offset = header.size + rows.lowerBound * sampleElements * type.size
        let length = rows.count * sampleElements * type.size
        let bytes: Data
        do {
            try file.seek(toOffset: UInt64(offset))
            bytes = try file.read(upToCount: length) ?? Data()
        } catch {
            throw KilnError(.file, "cannot read \(path) at offset \(offset): \((error as NSError).localizedDescription)")
        }
        guard bytes.count == length else {
            throw KilnError(.file, "\(path): \(bytes.count) bytes at offset \(offset), expected \(length) (was the file cut short?)")
        }
        return bytes.withUnsafeBytes { raw in type.floats(raw.bindMemory(to: UInt8.self), count: rows.count * sampleElements) }
    }
}
