import Foundation
import Kiln
import Testing

@Suite("Data utilities: CSV, split, scalers, one-hot, plots")
struct DataTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/Data").path

    @Test func readsGzipCSVWithColumnSelection() throws {
        let table = try CSVTable(contentsOf: Self.data + "/digits.csv.gz")
        #expect(table.rowCount == 1797 && table.columnCount == 65)
        let y = try table.column(64)
        #expect(y.shape == [1797] && Array(y.scalars.prefix(3)) == [0, 1, 2])
        let x = try table.tensor(columns: [2, 3])
        #expect(x.shape == [1797, 2] && Array(x.scalars.prefix(2)) == [5, 13])
    }

    @Test func readsHeadersAndOtherDelimiters() throws {
        let table = try CSVTable(string: "a;b\n1;2\n3;4.5\n", hasHeader: true, delimiter: ";")
        #expect(table.header == ["a", "b"])
        #expect(try table.tensor(columns: ["b"]).scalars == [2, 4.5])
    }

    @Test func badCellsAndRaggedRowsNameTheRowAndColumn() {
        #expect(throws: KilnError.self) { try CSVTable(string: "1,2\n3,x\n", source: "t.csv") }
        do {
            _ = try CSVTable(string: "p,q\n1,2\n3,oops\n", source: "t.csv", hasHeader: true)
            Issue.record("a non-numeric cell was accepted")
        } catch let error as KilnError {
            #expect(error.message == "t.csv, row 3, column 2 (\"q\"): \"oops\" is not a number")
        } catch { Issue.record("\(error)") }
        do {
            _ = try CSVTable(string: "1,2\n3\n", source: "t.csv")
            Issue.record("a ragged row was accepted")
        } catch let error as KilnError {
            #expect(error.message == "t.csv, row 2: 1 fields, expected 2 like the first row")
        } catch { Issue.record("\(error)") }
    }

    @Test func aTruncatedGzipFileIsAnError() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.data + "/diabetes_target.csv.gz"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-truncated-\(UUID()).csv.gz").path
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: KilnError.self) { try CSVTable(contentsOf: path) }
        #expect(throws: KilnError.self) { try CSVTable(contentsOf: path + ".missing") }
    }

    @Test func stratifiedSplitKeepsClassSharesAndIsSeeded() throws {
        let y = try Tensor(shape: [100], scalars: (0..<100).map { Float($0 < 80 ? 0 : 1) })
        let x = try Tensor(shape: [100, 1], scalars: (0..<100).map(Float.init))
        let a = try trainTestSplit(x, y, testFraction: 0.25, seed: 3, stratify: true)
        let b = try trainTestSplit(x, y, testFraction: 0.25, seed: 3, stratify: true)
        #expect(a.xTest.shape == [25, 1] && a.xTrain.shape == [75, 1])
        #expect(a.yTest.scalars.filter { $0 == 1 }.count == 5)
        #expect(a.xTest.scalars == b.xTest.scalars)
        #expect(Set(a.xTrain.scalars + a.xTest.scalars).count == 100)
    }

    @Test func scalersMatchScikitLearnAndRoundTrip() throws {
        let x = try Tensor(shape: [3, 2], scalars: [1, 10, 2, 10, 3, 10])
        var standard = StandardScaler()
        let s = try standard.fitTransform(x)
        #expect(standard.mean == [2, 10] && abs(standard.scale[0] - 0.8164966) < 1e-6 && standard.scale[1] == 1)
        #expect(abs(s.scalars[0] + 1.2247449) < 1e-6 && s.scalars[1] == 0)
        let back = try standard.inverseTransform(s)
        #expect(zip(back.scalars, x.scalars).allSatisfy { abs($0 - $1) < 1e-5 })
        var minMax = MinMaxScaler(range: -1...1)
        #expect(try minMax.fitTransform(x).scalars == [-1, -1, 0, -1, 1, -1])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-scaler-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try standard.save(to: path)
        #expect(try StandardScaler.load(from: path).transform(x).scalars == s.scalars)
        #expect(throws: KilnError.self) { try StandardScaler().transform(x) }
    }

    @Test func aScalerLayerIsSavedWithTheModel() throws {
        let x = try Tensor(shape: [4, 2], scalars: [1, 100, 2, 200, 3, 300, 4, 400])
        var scaler = StandardScaler()
        try scaler.fit(x)
        let model = Sequential([Input(shape: [2]), try scaler.layer(), Dense(1)])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-rescaled-\(UUID()).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let loaded = try Model.load(from: path)
        #expect(try loaded.predict(x).scalars == model.predict(x).scalars)
        #expect(loaded.layers[0].weights[0].scalars == scaler.multiplier)
    }

    @Test func oneHotChecksLabels() throws {
        #expect(try oneHot(Tensor(shape: [2], scalars: [Float(2), 0]), classes: 3).scalars == [0, 0, 1, 1, 0, 0])
        #expect(throws: KilnError.self) { try oneHot(Tensor(shape: [1], scalars: [Float(3)]), classes: 3) }
    }

    @Test func historyAndScatterPlotsAreSVG() throws {
        Kiln.setRandomSeed(1)
        let model = Sequential([Input(shape: [1]), Dense(1)])
        model.compile(optimizer: SGD(learningRate: 0.1), loss: .meanSquaredError, metrics: [.meanAbsoluteError])
        let x = try Tensor(shape: [8, 1], scalars: (0..<8).map { Float($0) / 8 })
        let history = try model.fit(x, x, epochs: 3, validationSplit: 0.25, verbose: 0)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-plots-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try history.plot(to: directory.appendingPathComponent("h.svg").path)
        let svg = try String(contentsOf: directory.appendingPathComponent("h.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<polyline").count == 5)  // loss and MAE, training and validation
        try scatterPlot(Tensor(shape: [3, 2], scalars: [0, 0, 1, 1, 2, 0]), labels: [0, 1, 1],
                        to: directory.appendingPathComponent("s.svg").path)
        let scatter = try String(contentsOf: directory.appendingPathComponent("s.svg"), encoding: .utf8)
        #expect(scatter.components(separatedBy: "<circle").count == 3 + 2 + 1)  // points and legend dots
        #expect(throws: KilnError.self) { try scatterPlot(Tensor(shape: [3, 2], repeating: Float(0)), labels: [1], to: "x.svg") }
    }
}
