// Unsupervised learning: no labels are used for learning. An autoencoder squeezes each 8x8
// digit through a 2-number code and back; k-means then groups the codes. The labels only
// judge the result afterwards (cluster purity) and colour the scatter plot of the codes.
//
//   swift run -c release Clustering [--epochs 100] [--data Examples/Data]
import Foundation
import Kiln

/// k-means with k-means++ seeding, the best of several restarts by within-cluster distance.
func kMeans(_ points: [[Float]], k: Int, restarts: Int = 10, using random: inout SeededGenerator) -> [Int] {
    func distance(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) }
    var best: (inertia: Float, assignment: [Int]) = (.infinity, [])
    for _ in 0..<restarts {
        var centres = [points[random.nextIndex(below: points.count)]]
        while centres.count < k {  // the next centre far from the chosen ones, with probability ∝ distance²
            let weights = points.map { p in centres.map { distance(p, $0) }.min()! }
            var target = random.nextUniform() * weights.reduce(0, +), pick = 0
            while pick < points.count - 1 && target > weights[pick] { target -= weights[pick]; pick += 1 }
            centres.append(points[pick])
        }
        var assignment = [Int](repeating: 0, count: points.count)
        for _ in 0..<100 {
            let next = points.map { p in centres.indices.min { distance(p, centres[$0]) < distance(p, centres[$1]) }! }
            if next == assignment && centres.count == k { break }
            assignment = next
            for c in 0..<k {
                let members = points.indices.filter { assignment[$0] == c }
                guard !members.isEmpty else { continue }
                centres[c] = (0..<points[0].count).map { d in members.map { points[$0][d] }.reduce(0, +) / Float(members.count) }
            }
        }
        let inertia = points.indices.map { distance(points[$0], centres[assignment[$0]]) }.reduce(0, +)
        if inertia < best.inertia { best = (inertia, assignment) }
    }
    return best.assignment
}

Kiln.run {
    Kiln.setRandomSeed(5)
    let epochs: Int = try Kiln.option("epochs", default: 100)
    let data: String = try Kiln.option("data", default: "Examples/Data")
    let table = try CSVTable(contentsOf: data + "/digits.csv.gz")
    var scaler = MinMaxScaler()
    let x = try scaler.fitTransform(table.tensor(columns: 0..<64))
    let labels = try table.column(64).scalars.map { Int($0) }

    // Encoder 64 → 32 → 2, decoder 2 → 32 → 64; the model learns to give back its input.
    let input = Input(shape: [64])
    let code = Dense(2, name: "code")(Dense(32, activation: .relu)(input))
    let output = Dense(64, activation: .sigmoid)(Dense(32, activation: .relu)(code))
    let autoencoder = Model(inputs: input, outputs: output)
    let encoder = Model(inputs: input, outputs: code)  // shares the trained layers
    autoencoder.compile(optimizer: Adam(learningRate: 2e-3), loss: .meanSquaredError)
    let history = try autoencoder.fit(x, x, batchSize: 32, epochs: epochs, verbose: 0)
    print(String(format: "autoencoder: reconstruction error (MSE) %.4f after %d epochs", history.history["loss"]!.last!, epochs))

    let codes = try encoder.predict(x)
    let points = (0..<codes.shape[0]).map { Array(codes.scalars[($0 * 2)..<($0 * 2 + 2)]) }
    var random = SeededGenerator(seed: 5)
    let clusters = kMeans(points, k: 10, using: &random)

    // Purity: each cluster counts its most common digit; the share of digits so counted.
    var majority = 0
    print("\ncluster  size  most common digit")
    for c in 0..<10 {
        let members = clusters.indices.filter { clusters[$0] == c }.map { labels[$0] }
        let counts = Dictionary(grouping: members, by: { $0 }).mapValues(\.count)
        guard let top = counts.max(by: { $0.value < $1.value }) else { continue }
        majority += top.value
        print(String(format: "%7d  %4d  %d (%.0f%%)", c, members.count, top.key, 100 * Double(top.value) / Double(members.count)))
    }
    let purity = Double(majority) / Double(labels.count)
    try scatterPlot(codes, labels: labels, to: "digits-codes.svg", title: "Digits by their 2-D autoencoder code",
                    xLabel: "code 1", yLabel: "code 2")
    print(String(format: "\ncluster purity %.3f (chance: about 0.10); codes coloured by digit: digits-codes.svg", purity))
    print(String(format: "RESULT purity=%.4f", purity))
}
