// Reinforcement learning: a policy network learns to balance a pole on a cart by trial and
// error (REINFORCE). Each episode's actions are replayed through trainOnBatch with their
// discounted, normalised returns as per-sample weights: actions followed by long balancing
// are made more likely, the others less. The task counts as solved when the last 100
// episodes average a return of at least 195 (of at most 200).
//
//   swift run -c release Reinforcement [--episodes 2000]
import Foundation
import Kiln

/// The classic cart-pole system (Barto, Sutton and Anderson, 1983), with the usual
/// constants: Euler steps of 20 ms, failure past 12 degrees or 2.4 m, at most 200 steps.
struct CartPole {
    var x: Float = 0, speed: Float = 0, angle: Float = 0, spin: Float = 0
    var state: [Float] { [x, speed, angle, spin] }

    init(using random: inout SeededGenerator) {
        (x, speed, angle, spin) = (uniform(&random), uniform(&random), uniform(&random), uniform(&random))
    }

    /// Pushes left (action 0) or right (1) for one step; returns whether the pole is still up.
    mutating func step(_ action: Int) -> Bool {
        let gravity: Float = 9.8, cartMass: Float = 1, poleMass: Float = 0.1, halfLength: Float = 0.5, dt: Float = 0.02
        let force: Float = action == 1 ? 10 : -10
        let total = cartMass + poleMass, poleMoment = poleMass * halfLength
        let temp = (force + poleMoment * spin * spin * sin(angle)) / total
        let angular = (gravity * sin(angle) - cos(angle) * temp)
            / (halfLength * (4.0 / 3.0 - poleMass * cos(angle) * cos(angle) / total))
        let linear = temp - poleMoment * angular * cos(angle) / total
        x += dt * speed
        speed += dt * linear
        angle += dt * spin
        spin += dt * angular
        return abs(x) <= 2.4 && abs(angle) <= 12 * Float.pi / 180
    }
}

func uniform(_ random: inout SeededGenerator) -> Float { -0.05 + 0.1 * random.nextUniform() }

/// Discounted returns G_t = r_t + γ G_{t+1}, standardised so that they centre on zero.
func advantages(steps: Int, gamma: Float = 0.99) -> [Float] {
    var returns = [Float](repeating: 0, count: steps), running: Float = 0
    for t in stride(from: steps - 1, through: 0, by: -1) {
        running = 1 + gamma * running
        returns[t] = running
    }
    let mean = returns.reduce(0, +) / Float(steps)
    let deviation = (returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(steps)).squareRoot()
    return returns.map { ($0 - mean) / max(deviation, 1e-6) }
}

Kiln.run {
    Kiln.setRandomSeed(1)
    let maxEpisodes: Int = try Kiln.option("episodes", default: 2000)
    let policy = Sequential([
        Input(shape: [4]),
        Dense(32, activation: .relu),
        Dense(2, activation: .softmax),
    ])
    policy.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy)
    var random = SeededGenerator(seed: 1)
    var returns: [Int] = []
    var solvedAt: Int?

    let start = Date()
    for episode in 1...maxEpisodes {
        var pole = CartPole(using: &random)
        var states: [Float] = [], actions: [Float] = []
        var up = true
        while up && actions.count < 200 {
            let p = try policy.predict(Tensor(shape: [1, 4], scalars: pole.state)).scalars
            let action = random.nextUniform() < p[0] ? 0 : 1
            states += pole.state
            actions.append(Float(action))
            up = pole.step(action)
        }
        let steps = actions.count
        try policy.trainOnBatch(Tensor(shape: [steps, 4], scalars: states), Tensor(shape: [steps], scalars: actions),
                                sampleWeight: Tensor(shape: [steps], scalars: advantages(steps: steps)))
        returns.append(steps)
        let recent = returns.suffix(100), average = Float(recent.reduce(0, +)) / Float(recent.count)
        if episode % 50 == 0 { print(String(format: "episode %4d  return %3d  average of the last 100: %6.1f", episode, steps, average)) }
        if recent.count == 100 && average >= 195 {
            solvedAt = episode
            print(String(format: "solved after %d episodes: the last 100 average %.1f", episode, average))
            break
        }
    }
    let recent = returns.suffix(100), best = Float(recent.reduce(0, +)) / Float(recent.count)
    if solvedAt == nil { print(String(format: "not solved in %d episodes; the last 100 average %.1f", maxEpisodes, best)) }
    print(String(format: "time %.1f s", Date().timeIntervalSince(start)))
    print(String(format: "RESULT average=%.1f episodes=%d", best, returns.count))
}
