import Testing
import KilnGraph

let unaryCases: [ForwardCase] = [
    ForwardCase("neg", "f32", expected: f32([4], [2, 0.5, -0, -3])) { try neg($0.constant(Tensor([-2, -0.5, 0, 3]))) },
    ForwardCase("neg", "i32 wraps", expected: i32([2], [-3, .min])) { try -$0.constant(i32([2], [3, .min])) },
    ForwardCase("abs", "f32", expected: f32([3], [2, 0, 3])) { try abs($0.constant(Tensor([-2, 0, 3]))) },
    ForwardCase("abs", "i32", expected: i32([2], [7, 0])) { try abs($0.constant(i32([2], [-7, 0]))) },
    ForwardCase("sign", "f32", expected: f32([4], [-1, 0, 1, .nan])) { try sign($0.constant(Tensor([-2, 0, 0.1, .nan]))) },
    ForwardCase("sign", "i32", expected: i32([3], [-1, 0, 1])) { try sign($0.constant(i32([3], [-9, 0, 4]))) },
    ForwardCase("exp", "values and overflow", expected: f32([4], [0.135_335_28, 1, 7.389_056, .infinity])) {
        try exp($0.constant(Tensor([-2, 0, 2, 100])))
    },
    ForwardCase("log", "values, zero and negative", expected: f32([5], [-0.693_147_2, 0, 1, -.infinity, .nan])) {
        try log($0.constant(Tensor([0.5, 1, 2.718_281_8, 0, -1])))
    },
    ForwardCase("sqrt", "values and negative", expected: f32([4], [0, 1.5, 1e10, .nan])) {
        try sqrt($0.constant(Tensor([0, 2.25, 1e20, -1])))
    },
    ForwardCase("rsqrt", "values and zero", expected: f32([3], [0.5, 2, .infinity])) {
        try rsqrt($0.constant(Tensor([4, 0.25, 0])))
    },
    ForwardCase("square", "f32", expected: f32([3], [9, 0.25, .infinity])) { try square($0.constant(Tensor([-3, 0.5, 1e20]))) },
    ForwardCase("square", "i32", expected: i32([2], [16, 9])) { try square($0.constant(i32([2], [-4, 3]))) },
    ForwardCase("erf", "values", expected: f32([4], [-0.842_700_8, 0, 0.520_499_9, 1])) {
        try erf($0.constant(Tensor([-1, 0, 0.5, 20])))
    },
    ForwardCase("tanh", "values and saturation", expected: f32([4], [-0.761_594_2, 0, 0.462_117_16, 1])) {
        try tanh($0.constant(Tensor([-1, 0, 0.5, 20])))
    },
    ForwardCase("sigmoid", "values and extremes", expected: f32([5], [0, 0.268_941_43, 0.5, 0.731_058_6, 1])) {
        try sigmoid($0.constant(Tensor([-100, -1, 0, 1, 100])))
    },
    ForwardCase("relu", "values and NaN", expected: f32([4], [0, 0, 2, .nan])) { try relu($0.constant(Tensor([-1, 0, 2, .nan]))) },
    ForwardCase("softplus", "values and extremes", expected: f32([5], [0, 0.313_261_66, 0.693_147_2, 1.313_261_7, 100])) {
        try softplus($0.constant(Tensor([-100, -1, 0, 1, 100])))
    },
    ForwardCase("floor", "values", expected: f32([4], [-2, -1, 0, 2])) { try floor($0.constant(Tensor([-1.5, -1, 0.3, 2.7]))) },
    ForwardCase("relu", "batch of 3", feeds: ["x": f32([3, 2], [-1, 1, -2, 2, -3, 3])], expected: f32([3, 2], [0, 1, 0, 2, 0, 3])) {
        try relu($0.placeholder("x", shape: [.batch, 2]))
    },
    ForwardCase("exp", "size-0 dimension", feeds: ["x": f32([0, 2], [])], expected: f32([0, 2], [])) {
        try exp($0.placeholder("x", shape: [.batch, 2]))
    },
]

let binaryCases: [ForwardCase] = [
    ForwardCase("add", "[2,3] + [3]", expected: f32([2, 3], [11, 22, 33, 14, 25, 36])) {
        try $0.constant(m23) + $0.constant(Tensor([10, 20, 30]))
    },
    ForwardCase("add", "[2,1] + [1,3]", expected: f32([2, 3], [11, 21, 31, 12, 22, 32])) {
        try $0.constant(f32([2, 1], [1, 2])) + $0.constant(f32([1, 3], [10, 20, 30]))
    },
    ForwardCase("add", "[?,3] + [3] with batch 2", feeds: ["x": m23], expected: f32([2, 3], [2, 3, 4, 5, 6, 7])) {
        try $0.placeholder("x", shape: [.batch, 3]) + $0.constant(Tensor([1, 1, 1]))
    },
    ForwardCase("add", "[0,3] + [3]", expected: f32([0, 3], [])) {
        try $0.constant(f32([0, 3], [])) + $0.constant(Tensor([1, 2, 3]))
    },
    ForwardCase("add", "i32 wraps", expected: i32([2], [.min, 3])) { try $0.constant(i32([2], [.max, 1])) + $0.constant(i32([2], [1, 2])) },
    ForwardCase("sub", "[2,3] - [3]", expected: f32([2, 3], [-9, -18, -27, -6, -15, -24])) {
        try $0.constant(m23) - $0.constant(Tensor([10, 20, 30]))
    },
    ForwardCase("sub", "scalar - tensor", expected: f32([2], [0, -1])) { try 1 - $0.constant(Tensor([1, 2])) },
    ForwardCase("mul", "[2,3] * [3]", expected: f32([2, 3], [10, 40, 90, 40, 100, 180])) {
        try $0.constant(m23) * $0.constant(Tensor([10, 20, 30]))
    },
    ForwardCase("mul", "i32", expected: i32([2], [-6, 12])) { try $0.constant(i32([2], [2, 3])) * $0.constant(i32([2], [-3, 4])) },
    ForwardCase("div", "[2,3] / [3] and by zero", expected: f32([2, 4], [0.1, 0.1, 0.1, .infinity, 0.4, 0.25, 0.2, .infinity])) {
        try $0.constant(f32([2, 4], [1, 2, 3, 1, 4, 5, 6, 2])) / $0.constant(Tensor([10, 20, 30, 0]))
    },
    ForwardCase("pow", "[2,4] ^ [2,1], negative base", expected: f32([2, 4], [1, 8, 27, -8, 2, 2.236_068, 2.449_489_8, .nan])) {
        try pow($0.constant(f32([2, 4], [1, 2, 3, -2, 4, 5, 6, -2])), $0.constant(f32([2, 1], [3, 0.5])))
    },
    ForwardCase("maximum", "broadcast and NaN", expected: f32([2, 3], [3, 3, 3, .nan, 5, 6])) {
        try maximum($0.constant(f32([2, 3], [1, 2, 3, .nan, 5, 6])), $0.constant(f32([2, 1], [3, 5])))
    },
    ForwardCase("maximum", "i32", expected: i32([2], [3, 4])) { try maximum($0.constant(i32([2], [1, 4])), $0.constant(i32([1], [3]))) },
    ForwardCase("minimum", "broadcast and NaN", expected: f32([2, 3], [1, 2, 3, .nan, .nan, .nan])) {
        try minimum($0.constant(m23), $0.constant(f32([2, 1], [3, .nan])))
    },
    ForwardCase("minimum", "i32", expected: i32([2], [1, 3])) { try minimum($0.constant(i32([2], [1, 4])), $0.constant(i32([1], [3]))) },
]

let comparisonCases: [ForwardCase] = [
    ForwardCase("equal", "f32 with NaN", expected: bools([4], [false, true, false, false])) {
        try equal($0.constant(Tensor([1, 2, 3, .nan])), $0.constant(Tensor([2, 2, 2, .nan])))
    },
    ForwardCase("not_equal", "f32 with NaN", expected: bools([4], [true, false, true, true])) {
        try notEqual($0.constant(Tensor([1, 2, 3, .nan])), $0.constant(Tensor([2, 2, 2, .nan])))
    },
    ForwardCase("less", "broadcast scalar", expected: bools([3], [true, false, false])) { try less($0.constant(Tensor([1, 2, 3])), $0.constant(2)) },
    ForwardCase("less_equal", "broadcast scalar", expected: bools([3], [true, true, false])) {
        try lessEqual($0.constant(Tensor([1, 2, 3])), $0.constant(2))
    },
    ForwardCase("greater", "i32", expected: bools([3], [false, false, true])) {
        try greater($0.constant(i32([3], [1, 2, 3])), $0.constant(i32([], [2])))
    },
    ForwardCase("greater_equal", "[2,1] vs [3]", expected: bools([2, 3], [true, false, false, true, true, true])) {
        try greaterEqual($0.constant(f32([2, 1], [1, 3])), $0.constant(Tensor([1, 2, 3])))
    },
    ForwardCase("equal", "bool", expected: bools([2], [true, false])) {
        try equal($0.constant(bools([2], [true, true])), $0.constant(bools([2], [true, false])))
    },
    ForwardCase("select", "[2,1] condition, scalar branch", expected: f32([2, 3], [1, 2, 3, 0, 0, 0])) {
        try select($0.constant(bools([2, 1], [true, false])), $0.constant(m23), $0.constant(0))
    },
    ForwardCase("select", "i32 branches", expected: i32([3], [1, 20, 3])) {
        try select($0.constant(bools([3], [true, false, true])), $0.constant(i32([3], [1, 2, 3])), $0.constant(i32([3], [10, 20, 30])))
    },
    ForwardCase("cast", "f32 to i32: truncation, NaN, clamping", expected: i32([6], [-1, 2, 0, .max, .min, 0])) {
        try cast($0.constant(Tensor([-1.7, 2.9, .nan, 1e10, -1e10, 0])), to: .int32)
    },
    ForwardCase("cast", "f32 to bool", expected: bools([3], [true, false, true])) { try cast($0.constant(Tensor([-0.5, 0, .nan])), to: .bool) },
    ForwardCase("cast", "bool to f32", expected: f32([2], [1, 0])) { try cast($0.constant(bools([2], [true, false])), to: .float32) },
    ForwardCase("cast", "i32 to f32", expected: f32([2], [-3, 16_777_216])) { try cast($0.constant(i32([2], [-3, 16_777_216])), to: .float32) },
    ForwardCase("cast", "f32 to f32", expected: f32([1], [1.5])) { try cast($0.constant(Tensor([1.5])), to: .float32) },
]

@Suite("Forward: elementwise")
struct ForwardElementwiseTests {
    @Test(arguments: unaryCases + binaryCases + comparisonCases)
    func evaluates(_ c: ForwardCase) throws {
        expectClose(try evaluate(c.feeds, c.build), c.expected, rtol: c.rtol, c.testDescription)
    }
}
