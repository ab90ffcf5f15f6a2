import Foundation
import Kiln
import KilnTestSupport
import Testing

/// The committed IDX files (tools/make_idx_fixtures.py).
private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/idx")

/// A fresh directory holding IDX files of `images` (`[count, h, w]` bytes) and `labels` under
/// Fashion-MNIST's names, uncompressed.
func fashionLikeDirectory(images: [UInt8], shape: [Int], labels: [UInt8], testCount: Int) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-idx-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let pixels = shape[1] * shape[2]
    let trainCount = shape[0] - testCount
    for (prefix, range) in [("train", 0..<trainCount), ("t10k", trainCount..<shape[0])] {
        let x = Array(images[(range.lowerBound * pixels)..<(range.upperBound * pixels)])
        try IDX.encode(unsignedBytes: x, shape: [range.count, shape[1], shape[2]])
            .write(to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
        try IDX.encode(unsignedBytes: Array(labels[range]), shape: [range.count])
            .write(to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    }
    return directory
}

@Suite("IDX files and Fashion-MNIST")
struct IDXTests {
    @Test("gzipped images and labels, floats and shorts read with their shapes and values")
    func readsEveryElementType() throws {
        let images = try IDX.read(contentsOf: fixtures.appendingPathComponent("images-idx3-ubyte.gz").path)
        #expect(images.shape == [3, 2, 3])
        #expect(images.scalars == [0, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 60, 255, 254, 253, 252, 251, 250])
        #expect(try IDX.read(contentsOf: fixtures.appendingPathComponent("labels-idx1-ubyte.gz").path).scalars == [7, 0, 9])
        #expect(try IDX.read(contentsOf: fixtures.appendingPathComponent("floats-idx2-float").path).scalars == [1.5, -2, 0.25, 3e8])
        #expect(try IDX.read(contentsOf: fixtures.appendingPathComponent("shorts-idx1-short").path).scalars == [-300, 0, 12345])
    }

    @Test func encodeRoundTrips() throws {
        let data = try IDX.encode(unsignedBytes: [9, 8, 7, 6, 5, 4], shape: [2, 3])
        #expect([UInt8](data.prefix(12)) == [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3])
        let tensor = try IDX.decode(data, source: "bytes")
        #expect(tensor.shape == [2, 3] && tensor.scalars == [9, 8, 7, 6, 5, 4])
        expectError("6 bytes", "[4]") { try IDX.encode(unsignedBytes: [1, 2, 3, 4, 5, 6], shape: [4]) }
    }

    @Test("wrong magic numbers, types and lengths are errors naming the source and the offset")
    func badFiles() throws {
        let good = try IDX.encode(unsignedBytes: [1, 2, 3, 4], shape: [2, 2])
        expectError("f.idx", "magic number", "01 00", "offset 0") { try IDX.decode(Data([1, 0, 8, 1, 0, 0, 0, 0]), source: "f.idx") }
        expectError("unknown IDX element type 07", "offset 2") { try IDX.decode(Data([0, 0, 7, 1, 0, 0, 0, 0]), source: "f") }
        expectError("too short", "3 bytes") { try IDX.decode(Data([0, 0, 8]), source: "f") }
        expectError("no axes") { try IDX.decode(Data([0, 0, 8, 0]), source: "f") }
        expectError("header of 2 axes needs 12 bytes", "has 9") { try IDX.decode(good.prefix(9), source: "f") }
        expectError("2×2 ubyte", "4 bytes after the 12-byte header", "has 3") { try IDX.decode(good.prefix(15), source: "f") }
        expectError("has 5") { try IDX.decode(good + Data([0]), source: "f") }
        expectError("2×2 float", "16 bytes", "has 4") { try IDX.decode(Data([0, 0, 0x0D, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]), source: "f") }
        expectError("/nonexistent/x.idx", "cannot read") { try IDX.read(contentsOf: "/nonexistent/x.idx") }
        let corrupt = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID()).gz")
        defer { try? FileManager.default.removeItem(at: corrupt) }
        var bytes = try Data(contentsOf: fixtures.appendingPathComponent("images-idx3-ubyte.gz"))
        bytes = bytes.prefix(bytes.count - 6)
        try bytes.write(to: corrupt)
        expectError(corrupt.path, "gzip") { try IDX.read(contentsOf: corrupt.path) }
    }

    @Test("Fashion-MNIST's four files give the train and test split; absent files name the package")
    func fashionMNISTLayout() throws {
        let images = (0..<(5 * 4 * 3)).map { UInt8($0 % 256) }
        let directory = try fashionLikeDirectory(images: images, shape: [5, 4, 3], labels: [1, 2, 3, 4, 9], testCount: 2)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = try Datasets.fashionMNIST(directory: directory.path)
        #expect(data.train.x.shape == [3, 4, 3] && data.train.y.scalars == [1, 2, 3])
        #expect(data.test.x.shape == [2, 4, 3] && data.test.y.scalars == [4, 9])
        #expect(data.test.x.scalars.first == 36)
        #expect(Datasets.fashionMNISTClasses.count == 10)

        expectError("/nonexistent", "dataset-fashion-mnist", "train-images-idx3-ubyte.gz") {
            try Datasets.fashionMNIST(directory: "/nonexistent")
        }
        try IDX.encode(unsignedBytes: [1, 2, 3], shape: [3]).write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
        expectError("t10k-images-idx3-ubyte", "[2, 4, 3]", "labels [3]") { _ = try Datasets.fashionMNIST(directory: directory.path) }
        try IDX.encode(unsignedBytes: [1, 12, 3], shape: [3]).write(to: directory.appendingPathComponent("train-labels-idx1-ubyte"))
        expectError("train-labels-idx1-ubyte", "label 12.0 of sample 1") { _ = try Datasets.fashionMNIST(directory: directory.path) }
    }
}
