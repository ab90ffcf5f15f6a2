import Foundation
import Kiln
import KilnTestSupport
import Testing

@Suite("HDF5 reading and writing")
struct HDF5Tests {
    let h5pyFile = KerasFiles.url("hdf5_h5py.h5")

    func reader(_ data: Data, _ name: String = "test.h5") throws -> HDF5Reader { try HDF5Reader(data, file: name) }

    @Test("reads what h5py wrote: nested groups, a group of 20 members, scalars, float64 and integers")
    func readsH5py() throws {
        let file = try reader(try Data(contentsOf: h5pyFile))
        #expect(try file.members("") == ["float16", "float64", "int32", "many", "nested", "scalar_f32", "scalar_i64", "text", "uint8"])
        let many = try #require(try file.members("many"))
        #expect(many.count == 20)
        for k in [0, 7, 8, 13, 19] {
            let dataset = try #require(try file.dataset("many/d\(k)"))
            #expect(dataset.shape == [2] && dataset.values == [Float(k), Float(k)] && dataset.storedType == "float32")
        }
        let matrix = try #require(try file.dataset("nested/deeper/matrix"))
        #expect(matrix.shape == [3, 4] && matrix.values == (0..<12).map { Float($0) / 4 })
        let scalar = try #require(try file.dataset("scalar_f32"))
        #expect(scalar.shape == [] && scalar.values == [2.5])
        let integer = try #require(try file.dataset("scalar_i64"))
        #expect(integer.values == [-7] && integer.storedType == "int64")
        #expect(try file.dataset("float64")?.values == [0.5, -1.25, 3])
        #expect(try file.dataset("int32")?.values == [1, -2, 3, -4])
        #expect(try file.dataset("uint8")?.values == [0, 200, 255])
        #expect(try file.dataset("absent") == nil)
        #expect(try file.dataset("nested/absent/deeper") == nil)
        #expect(try file.members("scalar_f32") == nil)
    }

    @Test("data Kiln cannot read is an error naming the dataset and what it holds")
    func unreadableData() throws {
        let file = try reader(try Data(contentsOf: h5pyFile))
        expectError("test.h5", "float16", "16-bit floats") { _ = try file.dataset("float16") }
        expectError("dataset text", "variable-length") { _ = try file.dataset("text") }
        expectError("many is a group") { _ = try file.dataset("many") }
        expectError("not an HDF5 file") { _ = try reader(Data("garbage bytes, not HDF5 at all".utf8)) }
        expectError("test.h5", "superblock version 3", "version 0 or 1") {
            _ = try reader(try Data(contentsOf: KerasFiles.url("hdf5_latest.h5")))
        }
        let chunked = try reader(try Data(contentsOf: KerasFiles.url("hdf5_chunked.h5")))
        expectError("dataset chunked", "stored in chunks") { _ = try chunked.dataset("chunked") }
        expectError("dataset compressed", "compressed") { _ = try chunked.dataset("compressed") }
    }

    @Test("writes groups of any size that the reader reads back exactly")
    func roundTrip() throws {
        var writer = HDF5Writer()
        var expected: [String: ([Int], [Float])] = [:]
        var generator = SeededGenerator(seed: 11)
        // 300 members in one group: more than one B-tree node of default-sized symbol nodes holds.
        for k in 0..<300 {
            let shape = [1 + k % 3, 1 + k % 2]
            let values = (0..<shape.reduce(1, *)).map { _ in Float(generator.nextIndex(below: 1000)) / 7 - 50 }
            expected["big/item\(k)"] = (shape, values)
        }
        expected["layers/dense/vars/0"] = ([2, 3], [1, 2, 3, 4, 5, 6])
        expected["layers/dense/vars/1"] = ([3], [-0.5, 0, .greatestFiniteMagnitude])
        expected["optimizer/vars/0"] = ([], [42])
        for (path, (shape, values)) in expected { try writer.add(path, shape: shape, values: values) }
        let file = try reader(writer.encoded())
        #expect(try file.members("big")?.count == 300)
        for (path, (shape, values)) in expected {
            let dataset = try #require(try file.dataset(path))
            #expect(dataset.shape == shape && dataset.values == values, "\(path)")
        }
        expectError("written twice") { try writer.add("optimizer/vars/0", shape: [], values: [1]) }
        expectError("runs through a dataset") { try writer.add("optimizer/vars/0/x", shape: [], values: [1]) }
        expectError("empty part") { try writer.add("a//b", shape: [], values: [1]) }
    }

    @Test("a dataset whose data was never written is an error, whatever shape it claims")
    func unwrittenData() throws {
        var writer = HDF5Writer()
        try writer.add("weights", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        var bytes = [UInt8](writer.encoded())
        // The layout message: version 3, contiguous, then the data's address (right after the
        // 96-byte superblock) and size; the address becomes HDF5's undefined address.
        let layout: [UInt8] = [3, 1, 96, 0, 0, 0, 0, 0, 0, 0, 24]
        let at = try #require((0...(bytes.count - layout.count)).first { bytes[$0..<($0 + layout.count)].elementsEqual(layout) })
        for k in 2..<10 { bytes[at + k] = 0xFF }
        let file = try reader(Data(bytes))
        expectError("dataset weights", "never written") { _ = try file.dataset("weights") }
    }

    @Test("the HDF5 library's own h5dump reads what Kiln writes, value for value")
    func libraryReadsKilnFiles() throws {
        guard let h5dump = ["/usr/bin/h5dump", "/usr/local/bin/h5dump"].first(where: FileManager.default.isExecutableFile) else {
            print("h5dump (Debian's hdf5-tools) is not installed: the check against the HDF5 library is skipped")
            return
        }
        var writer = HDF5Writer()
        let values = (0..<60).map { Float($0) * 0.25 - 3 }
        try writer.add("layers/dense/vars/0", shape: [6, 10], values: values)
        for k in 0..<40 { try writer.add("layers/dense/vars/many\(k)", shape: [1], values: [Float(k)]) }
        try writer.add("scalar", shape: [], values: [1.5])
        let directory = KerasFiles.temporary("-h5")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("kiln.h5").path
        try writer.encoded().write(to: URL(fileURLWithPath: path))
        func run(_ arguments: [String]) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: h5dump)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, output)
        }
        let (status, listing) = try run(["-H", path])
        #expect(status == 0, "\(listing)")
        #expect(listing.contains("DATASET \"many39\"") && listing.contains("H5T_IEEE_F32LE") && listing.contains("SCALAR"))
        for (dataset, expected) in [("/layers/dense/vars/0", values), ("/layers/dense/vars/many17", [17]), ("/scalar", [1.5])] {
            let binary = directory.appendingPathComponent("out.bin").path
            let (dumped, output) = try run(["-d", dataset, "-b", "LE", "-o", binary, path])
            #expect(dumped == 0, "\(output)")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: binary))
            let floats = stride(from: 0, to: bytes.count, by: 4).map { offset in
                Float(bitPattern: bytes[offset..<offset + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
            }
            #expect(floats == expected, "\(dataset)")
        }
    }

    @Test("damaged HDF5 bytes read as errors naming the file, never a trap or a hang")
    func damagedFiles() throws {
        let good = try Data(contentsOf: KerasFiles.url("hdf5_h5py.h5"))
        var errors = 0, reads = 0
        for (what, bytes) in damaged(good, seed: 2024, flips: 300, truncations: 100) {
            let outcome = finishing(within: 20) { () -> Result<Int, any Error> in
                Result {
                    let file = try HDF5Reader(bytes, file: "damaged.h5")
                    var count = 0
                    for path in ["many/d3", "many/d19", "nested/deeper/matrix", "scalar_f32", "float64", "int32"] {
                        count += try file.dataset(path)?.values.count ?? 0
                    }
                    return count + (try file.members("many")?.count ?? 0)
                }
            }
            switch outcome {
            case .success?: reads += 1
            case .failure(let error as KilnError)?:
                errors += 1
                #expect(error.message.contains("damaged.h5"), "\(error.message)")
            case .failure(let error)?: Issue.record("\(what): not a KilnError: \(error)")
            case nil: Issue.record("\(what): reading hung")
            }
        }
        #expect(errors > 50 && reads > 50, "\(errors) errors, \(reads) reads")
    }
}
