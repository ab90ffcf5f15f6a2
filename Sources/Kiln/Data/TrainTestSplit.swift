import KilnGraph

/// Splits samples into a training and a test set at random, as scikit-learn's
/// `train_test_split` does: the same `seed` gives the same split.
///
/// ```swift
/// let (xTrain, xTest, yTrain, yTest) = try trainTestSplit(x, y, testFraction: 0.25, seed: 42, stratify: true)
/// ```
///
/// - Parameters:
///   - testFraction: The share of samples in the test set, in (0, 1); rounded up, as scikit-learn does.
///   - stratify: Keep each class's share the same in both sets (`y` holds class labels).
/// - Throws: ``KilnError`` if x and y have different numbers of samples, the fraction leaves
///   a set empty, or `stratify` is asked for with labels that are not whole numbers.
public func trainTestSplit(_ x: Tensor, _ y: Tensor, testFraction: Double = 0.25, seed: UInt64 = 0,
                           stratify: Bool = false) throws -> (xTrain: Tensor, xTest: Tensor, yTrain: Tensor, yTest: Tensor) {
    let count = x.shape.first ?? 0
    guard y.shape.first == count else {
        throw KilnError(.invalidData, "x has \(count) samples but y has \(y.shape.first ?? 0)")
    }
    guard testFraction > 0 && testFraction < 1 else {
        throw KilnError(.invalidArgument, "testFraction must be in (0, 1), got \(testFraction)")
    }
    let testCount = Int((Double(count) * testFraction).rounded(.up))
    guard testCount < count else {
        throw KilnError(.invalidData, "\(count) samples leave no training set with testFraction \(testFraction)")
    }
    var generator = SeededGenerator(seed: seed)
    var test: [Int] = []
    if stratify {
        let labels = y.scalars
        guard y.scalarCount == count, labels.allSatisfy({ $0 == $0.rounded() }) else {
            throw KilnError(.invalidData, "stratify needs one whole-number class label per sample, got y of shape \(y.shape)")
        }
        var byClass: [Float: [Int]] = [:]
        for (index, label) in labels.enumerated() { byClass[label, default: []].append(index) }
        // Each class gives its share of the test set; rounding leftovers go to the largest remainders.
        let classes = byClass.keys.sorted()
        let members = classes.map { byClass[$0, default: []] }
        let shares = members.map { Double($0.count) * Double(testCount) / Double(count) }
        var taken = shares.map { Int($0) }
        var order = classes.indices.sorted { shares[$0] - Double(taken[$0]) > shares[$1] - Double(taken[$1]) }
        while taken.reduce(0, +) < testCount, !order.isEmpty {
            let k = order.removeFirst()
            if taken[k] < members[k].count { taken[k] += 1 }
        }
        for (k, indices) in members.enumerated() {
            test += indices.shuffled(using: &generator).prefix(taken[k])
        }
        test.shuffle(using: &generator)
    } else {
        test = Array((0..<count).shuffled(using: &generator).prefix(testCount))
    }
    let inTest = Set(test)
    let train = (0..<count).filter { !inTest.contains($0) }.shuffled(using: &generator)
    return (try x.rows(at: train), try x.rows(at: test), try y.rows(at: train), try y.rows(at: test))
}

/// One-hot rows for integer class labels: `[n]` labels in `0..<classes` give `[n, classes]`.
///
/// - Throws: ``KilnError`` naming the first label that is not a whole number in range.
public func oneHot(_ labels: Tensor, classes: Int) throws -> Tensor {
    guard classes > 0 else { throw KilnError(.invalidArgument, "classes must be positive, got \(classes)") }
    let values = labels.scalars
    let count = try Tensor.checkedCount([values.count, classes], what: "oneHot of \(values.count) labels and \(classes) classes")
    var out = [Float](repeating: 0, count: count)
    for (row, label) in values.enumerated() {
        guard label == label.rounded(), label >= 0, label < Float(classes) else {
            throw KilnError(.invalidData, "label \(label) at row \(row) is not a class in 0..<\(classes)")
        }
        out[row * classes + Int(label)] = 1
    }
    return try Tensor(shape: [values.count, classes], scalars: out)
}
