// Knowledge distillation (Keras' "knowledge distillation" example): a large teacher network
// learns the 8x8 digits; a student seventy times smaller then learns from the labels and
// from the teacher's softened predictions at once, in a custom training step compiled to one
// native call. The same student trained on the labels alone is the comparison.
//
//   swift run -c release Distillation [--epochs 40] [--temperature 4] [--alpha 0.1] [--student 16] [--data Examples/Data]
import Kiln

Kiln.run {
    Kiln.setRandomSeed(11)
    let epochs: Int = try Kiln.option("epochs", default: 40)
    let temperature: Float = try Kiln.option("temperature", default: 4)
    let alpha: Float = try Kiln.option("alpha", default: 0.1)
    let studentWidth: Int = try Kiln.option("student", default: 16)
    let data: String = try Kiln.option("data", default: "Examples/Data")

    let table = try CSVTable(contentsOf: data + "/digits.csv.gz")
    var (xTrain, xTest, yTrain, yTest) = try trainTestSplit(table.tensor(columns: 0..<64), table.column(64), testFraction: 0.3,
                                                            seed: 11, stratify: true)
    var scaler = StandardScaler()
    xTrain = try scaler.fitTransform(xTrain)
    xTest = try scaler.transform(xTest)
    print("\(xTrain.shape[0]) digits to learn from, \(xTest.shape[0]) to test on")

    // Networks output logits; accuracy is read from them.
    func network(_ widths: [Int], name: String) -> Model {
        Sequential([Input(shape: [64])] + widths.map { Dense($0, activation: .relu) as any SequentialElement } + [Dense(10)],
                   name: name)
    }
    func accuracy(_ model: Model) throws -> Float {
        let predicted = try model.predict(xTest).argmaxRows()
        return Float(zip(predicted, yTest.scalars).filter { $0 == Int($1) }.count) / Float(predicted.count)
    }
    let teacher = network([256, 256], name: "teacher")
    teacher.compile(optimizer: Adam(learningRate: 1e-3), loss: .sparseCategoricalCrossentropy(fromLogits: true))
    try teacher.fit(xTrain, yTrain, batchSize: 32, epochs: epochs, verbose: 0)
    let teacherAccuracy = try accuracy(teacher)
    print("teacher: \(teacher.layers.reduce(0) { $0 + $1.parameterCount }) parameters, test accuracy \(fixed(teacherAccuracy))")

    // The student's loss: alpha × crossentropy with the labels + (1 - alpha) × T² × the KL
    // divergence between the teacher's and the student's predictions softened by T.
    let student = network([studentWidth], name: "student")
    let step = try TrainingStep { s in
        let x = try s.input("x", shape: [64]), y = try s.input("y", shape: [])
        let teacherLogits = try s.call(teacher, x, training: false)
        let studentLogits = try s.call(student, x)
        let labelsLoss = try Loss.sparseCategoricalCrossentropy(fromLogits: true)(y, studentLogits)
        let distillation = try Loss.kullbackLeiblerDivergence(softmax(teacherLogits / temperature),
                                                              softmax(studentLogits / temperature))
        let loss = try labelsLoss * alpha + distillation * ((1 - alpha) * temperature * temperature)
        try s.minimize(loss, over: student, with: Adam(learningRate: 1e-3))
        s.log("student_loss", labelsLoss)
        s.log("distillation_loss", distillation)
    }
    let history = try step.fit(ArrayDataset(x: ["x": xTrain, "y": yTrain], batchSize: 32), epochs: epochs, verbose: 0)
    let distilled = try accuracy(student)
    print("student taught by the teacher: \(student.layers.reduce(0) { $0 + $1.parameterCount }) parameters, "
          + "test accuracy \(fixed(distilled)) (distillation loss \(fixed(history.history["distillation_loss"]!.first!)) → "
          + "\(fixed(history.history["distillation_loss"]!.last!)))")

    let alone = network([studentWidth], name: "student_alone")
    alone.compile(optimizer: Adam(learningRate: 1e-3), loss: .sparseCategoricalCrossentropy(fromLogits: true))
    try alone.fit(xTrain, yTrain, batchSize: 32, epochs: epochs, verbose: 0)
    let scratch = try accuracy(alone)
    print("the same student on the labels alone: test accuracy \(fixed(scratch))")
    print("RESULT teacher=\(fixed(teacherAccuracy)) distilled=\(fixed(distilled)) scratch=\(fixed(scratch))")
}

func fixed(_ value: Float) -> String { String(Double(Int((Double(value) * 10_000).rounded())) / 10_000) }
