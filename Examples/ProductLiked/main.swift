// Will a new product be liked? The running example of the article Kiln grew from:
// past users (id, salary, age) and whether they liked a similar product teach a small
// neural network, which then predicts for new users. The network is built directly as a
// computation graph and trained with plain gradient descent on the interpreter.
import Foundation
import Kiln

Kiln.setRandomSeed(42)

// MARK: Data: past users, in the article's table layout

struct User {
    let id: Int
    let salary: Float  // yearly, in dollars
    let age: Float
    var liked = false
}

/// Users whose taste follows a pattern the network must discover: the product appeals to
/// younger users with higher salaries, less so with age, and every user is a coin toss
/// weighted by that appeal.
func pastUsers(_ count: Int) throws -> [User] {
    try Kiln.withRandomGenerator { random in
        (0..<count).map { _ in
            let age = 18 + 52 * random.nextUniform()
            let salary = (20_000 + 110_000 * random.nextUniform()) * (0.8 + 0.2 * age / 40)
            let s = (salary - 70_000) / 30_000, a = (age - 42) / 14
            let appeal = 1.5 * s - 2.2 * a - 1.2 * s * a - 0.8 * a * a + 0.6
            let liked = random.nextUniform() < 1 / (1 + exp(-appeal))
            return User(id: 10_000 + random.nextIndex(below: 90_000), salary: salary, age: age, liked: liked)
        }
    }
}

let users = try pastUsers(1000)
let (training, testing) = (Array(users[..<800]), Array(users[800...]))

// Standardise each feature with the training set's mean and deviation.
func statistics(_ values: [Float]) -> (mean: Float, deviation: Float) {
    let mean = values.reduce(0, +) / Float(values.count)
    let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)
    return (mean, variance.squareRoot())
}
let salaryScale = statistics(training.map(\.salary)), ageScale = statistics(training.map(\.age))

func features(_ users: [User]) throws -> Tensor {
    try Tensor(users.map { [($0.salary - salaryScale.mean) / salaryScale.deviation,
                            ($0.age - ageScale.mean) / ageScale.deviation] })
}
func labels(_ users: [User]) throws -> Tensor { try Tensor(users.map { [$0.liked ? 1 : 0] }) }

// MARK: The network: 2 inputs -> 8 relu units -> 1 logit

let initialWeights = [
    ("hidden/kernel", try Initializer.glorotUniform.tensor(shape: [2, 8])),
    ("hidden/bias", try Initializer.zeros.tensor(shape: [8])),
    ("output/kernel", try Initializer.glorotUniform.tensor(shape: [8, 1])),
    ("output/bias", try Initializer.zeros.tensor(shape: [1])),
]

/// The logit of "liked" for each row of `x`, and the weights it uses.
func network(_ x: Node) throws -> (logits: Node, weights: [Node]) {
    let w = try initialWeights.map { try x.graph.variable($0.0, initialValue: $0.1) }
    let hidden = try relu(matmul(x, w[0]) + w[1])
    return (try matmul(hidden, w[2]) + w[3], w)
}

// One training step: forward, loss, gradients and the weight updates, all in one graph.
let step = Graph()
let x = try step.placeholder("x", shape: [.batch, 2])
let y = try step.placeholder("y", shape: [.batch, 1])
let (z, weights) = try network(x)
let loss = try mean(softplus(z) - y * z)  // binary crossentropy, computed from the logits
let accuracy = try mean(cast(equal(greater(z, step.constant(0)), greater(y, step.constant(0.5))), to: .float32))
let learningRate: Float = 0.1
for (weight, gradient) in zip(weights, try step.gradients(of: loss, wrt: weights)) {
    _ = try step.assign(weight, weight - learningRate * gradient)
}

// Prediction: the same network in its own graph, sharing the weights by name.
let inference = Graph()
let probability = try sigmoid(network(inference.placeholder("x", shape: [.batch, 2])).logits)

// Both graphs compile to native code (KILN_BACKEND=interpreter runs them op by op instead).
let weightStore = VariableStore()
let backend = Backend.default
let train = try backend.compile(step, outputs: ["loss": loss, "accuracy": accuracy], variables: weightStore)
let predict = try backend.compile(inference, outputs: ["p": probability], variables: weightStore)

print("Training on \(training.count) past users, testing on \(testing.count).\n")
print(step.nodes.count, "graph nodes in one training step; the forward pass:")
print(Printer.text(step).split(separator: "\n").prefix(11).joined(separator: "\n"), "\n")

// MARK: Training: shuffled mini-batches of 32

let epochs = 20, batchSize = 32
for epoch in 1...epochs {
    let order = try Kiln.withRandomGenerator { training.indices.shuffled(using: &$0) }
    var totalLoss: Float = 0, totalCorrect: Float = 0
    for start in stride(from: 0, to: order.count, by: batchSize) {
        let batch = order[start..<min(start + batchSize, order.count)].map { training[$0] }
        let result = try train.run(feeds: ["x": features(batch), "y": labels(batch)])
        totalLoss += (result["loss"]?.scalars[0] ?? .nan) * Float(batch.count)
        totalCorrect += (result["accuracy"]?.scalars[0] ?? .nan) * Float(batch.count)
    }
    let n = Float(training.count)
    print(String(format: "Epoch %2d/%d  loss: %.4f  accuracy: %.4f", epoch, epochs, totalLoss / n, totalCorrect / n))
}

// MARK: Evaluation and predictions for new users

let testProbabilities = try predict.run(feeds: ["x": features(testing)])["p"]?.scalars ?? []
let correct = zip(testProbabilities, testing).filter { ($0 > 0.5) == $1.liked }.count
print(String(format: "\nTest accuracy: %.4f on %d users", Float(correct) / Float(testing.count), testing.count))

let newUsers = [User(id: 76886, salary: 42_000, age: 24), User(id: 76887, salary: 98_000, age: 33),
                User(id: 76888, salary: 61_000, age: 58), User(id: 76889, salary: 125_000, age: 66)]
let chances = try predict.run(feeds: ["x": features(newUsers)])["p"]?.scalars ?? []
print("\n  user   salary  age  P(liked)  prediction")
for (user, chance) in zip(newUsers, chances) {
    print(String(format: "%6d  %7.0f  %3.0f  %8.2f  %@", user.id, user.salary, user.age, chance,
                 chance > 0.5 ? "liked" : "not liked"))
}
