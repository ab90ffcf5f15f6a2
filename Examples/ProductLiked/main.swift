// Will a new product be liked? The running example of the article Kiln grew from:
// past users (id, salary, age) and whether they liked a similar product teach a small
// neural network, which then predicts for new users.
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
print("  user   salary  age  liked")
for user in users.prefix(5) {
    print(String(format: "%6d  %7.0f  %3.0f  %@", user.id, user.salary, user.age, user.liked ? "yes" : "no"))
}
print("  …  (\(training.count) users to learn from, \(testing.count) to test on)\n")

// Standardise each feature with the training set's mean and deviation. The user id
// carries no information about taste, so it is not a feature.
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

// MARK: The network: salary and age -> 16 relu units -> P(liked)

let model = Sequential([
    Input(shape: [2]),
    Dense(16, activation: .relu),
    Dense(1, activation: .sigmoid),
])
model.compile(optimizer: Adam(learningRate: 0.01), loss: .binaryCrossentropy, metrics: [.accuracy])
model.summary()
print()

// Each batch is one call of a compiled training step: forward pass, loss, gradients, the
// Adam update and the metrics, fused into native code (KILN_BACKEND=interpreter runs the
// same graph op by op instead).
try model.fit(features(training), labels(training), batchSize: 32, epochs: 20, validationSplit: 0.2, verbose: 1)

// MARK: Evaluation and predictions for new users

let scores = try model.evaluate(features(testing), labels(testing), verbose: 0)
print(String(format: "\nTest accuracy: %.4f, loss %.4f on %d users", scores["accuracy"]!, scores["loss"]!, testing.count))
print(String(format: "RESULT accuracy=%.4f", scores["accuracy"]!))

let newUsers = [User(id: 76886, salary: 42_000, age: 24), User(id: 76887, salary: 98_000, age: 33),
                User(id: 76888, salary: 61_000, age: 58), User(id: 76889, salary: 125_000, age: 66)]
let chances = try model.predict(features(newUsers)).scalars
print("\n  user   salary  age  P(liked)  prediction")
for (user, chance) in zip(newUsers, chances) {
    print(String(format: "%6d  %7.0f  %3.0f  %8.2f  %@", user.id, user.salary, user.age, chance,
                 chance > 0.5 ? "liked" : "not liked"))
}
